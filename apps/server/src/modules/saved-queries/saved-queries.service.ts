import type { CreateSavedQuery, ListQuery, Page, SavedQuery, UpdateSavedQuery } from '@tributary/contract'

import { requireProjectContentWrite } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { QueryParameter } from '../../engine/sql-text.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { SavedQueryParameter, SavedQueryRow } from '../../metadata/schema.js'
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

/** Run before a saved query is deleted: throws (409) when something built on it must keep it. */
export type ArchiveCheck = (checked: TenantContext, projectId: string, queryId: string) => Promise<void>

/**
 * A saved query created, changed or deleted, told to modules built on saved queries (materialized
 * results) inside the transaction that writes it, so that what they keep changes with it or not at all.
 */
export interface SavedQueryWrite {
  trx: MetadataDb
  ctx: RequestContext
  tenant: TenantContext
  query: SavedQuery
  /** The query before the change; undefined when it was just created. */
  previous?: SavedQuery
  deleted?: boolean
}
export type SavedQueryWriteListener = (write: SavedQueryWrite) => Promise<void>

/** Saved queries with `{{name}}` parameters (issue 4): stored, checked, and resolved for a run. */
export class SavedQueriesService {
  readonly #archiveChecks: ArchiveCheck[] = []
  readonly #writeListeners: SavedQueryWriteListener[] = []

  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
  ) {}

  async create(ctx: RequestContext, projectId: string, input: CreateSavedQuery): Promise<SavedQuery> {
    const tenant = await this.projects.require(ctx, projectId, { write: 'query' })
    const parameters = checkDefinitions(input.sql, input.parameters)
    const materialized = input.query_type === 'MATERIALIZED'
    if (materialized) checkMaterializable(parameters)
    return this.db.transaction().execute(async (trx) => {
      const row = await new SavedQueriesRepo(trx).insert({
        organization_id: tenant.principal.organizationId,
        project_id: projectId,
        display_name: input.display_name,
        description: input.description ?? null,
        sql: input.sql,
        sql_schema: input.schema ?? null,
        parameters,
        query_type: input.query_type,
        schedule: materialized ? (input.schedule ?? { type: 'none' }) : null,
      })
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'saved_query', {
        action: 'saved_query.create',
        id: row.id,
        details: { display_name: row.display_name, project_id: projectId, query_type: row.query_type },
      })
      const query = toSavedQuery(row)
      for (const listener of this.#writeListeners) await listener({ trx, ctx, tenant, query })
      return query
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
    const queryType = input.query_type ?? current.query_type
    const materialized = queryType === 'MATERIALIZED'
    if (input.schedule && !materialized) {
      throw bodyIssue('schedule', 'only a MATERIALIZED query has a schedule (set query_type too)')
    }
    if (materialized) checkMaterializable(parameters ?? current.parameters)
    const schedule = materialized ? (input.schedule ?? current.schedule ?? { type: 'none' as const }) : null
    return this.db.transaction().execute(async (trx) => {
      const row = await new SavedQueriesRepo(trx).update(tenant.principal.organizationId, projectId, id, {
        ...(input.display_name === undefined ? {} : { display_name: input.display_name }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.sql === undefined ? {} : { sql: input.sql }),
        ...(input.schema === undefined ? {} : { sql_schema: input.schema }),
        ...(parameters === undefined ? {} : { parameters }),
        query_type: queryType,
        schedule,
      })
      if (!row) throw errors.notFound('query', id)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'saved_query', {
        action: 'saved_query.update',
        id,
        details: { fields: Object.keys(input) },
      })
      const query = toSavedQuery(row)
      const previous = toSavedQuery(current)
      for (const listener of this.#writeListeners) await listener({ trx, ctx, tenant, query, previous })
      return query
    })
  }

  /** For modules built later that depend on saved queries (semantic tables). */
  beforeArchive(check: ArchiveCheck): void {
    this.#archiveChecks.push(check)
  }

  /** For modules built later that keep something per saved query (materialized results). */
  onWrite(listener: SavedQueryWriteListener): void {
    this.#writeListeners.push(listener)
  }

  async archive(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const current = await this.#find(tenant, projectId, id)
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
      const query = toSavedQuery(current)
      for (const listener of this.#writeListeners) await listener({ trx, ctx, tenant, query, deleted: true })
    })
  }

  /** Every live saved query of a project, oldest first, for a caller already checked (materialized results). */
  async listAll(checked: TenantContext, projectId: string): Promise<SavedQuery[]> {
    const rows = await new SavedQueriesRepo(this.db).listAll(checked.principal.organizationId, projectId)
    return rows.map(toSavedQuery)
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

/** A stored result needs every parameter to have a value without a caller: a default, or NULL when optional. */
function checkMaterializable(parameters: readonly SavedQueryParameter[]): void {
  const unbound = parameters.filter((parameter) => parameter.required && parameter.default === undefined)
  if (unbound.length > 0) {
    throw bodyIssue(
      'query_type',
      `a MATERIALIZED query runs without a caller's values: give ${unbound.map((p) => p.name).join(', ')} a default`,
    )
  }
}

function bodyIssue(field: string, message: string) {
  return errors.validation(`${field}: ${message}`, { issues: [{ location: 'body', field, message }] })
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
    query_type: row.query_type,
    schedule: row.schedule,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
