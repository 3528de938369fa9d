import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

import type { ScanRequest, SourceCatalog, SourceSession } from './connectors/connector.js'
import { SourceError } from './connectors/connector.js'
import { quoteIdentifier, quoteLiteral } from './duckdb-sql.js'
import { keyFilters, planDynamicFilters } from './dynamic-filters.js'
import { FifoMaker } from './fifo-maker.js'
import { planScans, stubTableSql, type PlannedTable } from './planner.js'
import { pushDown } from './pushdown-plan.js'
import type { ParsedStatement, PushdownDialect } from './pushdown.js'
import { attachLocalTable, type LocalTable } from './local-tables.js'
import { guardSql, SqlGuardError } from './sql-guard.js'
import {
  bindParameters,
  UnboundParameterError,
  withoutTrailingSemicolon,
  type BoundSql,
  type QueryParameter,
} from './sql-text.js'
import { loadTable } from './table-load.js'
import { columnConverter } from './values.js'

/** One catalog the query may read: what it contains, and how to reach it. */
export interface CatalogHandle {
  name: string
  catalog: SourceCatalog
  /** Undefined for catalogs with no source behind them (the internal catalog, for now). */
  openSession?: () => Promise<SourceSession>
  /** Set when the source runs whole subqueries in this dialect (`SourceSession.query`). */
  pushdownDialect?: PushdownDialect | undefined
  /** For catalogs whose tables are the platform's own DuckDB files (internal): attached, not scanned. */
  localTables?: (schema: string, table: string) => LocalTable | undefined
}

export interface EngineQuery {
  sql: string
  limit: number
  timeoutMs: number
  /** Aborted when the caller goes away: everything stops, sources included. */
  signal?: AbortSignal | undefined
  /** The catalogs a query may name, for messages; each is resolved only when a query names it. */
  catalogNames: readonly string[]
  resolveCatalog(name: string): Promise<CatalogHandle | undefined>
  /** Values for the `{{name}}` placeholders in `sql`, bound as typed parameters. */
  parameters?: Readonly<Record<string, QueryParameter>> | undefined
}

/** A query whose whole result goes to a file rather than back to the caller. */
export type EngineExportQuery = Omit<EngineQuery, 'limit'>

export interface EngineStats {
  elapsed_ms: number
  rows_scanned: number
  sources: { catalog: string; table: string; remote_sql: string; rows: number }[]
}

export interface EngineColumn {
  name: string
  type: string
}

export interface EngineParquetResult {
  columns: EngineColumn[]
  row_count: number
  stats: EngineStats
}

export interface EngineResult {
  columns: EngineColumn[]
  rows: unknown[][]
  row_count: number
  truncated: boolean
  stats: EngineStats
}

/** How the query's own result leaves DuckDB once every table is loaded. */
type Finish<T> = (connection: DuckDBConnection, sql: string, values: Record<string, string | null>) => Promise<T>

/** Rows per Parquet row group of a result: small enough that reading one page touches little. */
const RESULT_ROW_GROUP_SIZE = 122_880

/** Why a query failed, in the caller's terms; the HTTP layer maps each kind to its status. */
export class EngineError extends Error {
  override name = 'EngineError'
  constructor(
    readonly kind: 'query' | 'timeout' | 'source' | 'cancelled',
    message: string,
    readonly position?: number,
  ) {
    super(message)
  }
}

export interface EngineOptions {
  /** DuckDB's memory limit per query, e.g. '2GB'. */
  memoryLimit: string
  threads: number
}

const MAX_CONCURRENT_LOADS = 2

/** A plain counting semaphore: at most `limit` tasks run at once, the rest wait in order. */
class Semaphore {
  #active = 0
  readonly #waiting: (() => void)[] = []

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    this.#active += 1
    try {
      return await task()
    } finally {
      this.#active -= 1
      this.#waiting.shift()?.()
    }
  }
}

/**
 * Runs one federated query: every table it names is read from its source with only the columns,
 * filters and limit it needs, into a private in-memory DuckDB where the query then runs as written.
 * DuckDB does its work on its own threads, off the event loop.
 */
export class SqlEngine {
  #parser: Promise<DuckDBConnection> | undefined
  #spare: Promise<DuckDBInstance> | undefined
  /**
   * Each load holds one of libuv's threads (4 by default) while DuckDB blocks reading its FIFO;
   * bounding loads across all queries leaves threads for everything else that needs them.
   */
  readonly #loads = new Semaphore(MAX_CONCURRENT_LOADS)
  readonly #fifos = new FifoMaker()

  constructor(private readonly options: EngineOptions) {}

  /** Runs the query and returns up to `limit` rows, JSON-safe. */
  async execute(query: EngineQuery): Promise<EngineResult> {
    const { result, stats } = await this.#run(query, async (connection, sql, values) => {
      const reader = await connection.streamAndReadUntil(sql, query.limit + 1, values)
      const types = reader.columnTypes()
      const converters = types.map(columnConverter)
      const all = reader.getRowsJson()
      const rows = all.slice(0, query.limit).map((row) => row.map((value, i) => converters[i]!(value)))
      return {
        columns: reader.columnNames().map((name, i) => ({ name, type: types[i]!.toString() })),
        rows,
        truncated: all.length > query.limit,
      }
    })
    return { ...result, row_count: result.rows.length, stats }
  }

  /**
   * Runs the query and writes its whole result to one Parquet file at `outputPath` (its directory
   * must exist and should hold nothing else: the query may write there and nowhere else).
   */
  async executeToParquet(query: EngineExportQuery, outputPath: string): Promise<EngineParquetResult> {
    const directory = path.dirname(path.resolve(outputPath))
    const { result, stats } = await this.#run(
      query,
      async (connection, sql, values) => {
        const prepared = await connection.prepare(sql)
        const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({
          name: prepared.columnName(i),
          type: prepared.columnType(i).toString(),
        }))
        prepared.destroySync()
        const copied = await connection.run(
          `COPY (${parquetSafeSelect(sql, columns)}) TO ${quoteLiteral(path.resolve(outputPath))} ` +
            `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${RESULT_ROW_GROUP_SIZE})`,
          values,
        )
        return { columns, row_count: Number(copied.rowsChanged) }
      },
      directory,
    )
    return { ...result, stats }
  }

  async #run<T>(
    query: EngineExportQuery,
    finish: Finish<T>,
    writableDirectory?: string,
  ): Promise<{ result: T; stats: EngineStats }> {
    const started = performance.now()
    const controller = new AbortController()
    const onCallerAbort = () => controller.abort(new EngineError('cancelled', 'the query was cancelled'))
    query.signal?.addEventListener('abort', onCallerAbort, { once: true })
    const timer = setTimeout(
      () =>
        controller.abort(
          new EngineError('timeout', `the query took longer than ${query.timeoutMs} ms and was stopped`),
        ),
      query.timeoutMs,
    )
    const work = this.#execute(query, controller.signal, started, finish, writableDirectory)
    try {
      return await Promise.race([work, aborted(controller.signal)])
    } finally {
      clearTimeout(timer)
      query.signal?.removeEventListener('abort', onCallerAbort)
      controller.abort()
      // The losing side of the race releases what it holds in its own time; the caller need not wait.
      void work.catch(() => undefined)
    }
  }

  async #execute<T>(
    query: EngineExportQuery,
    signal: AbortSignal,
    started: number,
    finish: Finish<T>,
    writableDirectory: string | undefined,
  ): Promise<{ result: T; stats: EngineStats }> {
    let bound: BoundSql
    let guarded
    try {
      bound = bindParameters(query.sql, query.parameters ?? {})
      guarded = await guardSql(await this.#parserConnection(), bound.sql)
    } catch (error) {
      if (error instanceof SqlGuardError) throw new EngineError('query', error.message, error.position)
      if (error instanceof UnboundParameterError) throw new EngineError('query', error.message)
      throw error
    }
    const catalogs = await resolveCatalogs(guarded.tables, query)
    const tables = dedupe(guarded.tables.map((name) => resolveTable(name, catalogs, query.catalogNames)))

    const instance = await this.#takeInstance()
    const connections: DuckDBConnection[] = []
    const connect = async () => {
      const connection = await instance.connect()
      connections.push(connection)
      return connection
    }
    const sessions: Promise<SourceSession>[] = []
    const fifoDir = await mkdtemp(path.join(tmpdir(), 'tributary-scan-'))
    const interrupt = () => connections.forEach((connection) => connection.interrupt())
    let failed = false
    signal.addEventListener('abort', interrupt, { once: true })
    try {
      const main = await connect()
      // Timestamps with time zones come out in UTC whatever the machine's zone.
      await main.run("SET TimeZone = 'UTC'")
      await createStubs(main, tables, catalogs)
      const pushdown = await pushDown(main, guarded.tree as ParsedStatement, bound, tables, catalogs)
      const remaining = tables.filter((table) => pushdown.stillRead.has(table))
      const planned = await planScans(main, pushdown.planningSql, remaining)
      if ('error' in planned) throw new EngineError('query', planned.error.message, planned.error.position)

      const open = (catalog: string) => {
        // A session per load: scans of one source then run side by side, each in its own transaction.
        const session = catalogs.get(catalog)!.openSession!()
        sessions.push(session)
        return session
      }
      const fifo = (name: string) => async () => {
        const made = path.join(fifoDir, name)
        await this.#fifos.make(made)
        return made
      }
      const pushedLoads = pushdown.pushed.map(async (pushed, index) => {
        const session = open(pushed.catalog)
        const loaded = await this.#loads.run(async () => {
          const opened = await session
          if (!opened.query) throw new EngineError('source', `catalog '${pushed.catalog}' cannot run subqueries`)
          const load = { target: pushed.target, names: pushed.targetColumns, columns: pushed.columns }
          return loadTable(await connect(), load, fifo(`q${index}`), signal, (sink) =>
            opened.query!({ sql: pushed.remoteSql, columns: pushed.columns }, sink, signal),
          )
        })
        return { catalog: pushed.catalog, table: pushed.tables, ...loaded }
      })
      const narrowing = planDynamicFilters(planned.scans, planned.joins)
      const loads = new Map<
        PlannedTable,
        Promise<{ catalog: string; table: string; remote_sql: string; rows: number }>
      >()
      const loadOf = (table: PlannedTable) => {
        let load = loads.get(table)
        if (!load) loads.set(table, (load = loadScan(table, remaining.indexOf(table))))
        return load
      }
      const loadScan = async (table: PlannedTable, index: number) => {
        let request = planned.scans.get(table)!
        const handle = catalogs.get(table.catalog)!
        const name = `${table.schema}.${table.table}`
        const local = handle.localTables?.(table.schema, table.table)
        if (local)
          return {
            catalog: table.catalog,
            table: name,
            ...(await attachLocalTable(await connect(), table, local, index)),
          }
        if (!handle.openSession) return { catalog: table.catalog, table: name, remote_sql: '', rows: 0 }
        const edge = narrowing.get(table)
        if (edge) {
          // The smaller side first: its join keys narrow what this source sends.
          await loadOf(edge.by.table)
          const keys = await keyFilters(await connect(), tableName(edge.by.table), edge)
          request = { ...request, filters: [...request.filters, ...keys] }
        }
        const session = open(table.catalog)
        const target = tableName(table)
        const loaded = await this.#loads.run(async () => {
          const opened = await session
          const connection = await connect()
          if (opened.nativeReader) return loadNative(connection, target, request, opened.nativeReader(request))
          if (!opened.scan) throw new EngineError('source', `catalog '${table.catalog}' cannot be scanned`)
          const load = { target, names: request.columns.map((column) => column.name), columns: request.columns }
          return loadTable(connection, load, fifo(`t${index}`), signal, (sink) => opened.scan!(request, sink, signal))
        })
        return { catalog: table.catalog, table: name, ...loaded }
      }
      const scanLoads = remaining.map(loadOf)
      const sources = await Promise.all([...pushedLoads, ...scanLoads])

      // From here on the query can reach no file, URL or extension (but the one directory an export
      // writes to). This does not stop writes or catalog functions: the guard refused those before
      // anything was loaded.
      await main.run('SET autoinstall_known_extensions = false')
      await main.run('SET autoload_known_extensions = false')
      if (writableDirectory) {
        await main.run(`SET allowed_directories = [${quoteLiteral(writableDirectory + path.sep)}]`)
      }
      await main.run('SET enable_external_access = false')
      await main.run('SET lock_configuration = true')
      const result = await finish(main, withoutTrailingSemicolon(pushdown.executableSql), pushdown.values)
      return {
        result,
        stats: {
          elapsed_ms: Math.round((performance.now() - started) * 10) / 10,
          rows_scanned: sources.reduce((sum, source) => sum + source.rows, 0),
          sources,
        },
      }
    } catch (error) {
      failed = true
      throw signal.aborted ? signal.reason : toEngineError(error)
    } finally {
      signal.removeEventListener('abort', interrupt)
      // Sources first: a load still running ends when its source does, and DuckDB is then free to close.
      const release = async () => {
        await Promise.all(sessions.map((session) => session.then((opened) => opened.close()).catch(() => undefined)))
        for (const connection of connections) connection.closeSync()
        instance.closeSync()
        await rm(fifoDir, { recursive: true, force: true })
      }
      // A failed query returns once its sources have stopped; a finished one need not wait for the
      // closing (milliseconds for each source connection and DuckDB).
      if (failed) await release()
      else void release().catch(() => undefined)
    }
  }

  /** Stops the engine's helpers; queries still running fail. */
  close(): void {
    this.#fifos.close()
    void this.#spare?.then((instance) => instance.closeSync()).catch(() => undefined)
    this.#spare = undefined
  }

  /**
   * A fresh in-memory DuckDB for one query. Creating one takes about 10 ms, so the next is made while
   * this one works: each query gets its own, and none waits for it.
   */
  async #takeInstance(): Promise<DuckDBInstance> {
    const taken = this.#spare ?? this.#createInstance()
    const spare = this.#createInstance()
    this.#spare = spare
    // A spare that failed is not kept: the next query makes its own.
    spare.catch(() => {
      if (this.#spare === spare) this.#spare = undefined
    })
    return taken
  }

  #createInstance(): Promise<DuckDBInstance> {
    return DuckDBInstance.create(':memory:', {
      threads: String(this.options.threads),
      memory_limit: this.options.memoryLimit,
    })
  }

  /** A long-lived DuckDB used only to parse, never to read data. */
  #parserConnection(): Promise<DuckDBConnection> {
    this.#parser ??= DuckDBInstance.create(':memory:', { threads: '1', enable_external_access: 'false' }).then(
      (instance) => instance.connect(),
    )
    return this.#parser
  }
}

type TableName = { catalog?: string | undefined; schema?: string | undefined; table: string }

async function resolveCatalogs(names: TableName[], query: EngineExportQuery): Promise<Map<string, CatalogHandle>> {
  const wanted = [...new Set(names.flatMap((name) => (name.catalog ? [name.catalog.toLowerCase()] : [])))]
  const resolved = await Promise.all(wanted.map((name) => query.resolveCatalog(name)))
  return new Map(resolved.flatMap((handle) => (handle ? [[handle.name, handle] as const] : [])))
}

/** Finds a named table among the project's catalogs; names match case-insensitively, as in DuckDB. */
function resolveTable(
  name: TableName,
  catalogs: ReadonlyMap<string, CatalogHandle>,
  known: readonly string[],
): PlannedTable {
  const written = [name.catalog, name.schema, name.table].filter(Boolean).join('.')
  if (!name.catalog) {
    throw new EngineError(
      'query',
      `table ${written} needs its catalog: name it as catalog.schema.table (catalogs: ${known.join(', ')})`,
    )
  }
  const handle = catalogs.get(name.catalog.toLowerCase())
  if (!handle) {
    throw new EngineError('query', `unknown catalog '${name.catalog}'; this project has: ${known.join(', ')}`)
  }
  const schemaName = name.schema ?? 'main'
  const schema = pick(handle.catalog.schemas, schemaName)
  if (!schema) {
    const known = handle.catalog.schemas.map((candidate) => candidate.name).join(', ') || 'none'
    throw new EngineError('query', `unknown schema '${schemaName}' in catalog '${handle.name}' (schemas: ${known})`)
  }
  const table = pick(schema.tables, name.table)
  if (!table) {
    throw new EngineError(
      'query',
      `unknown table '${name.table}' in ${handle.name}.${schema.name}; refresh the catalog if it was created recently`,
    )
  }
  return { catalog: handle.name, schema: schema.name, table: table.name, columns: table.columns }
}

/** `a.b.c` and `A.B.C` name one table: load it once. */
function dedupe(tables: PlannedTable[]): PlannedTable[] {
  const byName = new Map(tables.map((table) => [JSON.stringify([table.catalog, table.schema, table.table]), table]))
  return [...byName.values()]
}

function pick<T extends { name: string }>(items: T[], name: string): T | undefined {
  return (
    items.find((item) => item.name === name) ?? items.find((item) => item.name.toLowerCase() === name.toLowerCase())
  )
}

async function createStubs(
  connection: DuckDBConnection,
  tables: PlannedTable[],
  catalogs: ReadonlyMap<string, CatalogHandle>,
) {
  for (const catalog of new Set(tables.map((table) => table.catalog))) {
    await connection.run(`ATTACH ':memory:' AS ${quoteIdentifier(catalogs.get(catalog)!.name)}`)
  }
  const seenSchemas = new Set<string>()
  for (const table of tables) {
    const key = `${table.catalog}.${table.schema}`
    if (!seenSchemas.has(key) && table.schema !== 'main') {
      await connection.run(`CREATE SCHEMA ${quoteIdentifier(table.catalog)}.${quoteIdentifier(table.schema)}`)
    }
    seenSchemas.add(key)
    await connection.run(stubTableSql(table))
  }
}

const tableName = (table: PlannedTable) =>
  `${quoteIdentifier(table.catalog)}.${quoteIdentifier(table.schema)}.${quoteIdentifier(table.table)}`

/** A source DuckDB reads by itself (files). */
async function loadNative(
  connection: DuckDBConnection,
  target: string,
  request: ScanRequest,
  reader: string,
): Promise<{ remote_sql: string; rows: number }> {
  const columnList = request.columns.map((column) => quoteIdentifier(column.name)).join(', ')
  const result = await connection.run(`INSERT INTO ${target} (${columnList}) ${reader}`)
  return { remote_sql: reader, rows: Number(result.rowsChanged) }
}

function toEngineError(error: unknown): unknown {
  if (error instanceof EngineError) return error
  if (error instanceof SourceError) return new EngineError('source', error.message)
  if (
    error instanceof Error &&
    /^(Binder|Parser|Conversion|Invalid Input|Catalog|Out of Range|Not implemented|Constraint) Error/.test(
      error.message,
    )
  ) {
    return new EngineError('query', error.message)
  }
  return error
}

/**
 * The query reshaped for Parquet: columns renamed apart (a result may repeat a name; Parquet may
 * not) and 128-bit integers as text, since Parquet would store them as lossy doubles. Columns keep
 * their order, which is how results are read back.
 */
function parquetSafeSelect(sql: string, columns: EngineColumn[]): string {
  const taken = new Set<string>()
  const names = columns.map((column) => {
    let name = column.name
    for (let n = 1; taken.has(name.toLowerCase()); n++) name = `${column.name}_${n}`
    taken.add(name.toLowerCase())
    return quoteIdentifier(name)
  })
  const list = columns.map((column, i) =>
    column.type === 'HUGEINT' || column.type === 'UHUGEINT' ? `CAST(${names[i]} AS VARCHAR) AS ${names[i]}` : names[i],
  )
  return `SELECT ${list.join(', ')} FROM (${sql}\n) AS result(${names.join(', ')})`
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })
  })
}
