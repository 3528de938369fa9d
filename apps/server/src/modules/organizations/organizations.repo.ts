import type { Organization } from '@tributary/contract'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { OrganizationRow } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'

export class OrganizationsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: { name: string; description: string | null }): Promise<OrganizationRow> {
    return this.db
      .insertInto('organizations')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(id: string): Promise<OrganizationRow | undefined> {
    return this.db
      .selectFrom('organizations')
      .selectAll()
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
  }

  async list(after: string | undefined, limit: number): Promise<OrganizationRow[]> {
    let query = this.db.selectFrom('organizations').selectAll().where('archived_at', 'is', null)
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async update(
    id: string,
    changes: { name?: string | undefined; description?: string | null | undefined },
  ): Promise<OrganizationRow | undefined> {
    return this.db
      .updateTable('organizations')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  async archive(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('organizations')
      .set({ archived_at: new Date(), updated_at: new Date() })
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }
}

export function toOrganization(row: OrganizationRow): Organization {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
