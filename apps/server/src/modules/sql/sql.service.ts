import type { SqlRequest, SqlResult } from '@tributary/contract'

import { requireProjectUse } from '../../auth/access.js'
import type { RequestContext } from '../../auth/principal.js'
import type { ConnectorContext } from '../../engine/connectors/connector.js'
import { EngineError, type CatalogHandle, type SqlEngine } from '../../engine/engine.js'
import { AppError, assertNever } from '../../lib/errors.js'
import type { CatalogsService } from '../catalogs/catalogs.service.js'
import { INTERNAL_CATALOG } from '../catalogs/catalogs.service.js'
import type { ConnectionsService } from '../connections/connections.service.js'

/** Federated SQL over a project's catalogs. */
export class SqlService {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly catalogs: CatalogsService,
    private readonly engine: SqlEngine,
    private readonly connectorContext: ConnectorContext,
  ) {}

  async run(ctx: RequestContext, projectId: string, input: SqlRequest, signal?: AbortSignal): Promise<SqlResult> {
    requireProjectUse(ctx, projectId, 'query')
    const catalogNames = (await this.catalogs.list(ctx, projectId)).map((catalog) => catalog.name)
    try {
      return await this.engine.execute({
        sql: input.sql,
        limit: input.limit,
        timeoutMs: input.timeout_ms,
        signal,
        catalogNames,
        resolveCatalog: (name) => this.#catalog(ctx, projectId, name),
      })
    } catch (error) {
      if (error instanceof EngineError) throw toAppError(error)
      throw error
    }
  }

  async #catalog(ctx: RequestContext, projectId: string, name: string): Promise<CatalogHandle | undefined> {
    if (name === INTERNAL_CATALOG) return { name, catalog: { schemas: [] } }
    const opened = await this.connections.openByCatalog(ctx, projectId, name)
    if (!opened) return undefined
    const catalog = await this.catalogs.sourceCatalog(opened)
    return {
      name,
      catalog,
      openSession: () => opened.connector.connect(opened.config, this.connectorContext),
    }
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
