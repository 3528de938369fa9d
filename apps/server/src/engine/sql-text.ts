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
  /** What the guard checks: placeholders as named parameters. */
  sql: string
  values: Record<string, string | null>
  /**
   * The same query with the values written as typed literals, for the planner only: DuckDB's plan
   * serialiser cannot take parameters, and without values no filter could reach a source. It is
   * never executed, and the guard refuses it unless DuckDB parses it into `sql`'s tree with each
   * parameter replaced by its value.
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
    if (!parameter) throw new ParameterError(`the SQL uses {{${found.name}}} but no value was given for it`)
    const type = DUCKDB_TYPES[parameter.type]
    const text = parameter.value === null ? null : String(parameter.value)
    // DuckDB reads SQL text as a C string, so the planning text would end at the NUL.
    if (text?.includes('\0')) throw new ParameterError(`the value of {{${found.name}}} contains a NUL character`)
    values[found.name] = text
    executable += `${sql.slice(last, found.start)}CAST($${found.name} AS ${type})`
    planning += `${sql.slice(last, found.start)}CAST(${text === null ? 'NULL' : quoteLiteral(text)} AS ${type})`
    last = found.end
  }
  return { sql: executable + sql.slice(last), planningSql: planning + sql.slice(last), values }
}

export class ParameterError extends Error {
  override name = 'ParameterError'
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y

function* placeholders(sql: string): Generator<{ name: string; start: number; end: number }> {
  for (const token of sqlTokens(sql)) {
    if (token.kind !== 'symbol' || sql[token.start] !== '{') continue
    PLACEHOLDER.lastIndex = token.start
    const match = PLACEHOLDER.exec(sql)
    if (match) yield { name: match[1]!, start: token.start, end: token.start + match[0].length }
  }
}

export interface SqlToken {
  /**
   * `word`: a keyword or bare name; `string`: '…', E'…', X'…', $tag$…$tag$ and the like; `quoted`:
   * a "quoted name"; `symbol`: one character of anything else (numbers and operators included).
   */
  kind: 'word' | 'string' | 'quoted' | 'symbol'
  start: number
  end: number
}

/**
 * DuckDB's lexical rules (PostgreSQL's scanner), as far as finding placeholders and naming statements
 * in messages needs them: comments and whitespace are skipped, a `;` or `{` inside a string, quoted
 * name or comment is not a token of its own. Nothing that runs depends on this: what DuckDB parses is
 * checked and printed by DuckDB itself (see sql-guard.ts).
 */
export function* sqlTokens(sql: string): Generator<SqlToken> {
  let i = 0
  while (i < sql.length) {
    const char = sql[i]!
    const next = sql[i + 1]
    const start = i
    if (/\s/.test(char)) {
      i += 1
    } else if (char === '-' && next === '-') {
      const newline = sql.indexOf('\n', i)
      i = newline < 0 ? sql.length : newline + 1
    } else if (char === '/' && next === '*') {
      i = skipBlockComment(sql, i)
    } else if (char === "'") {
      i = skipQuoted(sql, i, "'", false)
      yield { kind: 'string', start, end: i }
    } else if (char === '"') {
      i = skipQuoted(sql, i, '"', false)
      yield { kind: 'quoted', start, end: i }
    } else if (char === '$' && DOLLAR_TAG.test(sql.slice(i, i + 66))) {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 66))![0]
      const close = sql.indexOf(tag, i + tag.length)
      i = close < 0 ? sql.length : close + tag.length
      yield { kind: 'string', start, end: i }
    } else if (WORD_START.test(char)) {
      WORD.lastIndex = i
      const word = WORD.exec(sql)![0]
      // A lone letter before a quote prefixes the string: E'…' (backslash escapes), X'…', B'…', N'…'.
      if (sql[i + word.length] === "'" && /^[EeXxBbNn]$/.test(word)) {
        i = skipQuoted(sql, i + 1, "'", word === 'E' || word === 'e')
        yield { kind: 'string', start, end: i }
      } else {
        i += word.length
        yield { kind: 'word', start, end: i }
      }
    } else {
      i += 1
      yield { kind: 'symbol', start, end: i }
    }
  }
}

/** `$$` or `$tag$`; a `$` right after a name's letters belongs to the name, which WORD consumes first. */
const DOLLAR_TAG = /^\$(?:[\p{L}_][\p{L}\p{N}_]{0,63})?\$/u
const WORD_START = /[\p{L}_]/u
const WORD = /[\p{L}\p{N}_$]+/uy

/** Past a '…' or "…" run, where a doubled quote stands for itself (and, in E'…', a backslash escapes). */
function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1
  while (i < sql.length) {
    const char = sql[i]
    if (backslashEscapes && char === '\\') {
      i += 2
    } else if (char === quote) {
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
