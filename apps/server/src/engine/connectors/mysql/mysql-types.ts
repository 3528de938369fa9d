/** A column's type as information_schema.COLUMNS describes it. */
export interface MysqlColumnType {
  /** `DATA_TYPE`: the bare type name, `int`, `decimal`, `longtext`, … */
  dataType: string
  /** `COLUMN_TYPE`: the full declaration, `int(10) unsigned`, `tinyint(1)`, `enum('a','b')`, … */
  columnType: string
  /** `NUMERIC_PRECISION`, for decimals the declared number of digits. */
  precision: number | null
  /** `NUMERIC_SCALE`. */
  scale: number | null
  /** MariaDB's JSON is a LONGTEXT with a `json_valid(column)` check; this says the check is there. */
  jsonCheck: boolean
}

/** DuckDB's widest DECIMAL. */
const MAX_DECIMAL_WIDTH = 38

const SIMPLE: Record<string, string> = {
  mediumint: 'INTEGER', // 24 bits, unsigned included, fit in a signed 32-bit integer
  float: 'FLOAT',
  double: 'DOUBLE',
  real: 'DOUBLE',
  date: 'DATE',
  datetime: 'TIMESTAMP',
  // TIMESTAMP is stored in UTC and shown in the session's time zone, which sessions set to UTC.
  timestamp: 'TIMESTAMPTZ',
  // MySQL's TIME is a time of day or a duration, -838:59:59 to 838:59:59: DuckDB's TIME stops at 24:00:00,
  // while INTERVAL holds every value exactly and still adds to dates and times.
  time: 'INTERVAL',
  year: 'SMALLINT',
  json: 'JSON',
  uuid: 'UUID', // MariaDB 10.7+
  char: 'VARCHAR',
  varchar: 'VARCHAR',
  tinytext: 'VARCHAR',
  text: 'VARCHAR',
  mediumtext: 'VARCHAR',
  longtext: 'VARCHAR',
  enum: 'VARCHAR',
  set: 'VARCHAR',
  binary: 'BLOB',
  varbinary: 'BLOB',
  tinyblob: 'BLOB',
  blob: 'BLOB',
  mediumblob: 'BLOB',
  longblob: 'BLOB',
  // BIT(n) holds at most 64 bits: as an unsigned integer it stays exact and usable in comparisons and bit
  // operations, while BLOB would give byte strings nobody can filter on. Scans read it as `column + 0`.
  bit: 'UBIGINT',
}

const INTEGERS: Record<string, [signed: string, unsigned: string]> = {
  // tinyint(1) stays TINYINT although MySQL spells BOOLEAN that way: the column still accepts -128..127,
  // and the display width says nothing about the values, so BOOLEAN could not represent what it holds.
  tinyint: ['TINYINT', 'UTINYINT'],
  smallint: ['SMALLINT', 'USMALLINT'],
  int: ['INTEGER', 'UINTEGER'],
  integer: ['INTEGER', 'UINTEGER'],
  bigint: ['BIGINT', 'UBIGINT'],
}

/**
 * The DuckDB type a MySQL or MariaDB column is read as. Anything else (spatial types, MariaDB's inet4/inet6,
 * vectors, …) is read as text, which the server can always produce.
 */
export function mysqlTypeToDuckDb(type: MysqlColumnType): string {
  const name = type.dataType.toLowerCase()
  const integer = INTEGERS[name]
  if (integer) return /\bunsigned\b/i.test(type.columnType) ? integer[1] : integer[0]
  if (name === 'decimal' || name === 'numeric') {
    // MySQL allows 65 digits and DuckDB 38: wider decimals keep their magnitude as DOUBLE rather than
    // becoming text nobody can add up.
    const precision = type.precision ?? 10
    if (precision > MAX_DECIMAL_WIDTH) return 'DOUBLE'
    return `DECIMAL(${precision},${type.scale ?? 0})`
  }
  if (name === 'longtext' && type.jsonCheck) return 'JSON'
  return SIMPLE[name] ?? 'VARCHAR'
}
