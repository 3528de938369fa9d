import type {
  ColumnTag,
  ColumnTagInput,
  ColumnTagListQuery,
  ListQuery,
  Page,
  PolicyRole,
  PrivacyPolicy,
  PrivacyPolicyInput,
  RowPolicy,
  RowPolicyInput,
} from '@tributary/contract'

import type { RequestContext, TenantContext, TenantPrincipal } from '../../auth/principal.js'
import {
  CUSTOM_MASK_COLUMN,
  type ColumnMask,
  maskSql,
  maskTypeProblem,
  type PolicedTable,
  type QueryAccess,
  type TableAccess,
} from '../../engine/access-policy.js'
import { quoteIdentifier } from '../../engine/duckdb-sql.js'
import type { EngineColumn } from '../../engine/engine.js'
import { isAppError } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import { sha256 } from '../../lib/secrets.js'
import type { ColumnTagRow, PrivacyPolicyRow, RowPolicyRow } from '../../metadata/access-policies-schema.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso, transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { CatalogsService } from '../catalogs/catalogs.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { AccessPolicyProvider, SqlService } from '../sql/sql.service.js'
import { accessPolicyErrors } from './access-policies.errors.js'
import { AccessPoliciesRepo, type CallerRow } from './access-policies.repo.js'
import { checkPolicyExpression } from './policy-expression.js'

export interface AccessPoliciesDependencies {
  projects: ProjectsService
  audit: AuditService
  sql: SqlService
  catalogs: CatalogsService
}

interface TableName {
  catalog: string
  schema: string
  table: string
}

type PrivacyValues = Omit<PrivacyPolicyRow, 'id' | 'organization_id' | 'project_id' | 'created_at' | 'updated_at'>
type RowValues = Omit<RowPolicyRow, 'id' | 'organization_id' | 'project_id' | 'created_at' | 'updated_at'>

/**
 * Column privacy, row-level security and column tags (issue 15), and what they mean for one
 * caller: `accessFor` runs before every query, so it reads a project's policies in one round of
 * indexed queries. Organization admins (and keys with the `admin` scope) change them; every member
 * reads them. Several masks on one column: the oldest applicable policy wins. Several row policies
 * on one table: each narrows (AND).
 */
export class AccessPoliciesService implements AccessPolicyProvider {
  constructor(
    private readonly db: MetadataDb,
    private readonly deps: AccessPoliciesDependencies,
  ) {}

  // ── Privacy policies and row policies: the same life, kept by PRIVACY and ROW below

  async createPrivacy(ctx: RequestContext, projectId: string, input: PrivacyPolicyInput): Promise<PrivacyPolicy> {
    return this.#create(PRIVACY, ctx, projectId, (tenant) => this.#privacyValues(tenant, projectId, input))
  }

  listPrivacy(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<PrivacyPolicy>> {
    return this.#list(PRIVACY, ctx, projectId, query)
  }

  getPrivacy(ctx: RequestContext, projectId: string, id: string): Promise<PrivacyPolicy> {
    return this.#get(PRIVACY, ctx, projectId, id)
  }

  /** A full replace, checked as a new policy is; it keeps its place (created_at) among the masks on a column. */
  replacePrivacy(
    ctx: RequestContext,
    projectId: string,
    id: string,
    input: PrivacyPolicyInput,
  ): Promise<PrivacyPolicy> {
    return this.#replace(PRIVACY, ctx, projectId, id, (tenant) => this.#privacyValues(tenant, projectId, input))
  }

  deletePrivacy(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    return this.#delete(PRIVACY, ctx, projectId, id)
  }

  createRow(ctx: RequestContext, projectId: string, input: RowPolicyInput): Promise<RowPolicy> {
    return this.#create(ROW, ctx, projectId, (tenant) => this.#rowValues(tenant, projectId, input))
  }

  listRow(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<RowPolicy>> {
    return this.#list(ROW, ctx, projectId, query)
  }

  getRow(ctx: RequestContext, projectId: string, id: string): Promise<RowPolicy> {
    return this.#get(ROW, ctx, projectId, id)
  }

  replaceRow(ctx: RequestContext, projectId: string, id: string, input: RowPolicyInput): Promise<RowPolicy> {
    return this.#replace(ROW, ctx, projectId, id, (tenant) => this.#rowValues(tenant, projectId, input))
  }

  deleteRow(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    return this.#delete(ROW, ctx, projectId, id)
  }

  async #create<Row extends { id: string }, Api, Values extends object>(
    kind: PolicyKind<Row, Api, Values>,
    ctx: RequestContext,
    projectId: string,
    valuesOf: (tenant: TenantContext) => Promise<Values>,
  ): Promise<Api> {
    const tenant = await this.#manage(ctx, projectId)
    const values = await valuesOf(tenant)
    const { principal } = tenant
    return this.db.transaction().execute(async (trx) => {
      const row = await kind.insert(new AccessPoliciesRepo(trx), {
        organization_id: principal.organizationId,
        project_id: projectId,
        ...values,
      })
      await this.deps.audit.recordTenantWrite(trx, ctx, principal, kind.entity, {
        action: `${kind.entity}.create`,
        id: row.id,
        details: { project_id: projectId, ...values },
      })
      return kind.toApi(row)
    })
  }

  async #list<Row extends { id: string }, Api, Values>(
    kind: PolicyKind<Row, Api, Values>,
    ctx: RequestContext,
    projectId: string,
    query: ListQuery,
  ): Promise<Page<Api>> {
    const { principal } = await this.deps.projects.require(ctx, projectId, 'read')
    const repo = new AccessPoliciesRepo(this.db)
    const rows = await kind.list(repo, principal.organizationId, projectId, decodeCursor(query.cursor), query.limit)
    return toPage(rows, query.limit, kind.toApi)
  }

  async #get<Row extends { id: string }, Api, Values>(
    kind: PolicyKind<Row, Api, Values>,
    ctx: RequestContext,
    projectId: string,
    id: string,
  ): Promise<Api> {
    const { principal } = await this.deps.projects.require(ctx, projectId, 'read')
    const row = await kind.find(new AccessPoliciesRepo(this.db), principal.organizationId, projectId, id)
    if (!row) throw kind.notFound(id)
    return kind.toApi(row)
  }

  async #replace<Row extends { id: string }, Api, Values extends object>(
    kind: PolicyKind<Row, Api, Values>,
    ctx: RequestContext,
    projectId: string,
    id: string,
    valuesOf: (tenant: TenantContext) => Promise<Values>,
  ): Promise<Api> {
    const tenant = await this.#manage(ctx, projectId)
    const { principal } = tenant
    if (!(await kind.find(new AccessPoliciesRepo(this.db), principal.organizationId, projectId, id))) {
      throw kind.notFound(id)
    }
    const values = await valuesOf(tenant)
    return this.db.transaction().execute(async (trx) => {
      const row = await kind.replace(new AccessPoliciesRepo(trx), principal.organizationId, projectId, id, values)
      if (!row) throw kind.notFound(id)
      await this.deps.audit.recordTenantWrite(trx, ctx, principal, kind.entity, {
        action: `${kind.entity}.update`,
        id,
        details: { project_id: projectId, ...values },
      })
      return kind.toApi(row)
    })
  }

  async #delete<Row extends { id: string }, Api, Values>(
    kind: PolicyKind<Row, Api, Values>,
    ctx: RequestContext,
    projectId: string,
    id: string,
  ): Promise<void> {
    const { principal } = await this.#manage(ctx, projectId)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new AccessPoliciesRepo(trx).delete(kind.table, principal.organizationId, projectId, id))) {
        throw kind.notFound(id)
      }
      await this.deps.audit.recordTenantWrite(trx, ctx, principal, kind.entity, {
        action: `${kind.entity}.delete`,
        id,
        details: { project_id: projectId },
      })
    })
  }

  // ── Column tags

  /** Tags a column; a privacy policy on the tag must suit it (422 naming `tag`), and a tag is on a column once (409). */
  async createTag(ctx: RequestContext, projectId: string, input: ColumnTagInput): Promise<ColumnTag> {
    const tenant = await this.#manage(ctx, projectId)
    const { principal } = tenant
    const target = await this.#target(tenant, projectId, input)
    const column = findColumn(target.columns, input.column)
    if (!column) throw accessPolicyErrors.unknownColumn(input.column, tableLabel(target))
    const policies = (await new AccessPoliciesRepo(this.db).allPrivacy(principal.organizationId, projectId)).filter(
      (policy) => policy.tag === input.tag,
    )
    for (const policy of policies) {
      const problem = await this.#maskProblem(tenant, projectId, target, column, policy.mask, policy.expression)
      if (problem) {
        throw accessPolicyErrors.tagDoesNotSuit(input.tag, policy.id, column.name, problem)
      }
    }
    const values = { catalog: target.catalog, schema: input.schema, table: input.table, column: column.name }
    return transactionOrConflict(
      this.db,
      () => accessPolicyErrors.tagTaken(input.tag, `${tableLabel(target)}.${column.name}`),
      async (trx) => {
        const row = await new AccessPoliciesRepo(trx).insertTag({
          organization_id: principal.organizationId,
          project_id: projectId,
          ...values,
          tag: input.tag,
        })
        await this.deps.audit.recordTenantWrite(trx, ctx, principal, 'column_tag', {
          action: 'column_tag.create',
          id: row.id,
          details: { project_id: projectId, ...values, tag: input.tag },
        })
        return toColumnTag(row)
      },
    )
  }

  async listTags(ctx: RequestContext, projectId: string, query: ColumnTagListQuery): Promise<Page<ColumnTag>> {
    const { principal } = await this.deps.projects.require(ctx, projectId, 'read')
    const rows = await new AccessPoliciesRepo(this.db).listTags(principal.organizationId, projectId, {
      after: decodeCursor(query.cursor),
      limit: query.limit,
      tag: query.tag,
    })
    return toPage(rows, query.limit, toColumnTag)
  }

  async deleteTag(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const { principal } = await this.#manage(ctx, projectId)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new AccessPoliciesRepo(trx).delete('column_tags', principal.organizationId, projectId, id))) {
        throw accessPolicyErrors.tagNotFound(id)
      }
      await this.deps.audit.recordTenantWrite(trx, ctx, principal, 'column_tag', {
        action: 'column_tag.delete',
        id,
        details: { project_id: projectId },
      })
    })
  }

  // ── What applies to one caller

  /**
   * The masks and row filters the caller is under in the project, and their props for
   * `current_user_props`: always an answer, policies or not.
   */
  async accessFor(checked: TenantContext, projectId: string, ownerOrganizationId?: string): Promise<QueryAccess> {
    const { principal } = checked
    // A dataset another organization shares is under that organization's policies, and there the
    // caller is nobody it knows: no exemption by role or id, and none of the caller's own attributes
    // (which their organization sets) to satisfy its filters.
    const foreign = ownerOrganizationId !== undefined && ownerOrganizationId !== principal.organizationId
    const organizationId = foreign ? ownerOrganizationId : principal.organizationId
    const repo = new AccessPoliciesRepo(this.db)
    const [privacy, rows, caller] = await Promise.all([
      repo.allPrivacy(organizationId, projectId),
      repo.allRow(organizationId, projectId),
      foreign ? undefined : callerOf(repo, principal),
    ])
    const role: PolicyRole = foreign ? 'guest' : roleOf(principal)
    const callerId = foreign ? '' : principal.kind === 'user' ? principal.userId : principal.keyId
    const props = propsOf(caller, { id: callerId, role, project: projectId })
    const masks = privacy.filter(
      (policy) => !policy.except_roles.includes(role) && !policy.except_users.includes(callerId),
    )
    const filters = rows.filter(
      (policy) => policy.applies_to_roles.length === 0 || policy.applies_to_roles.includes(role),
    )
    const tags = [...new Set(masks.flatMap((policy) => (policy.tag === null ? [] : [policy.tag])))]
    const tagged = await repo.columnsTagged(organizationId, projectId, tags)
    // Callers under the same masks, and the same filters with the same props written in, see the
    // same data: one key. No policy at all is ''.
    const used = new Set(filters.flatMap((policy) => propsNamedIn(policy.filter)))
    const key =
      masks.length === 0 && filters.length === 0
        ? ''
        : sha256(
            JSON.stringify({
              masks: masks.map((policy) => [policy.id, toIso(policy.updated_at)]),
              filters: filters.map((policy) => [policy.id, toIso(policy.updated_at)]),
              tagged: tagged.map((tag) => tag.id).sort(),
              props: [...used].sort().map((name) => [name, props[name] ?? '']),
            }),
          )
    return { props, key, table: tableAccess(masks, filters, tagged) }
  }

  // ── Checks

  /** Changing policies: organization admins, organization keys with `admin`, the project's keys with `admin`. */
  async #manage(ctx: RequestContext, projectId: string): Promise<TenantContext> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    const { principal } = tenant
    const allowed =
      principal.kind === 'user'
        ? principal.role === 'admin'
        : principal.scopes.includes('admin') || principal.scopes.includes('*')
    if (!allowed) throw accessPolicyErrors.notManager()
    return tenant
  }

  async #privacyValues(tenant: TenantContext, projectId: string, input: PrivacyPolicyInput): Promise<PrivacyValues> {
    const common = {
      tag: null,
      mask: input.mask,
      expression: input.expression ?? null,
      except_roles: input.except_roles,
      except_users: input.except_users,
    }
    if (input.tag !== undefined) {
      await this.#checkTagPolicy(tenant, projectId, input.tag, input.mask, input.expression ?? null)
      return { ...common, catalog: null, schema: null, table: null, column: null, tag: input.tag }
    }
    // The schema requires all four without a tag.
    const name = { catalog: input.catalog!, schema: input.schema!, table: input.table! }
    const target = await this.#target(tenant, projectId, name)
    const column = findColumn(target.columns, input.column!)
    if (!column) throw accessPolicyErrors.unknownColumn(input.column!, tableLabel(target))
    const problem = await this.#maskProblem(tenant, projectId, target, column, input.mask, input.expression ?? null)
    if (problem) {
      throw input.mask === 'custom'
        ? accessPolicyErrors.badExpression('expression', problem)
        : accessPolicyErrors.wrongMaskType(problem)
    }
    return { ...common, catalog: target.catalog, schema: name.schema, table: name.table, column: column.name }
  }

  /** A tag's policy must suit every column carrying the tag now; columns tagged later are checked when tagged. */
  async #checkTagPolicy(
    tenant: TenantContext,
    projectId: string,
    tag: string,
    mask: PrivacyPolicyInput['mask'],
    expression: string | null,
  ): Promise<void> {
    if (mask === 'custom') {
      const lexical = checkPolicyExpression(withColumn(expression ?? '', 'col'), { userProps: false })
      if (lexical.problem) throw accessPolicyErrors.badExpression('expression', lexical.problem)
    }
    const tagged = await new AccessPoliciesRepo(this.db).columnsTagged(tenant.principal.organizationId, projectId, [
      tag,
    ])
    for (const entry of tagged) {
      const target = await this.#target(tenant, projectId, entry).catch(() => undefined)
      const column = target && findColumn(target.columns, entry.column)
      // A tagged column that is gone has nothing left to mask.
      if (!target || !column) continue
      const problem = await this.#maskProblem(tenant, projectId, target, column, mask, expression)
      if (problem) {
        const label = `${tableLabel(target)}.${column.name}`
        throw mask === 'custom'
          ? accessPolicyErrors.badExpression('expression', `on ${label}, which carries the tag: ${problem}`)
          : accessPolicyErrors.taggedWrongType(label, problem)
      }
    }
  }

  /** Why `mask` cannot mask `column` of `target`; undefined when it can. */
  async #maskProblem(
    tenant: TenantContext,
    projectId: string,
    target: TableName,
    column: EngineColumn,
    mask: PrivacyPolicyInput['mask'],
    expression: string | null,
  ): Promise<string | undefined> {
    if (mask !== 'custom') return maskTypeProblem(mask, column.type)
    const lexical = checkPolicyExpression(withColumn(expression ?? '', column.name), { userProps: false })
    if (lexical.problem) return lexical.problem
    const bindable = lexical.bindable
    const sql = `SELECT (${bindable}) AS v FROM ${fromClause(target)} WHERE (${bindable}) IS NOT NULL`
    return this.#bindProblem(tenant, projectId, sql)
  }

  async #rowValues(tenant: TenantContext, projectId: string, input: RowPolicyInput): Promise<RowValues> {
    const target = await this.#target(tenant, projectId, input)
    const lexical = checkPolicyExpression(input.filter, { userProps: true })
    if (lexical.problem) throw accessPolicyErrors.badExpression('filter', lexical.problem)
    // In WHERE, DuckDB refuses aggregates and windows: the filter must hold of one row alone.
    const { bindable } = lexical
    const sql = `SELECT (${bindable}) AS v FROM ${fromClause(target)} WHERE (${bindable})`
    const described = await this.#describe(tenant, projectId, sql)
    if ('problem' in described) throw accessPolicyErrors.badExpression('filter', described.problem)
    const type = described.columns[0]?.type ?? 'unknown'
    if (type.toUpperCase() !== 'BOOLEAN') throw accessPolicyErrors.filterNotBoolean(type)
    return {
      catalog: target.catalog,
      schema: input.schema,
      table: input.table,
      filter: input.filter,
      applies_to_roles: input.applies_to_roles,
    }
  }

  /** The table, which must exist in the project, with its columns (422 naming `catalog` or `table`). */
  async #target(
    tenant: TenantContext,
    projectId: string,
    name: TableName,
  ): Promise<TableName & { columns: EngineColumn[] }> {
    const catalog = name.catalog.toLowerCase()
    if (!(await this.deps.catalogs.names(tenant, projectId)).includes(catalog)) {
      throw accessPolicyErrors.unknownCatalog(name.catalog)
    }
    const target = { ...name, catalog }
    const described = await this.#describe(tenant, projectId, `SELECT * FROM ${fromClause(target)}`)
    if ('problem' in described) throw accessPolicyErrors.unknownTable(tableLabel(target), described.problem)
    return { ...target, columns: described.columns }
  }

  async #bindProblem(tenant: TenantContext, projectId: string, sql: string): Promise<string | undefined> {
    const described = await this.#describe(tenant, projectId, sql)
    return 'problem' in described ? described.problem : undefined
  }

  async #describe(
    tenant: TenantContext,
    projectId: string,
    sql: string,
  ): Promise<{ columns: EngineColumn[] } | { problem: string }> {
    try {
      return { columns: await this.deps.sql.describe(tenant, projectId, sql, undefined, { unpoliced: true }) }
    } catch (error) {
      if (isAppError(error, 'query_error')) return { problem: error.message }
      throw error
    }
  }
}

// ── Building one caller's access

function roleOf(principal: TenantPrincipal): PolicyRole {
  return principal.kind === 'user' ? principal.role : 'api_key'
}

async function callerOf(repo: AccessPoliciesRepo, principal: TenantPrincipal): Promise<CallerRow | undefined> {
  if (principal.kind === 'user') return repo.user(principal.organizationId, principal.userId)
  const key = await repo.apiKey(principal.organizationId, principal.keyId)
  return key && { email: '', name: key.name, attributes: key.attributes }
}

/** Custom attributes, then the built-in names over them; without a prototype, so no name reads `constructor`. */
function propsOf(
  caller: CallerRow | undefined,
  builtIn: { id: string; role: string; project: string },
): Readonly<Record<string, string>> {
  const props: Record<string, string> = Object.create(null) as Record<string, string>
  for (const [name, value] of Object.entries(caller?.attributes ?? {})) {
    if (typeof value === 'string') props[name] = value
  }
  props.id = builtIn.id
  props.email = caller?.email ?? ''
  props.name = caller?.name ?? ''
  props.role = builtIn.role
  props.project = builtIn.project
  return Object.freeze(props)
}

function tableKey(name: TableName): string {
  return JSON.stringify([name.catalog.toLowerCase(), name.schema.toLowerCase(), name.table.toLowerCase()])
}

/** `masks` and `filters`: the policies that apply to the caller, oldest first. */
function tableAccess(
  masks: readonly PrivacyPolicyRow[],
  filters: readonly RowPolicyRow[],
  tagged: readonly ColumnTagRow[],
): QueryAccess['table'] {
  const filtersByTable = groupBy(filters, (policy) => tableKey(policy))
  const taggedByTable = groupBy(tagged, (tag) => tableKey(tag))
  const columnMasksByTable = groupBy(
    masks.filter((policy) => policy.tag === null),
    (policy) => tableKey({ catalog: policy.catalog!, schema: policy.schema!, table: policy.table! }),
  )
  const tagMasks = masks.filter((policy) => policy.tag !== null)
  return (table: PolicedTable): TableAccess | undefined => {
    const key = tableKey(table)
    const tableMasks = new Map<string, ColumnMask>()
    // The columns each policy masks on this table, in the policies' order: the first mask on a column wins.
    const ofTags = taggedByTable.get(key) ?? []
    const candidates = [...(columnMasksByTable.get(key) ?? []), ...tagMasks].sort(byAge)
    for (const policy of candidates) {
      const names =
        policy.tag === null ? [policy.column!] : ofTags.filter((tag) => tag.tag === policy.tag).map((tag) => tag.column)
      for (const name of names) {
        const column = findColumn(table.columns, name)
        // A column the table no longer has: nothing to mask.
        if (!column || tableMasks.has(column.name)) continue
        tableMasks.set(column.name, maskFor(policy, column))
      }
    }
    const tableFilters = filtersByTable.get(key) ?? []
    const rowFilter =
      tableFilters.length === 0 ? undefined : tableFilters.map((policy) => `(${policy.filter})`).join(' AND ')
    if (tableMasks.size === 0 && rowFilter === undefined) return undefined
    return { masks: tableMasks, rowFilter }
  }
}

/** A mask that no longer suits its column's type (the source changed) hides the column rather than show it. */
function maskFor(policy: PrivacyPolicyRow, column: { name: string; type: string }): ColumnMask {
  if (maskTypeProblem(policy.mask, column.type)) return maskSql('nullify', column.name, column.type)
  return maskSql(policy.mask, column.name, column.type, policy.expression ?? undefined)
}

function byAge(a: PrivacyPolicyRow, b: PrivacyPolicyRow): number {
  const difference = new Date(a.created_at).getTime() - new Date(b.created_at).getTime()
  if (difference !== 0) return difference
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** The names a filter reads with `current_user_props('name')`. */
function propsNamedIn(filter: string): string[] {
  return [...filter.matchAll(/current_user_props\s*\(\s*'((?:[^']|'')*)'\s*\)/gi)].map((match) =>
    match[1]!.replaceAll("''", "'"),
  )
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return groups
}

/** The column of this name: as written, else the one name that matches it but for case. */
function findColumn<C extends { name: string }>(columns: readonly C[], name: string): C | undefined {
  const exact = columns.find((column) => column.name === name)
  if (exact) return exact
  const folded = columns.filter((column) => column.name.toLowerCase() === name.toLowerCase())
  return folded.length === 1 ? folded[0] : undefined
}

function withColumn(expression: string, column: string): string {
  return expression.replaceAll(CUSTOM_MASK_COLUMN, quoteIdentifier(column))
}

function fromClause(name: TableName): string {
  return `${quoteIdentifier(name.catalog)}.${quoteIdentifier(name.schema)}.${quoteIdentifier(name.table)}`
}

function tableLabel(name: TableName): string {
  return `${name.catalog}.${name.schema}.${name.table}`
}

// ── Responses

/** What tells privacy policies and row policies apart in their create, list, read, replace and delete. */
interface PolicyKind<Row extends { id: string }, Api, Values> {
  table: 'privacy_policies' | 'row_policies'
  /** The audit log's entity, and the prefix of its actions. */
  entity: 'privacy_policy' | 'row_policy'
  notFound: (id: string) => Error
  toApi: (row: Row) => Api
  insert: (repo: AccessPoliciesRepo, values: Values & { organization_id: string; project_id: string }) => Promise<Row>
  find: (repo: AccessPoliciesRepo, organizationId: string, projectId: string, id: string) => Promise<Row | undefined>
  list: (
    repo: AccessPoliciesRepo,
    organizationId: string,
    projectId: string,
    after: string | undefined,
    limit: number,
  ) => Promise<Row[]>
  replace: (
    repo: AccessPoliciesRepo,
    organizationId: string,
    projectId: string,
    id: string,
    values: Values,
  ) => Promise<Row | undefined>
}

const PRIVACY: PolicyKind<PrivacyPolicyRow, PrivacyPolicy, PrivacyValues> = {
  table: 'privacy_policies',
  entity: 'privacy_policy',
  notFound: accessPolicyErrors.privacyNotFound,
  toApi: toPrivacyPolicy,
  insert: (repo, values) => repo.insertPrivacy(values),
  find: (repo, organizationId, projectId, id) => repo.findPrivacy(organizationId, projectId, id),
  list: (repo, organizationId, projectId, after, limit) => repo.listPrivacy(organizationId, projectId, after, limit),
  replace: (repo, organizationId, projectId, id, values) => repo.replacePrivacy(organizationId, projectId, id, values),
}

const ROW: PolicyKind<RowPolicyRow, RowPolicy, RowValues> = {
  table: 'row_policies',
  entity: 'row_policy',
  notFound: accessPolicyErrors.rowNotFound,
  toApi: toRowPolicy,
  insert: (repo, values) => repo.insertRow(values),
  find: (repo, organizationId, projectId, id) => repo.findRow(organizationId, projectId, id),
  list: (repo, organizationId, projectId, after, limit) => repo.listRow(organizationId, projectId, after, limit),
  replace: (repo, organizationId, projectId, id, values) => repo.replaceRow(organizationId, projectId, id, values),
}

function toPrivacyPolicy(row: PrivacyPolicyRow): PrivacyPolicy {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    catalog: row.catalog,
    schema: row.schema,
    table: row.table,
    column: row.column,
    tag: row.tag,
    mask: row.mask,
    expression: row.expression,
    except_roles: row.except_roles as PolicyRole[],
    except_users: row.except_users,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

function toRowPolicy(row: RowPolicyRow): RowPolicy {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    catalog: row.catalog,
    schema: row.schema,
    table: row.table,
    filter: row.filter,
    applies_to_roles: row.applies_to_roles as PolicyRole[],
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

function toColumnTag(row: ColumnTagRow): ColumnTag {
  return {
    id: row.id,
    project_id: row.project_id,
    catalog: row.catalog,
    schema: row.schema,
    table: row.table,
    column: row.column,
    tag: row.tag,
    created_at: toIso(row.created_at),
  }
}
