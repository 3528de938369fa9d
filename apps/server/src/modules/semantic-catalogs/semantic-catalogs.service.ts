import type {
  CreateSemanticCatalog,
  PublishSemanticTable,
  SemanticCatalog,
  SemanticCatalogDetail,
  SemanticCatalogShare,
  SemanticTable,
} from '@tributary/contract'

import { requireProjectContentWrite } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { ViewDefinition } from '../../engine/catalog-handle.js'
import type { SourceCatalog } from '../../engine/connectors/connector.js'
import { errors } from '../../lib/errors.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { SemanticTableRow } from '../../metadata/schema.js'
import { toIso, transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type {
  CatalogContributor,
  CatalogsService,
  ContributedCatalog,
  ContributedCatalogEntry,
} from '../catalogs/catalogs.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SavedQueriesService } from '../saved-queries/saved-queries.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { SemanticCatalogsRepo, type VisibleCatalog } from './semantic-catalogs.repo.js'

const WRITE_SCOPE = 'metadata'

/**
 * Semantic catalogs: saved queries published as tables (`<catalog>.<schema>.<table>` in SQL, no data
 * copied: the engine inlines the query where the table is named, so filters still reach the
 * sources), shared read-only with other projects of the organization. A shared catalog's tables
 * read the owner project's catalogs (ViewDefinition.scope).
 */
export class SemanticCatalogsService implements CatalogContributor {
  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly catalogs: CatalogsService,
    private readonly sql: SqlService,
    private readonly savedQueries: SavedQueriesService,
    private readonly audit: AuditService,
  ) {}

  // -------------------------------------------------------------------------------------------
  // As a catalog contributor (CatalogsService)

  async list(checked: TenantContext, projectId: string): Promise<ContributedCatalogEntry[]> {
    const rows = await new SemanticCatalogsRepo(this.db).visible(checked.principal.organizationId, projectId)
    return rows.map((row) => ({
      name: row.name,
      type: 'semantic',
      ...(row.shared ? { ownerProjectId: row.project_id } : {}),
    }))
  }

  async resolve(checked: TenantContext, projectId: string, names: readonly string[]): Promise<ContributedCatalog[]> {
    const repo = new SemanticCatalogsRepo(this.db)
    const wanted = new Set(names.map((name) => name.toLowerCase()))
    const rows = (await repo.visible(checked.principal.organizationId, projectId)).filter((row) => wanted.has(row.name))
    if (rows.length === 0) return []
    const tables = await repo.tables(
      checked.principal.organizationId,
      rows.map((row) => row.id),
    )
    return Promise.all(rows.map((row) => this.#contributed(checked, row, tables)))
  }

  /** Whether the project has (or is shared) a semantic catalog of that name: connections may not take it. */
  async isTaken(checked: TenantContext, projectId: string, name: string): Promise<boolean> {
    return (await this.list(checked, projectId)).some((entry) => entry.name === name.toLowerCase())
  }

  /** Refuses to delete a saved query a semantic table reads (409). */
  async checkQueryUnused(checked: TenantContext, _projectId: string, queryId: string): Promise<void> {
    const using = await new SemanticCatalogsRepo(this.db).tablesOverQuery(checked.principal.organizationId, queryId)
    if (using.length > 0) {
      const names = using.map((table) => `${table.schema_name}.${table.table_name}`).join(', ')
      throw errors.conflict(
        `the query is published as semantic table${using.length > 1 ? 's' : ''} ${names}; unpublish ${using.length > 1 ? 'them' : 'it'} first`,
        { semantic_table_ids: using.map((table) => table.id) },
      )
    }
  }

  async #contributed(
    checked: TenantContext,
    row: VisibleCatalog,
    allTables: SemanticTableRow[],
  ): Promise<ContributedCatalog> {
    const tables = allTables.filter((table) => table.catalog_id === row.id)
    // The queries' current SQL, read in the owner project.
    const views = new Map<string, ViewDefinition>()
    await Promise.all(
      tables.map(async (table) => {
        let view: ViewDefinition
        try {
          const query = await this.savedQueries.view(checked, row.project_id, table.query_id)
          view =
            query.error === undefined
              ? { sql: query.sql, ...(row.shared ? { scope: row.project_id } : {}) }
              : { sql: '', error: query.error }
        } catch {
          view = { sql: '', error: 'its saved query is gone' }
        }
        views.set(key(table.schema_name, table.table_name), view)
      }),
    )
    const schemas = new Map<string, SourceCatalog['schemas'][number]>()
    for (const table of tables) {
      const schema = schemas.get(table.schema_name) ?? { name: table.schema_name, tables: [] }
      schemas.set(table.schema_name, schema)
      schema.tables.push({
        name: table.table_name,
        kind: 'view',
        columns: table.columns.map((column) => ({
          name: column.name,
          type: column.type,
          source_type: column.type,
          nullable: true,
          description: column.description,
          lineage: column.lineage,
        })),
      })
    }
    return {
      name: row.name,
      type: 'semantic',
      ...(row.shared ? { ownerProjectId: row.project_id } : {}),
      catalog: { schemas: [...schemas.values()] },
      views: (schema, table) => views.get(key(schema, table)),
    }
  }

  // -------------------------------------------------------------------------------------------
  // The API

  async create(ctx: RequestContext, projectId: string, input: CreateSemanticCatalog): Promise<SemanticCatalog> {
    const tenant = await this.projects.require(ctx, projectId, { write: WRITE_SCOPE })
    if (await this.catalogs.isTaken(tenant, projectId, input.name)) throw nameTaken(input.name)
    return transactionOrConflict(
      this.db,
      () => nameTaken(input.name),
      async (trx) => {
        const row = await new SemanticCatalogsRepo(trx).insertCatalog({
          organization_id: tenant.principal.organizationId,
          project_id: projectId,
          name: input.name,
          description: input.description ?? null,
        })
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'semantic_catalog', {
          action: 'semantic_catalog.create',
          id: row.id,
          details: { name: row.name, project_id: projectId },
        })
        return toCatalog({ ...row, shared: false }, [], [])
      },
    )
  }

  async listCatalogs(ctx: RequestContext, projectId: string): Promise<SemanticCatalog[]> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const repo = new SemanticCatalogsRepo(this.db)
    const rows = await repo.visible(tenant.principal.organizationId, projectId)
    const ids = rows.map((row) => row.id)
    const [tables, shares] = await Promise.all([repo.tables(tenant.principal.organizationId, ids), repo.shares(ids)])
    return rows.map((row) => toCatalog(row, tables, shares))
  }

  async get(ctx: RequestContext, projectId: string, name: string): Promise<SemanticCatalogDetail> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const row = await this.#find(tenant, projectId, name)
    const repo = new SemanticCatalogsRepo(this.db)
    const [tables, shares] = await Promise.all([
      repo.tables(tenant.principal.organizationId, [row.id]),
      repo.shares([row.id]),
    ])
    return { ...toCatalog(row, tables, shares), tables: tables.map((table) => toTable(row.name, table)) }
  }

  async remove(ctx: RequestContext, projectId: string, name: string): Promise<void> {
    const { tenant, row } = await this.#writable(ctx, projectId, name)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new SemanticCatalogsRepo(trx).deleteCatalog(tenant.principal.organizationId, row.id))) {
        throw errors.notFound('semantic catalog', name)
      }
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'semantic_catalog', {
        action: 'semantic_catalog.delete',
        id: row.id,
        details: { name: row.name, project_id: projectId },
      })
    })
  }

  async listTables(ctx: RequestContext, projectId: string, name: string): Promise<SemanticTable[]> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const row = await this.#find(tenant, projectId, name)
    const tables = await new SemanticCatalogsRepo(this.db).tables(tenant.principal.organizationId, [row.id])
    return tables.map((table) => toTable(row.name, table))
  }

  /**
   * Publishes a saved query as a table: its columns (names, types, lineage) are what the query
   * returns now, found by planning it, no data read. Parameters must all have values without a run.
   */
  async publish(
    ctx: RequestContext,
    projectId: string,
    name: string,
    input: PublishSemanticTable,
  ): Promise<SemanticTable> {
    const { tenant, row } = await this.#writable(ctx, projectId, name)
    const query = await this.savedQueries.view(tenant, projectId, input.query_id)
    if (query.error !== undefined) {
      throw bodyError('query_id', query.error)
    }
    const columns = await this.sql.describeLineage(ctx, projectId, query.sql)
    const taken = () => errors.conflict(`table ${row.name}.${input.schema}.${input.table} already exists`)
    return transactionOrConflict(this.db, taken, async (trx) => {
      const table = await new SemanticCatalogsRepo(trx).insertTable({
        organization_id: tenant.principal.organizationId,
        project_id: projectId,
        catalog_id: row.id,
        schema_name: input.schema,
        table_name: input.table,
        query_id: input.query_id,
        description: input.description ?? query.description,
        columns: columns.map((column) => ({
          name: column.name,
          type: column.type,
          description: null,
          lineage: column.lineage ? [column.lineage] : [],
        })),
      })
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'semantic_catalog', {
        action: 'semantic_catalog.publish',
        id: row.id,
        details: { table_id: table.id, schema: input.schema, table: input.table, query_id: input.query_id },
      })
      return toTable(row.name, table)
    })
  }

  async unpublish(ctx: RequestContext, projectId: string, name: string, tableId: string): Promise<void> {
    const { tenant, row } = await this.#writable(ctx, projectId, name)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new SemanticCatalogsRepo(trx).deleteTable(tenant.principal.organizationId, row.id, tableId))) {
        throw errors.notFound('semantic table', tableId)
      }
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'semantic_catalog', {
        action: 'semantic_catalog.unpublish',
        id: row.id,
        details: { table_id: tableId },
      })
    })
  }

  /** Read access for another project of the organization; the caller must see that project too. */
  async share(ctx: RequestContext, projectId: string, name: string, target: string): Promise<SemanticCatalogShare> {
    const { tenant, row } = await this.#writable(ctx, projectId, name)
    if (tenant.principal.kind === 'project') {
      throw errors.authorization(
        'a project key reaches only its own project: share as a user or with an organization key',
      )
    }
    // Another organization's project, or one the caller cannot see, is not found.
    const targetTenant = await this.projects.require(ctx, target, 'read')
    if (target === projectId) {
      throw bodyError('project_id', 'is the project that owns the catalog: it reads it already')
    }
    const shares = await new SemanticCatalogsRepo(this.db).shares([row.id])
    if (!shares.some((share) => share.project_id === target)) {
      if (await this.catalogs.isTaken(targetTenant, target, row.name)) {
        throw errors.conflict(`project ${target} already has a catalog named '${row.name}'`)
      }
    }
    return this.db.transaction().execute(async (trx) => {
      const inserted = await new SemanticCatalogsRepo(trx).insertShare({
        catalog_id: row.id,
        organization_id: tenant.principal.organizationId,
        project_id: target,
      })
      if (inserted) {
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'semantic_catalog', {
          action: 'semantic_catalog.share',
          id: row.id,
          details: { project_id: target },
        })
      }
      const createdAt = inserted?.created_at ?? new Date()
      return { catalog: row.name, project_id: target, created_at: toIso(createdAt) }
    })
  }

  async unshare(ctx: RequestContext, projectId: string, name: string, target: string): Promise<void> {
    const { tenant, row } = await this.#writable(ctx, projectId, name)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new SemanticCatalogsRepo(trx).deleteShare(tenant.principal.organizationId, row.id, target))) {
        throw errors.notFound('share with project', target)
      }
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'semantic_catalog', {
        action: 'semantic_catalog.unshare',
        id: row.id,
        details: { project_id: target },
      })
    })
  }

  /** A catalog the project owns, for a caller allowed to change it: 404, then 403. */
  async #writable(ctx: RequestContext, projectId: string, name: string) {
    const checked = await this.projects.require(ctx, projectId, 'read')
    const row = await this.#find(checked, projectId, name)
    const tenant = requireProjectContentWrite(ctx, projectId, WRITE_SCOPE)
    if (row.shared) {
      throw errors.authorization(`semantic catalog '${row.name}' is shared by another project: change it there`)
    }
    return { tenant, row }
  }

  async #find(checked: TenantContext, projectId: string, name: string): Promise<VisibleCatalog> {
    const row = await new SemanticCatalogsRepo(this.db).findVisible(checked.principal.organizationId, projectId, name)
    if (!row) throw errors.notFound('semantic catalog', name)
    return row
  }
}

const key = (schema: string, table: string) => JSON.stringify([schema.toLowerCase(), table.toLowerCase()])

/** A 422 about one field of the body, in the shape request validation failures have. */
const bodyError = (field: string, message: string) =>
  errors.validation(`${field}: ${message}`, { issues: [{ location: 'body', field, message }] })

const nameTaken = (name: string) =>
  errors.conflict(`catalog '${name}' is already used in this project; choose another name`)

function toCatalog(
  row: VisibleCatalog,
  tables: SemanticTableRow[],
  shares: { catalog_id: string; project_id: string }[],
): SemanticCatalog {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    project_id: row.project_id,
    read_only: row.shared,
    // Who else reads it is the owner's business.
    shared_with: row.shared ? [] : shares.filter((share) => share.catalog_id === row.id).map((s) => s.project_id),
    table_count: tables.filter((table) => table.catalog_id === row.id).length,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

function toTable(catalog: string, row: SemanticTableRow): SemanticTable {
  return {
    id: row.id,
    catalog,
    schema: row.schema_name,
    table: row.table_name,
    query_id: row.query_id,
    description: row.description,
    columns: row.columns,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
