import type { Workspace } from '@tributary/contract'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { WorkspaceRow } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'

export class WorkspacesRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: {
    organization_id: string
    name: string
    description: string | null
    is_default: boolean
  }): Promise<WorkspaceRow> {
    return this.db
      .insertInto('workspaces')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(organizationId: string, id: string): Promise<WorkspaceRow | undefined> {
    return this.#live(organizationId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  async findDefault(organizationId: string): Promise<WorkspaceRow | undefined> {
    return this.#live(organizationId).selectAll().where('is_default', '=', true).executeTakeFirst()
  }

  /** Live projects held by a workspace: one that holds any cannot be deleted. */
  async countProjects(organizationId: string, id: string): Promise<number> {
    const row = await this.db
      .selectFrom('projects')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('organization_id', '=', organizationId)
      .where('workspace_id', '=', id)
      .where('archived_at', 'is', null)
      .executeTakeFirstOrThrow()
    return Number(row.count)
  }

  /** The workspace holding a live project, for a project key that may see only that one. */
  async findIdOfProject(organizationId: string, projectId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('projects')
      .select('workspace_id')
      .where('organization_id', '=', organizationId)
      .where('id', '=', projectId)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
    return row?.workspace_id
  }

  async list(
    organizationId: string,
    options: { after?: string | undefined; onlyId?: string | undefined; limit: number },
  ): Promise<WorkspaceRow[]> {
    let query = this.#live(organizationId).selectAll()
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
    changes: { name?: string | undefined; description?: string | null | undefined },
  ): Promise<WorkspaceRow | undefined> {
    return this.db
      .updateTable('workspaces')
      .set({ ...changes, updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  async archive(organizationId: string, id: string): Promise<void> {
    await this.db
      .updateTable('workspaces')
      .set({ archived_at: new Date(), updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .execute()
  }

  #live(organizationId: string) {
    return this.db
      .selectFrom('workspaces')
      .where('organization_id', '=', organizationId)
      .where('archived_at', 'is', null)
  }
}

export function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    organization_id: row.organization_id,
    name: row.name,
    description: row.description,
    is_default: row.is_default,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
