import type { TenantContext } from '../../auth/principal.js'
import type { SourceCatalog } from '../../engine/connectors/connector.js'
import type { InternalCatalog, LocalTable } from '../../engine/local-tables.js'
import type { TableStore } from '../../internal-store/table-store.js'
import type { MetadataDb } from '../../metadata/database.js'
import { DatasetsRepo } from './datasets.repo.js'

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
    const { datasets, tables } = await new DatasetsRepo(this.db).catalog(checked.principal.organizationId, projectId)
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
