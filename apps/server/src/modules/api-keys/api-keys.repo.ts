import type { ApiKey, ApiKeyKind } from '@tributary/contract'
import { sql } from 'kysely'

import type { ActiveApiKey } from '../../auth/authenticator.js'
import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { ApiKeyRow } from '../../metadata/schema.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'

export interface NewApiKey {
  kind: ApiKeyKind
  organization_id: string | null
  project_id: string | null
  name: string
  prefix: string
  secret_hash: string
  scopes: string[]
  expires_at: string | null
  /** JSON text of the custom attributes; none when left out. */
  attributes?: string
}

/** The keys one list or revoke may touch: a platform key, one organization's, or one project's. */
export type KeyOwner =
  | { kind: 'platform' }
  | { kind: 'organization'; organizationId: string }
  | { kind: 'project'; organizationId: string; projectId: string }

export class ApiKeysRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewApiKey): Promise<ApiKeyRow> {
    return this.db
      .insertInto('api_keys')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** A live key of a live tenant: unrevoked, its organization and project not archived. */
  async findActiveByHash(secretHash: string): Promise<ActiveApiKey | undefined> {
    const row = await this.db
      .selectFrom('api_keys as k')
      .leftJoin('organizations as o', 'o.id', 'k.organization_id')
      .leftJoin('projects as p', 'p.id', 'k.project_id')
      .select(['k.id', 'k.kind', 'k.organization_id', 'k.project_id', 'k.scopes', 'k.expires_at'])
      .where('k.secret_hash', '=', secretHash)
      .where('k.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('k.organization_id', 'is', null), eb('o.archived_at', 'is', null)]))
      .where((eb) => eb.or([eb('k.project_id', 'is', null), eb('p.archived_at', 'is', null)]))
      .executeTakeFirst()
    if (!row) return undefined
    return {
      id: row.id,
      kind: row.kind,
      organizationId: row.organization_id,
      projectId: row.project_id,
      scopes: row.scopes,
      expiresAt: row.expires_at,
    }
  }

  async touch(id: string): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ last_used_at: sql`now()` })
      .where('id', '=', id)
      .execute()
  }

  async countActivePlatformKeys(): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('kind', '=', 'platform')
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow()
    return Number(row.count)
  }

  async existsByHash(secretHash: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('api_keys')
      .select('id')
      .where('secret_hash', '=', secretHash)
      .executeTakeFirst()
    return row !== undefined
  }

  async list(owner: KeyOwner, after: string | undefined, limit: number): Promise<ApiKeyRow[]> {
    let query = this.#owned(owner).selectAll()
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async revoke(owner: KeyOwner, id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('id', 'in', this.#owned(owner).select('id').where('id', '=', id))
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  #owned(owner: KeyOwner) {
    const live = this.db.selectFrom('api_keys').where('revoked_at', 'is', null).where('kind', '=', owner.kind)
    switch (owner.kind) {
      case 'platform':
        return live
      case 'organization':
        return live.where('organization_id', '=', owner.organizationId)
      case 'project':
        return live.where('organization_id', '=', owner.organizationId).where('project_id', '=', owner.projectId)
    }
  }
}

export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes as ApiKey['scopes'],
    attributes: row.attributes ?? {},
    organization_id: row.organization_id,
    project_id: row.project_id,
    expires_at: toIsoOrNull(row.expires_at),
    last_used_at: toIsoOrNull(row.last_used_at),
    created_at: toIso(row.created_at),
  }
}
