import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { CategoricalScheduleRow, StoredMetadataColumn } from '../../metadata/schema.js'
import type { TableKey } from './metadata.repo.js'

export interface ColumnKey extends TableKey {
  column: string
}

export interface ScheduleValues {
  value_limit: number
  refresh: string | null
  last_run_at: Date | null
  created_by: { principal: unknown; request_id: string }
}

/** `categorical_schedules`: what each categorical column computes, and as whom (the scheduler says when). */
export class CategoricalRepo {
  constructor(private readonly db: MetadataDb) {}

  async upsertSchedule(
    organizationId: string,
    projectId: string,
    key: ColumnKey,
    values: ScheduleValues,
  ): Promise<CategoricalScheduleRow> {
    const stored = {
      value_limit: values.value_limit,
      refresh: values.refresh,
      last_run_at: values.last_run_at,
      last_error: null,
      created_by: JSON.stringify(values.created_by),
      updated_at: new Date(),
    }
    return this.db
      .insertInto('categorical_schedules')
      .values({
        id: newId(),
        organization_id: organizationId,
        project_id: projectId,
        catalog: key.catalog,
        schema_name: key.schema,
        table_name: key.table,
        column_name: key.column,
        ...stored,
      })
      .onConflict((conflict) =>
        conflict.columns(['project_id', 'catalog', 'schema_name', 'table_name', 'column_name']).doUpdateSet(stored),
      )
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** The id of the schedule it deleted, if there was one. */
  async deleteSchedule(organizationId: string, projectId: string, key: ColumnKey): Promise<string | undefined> {
    const deleted = await this.db
      .deleteFrom('categorical_schedules')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('catalog', '=', key.catalog)
      .where('schema_name', '=', key.schema)
      .where('table_name', '=', key.table)
      .where('column_name', '=', key.column)
      .returning('id')
      .executeTakeFirst()
    return deleted?.id
  }

  async findSchedule(organizationId: string, projectId: string, key: ColumnKey) {
    return this.db
      .selectFrom('categorical_schedules')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('catalog', '=', key.catalog)
      .where('schema_name', '=', key.schema)
      .where('table_name', '=', key.table)
      .where('column_name', '=', key.column)
      .executeTakeFirst()
  }

  async scheduleById(id: string): Promise<CategoricalScheduleRow | undefined> {
    return this.db.selectFrom('categorical_schedules').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async recordRun(id: string, ranAt: Date, error: Record<string, unknown> | null): Promise<void> {
    await this.db
      .updateTable('categorical_schedules')
      .set({ last_run_at: ranAt, last_error: error === null ? null : JSON.stringify(error) })
      .where('id', '=', id)
      .execute()
  }

  /** Replaces the stored columns of one table's metadata row (locked by the caller). */
  async setColumns(organizationId: string, projectId: string, id: string, columns: StoredMetadataColumn[]) {
    await this.db
      .updateTable('table_metadata')
      .set({ columns: JSON.stringify(columns), updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute()
  }
}
