import type { Catalog, CatalogRefresh, CatalogSchema, CatalogTable, TableDetail } from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { PolicyOwner, ViewDefinition } from '../../engine/catalog-handle.js'
import type { SourceCatalog } from '../../engine/connectors/connector.js'
import { INTERNAL_CATALOG, type InternalCatalog, type LocalTable } from '../../engine/local-tables.js'
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
  contributed: ContributedCatalog[]
}

/** A catalog as a contributor lists it: cheap to find, for listings and names. */
export interface ContributedCatalogEntry {
  name: string
  /** `queries`, `semantic`, … */
  type: string
  /** Set when the catalog belongs to another project of the organization that shares it. */
  ownerProjectId?: string | undefined
}

/** A read-only catalog whose tables are queries over other catalogs: browsed as tables, inlined as views. */
export interface ContributedCatalog extends ContributedCatalogEntry {
  /** Schemas → tables → columns, for browsing and for the planner. */
  catalog: SourceCatalog
  views(schema: string, table: string): ViewDefinition | undefined
  /** Tables of the catalog whose rows are the platform's own files (materialized results): attached, not inlined. */
  localTables?(schema: string, table: string): LocalTable | undefined
  /** Whose policies apply to its tables, when they are another project's (see CatalogHandle). */
  policyOwner?: PolicyOwner
}

/**
 * A module built after this one that adds catalogs to projects (saved queries by name, semantic
 * catalogs). Every call is for a caller already checked for the project.
 */
export interface CatalogContributor {
  list(checked: TenantContext, projectId: string): Promise<ContributedCatalogEntry[]>
  /** The named catalogs (lower-cased names) in full; names that are none of its catalogs are left out. */
  resolve(checked: TenantContext, projectId: string, names: readonly string[]): Promise<ContributedCatalog[]>
}

/**
 * Browsing catalogs → schemas → tables → columns. Source metadata is read once and kept in the
 * metadata store, so browsing costs no round trip to the source until someone refreshes it.
 */
export class CatalogsService {
  readonly #contributors: CatalogContributor[] = []

  constructor(
    private readonly projects: ProjectsService,
    private readonly connections: ConnectionsService,
    private readonly internal: InternalCatalogSource,
  ) {}

  /** Adds a module's catalogs to every listing, browse and query (at composition, once per module). */
  contribute(contributor: CatalogContributor): void {
    this.#contributors.push(contributor)
  }

  async list(ctx: RequestContext, projectId: string): Promise<Catalog[]> {
    const checked = await this.projects.require(ctx, projectId, 'read')
    const [rows, contributed] = await Promise.all([
      this.connections.listCatalogConnections(checked, projectId),
      this.#contributed(checked, projectId),
    ])
    return [
      { name: INTERNAL_CATALOG, type: 'internal', connection_id: null, read_only: false },
      ...rows.map((row) => ({ name: row.catalog, type: row.type, connection_id: row.id, read_only: false })),
      ...contributed.map((entry) => ({
        name: entry.name,
        type: entry.type,
        connection_id: null,
        read_only: true,
        ...(entry.ownerProjectId === undefined ? {} : { owner_project_id: entry.ownerProjectId }),
      })),
    ]
  }

  /** The names a query of a checked caller may use: read only to word an error. */
  async names(checked: TenantContext, projectId: string): Promise<string[]> {
    const [rows, contributed] = await Promise.all([
      this.connections.listCatalogConnections(checked, projectId),
      this.#contributed(checked, projectId),
    ])
    return [INTERNAL_CATALOG, ...rows.map((row) => row.catalog), ...contributed.map((entry) => entry.name)]
  }

  /**
   * Whether `name` is a catalog of the project already, of any kind (internal, a connection's, a
   * contributed one, a shared one): for modules that create catalogs, which must not take a name in use.
   */
  async isTaken(checked: TenantContext, projectId: string, name: string): Promise<boolean> {
    return (await this.names(checked, projectId)).includes(name.toLowerCase())
  }

  async #contributed(checked: TenantContext, projectId: string): Promise<ContributedCatalogEntry[]> {
    const lists = await Promise.all(this.#contributors.map((contributor) => contributor.list(checked, projectId)))
    return lists.flat()
  }

  async #resolveContributed(
    checked: TenantContext,
    projectId: string,
    names: readonly string[],
  ): Promise<ContributedCatalog[]> {
    if (this.#contributors.length === 0 || names.length === 0) return []
    const lists = await Promise.all(
      this.#contributors.map((contributor) => contributor.resolve(checked, projectId, names)),
    )
    return lists.flat()
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
    const taken = new Set([INTERNAL_CATALOG, ...sources.map(({ opened }) => opened.row.catalog)])
    const rest = names.filter((name) => !taken.has(name))
    return { internal, sources, contributed: await this.#resolveContributed(checked, projectId, rest) }
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
    // Internal and contributed catalogs are always current: nothing to read again.
    const { catalog: source, refreshedAt } =
      found === 'internal'
        ? { catalog: (await this.internal.internalCatalog(checked, projectId)).catalog, refreshedAt: new Date() }
        : 'catalog' in found
          ? { catalog: found.catalog, refreshedAt: new Date() }
          : await this.connections.refreshCatalog(found.opened)
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
    if (found === 'internal') {
      return { catalog: (await this.internal.internalCatalog(checked, projectId)).catalog, refreshedAt: null }
    }
    if ('catalog' in found) return { catalog: found.catalog, refreshedAt: null }
    return found.stored ?? this.connections.refreshCatalog(found.opened)
  }

  /** 'internal' for the internal catalog; 404 for a name that is no catalog of the project. */
  async #find(checked: TenantContext, projectId: string, catalog: string) {
    const [found] = await this.connections.openCatalogs(checked, projectId, [catalog])
    if (found) return found
    if (catalog === INTERNAL_CATALOG) return 'internal' as const
    const [contributed] = await this.#resolveContributed(checked, projectId, [catalog.toLowerCase()])
    if (contributed) return contributed
    throw errors.notFound('catalog', catalog)
  }
}
