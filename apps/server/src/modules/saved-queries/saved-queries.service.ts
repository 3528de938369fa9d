import type { CreateSavedQuery, ListQuery, Page, SavedQuery, UpdateSavedQuery } from '@tributary/contract'

import { requireProjectContentWrite } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { QueryParameter } from '../../engine/sql-text.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { SavedQueryRow } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { checkDefinitions, toBindable } from './parameters.js'
import { parameterErrors, type ParameterIssue } from './saved-queries.errors.js'
import { savedQueryView, type SavedQueryView } from './query-views.js'
import { SavedQueriesRepo } from './saved-queries.repo.js'

/** A saved query made ready to run: its SQL and a typed value for every parameter it uses. */
export interface ResolvedRun {
  sql: string
  parameters: Record<string, QueryParameter>
  queryId: string
}

/** Saved queries with `{{name}}` parameters (issue 4): stored, checked, and resolved for a run. */
/** Run before a saved query is deleted: throws (409) when something built on it must keep it. */
export type ArchiveCheck = (checked: TenantContext, projectId: string, queryId: string) => Promise<void>

export class SavedQueriesService {
  readonly #archiveChecks: ArchiveCheck[] = []

  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
  ) {}

  async create(ctx: RequestContext, projectId: string, input: CreateSavedQuery): Promise<SavedQuery> {
    const tenant = await this.projects.require(ctx, projectId, { write: 'query' })
    const parameters = checkDefinitions(input.sql, input.parameters)
    return this.db.transaction().execute(async (trx) => {
      const row = await new SavedQueriesRepo(trx).insert({
        organization_id: tenant.principal.organizationId,
        project_id: projectId,
        display_name: input.display_name,
        description: input.description ?? null,
        sql: input.sql,
        sql_schema: input.schema ?? null,
        parameters,
      })
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'saved_query', {
        action: 'saved_query.create',
        id: row.id,
        details: { display_name: row.display_name, project_id: projectId },
      })
      return toSavedQuery(row)
    })
  }

  async list(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<SavedQuery>> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const rows = await new SavedQueriesRepo(this.db).list(
      tenant.principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, toSavedQuery)
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<SavedQuery> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    return toSavedQuery(await this.#find(tenant, projectId, id))
  }

  /** SQL and parameters are checked together, as they will be after the change. */
  async update(ctx: RequestContext, projectId: string, id: string, input: UpdateSavedQuery): Promise<SavedQuery> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const current = await this.#find(tenant, projectId, id)
    requireProjectContentWrite(ctx, projectId, 'query')
    const parameters =
      input.sql !== undefined || input.parameters !== undefined
        ? checkDefinitions(input.sql ?? current.sql, input.parameters ?? current.parameters)
        : undefined
    return this.db.transaction().execute(async (trx) => {
      const row = await new SavedQueriesRepo(trx).update(tenant.principal.organizationId, projectId, id, {
        ...(input.display_name === undefined ? {} : { display_name: input.display_name }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.sql === undefined ? {} : { sql: input.sql }),
        ...(input.schema === undefined ? {} : { sql_schema: input.schema }),
        ...(parameters === undefined ? {} : { parameters }),
      })
      if (!row) throw errors.notFound('query', id)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'saved_query', {
        action: 'saved_query.update',
        id,
        details: { fields: Object.keys(input) },
      })
      return toSavedQuery(row)
    })
  }

  /** For modules built later that depend on saved queries (semantic tables). */
  beforeArchive(check: ArchiveCheck): void {
    this.#archiveChecks.push(check)
  }

  async archive(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    await this.#find(tenant, projectId, id)
    requireProjectContentWrite(ctx, projectId, 'query')
    for (const check of this.#archiveChecks) await check(tenant, projectId, id)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new SavedQueriesRepo(trx).archive(tenant.principal.organizationId, projectId, id))) {
        throw errors.notFound('query', id)
      }
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'saved_query', {
        action: 'saved_query.delete',
        id,
      })
    })
  }

  /** Every live saved query of a project as a view of the `queries` catalog, oldest first. */
  async views(checked: TenantContext, projectId: string): Promise<SavedQueryView[]> {
    const rows = await new SavedQueriesRepo(this.db).listAll(checked.principal.organizationId, projectId)
    return rows.map(savedQueryView)
  }

  /** One saved query as a view (semantic tables); 404 when the project has no such live query. */
  async view(checked: TenantContext, projectId: string, id: string): Promise<SavedQueryView> {
    return savedQueryView(await this.#find(checked, projectId, id))
  }

  /**
   * Checks the values given for a run against the saved query's parameters and fills defaults.
   * A missing required, unknown or wrongly typed value is a 422 naming `parameters.<name>`.
   */
  async resolveRun(
    ctx: RequestContext,
    projectId: string,
    queryId: string,
    given: Readonly<Record<string, unknown>>,
  ): Promise<ResolvedRun> {
    const tenant = await this.projects.require(ctx, projectId, { use: 'query' })
    const row = await this.#find(tenant, projectId, queryId)
    const declared = new Map(row.parameters.map((parameter) => [parameter.name, parameter]))
    const issues: ParameterIssue[] = []
    for (const name of Object.keys(given)) {
      if (!declared.has(name)) {
        const known = [...declared.keys()]
        issues.push({
          field: `parameters.${name}`,
          message: `is not a parameter of this query (${known.length ? `its parameters: ${known.join(', ')}` : 'it has none'})`,
        })
      }
    }
    const parameters: Record<string, QueryParameter> = {}
    for (const parameter of row.parameters) {
      const field = `parameters.${parameter.name}`
      const value = Object.hasOwn(given, parameter.name) ? given[parameter.name] : (parameter.default ?? null)
      if (value === null || value === undefined) {
        if (parameter.required) issues.push({ field, message: `is required (${parameter.type})` })
        else parameters[parameter.name] = { type: parameter.type, value: null }
        continue
      }
      const bound = toBindable(parameter.type, value)
      if (bound.ok) parameters[parameter.name] = { type: parameter.type, value: bound.value }
      else issues.push({ field, message: bound.message })
    }
    if (issues.length) throw parameterErrors('body', issues)
    return { sql: row.sql, parameters, queryId: row.id }
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<SavedQueryRow> {
    const row = await new SavedQueriesRepo(this.db).findActive(tenant.principal.organizationId, projectId, id)
    if (!row) throw errors.notFound('query', id)
    return row
  }
}

function toSavedQuery(row: SavedQueryRow): SavedQuery {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    display_name: row.display_name,
    description: row.description,
    sql: row.sql,
    schema: row.sql_schema ?? 'main',
    parameters: row.parameters,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
