import type { CreateWorkspace, ListQuery, Page, UpdateWorkspace, Workspace } from '@tributary/contract'

import { requirePermission, requireTenant } from '../../auth/access.js'
import type { RequestContext, TenantPrincipal } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import { toWorkspace, WorkspacesRepo } from './workspaces.repo.js'

export const DEFAULT_WORKSPACE_NAME = 'Default'

export class WorkspacesService {
  constructor(
    private readonly db: MetadataDb,
    private readonly audit: AuditService,
  ) {}

  /** Every organization has one, made with it in the same transaction (`trx`). */
  async createDefault(trx: MetadataDb, ctx: RequestContext, organizationId: string): Promise<Workspace> {
    const row = await new WorkspacesRepo(trx).insert({
      organization_id: organizationId,
      name: DEFAULT_WORKSPACE_NAME,
      description: null,
      is_default: true,
    })
    await this.audit.record(trx, ctx, {
      action: 'workspace.create',
      resourceType: 'workspace',
      resourceId: row.id,
      organizationId,
      details: { name: row.name, is_default: true },
    })
    return toWorkspace(row)
  }

  /**
   * The id of the named live workspace, or of the organization's default one; a `422` naming
   * `workspace_id` when there is none. Read inside the caller's transaction (`trx`).
   */
  async resolveId(trx: MetadataDb, organizationId: string, workspaceId: string | undefined): Promise<string> {
    const workspaces = new WorkspacesRepo(trx)
    const workspace = workspaceId
      ? await workspaces.findActive(organizationId, workspaceId)
      : await workspaces.findDefault(organizationId)
    if (!workspace) {
      throw errors.validation(`workspace_id: workspace ${workspaceId ?? '(default)'} not found`, {
        issues: [{ location: 'body', field: 'workspace_id', message: 'workspace not found' }],
      })
    }
    return workspace.id
  }

  async create(ctx: RequestContext, input: CreateWorkspace): Promise<Workspace> {
    const { principal } = requirePermission(ctx, 'organization:admin')
    return transactionOrConflict(
      this.db,
      () => nameTaken(input.name),
      async (trx) => {
        const row = await new WorkspacesRepo(trx).insert({
          organization_id: principal.organizationId,
          name: input.name,
          description: input.description ?? null,
          is_default: false,
        })
        await this.audit.recordTenantWrite(trx, ctx, principal, 'workspace', {
          action: 'workspace.create',
          id: row.id,
          details: { name: row.name },
        })
        return toWorkspace(row)
      },
    )
  }

  async list(ctx: RequestContext, query: ListQuery): Promise<Page<Workspace>> {
    const { principal } = requireTenant(ctx)
    const rows = await new WorkspacesRepo(this.db).list(principal.organizationId, {
      after: decodeCursor(query.cursor),
      onlyId: await this.#projectKeyWorkspace(principal),
      limit: query.limit,
    })
    return toPage(rows, query.limit, toWorkspace)
  }

  async get(ctx: RequestContext, id: string): Promise<Workspace> {
    const { principal } = requireTenant(ctx)
    const onlyId = await this.#projectKeyWorkspace(principal)
    const row =
      onlyId === undefined || onlyId === id
        ? await new WorkspacesRepo(this.db).findActive(principal.organizationId, id)
        : undefined
    if (!row) throw errors.notFound('workspace', id)
    return toWorkspace(row)
  }

  async update(ctx: RequestContext, id: string, input: UpdateWorkspace): Promise<Workspace> {
    const { principal } = await this.#visibleForWrite(ctx, id)
    return transactionOrConflict(
      this.db,
      () => nameTaken(input.name),
      async (trx) => {
        const row = await new WorkspacesRepo(trx).update(principal.organizationId, id, input)
        if (!row) throw errors.notFound('workspace', id)
        await this.audit.recordTenantWrite(trx, ctx, principal, 'workspace', {
          action: 'workspace.update',
          id: id,
          details: { fields: Object.keys(input) },
        })
        return toWorkspace(row)
      },
    )
  }

  /** The default workspace stays, and a workspace with live projects cannot go. */
  async archive(ctx: RequestContext, id: string): Promise<void> {
    const { principal } = await this.#visibleForWrite(ctx, id)
    await this.db.transaction().execute(async (trx) => {
      const workspaces = new WorkspacesRepo(trx)
      const row = await workspaces.findActive(principal.organizationId, id)
      if (!row) throw errors.notFound('workspace', id)
      if (row.is_default) throw errors.conflict('the default workspace cannot be deleted')
      const projects = await workspaces.countProjects(principal.organizationId, id)
      if (projects > 0) {
        throw errors.conflict(`workspace still holds ${projects} project(s); move or delete them first`, {
          project_count: projects,
        })
      }
      await workspaces.archive(principal.organizationId, id)
      await this.audit.recordTenantWrite(trx, ctx, principal, 'workspace', { action: 'workspace.delete', id: id })
    })
  }

  /** A missing workspace is a 404 before a forbidden write is a 403, so ids reveal nothing. */
  async #visibleForWrite(ctx: RequestContext, id: string) {
    await this.get(ctx, id)
    return requirePermission(ctx, 'organization:admin')
  }

  /** A project key sees only the workspace that holds its project. */
  async #projectKeyWorkspace(principal: TenantPrincipal): Promise<string | undefined> {
    if (principal.kind !== 'project') return undefined
    const workspaceId = await new WorkspacesRepo(this.db).findIdOfProject(principal.organizationId, principal.projectId)
    if (!workspaceId) throw errors.notFound('project', principal.projectId)
    return workspaceId
  }
}

const nameTaken = (name: string | undefined) => errors.conflict(`a workspace named '${name}' already exists`)
