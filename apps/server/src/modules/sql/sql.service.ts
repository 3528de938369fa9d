import type { SqlRequest, SqlResult } from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { ConnectorContext } from '../../engine/connectors/connector.js'
import type { SessionPool } from '../../engine/connectors/session-pool.js'
import {
  EngineError,
  type CatalogHandle,
  type EngineExportQuery,
  type EngineParquetResult,
  type SqlEngine,
} from '../../engine/engine.js'
import { INTERNAL_CATALOG } from '../../engine/local-tables.js'
import type { QueryParameter } from '../../engine/sql-text.js'
import { AppError, assertNever } from '../../lib/errors.js'
import type { CatalogsService } from '../catalogs/catalogs.service.js'
import type { ProjectsService } from '../projects/projects.service.js'

/** Federated SQL over a project's catalogs. */
export class SqlService {
  constructor(
    private readonly catalogs: CatalogsService,
    private readonly engine: SqlEngine,
    private readonly connectorContext: ConnectorContext,
    private readonly sessions: SessionPool,
    private readonly projects: ProjectsService,
  ) {}

  async run(ctx: RequestContext, projectId: string, input: SqlRequest, signal?: AbortSignal): Promise<SqlResult> {
    const query = await this.#query(ctx, projectId, { sql: input.sql, timeoutMs: input.timeout_ms }, signal)
    return engineCall(() => this.engine.execute({ ...query, limit: input.limit }))
  }

  /**
   * Runs a query to completion and writes its whole result to `outputPath` as Parquet (jobs,
   * imports from SQL). `parameters` fill the SQL's `{{name}}` placeholders as typed values.
   */
  async runToParquet(
    ctx: RequestContext,
    projectId: string,
    input: { sql: string; parameters?: Readonly<Record<string, QueryParameter>>; timeoutMs: number },
    outputPath: string,
    signal?: AbortSignal,
  ): Promise<EngineParquetResult> {
    const query = await this.#query(ctx, projectId, input, signal)
    return engineCall(() => this.engine.executeToParquet({ ...query, parameters: input.parameters }, outputPath))
  }

  /** One project check for the whole query; its catalogs are resolved once, all together, when the engine asks. */
  async #query(
    ctx: RequestContext,
    projectId: string,
    input: { sql: string; timeoutMs: number },
    signal: AbortSignal | undefined,
  ): Promise<EngineExportQuery> {
    const checked = await this.projects.require(ctx, projectId, { use: 'query' })
    return {
      sql: input.sql,
      timeoutMs: input.timeoutMs,
      signal,
      resolveCatalogs: (names) => this.#catalogs(checked, projectId, names),
      catalogNames: () => this.catalogs.names(checked, projectId),
    }
  }

  async #catalogs(
    checked: TenantContext,
    projectId: string,
    names: readonly string[],
  ): Promise<Map<string, CatalogHandle>> {
    const { internal, sources } = await this.catalogs.forQuery(checked, projectId, names)
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
      })
    }
    return handles
  }
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
