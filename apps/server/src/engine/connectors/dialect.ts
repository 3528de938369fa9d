import type { SourceColumn } from './source-catalog.js'

/**
 * What a value is, as far as comparing and computing on it in a pushed subquery goes. `unsigned`:
 * MySQL's unsigned integers, compared and summed as numbers but kept out of arithmetic. `padded`:
 * text whose comparisons ignore trailing spaces (char(n)). `opaque`: never compared remotely.
 */
export type ValueKind =
  'number' | 'unsigned' | 'text' | 'padded' | 'date' | 'timestamp' | 'timestamptz' | 'boolean' | 'null' | 'opaque'

/** The width and scale of a DECIMAL in DuckDB's parse tree (json_serialize_sql's `type_info`). */
export interface TypeInfo {
  width?: number
  scale?: number
}

/**
 * The SQL of one source, as the engine's pushdown writes whole subqueries in it (see pushdown.ts).
 * A connector that can run them (`SourceSession.query`) exports its dialect as
 * `Connector.pushdownDialect`. Text must end up compared in DuckDB's byte order.
 */
export interface Dialect {
  quote(name: string): string
  fullJoin: boolean
  /** Whether + - * on numbers compute as DuckDB's do (SQLite turns an overflowing integer into a REAL). */
  arithmetic: boolean
  /** Whether text can be ordered (<, BETWEEN, min, max) in byte order; equality always can. */
  textOrdering: boolean
  /**
   * Whether a number literal beyond 2^53 (a BIGINT, or a DECIMAL of more digits) compares with every
   * number column as DuckDB's does. SQLite compares one with a REAL exactly, where DuckDB compares doubles.
   */
  bigLiterals: boolean
  columnKind(column: SourceColumn): ValueKind
  /** The column as the pushed query reads it. */
  column(ref: string, column: SourceColumn, kind: ValueKind): string
  string(text: string): string
  /** A typed literal from its (checked) text: `type` is DuckDB's cast target. */
  typed(text: string, type: string, info: TypeInfo | null): string | undefined
  nullOf(type: string, info: TypeInfo | null): string
  decimal(text: string, width: number, scale: number): string
  /** A text operand of a comparison, ordering or min/max. */
  text(sql: string): string
  distinctFrom(left: string, right: string, distinct: boolean): string
  avg(argument: string, distinct: string): string
}

/** Which DuckDB types stand for which kind of value, as far as comparing goes (text is the dialect's). */
export function commonKind(type: string): ValueKind {
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|DOUBLE)$/.test(type) || type.startsWith('DECIMAL(')) return 'number'
  if (type === 'DATE') return 'date'
  if (type === 'TIMESTAMP') return 'timestamp'
  if (type === 'TIMESTAMPTZ' || type === 'TIMESTAMP WITH TIME ZONE') return 'timestamptz'
  if (type === 'BOOLEAN') return 'boolean'
  return 'opaque'
}
