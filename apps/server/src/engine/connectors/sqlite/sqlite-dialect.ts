import type { Dialect } from '../dialect.js'
import { doubleQuoted, singleQuoted } from '../filter-sql.js'
import { sqliteAffinity } from './sqlite-scan.js'

/**
 * SQLite stores any value in any column, so only what its affinity pins down is used: integers in
 * INTEGER columns and doubles in REAL columns (compared and aggregated, not computed on), and text
 * read as text (a blob in a text column becomes its text, as DuckDB reads it) compared for equality
 * only, since a UTF-16 database orders text differently. Dates, decimals and booleans are stored in
 * too many ways.
 */
export const sqliteDialect: Dialect = {
  quote: doubleQuoted,
  fullJoin: true,
  arithmetic: false,
  textOrdering: false,
  bigLiterals: false,
  columnKind: (column) => {
    const affinity = sqliteAffinity(column.source_type)
    if (column.type === 'BIGINT' && affinity === 'INTEGER') return 'number'
    if (column.type === 'DOUBLE' && affinity === 'REAL') return 'number'
    if (column.type === 'VARCHAR' && affinity === 'TEXT') return 'text'
    return 'opaque'
  },
  column: (ref, _column, kind) => (kind === 'text' ? `CAST(${ref} AS TEXT)` : ref),
  string: singleQuoted,
  typed: (text, type) => {
    if (type === 'BIGINT' || type === 'INTEGER' || type === 'DECIMAL') return text
    if (type === 'VARCHAR') return singleQuoted(text)
    return undefined
  },
  nullOf: () => 'NULL',
  // A decimal literal is a REAL in SQLite: the same double DuckDB compares a DOUBLE column with, and
  // no integer lies between it and the exact decimal it stands for against an INTEGER column.
  decimal: (text) => text,
  text: (sql) => `${sql} COLLATE BINARY`,
  distinctFrom: (left, right, distinct) => `(${left} IS ${distinct ? 'NOT ' : ''}${right})`,
  avg: (argument, distinct) => `avg(${distinct}${argument})`,
}
