import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { ConnectionRow } from '../../metadata/schema.js'
import { archiveProjectRow } from '../../metadata/project-rows.js'

export interface NewConnection {
  organization_id: string
  project_id: string
  name: string
  type: string
  catalog: string
  config: Record<string, unknown>
  secrets: string | null
}

export class ConnectionsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewConnection): Promise<ConnectionRow> {
    return this.db
      .insertInto('connections')
      .values({ id: newId(), ...values, config: JSON.stringify(values.config) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(organizationId: string, projectId: string, id: string): Promise<ConnectionRow | undefined> {
    return this.#live(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** The connections behind the named catalogs, each with what was last read of its source (one query). */
  async findByCatalogs(
    organizationId: string,
    projectId: string,
    catalogs: readonly string[],
  ): Promise<(ConnectionRow & { snapshot: unknown; refreshed_at: Date | null })[]> {
    if (catalogs.length === 0) return []
    return this.db
      .selectFrom('connections')
      .leftJoin('source_catalogs', 'source_catalogs.connection_id', 'connections.id')
      .selectAll('connections')
      .select(['source_catalogs.snapshot', 'source_catalogs.refreshed_at'])
      .where('connections.organization_id', '=', organizationId)
      .where('connections.project_id', '=', projectId)
      .where('connections.archived_at', 'is', null)
      .where('connections.catalog', 'in', catalogs)
      .execute()
  }

  async list(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    let query = this.#live(organizationId, projectId).selectAll()
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async listAll(organizationId: string, projectId: string): Promise<ConnectionRow[]> {
    return this.#live(organizationId, projectId).selectAll().orderBy('catalog').execute()
  }

  async update(
    organizationId: string,
    projectId: string,
    id: string,
    changes: { name?: string; catalog?: string; config?: Record<string, unknown>; secrets?: string | null },
  ): Promise<ConnectionRow | undefined> {
    const { config, ...rest } = changes
    return this.db
      .updateTable('connections')
      .set({ ...rest, ...(config ? { config: JSON.stringify(config) } : {}), updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  archive(organizationId: string, projectId: string, id: string): Promise<boolean> {
    return archiveProjectRow(this.db, 'connections', organizationId, projectId, id)
  }

  async writeSnapshot(connectionId: string, snapshot: unknown): Promise<Date> {
    const row = await this.db
      .insertInto('source_catalogs')
      .values({ connection_id: connectionId, snapshot: JSON.stringify(snapshot) })
      .onConflict((conflict) =>
        conflict.column('connection_id').doUpdateSet({ snapshot: JSON.stringify(snapshot), refreshed_at: new Date() }),
      )
      .returning('refreshed_at')
      .executeTakeFirstOrThrow()
    return row.refreshed_at
  }

  async deleteSnapshot(connectionId: string): Promise<void> {
    await this.db.deleteFrom('source_catalogs').where('connection_id', '=', connectionId).execute()
  }

  #live(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('connections')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('archived_at', 'is', null)
  }
}
