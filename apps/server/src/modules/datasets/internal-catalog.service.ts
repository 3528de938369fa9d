import type { TenantContext } from '../../auth/principal.js'
import type { SourceCatalog, SourceSchema } from '../../engine/connectors/connector.js'
import type { InternalCatalog, LocalTable } from '../../engine/local-tables.js'
import type { TableStore } from '../../internal-store/table-store.js'
import type { MetadataDb } from '../../metadata/database.js'
import { DatasetsRepo } from './datasets.repo.js'

export interface SharedDatasetOwner {
  organizationId: string
  projectId: string
  name: string
}

/** A dataset read from another project (of another organization): its schema and its tables' files. */
export interface SharedDataset extends SharedDatasetOwner {
  schema: SourceSchema
  localTables: (table: string) => LocalTable | undefined
}

/** A project's datasets as the engine and catalog browsing see them: the `internal` catalog. */
export class InternalCatalogService {
  constructor(
    private readonly db: MetadataDb,
    private readonly store: TableStore,
  ) {}

  /**
   * The project's `internal` catalog: its datasets as schemas, their tables with columns and
   * files. For a caller already checked for the project (`ProjectsService.require`).
   */
  async internalCatalog(checked: TenantContext, projectId: string): Promise<InternalCatalog> {
    return this.#catalog(checked.principal.organizationId, projectId)
  }

  /**
   * Who owns a live dataset, found by its id alone, with no caller check: for the approvals module,
   * which shares a dataset with another organization's project only once that organization approved.
   */
  async datasetOwner(datasetId: string): Promise<SharedDatasetOwner | undefined> {
    const row = await this.db
      .selectFrom('datasets')
      .innerJoin('projects', 'projects.id', 'datasets.project_id')
      .select(['datasets.organization_id', 'datasets.project_id', 'datasets.name'])
      .where('datasets.id', '=', datasetId)
      .where('datasets.archived_at', 'is', null)
      .where('projects.archived_at', 'is', null)
      .executeTakeFirst()
    return row && { organizationId: row.organization_id, projectId: row.project_id, name: row.name }
  }

  /**
   * One live dataset as a schema of the `internal` catalog of its own project, with its tables' files;
   * undefined once it is gone. No caller check: only for a share the approvals module has verified.
   */
  async sharedDataset(datasetId: string): Promise<SharedDataset | undefined> {
    const owner = await this.datasetOwner(datasetId)
    if (!owner) return undefined
    const internal = await this.#catalog(owner.organizationId, owner.projectId)
    const schema = internal.catalog.schemas.find((candidate) => candidate.name === owner.name)
    if (!schema) return undefined
    return { ...owner, schema, localTables: (table) => internal.localTables(owner.name, table) }
  }

  async #catalog(organizationId: string, projectId: string): Promise<InternalCatalog> {
    const { datasets, tables } = await new DatasetsRepo(this.db).catalog(organizationId, projectId)
    const local = new Map<string, LocalTable>()
    const catalog: SourceCatalog = {
      schemas: datasets.map((dataset) => ({
        name: dataset.name,
        tables: tables
          .filter((table) => table.dataset_id === dataset.id)
          .map((table) => {
            local.set(JSON.stringify([dataset.name, table.name]), {
              segments: this.store.segmentPaths({ projectId, tableId: table.id }, table.segments),
              rows: Number(table.row_count),
            })
            return {
              name: table.name,
              kind: 'table' as const,
              columns: table.columns.map((column) => ({
                name: column.name,
                type: column.type,
                nullable: column.nullable,
                source_type: column.type,
              })),
            }
          }),
      })),
    }
    return { catalog, localTables: (schema, table) => local.get(JSON.stringify([schema, table])) }
  }
}
