/** A column's type after domains are resolved to their base type, as the introspection query reports it. */
export interface PostgresqlBaseType {
  /** `pg_type.typname` of the base type: `int4`, `numeric`, `_text` for an array, an enum's own name, … */
  name: string
  /** The schema the base type lives in; built-in types are in `pg_catalog`. */
  schema: string
  /** The type modifier that applies to the base type (-1 when none), e.g. the precision and scale of a numeric. */
  typmod: number
  /** Fractional digits of `money` in the session's `lc_monetary`. */
  moneyScale: number
}

/** DuckDB's widest DECIMAL. */
const MAX_DECIMAL_WIDTH = 38

const BUILT_IN: Record<string, string> = {
  int2: 'SMALLINT',
  int4: 'INTEGER',
  int8: 'BIGINT',
  float4: 'FLOAT',
  float8: 'DOUBLE',
  bool: 'BOOLEAN',
  text: 'VARCHAR',
  varchar: 'VARCHAR',
  bpchar: 'VARCHAR',
  char: 'VARCHAR',
  name: 'VARCHAR',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  timestamptz: 'TIMESTAMPTZ',
  time: 'TIME',
  timetz: 'TIMETZ',
  uuid: 'UUID',
  json: 'JSON',
  jsonb: 'JSON',
  bytea: 'BLOB',
  interval: 'INTERVAL',
}

/**
 * The DuckDB type a PostgreSQL column is read as. Anything without a faithful DuckDB counterpart (enums,
 * arrays, ranges, composites, citext, network and geometric types, bit strings, xml, …) is read as its
 * text form, which PostgreSQL can always produce and which loses nothing.
 */
export function postgresqlTypeToDuckDb(type: PostgresqlBaseType): string {
  if (type.schema === 'pg_catalog') {
    if (type.name === 'numeric') return numericType(type.typmod)
    if (type.name === 'money') {
      // money is a 64-bit integer count of the locale's smallest currency unit, so 19 digits always hold it.
      // Its text form is locale-formatted ('$1,234.56'), so a scan must read it as `money::numeric`.
      return `DECIMAL(19,${type.moneyScale})`
    }
    const mapped = BUILT_IN[type.name]
    if (mapped) return mapped
  }
  // Everything else, citext included (an extension type, in whichever schema it was installed into).
  return 'VARCHAR'
}

/**
 * DuckDB's DECIMAL stops at 38 digits, while a PostgreSQL numeric may be declared up to 1000 digits, or
 * left unconstrained (up to 131072 digits before the point). Those are read as DOUBLE: it keeps the
 * magnitude of any value and about 15 significant digits, which suits analysis; VARCHAR would keep every
 * digit but make the column useless for arithmetic and aggregates.
 */
function numericType(typmod: number): string {
  const VARHDRSZ = 4
  if (typmod < VARHDRSZ) return 'DOUBLE'
  const precision = ((typmod - VARHDRSZ) >> 16) & 0xffff
  // Since PostgreSQL 15 the scale is an 11-bit signed number: numeric(5,-2) rounds to hundreds, and
  // numeric(2,4) holds only 0.00xx. DuckDB needs 0 <= scale <= width, so widen to hold the same values.
  const scale = (((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024
  const width = scale < 0 ? precision - scale : Math.max(precision, scale)
  if (width > MAX_DECIMAL_WIDTH) return 'DOUBLE'
  return `DECIMAL(${width},${Math.max(scale, 0)})`
}
