import type { CreateProject, ListQuery, Page, Project, UpdateProject } from '@tributary/contract'

import { assertProjectVisible, requirePermission, requireProjectWrite, requireTenant } from '../../auth/access.js'
import type { AccessCache } from '../../auth/authenticator.js'
import type { RequestContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { transactionOrConflict } from '../../metadata/store-errors.js'
import { AuditRepo } from '../audit/audit.repo.js'
import { WorkspacesRepo } from '../workspaces/workspaces.repo.js'
import { ProjectsRepo, toProject } from './projects.repo.js'

export interface ProjectListQuery extends ListQuery {
  workspace_id?: string | undefined
}

export class ProjectsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly access: AccessCache,
  ) {}

  async create(ctx: RequestContext, input: CreateProject): Promise<Project> {
    const { principal } = requirePermission(ctx, 'projects:write')
    return transactionOrConflict(
      this.db,
      () => nameTaken(input.name),
      async (trx) => {
        const workspace = await this.#workspace(trx, principal.organizationId, input.workspace_id)
        const row = await new ProjectsRepo(trx).insert({
          organization_id: principal.organizationId,
          workspace_id: workspace,
          name: input.name,
          description: input.description ?? null,
        })
        await new AuditRepo(trx).recordTenantWrite(ctx, principal, 'project', {
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
    if (!row) throw errors.notFound('project', id)
    return toProject(row)
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
        if (input.workspace_id !== undefined) await this.#workspace(trx, principal.organizationId, input.workspace_id)
        const row = await new ProjectsRepo(trx).update(principal.organizationId, id, input)
        if (!row) throw errors.notFound('project', id)
        await new AuditRepo(trx).recordTenantWrite(ctx, principal, 'project', {
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
      await new AuditRepo(trx).recordTenantWrite(ctx, principal, 'project', { action: 'project.delete', id: id })
    })
    this.access.forget((p) => p.kind === 'project' && p.projectId === id)
  }

  /** The named workspace, or the organization's default one. */
  async #workspace(trx: MetadataDb, organizationId: string, workspaceId: string | undefined): Promise<string> {
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
}

const nameTaken = (name: string | undefined) =>
  errors.conflict(`a project named '${name}' already exists in this workspace`)
