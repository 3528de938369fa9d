import type { Catalog, CatalogRefresh, CatalogSchema, CatalogTable, TableDetail } from '@tributary/contract'

import type { RequestContext } from '../../auth/principal.js'
import { SourceError, type SourceCatalog } from '../../engine/connectors/connector.js'
import { errors } from '../../lib/errors.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso } from '../../metadata/store-errors.js'
import { connectionErrors } from '../connections/connections.errors.js'
import { ConnectionsRepo } from '../connections/connections.repo.js'
import type { ConnectionsService, OpenedConnection } from '../connections/connections.service.js'
import type { InternalCatalog } from '../datasets/datasets.service.js'

/** The catalog every project has: its own datasets, filled by the datasets feature. */
export const INTERNAL_CATALOG = 'internal'

/** Where the `internal` catalog's datasets and tables come from (the datasets module). */
export interface InternalCatalogSource {
  internalCatalog(ctx: RequestContext, projectId: string): Promise<InternalCatalog>
}

interface Snapshot {
  catalog: SourceCatalog
  refreshedAt: Date | null
}

/**
 * Browsing catalogs → schemas → tables → columns. Source metadata is read once and kept in the
 * metadata store, so browsing costs no round trip to the source until someone refreshes it.
 */
export class CatalogsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly connections: ConnectionsService,
    private readonly internal?: InternalCatalogSource,
  ) {}

  /** The project's datasets as the schemas of `internal`, with where each table's rows are. */
  async internalCatalog(ctx: RequestContext, projectId: string): Promise<InternalCatalog> {
    if (this.internal) return this.internal.internalCatalog(ctx, projectId)
    return { catalog: { schemas: [] }, localTables: () => undefined }
  }

  async list(ctx: RequestContext, projectId: string): Promise<Catalog[]> {
    const rows = await this.connections.listCatalogConnections(ctx, projectId)
    return [
      { name: INTERNAL_CATALOG, type: 'internal', connection_id: null },
      ...rows.map((row) => ({ name: row.catalog, type: row.type, connection_id: row.id })),
    ]
  }

  async schemas(ctx: RequestContext, projectId: string, catalog: string): Promise<CatalogSchema[]> {
    const { catalog: source } = await this.#snapshot(ctx, projectId, catalog)
    return source.schemas.map((schema) => ({ name: schema.name, table_count: schema.tables.length }))
  }

  async tables(ctx: RequestContext, projectId: string, catalog: string, schema: string): Promise<CatalogTable[]> {
    const { catalog: source } = await this.#snapshot(ctx, projectId, catalog)
    const found = source.schemas.find((candidate) => candidate.name === schema)
    if (!found) throw errors.notFound('schema', `${catalog}.${schema}`)
    return found.tables.map((table) => ({ name: table.name, kind: table.kind, column_count: table.columns.length }))
  }

  async table(
    ctx: RequestContext,
    projectId: string,
    catalog: string,
    schema: string,
    table: string,
  ): Promise<TableDetail> {
    const { catalog: source, refreshedAt } = await this.#snapshot(ctx, projectId, catalog)
    const found = source.schemas
      .find((candidate) => candidate.name === schema)
      ?.tables.find((candidate) => candidate.name === table)
    if (!found) throw errors.notFound('table', `${catalog}.${schema}.${table}`)
    return {
      catalog,
      schema,
      name: found.name,
      kind: found.kind,
      columns: found.columns,
      refreshed_at: refreshedAt ? toIso(refreshedAt) : null,
    }
  }

  async refresh(ctx: RequestContext, projectId: string, catalog: string): Promise<CatalogRefresh> {
    const opened = await this.#opened(ctx, projectId, catalog)
    if (!opened) {
      // Internal metadata is always current: nothing to read again.
      const { catalog: source } = await this.internalCatalog(ctx, projectId)
      return {
        catalog,
        schema_count: source.schemas.length,
        table_count: source.schemas.reduce((sum, schema) => sum + schema.tables.length, 0),
        refreshed_at: new Date().toISOString(),
      }
    }
    const { catalog: source, refreshedAt } = await this.#load(opened)
    return {
      catalog,
      schema_count: source.schemas.length,
      table_count: source.schemas.reduce((sum, schema) => sum + schema.tables.length, 0),
      refreshed_at: toIso(refreshedAt!),
    }
  }

  /** What a connection's source contains: the stored metadata, read from the source the first time. */
  async sourceCatalog(opened: OpenedConnection): Promise<SourceCatalog> {
    return (await this.#stored(opened)).catalog
  }

  async #snapshot(ctx: RequestContext, projectId: string, catalog: string): Promise<Snapshot> {
    const opened = await this.#opened(ctx, projectId, catalog)
    if (!opened) return { catalog: (await this.internalCatalog(ctx, projectId)).catalog, refreshedAt: null }
    return this.#stored(opened)
  }

  async #stored(opened: OpenedConnection): Promise<Snapshot> {
    const stored = await new ConnectionsRepo(this.db).readSnapshot(opened.row.id)
    if (stored) return { catalog: stored.snapshot as SourceCatalog, refreshedAt: stored.refreshed_at }
    return this.#load(opened)
  }

  /** Undefined for the internal catalog; 404 for a name that is no catalog of the project. */
  async #opened(ctx: RequestContext, projectId: string, catalog: string): Promise<OpenedConnection | undefined> {
    const opened = await this.connections.openByCatalog(ctx, projectId, catalog)
    if (opened) return opened
    if (catalog === INTERNAL_CATALOG) return undefined
    throw errors.notFound('catalog', catalog)
  }

  async #load(opened: OpenedConnection): Promise<Snapshot> {
    let catalog: SourceCatalog
    try {
      catalog = await this.connections.introspect(opened)
    } catch (error) {
      if (error instanceof SourceError) {
        throw connectionErrors.source(`catalog '${opened.row.catalog}': ${error.message}`, error)
      }
      throw error
    }
    const refreshedAt = await new ConnectionsRepo(this.db).writeSnapshot(opened.row.id, catalog)
    return { catalog, refreshedAt }
  }
}
