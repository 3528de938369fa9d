import { sql } from 'kysely'

import type { TenantContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { DatasetRow, DatasetTableRow, StoredColumn, StoredSegment } from '../../metadata/schema.js'
import { archiveProjectRow } from '../../metadata/project-rows.js'

/** A dataset row with how many live tables it has. */
export type DatasetWithCount = DatasetRow & { table_count: number }

/** What a table is after a version switch. */
export interface TableVersion {
  columns: readonly StoredColumn[]
  segments: readonly StoredSegment[]
}

export class DatasetsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insertDataset(values: {
    organization_id: string
    project_id: string
    name: string
    description: string | null
  }): Promise<DatasetRow> {
    return this.db
      .insertInto('datasets')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findDataset(organizationId: string, projectId: string, id: string): Promise<DatasetWithCount | undefined> {
    return this.#datasetsWithCount(organizationId, projectId).where('d.id', '=', id).executeTakeFirst()
  }

  async listDatasets(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    let query = this.#datasetsWithCount(organizationId, projectId)
    if (after) query = query.where('d.id', '>', after)
    return query
      .orderBy('d.id')
      .limit(limit + 1)
      .execute()
  }

  async updateDataset(
    organizationId: string,
    projectId: string,
    id: string,
    changes: { name?: string; description?: string | null },
  ): Promise<DatasetRow | undefined> {
    return this.db
      .updateTable('datasets')
      .set({ ...changes, updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  /** Archives the dataset and its tables; returns the ids of the tables archived. */
  async archiveDataset(organizationId: string, projectId: string, id: string): Promise<string[] | undefined> {
    const now = new Date()
    const archived = await this.db
      .updateTable('datasets')
      .set({ archived_at: now, updated_at: now })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
    if (archived.numUpdatedRows === 0n) return undefined
    const tables = await this.db
      .updateTable('dataset_tables')
      .set({ archived_at: now, updated_at: now })
      .where('dataset_id', '=', id)
      .where('archived_at', 'is', null)
      .returning('id')
      .execute()
    return tables.map((table) => table.id)
  }

  async insertTable(values: {
    organization_id: string
    project_id: string
    dataset_id: string
    name: string
    description: string | null
    columns: StoredColumn[]
  }): Promise<DatasetTableRow> {
    return this.db
      .insertInto('dataset_tables')
      .values({ id: newId(), ...values, columns: JSON.stringify(values.columns) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findTable(
    organizationId: string,
    projectId: string,
    datasetId: string,
    id: string,
  ): Promise<DatasetTableRow | undefined> {
    return this.#tables(organizationId, projectId)
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('id', '=', id)
      .executeTakeFirst()
  }

  /** For the import runner: the table by id alone, archived or not. */
  async findTableById(id: string): Promise<DatasetTableRow | undefined> {
    return this.db.selectFrom('dataset_tables').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async listTables(
    organizationId: string,
    projectId: string,
    datasetId: string,
    after: string | undefined,
    limit: number,
  ): Promise<DatasetTableRow[]> {
    let query = this.#tables(organizationId, projectId).selectAll().where('dataset_id', '=', datasetId)
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  /** Every live dataset and table of a project, for the `internal` catalog. */
  async catalog(
    organizationId: string,
    projectId: string,
  ): Promise<{ datasets: DatasetRow[]; tables: DatasetTableRow[] }> {
    const datasets = await this.db
      .selectFrom('datasets')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('archived_at', 'is', null)
      .orderBy('name')
      .execute()
    const tables = await this.#tables(organizationId, projectId).selectAll().orderBy('name').execute()
    return { datasets, tables }
  }

  async updateTable(
    organizationId: string,
    projectId: string,
    id: string,
    changes: { name?: string; description?: string | null },
  ): Promise<DatasetTableRow | undefined> {
    return this.db
      .updateTable('dataset_tables')
      .set({ ...changes, updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  /**
   * The atomic switch to a new version: succeeds only if the table is still at `expectedVersion`
   * (nobody else switched it meanwhile) and not archived.
   */
  async switchVersion(id: string, expectedVersion: number, next: TableVersion): Promise<DatasetTableRow | undefined> {
    const rows = next.segments.reduce((sum, segment) => sum + segment.rows, 0)
    const bytes = next.segments.reduce((sum, segment) => sum + segment.bytes, 0)
    return this.db
      .updateTable('dataset_tables')
      .set({
        columns: JSON.stringify(next.columns),
        segments: JSON.stringify(next.segments),
        version: sql`version + 1`,
        row_count: rows,
        size_bytes: bytes,
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .where('version', '=', expectedVersion)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  archiveTable(organizationId: string, projectId: string, id: string): Promise<boolean> {
    return archiveProjectRow(this.db, 'dataset_tables', organizationId, projectId, id)
  }

  #datasetsWithCount(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('datasets as d')
      .selectAll('d')
      .select((eb) =>
        eb
          .selectFrom('dataset_tables as t')
          .select(sql<number>`count(*)::int`.as('n'))
          .whereRef('t.dataset_id', '=', 'd.id')
          .where('t.archived_at', 'is', null)
          .as('table_count'),
      )
      .where('d.organization_id', '=', organizationId)
      .where('d.project_id', '=', projectId)
      .where('d.archived_at', 'is', null)
      .$narrowType<{ table_count: number }>()
  }

  #tables(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('dataset_tables')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('archived_at', 'is', null)
  }
}

/** A live dataset of the caller's project, or a 404: the lookup both services of this module start from. */
export async function findDatasetOr404(
  db: MetadataDb,
  tenant: TenantContext,
  projectId: string,
  id: string,
): Promise<DatasetWithCount> {
  const row = await new DatasetsRepo(db).findDataset(tenant.principal.organizationId, projectId, id)
  if (!row) throw errors.notFound('dataset', id)
  return row
}
