import { commonKind, type Dialect, type TypeInfo } from '../dialect.js'
import { doubleQuoted } from '../filter-sql.js'
import { PLAIN_TEXT, postgresqlString } from './postgresql-scan.js'

const POSTGRESQL_TYPES: Record<string, (info: TypeInfo | null) => string> = {
  DATE: () => 'date',
  TIMESTAMP: () => 'timestamp',
  'TIMESTAMP WITH TIME ZONE': () => 'timestamptz',
  BIGINT: () => 'int8',
  INTEGER: () => 'int4',
  DECIMAL: (info) => `numeric(${info?.width ?? 18}, ${info?.scale ?? 3})`,
  VARCHAR: () => 'text',
  BOOLEAN: () => 'boolean',
}

/**
 * PostgreSQL compares text under COLLATE "C" (byte order, as DuckDB); char(n) pads and citext folds,
 * so only plain text types are compared remotely.
 */
export const postgresqlDialect: Dialect = {
  quote: doubleQuoted,
  fullJoin: true,
  arithmetic: true,
  textOrdering: true,
  bigLiterals: true,
  columnKind: (column) => {
    if (column.type === 'VARCHAR') {
      if (PLAIN_TEXT.test(column.source_type)) return 'text'
      if (/^(character|bpchar)(\(\d+\))?$/.test(column.source_type)) return 'padded'
      return 'opaque'
    }
    return commonKind(column.type)
  },
  // A numeric read as DOUBLE is computed on as the double DuckDB sees.
  column: (ref, column) => (column.type === 'DOUBLE' ? `${ref}::float8` : ref),
  string: postgresqlString,
  typed: (text, type, info) => `${postgresqlString(text)}::${POSTGRESQL_TYPES[type]!(info)}`,
  nullOf: (type, info) => `NULL::${POSTGRESQL_TYPES[type]!(info)}`,
  decimal: (text, width, scale) => `${text}::numeric(${width}, ${scale})`,
  text: (sql) => `(${sql} COLLATE "C")`,
  distinctFrom: (left, right, distinct) =>
    `(${left} ${distinct ? 'IS DISTINCT FROM' : 'IS NOT DISTINCT FROM'} ${right})`,
  avg: (argument, distinct) => `avg(${distinct}${argument})`,
}
