import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api'

import { castDoubleConstants, parseDuckJson, stringifyDuckJson } from './duckdb-json.js'
import { sqlTokens, type BoundSql } from './sql-text.js'

/**
 * The first line of defence for user SQL: DuckDB parses the text (no catalog, no binding, so no
 * source is touched) and we refuse anything that is not exactly one read-only query over the
 * project's tables. The engine still runs the query with `enable_external_access = false` and a
 * locked configuration; this check exists to give a clear message early and to close what those
 * settings leave open (writes to attached catalogs, ATTACH ':memory:', USE, SET search_path,
 * query()/query_table(), settings and catalog introspection; see the module's tests).
 */

export interface GuardedQuery {
  /** Every table the query names, as written (1, 2 or 3 parts), in order of appearance, deduplicated; CTE names excluded. */
  tables: { catalog?: string; schema?: string; table: string }[]
  /** DuckDB's parse tree of the statement (json_serialize_sql) as `sql` prints it, for the pushdown to rewrite. */
  tree: unknown
  /**
   * The statement to run: DuckDB's own printing of the tree checked here (json_deserialize_sql),
   * its doubles written as casts of their text (see castDoubleConstants).
   * Whatever a hand-written lexer might read differently (E'\'', nested comments, dollar quotes)
   * cannot make the engine run other text than was checked, and with no comments or `;` around it
   * the statement can be embedded, as in `COPY (<sql>) TO …`.
   */
  sql: string
}

export class SqlGuardError extends Error {
  override readonly name = 'SqlGuardError'
  /** 0-based offset into the SQL string (UTF-16 code units, as JavaScript indexes strings). */
  readonly position?: number

  constructor(message: string, position?: number) {
    super(message)
    if (position !== undefined) this.position = position
  }
}

/** Larger texts are refused before DuckDB sees them: parsing is linear but the JSON tree is ~50× the SQL. */
export const MAX_SQL_BYTES = 1024 * 1024

const ONLY_ONE_QUERY = 'only one read-only query is allowed'

/**
 * Table functions usable in FROM. Allow-listed because every other one reads files, runs SQL text or
 * exposes the engine (see `duckdb_functions()` where function_type = 'table'): the pure generators
 * below are the only ones a query over project tables needs.
 */
const ALLOWED_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest'])

type DenyReason = 'files' | 'sql' | 'settings' | 'catalog' | 'state' | 'wait'

const DENY_REASONS: Record<DenyReason, string> = {
  files: 'it reads files, URLs or other databases',
  sql: 'it runs SQL text that this check cannot see',
  settings: 'it exposes settings, variables, the environment or secrets',
  catalog: "it exposes the engine's catalog",
  state: "it changes the engine's state",
  wait: 'it only makes the query wait',
}

/**
 * Scalar, aggregate and table functions refused anywhere in a query. Plain functions are allowed by
 * default because DuckDB's ~2,700 built-ins are overwhelmingly pure; the ones listed here were picked
 * from `duckdb_functions()` of DuckDB 1.5.6 (plus autoloadable extensions) because they reach files,
 * URLs or other databases, run SQL they are given as text, reveal settings/secrets/catalog internals,
 * or change state. A test re-reads `duckdb_functions()` so a DuckDB upgrade that adds a suspicious
 * name fails until someone decides about it.
 */
const DENIED_FUNCTIONS = new Map<string, DenyReason>([
  // Files, URLs and foreign databases (most are also caught by the prefixes below).
  ['glob', 'files'],
  ['sniff_csv', 'files'],
  ['st_read', 'files'],
  ['st_read_meta', 'files'],
  ['st_readosm', 'files'],
  ['st_readshp', 'files'],
  ['arrow_scan', 'files'], // takes raw memory pointers
  ['arrow_scan_dumb', 'files'],
  ['seq_scan', 'files'],
  ['load', 'files'],
  ['install', 'files'],
  // SQL given as text escapes the tree this guard walks.
  ['query', 'sql'],
  ['query_table', 'sql'],
  ['json_execute_serialized_sql', 'sql'],
  ['json_serialize_plan', 'sql'], // binds its argument, so a read_csv inside would open the file
  // Settings, variables, environment, secrets.
  ['getenv', 'settings'],
  ['current_setting', 'settings'],
  ['getvariable', 'settings'],
  ['which_secret', 'settings'],
  // Catalog introspection beyond the query's own tables (PostgreSQL-compatible helpers included).
  ['col_description', 'catalog'],
  ['obj_description', 'catalog'],
  ['shobj_description', 'catalog'],
  ['get_block_size', 'catalog'],
  ['in_search_path', 'catalog'],
  ['summary', 'catalog'],
  ['test_all_types', 'catalog'],
  ['test_vector_types', 'catalog'],
  ['sql_auto_complete', 'catalog'],
  // State: sequences, checkpoints, logging, profiling, the parser, the UI server, the RNG.
  ['nextval', 'state'],
  ['currval', 'state'],
  ['setseed', 'state'],
  ['checkpoint', 'state'],
  ['force_checkpoint', 'state'],
  ['enable_logging', 'state'],
  ['disable_logging', 'state'],
  ['truncate_duckdb_logs', 'state'],
  ['write_log', 'state'],
  ['enable_profiling', 'state'],
  ['disable_profiling', 'state'],
  ['enable_peg_parser', 'state'],
  ['disable_peg_parser', 'state'],
  ['check_peg_parser', 'state'],
  ['start_ui', 'state'],
  ['start_ui_server', 'state'],
  ['stop_ui_server', 'state'],
  ['get_ui_url', 'state'],
  ['ui_is_started', 'state'],
  ['sleep_ms', 'wait'],
])

/**
 * Families of names, so functions of extensions that DuckDB would autoload (postgres_query,
 * mysql_execute, iceberg_metadata, read_xlsx, …) are refused before DuckDB even tries to install them.
 */
const DENIED_PREFIXES: readonly (readonly [string, DenyReason])[] = [
  ['read_', 'files'],
  ['parquet_', 'files'],
  ['sqlite_', 'files'],
  ['postgres_', 'files'],
  ['mysql_', 'files'],
  ['iceberg_', 'files'],
  ['delta_', 'files'],
  ['ducklake_', 'files'],
  ['http_', 'files'],
  ['azure_', 'files'],
  ['duckdb_', 'catalog'], // duckdb_settings, duckdb_secrets, duckdb_tables, duckdb_databases, duckdb_logs, …
  ['pragma_', 'catalog'],
  ['pg_', 'catalog'], // pg_get_viewdef, pg_*_is_visible, pg_has_role, pg_sleep, …
]

const DENIED_PATTERNS: readonly (readonly [RegExp, DenyReason])[] = [[/^has_\w*_privilege$/, 'catalog']]

/** Pure functions that share a denied prefix. */
const PREFIX_EXCEPTIONS = new Set(['pg_typeof', 'pg_size_pretty', 'parse_duckdb_log_message'])

function denyReason(functionName: string): DenyReason | undefined {
  const name = functionName.toLowerCase()
  const listed = DENIED_FUNCTIONS.get(name)
  if (listed) return listed
  if (PREFIX_EXCEPTIONS.has(name)) return undefined
  for (const [prefix, reason] of DENIED_PREFIXES) if (name.startsWith(prefix)) return reason
  for (const [pattern, reason] of DENIED_PATTERNS) if (pattern.test(name)) return reason
  return undefined
}

/**
 * Names that reach the engine's own catalogs rather than a project's. `system` holds DuckDB's views,
 * `temp` and `memory` are the per-query database's own; a project catalog can never be called so.
 */
const INTERNAL_CATALOGS = new Set(['system', 'temp', 'memory'])
const INTERNAL_SCHEMAS = new Set(['information_schema', 'pg_catalog'])

/**
 * DuckDB's built-in views in system.main and system.pg_catalog: both schemas are on the default
 * search path, so `FROM pg_settings` or `FROM main.duckdb_tables` work without naming `system`.
 * A test compares this list with `duckdb_views()` so an upgrade cannot silently add one.
 */
export const SYSTEM_VIEW_NAMES: ReadonlySet<string> = new Set([
  // system.main
  'duckdb_columns',
  'duckdb_constraints',
  'duckdb_databases',
  'duckdb_indexes',
  'duckdb_logs',
  'duckdb_schemas',
  'duckdb_tables',
  'duckdb_types',
  'duckdb_views',
  'pragma_database_list',
  'sqlite_master',
  'sqlite_schema',
  'sqlite_temp_master',
  'sqlite_temp_schema',
  // system.pg_catalog
  'pg_am',
  'pg_attrdef',
  'pg_attribute',
  'pg_class',
  'pg_collation',
  'pg_constraint',
  'pg_database',
  'pg_depend',
  'pg_description',
  'pg_enum',
  'pg_index',
  'pg_indexes',
  'pg_namespace',
  'pg_prepared_statements',
  'pg_proc',
  'pg_sequence',
  'pg_sequences',
  'pg_settings',
  'pg_tables',
  'pg_tablespace',
  'pg_type',
  'pg_views',
])

/**
 * `FROM 'data.csv'` parses as a table named `data.csv` that DuckDB's replacement scans turn into a
 * file read; so do globs and URLs. Dots alone are fine (quoted names may contain them), a file-like
 * extension at the end is not.
 */
const PATH_CHARACTERS = /[/\\]/
const FILE_EXTENSION =
  /\.(csv|tsv|txt|text|tbl|dat|parquet|json|jsonl|ndjson|geojson|xlsx|xls|arrow|ipc|feather|avro|orc|db|duckdb|ddb|sqlite|sqlite3|shp|gpkg|fgb|blob|gz|gzip|zst|zstd|bz2|xz|lz4|snappy|zip|tar)$/i

type TableRef = { catalog?: string; schema?: string; table: string }

interface ParseResult {
  error?: boolean
  error_type?: string
  error_message?: string
  error_subtype?: string
  /** A string of digits, counted in code points. */
  position?: string
  statements?: { node: unknown }[]
}

/**
 * Checks that `sql` is exactly one read-only query and lists the tables it names. Throws
 * SqlGuardError with a message meant for the person who wrote the SQL.
 *
 * Given bound parameters (`bindParameters`), it checks `bound.sql` and makes sure that the planning
 * text is the same query with each parameter replaced by its value, and nothing else.
 */
export async function guardSql(connection: DuckDBConnection, query: string | BoundSql): Promise<GuardedQuery> {
  const bound: BoundSql = typeof query === 'string' ? { sql: query, planningSql: query, values: {} } : query
  const { sql } = bound
  if (sql.trim() === '') throw new SqlGuardError('the SQL is empty')
  if (Buffer.byteLength(sql, 'utf8') > MAX_SQL_BYTES) {
    throw new SqlGuardError(`the SQL is larger than ${MAX_SQL_BYTES / 1024 / 1024} MB`)
  }
  // DuckDB's C API reads SQL as a C string: text after a NUL would be checked here but not executed.
  const nul = sql.indexOf('\0')
  if (nul >= 0) throw new SqlGuardError('the SQL contains a NUL character', nul)

  const { parsed, json } = await parse(connection, sql)
  if (parsed.error) throw parseError(parsed, sql)

  const statements = parsed.statements ?? []
  if (statements.length === 0) throw new SqlGuardError('the SQL contains no statement, only comments')
  if (statements.length > 1) {
    throw new SqlGuardError(`${ONLY_ONE_QUERY}; got ${describeStatements(sql, statements.length)}`)
  }

  const walker = new Walker(sql, bound.values)
  walker.visit(statements[0]!.node, new Set())
  if (bound.planningSql !== sql) await checkPlanning(connection, parsed, bound)
  const printed = castDoubleConstants(parsed) ? stringifyDuckJson(parsed) : json
  return { tables: walker.tables, tree: parsed, sql: await print(connection, printed) }
}

/**
 * The planner reads the query with values written in (see BoundSql); the placeholders were found by
 * a lexer, so DuckDB must agree that the values landed exactly where the parameters are.
 */
async function checkPlanning(connection: DuckDBConnection, executable: ParseResult, bound: BoundSql): Promise<void> {
  const { parsed: planning } = await parse(connection, bound.planningSql)
  if (planning.error || !samePlanning(executable.statements, planning.statements, bound.values)) {
    throw new SqlGuardError(
      'the parameters could not be put into the SQL; write each {{name}} where a value goes, outside strings and comments',
    )
  }
}

/** Equal trees but for positions, with a constant of the bound value wherever `executable` has a parameter. */
function samePlanning(executable: unknown, planning: unknown, values: BoundSql['values']): boolean {
  if (Array.isArray(executable)) {
    return (
      Array.isArray(planning) &&
      planning.length === executable.length &&
      executable.every((item, i) => samePlanning(item, planning[i], values))
    )
  }
  if (!isObject(executable)) return Object.is(executable, planning)
  if (!isObject(planning)) return false
  if (executable.class === 'PARAMETER') {
    const value = typeof executable.identifier === 'string' ? values[executable.identifier] : undefined
    const constant = isObject(planning.value) ? planning.value : {}
    return (
      planning.class === 'CONSTANT' &&
      value !== undefined &&
      (value === null ? constant.is_null === true : constant.is_null === false && constant.value === value)
    )
  }
  // The planning text has no parameters, so no map of them.
  const keys = (node: JsonObject) =>
    Object.keys(node).filter((key) => key !== 'query_location' && key !== 'named_param_map')
  const executableKeys = keys(executable)
  return (
    executableKeys.length === keys(planning).length &&
    executableKeys.every((key) => samePlanning(executable[key], planning[key], values))
  )
}

// ---------------------------------------------------------------------------------------------------
// Parsing and printing

interface ParserSlot {
  statements: Map<string, Promise<DuckDBPreparedStatement>>
  /** A prepared statement holds one set of bindings, so calls on one connection take turns. */
  tail: Promise<unknown>
}

/** Re-using prepared statements halves the cost (≈0.5 ms instead of ≈1 ms per parse). */
const parsers = new WeakMap<DuckDBConnection, ParserSlot>()

/** Runs a one-parameter, one-value statement (prepared once per connection) and returns its text. */
async function callText(connection: DuckDBConnection, statementSql: string, argument: string): Promise<string> {
  let slot = parsers.get(connection)
  if (!slot) {
    slot = { statements: new Map(), tail: Promise.resolve() }
    parsers.set(connection, slot)
  }
  let statement = slot.statements.get(statementSql)
  if (!statement) {
    statement = connection.prepare(statementSql)
    slot.statements.set(statementSql, statement)
    // A failed prepare (closed connection…) must not poison the connection for later calls.
    statement.catch(() => parsers.delete(connection))
  }
  const prepared = statement
  const run = async () => {
    const ready = await prepared
    ready.bindVarchar(1, argument)
    const reader = await ready.runAndReadAll()
    const text = reader.getRows()[0]?.[0]
    if (typeof text !== 'string') throw new Error(`${statementSql} returned no text`)
    return text
  }
  const result = slot.tail.then(run, run)
  slot.tail = result.catch(() => undefined)
  return result
}

async function parse(connection: DuckDBConnection, sql: string): Promise<{ parsed: ParseResult; json: string }> {
  // The cast is needed: json_serialize_sql refuses a parameter of unknown type at prepare time.
  const json = await callText(connection, 'SELECT json_serialize_sql($1::VARCHAR)', sql)
  return { parsed: parseDuckJson(json) as ParseResult, json }
}

/**
 * A statement's parse tree, doubles written as casts as `guardSql` leaves them, for code that
 * rewrites a checked query (views). Not a check: what it returns must go through `guardSql` again.
 */
export async function parseTree(connection: DuckDBConnection, sql: string): Promise<unknown> {
  const { parsed } = await parse(connection, sql)
  if (parsed.error) throw parseError(parsed, sql)
  castDoubleConstants(parsed)
  return parsed
}

/** A parse tree (as `parseTree` or `guardSql` give it) printed back as SQL by DuckDB. */
export function printTree(connection: DuckDBConnection, tree: unknown): Promise<string> {
  return print(connection, stringifyDuckJson(tree))
}

/** From JSON text: DuckDB's own when the tree is unchanged, saving the work of writing it back. */
async function print(connection: DuckDBConnection, json: string): Promise<string> {
  let sql: string
  try {
    sql = await callText(connection, 'SELECT json_deserialize_sql($1::JSON)', json)
  } catch (error) {
    throw new SqlGuardError(`this form of query is not supported (${(error as Error).message.split('\n')[0]})`)
  }
  if (sql.includes('\0')) throw new SqlGuardError('the SQL makes a string with a NUL character, which cannot run')
  return sql
}

function parseError(parsed: ParseResult, sql: string): SqlGuardError {
  // Non-SELECT statements all come back as the same "not implemented" error, so name them ourselves.
  if (parsed.error_type === 'not implemented') {
    const kinds = statementKinds(sql)
    const [only] = kinds
    if (kinds.length === 1 && only !== undefined && QUERY_KINDS.has(only)) {
      return new SqlGuardError(
        'this form of query is not supported; a PIVOT needs its values listed, as in PIVOT t ON col IN (…)',
      )
    }
    return new SqlGuardError(`${ONLY_ONE_QUERY}; got ${describeKinds(kinds)}`)
  }
  // DuckDB lexes U&'…' and E'\x..' but stops at a routine it left out: name the construct instead.
  if (/^(pg_verifymbstr|unicode_to_utf8) NOT IMPLEMENTED$/.test(parsed.error_message ?? '')) {
    const unicode = [...sqlTokens(sql)].find(
      (token) =>
        token.kind === 'word' &&
        /^[Uu]$/.test(sql.slice(token.start, token.end)) &&
        /^&['"]/.test(sql.slice(token.end)),
    )
    if (unicode) {
      return new SqlGuardError(
        "U&'…' strings and names are not supported; write the characters themselves",
        unicode.start,
      )
    }
    return new SqlGuardError("an escape in an E'…' string makes a NUL or text that is not UTF-8")
  }
  const message = parsed.error_message ?? 'the SQL could not be parsed'
  const codePoints = parsed.position === undefined ? NaN : Number(parsed.position)
  return new SqlGuardError(message, Number.isSafeInteger(codePoints) ? codePointToIndex(sql, codePoints) : undefined)
}

/** DuckDB reports syntax error positions in code points. */
function codePointToIndex(sql: string, codePoints: number): number {
  let index = 0
  for (let seen = 0; seen < codePoints && index < sql.length; seen++) {
    index += sql.codePointAt(index)! > 0xffff ? 2 : 1
  }
  return index
}

/** query_location in the tree is a UTF-8 byte offset (UINT64_MAX when unknown). */
function byteOffsetToIndex(sql: string, bytes: unknown): number | undefined {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) return undefined
  let index = 0
  let seen = 0
  while (seen < bytes && index < sql.length) {
    const codePoint = sql.codePointAt(index)!
    seen += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4
    index += codePoint > 0xffff ? 2 : 1
  }
  return seen === bytes ? index : undefined
}

// ---------------------------------------------------------------------------------------------------
// Naming statements json_serialize_sql will not serialize

/** Leading keywords of statements that are queries; DuckDB serializes these unless PIVOT needs a pre-pass. */
const QUERY_KINDS = new Set(['SELECT', 'FROM', 'WITH', 'VALUES', 'TABLE', 'PIVOT', 'UNPIVOT', '('])

/** Keywords that decide what a `WITH … <keyword>` statement is. */
const WITH_BODY_KINDS = new Set([
  'SELECT',
  'FROM',
  'VALUES',
  'TABLE',
  'PIVOT',
  'UNPIVOT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
])

const OBJECT_KINDS = new Set([
  'TABLE',
  'VIEW',
  'SCHEMA',
  'SEQUENCE',
  'MACRO',
  'FUNCTION',
  'INDEX',
  'TYPE',
  'SECRET',
  'DATABASE',
])

function describeKinds(kinds: string[]): string {
  if (kinds.length === 1) return kinds[0]!
  if (kinds.length === 0) return 'a statement that is not a query'
  return `${kinds.length} statements (${kinds.join(', ')})`
}

function describeStatements(sql: string, count: number): string {
  const kinds = statementKinds(sql)
  return kinds.length === count ? describeKinds(kinds) : `${count} statements`
}

/**
 * Splits the SQL into statements at the `;` tokens of sql-text's lexer and names each by its leading
 * keywords. Only used for messages: the decision to refuse is DuckDB's parse.
 */
function statementKinds(sql: string): string[] {
  const kinds: string[] = []
  let words: string[] = []
  let startsWithParen = false
  let hasTokens = false
  let depth = 0
  const finish = () => {
    if (hasTokens) kinds.push(kindOf(words, startsWithParen))
    words = []
    startsWithParen = false
    hasTokens = false
    depth = 0
  }
  for (const token of sqlTokens(sql)) {
    const text = sql.slice(token.start, token.end)
    if (token.kind === 'symbol' && text === ';') {
      finish()
      continue
    }
    if (token.kind === 'word' && depth === 0) words.push(text.toUpperCase())
    else if (text === '(') {
      if (!hasTokens) startsWithParen = true
      depth++
    } else if (text === ')') depth = Math.max(0, depth - 1)
    hasTokens = true
  }
  finish()
  return kinds
}

function kindOf(words: string[], startsWithParen: boolean): string {
  const [first, second] = words
  if (first === undefined) return startsWithParen ? 'SELECT' : 'a statement that is not a query'
  switch (first) {
    case 'WITH':
      return words.find((word) => WITH_BODY_KINDS.has(word)) ?? 'WITH'
    case 'FORCE':
      return second === 'INSTALL' ? 'INSTALL' : first
    case 'CREATE':
    case 'DROP':
    case 'ALTER': {
      const object = words.slice(1, 6).find((word) => OBJECT_KINDS.has(word))
      return object ? `${first} ${object}` : first
    }
    case 'EXPORT':
    case 'IMPORT':
      return second === 'DATABASE' ? `${first} DATABASE` : first
    case 'EXPLAIN':
      return second === 'ANALYZE' ? 'EXPLAIN ANALYZE' : first
    default:
      return first
  }
}

// ---------------------------------------------------------------------------------------------------
// Walking the tree

type JsonObject = Record<string, unknown>

const SHOW_KINDS: Record<string, string> = { DESCRIBE: 'DESCRIBE', SUMMARY: 'SUMMARIZE' }

/**
 * Walks json_serialize_sql's tree generically (every object and array, so a node kind we did not
 * foresee is still searched) and reacts to the few shapes that matter:
 *  - `cte_map.map[]` on any query node: CTE names, in scope for later CTEs and the node's body;
 *  - `type: "RECURSIVE_CTE_NODE"`: its `cte_name` is in scope for its own body;
 *  - `type: "BASE_TABLE"`: a table reference (catalog_name, schema_name, table_name);
 *  - `type: "TABLE_FUNCTION"`: `function.function_name` in FROM;
 *  - `type: "SHOW_REF"`: DESCRIBE / SUMMARIZE / SHOW;
 *  - any expression with a `class` and a `function_name` (FUNCTION, WINDOW): a function call;
 *  - `class: "PARAMETER"`: a parameter, which must be one of the bound placeholders.
 * Table refs have `type` but no `class`; expressions have both.
 */
class Walker {
  readonly #found: { ref: TableRef; key: string; location: number }[] = []
  /** The calls that table functions in FROM make: visited like any function call, but they stream. */
  readonly #tableFunctionCalls = new WeakSet<object>()

  constructor(
    private readonly sql: string,
    private readonly values: BoundSql['values'],
  ) {}

  /**
   * In the order the SQL text names them: the tree's key order is not the text's (ORDER BY and
   * LIMIT come before FROM), so references are sorted by their byte offset.
   */
  get tables(): TableRef[] {
    const seen = new Set<string>()
    const tables: TableRef[] = []
    for (const { ref, key } of [...this.#found].sort((a, b) => a.location - b.location)) {
      if (seen.has(key)) continue
      seen.add(key)
      tables.push(ref)
    }
    return tables
  }

  visit(value: unknown, ctes: ReadonlySet<string>): void {
    if (Array.isArray(value)) {
      for (const item of value) this.visit(item, ctes)
      return
    }
    if (!isObject(value)) return
    // Constants hold only literal values; their nested `type` objects are data types, not nodes.
    if (value.class === 'CONSTANT') return

    let scope = ctes
    const cteMap = isObject(value.cte_map) && Array.isArray(value.cte_map.map) ? value.cte_map.map : []
    for (const entry of cteMap) {
      if (!isObject(entry) || typeof entry.key !== 'string') continue
      // A CTE sees the CTEs declared before it (DuckDB binds `WITH b AS (FROM b)` to the table b).
      this.visit(entry.value, scope)
      scope = new Set([...scope, entry.key.toLowerCase()])
    }
    if (value.type === 'RECURSIVE_CTE_NODE' && typeof value.cte_name === 'string') {
      scope = new Set([...scope, value.cte_name.toLowerCase()])
    }

    if (value.class === undefined) {
      if (value.type === 'BASE_TABLE') this.#table(value, scope)
      else if (value.type === 'TABLE_FUNCTION') this.#tableFunction(value)
      else if (value.type === 'SHOW_REF') this.#show(value)
    } else if (typeof value.function_name === 'string') {
      this.#function(value.function_name, value)
    } else if (value.class === 'PARAMETER') {
      this.#parameter(value)
    }

    for (const [key, child] of Object.entries(value)) {
      if (key !== 'cte_map' && typeof child === 'object' && child !== null) this.visit(child, scope)
    }
  }

  #table(node: JsonObject, ctes: ReadonlySet<string>): void {
    const catalog = nonEmptyString(node.catalog_name)
    const schema = nonEmptyString(node.schema_name)
    const table = nonEmptyString(node.table_name)
    if (table === undefined) return
    if (catalog === undefined && schema === undefined && ctes.has(table.toLowerCase())) return

    const ref: TableRef = {
      ...(catalog !== undefined && { catalog }),
      ...(schema !== undefined && { schema }),
      table,
    }
    const parts = [catalog, schema, table].filter((part) => part !== undefined)
    const written = parts.join('.')
    const lower = parts.map((part) => part.toLowerCase())
    // A two-part name a.b is catalog.table or schema.table to DuckDB, so `a` is checked as both.
    const internal =
      (catalog !== undefined && INTERNAL_CATALOGS.has(catalog.toLowerCase())) ||
      (schema !== undefined &&
        (INTERNAL_SCHEMAS.has(schema.toLowerCase()) ||
          (catalog === undefined && INTERNAL_CATALOGS.has(schema.toLowerCase())))) ||
      (catalog === undefined && SYSTEM_VIEW_NAMES.has(table.toLowerCase()))
    const fileLike = parts.some((part) => PATH_CHARACTERS.test(part)) || FILE_EXTENSION.test(table)
    if (internal || fileLike) {
      throw new SqlGuardError(
        `table ${written} is not available; name tables as catalog.schema.table`,
        byteOffsetToIndex(this.sql, node.query_location),
      )
    }

    // DuckDB matches identifiers case-insensitively, so `T` and `t` are one table.
    const key = lower.length + '\0' + lower.join('\0')
    const location = typeof node.query_location === 'number' ? node.query_location : Number.MAX_VALUE
    this.#found.push({ ref, key, location })
  }

  #tableFunction(node: JsonObject): void {
    const fn = isObject(node.function) ? node.function : {}
    this.#tableFunctionCalls.add(fn)
    const name = typeof fn.function_name === 'string' ? fn.function_name : ''
    const position = byteOffsetToIndex(this.sql, node.query_location)
    const reason = denyReason(name)
    if (reason)
      throw new SqlGuardError(`function ${qualified(fn, name)} is not allowed: ${DENY_REASONS[reason]}`, position)
    if (!ALLOWED_TABLE_FUNCTIONS.has(name.toLowerCase())) {
      throw new SqlGuardError(
        `table function ${qualified(fn, name) || '(unnamed)'} is not allowed; FROM accepts tables named as ` +
          `catalog.schema.table and the functions ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')}`,
        position,
      )
    }
  }

  #function(name: string, node: JsonObject): void {
    const reason = denyReason(name)
    if (reason) {
      throw new SqlGuardError(
        `function ${qualified(node, name)} is not allowed: ${DENY_REASONS[reason]}`,
        byteOffsetToIndex(this.sql, node.query_location),
      )
    }
    // In FROM the same functions stream their rows: only their scalar forms build a list.
    const scalar = !this.#tableFunctionCalls.has(node)
    const elements = scalar && LIST_SERIES.has(name.toLowerCase()) ? seriesLength(name.toLowerCase(), node) : undefined
    if (elements !== undefined && elements > MAX_SERIES_ELEMENTS) {
      throw new SqlGuardError(
        `${name}(…) would build a list of ${elements.toLocaleString('en-US')} elements in memory, beyond ` +
          `${MAX_SERIES_ELEMENTS.toLocaleString('en-US')}; as a table in FROM (\`FROM ${name}(…)\`) it streams instead`,
        byteOffsetToIndex(this.sql, node.query_location),
      )
    }
  }

  /** Only the `{{name}}` placeholders given a value become parameters: `$x` or `?` written in the SQL would get none. */
  #parameter(node: JsonObject): void {
    const name = typeof node.identifier === 'string' ? node.identifier : '?'
    if (!Object.hasOwn(this.values, name)) {
      throw new SqlGuardError(
        `$${name} is not a parameter of this query; parameters are written {{name}} and given a value`,
      )
    }
  }

  #show(node: JsonObject): void {
    const kind = (typeof node.show_type === 'string' && SHOW_KINDS[node.show_type]) || 'SHOW'
    throw new SqlGuardError(`${ONLY_ONE_QUERY}; got ${kind} (not supported yet)`)
  }
}

/**
 * The scalar forms of these build their whole list at once, outside DuckDB's memory limit and
 * deaf to interrupts (`list(range(1e9))` takes gigabytes): with constant bounds, their size is
 * known before the query runs.
 */
const LIST_SERIES = new Set(['range', 'generate_series'])
const MAX_SERIES_ELEMENTS = 10_000_000

/** How many elements `range`/`generate_series` with constant numeric bounds yields; undefined otherwise. */
function seriesLength(name: string, node: JsonObject): number | undefined {
  const children = Array.isArray(node.children) ? node.children : []
  const bounds = children.map(constantNumber)
  if (bounds.length === 0 || bounds.length > 3 || bounds.some((bound) => bound === undefined)) return undefined
  const [start, stop, step] = bounds.length === 1 ? [0, bounds[0]!, 1] : [bounds[0]!, bounds[1]!, bounds[2] ?? 1]
  if (step === 0) return undefined
  // generate_series includes its stop; range does not.
  const span = (stop - start) / step + (name === 'generate_series' ? 1 : 0)
  return Math.max(0, Math.ceil(span))
}

function constantNumber(node: unknown): number | undefined {
  if (!isObject(node) || node.class !== 'CONSTANT' || !isObject(node.value) || node.value.is_null !== false) {
    return undefined
  }
  const value = node.value.value
  return typeof value === 'number' || typeof value === 'bigint' ? Number(value) : undefined
}

function qualified(node: JsonObject, name: string): string {
  return [nonEmptyString(node.catalog), nonEmptyString(node.schema), name]
    .filter((part) => part !== undefined)
    .join('.')
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
