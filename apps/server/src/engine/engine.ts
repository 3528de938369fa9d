import path from 'node:path'

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

import type { ScanRequest, SourceSession } from './connectors/connector.js'
import { SourceError } from './connectors/connector.js'
import { quoteIdentifier, quoteLiteral } from './duckdb-sql.js'
import { keyFilters, planDynamicFilters } from './dynamic-filters.js'
import { FifoMaker } from './fifo-maker.js'
import {
  planScans,
  resultDependencies,
  resultOrigins,
  stubTableSql,
  type JoinKeyEdge,
  type PlannedTable,
} from './planner.js'
import { pushDown, type PushedQuery } from './pushdown-plan.js'
import type { ParsedStatement } from './pushdown.js'
import type { AccessScope, CatalogHandle, ViewDefinition } from './catalog-handle.js'
import type { QueryAccess } from './access-policy.js'
import { applyAccess, type AppliedAccess } from './access-rewrite.js'
import { attachLocalTable } from './local-tables.js'
import { guardSql, SqlGuardError, type GuardedQuery } from './sql-guard.js'
import { bindParameters, ParameterError, type BoundSql, type QueryParameter } from './sql-text.js'
import { loadTable } from './table-load.js'
import { columnConverter } from './values.js'
import { CatalogResolver, inlineViews, refuseInternalNames } from './views.js'

export type { AccessScope, CatalogHandle, ViewDefinition }

export interface EngineQuery {
  sql: string
  limit: number
  timeoutMs: number
  /** Aborted when the caller goes away: everything stops, sources included. */
  signal?: AbortSignal | undefined
  /**
   * Resolves the catalogs a query names (lower-cased), all in one call; a name missing from the
   * answer is no catalog of the project. `scope`: the project of a view that names them, when it is
   * not the query's own (see ViewDefinition.scope); only views the caller may read hand one out.
   */
  resolveCatalogs(names: readonly string[], scope?: string): Promise<ReadonlyMap<string, CatalogHandle>>
  /** Every catalog the query could have named: asked only to word an error. */
  catalogNames(): Promise<readonly string[]>
  /** Values for the `{{name}}` placeholders in `sql`, bound as typed parameters. */
  parameters?: Readonly<Record<string, QueryParameter>> | undefined
  /**
   * The masks and row filters the caller is under, for the catalogs of the query's own project
   * (`scope` unset), of the project a view's catalogs belong to, or of the project that owns a
   * catalog's tables (CatalogHandle.policyOwner). Unset: no policy applies.
   */
  access?: ((scope: AccessScope | undefined) => Promise<QueryAccess | undefined>) | undefined
}

/** A query whose whole result goes to a file rather than back to the caller. */
export type EngineExportQuery = Omit<EngineQuery, 'limit'>

/** A query to describe: its result columns, found without reading any data. */
export type EngineDescribeQuery = Pick<
  EngineQuery,
  'sql' | 'resolveCatalogs' | 'catalogNames' | 'parameters' | 'access'
>

/** What the caller's policies did to a query's result. */
export interface EnginePrivacy {
  /** Per result column: `masked` when computed from a masked column, `hidden` when only from nullified ones. */
  columns: ColumnPrivacy[]
  /** The tables whose rows a row policy narrowed. */
  filtered: { catalog: string; schema: string; table: string; filter: string }[]
}

export type ColumnPrivacy = 'public' | 'masked' | 'hidden'

export interface EngineStats {
  elapsed_ms: number
  rows_scanned: number
  sources: {
    catalog: string
    table: string
    remote_sql: string
    rows: number
    /**
     * Bytes that crossed from the source, estimated: rows times the width of the columns read
     * (booleans, integers, floats, dates and times at their size; any other value at 16 bytes).
     */
    bytes: number
    /** Set when the table was read from its cached copy rather than its source. */
    cached?: true
    cached_age_seconds?: number
  }[]
}

export interface EngineColumn {
  name: string
  type: string
}

/** A result column and, when asked for, the table column it passes on unchanged. */
export interface DescribedColumn extends EngineColumn {
  lineage?: { catalog: string; schema: string; table: string; column: string } | null
}

export interface EngineParquetResult {
  columns: EngineColumn[]
  row_count: number
  stats: EngineStats
  /** Set when a policy applied to the query. */
  privacy?: EnginePrivacy
}

export interface EngineResult {
  columns: EngineColumn[]
  rows: unknown[][]
  row_count: number
  truncated: boolean
  stats: EngineStats
  /** Set when a policy applied to the query. */
  privacy?: EnginePrivacy
}

/** A query whose whole result becomes a table of a DuckDB file. */
export interface EngineTarget {
  /** The DuckDB file (created when missing); its directory must exist. */
  file: string
  /** The table to create there; it must not exist yet. */
  table: string
}

/** How the query's own result leaves DuckDB once every table is loaded. */
type Finish<T> = (connection: DuckDBConnection, sql: string, values: Record<string, string | null>) => Promise<T>

/** What a query may touch on disk besides what it reads: a directory an export writes to, a file it fills. */
interface FileAccess {
  writableDirectory?: string | undefined
  attach?: string | undefined
}

/** The alias of the file `executeInto` writes: `$` cannot appear in a catalog name, so it shadows none. */
const INTO_CATALOG = 'into$target'

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

/** What one load contributes to the stats. */
type ScannedSource = EngineStats['sources'][number]
type LoadedSource = Omit<ScannedSource, 'bytes'>

/**
 * What one query holds while it runs: its DuckDB and the connections it opened there, the sessions
 * it opened on sources and the folder of its pipes. `release` lets go of all of it.
 */
class QueryScope {
  readonly #connections: DuckDBConnection[] = []
  readonly #sessions: Promise<SourceSession>[] = []
  #interrupted = false

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly catalogs: ReadonlyMap<string, CatalogHandle>,
    private readonly fifos: FifoMaker,
    private readonly fifoDir: string,
  ) {}

  catalog(name: string): CatalogHandle {
    return this.catalogs.get(name)!
  }

  /** A connection of the query's DuckDB; refused once the query is stopped, which it could not reach. */
  async connect(): Promise<DuckDBConnection> {
    const connection = await this.instance.connect()
    this.#connections.push(connection)
    if (this.#interrupted) throw new EngineError('cancelled', 'the query was stopped')
    return connection
  }

  openSession(catalog: string): Promise<SourceSession> {
    // A session per load: scans of one source then run side by side, each in its own transaction.
    const session = this.catalog(catalog).openSession!()
    this.#sessions.push(session)
    return session
  }

  /** Makes the named pipe a load reads through, when the load asks for it. */
  fifo(name: string): () => Promise<string> {
    return async () => {
      const made = path.join(this.fifoDir, name)
      await this.fifos.make(made)
      return made
    }
  }

  /** Stops what DuckDB is running for the query (an abort listener, hence bound). */
  readonly interrupt = () => {
    this.#interrupted = true
    // An interrupt cannot reach a reader still opening its pipe, which waits for a writer that the
    // stopped load will never open: removing the pipes lets it go (see FifoMaker.removeDirectory).
    this.fifos.removeDirectory(this.fifoDir)
    this.#connections.forEach((connection) => connection.interrupt())
  }

  /** Sources first: a load still running ends when its source does, and DuckDB is then free to close. */
  async release(): Promise<void> {
    // First, so that it happens even if a source never closes; a load still reading keeps its pipe.
    this.fifos.removeDirectory(this.fifoDir)
    await Promise.all(this.#sessions.map((session) => session.then((opened) => opened.close()).catch(() => undefined)))
    for (const connection of this.#connections) connection.closeSync()
    this.instance.closeSync()
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
    const { result, stats, privacy } = await this.#run(query, async (connection, sql, values) => {
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
    return { ...result, row_count: result.rows.length, stats, ...(privacy ? { privacy } : {}) }
  }

  /**
   * Runs the query and writes its whole result to one Parquet file at `outputPath` (its directory
   * must exist and should hold nothing else: the query may write there and nowhere else).
   */
  async executeToParquet(query: EngineExportQuery, outputPath: string): Promise<EngineParquetResult> {
    const directory = path.dirname(path.resolve(outputPath))
    const { result, stats, privacy } = await this.#run(
      query,
      async (connection, sql, values) => {
        const prepared = await connection.prepare(sql)
        const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({
          name: prepared.columnName(i),
          type: prepared.columnType(i).toString(),
        }))
        prepared.destroySync()
        const copied = await connection.run(
          `COPY (${distinctNamesSelect(sql, columns, true)}) TO ${quoteLiteral(path.resolve(outputPath))} ` +
            `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${RESULT_ROW_GROUP_SIZE})`,
          values,
        )
        return { columns, row_count: Number(copied.rowsChanged) }
      },
      { writableDirectory: directory },
    )
    return { ...result, stats, ...(privacy ? { privacy } : {}) }
  }

  /**
   * Runs the query and writes its whole result into a new table of a DuckDB file: DuckDB to DuckDB,
   * every type kept. The file is attached before the query locks itself out of the file system, so
   * the query itself still reaches no other file.
   */
  async executeInto(query: EngineExportQuery, target: EngineTarget): Promise<EngineParquetResult> {
    const { result, stats, privacy } = await this.#run(
      query,
      async (connection, sql, values) => {
        const prepared = await connection.prepare(sql)
        const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({
          name: prepared.columnName(i),
          type: prepared.columnType(i).toString(),
        }))
        prepared.destroySync()
        const table = `${quoteIdentifier(INTO_CATALOG)}.main.${quoteIdentifier(target.table)}`
        await connection.run(`CREATE TABLE ${table} AS ${distinctNamesSelect(sql, columns, false)}`, values)
        const counted = await connection.runAndReadAll(`SELECT count(*)::BIGINT FROM ${table}`)
        // The file is complete and closed before the caller moves or reads it.
        await connection.run(`DETACH ${quoteIdentifier(INTO_CATALOG)}`)
        return { columns: distinctNames(columns), row_count: Number(counted.getRowsJS()[0]![0]) }
      },
      { attach: path.resolve(target.file) },
    )
    return { ...result, stats, ...(privacy ? { privacy } : {}) }
  }

  /**
   * The columns (name, DuckDB type) the query would return, found as its plan is: the guard checks
   * it, its catalogs are resolved and DuckDB binds it over empty stand-ins of its tables. No source
   * is read. Errors are those `execute` would give for the same query (EngineError 'query').
   */
  async describe(query: EngineDescribeQuery): Promise<EngineColumn[]> {
    return this.#describe(query, false)
  }

  /**
   * As `describe`, with each column's lineage: the table column it passes on unchanged (through
   * views, joins, filters and sorts), or none when it is computed.
   */
  async describeLineage(query: EngineDescribeQuery): Promise<DescribedColumn[]> {
    return this.#describe(query, true)
  }

  async #describe(query: EngineDescribeQuery, lineage: boolean): Promise<DescribedColumn[]> {
    const { bound, catalogs, tables } = await this.#prepare(query)
    const instance = await this.#takeInstance()
    const connection = await instance.connect()
    try {
      await createStubs(connection, tables, catalogs)
      // The planning text has the parameters' values written in: it binds without them.
      const prepared = await connection.prepare(bound.planningSql)
      const columns: DescribedColumn[] = Array.from({ length: prepared.columnCount }, (_, i) => ({
        name: prepared.columnName(i),
        type: prepared.columnType(i).toString(),
      }))
      prepared.destroySync()
      if (!lineage) return columns
      const origins = (await resultOrigins(connection, bound.planningSql, tables)) ?? []
      return columns.map((column, i) => {
        const origin = origins.length === columns.length ? origins[i] : undefined
        const { catalog, schema, table } = origin?.table ?? {}
        return {
          ...column,
          lineage: origin ? { catalog: catalog!, schema: schema!, table: table!, column: origin.column.name } : null,
        }
      })
    } catch (error) {
      throw toEngineError(error, this.options.memoryLimit)
    } finally {
      connection.closeSync()
      instance.closeSync()
    }
  }

  async #run<T>(
    query: EngineExportQuery,
    finish: Finish<T>,
    access: FileAccess = {},
  ): Promise<{ result: T; stats: EngineStats; privacy?: EnginePrivacy | undefined }> {
    const started = performance.now()
    const controller = new AbortController()
    const onCallerAbort = () => controller.abort(new EngineError('cancelled', 'the query was cancelled'))
    query.signal?.addEventListener('abort', onCallerAbort, { once: true })
    // Cancelled before it got here (while its project was checked, say): a listener added now never fires.
    if (query.signal?.aborted) onCallerAbort()
    const timer = setTimeout(
      () =>
        controller.abort(
          new EngineError('timeout', `the query took longer than ${query.timeoutMs} ms and was stopped`),
        ),
      query.timeoutMs,
    )
    const work = this.#execute(query, controller.signal, started, finish, access)
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
    access: FileAccess,
  ): Promise<{ result: T; stats: EngineStats; privacy?: EnginePrivacy | undefined }> {
    const { bound, guarded, catalogs, tables, viewAliases, applied, unpoliced } = await this.#prepare(query)
    const instance = await this.#takeInstance()
    const scope = new QueryScope(instance, catalogs, this.#fifos, await this.#fifos.directory())
    let failed = false
    signal.addEventListener('abort', scope.interrupt, { once: true })
    // Stopped while it was being prepared: the listener just added will not fire, and nothing may start.
    if (signal.aborted) scope.interrupt()
    // Once rows are read, an error may quote a value: under policies, one the caller must not see.
    let reading = false
    try {
      const main = await scope.connect()
      // Timestamps with time zones come out in UTC whatever the machine's zone.
      await main.run("SET TimeZone = 'UTC'")
      const plan = await planQuery(main, guarded, bound, tables, catalogs, viewAliases)
      const privacy = applied && (await privacyOf(main, unpoliced, tables, applied))
      reading = true
      const sources = await this.#loadSources(scope, plan, signal)
      if (access.attach) await main.run(`ATTACH ${quoteLiteral(access.attach)} AS ${quoteIdentifier(INTO_CATALOG)}`)
      await lockDown(main, access.writableDirectory)
      // An interrupt between two statements stops neither: look before the one that does the work.
      signal.throwIfAborted()
      const result = await finish(main, plan.sql, plan.values)
      return { result, stats: queryStats(started, sources), privacy }
    } catch (error) {
      failed = true
      if (signal.aborted) throw signal.reason
      const engineError = toEngineError(error, this.options.memoryLimit)
      throw applied && reading ? withheldDetails(engineError) : engineError
    } finally {
      signal.removeEventListener('abort', scope.interrupt)
      // A failed query returns once its sources have stopped; a finished one need not wait for the
      // closing (milliseconds for each source connection and DuckDB).
      if (failed) await scope.release()
      else void scope.release().catch(() => undefined)
    }
  }

  /**
   * The query checked, its views inlined (and the result checked again), and the catalogs and
   * tables it then reads.
   */
  async #prepare(query: EngineDescribeQuery) {
    const first = await this.#guard(query)
    const resolver = new CatalogResolver((names, scope) => query.resolveCatalogs(names, scope))
    let inlined
    try {
      refuseInternalNames(first.guarded.tables)
      inlined = await inlineViews(await this.#parserConnection(), first.bound, first.guarded, resolver)
    } catch (error) {
      if (error instanceof SqlGuardError) throw new EngineError('query', error.message, error.position)
      throw error
    }
    const { bound, guarded } = inlined ?? first
    const { catalogs, tables } = await resolveTables(guarded.tables, {
      resolveCatalogs: (names) => resolver.resolveFinal(names),
      catalogNames: () => query.catalogNames(),
    })
    const applied = query.access && (await this.#applyAccess(query.access, bound, guarded, catalogs, tables, resolver))
    return {
      ...(applied ?? { bound, guarded }),
      catalogs,
      tables,
      viewAliases: inlined?.viewAliases ?? new Set<string>(),
      applied,
      /** The query as written (views inlined), for what the policies changed. */
      unpoliced: bound.planningSql,
    }
  }

  /** The caller's policies applied beneath the query (see access-rewrite.ts). */
  async #applyAccess(
    accessOf: NonNullable<EngineQuery['access']>,
    bound: BoundSql,
    guarded: GuardedQuery,
    catalogs: ReadonlyMap<string, CatalogHandle>,
    tables: PlannedTable[],
    resolver: CatalogResolver,
  ): Promise<AppliedAccess | undefined> {
    // Whose policies each table is under: the query's project, a view's, or the owner of its rows.
    const scopeOf = (catalog: string): AccessScope | undefined => {
      const owner = catalogs.get(catalog)?.policyOwner
      if (owner) return { projectId: owner.projectId, organizationId: owner.organizationId }
      const viewScope = resolver.scopeOf(catalog)
      return viewScope === undefined ? undefined : { projectId: viewScope }
    }
    const scopeKey = (scope: AccessScope | undefined) => JSON.stringify(scope ?? null)
    const scopes = new Map<string, AccessScope | undefined>([[scopeKey(undefined), undefined]])
    for (const table of tables) scopes.set(scopeKey(scopeOf(table.catalog)), scopeOf(table.catalog))
    const accesses = new Map<string, QueryAccess | undefined>()
    await Promise.all([...scopes].map(async ([key, scope]) => accesses.set(key, await accessOf(scope))))
    const own = accesses.get(scopeKey(undefined))
    if ([...accesses.values()].every((access) => !access)) return undefined
    const byKey = new Map(tables.map((table) => [JSON.stringify([table.catalog, table.schema, table.table]), table]))
    try {
      return await applyAccess(
        await this.#parserConnection(),
        bound,
        guarded,
        {
          resolve: (ref) => {
            try {
              const found = resolveTable(ref, catalogs, [])
              return byKey.get(JSON.stringify([found.catalog, found.schema, found.table]))
            } catch {
              return undefined
            }
          },
          accessFor: (table) => {
            const access = accesses.get(scopeKey(scopeOf(table.catalog)))
            const handle = catalogs.get(table.catalog)
            // The policies name the table as its project does.
            const named = handle?.policyOwner?.catalog ?? handle?.label
            return access && named ? { ...access, table: (t) => access.table({ ...t, catalog: named }) } : access
          },
        },
        own?.props ?? {},
      )
    } catch (error) {
      if (error instanceof SqlGuardError) throw new EngineError('query', error.message, error.position)
      throw error
    }
  }

  /** Binds the parameters and has the guard check the SQL: what it refuses is the caller's error. */
  async #guard(query: EngineDescribeQuery): Promise<{ bound: BoundSql; guarded: GuardedQuery }> {
    try {
      const bound = bindParameters(query.sql, query.parameters ?? {})
      return { bound, guarded: await guardSql(await this.#parserConnection(), bound) }
    } catch (error) {
      if (error instanceof SqlGuardError) throw new EngineError('query', error.message, error.position)
      if (error instanceof ParameterError) throw new EngineError('query', error.message)
      throw error
    }
  }

  /** Reads what the query needs from its sources into its DuckDB: pushed subqueries and scans, side by side. */
  #loadSources(scope: QueryScope, plan: QueryPlan, signal: AbortSignal): Promise<ScannedSource[]> {
    const pushedLoads = plan.pushed.map((pushed, index) =>
      this.#loadPushed(scope, pushed, index, signal).then(withBytes(pushed.columns)),
    )
    const narrowing = planDynamicFilters(plan.scans, plan.joins)
    const loads = new Map<PlannedTable, Promise<LoadedSource>>()
    const loadOf = (table: PlannedTable): Promise<LoadedSource> => {
      let load = loads.get(table)
      if (!load) {
        const index = plan.remaining.indexOf(table)
        load = this.#loadStandIn(scope, table, index, plan.scans.get(table)!, narrowing.get(table), loadOf, signal)
        loads.set(table, load)
      }
      return load
    }
    const scanLoads = plan.remaining.map((table) => loadOf(table).then(withBytes(plan.scans.get(table)!.columns)))
    return Promise.all([...pushedLoads, ...scanLoads])
  }

  /** Runs one pushed subquery on its source, its rows streaming into the table that stands for it. */
  async #loadPushed(scope: QueryScope, pushed: PushedQuery, index: number, signal: AbortSignal) {
    const session = scope.openSession(pushed.catalog)
    const loaded = await this.#loads.run(async () => {
      const opened = await session
      if (!opened.query) throw new EngineError('source', `catalog '${pushed.catalog}' cannot run subqueries`)
      const load = { target: pushed.target, names: pushed.targetColumns, columns: pushed.columns }
      return loadTable(await scope.connect(), load, scope.fifo(`q${index}`), signal, (sink) =>
        opened.query!({ sql: pushed.remoteSql, columns: pushed.columns }, sink, signal),
      )
    })
    return { catalog: scope.catalog(pushed.catalog).label ?? pushed.catalog, table: pushed.tables, ...loaded }
  }

  /**
   * Fills one table's stand-in: a local table is attached, a source table scanned. `edge`: a join
   * whose other side is loaded first, so that its keys narrow what this source sends.
   */
  async #loadStandIn(
    scope: QueryScope,
    table: PlannedTable,
    index: number,
    request: ScanRequest,
    edge: JoinKeyEdge | undefined,
    loadOf: (table: PlannedTable) => Promise<LoadedSource>,
    signal: AbortSignal,
  ): Promise<LoadedSource> {
    const handle = scope.catalog(table.catalog)
    const name = `${table.schema}.${table.table}`
    const catalog = handle.label ?? table.catalog
    const local = handle.localTables?.(table.schema, table.table)
    if (local) {
      return {
        catalog,
        table: name,
        ...(await attachLocalTable(await scope.connect(), table, local, index)),
        ...(local.cachedAt ? { cached: true as const, cached_age_seconds: ageSeconds(local.cachedAt) } : {}),
      }
    }
    if (!handle.openSession) return { catalog, table: name, remote_sql: '', rows: 0 }
    let narrowed = request
    if (edge) {
      // The smaller side first: its join keys narrow what this source sends.
      await loadOf(edge.by.table)
      const keys = await keyFilters(await scope.connect(), tableName(edge.by.table), edge)
      narrowed = { ...request, filters: [...request.filters, ...keys] }
    }
    return { catalog, table: name, ...(await this.#scan(scope, table, index, narrowed, signal)) }
  }

  /** Streams a table from its source into its stand-in, or has DuckDB read it (files). */
  async #scan(scope: QueryScope, table: PlannedTable, index: number, request: ScanRequest, signal: AbortSignal) {
    const session = scope.openSession(table.catalog)
    const target = tableName(table)
    return this.#loads.run(async () => {
      const opened = await session
      const connection = await scope.connect()
      if (opened.nativeReader) return loadNative(connection, target, request, opened.nativeReader(request))
      if (!opened.scan) throw new EngineError('source', `catalog '${table.catalog}' cannot be scanned`)
      const load = { target, names: request.columns.map((column) => column.name), columns: request.columns }
      return loadTable(connection, load, scope.fifo(`t${index}`), signal, (sink) => opened.scan!(request, sink, signal))
    })
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

/** The catalogs the query names, and the tables it reads in them, each once. */
async function resolveTables(
  names: TableName[],
  query: Pick<EngineQuery, 'resolveCatalogs' | 'catalogNames'>,
): Promise<{ catalogs: ReadonlyMap<string, CatalogHandle>; tables: PlannedTable[] }> {
  const wanted = [...new Set(names.flatMap((name) => (name.catalog ? [name.catalog.toLowerCase()] : [])))]
  const catalogs = wanted.length > 0 ? await query.resolveCatalogs(wanted) : new Map<string, CatalogHandle>()
  const unresolved = names.some((name) => !name.catalog || !catalogs.has(name.catalog.toLowerCase()))
  const known = unresolved ? await query.catalogNames() : []
  const tables = dedupe(names.map((name) => resolveTable(name, catalogs, known)))
  return { catalogs, tables }
}

/** What the query's DuckDB must be given before the query runs, and what it then runs. */
interface QueryPlan {
  /** Subqueries that go to their sources whole. */
  pushed: PushedQuery[]
  /** The tables still read through scans, what each scan must deliver, and the joins between them. */
  remaining: PlannedTable[]
  scans: Map<PlannedTable, ScanRequest>
  joins: JoinKeyEdge[]
  sql: string
  values: Record<string, string | null>
}

/**
 * Over empty stand-ins for the tables: which subqueries go to their sources whole, and what each
 * remaining scan must read. Errors in the query (unknown columns, bad types) surface here.
 */
async function planQuery(
  connection: DuckDBConnection,
  guarded: GuardedQuery,
  bound: BoundSql,
  tables: PlannedTable[],
  catalogs: ReadonlyMap<string, CatalogHandle>,
  viewAliases: ReadonlySet<string>,
): Promise<QueryPlan> {
  await createStubs(connection, tables, catalogs)
  const pushdown = await pushDown(connection, guarded.tree as ParsedStatement, bound, tables, catalogs, viewAliases)
  const remaining = tables.filter((table) => pushdown.stillRead.has(table))
  const planned = await planScans(connection, pushdown.planningSql, remaining)
  if ('error' in planned) throw new EngineError('query', planned.error.message, planned.error.position)
  return {
    pushed: pushdown.pushed,
    remaining,
    scans: planned.scans,
    joins: planned.joins,
    // What the guard checked, as DuckDB printed it, unless the pushdown rewrote (and printed) it.
    sql: pushdown.pushed.length > 0 ? pushdown.executableSql : guarded.sql,
    values: pushdown.values,
  }
}

/**
 * From here on the query can reach no file, URL or extension (but the one directory an export
 * writes to). This does not stop writes or catalog functions: the guard refused those before
 * anything was loaded.
 */
async function lockDown(connection: DuckDBConnection, writableDirectory: string | undefined): Promise<void> {
  await connection.run('SET autoinstall_known_extensions = false')
  await connection.run('SET autoload_known_extensions = false')
  if (writableDirectory) {
    await connection.run(`SET allowed_directories = [${quoteLiteral(writableDirectory + path.sep)}]`)
  }
  await connection.run('SET enable_external_access = false')
  await connection.run('SET lock_configuration = true')
}

/**
 * Bytes per value as DuckDB holds it. Any other type counts 16 bytes: DuckDB's inline string for text,
 * the size of its widest decimals, UUIDs and intervals.
 */
const VALUE_BYTES: Readonly<Record<string, number>> = {
  BOOLEAN: 1,
  TINYINT: 1,
  UTINYINT: 1,
  SMALLINT: 2,
  USMALLINT: 2,
  INTEGER: 4,
  UINTEGER: 4,
  FLOAT: 4,
  DATE: 4,
  BIGINT: 8,
  UBIGINT: 8,
  DOUBLE: 8,
  TIME: 8,
  TIMESTAMP: 8,
  'TIMESTAMP WITH TIME ZONE': 8,
}
const OTHER_VALUE_BYTES = 16

/** Adds the estimated bytes that crossed from the source (see `EngineStats`): the engine does not count them. */
const withBytes =
  (columns: readonly { type: string }[]) =>
  (loaded: LoadedSource): ScannedSource => {
    const rowBytes = columns.reduce((sum, column) => sum + (VALUE_BYTES[column.type] ?? OTHER_VALUE_BYTES), 0)
    return { ...loaded, bytes: loaded.rows * rowBytes }
  }

function queryStats(started: number, sources: ScannedSource[]): EngineStats {
  return {
    elapsed_ms: Math.round((performance.now() - started) * 10) / 10,
    rows_scanned: sources.reduce((sum, source) => sum + source.rows, 0),
    sources,
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

/**
 * How each result column stands under the policies: found from what the query as written computes
 * each column from (the masked query cannot tell: a nullified column is a constant there). Where that
 * cannot be followed, a column counts as masked when any mask applied.
 */
async function privacyOf(
  connection: DuckDBConnection,
  unpolicedSql: string,
  tables: PlannedTable[],
  applied: AppliedAccess,
): Promise<EnginePrivacy> {
  const filtered = applied.filtered.map(({ table, filter }) => ({
    catalog: table.catalog,
    schema: table.schema,
    table: table.table,
    filter,
  }))
  const prepared = await connection.prepare(applied.bound.planningSql)
  const count = prepared.columnCount
  prepared.destroySync()
  if (applied.masked.length === 0) return { columns: Array<ColumnPrivacy>(count).fill('public'), filtered }
  const maskOf = (table: PlannedTable, column: string) =>
    applied.masked.find((masked) => masked.table === table && masked.column === column)?.mask
  const dependencies = await resultDependencies(connection, unpolicedSql, tables).catch(() => undefined)
  const columns = Array.from({ length: count }, (_, i): ColumnPrivacy => {
    const reads = dependencies?.length === count ? dependencies[i] : undefined
    if (!reads) return 'masked'
    const masks = reads.map((read) => maskOf(read.table, read.column.name))
    if (masks.every((mask) => !mask)) return 'public'
    return masks.every((mask) => mask?.privacy === 'hidden') ? 'hidden' : 'masked'
  })
  return { columns, filtered }
}

/**
 * An error raised while a query under policies read or computed rows, without its details: the
 * order in which DuckDB (or a source) applies the query's conditions and the policy's row filter is
 * its own, so a failing cast, say, may quote a value of a row the filter withholds.
 */
function withheldDetails(error: unknown): unknown {
  if (!(error instanceof EngineError) || (error.kind !== 'query' && error.kind !== 'source')) return error
  const kind = /^[A-Za-z ]+ Error/.exec(error.message)?.[0] ?? 'an error'
  return new EngineError(
    error.kind,
    `the query failed while reading rows (${kind}); its details are withheld because column masks or row filters ` +
      'apply to you: check casts and functions over columns whose values may not all fit them',
  )
}

function toEngineError(error: unknown, memoryLimit: string): unknown {
  if (error instanceof EngineError) return error
  if (error instanceof SourceError) return new EngineError('source', error.message)
  if (!(error instanceof Error)) return error
  // The Node API prefixes what DuckDB's parser says when it splits a text into statements.
  const message = error.message.replace(/^Failed to extract statements: /, '')
  if (/^(Binder|Parser|Conversion|Invalid Input|Catalog|Out of Range|Not implemented|Constraint) Error/.test(message)) {
    return new EngineError('query', message)
  }
  if (message.startsWith('Out of Memory Error')) {
    // DuckDB's advice (fewer threads, SET memory_limit) is for whoever runs DuckDB, not the query's author.
    const detail = message.split('\n')[0]!.replace(/^Out of Memory Error: /, '')
    return new EngineError(
      'query',
      `the query needs more memory than TRIBUTARY_QUERY_MEMORY_LIMIT allows (${memoryLimit}): ${detail}`,
    )
  }
  return error
}

/** The result's column names made distinct (a result may repeat a name; a table or Parquet file may not). */
function distinctNames(columns: EngineColumn[]): EngineColumn[] {
  const taken = new Set<string>()
  return columns.map((column) => {
    let name = column.name
    for (let n = 1; taken.has(name.toLowerCase()); n++) name = `${column.name}_${n}`
    taken.add(name.toLowerCase())
    return { name, type: column.type }
  })
}

/**
 * The query with its columns renamed apart and, for Parquet, 128-bit integers as text, since
 * Parquet would store them as lossy doubles. Columns keep their order, which is how results are
 * read back.
 */
function distinctNamesSelect(sql: string, columns: EngineColumn[], forParquet: boolean): string {
  const names = distinctNames(columns).map((column) => quoteIdentifier(column.name))
  const list = columns.map((column, i) =>
    forParquet && (column.type === 'HUGEINT' || column.type === 'UHUGEINT')
      ? `CAST(${names[i]} AS VARCHAR) AS ${names[i]}`
      : names[i],
  )
  return `SELECT ${list.join(', ')} FROM (${sql}\n) AS result(${names.join(', ')})`
}

function ageSeconds(since: Date): number {
  return Math.max(0, Math.round((Date.now() - since.getTime()) / 1000))
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error)
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })
  })
}
