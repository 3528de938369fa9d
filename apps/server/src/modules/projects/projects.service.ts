import type { CreateProject, ListQuery, Page, Project, Scope, UpdateProject } from '@tributary/contract'

import {
  actAsGuest,
  assertProjectVisible,
  requirePermission,
  requireProjectContentWrite,
  requireProjectRead,
  requireProjectUse,
  requireProjectWrite,
  requireTenant,
} from '../../auth/access.js'
import type { AccessCache } from '../../auth/authenticator.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { WorkspacesService } from '../workspaces/workspaces.service.js'
import { ProjectsRepo, toProject } from './projects.repo.js'

/**
 * What a caller needs to do inside a project:
 * - `read`: see its contents (any member; a project key only its own project);
 * - `{ use: scope }`: use a feature (run SQL, ask): members by role, keys with the scope;
 * - `{ write: scope }`: change contents of a feature area: editors and admins, keys with the scope.
 */
export type ProjectNeed = 'read' | { use: Scope } | { write: Scope }

/**
 * Whether an organization may read a project of another one (an approved share, issue 15): the
 * organization that owns the project, or undefined. Registered at composition by the approvals module.
 */
export type GuestAccess = (callerOrganizationId: string, projectId: string) => Promise<string | undefined>

export interface ProjectListQuery extends ListQuery {
  workspace_id?: string | undefined
}

export class ProjectsService {
  readonly #guestAccess: GuestAccess[] = []

  constructor(
    private readonly db: MetadataDb,
    private readonly access: AccessCache,
    private readonly workspaces: WorkspacesService,
    private readonly audit: AuditService,
  ) {}

  /**
   * The one access check for everything inside a project. A project the caller cannot see, or
   * that is gone, is a `404` before a missing permission is a `403`, so ids reveal nothing.
   */
  async require(ctx: RequestContext, projectId: string, need: ProjectNeed): Promise<TenantContext> {
    const tenant = requireProjectRead(ctx, projectId)
    if (!(await new ProjectsRepo(this.db).findActive(tenant.principal.organizationId, projectId))) {
      const guest = need === 'read' || ('use' in need && need.use === 'query')
      if (guest) {
        const owner = await this.#sharedOwner(tenant, projectId)
        if (owner !== undefined) {
          // The caller's own rights still count: a key needs the `query` scope to query.
          if (need !== 'read') requireProjectUse(ctx, projectId, 'query')
          return actAsGuest(tenant, owner, projectId)
        }
      }
      throw errors.notFound('project', projectId)
    }
    if (need === 'read') return tenant
    return 'use' in need
      ? requireProjectUse(ctx, projectId, need.use)
      : requireProjectContentWrite(ctx, projectId, need.write)
  }

  /**
   * Lets members of other organizations read and query a project their organization was granted
   * (`ProjectsService.require` with `read` or `{use: 'query'}` only; every write check refuses them).
   */
  useGuestAccess(check: GuestAccess): void {
    this.#guestAccess.push(check)
  }

  /** The organization that shares a live project with the caller's, if one does. */
  async #sharedOwner(tenant: TenantContext, projectId: string): Promise<string | undefined> {
    const { principal } = tenant
    if (principal.kind === 'project') return undefined
    for (const check of this.#guestAccess) {
      const owner = await check(principal.organizationId, projectId)
      if (owner !== undefined && (await new ProjectsRepo(this.db).findActive(owner, projectId))) return owner
    }
    return undefined
  }

  async create(ctx: RequestContext, input: CreateProject): Promise<Project> {
    const { principal } = requirePermission(ctx, 'projects:write')
    return transactionOrConflict(
      this.db,
      () => nameTaken(input.name),
      async (trx) => {
        const workspace = await this.workspaces.resolveId(trx, principal.organizationId, input.workspace_id)
        const row = await new ProjectsRepo(trx).insert({
          organization_id: principal.organizationId,
          workspace_id: workspace,
          name: input.name,
          description: input.description ?? null,
        })
        await this.audit.recordTenantWrite(trx, ctx, principal, 'project', {
          action: 'project.create',
          id: row.id,
          details: { name: row.name, workspace_id: workspace },
        })
        return toProject(row)
      },
    )
  }

  async list(ctx: RequestContext, query: ProjectListQuery): Promise<Page<Project>> {
    const { principal } = requireTenant(ctx)
    const rows = await new ProjectsRepo(this.db).list(principal.organizationId, {
      after: decodeCursor(query.cursor),
      workspaceId: query.workspace_id,
      onlyId: principal.kind === 'project' ? principal.projectId : undefined,
      limit: query.limit,
    })
    return toPage(rows, query.limit, toProject)
  }

  async get(ctx: RequestContext, id: string): Promise<Project> {
    const { principal } = requireTenant(ctx)
    assertProjectVisible(principal, id)
    const row = await new ProjectsRepo(this.db).findActive(principal.organizationId, id)
    if (row) return toProject(row)
    // A project shared with the caller's organization reads as its own; changing it does not pass.
    const guest = await this.require(ctx, id, 'read')
    const shared = await new ProjectsRepo(this.db).findActive(guest.principal.organizationId, id)
    if (!shared) throw errors.notFound('project', id)
    return toProject(shared)
  }

  async update(ctx: RequestContext, id: string, input: UpdateProject): Promise<Project> {
    const current = await this.get(ctx, id)
    const { principal } = requireProjectWrite(ctx, id)
    if (input.workspace_id !== undefined && principal.kind === 'project') {
      throw errors.authorization('a project key cannot move its project to another workspace')
    }
    return transactionOrConflict(
      this.db,
      () => nameTaken(input.name ?? current.name),
      async (trx) => {
        if (input.workspace_id !== undefined) {
          await this.workspaces.resolveId(trx, principal.organizationId, input.workspace_id)
        }
        const row = await new ProjectsRepo(trx).update(principal.organizationId, id, input)
        if (!row) throw errors.notFound('project', id)
        await this.audit.recordTenantWrite(trx, ctx, principal, 'project', {
          action: 'project.update',
          id: id,
          details: { fields: Object.keys(input) },
        })
        return toProject(row)
      },
    )
  }

  /** Soft delete; the project's keys stop working at once. */
  async archive(ctx: RequestContext, id: string): Promise<void> {
    await this.get(ctx, id)
    const { principal } = requirePermission(ctx, 'projects:write')
    await this.db.transaction().execute(async (trx) => {
      if (!(await new ProjectsRepo(trx).archive(principal.organizationId, id))) throw errors.notFound('project', id)
      await this.audit.recordTenantWrite(trx, ctx, principal, 'project', { action: 'project.delete', id: id })
    })
    this.access.forget((p) => p.kind === 'project' && p.projectId === id)
  }
}

const nameTaken = (name: string | undefined) =>
  errors.conflict(`a project named '${name}' already exists in this workspace`)
