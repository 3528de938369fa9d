import type { MetadataSearchHit, TableMetadata } from '@tributary/contract'
import { sql } from 'kysely'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { Logger } from '../../lib/logger.js'
import {
  createTextIndex,
  TextIndexCache,
  type Embedder,
  type TextIndex,
  type TextMatch,
} from '../../lib/text-search.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SqlService } from '../sql/sql.service.js'
import type { MetadataService } from './metadata.service.js'
import { hiddenKey, withoutHiddenValues } from './value-privacy.js'

/** A table as the search index holds it. */
interface TableDoc {
  id: string
  catalog: string
  schema: string
  table: string
  description: string | null
  columns: string[]
  /** One entry per described column, in the order of `describedColumns`. */
  columnDescriptions: string[]
  describedColumns: string[]
  categoricalValues: string[]
  /** The column each categorical value belongs to (the first one, when several hold it). */
  categoricalColumn: Map<string, string>
}

/**
 * The embedding model of the caller's organization, if it has one (issue 12: AI settings); `key`
 * names the model, so that an index embedded with another one is rebuilt.
 */
/** The organization's embedder, if any; its calls are counted as the project's. */
export type EmbedderFor = (
  tenant: TenantContext,
  projectId: string,
) => Promise<{ embedder: Embedder; key: string } | null>

/** How long a failed embedding model is left out of searches before it is asked again. */
const EMBEDDING_RETRY_MS = 60_000

/** Indexes are rebuilt at least this often, so catalog changes that wrote no metadata show up too. */
const MAX_INDEX_AGE_MS = 60_000

const FIELD_NAMES: Record<string, MetadataSearchHit['matches'][number]['field']> = {
  table: 'table',
  schema: 'schema',
  catalog: 'catalog',
  description: 'description',
  columns: 'column',
  column_descriptions: 'column_description',
  categorical_values: 'categorical_value',
}

/**
 * `GET …/metadata/search`: tables ranked for a question, over the tables AI may use. One index per
 * project, built lazily from its metadata and dropped whenever that metadata changes.
 */
export class MetadataSearch {
  readonly #cache = new TextIndexCache<TableDoc>(100)
  /**
   * Indexes without the values some callers may not see (by project and what is hidden), so that no
   * search finds a table by them for those callers. Callers from whom nothing is hidden use `#cache`.
   */
  readonly #policed = new TextIndexCache<TableDoc>(100)
  /** The tables each index of `#cache` was built from, for building its policed variants. */
  readonly #tables = new WeakMap<TextIndex<TableDoc>, readonly TableMetadata[]>()
  readonly #versions = new Map<string, number>()
  /** Embedding models (by key) that just failed, and until when searches do without them. */
  readonly #embeddingDown = new Map<string, number>()

  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly metadata: MetadataService,
    private readonly embedderFor?: EmbedderFor,
    private readonly logger?: Logger,
    /** The callers' masks and row filters: a search finds no table by a value hidden from its caller. */
    private readonly sql?: Pick<SqlService, 'accessOf'>,
  ) {
    metadata.onChange((projectId) => {
      this.#versions.set(projectId, (this.#versions.get(projectId) ?? 0) + 1)
      this.#cache.invalidate(projectId)
    })
  }

  async search(ctx: RequestContext, projectId: string, q: string, limit: number): Promise<MetadataSearchHit[]> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const organizationId = tenant.principal.organizationId
    const embedding = await this.#embedding(tenant, projectId)
    const version = `${await this.#version(organizationId, projectId)}:${embedding?.key ?? ''}`
    const [shared, access] = await Promise.all([
      this.#cache.get(projectId, version, async () => {
        const all = await this.metadata.allTables(tenant, projectId, { unpoliced: true })
        const tables = all.filter((table) => table.use_with_ai && !table.missing)
        const index = buildIndex(tables, embedding?.embedder)
        this.#tables.set(index, tables)
        return index
      }),
      this.sql?.accessOf(tenant, projectId),
    ])
    const tables = this.#tables.get(shared) ?? []
    const hidden = hiddenKey(access, tables)
    const index =
      hidden === ''
        ? shared
        : await this.#policed.get(`${projectId}\u0000${hidden}`, version, async () =>
            buildIndex(withoutHiddenValues(access, tables), embedding?.embedder),
          )
    const hits = await this.#search(index, q, limit, embedding?.key)
    return hits.map((hit) => ({
      catalog: hit.doc.catalog,
      schema: hit.doc.schema,
      table: hit.doc.table,
      description: hit.doc.description,
      score: hit.score,
      matches: hit.matches.flatMap((match) => toMatches(hit.doc, match)),
    }))
  }

  /** Search works without embeddings: settings that cannot be read leave them out, with a warning. */
  async #embedding(tenant: TenantContext, projectId: string) {
    try {
      return (await this.embedderFor?.(tenant, projectId)) ?? null
    } catch (error) {
      this.logger?.warn({ err: error }, 'no embedding model: metadata search ranks by words alone')
      return null
    }
  }

  /**
   * With embeddings when there are any. A failing embedding model leaves the words to rank alone,
   * and is not asked again for a while: a model that hangs must not slow every search down.
   */
  async #search(index: TextIndex<TableDoc>, q: string, limit: number, embeddingKey: string | undefined) {
    if (embeddingKey === undefined) return index.search(q, { limit })
    if ((this.#embeddingDown.get(embeddingKey) ?? 0) > Date.now()) return index.searchText(q, { limit })
    try {
      return await index.search(q, { limit })
    } catch (error) {
      this.logger?.warn({ err: error }, 'embedding failed: metadata search ranks by words alone for a minute')
      this.#embeddingDown.set(embeddingKey, Date.now() + EMBEDDING_RETRY_MS)
      return index.searchText(q, { limit })
    }
  }

  /**
   * What the index is built from, as a fingerprint: this process's count of changes, the stored
   * rows (other processes' writes), and the age bucket.
   */
  async #version(organizationId: string, projectId: string): Promise<string> {
    const { rows } = await sql<{ fingerprint: string }>`
      select concat_ws(':',
        (select count(*) || '@' || coalesce(max(updated_at)::text, '') from table_metadata
          where organization_id = ${organizationId} and project_id = ${projectId}),
        (select count(*) || '@' || coalesce(max(updated_at)::text, '') from metadata_scopes
          where organization_id = ${organizationId} and project_id = ${projectId})
      ) as fingerprint`.execute(this.db)
    const local = this.#versions.get(projectId) ?? 0
    return `${local}:${rows[0]?.fingerprint ?? ''}:${Math.floor(Date.now() / MAX_INDEX_AGE_MS)}`
  }
}

function buildIndex(tables: readonly TableMetadata[], embedder: Embedder | undefined): TextIndex<TableDoc> {
  const index = createTextIndex<TableDoc>({
    id: (doc) => doc.id,
    fields: [
      { name: 'table', boost: 3, get: (doc) => doc.table },
      { name: 'description', boost: 1.5, get: (doc) => doc.description },
      { name: 'columns', boost: 1.5, get: (doc) => doc.columns },
      { name: 'column_descriptions', boost: 1, get: (doc) => doc.columnDescriptions },
      { name: 'categorical_values', boost: 1.5, get: (doc) => doc.categoricalValues },
      { name: 'schema', boost: 0.5, get: (doc) => doc.schema },
      { name: 'catalog', boost: 0.3, get: (doc) => doc.catalog },
    ],
    ...(embedder ? { embedder } : {}),
  })
  index.add(tables.map(toDoc))
  return index
}

function toDoc(table: TableMetadata): TableDoc {
  const present = table.columns.filter((column) => !column.missing)
  const described = present.filter((column) => column.description)
  const categoricalColumn = new Map<string, string>()
  for (const column of present) {
    if (!column.is_categorical) continue
    for (const value of column.categorical_values)
      if (!categoricalColumn.has(value)) categoricalColumn.set(value, column.name)
  }
  return {
    id: JSON.stringify([table.catalog, table.schema, table.table]),
    catalog: table.catalog,
    schema: table.schema,
    table: table.table,
    description: table.description,
    columns: present.map((column) => column.name),
    columnDescriptions: described.map((column) => column.description!),
    describedColumns: described.map((column) => column.name),
    categoricalValues: [...categoricalColumn.keys()],
    categoricalColumn,
  }
}

function toMatches(doc: TableDoc, match: TextMatch): MetadataSearchHit['matches'] {
  const field = FIELD_NAMES[match.field]
  if (!field) return []
  const terms = match.query
  switch (field) {
    case 'column':
      return match.matched.map((value) => ({ field, column: value, value, terms }))
    case 'column_description':
      return match.matched.map((value) => ({
        field,
        column: doc.describedColumns[doc.columnDescriptions.indexOf(value)] ?? null,
        value,
        terms,
      }))
    case 'categorical_value':
      return match.matched.map((value) => ({ field, column: doc.categoricalColumn.get(value) ?? null, value, terms }))
    case 'description':
      return [{ field, column: null, value: doc.description ?? '', terms }]
    default:
      return [{ field, column: null, value: doc[field], terms }]
  }
}
