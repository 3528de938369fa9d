import type { Role, Scope } from '@tributary/contract'

/** Who is calling. Every service takes one; repositories filter by its organization. */
export type Principal =
  | { kind: 'platform'; keyId: string }
  | { kind: 'organization'; keyId: string; organizationId: string; scopes: readonly Scope[] }
  | { kind: 'project'; keyId: string; organizationId: string; projectId: string; scopes: readonly Scope[] }
  | { kind: 'user'; userId: string; organizationId: string; role: Role }

export type TenantPrincipal = Exclude<Principal, { kind: 'platform' }>

/** The caller plus what the audit log needs to say who did what, under which request. */
export interface RequestContext {
  principal: Principal
  requestId: string
}

export interface TenantContext extends RequestContext {
  principal: TenantPrincipal
}

export function actorOf(principal: Principal): { actor_type: 'api_key' | 'user'; actor_id: string } {
  return principal.kind === 'user'
    ? { actor_type: 'user', actor_id: principal.userId }
    : { actor_type: 'api_key', actor_id: principal.keyId }
}
