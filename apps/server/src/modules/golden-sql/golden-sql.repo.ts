import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import { archiveProjectRow } from '../../metadata/project-rows.js'
import type { GoldenSqlRow, SavedQueryParameter } from '../../metadata/schema.js'

export interface NewGoldenSql {
  organization_id: string
  project_id: string
  question: string
  sql: string
  description: string | null
  parameters: SavedQueryParameter[]
  tables: string[]
}

export interface GoldenSqlChanges {
  question?: string
  sql?: string
  description?: string | null
  parameters?: SavedQueryParameter[]
  tables?: string[]
}

export class GoldenSqlRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewGoldenSql): Promise<GoldenSqlRow> {
    return this.db
      .insertInto('golden_sql')
      .values({
        id: newId(),
        ...values,
        parameters: JSON.stringify(values.parameters),
        tables: JSON.stringify(values.tables),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(organizationId: string, projectId: string, id: string): Promise<GoldenSqlRow | undefined> {
    return this.#live(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  async list(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    let query = this.#live(organizationId, projectId).selectAll()
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  /** Every live pair of a project, for building its search index. */
  async all(organizationId: string, projectId: string): Promise<GoldenSqlRow[]> {
    return this.#live(organizationId, projectId).selectAll().orderBy('id').execute()
  }

  /**
   * Changes whenever a pair of the project is added, changed or archived (an archive sets
   * `updated_at` too): the search index of the project is rebuilt when this differs.
   */
  async version(organizationId: string, projectId: string): Promise<string> {
    const row = await this.db
      .selectFrom('golden_sql')
      .select([sql<string>`count(*)::text`.as('count'), sql<string | null>`max(updated_at)::text`.as('latest')])
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow()
    return `${row.count}@${row.latest ?? ''}`
  }

  async update(
    organizationId: string,
    projectId: string,
    id: string,
    changes: GoldenSqlChanges,
  ): Promise<GoldenSqlRow | undefined> {
    const { parameters, tables, ...rest } = changes
    return this.db
      .updateTable('golden_sql')
      .set({
        ...rest,
        ...(parameters ? { parameters: JSON.stringify(parameters) } : {}),
        ...(tables ? { tables: JSON.stringify(tables) } : {}),
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
    return archiveProjectRow(this.db, 'golden_sql', organizationId, projectId, id)
  }

  #live(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('golden_sql')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('archived_at', 'is', null)
  }
}
