import type { Project } from '@tributary/contract'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import { prepareQuery } from '../../metadata/prepared.js'
import type { ProjectRow } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'

const PROJECT_COLUMNS = [
  'id',
  'organization_id',
  'workspace_id',
  'name',
  'description',
  'created_at',
  'updated_at',
  'archived_at',
] as const

/** Every authenticated read of a project starts here: compiled once, and a named statement on PostgreSQL. */
const findActiveProject = prepareQuery('project_find_active', (db, organizationId: string, id: string) =>
  db
    .selectFrom('projects')
    .select(PROJECT_COLUMNS)
    .where('organization_id', '=', organizationId)
    .where('archived_at', 'is', null)
    .where('id', '=', id),
)

export interface ProjectListOptions {
  after?: string | undefined
  workspaceId?: string | undefined
  onlyId?: string | undefined
  limit: number
}

export class ProjectsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: {
    organization_id: string
    workspace_id: string
    name: string
    description: string | null
  }): Promise<ProjectRow> {
    return this.db
      .insertInto('projects')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(organizationId: string, id: string): Promise<ProjectRow | undefined> {
    return findActiveProject.executeTakeFirst(this.db, organizationId, id)
  }

  async list(organizationId: string, options: ProjectListOptions): Promise<ProjectRow[]> {
    let query = this.#live(organizationId).selectAll()
    if (options.workspaceId) query = query.where('workspace_id', '=', options.workspaceId)
    if (options.onlyId) query = query.where('id', '=', options.onlyId)
    if (options.after) query = query.where('id', '>', options.after)
    return query
      .orderBy('id')
      .limit(options.limit + 1)
      .execute()
  }

  async update(
    organizationId: string,
    id: string,
    changes: { name?: string | undefined; description?: string | null | undefined; workspace_id?: string | undefined },
  ): Promise<ProjectRow | undefined> {
    return this.db
      .updateTable('projects')
      .set({ ...changes, updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  async archive(organizationId: string, id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('projects')
      .set({ archived_at: new Date(), updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  #live(organizationId: string) {
    return this.db.selectFrom('projects').where('organization_id', '=', organizationId).where('archived_at', 'is', null)
  }
}

export function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    organization_id: row.organization_id,
    workspace_id: row.workspace_id,
    name: row.name,
    description: row.description,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
