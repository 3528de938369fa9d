import type { Role, User } from '@tributary/contract'

import type { ActiveUser } from '../../auth/authenticator.js'
import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { UserRow } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'

export interface NewUser {
  organization_id: string
  email: string
  name: string | null
  role: Role
  password_hash: string | null
  status: 'invited' | 'active'
  invite_token_hash: string | null
  invite_expires_at: Date | null
}

export class UsersRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewUser): Promise<UserRow> {
    return this.db
      .insertInto('users')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(organizationId: string, id: string): Promise<UserRow | undefined> {
    return this.#live(organizationId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** An active user of a live organization: what a session token may act as. */
  async findSessionUser(organizationId: string, id: string): Promise<ActiveUser | undefined> {
    const row = await this.db
      .selectFrom('users as u')
      .innerJoin('organizations as o', 'o.id', 'u.organization_id')
      .select(['u.id', 'u.organization_id', 'u.role', 'u.sessions_valid_after'])
      .where('u.id', '=', id)
      .where('u.organization_id', '=', organizationId)
      .where('u.status', '=', 'active')
      .where('u.archived_at', 'is', null)
      .where('o.archived_at', 'is', null)
      .executeTakeFirst()
    return (
      row && {
        id: row.id,
        organizationId: row.organization_id,
        role: row.role,
        sessionsValidAfter: row.sessions_valid_after,
      }
    )
  }

  /** For login: the live account with this e-mail in a live organization. */
  async findLoginCandidate(email: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users as u')
      .innerJoin('organizations as o', 'o.id', 'u.organization_id')
      .selectAll('u')
      .where('u.email', '=', email)
      .where('u.archived_at', 'is', null)
      .where('o.archived_at', 'is', null)
      .executeTakeFirst()
  }

  async findByInviteToken(tokenHash: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users as u')
      .innerJoin('organizations as o', 'o.id', 'u.organization_id')
      .selectAll('u')
      .where('u.invite_token_hash', '=', tokenHash)
      .where('u.status', '=', 'invited')
      .where('u.archived_at', 'is', null)
      .where('o.archived_at', 'is', null)
      .executeTakeFirst()
  }

  async list(organizationId: string, after: string | undefined, limit: number): Promise<UserRow[]> {
    let query = this.#live(organizationId).selectAll()
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  /** Serialises role changes and deletions within one organization for the rest of the transaction. */
  async lockOrganization(organizationId: string): Promise<void> {
    await this.db.selectFrom('organizations').select('id').where('id', '=', organizationId).forUpdate().execute()
  }

  async countActiveAdmins(organizationId: string): Promise<number> {
    const row = await this.#live(organizationId)
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('role', '=', 'admin')
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow()
    return Number(row.count)
  }

  async update(
    organizationId: string,
    id: string,
    changes: Partial<
      Pick<NewUser, 'name' | 'role' | 'password_hash' | 'status' | 'invite_token_hash' | 'invite_expires_at'> & {
        sessions_valid_after: Date
        /** JSON text of the custom attributes. */
        attributes: string
      }
    >,
  ): Promise<UserRow | undefined> {
    return this.db
      .updateTable('users')
      .set({ ...changes, updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  async archive(organizationId: string, id: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ archived_at: new Date(), updated_at: new Date(), invite_token_hash: null })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .execute()
  }

  /** Every user of an organization that is going away, so that their e-mails are free again. */
  async archiveAll(organizationId: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ archived_at: new Date(), updated_at: new Date(), invite_token_hash: null })
      .where('organization_id', '=', organizationId)
      .where('archived_at', 'is', null)
      .execute()
  }

  #live(organizationId: string) {
    return this.db.selectFrom('users').where('organization_id', '=', organizationId).where('archived_at', 'is', null)
  }
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    organization_id: row.organization_id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    attributes: row.attributes ?? {},
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
