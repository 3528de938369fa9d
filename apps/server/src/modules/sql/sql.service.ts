import type { SqlRequest, SqlResult } from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { ConnectorContext, SourceCatalog } from '../../engine/connectors/connector.js'
import type { SessionPool } from '../../engine/connectors/session-pool.js'
import {
  EngineError,
  type CatalogHandle,
  type DescribedColumn,
  type ColumnPrivacy,
  type EngineColumn,
  type EnginePrivacy,
  type EngineExportQuery,
  type EngineQuery,
  type EngineParquetResult,
  type EngineTarget,
  type SqlEngine,
} from '../../engine/engine.js'
import type { PolicedTable, QueryAccess, TableAccess } from '../../engine/access-policy.js'
import { quoteIdentifier } from '../../engine/duckdb-sql.js'
import { INTERNAL_CATALOG, type LocalTable } from '../../engine/local-tables.js'
import type { QueryParameter } from '../../engine/sql-text.js'
import { AppError, assertNever } from '../../lib/errors.js'
import type { CatalogsService } from '../catalogs/catalogs.service.js'
import type { ProjectsService } from '../projects/projects.service.js'

/**
 * Copies of source tables kept by the platform (caches): a query that names such a table reads the
 * copy. Asked once per query for the source catalogs it names.
 */
export interface CachedTablesProvider {
  /** The readable copies of tables of these catalogs of the project, by `cachedTableKey`. */
  cachedTables(projectId: string, catalogs: readonly string[]): Promise<ReadonlyMap<string, CachedTable>>
}

export interface CachedTable extends LocalTable {
  /** The connection the copy was taken from: the catalog must still be that connection's. */
  connectionId: string
  /** The copy's column names: a copy that lacks one the catalog now lists is not read (the source is). */
  columns: readonly string[]
}

export const cachedTableKey = (catalog: string, schema: string, table: string) =>
  JSON.stringify([catalog, schema, table])

/** Whether an organization may start another query: its quota (the quotas module, at composition). */
export interface QueryAdmission {
  /** Throws `429 quota_exceeded` when the organization has spent its query quota. */
  admit(organizationId: string): Promise<void>
}

/** The column masks and row filters a caller is under (the access-policies module, at composition). */
export interface AccessPolicyProvider {
  /**
   * What the caller may see of the project's tables; undefined when no policy of the project applies
   * to them. `organizationId`: the project's organization when it is not the caller's (a dataset that
   * organization shares, CatalogHandle.policyOwner).
   */
  accessFor(checked: TenantContext, projectId: string, organizationId?: string): Promise<QueryAccess | undefined>
}

export interface RunOptions {
  use?: 'query' | 'ask' | 'dashboards'
  parameters?: Readonly<Record<string, QueryParameter>> | undefined
}

/** What a query that runs to completion and writes its result elsewhere needs. */
export interface WholeQueryInput {
  sql: string
  parameters?: Readonly<Record<string, QueryParameter>> | undefined
  timeoutMs: number
  /** Read every table from its source, none from a cached copy (a refresh of that copy, for one). */
  fresh?: boolean | undefined
  /**
   * Read the tables as they are, under no column mask or row filter: only for a copy of source
   * tables that queries then read under their callers' policies (caches).
   */
  unpoliced?: boolean | undefined
}

/** Federated SQL over a project's catalogs. */
export class SqlService {
  #cachedTables: CachedTablesProvider | undefined
  #admission: QueryAdmission | undefined
  #access: AccessPolicyProvider | undefined

  constructor(
    private readonly catalogs: CatalogsService,
    private readonly engine: SqlEngine,
    private readonly connectorContext: ConnectorContext,
    private readonly sessions: SessionPool,
    private readonly projects: ProjectsService,
  ) {}

  /** Has queries read cached copies of source tables (once, at composition, by the caches module). */
  useCachedTables(provider: CachedTablesProvider): void {
    this.#cachedTables = provider
  }

  /** Has queries started only within the organization's quota (once, at composition, by the quotas module). */
  useAdmission(admission: QueryAdmission): void {
    this.#admission = admission
  }

  /** Has every query obey the project's masks and row filters (once, at composition, by the access-policies module). */
  useAccessPolicies(provider: AccessPolicyProvider): void {
    this.#access = provider
  }

  /**
   * Refuses a query the caller's organization may not start now (`429 quota_exceeded`): before a
   * run here, and before a query job is queued.
   */
  async admit(tenant: TenantContext): Promise<void> {
    await this.#admission?.admit(tenant.principal.organizationId)
  }

  /**
   * `options.use`: the scope the caller runs it under (`ask` for the SQL a question was answered
   * with); `options.parameters` fill the SQL's `{{name}}` placeholders as typed values.
   */
  async run(
    ctx: RequestContext,
    projectId: string,
    input: SqlRequest,
    signal?: AbortSignal,
    options: RunOptions = {},
  ): Promise<SqlResult> {
    const query = await this.#query(
      ctx,
      projectId,
      { sql: input.sql, timeoutMs: input.timeout_ms, fresh: input.fresh },
      signal,
      options.use,
      true,
    )
    const { privacy, ...result } = await engineCall(() =>
      this.engine.execute({ ...query, limit: input.limit, parameters: options.parameters }),
    )
    return { ...result, column_privacy: columnPrivacy(result.columns, privacy) }
  }

  /**
   * The key of the caller's policies in the project: two callers with one key see the same data,
   * so a result computed for one may be shown to the other. '' when no policy applies.
   */
  async accessKey(checked: TenantContext, projectId: string): Promise<string> {
    return (await this.#access?.accessFor(checked, projectId))?.key ?? ''
  }

  /**
   * The caller's masks and row filter on one table of the project; undefined when neither applies.
   * For doors that show what was read from a table other than by a query (metadata samples, file copies).
   */
  async policyOf(checked: TenantContext, projectId: string, table: PolicedTable): Promise<TableAccess | undefined> {
    const policy = (await this.#access?.accessFor(checked, projectId))?.table(table)
    return policy && (policy.masks.size > 0 || policy.rowFilter) ? policy : undefined
  }

  /** Whether the caller's masks or row filters change what they see of this table of the project. */
  async isPoliced(checked: TenantContext, projectId: string, table: PolicedTable): Promise<boolean> {
    return (await this.policyOf(checked, projectId, table)) !== undefined
  }

  /**
   * How many rows of these tables the caller's row policies withhold (each table whole), counted on
   * the sources beneath the policies; tables of other projects' catalogs are not counted.
   */
  async withheldRows(
    ctx: RequestContext,
    projectId: string,
    filtered: EnginePrivacy['filtered'],
    signal?: AbortSignal,
  ): Promise<number> {
    const own = filtered.filter((table) => !table.catalog.startsWith('__'))
    if (own.length === 0) return 0
    // All rows less those the filter keeps (a NULL is withheld too): two counts each source runs itself.
    const counts = own.map((table) => {
      const name = [table.catalog, table.schema, table.table].map(quoteIdentifier).join('.')
      return `((SELECT count(*) FROM ${name}) - (SELECT count(*) FROM ${name} WHERE ${table.filter}))`
    })
    const query = await this.#query(
      ctx,
      projectId,
      { sql: `SELECT CAST(${counts.join(' + ')} AS BIGINT)`, timeoutMs: 60_000, unpoliced: true },
      signal,
    )
    const result = await engineCall(() => this.engine.execute({ ...query, limit: 1 }))
    return Number(result.rows[0]?.[0] ?? 0)
  }

  /**
   * Runs a query to completion and writes its whole result to `outputPath` as Parquet (jobs,
   * imports from SQL). `parameters` fill the SQL's `{{name}}` placeholders as typed values.
   */
  async runToParquet(
    ctx: RequestContext,
    projectId: string,
    input: WholeQueryInput,
    outputPath: string,
    signal?: AbortSignal,
  ): Promise<EngineParquetResult> {
    const query = await this.#query(ctx, projectId, input, signal)
    return engineCall(() => this.engine.executeToParquet({ ...query, parameters: input.parameters }, outputPath))
  }

  /**
   * Runs a query to completion and writes its whole result into a new table of a DuckDB file, in
   * bulk (caches, materialized queries). `target` as a path: table `data` of that file, which is how
   * local tables are read (LocalTable). The caller's access is checked as for `run`.
   */
  async runInto(
    ctx: RequestContext,
    projectId: string,
    input: WholeQueryInput,
    target: string | EngineTarget,
    signal?: AbortSignal,
  ): Promise<EngineParquetResult> {
    const query = await this.#query(ctx, projectId, input, signal)
    const into = typeof target === 'string' ? { file: target, table: 'data' } : target
    return engineCall(() => this.engine.executeInto({ ...query, parameters: input.parameters }, into))
  }

  /**
   * The result columns of `sql` over the project's catalogs, found without reading any data (guard,
   * catalogs, planner). A query the engine would refuse throws AppError `query_error` (422) with
   * the engine's message, as `run` does. `parameters` fill `{{name}}` placeholders; each one the SQL
   * uses needs a value. Reading a project's catalog metadata only needs read access to it.
   * `unpoliced`: the columns as the tables have them, beneath the caller's masks (names and types,
   * never rows: for checking a policy).
   */
  async describe(
    ctx: RequestContext,
    projectId: string,
    sql: string,
    parameters?: Readonly<Record<string, QueryParameter>>,
    options: { unpoliced?: boolean } = {},
  ): Promise<EngineColumn[]> {
    const checked = await this.projects.require(ctx, projectId, 'read')
    return engineCall(() =>
      this.engine.describe({
        sql,
        parameters,
        resolveCatalogs: (names, scope) => this.#catalogs(checked, scope ?? projectId, names),
        catalogNames: () => this.catalogs.names(checked, projectId),
        // Checking a policy itself needs the tables' own columns and types, which masks change.
        access: options.unpoliced ? undefined : this.#accessOf(checked, projectId),
      }),
    )
  }

  /** As `describe`, with each column's lineage (the table column it passes on unchanged, if any). */
  async describeLineage(ctx: RequestContext, projectId: string, sql: string): Promise<DescribedColumn[]> {
    const checked = await this.projects.require(ctx, projectId, 'read')
    return engineCall(() =>
      this.engine.describeLineage({
        sql,
        resolveCatalogs: (names, scope) => this.#catalogs(checked, scope ?? projectId, names),
        catalogNames: () => this.catalogs.names(checked, projectId),
        access: this.#accessOf(checked, projectId),
      }),
    )
  }

  /** The caller's policies, for the query's project, the project of a view's catalogs, or a catalog's owner. */
  #accessOf(checked: TenantContext, projectId: string): EngineQuery['access'] {
    const provider = this.#access
    return provider && ((scope) => provider.accessFor(checked, scope?.projectId ?? projectId, scope?.organizationId))
  }

  /** One project check for the whole query; its catalogs are resolved once, all together, when the engine asks. */
  async #query(
    ctx: RequestContext,
    projectId: string,
    input: { sql: string; timeoutMs: number; fresh?: boolean | undefined; unpoliced?: boolean | undefined },
    signal: AbortSignal | undefined,
    use: RunOptions['use'] = 'query',
    admit = false,
  ): Promise<EngineExportQuery> {
    const checked = await this.projects.require(ctx, projectId, { use })
    if (admit) await this.admit(checked)
    return {
      sql: input.sql,
      timeoutMs: input.timeoutMs,
      signal,
      // A scope is the project of a view the query reads (a semantic catalog shared with this
      // project): only views hand one out, and only within the caller's organization.
      resolveCatalogs: (names, scope) => this.#catalogs(checked, scope ?? projectId, names, input.fresh === true),
      catalogNames: () => this.catalogs.names(checked, projectId),
      // A copy of source tables (a cache) is taken whole; policies apply when it is read.
      access: input.unpoliced ? undefined : this.#accessOf(checked, projectId),
    }
  }

  async #catalogs(
    checked: TenantContext,
    projectId: string,
    names: readonly string[],
    fresh = false,
  ): Promise<Map<string, CatalogHandle>> {
    const { internal, sources, contributed } = await this.catalogs.forQuery(checked, projectId, names)
    const cached =
      fresh || !this.#cachedTables || sources.length === 0
        ? new Map<string, CachedTable>()
        : await this.#cachedTables.cachedTables(
            projectId,
            sources.map(({ opened }) => opened.row.catalog),
          )
    const handles = new Map<string, CatalogHandle>()
    if (internal) {
      handles.set(INTERNAL_CATALOG, {
        name: INTERNAL_CATALOG,
        catalog: internal.catalog,
        localTables: (schema, table) => internal.localTables(schema, table),
      })
    }
    for (const { opened, catalog } of sources) {
      handles.set(opened.row.catalog, {
        name: opened.row.catalog,
        catalog,
        // Keyed by the settings' version too: sessions opened with settings since changed are not reused.
        openSession: () =>
          this.sessions.open(`${opened.row.id}@${new Date(opened.row.updated_at).getTime()}`, () =>
            opened.connector.connect(opened.config, this.connectorContext),
          ),
        pushdownDialect: opened.connector.pushdownDialect,
        ...(cached.size > 0
          ? { localTables: (schema, table) => usableCopy(cached, opened.row, catalog, schema, table) }
          : {}),
      })
    }
    for (const found of contributed) {
      handles.set(found.name, {
        name: found.name,
        catalog: found.catalog,
        views: (schema, table) => found.views(schema, table),
        ...(found.localTables ? { localTables: found.localTables.bind(found) } : {}),
        ...(found.policyOwner ? { policyOwner: found.policyOwner } : {}),
      })
    }
    return handles
  }

  /**
   * The caller's whole access in the project (every table's masks and row filters), read once: for
   * doors that show what was read from many tables other than by a query (metadata samples, search).
   * Undefined when no policy module is composed.
   */
  async accessOf(checked: TenantContext, projectId: string): Promise<QueryAccess | undefined> {
    return this.#access?.accessFor(checked, projectId)
  }
}

/** The result's columns by name with their privacy class (DataCovey's shape: a repeated name is listed once). */
export function columnPrivacy(
  columns: readonly EngineColumn[],
  privacy: EnginePrivacy | undefined,
): Record<string, ColumnPrivacy> {
  return Object.fromEntries(columns.map((column, i) => [column.name, privacy?.columns[i] ?? 'public']))
}

function usableCopy(
  cached: ReadonlyMap<string, CachedTable>,
  connection: { id: string; catalog: string },
  catalog: SourceCatalog,
  schema: string,
  table: string,
): LocalTable | undefined {
  const copy = cached.get(cachedTableKey(connection.catalog, schema, table))
  if (copy?.connectionId !== connection.id) return undefined
  const listed = catalog.schemas.find((candidate) => candidate.name === schema)?.tables.find((t) => t.name === table)
  const names = new Set(copy.columns)
  return listed?.columns.every((column) => names.has(column.name)) ? copy : undefined
}

async function engineCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof EngineError) throw toAppError(error)
    throw error
  }
}

function toAppError(error: EngineError): AppError {
  switch (error.kind) {
    case 'query':
      return new AppError(
        'query_error',
        error.message,
        error.position === undefined ? undefined : { position: error.position },
      )
    case 'timeout':
      return new AppError('query_timeout', error.message)
    case 'source':
      return new AppError('connection_error', error.message)
    case 'cancelled':
      return new AppError('query_error', error.message)
    default:
      return assertNever(error.kind)
  }
}
