import type { CreateDataset, Dataset, ListQuery, Page, UpdateDataset } from '@tributary/contract'

import { requireProjectContentWrite } from '../../auth/access.js'
import type { RequestContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso, transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { datasetErrors } from './datasets.errors.js'
import { DatasetsRepo, findDatasetOr404, type DatasetWithCount } from './datasets.repo.js'
import { DATASETS_WRITE_SCOPE, type TablesService } from './tables.service.js'

/** Datasets: the schemas of a project's `internal` catalog. Their tables are `TablesService`'s. */
export class DatasetsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly tables: TablesService,
    private readonly audit: AuditService,
  ) {}

  async createDataset(ctx: RequestContext, projectId: string, input: CreateDataset): Promise<Dataset> {
    const tenant = await this.projects.require(ctx, projectId, { write: DATASETS_WRITE_SCOPE })
    return transactionOrConflict(
      this.db,
      () => datasetErrors.datasetNameTaken(input.name),
      async (trx) => {
        const row = await new DatasetsRepo(trx).insertDataset({
          organization_id: tenant.principal.organizationId,
          project_id: projectId,
          name: input.name,
          description: input.description ?? null,
        })
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dataset', {
          action: 'dataset.create',
          id: row.id,
          details: { name: row.name, project_id: projectId },
        })
        return toDataset({ ...row, table_count: 0 })
      },
    )
  }

  async listDatasets(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<Dataset>> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const rows = await new DatasetsRepo(this.db).listDatasets(
      tenant.principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, toDataset)
  }

  async getDataset(ctx: RequestContext, projectId: string, id: string): Promise<Dataset> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    return toDataset(await findDatasetOr404(this.db, tenant, projectId, id))
  }

  async updateDataset(ctx: RequestContext, projectId: string, id: string, input: UpdateDataset): Promise<Dataset> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const current = await findDatasetOr404(this.db, tenant, projectId, id)
    requireProjectContentWrite(ctx, projectId, DATASETS_WRITE_SCOPE)
    return transactionOrConflict(
      this.db,
      () => datasetErrors.datasetNameTaken(input.name ?? current.name),
      async (trx) => {
        const row = await new DatasetsRepo(trx).updateDataset(tenant.principal.organizationId, projectId, id, input)
        if (!row) throw errors.notFound('dataset', id)
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dataset', {
          action: 'dataset.update',
          id,
          details: { fields: Object.keys(input) },
        })
        return toDataset({ ...row, table_count: current.table_count })
      },
    )
  }

  /** Archives the dataset with its tables; their files go after the grace period. */
  async archiveDataset(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    await findDatasetOr404(this.db, tenant, projectId, id)
    requireProjectContentWrite(ctx, projectId, DATASETS_WRITE_SCOPE)
    const tables = await this.db.transaction().execute(async (trx) => {
      const archived = await new DatasetsRepo(trx).archiveDataset(tenant.principal.organizationId, projectId, id)
      if (!archived) throw errors.notFound('dataset', id)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dataset', {
        action: 'dataset.delete',
        id,
        details: { tables: archived.length },
      })
      return archived
    })
    for (const tableId of tables) this.tables.retireFiles({ projectId, tableId })
  }
}

function toDataset(row: DatasetWithCount): Dataset {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    name: row.name,
    description: row.description,
    table_count: Number(row.table_count),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
