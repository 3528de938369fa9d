import { commonKind, type Dialect, type TypeInfo } from '../dialect.js'
import { backticked, MYSQL_TEXT } from './mysql-scan.js'

const UNSIGNED = new Set(['UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT'])

const MYSQL_CASTS: Record<string, (info: TypeInfo | null) => string> = {
  DATE: () => 'DATE',
  TIMESTAMP: () => 'DATETIME(6)',
  BIGINT: () => 'SIGNED',
  INTEGER: () => 'SIGNED',
  DECIMAL: (info) => `DECIMAL(${info?.width ?? 18}, ${info?.scale ?? 3})`,
  VARCHAR: () => 'BINARY',
}

const mysqlBytes = (text: string) => `X'${Buffer.from(text, 'utf8').toString('hex')}'`

/** Text is compared as its UTF-8 bytes, as DuckDB does: MySQL's collations fold case and pad spaces. */
export const mysqlDialect: Dialect = {
  quote: backticked,
  // MySQL and MariaDB have no FULL JOIN.
  fullJoin: false,
  arithmetic: true,
  textOrdering: true,
  bigLiterals: true,
  columnKind: (column) => {
    // BIT reads as `column + 0` and spatial types as text: their stored form is not what DuckDB sees.
    if (/^(bit|geometry|point|linestring|polygon|multi|geomcollection|geometrycollection)/i.test(column.source_type))
      return 'opaque'
    if (column.type === 'VARCHAR') return MYSQL_TEXT.test(column.source_type) ? 'text' : 'opaque'
    if (UNSIGNED.has(column.type)) return 'unsigned'
    // DOUBLE from FLOAT would be compared as MySQL's float; from a wide DECIMAL it is cast below.
    if (column.type === 'DOUBLE' && !/^(double|real|decimal|numeric)\b/i.test(column.source_type)) return 'opaque'
    return commonKind(column.type)
  },
  column: (ref, column, kind) => {
    // UTF-8 bytes: compared, grouped and ordered as DuckDB does, whatever the column's collation.
    if (kind === 'text') return `CAST(CONVERT(${ref} USING utf8mb4) AS BINARY)`
    // A date with a zero part reads as NULL in DuckDB (see the scan), so it must be NULL here too.
    if (kind === 'date' || kind === 'timestamp' || kind === 'timestamptz')
      return `(CASE WHEN MONTH(${ref}) = 0 OR DAYOFMONTH(${ref}) = 0 THEN NULL ELSE ${ref} END)`
    // Adding a double makes a double on every version (CAST … AS DOUBLE needs MySQL 8.0.17 or MariaDB 10.4).
    if (column.type === 'DOUBLE' && /^(decimal|numeric)\b/i.test(column.source_type)) return `(${ref} + 0e0)`
    return ref
  },
  string: mysqlBytes,
  typed: (text, type, info) => {
    if (type === 'VARCHAR') return mysqlBytes(text)
    if (type === 'BOOLEAN') return text === 'true' ? 'TRUE' : 'FALSE'
    const target = MYSQL_CASTS[type]
    // An offset in a timestamp literal is not MariaDB's; the session is in UTC anyway.
    return target ? `CAST(${mysqlBytes(text)} AS ${target(info)})` : undefined
  },
  nullOf: () => 'NULL',
  decimal: (text, width, scale) => `CAST(${mysqlBytes(text)} AS DECIMAL(${width}, ${scale}))`,
  text: (sql) => sql,
  distinctFrom: (left, right, distinct) => `(${distinct ? 'NOT ' : ''}(${left} <=> ${right}))`,
  // MySQL's AVG is a DECIMAL rounded to four more digits; DuckDB's is a DOUBLE.
  avg: (argument, distinct) => `((SUM(${distinct}${argument}) + 0e0) / COUNT(${distinct}${argument}))`,
}
