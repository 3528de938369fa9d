import type { GoldenSql, MetadataRelation, ParameterValue, TableMetadata } from '@tributary/contract'
import { sql } from 'kysely'

import type { TenantContext } from '../../auth/principal.js'
import type { QueryAccess } from '../../engine/access-policy.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { GoldenSqlService } from '../golden-sql/golden-sql.service.js'
import type { MetadataService } from '../metadata/metadata.service.js'
import { hiddenKey, withoutHiddenValues } from '../metadata/value-privacy.js'

/**
 * What a question is answered against: the tables AI may use that the caller may read, with their
 * columns (types, descriptions, categorical values), the relations between them and the project's
 * golden SQL. The pipeline builds it once per question; the offline engine and the prompts read it.
 */
export interface AskSchema {
  tables: readonly TableMetadata[]
  relations: readonly MetadataRelation[]
  golden: readonly GoldenSql[]
  /** "Now" for relative dates ("last year", "this month"); injected so answers are reproducible. */
  now: Date
}

/** The previous turn of a thread, for follow-up questions ("and in Germany only?"). */
export interface PreviousTurn {
  question: string
  sql: string
}

/** A golden SQL entry a question matched, exactly or as a template, with the values its parameters take. */
export interface GoldenMatch {
  golden: GoldenSql
  parameters: Record<string, ParameterValue>
  kind: 'exact' | 'template'
}

export type OfflineAnswer =
  | {
      answered: true
      /** Standalone SQL in the engine's dialect (`catalog.schema.table`), literals inlined and quoted. */
      sql: string
      /** One sentence saying what the SQL computes, in the user's terms. */
      explanation: string
    }
  | {
      answered: false
      /** Names what was not understood ("no table matches 'spaceships'"). */
      reason: string
    }

/** The tables AI may use that the caller may read (a checked caller), their relations, and the golden SQL. */
export async function loadAskSchema(
  sources: { metadata: MetadataService; goldenSql: GoldenSqlService },
  tenant: TenantContext,
  projectId: string,
  now: Date,
  options: { unpoliced?: boolean } = {},
): Promise<AskSchema> {
  const [all, golden] = await Promise.all([
    sources.metadata.allTables(tenant, projectId, options),
    sources.goldenSql.all(tenant, projectId),
  ])
  const tables = all.filter((table) => table.use_with_ai && !table.missing)
  const names = new Set(tables.map(keyOf))
  const relations = new Map<string, MetadataRelation>()
  for (const table of tables) {
    for (const relation of table.relations) {
      if (names.has(keyOf(relation.from)) && names.has(keyOf(relation.to))) relations.set(relation.id, relation)
    }
  }
  return { tables, relations: [...relations.values()], golden, now }
}

/**
 * The cached schema as a caller sees it: no sample or categorical values hidden from them. One object
 * per set of hidden values, so that the offline engine's lexicon (kept per object) is built once.
 */
function visibleSchema(entry: CachedSchema, access: QueryAccess | undefined): Omit<AskSchema, 'now'> {
  const hidden = hiddenKey(access, entry.schema.tables)
  if (hidden === '') return entry.schema
  let visible = entry.visible.get(hidden)
  if (!visible) {
    visible = { ...entry.schema, tables: withoutHiddenValues(access, entry.schema.tables) }
    entry.visible.set(hidden, visible)
    while (entry.visible.size > VISIBLE_VARIANTS) entry.visible.delete(entry.visible.keys().next().value!)
  }
  return visible
}

function keyOf(table: { catalog: string; schema: string; table: string }): string {
  return JSON.stringify([table.catalog, table.schema, table.table])
}

type SchemaSources = { metadata: MetadataService; goldenSql: GoldenSqlService }

interface CachedSchema {
  version: string
  listing: unknown
  /** With every stored value: each caller is given `visible`'s copy for what is hidden from them. */
  schema: Omit<AskSchema, 'now'>
  /** By what is hidden from callers (`hiddenKey`): the schema as they see it, built once. */
  visible: Map<string, Omit<AskSchema, 'now'>>
}

/** Variants of one project's schema kept for callers under different policies; the oldest go first. */
const VISIBLE_VARIANTS = 20

/** Projects whose semantic layer is kept; the least recently asked go first. */
const CACHED_PROJECTS = 100

/**
 * The semantic layer as last loaded per project, reused while nothing it is made of changed. A question
 * then costs one small query (the version) instead of reading every table's metadata, and the offline
 * engine's lexicon, kept per loaded schema, is built once per version rather than per question.
 *
 * The version is read on every question, so an edit is seen by the next one, from this process or another:
 * row counts and latest changes of the stored metadata, scopes, relations, golden SQL and connections, and
 * of the sources' stored listings; this process's count of metadata changes (`MetadataService.onChange`);
 * and the catalogs' live listing, which the metadata service itself rereads after a few seconds.
 */
export class AskSchemaCache {
  readonly #entries = new Map<string, CachedSchema>()
  readonly #changes = new Map<string, number>()

  constructor(
    private readonly db: MetadataDb,
    private readonly sources: SchemaSources,
  ) {
    sources.metadata.onChange((projectId) => this.#changes.set(projectId, (this.#changes.get(projectId) ?? 0) + 1))
  }

  async load(tenant: TenantContext, projectId: string, now: Date): Promise<AskSchema> {
    const organizationId = tenant.principal.organizationId
    const key = `${organizationId}\u0000${projectId}`
    const [version, listing, access] = await Promise.all([
      this.#version(organizationId, projectId),
      this.sources.metadata.liveCatalogs(tenant, projectId),
      this.sources.metadata.accessOf(tenant, projectId),
    ])
    let entry = this.#entries.get(key)
    if (!entry || entry.version !== version || entry.listing !== listing) {
      const { now: _now, ...schema } = await loadAskSchema(this.sources, tenant, projectId, now, { unpoliced: true })
      void _now
      entry = { version, listing, schema, visible: new Map() }
    }
    // Most recently used last: the map's order is the eviction order.
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    while (this.#entries.size > CACHED_PROJECTS) this.#entries.delete(this.#entries.keys().next().value!)
    return { ...visibleSchema(entry, access), now }
  }

  async #version(organizationId: string, projectId: string): Promise<string> {
    const stamp = (table: string, extra = '') =>
      sql`(select count(*) || '@' || coalesce(max(updated_at)::text, '')${sql.raw(
        extra,
      )} from ${sql.table(table)} where organization_id = ${organizationId} and project_id = ${projectId})`
    const { rows } = await sql<{ version: string }>`
      select concat_ws(':',
        ${stamp('table_metadata')},
        ${stamp('metadata_scopes')},
        ${stamp('table_relations')},
        ${stamp('golden_sql', " || '@' || coalesce(max(archived_at)::text, '')")},
        ${stamp('connections', " || '@' || coalesce(max(archived_at)::text, '')")},
        (select count(*) || '@' || coalesce(max(s.refreshed_at)::text, '') from source_catalogs s
          join connections c on c.id = s.connection_id
          where c.organization_id = ${organizationId} and c.project_id = ${projectId})
      ) as version`.execute(this.db)
    return `${this.#changes.get(projectId) ?? 0}:${rows[0]?.version ?? ''}`
  }
}
