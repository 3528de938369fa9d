import type {
  MetadataRelation,
  MetadataScope,
  Page,
  TableMetadata,
  UpdateMetadataScope,
  UpdateTableMetadata,
  MetadataListQuery,
} from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { QueryAccess } from '../../engine/access-policy.js'
import type { SourceSchema, SourceTable } from '../../engine/connectors/source-catalog.js'
import { INTERNAL_CATALOG } from '../../engine/local-tables.js'
import { isAppError } from '../../lib/errors.js'
import type { MetadataDb } from '../../metadata/database.js'
import type {
  MetadataScopeRow,
  StoredMetadataColumn,
  TableMetadataRow,
  TableRelationRow,
} from '../../metadata/schema.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { CatalogsService } from '../catalogs/catalogs.service.js'
import type { ConnectionsService, OpenedConnection } from '../connections/connections.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { metadataErrors } from './metadata.errors.js'
import { MetadataRepo, type TableKey } from './metadata.repo.js'
import { mergeColumns } from './merge.js'
import { withoutHiddenValues } from './value-privacy.js'

/** A catalog of a project as it is now: its tables, or undefined when its source could not be read. */
export interface LiveCatalog {
  name: string
  kind: 'source' | 'internal' | 'contributed'
  schemas: SourceSchema[] | undefined
  /** Sources only: the connection behind it. */
  opened?: OpenedConnection
}

/**
 * How long a catalog listing read for metadata is reused: metadata writes and refreshes of this process
 * drop it at once; a catalog refreshed through the catalogs routes shows here within this time.
 */
const LIVE_CATALOGS_TTL_MS = 5_000
const LIVE_CATALOGS_KEPT = 200

/** Whoever wants to hear that a project's metadata changed (the search index, caches). */
export type MetadataListener = (projectId: string) => void

export const tableKeyString = (key: TableKey): string => JSON.stringify([key.catalog, key.schema, key.table])

const compareKeys = (a: TableKey, b: TableKey): number =>
  a.catalog < b.catalog
    ? -1
    : a.catalog > b.catalog
      ? 1
      : a.schema < b.schema
        ? -1
        : a.schema > b.schema
          ? 1
          : a.table < b.table
            ? -1
            : a.table > b.table
              ? 1
              : 0

export interface MetadataDependencies {
  projects: ProjectsService
  catalogs: CatalogsService
  connections: ConnectionsService
  audit: AuditService
  /** The callers' masks and row filters: stored values from the data are shown beneath them. */
  sql?: Pick<SqlService, 'accessOf'>
}

/**
 * Project metadata (issue 10): per table of every catalog a description, column descriptions and
 * flags, keys, samples and categorical values, relations, and whether AI may use it. Tables that
 * were never refreshed are shown from the catalog's stored listing; what people wrote survives
 * refreshes, and what vanished from a source is kept, marked missing.
 */
export class MetadataService {
  readonly #listeners: MetadataListener[] = []
  /** Catalog listings as recently read (parsing a large source's listing costs more than a read should). */
  readonly #live = new Map<string, { at: number; catalogs: Promise<LiveCatalog[]> }>()

  constructor(
    private readonly db: MetadataDb,
    private readonly deps: MetadataDependencies,
  ) {}

  /** Called after every write to a project's metadata (edits, refreshes, relations, categorical values). */
  onChange(listener: MetadataListener): void {
    this.#listeners.push(listener)
  }

  /** Tells the listeners that a project's metadata changed. */
  changed(projectId: string): void {
    for (const key of this.#live.keys()) if (key.startsWith(`${projectId}\u0000`)) this.#live.delete(key)
    for (const listener of this.#listeners) listener(projectId)
  }

  /**
   * Removes what a project stored about one of its catalogs (descriptions, columns, scopes,
   * relations) in the caller's transaction: for a catalog another organization no longer shares.
   */
  async forgetCatalog(trx: MetadataDb, organizationId: string, projectId: string, catalog: string): Promise<void> {
    for (const table of ['table_metadata', 'metadata_scopes'] as const) {
      await trx
        .deleteFrom(table)
        .where('organization_id', '=', organizationId)
        .where('project_id', '=', projectId)
        .where('catalog', '=', catalog)
        .execute()
    }
    await trx
      .deleteFrom('table_relations')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where((eb) => eb.or([eb('from_catalog', '=', catalog), eb('to_catalog', '=', catalog)]))
      .execute()
  }

  async list(ctx: RequestContext, projectId: string, query: MetadataListQuery): Promise<Page<TableMetadata>> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    const after = decodeKeyCursor(query.cursor)
    const keys = await this.#keys(tenant, projectId, query)
    const start = after ? keys.findIndex((entry) => compareKeys(entry.key, after) > 0) : 0
    const page = start < 0 ? [] : keys.slice(start, start + query.limit)
    const more = start >= 0 && keys.length > start + query.limit
    const data = await this.#describe(tenant, projectId, page)
    const last = page.at(-1)
    return { data, next_cursor: more && last ? encodeKeyCursor(last.key) : null }
  }

  /**
   * Every table of the project, for a checked caller. `unpoliced`: with every stored value, whatever
   * the caller's policies: only for what is shared between callers and shown to each through
   * `visibleTo` (the search index, the ask schema).
   */
  async allTables(
    tenant: TenantContext,
    projectId: string,
    options: { unpoliced?: boolean } = {},
  ): Promise<TableMetadata[]> {
    const tables = await this.#describe(tenant, projectId, await this.#keys(tenant, projectId, {}), true)
    return options.unpoliced ? tables : [...(await this.visibleTo(tenant, projectId, tables))]
  }

  /**
   * The tables as the caller may see them: no sample or categorical values of a column they see
   * masked, nor of any column of a table they are under a row filter on. The same array when nothing
   * is hidden from them.
   */
  async visibleTo(
    tenant: TenantContext,
    projectId: string,
    tables: readonly TableMetadata[],
  ): Promise<readonly TableMetadata[]> {
    if (tables.length === 0) return tables
    return withoutHiddenValues(await this.accessOf(tenant, projectId), tables)
  }

  /** The caller's masks and row filters in the project, read once (undefined without a policy module). */
  async accessOf(tenant: TenantContext, projectId: string): Promise<QueryAccess | undefined> {
    return this.deps.sql?.accessOf(tenant, projectId)
  }

  /** One table's metadata, for a checked caller; 404 naming the catalog, schema or table. */
  async table(tenant: TenantContext, projectId: string, key: TableKey): Promise<TableMetadata> {
    const [entry] = await this.#keys(tenant, projectId, key)
    const [described] = await this.#describe(tenant, projectId, [entry!])
    return described!
  }

  async get(ctx: RequestContext, projectId: string, key: TableKey): Promise<TableMetadata> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    return this.table(tenant, projectId, key)
  }

  /**
   * `PUT …/metadata/{catalog}/{schema}/{table}`: changes what it names and keeps the rest. Descriptions
   * written by a generator (`author: 'generated'`) never replace one a person wrote.
   */
  async update(
    ctx: RequestContext,
    projectId: string,
    key: TableKey,
    input: UpdateTableMetadata,
    author: 'user' | 'generated' = 'user',
  ): Promise<TableMetadata> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: 'metadata' })
    const [entry] = await this.#keys(tenant, projectId, key)
    const organizationId = tenant.principal.organizationId
    const seen = new Set<string>()
    for (const column of input.columns ?? []) {
      if (seen.has(column.name)) throw metadataErrors.duplicateColumn(column.name)
      seen.add(column.name)
    }
    await this.db.transaction().execute(async (trx) => {
      const repo = new MetadataRepo(trx)
      const stored = await repo.row(organizationId, projectId, key, { lock: true })
      const columns = mergeColumns(entry!.current?.columns, stored?.columns)
      const byName = new Map(columns.map((column) => [column.name, column]))
      for (const change of input.columns ?? []) {
        const column = byName.get(change.name)
        if (!column) throw metadataErrors.unknownColumn(key.catalog, key.schema, key.table, change.name)
        if (change.description !== undefined && !(author === 'generated' && column.description_source === 'user')) {
          column.description = change.description
          column.description_source = change.description === null ? null : author
        }
        if (change.is_primary !== undefined) {
          column.is_primary = change.is_primary
          column.primary_source = 'user'
        }
        if (change.is_categorical !== undefined) {
          column.is_categorical = change.is_categorical
          if (!change.is_categorical) column.categorical_values = []
        }
      }
      const keepDescription =
        input.description === undefined || (author === 'generated' && stored?.description_source === 'user')
      await repo.upsert(organizationId, projectId, key, {
        description: keepDescription ? (stored?.description ?? null) : (input.description ?? null),
        description_source: keepDescription
          ? (stored?.description_source ?? null)
          : input.description === null
            ? null
            : author,
        use_with_ai: input.use_with_ai === undefined ? (stored?.use_with_ai ?? null) : input.use_with_ai,
        row_estimate: stored?.row_estimate ?? null,
        columns,
        status: entry!.current ? 'present' : (stored?.status ?? 'present'),
        refreshed_at: stored?.refreshed_at ?? null,
      })
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'table_metadata', {
        action: author === 'generated' ? 'metadata.generate' : 'metadata.update',
        id: `${key.catalog}.${key.schema}.${key.table}`,
        details: { project_id: projectId, ...key, fields: Object.keys(input) },
      })
    })
    this.changed(projectId)
    return this.table(tenant, projectId, key)
  }

  /** `PUT …/metadata/{catalog}` (schema undefined) and `…/metadata/{catalog}/{schema}`. */
  async setScope(
    ctx: RequestContext,
    projectId: string,
    catalog: string,
    schema: string | undefined,
    input: UpdateMetadataScope,
  ): Promise<MetadataScope> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: 'metadata' })
    await this.#keys(tenant, projectId, { catalog, ...(schema === undefined ? {} : { schema }) })
    await this.db.transaction().execute(async (trx) => {
      await new MetadataRepo(trx).setScope(
        tenant.principal.organizationId,
        projectId,
        catalog,
        schema ?? '',
        input.use_with_ai,
      )
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'table_metadata', {
        action: 'metadata.scope',
        id: schema === undefined ? catalog : `${catalog}.${schema}`,
        details: { project_id: projectId, catalog, schema: schema ?? null, use_with_ai: input.use_with_ai },
      })
    })
    this.changed(projectId)
    return { catalog, schema: schema ?? null, use_with_ai: input.use_with_ai }
  }

  /**
   * The catalogs of a project as they are now (`only`: just that one; 404 when it is none). A source
   * never read is read now; one that cannot be read has `schemas` undefined (its stored metadata stands).
   */
  async liveCatalogs(
    tenant: TenantContext,
    projectId: string,
    only?: string,
    options: { fresh?: boolean } = {},
  ): Promise<LiveCatalog[]> {
    const key = `${projectId}\u0000${only === undefined ? '*' : `=${only}`}`
    const cached = this.#live.get(key)
    if (!options.fresh && cached && Date.now() - cached.at < LIVE_CATALOGS_TTL_MS) return cached.catalogs
    const catalogs = this.#readLive(tenant, projectId, only)
    this.#live.set(key, { at: Date.now(), catalogs })
    catalogs.catch(() => {
      if (this.#live.get(key)?.catalogs === catalogs) this.#live.delete(key)
    })
    // Bounded: the oldest entries go first.
    while (this.#live.size > LIVE_CATALOGS_KEPT) this.#live.delete(this.#live.keys().next().value!)
    return catalogs
  }

  async #readLive(tenant: TenantContext, projectId: string, only: string | undefined): Promise<LiveCatalog[]> {
    const names = await this.deps.catalogs.names(tenant, projectId)
    const wanted = only === undefined ? names : names.filter((name) => name === only)
    const opened = await this.deps.connections.openCatalogs(tenant, projectId, wanted)
    const bySource = new Map(opened.map((entry) => [entry.opened.row.catalog, entry]))
    return Promise.all(
      wanted.map(async (name): Promise<LiveCatalog> => {
        const source = bySource.get(name)
        if (source) {
          let schemas: SourceSchema[] | undefined = source.stored?.catalog.schemas
          if (!schemas) {
            try {
              schemas = (await this.deps.connections.refreshCatalog(source.opened)).catalog.schemas
            } catch (error) {
              if (!isAppError(error) || error.code !== 'connection_error') throw error
            }
          }
          return { name, kind: 'source', schemas, opened: source.opened }
        }
        const { internal, contributed } = await this.deps.catalogs.forQuery(tenant, projectId, [name])
        if (name === INTERNAL_CATALOG) return { name, kind: 'internal', schemas: internal?.catalog.schemas ?? [] }
        const found = contributed.find((entry) => entry.name === name)
        return { name, kind: 'contributed', schemas: found?.catalog.schemas }
      }),
    )
  }

  /**
   * Every table matching the filter, from the live catalogs and the stored metadata together, in
   * name order. A filter naming a catalog, schema or table that has none is a 404 naming it.
   */
  async #keys(
    tenant: TenantContext,
    projectId: string,
    filter: { catalog?: string | undefined; schema?: string | undefined; table?: string | undefined },
    fresh = false,
  ): Promise<{ key: TableKey; current: SourceTable | undefined }[]> {
    const live = await this.liveCatalogs(tenant, projectId, filter.catalog, { fresh })
    const stored = await new MetadataRepo(this.db).keys(tenant.principal.organizationId, projectId, filter)
    const entries = new Map<string, { key: TableKey; current: SourceTable | undefined }>()
    for (const catalog of live) {
      for (const schema of catalog.schemas ?? []) {
        if (filter.schema !== undefined && schema.name !== filter.schema) continue
        for (const table of schema.tables) {
          if (filter.table !== undefined && table.name !== filter.table) continue
          const key = { catalog: catalog.name, schema: schema.name, table: table.name }
          entries.set(tableKeyString(key), { key, current: table })
        }
      }
    }
    const liveNames = new Set(live.map((catalog) => catalog.name))
    for (const row of stored) {
      const key = { catalog: row.catalog, schema: row.schema_name, table: row.table_name }
      const id = tableKeyString(key)
      if (!entries.has(id)) entries.set(id, { key, current: undefined })
    }
    const found = [...entries.values()].sort((a, b) => compareKeys(a.key, b.key))
    // A listing read a moment ago may predate a table or catalog made since: look again before saying so.
    const unsure = found.length === 0 || (filter.table !== undefined && found.some((entry) => !entry.current))
    if (unsure && !fresh) return this.#keys(tenant, projectId, filter, true)
    if (filter.catalog !== undefined && !liveNames.has(filter.catalog) && !found.length) {
      throw metadataErrors.unknownCatalog(filter.catalog)
    }
    if (found.length === 0) {
      const catalog = filter.catalog ?? '*'
      if (filter.schema !== undefined) {
        // A schema without tables is still a schema.
        const exists = live.some((entry) => entry.schemas?.some((schema) => schema.name === filter.schema))
        if (!exists) throw metadataErrors.unknownSchema(catalog, filter.schema)
      }
      if (filter.table !== undefined) throw metadataErrors.unknownTable(catalog, filter.schema ?? '*', filter.table)
    }
    return found
  }

  /** The API's view of the given tables: stored rows, merged with what their catalogs list now. */
  async #describe(
    tenant: TenantContext,
    projectId: string,
    entries: readonly { key: TableKey; current: SourceTable | undefined }[],
    unpoliced = false,
  ): Promise<TableMetadata[]> {
    if (entries.length === 0) return []
    const organizationId = tenant.principal.organizationId
    const repo = new MetadataRepo(this.db)
    const keys = entries.map((entry) => entry.key)
    const [rows, scopes, relations] = await Promise.all([
      repo.rows(organizationId, projectId, keys),
      repo.scopes(organizationId, projectId),
      repo.relationsOf(organizationId, projectId, keys),
    ])
    const byKey = new Map(
      rows.map((row) => [
        tableKeyString({ catalog: row.catalog, schema: row.schema_name, table: row.table_name }),
        row,
      ]),
    )
    const scopeOf = scopeLookup(scopes)
    const relationsByTable = new Map<string, MetadataRelation[]>()
    for (const relation of relations) {
      const mapped = toRelation(relation)
      const ends = new Set([
        tableKeyString({ catalog: relation.from_catalog, schema: relation.from_schema, table: relation.from_table }),
        tableKeyString({ catalog: relation.to_catalog, schema: relation.to_schema, table: relation.to_table }),
      ])
      for (const end of ends) {
        const list = relationsByTable.get(end) ?? []
        list.push(mapped)
        relationsByTable.set(end, list)
      }
    }
    const tables = entries.map(({ key, current }) => {
      const id = tableKeyString(key)
      return toTableMetadata(key, current, byKey.get(id), scopeOf, relationsByTable.get(id) ?? [])
    })
    return unpoliced ? tables : [...(await this.visibleTo(tenant, projectId, tables))]
  }
}

export type ScopeLookup = (
  catalog: string,
  schema: string,
) => { value: boolean; source: 'schema' | 'catalog' } | undefined

export function scopeLookup(scopes: readonly MetadataScopeRow[]): ScopeLookup {
  const map = new Map(scopes.map((scope) => [JSON.stringify([scope.catalog, scope.schema_name]), scope.use_with_ai]))
  return (catalog, schema) => {
    const ofSchema = map.get(JSON.stringify([catalog, schema]))
    if (ofSchema !== undefined) return { value: ofSchema, source: 'schema' }
    const ofCatalog = map.get(JSON.stringify([catalog, '']))
    if (ofCatalog !== undefined) return { value: ofCatalog, source: 'catalog' }
    return undefined
  }
}

/** The effective `use_with_ai` of a table: its own, else its schema's, else its catalog's, else true. */
export function effectiveUseWithAi(
  key: TableKey,
  own: boolean | null | undefined,
  scopeOf: ScopeLookup,
): { value: boolean; source: TableMetadata['use_with_ai_source'] } {
  if (own !== null && own !== undefined) return { value: own, source: 'table' }
  return scopeOf(key.catalog, key.schema) ?? { value: true, source: 'default' }
}

export function toTableMetadata(
  key: TableKey,
  current: SourceTable | undefined,
  row: TableMetadataRow | undefined,
  scopeOf: ScopeLookup,
  relations: MetadataRelation[],
): TableMetadata {
  const columns = current || row ? mergeColumns(current?.columns, row?.columns) : []
  const useWithAi = effectiveUseWithAi(key, row?.use_with_ai, scopeOf)
  // Present in the catalog now, or (source unreadable) as last stored.
  const missing = current ? false : row ? row.status === 'missing' || columns.length === 0 : true
  return {
    catalog: key.catalog,
    schema: key.schema,
    table: key.table,
    description: row?.description ?? null,
    source: row?.description ? row.description_source : null,
    use_with_ai: useWithAi.value,
    use_with_ai_source: useWithAi.source,
    row_estimate: row?.row_estimate === null || row?.row_estimate === undefined ? null : Number(row.row_estimate),
    missing,
    columns: columns.map(toColumn),
    relations,
    refreshed_at: toIsoOrNull(row?.refreshed_at ?? null),
    updated_at: toIsoOrNull(row?.updated_at ?? null),
  }
}

function toColumn(column: StoredMetadataColumn): TableMetadata['columns'][number] {
  return {
    name: column.name,
    type: column.type,
    description: column.description,
    description_source: column.description ? column.description_source : null,
    is_primary: column.is_primary,
    is_primary_source: column.is_primary || column.primary_source === 'user' ? column.primary_source : null,
    is_categorical: column.is_categorical,
    categorical_values: column.is_categorical ? column.categorical_values : [],
    sample_values: column.sample_values,
    ...(column.lineage ? { lineage: column.lineage } : {}),
    missing: column.missing,
  }
}

export function toRelation(row: TableRelationRow): MetadataRelation {
  return {
    id: row.id,
    name: row.name,
    from: { catalog: row.from_catalog, schema: row.from_schema, table: row.from_table, columns: row.from_columns },
    to: { catalog: row.to_catalog, schema: row.to_schema, table: row.to_table, columns: row.to_columns },
    type: row.type,
    origin: row.origin,
    confidence: row.confidence,
    description: row.description,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

function encodeKeyCursor(key: TableKey): string {
  return Buffer.from(JSON.stringify([key.catalog, key.schema, key.table]), 'utf8').toString('base64url')
}

function decodeKeyCursor(cursor: string | undefined): TableKey | undefined {
  if (cursor === undefined || cursor === '') return undefined
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(parsed) && parsed.length === 3 && parsed.every((part) => typeof part === 'string')) {
      const [catalog, schema, table] = parsed as [string, string, string]
      return { catalog, schema, table }
    }
  } catch {
    // fall through
  }
  throw metadataErrors.badCursor()
}
