import { hash } from 'node:crypto'

import type { Scope } from '@tributary/contract'

import { errors } from '../lib/errors.js'
import { API_KEY_PREFIX } from '../lib/secrets.js'
import type { Principal } from './principal.js'
import type { SessionTokens } from './session-tokens.js'

export interface ActiveApiKey {
  id: string
  kind: 'platform' | 'organization' | 'project'
  organizationId: string | null
  projectId: string | null
  scopes: string[]
  expiresAt: Date | null
}

export interface ActiveUser {
  id: string
  organizationId: string
  role: 'admin' | 'editor' | 'viewer'
  /** Sessions issued before this (a password change) are void. */
  sessionsValidAfter: Date | null
}

/** What the authenticator needs from the store: only live keys and users of live tenants. */
export interface CredentialStore {
  findActiveKeyByHash(secretHash: string): Promise<ActiveApiKey | undefined>
  findActiveUser(userId: string, organizationId: string): Promise<ActiveUser | undefined>
  touchKey(keyId: string): Promise<void>
}

interface CacheEntry {
  principal: Principal
  /** When the cache must look again; never later than the key's own expiry. */
  validUntil: number
}

const MAX_CACHE_ENTRIES = 10_000

/** What a write that takes access away needs: a way to drop cached principals at once. */
export interface AccessCache {
  forget(matches: (principal: Principal) => boolean): void
}

/**
 * Turns a bearer token into a principal. Lookups are cached for a short time so that an
 * authenticated read costs no store round trip; revoking a key, archiving a tenant or changing a
 * role evicts the affected entries at once (`forget`).
 */
export class Authenticator implements AccessCache {
  readonly #cache = new Map<string, CacheEntry>()

  constructor(
    private readonly store: CredentialStore,
    private readonly sessions: SessionTokens,
    private readonly cacheTtlMs: number,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const token = parseBearer(authorization)
    // The key's stored hash (`sha256()` in lib/secrets), computed one-shot: no Hash object per request.
    const cacheKey = hash('sha256', token, 'hex')
    const now = Date.now()
    const cached = this.#cache.get(cacheKey)
    if (cached && cached.validUntil > now) return cached.principal
    if (cached) this.#cache.delete(cacheKey)

    const resolved = token.startsWith(API_KEY_PREFIX)
      ? await this.#resolveKey(cacheKey, now)
      : await this.#resolveSession(token, now)
    if (!resolved) throw errors.authentication()
    this.#remember(cacheKey, resolved)
    return resolved.principal
  }

  /** Evicts every cached principal the predicate matches; called by every write that revokes access. */
  forget(matches: (principal: Principal) => boolean): void {
    for (const [key, entry] of this.#cache) if (matches(entry.principal)) this.#cache.delete(key)
  }

  async #resolveKey(secretHash: string, now: number): Promise<CacheEntry | undefined> {
    const key = await this.store.findActiveKeyByHash(secretHash)
    if (!key) return undefined
    const expiresAt = key.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY
    if (expiresAt <= now) return undefined
    void this.store.touchKey(key.id).catch(() => undefined)
    return { principal: principalOfKey(key), validUntil: Math.min(now + this.cacheTtlMs, expiresAt) }
  }

  async #resolveSession(token: string, now: number): Promise<CacheEntry | undefined> {
    const claims = await this.sessions.verify(token)
    if (!claims) return undefined
    const user = await this.store.findActiveUser(claims.userId, claims.organizationId)
    if (!user) return undefined
    if (user.sessionsValidAfter && claims.issuedAt.getTime() < user.sessionsValidAfter.getTime()) return undefined
    return {
      principal: { kind: 'user', userId: user.id, organizationId: user.organizationId, role: user.role },
      validUntil: Math.min(now + this.cacheTtlMs, claims.expiresAt.getTime()),
    }
  }

  #remember(cacheKey: string, entry: CacheEntry): void {
    if (this.cacheTtlMs === 0) return
    if (this.#cache.size >= MAX_CACHE_ENTRIES) {
      const oldest = this.#cache.keys().next()
      if (!oldest.done) this.#cache.delete(oldest.value)
    }
    this.#cache.set(cacheKey, entry)
  }
}

function parseBearer(authorization: string | undefined): string {
  if (!authorization) throw errors.authentication('missing Authorization header; send "Authorization: Bearer <key>"')
  const match = /^Bearer +([\x21-\x7e]{1,2048})$/i.exec(authorization.trim())
  if (!match?.[1]) throw errors.authentication('Authorization header must be "Bearer <key or session token>"')
  return match[1]
}

function principalOfKey(key: ActiveApiKey): Principal {
  const scopes = key.scopes as Scope[]
  switch (key.kind) {
    case 'platform':
      return { kind: 'platform', keyId: key.id }
    case 'organization':
      return { kind: 'organization', keyId: key.id, organizationId: key.organizationId!, scopes }
    case 'project':
      return {
        kind: 'project',
        keyId: key.id,
        organizationId: key.organizationId!,
        projectId: key.projectId!,
        scopes,
      }
  }
}
