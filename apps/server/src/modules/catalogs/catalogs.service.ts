import type { Catalog, CatalogRefresh, CatalogSchema, CatalogTable, TableDetail } from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { SourceCatalog } from '../../engine/connectors/connector.js'
import { INTERNAL_CATALOG, type InternalCatalog } from '../../engine/local-tables.js'
import { errors } from '../../lib/errors.js'
import { toIso } from '../../metadata/store-errors.js'
import type { ConnectionsService, OpenedConnection } from '../connections/connections.service.js'
import type { ProjectsService } from '../projects/projects.service.js'

/** Where the `internal` catalog's datasets and tables come from (the datasets module). */
export interface InternalCatalogSource {
  internalCatalog(checked: TenantContext, projectId: string): Promise<InternalCatalog>
}

interface Snapshot {
  catalog: SourceCatalog
  refreshedAt: Date | null
}

/** What a query over some catalogs of a project needs to plan and read them. */
export interface QueryCatalogs {
  /** Present when the query names `internal`. */
  internal: InternalCatalog | undefined
  sources: { opened: OpenedConnection; catalog: SourceCatalog }[]
}

/**
 * Browsing catalogs → schemas → tables → columns. Source metadata is read once and kept in the
 * metadata store, so browsing costs no round trip to the source until someone refreshes it.
 */
export class CatalogsService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly connections: ConnectionsService,
    private readonly internal: InternalCatalogSource,
  ) {}

  async list(ctx: RequestContext, projectId: string): Promise<Catalog[]> {
    const checked = await this.projects.require(ctx, projectId, 'read')
    const rows = await this.connections.listCatalogConnections(checked, projectId)
    return [
      { name: INTERNAL_CATALOG, type: 'internal', connection_id: null },
      ...rows.map((row) => ({ name: row.catalog, type: row.type, connection_id: row.id })),
    ]
  }

  /** The names a query of a checked caller may use: read only to word an error. */
  async names(checked: TenantContext, projectId: string): Promise<string[]> {
    const rows = await this.connections.listCatalogConnections(checked, projectId)
    return [INTERNAL_CATALOG, ...rows.map((row) => row.catalog)]
  }

  /**
   * The named catalogs of a project, for a caller already checked for it: one read of their
   * connections and stored metadata; a source is read only when nothing is stored for it yet.
   * Names that are no catalog of the project are left out.
   */
  async forQuery(checked: TenantContext, projectId: string, names: readonly string[]): Promise<QueryCatalogs> {
    const opened = await this.connections.openCatalogs(checked, projectId, names)
    const sources = await Promise.all(
      opened.map(async ({ opened, stored }) => ({
        opened,
        catalog: (stored ?? (await this.connections.refreshCatalog(opened))).catalog,
      })),
    )
    const internal = names.includes(INTERNAL_CATALOG)
      ? await this.internal.internalCatalog(checked, projectId)
      : undefined
    return { internal, sources }
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
    const checked = await this.projects.require(ctx, projectId, 'read')
    const found = await this.#find(checked, projectId, catalog)
    // Internal metadata is always current: nothing to read again.
    const { catalog: source, refreshedAt } = found
      ? await this.connections.refreshCatalog(found.opened)
      : { catalog: (await this.internal.internalCatalog(checked, projectId)).catalog, refreshedAt: new Date() }
    return {
      catalog,
      schema_count: source.schemas.length,
      table_count: source.schemas.reduce((sum, schema) => sum + schema.tables.length, 0),
      refreshed_at: toIso(refreshedAt),
    }
  }

  async #snapshot(ctx: RequestContext, projectId: string, catalog: string): Promise<Snapshot> {
    const checked = await this.projects.require(ctx, projectId, 'read')
    const found = await this.#find(checked, projectId, catalog)
    if (!found) return { catalog: (await this.internal.internalCatalog(checked, projectId)).catalog, refreshedAt: null }
    return found.stored ?? this.connections.refreshCatalog(found.opened)
  }

  /** Undefined for the internal catalog; 404 for a name that is no catalog of the project. */
  async #find(checked: TenantContext, projectId: string, catalog: string) {
    const [found] = await this.connections.openCatalogs(checked, projectId, [catalog])
    if (found || catalog === INTERNAL_CATALOG) return found
    throw errors.notFound('catalog', catalog)
  }
}
