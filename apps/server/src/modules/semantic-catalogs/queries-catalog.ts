import type { TenantContext } from '../../auth/principal.js'
import type { SourceCatalog } from '../../engine/connectors/connector.js'
import type { ViewDefinition } from '../../engine/catalog-handle.js'
import type { CatalogContributor, ContributedCatalog, ContributedCatalogEntry } from '../catalogs/catalogs.service.js'
import type { LocalTable } from '../../engine/local-tables.js'
import type { MaterializedQueriesService } from '../materialized-queries/materialized-queries.service.js'
import type { SavedQueriesService } from '../saved-queries/saved-queries.service.js'
import type { SavedQueryView } from '../saved-queries/query-views.js'

export const QUERIES_CATALOG = 'queries'
/** The schema of `queries` that holds materialized queries' stored results; no saved query may use it. */
export const MATERIALIZED_SCHEMA = 'materialized'

/**
 * The `queries` catalog of every project: each saved query is readable in SQL as
 * `queries.<schema>."<display name>"` (schema `main` unless the query sets one; names match
 * case-insensitively, and when two queries share a name the older one is read). The engine inlines
 * the query where it is named, so filters still reach the sources. Parameters take their defaults
 * (NULL for an optional one without a default); a query with a required parameter cannot be read so.
 * Its tables list no columns here: a saved query's columns are known only by planning it, which the
 * metadata refresh does (`GET …/metadata?catalog=queries`).
 */
export class QueriesCatalog implements CatalogContributor {
  constructor(
    private readonly savedQueries: SavedQueriesService,
    private readonly materialized: MaterializedQueriesService,
    /** Whether the caller is under a column mask or row filter of the project. */
    private readonly policed: (checked: TenantContext, projectId: string) => Promise<boolean>,
  ) {}

  async list(): Promise<ContributedCatalogEntry[]> {
    return [{ name: QUERIES_CATALOG, type: 'queries' }]
  }

  async resolve(checked: TenantContext, projectId: string, names: readonly string[]): Promise<ContributedCatalog[]> {
    if (!names.some((name) => name.toLowerCase() === QUERIES_CATALOG)) return []
    const byName = new Map<string, SavedQueryView>()
    // `main` is there even with no query in it, so an unknown name is worded as an unknown table.
    const schemas = new Map<string, SourceCatalog['schemas'][number]>([['main', { name: 'main', tables: [] }]])
    for (const view of await this.savedQueries.views(checked, projectId)) {
      const key = nameKey(view.schema, view.name)
      if (byName.has(key)) continue
      byName.set(key, view)
      const schemaKey = view.schema.toLowerCase()
      const schema = schemas.get(schemaKey) ?? { name: view.schema, tables: [] }
      schemas.set(schemaKey, schema)
      schema.tables.push({ name: view.name, kind: 'view', columns: [] })
    }
    // Stored results of materialized queries: `queries.materialized."<name>"`, read from their files.
    // A stored result was computed under its materializer's policies: a caller under policies of
    // their own reads the query itself instead, beneath theirs.
    const [tables, policed] = await Promise.all([
      this.materialized.tables(checked, projectId),
      this.policed(checked, projectId),
    ])
    const stored = new Map<string, LocalTable>()
    const recomputed = new Map<string, ViewDefinition>()
    const materialized: SourceCatalog['schemas'][number] = { name: MATERIALIZED_SCHEMA, tables: [] }
    for (const table of tables) {
      const key = table.name.toLowerCase()
      if (stored.has(key) || recomputed.has(key)) continue
      if (policed) recomputed.set(key, table.view)
      else stored.set(key, table.local)
      materialized.tables.push({
        name: table.name,
        kind: 'table',
        columns: table.columns.map((column) => ({
          name: column.name,
          type: column.type,
          source_type: column.type,
          nullable: true,
        })),
      })
    }
    if (materialized.tables.length > 0) schemas.set(MATERIALIZED_SCHEMA, materialized)
    return [
      {
        name: QUERIES_CATALOG,
        type: 'queries',
        catalog: { schemas: [...schemas.values()] },
        views: (schema, table) => {
          if (schema.toLowerCase() === MATERIALIZED_SCHEMA) return recomputed.get(table.toLowerCase())
          const view = byName.get(nameKey(schema, table))
          if (!view) return undefined
          return view.error === undefined ? { sql: view.sql } : { sql: '', error: view.error }
        },
        localTables: (schema, table) =>
          schema.toLowerCase() === MATERIALIZED_SCHEMA ? stored.get(table.toLowerCase()) : undefined,
      },
    ]
  }
}

const nameKey = (schema: string, table: string) => JSON.stringify([schema.toLowerCase(), table.toLowerCase()])
