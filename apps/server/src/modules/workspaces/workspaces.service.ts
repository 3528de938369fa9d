import type { CreateWorkspace, ListQuery, Page, UpdateWorkspace, Workspace } from '@tributary/contract'

import { requirePermission, requireTenant } from '../../auth/access.js'
import type { RequestContext, TenantPrincipal } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { transactionOrConflict } from '../../metadata/store-errors.js'
import { AuditRepo } from '../audit/audit.repo.js'
import { ProjectsRepo } from '../projects/projects.repo.js'
import { toWorkspace, WorkspacesRepo } from './workspaces.repo.js'

export class WorkspacesService {
  constructor(private readonly db: MetadataDb) {}

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
        await new AuditRepo(trx).recordTenantWrite(ctx, principal, 'workspace', {
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
        await new AuditRepo(trx).recordTenantWrite(ctx, principal, 'workspace', {
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
      const projects = await new ProjectsRepo(trx).countInWorkspace(principal.organizationId, id)
      if (projects > 0) {
        throw errors.conflict(`workspace still holds ${projects} project(s); move or delete them first`, {
          project_count: projects,
        })
      }
      await workspaces.archive(principal.organizationId, id)
      await new AuditRepo(trx).recordTenantWrite(ctx, principal, 'workspace', { action: 'workspace.delete', id: id })
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
    const project = await new ProjectsRepo(this.db).findActive(principal.organizationId, principal.projectId)
    if (!project) throw errors.notFound('project', principal.projectId)
    return project.workspace_id
  }
}

const nameTaken = (name: string | undefined) => errors.conflict(`a workspace named '${name}' already exists`)
