import type { Scope } from '@tributary/contract'

import { errors } from '../lib/errors.js'
import type { Principal, RequestContext, TenantContext, TenantPrincipal } from './principal.js'

/**
 * The role matrix in one place. Organization keys act as organization admins; project keys act
 * inside their one project; users act by role. Keys additionally need the `admin` scope (or `*`)
 * for administrative writes.
 */
export type Permission =
  /** read the organization's workspaces, projects and users */
  | 'organization:read'
  /** create, change and delete projects and their keys */
  | 'projects:write'
  /** workspaces, users, roles, organization keys */
  | 'organization:admin'
  /** the audit log */
  | 'audit:read'

const ROLE_PERMISSIONS: Record<'admin' | 'editor' | 'viewer', readonly Permission[]> = {
  admin: ['organization:read', 'projects:write', 'organization:admin', 'audit:read'],
  editor: ['organization:read', 'projects:write'],
  viewer: ['organization:read'],
}

export function hasPermission(principal: TenantPrincipal, permission: Permission): boolean {
  switch (principal.kind) {
    case 'user':
      return ROLE_PERMISSIONS[principal.role].includes(permission)
    case 'organization':
      return permission === 'organization:read' || hasScope(principal.scopes, 'admin')
    case 'project':
      // A project key never acts on the organization; what it may do inside its project is
      // decided by the project-scoped checks below.
      return false
  }
}

function hasScope(scopes: readonly string[], scope: string): boolean {
  return scopes.includes('*') || scopes.includes(scope)
}

/**
 * Requests acting in another organization's project through an approved share (issue 15), by the
 * projects they act in: both the caller's own context and the one `actAsGuest` returns are marked,
 * so that every write check refuses them whichever of the two a service passes on.
 */
const GUEST_PROJECTS = new WeakMap<RequestContext, Set<string>>()

function markGuest(ctx: RequestContext, projectId: string): void {
  const projects = GUEST_PROJECTS.get(ctx) ?? new Set<string>()
  projects.add(projectId)
  GUEST_PROJECTS.set(ctx, projects)
}

/** A guest reads and queries; anything else inside the project is as if it did not exist. */
function refuseGuest(ctx: RequestContext, projectId: string): void {
  if (GUEST_PROJECTS.get(ctx)?.has(projectId)) throw errors.notFound('project', projectId)
}

/**
 * The context a caller acts in inside a project another organization shared with theirs: a viewer
 * of that organization (a key keeps only the `query` scope), marked so that no write check passes.
 * For `ProjectsService.require`, once the share is verified.
 */
export function actAsGuest(ctx: TenantContext, organizationId: string, projectId: string): TenantContext {
  const { principal } = ctx
  if (principal.kind === 'project') throw errors.notFound('project', projectId)
  const guest: TenantPrincipal =
    principal.kind === 'user'
      ? { kind: 'user', userId: principal.userId, organizationId, role: 'viewer' }
      : {
          kind: 'organization',
          keyId: principal.keyId,
          organizationId,
          scopes: mayUse(principal, 'query') ? ['query'] : [],
        }
  const acting: TenantContext = { requestId: ctx.requestId, principal: guest }
  markGuest(ctx, projectId)
  markGuest(acting, projectId)
  return acting
}

/** Narrows to a caller that belongs to an organization; the platform key does not. */
export function requireTenant(ctx: RequestContext): TenantContext {
  if (ctx.principal.kind === 'platform') {
    throw errors.authorization('the platform key manages organizations only; use an organization key or a user session')
  }
  return ctx as TenantContext
}

export function requirePermission(ctx: RequestContext, permission: Permission): TenantContext {
  const tenant = requireTenant(ctx)
  if (!hasPermission(tenant.principal, permission)) throw forbidden(tenant.principal, permission)
  if (permission !== 'organization:read' && GUEST_PROJECTS.has(ctx)) {
    throw errors.authorization('a request acting in a project shared with your organization may only read and query it')
  }
  return tenant
}

/**
 * Reading inside a project. A project key sees only its project: any other id is reported as
 * missing, exactly as if it belonged to another organization.
 */
export function assertProjectVisible(principal: TenantPrincipal, projectId: string): void {
  if (principal.kind === 'project' && principal.projectId !== projectId) throw errors.notFound('project', projectId)
}

/** Changing a project or its contents: editors and admins, organization keys, and the project's own key. */
export function requireProjectWrite(ctx: RequestContext, projectId: string): TenantContext {
  const tenant = requireTenant(ctx)
  const { principal } = tenant
  assertProjectVisible(principal, projectId)
  refuseGuest(ctx, projectId)
  if (principal.kind === 'project') {
    if (!hasScope(principal.scopes, 'admin')) throw errors.authorization("this project key lacks the 'admin' scope")
    return tenant
  }
  if (!hasPermission(principal, 'projects:write')) throw forbidden(principal, 'projects:write')
  return tenant
}

/** Reading a project's contents: any member of the organization; a project key only its own project. */
export function requireProjectRead(ctx: RequestContext, projectId: string): TenantContext {
  const tenant = requireTenant(ctx)
  assertProjectVisible(tenant.principal, projectId)
  return tenant
}

/** Using a feature of a project (running SQL, asking): every member by role; keys with the feature's scope. */
export function requireProjectUse(ctx: RequestContext, projectId: string, scope: Scope): TenantContext {
  const tenant = requireProjectRead(ctx, projectId)
  if (scope !== 'query') refuseGuest(ctx, projectId)
  if (!mayUse(tenant.principal, scope)) throw errors.authorization(`this key lacks the '${scope}' scope`)
  return tenant
}

/** Whether a caller may use a feature in the projects it sees, before any project is named (offering MCP tools). */
export function mayUse(principal: TenantPrincipal, scope: Scope): boolean {
  return principal.kind === 'user' || hasScope(principal.scopes, scope) || hasScope(principal.scopes, 'admin')
}

/** Whether a caller may change an area's contents in the projects it sees, before any project is named. */
export function mayWriteContent(principal: TenantPrincipal, scope: Scope): boolean {
  if (principal.kind === 'user') return hasPermission(principal, 'projects:write')
  return hasScope(principal.scopes, scope) || hasScope(principal.scopes, 'admin')
}

/**
 * Changing a project's contents in one feature area: editors and admins by role; keys when they
 * carry the area's scope, `admin` or `*`.
 */
export function requireProjectContentWrite(ctx: RequestContext, projectId: string, scope: Scope): TenantContext {
  const tenant = requireProjectRead(ctx, projectId)
  refuseGuest(ctx, projectId)
  const { principal } = tenant
  if (principal.kind === 'user') {
    if (!hasPermission(principal, 'projects:write')) throw forbidden(principal, 'projects:write')
  } else if (!hasScope(principal.scopes, scope) && !hasScope(principal.scopes, 'admin')) {
    throw errors.authorization(`this key lacks the '${scope}' scope`)
  }
  return tenant
}

export function requirePlatform(ctx: RequestContext): void {
  if (ctx.principal.kind !== 'platform') throw errors.authorization('only the platform key manages organizations')
}

function forbidden(principal: Principal, permission: Permission) {
  switch (principal.kind) {
    case 'user':
      return errors.authorization(`role '${principal.role}' may not do this (needs ${permission})`)
    case 'project':
      return errors.authorization('a project key acts only inside its project, not on the organization')
    case 'organization':
      return errors.authorization("this organization key lacks the 'admin' scope")
    case 'platform':
      return errors.authorization('the platform key manages organizations only')
  }
}
