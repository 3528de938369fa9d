import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { SavedQueryParameter, SavedQueryRow, StoredSchedule } from '../../metadata/schema.js'
import { archiveProjectRow } from '../../metadata/project-rows.js'

export interface NewSavedQuery {
  organization_id: string
  project_id: string
  display_name: string
  description: string | null
  sql: string
  sql_schema: string | null
  parameters: SavedQueryParameter[]
  query_type: 'STANDARD' | 'MATERIALIZED'
  schedule: StoredSchedule | null
}

export interface SavedQueryChanges {
  display_name?: string
  description?: string | null
  sql?: string
  sql_schema?: string | null
  parameters?: SavedQueryParameter[]
  query_type?: 'STANDARD' | 'MATERIALIZED'
  schedule?: StoredSchedule | null
}

export class SavedQueriesRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewSavedQuery): Promise<SavedQueryRow> {
    return this.db
      .insertInto('saved_queries')
      .values({
        id: newId(),
        ...values,
        parameters: JSON.stringify(values.parameters),
        schedule: values.schedule ? JSON.stringify(values.schedule) : null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(organizationId: string, projectId: string, id: string): Promise<SavedQueryRow | undefined> {
    return this.#live(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** Every live query of a project, oldest first: the `queries` catalog. */
  async listAll(organizationId: string, projectId: string): Promise<SavedQueryRow[]> {
    return this.#live(organizationId, projectId).selectAll().orderBy('created_at').orderBy('id').execute()
  }

  async list(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    let query = this.#live(organizationId, projectId).selectAll()
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async update(
    organizationId: string,
    projectId: string,
    id: string,
    changes: SavedQueryChanges,
  ): Promise<SavedQueryRow | undefined> {
    const { parameters, schedule, ...rest } = changes
    return this.db
      .updateTable('saved_queries')
      .set({
        ...rest,
        ...(parameters ? { parameters: JSON.stringify(parameters) } : {}),
        ...(schedule === undefined ? {} : { schedule: schedule ? JSON.stringify(schedule) : null }),
        updated_at: new Date(),
      })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  archive(organizationId: string, projectId: string, id: string): Promise<boolean> {
    return archiveProjectRow(this.db, 'saved_queries', organizationId, projectId, id)
  }

  #live(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('saved_queries')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('archived_at', 'is', null)
  }
}
