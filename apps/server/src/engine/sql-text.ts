import { quoteLiteral } from './duckdb-sql.js'

/**
 * Parameters of saved queries are written `{{name}}` in the SQL and bound as typed values: each
 * placeholder becomes `CAST($name AS <type>)`, a DuckDB named parameter that receives the value as
 * text, so a value is never SQL, whatever it contains.
 */
export type ParameterType = 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'timestamp' | 'decimal'

export interface QueryParameter {
  type: ParameterType
  /** Null binds SQL NULL; other values are checked by the caller against `type` and travel as text. */
  value: string | number | boolean | null
}

const DUCKDB_TYPES: Record<ParameterType, string> = {
  string: 'VARCHAR',
  integer: 'BIGINT',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
  decimal: 'DECIMAL(38, 10)',
}

export interface BoundSql {
  /** What runs: placeholders as named parameters. */
  sql: string
  values: Record<string, string | null>
  /**
   * The same query with the values written as typed literals, for the planner only: DuckDB's plan
   * serialiser cannot take parameters, and without values no filter could reach a source. It is
   * never executed.
   */
  planningSql: string
}

/** Every `{{name}}` outside strings, quoted names and comments, in order. */
export function placeholderNames(sql: string): string[] {
  return [...placeholders(sql)].map((found) => found.name)
}

export function bindParameters(sql: string, parameters: Readonly<Record<string, QueryParameter>>): BoundSql {
  let executable = ''
  let planning = ''
  let last = 0
  const values: Record<string, string | null> = {}
  for (const found of placeholders(sql)) {
    const parameter = parameters[found.name]
    if (!parameter) throw new UnboundParameterError(found.name)
    const type = DUCKDB_TYPES[parameter.type]
    const text = parameter.value === null ? null : String(parameter.value)
    values[found.name] = text
    executable += `${sql.slice(last, found.start)}CAST($${found.name} AS ${type})`
    planning += `${sql.slice(last, found.start)}CAST(${text === null ? 'NULL' : quoteLiteral(text)} AS ${type})`
    last = found.end
  }
  return { sql: executable + sql.slice(last), planningSql: planning + sql.slice(last), values }
}

export class UnboundParameterError extends Error {
  override name = 'UnboundParameterError'
  constructor(readonly parameter: string) {
    super(`the SQL uses {{${parameter}}} but no value was given for it`)
  }
}

/**
 * The query without a trailing `;` (and what follows it: only blanks and comments, since the guard
 * admits one statement), so it can be embedded as `COPY (<query>) TO …`.
 */
export function withoutTrailingSemicolon(sql: string): string {
  let end = sql.length
  for (const token of significantTokens(sql)) end = token.kind === ';' ? Math.min(end, token.start) : sql.length
  return sql.slice(0, end)
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y

function* placeholders(sql: string): Generator<{ name: string; start: number; end: number }> {
  for (const token of significantTokens(sql)) {
    if (token.kind !== '{') continue
    PLACEHOLDER.lastIndex = token.start
    const match = PLACEHOLDER.exec(sql)
    if (match) yield { name: match[1]!, start: token.start, end: token.start + match[0].length }
  }
}

/**
 * Positions of the characters that matter here (`;`, `{`) outside string literals, quoted
 * identifiers, dollar-quoted strings and comments, following DuckDB's lexical rules.
 */
function* significantTokens(sql: string): Generator<{ kind: ';' | '{' | 'other'; start: number }> {
  let i = 0
  while (i < sql.length) {
    const char = sql[i]!
    const next = sql[i + 1]
    if (char === "'" || char === '"') {
      yield { kind: 'other', start: i }
      i = skipQuoted(sql, i, char)
    } else if (char === '-' && next === '-') {
      const newline = sql.indexOf('\n', i)
      i = newline < 0 ? sql.length : newline + 1
    } else if (char === '/' && next === '*') {
      i = skipBlockComment(sql, i)
    } else if (char === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i, i + 64))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64))![0]
      const close = sql.indexOf(tag, i + tag.length)
      yield { kind: 'other', start: i }
      i = close < 0 ? sql.length : close + tag.length
    } else {
      if (!/\s/.test(char)) yield { kind: char === ';' ? ';' : char === '{' ? '{' : 'other', start: i }
      i += 1
    }
  }
}

/** Past a '…' or "…" run, where a doubled quote stands for itself. */
function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] !== quote) return i + 1
      i += 2
    } else {
      i += 1
    }
  }
  return sql.length
}

/** DuckDB's block comments nest. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 0
  let i = start
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth += 1
      i += 2
    } else if (sql.startsWith('*/', i)) {
      depth -= 1
      i += 2
      if (depth === 0) return i
    } else {
      i += 1
    }
  }
  return sql.length
}
