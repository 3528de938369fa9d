import type {
  CreateGoldenSql,
  GoldenSql,
  GoldenSqlSearchHit,
  GoldenSqlSearchQuery,
  ListQuery,
  Page,
  QueryParameterDefinition,
  UpdateGoldenSql,
} from '@tributary/contract'

import { requireProjectContentWrite } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import { createTextIndex, type TextField, type TextIndex, TextIndexCache } from '../../lib/text-search.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { GoldenSqlRow, SavedQueryParameter } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { checkDefinitions, planningValues } from '../saved-queries/parameters.js'
import type { SqlService } from '../sql/sql.service.js'
import { asInvalidSql } from './golden-sql.errors.js'
import { GoldenSqlRepo } from './golden-sql.repo.js'
import { tablesNamed } from './tables-named.js'

/** Writing golden SQL is curating the project's semantic layer: editors and admins, keys with `metadata`. */
const WRITE_SCOPE = 'metadata'

/** The question weighs most; the description and the tables the SQL names help a paraphrase find it. */
const SEARCH_FIELDS: TextField<GoldenSqlRow>[] = [
  { name: 'question', boost: 3, get: (row) => row.question },
  { name: 'description', boost: 1.5, get: (row) => row.description },
  { name: 'tables', boost: 1.5, get: (row) => row.tables },
]

/** Projects whose search index stays built, least recently searched out first. */
const INDEXED_PROJECTS = 200

/**
 * Golden SQL (issue 10): known-good question → SQL pairs of a project, checked by the planner when
 * saved, and found again for a new question by full-text search over their questions.
 */
export class GoldenSqlService {
  readonly #indexes = new TextIndexCache<GoldenSqlRow>(INDEXED_PROJECTS)

  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
    private readonly sql: SqlService,
  ) {}

  async create(ctx: RequestContext, projectId: string, input: CreateGoldenSql): Promise<GoldenSql> {
    const tenant = await this.projects.require(ctx, projectId, { write: WRITE_SCOPE })
    const parameters = await this.#check(ctx, projectId, input.sql, input.parameters)
    return this.db.transaction().execute(async (trx) => {
      const row = await new GoldenSqlRepo(trx).insert({
        organization_id: tenant.principal.organizationId,
        project_id: projectId,
        question: input.question,
        sql: input.sql,
        description: input.description ?? null,
        parameters,
        tables: tablesNamed(input.sql),
      })
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'golden_sql', {
        action: 'golden_sql.create',
        id: row.id,
        details: { project_id: projectId },
      })
      return toGoldenSql(row)
    })
  }

  async list(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<GoldenSql>> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const rows = await new GoldenSqlRepo(this.db).list(
      tenant.principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, toGoldenSql)
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<GoldenSql> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    return toGoldenSql(await this.#find(tenant, projectId, id))
  }

  /** Every live pair of a project, for a checked caller (questions are matched against all of them). */
  async all(tenant: TenantContext, projectId: string): Promise<GoldenSql[]> {
    const rows = await new GoldenSqlRepo(this.db).all(tenant.principal.organizationId, projectId)
    return rows.map(toGoldenSql)
  }

  /** Keeps what the body omits; SQL and parameters are checked together, as they will be after the change. */
  async update(ctx: RequestContext, projectId: string, id: string, input: UpdateGoldenSql): Promise<GoldenSql> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const current = await this.#find(tenant, projectId, id)
    requireProjectContentWrite(ctx, projectId, WRITE_SCOPE)
    const sql = input.sql ?? current.sql
    const parameters =
      input.sql !== undefined || input.parameters !== undefined
        ? await this.#check(ctx, projectId, sql, input.parameters ?? current.parameters)
        : undefined
    return this.db.transaction().execute(async (trx) => {
      const row = await new GoldenSqlRepo(trx).update(tenant.principal.organizationId, projectId, id, {
        ...(input.question === undefined ? {} : { question: input.question }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.sql === undefined ? {} : { sql: input.sql, tables: tablesNamed(input.sql) }),
        ...(parameters === undefined ? {} : { parameters }),
      })
      if (!row) throw errors.notFound('golden SQL', id)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'golden_sql', {
        action: 'golden_sql.update',
        id,
        details: { fields: Object.keys(input) },
      })
      return toGoldenSql(row)
    })
  }

  async archive(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    await this.#find(tenant, projectId, id)
    requireProjectContentWrite(ctx, projectId, WRITE_SCOPE)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new GoldenSqlRepo(trx).archive(tenant.principal.organizationId, projectId, id))) {
        throw errors.notFound('golden SQL', id)
      }
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'golden_sql', {
        action: 'golden_sql.delete',
        id,
      })
    })
  }

  /**
   * The pairs closest to a question. The project's index is built on first use and rebuilt when any
   * of its pairs changed (checked with one small query per search, so every server process agrees).
   */
  async search(ctx: RequestContext, projectId: string, query: GoldenSqlSearchQuery): Promise<GoldenSqlSearchHit[]> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const index = await this.#index(tenant.principal.organizationId, projectId)
    const hits = await index.search(query.q, { limit: query.limit })
    return hits.map((hit) => ({
      golden_sql: toGoldenSql(hit.doc),
      score: Math.round(hit.score * 10_000) / 10_000,
      coverage: Math.round(hit.coverage * 1_000) / 1_000,
      matches: hit.matches.map((match) => ({
        field: match.field as GoldenSqlSearchHit['matches'][number]['field'],
        matched: match.matched,
        query: match.query,
      })),
    }))
  }

  async #index(organizationId: string, projectId: string): Promise<TextIndex<GoldenSqlRow>> {
    const repo = new GoldenSqlRepo(this.db)
    const version = await repo.version(organizationId, projectId)
    return this.#indexes.get(`${organizationId}/${projectId}`, version, async () => {
      const index = createTextIndex<GoldenSqlRow>({ id: (row) => row.id, fields: SEARCH_FIELDS })
      index.add(await repo.all(organizationId, projectId))
      return index
    })
  }

  /**
   * Parameters as saved queries declare them, then the SQL through the planner over the project's
   * catalogs (no data read), each parameter bound to its default or a stand-in of its type.
   */
  async #check(
    ctx: RequestContext,
    projectId: string,
    sql: string,
    definitions: readonly QueryParameterDefinition[],
  ): Promise<SavedQueryParameter[]> {
    const parameters = checkDefinitions(sql, definitions)
    try {
      await this.sql.describe(ctx, projectId, sql, planningValues(parameters))
    } catch (error) {
      throw asInvalidSql(error)
    }
    return parameters
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<GoldenSqlRow> {
    const row = await new GoldenSqlRepo(this.db).findActive(tenant.principal.organizationId, projectId, id)
    if (!row) throw errors.notFound('golden SQL', id)
    return row
  }
}

function toGoldenSql(row: GoldenSqlRow): GoldenSql {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    question: row.question,
    sql: row.sql,
    description: row.description,
    parameters: row.parameters,
    tables: row.tables,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
