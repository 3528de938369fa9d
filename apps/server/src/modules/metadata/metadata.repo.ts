import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type {
  MetadataScopeRow,
  MetadataSource,
  StoredMetadataColumn,
  TableMetadataRow,
  TableRelationRow,
} from '../../metadata/schema.js'

/** A table as SQL names it. */
export interface TableKey {
  catalog: string
  schema: string
  table: string
}

export interface TableMetadataValues {
  description: string | null
  description_source: MetadataSource | null
  use_with_ai: boolean | null
  row_estimate: number | string | null
  columns: StoredMetadataColumn[]
  status: 'present' | 'missing'
  refreshed_at: Date | null
}

export interface ScopeFilter {
  catalog?: string | undefined
  schema?: string | undefined
  table?: string | undefined
}

/** `table_metadata` and `metadata_scopes` of one project; every read names the organization and the project. */
export class MetadataRepo {
  constructor(private readonly db: MetadataDb) {}

  /** The keys and status of every stored table matching the filter, in name order (cheap: no columns). */
  async keys(organizationId: string, projectId: string, filter: ScopeFilter) {
    return this.#ofProject(organizationId, projectId, filter)
      .select(['catalog', 'schema_name', 'table_name', 'status'])
      .orderBy('catalog')
      .orderBy('schema_name')
      .orderBy('table_name')
      .execute()
  }

  /** Full rows of the named tables. `lock` takes row locks (inside a transaction) against concurrent writers. */
  async rows(
    organizationId: string,
    projectId: string,
    keys: readonly TableKey[],
    options: { lock?: boolean } = {},
  ): Promise<TableMetadataRow[]> {
    if (keys.length === 0) return []
    const out: TableMetadataRow[] = []
    // Bounded IN lists: a batch of tables is a few hundred at most.
    for (let start = 0; start < keys.length; start += 500) {
      const slice = keys.slice(start, start + 500)
      let query = this.db
        .selectFrom('table_metadata')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('project_id', '=', projectId)
        .where((eb) =>
          eb.or(
            slice.map((key) =>
              eb.and([
                eb('catalog', '=', key.catalog),
                eb('schema_name', '=', key.schema),
                eb('table_name', '=', key.table),
              ]),
            ),
          ),
        )
      if (options.lock) query = query.forUpdate()
      out.push(...(await query.execute()))
    }
    return out
  }

  async row(organizationId: string, projectId: string, key: TableKey, options: { lock?: boolean } = {}) {
    const [row] = await this.rows(organizationId, projectId, [key], options)
    return row
  }

  /** Inserts or replaces the stored metadata of one table. */
  async upsert(
    organizationId: string,
    projectId: string,
    key: TableKey,
    values: TableMetadataValues,
  ): Promise<TableMetadataRow> {
    const now = new Date()
    const stored = {
      description: values.description,
      description_source: values.description_source,
      use_with_ai: values.use_with_ai,
      row_estimate: values.row_estimate,
      columns: JSON.stringify(values.columns),
      status: values.status,
      refreshed_at: values.refreshed_at,
      updated_at: now,
    }
    return this.db
      .insertInto('table_metadata')
      .values({
        id: newId(),
        organization_id: organizationId,
        project_id: projectId,
        catalog: key.catalog,
        schema_name: key.schema,
        table_name: key.table,
        ...stored,
      })
      .onConflict((conflict) =>
        conflict.columns(['project_id', 'catalog', 'schema_name', 'table_name']).doUpdateSet(stored),
      )
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /**
   * After a refresh of a catalog: its tables that this refresh did not see (refreshed at another
   * time or never) are marked missing, with their columns. Returns how many. A table written after
   * the refresh listed its sources (`refreshedAt`) is left alone: it may have been created since.
   */
  async markMissing(organizationId: string, projectId: string, catalog: string, refreshedAt: Date): Promise<number> {
    const rows = await this.db
      .updateTable('table_metadata')
      .set({
        status: 'missing',
        columns: sql`(select coalesce(jsonb_agg(c || '{"missing": true}'::jsonb), '[]'::jsonb) from jsonb_array_elements(columns) c)`,
        updated_at: new Date(),
      })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('catalog', '=', catalog)
      .where('status', '=', 'present')
      .where((eb) => eb.or([eb('refreshed_at', 'is', null), eb('refreshed_at', '<>', refreshedAt)]))
      .where('updated_at', '<', refreshedAt)
      .returning('id')
      .execute()
    return rows.length
  }

  /** Relations from or to any of the tables (dismissed ones left out). */
  async relationsOf(organizationId: string, projectId: string, keys: readonly TableKey[]): Promise<TableRelationRow[]> {
    if (keys.length === 0) return []
    const catalogs = [...new Set(keys.map((key) => key.catalog))]
    const tables = [...new Set(keys.map((key) => key.table))]
    const wanted = new Set(keys.map((key) => JSON.stringify([key.catalog, key.schema, key.table])))
    // A coarse filter in SQL (catalog and table names), the exact one here.
    const rows = await this.db
      .selectFrom('table_relations')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('dismissed', '=', false)
      .where((eb) =>
        eb.or([
          eb.and([eb('from_catalog', 'in', catalogs), eb('from_table', 'in', tables)]),
          eb.and([eb('to_catalog', 'in', catalogs), eb('to_table', 'in', tables)]),
        ]),
      )
      .orderBy('id')
      .execute()
    return rows.filter(
      (row) =>
        wanted.has(JSON.stringify([row.from_catalog, row.from_schema, row.from_table])) ||
        wanted.has(JSON.stringify([row.to_catalog, row.to_schema, row.to_table])),
    )
  }

  async scopes(organizationId: string, projectId: string): Promise<MetadataScopeRow[]> {
    return this.db
      .selectFrom('metadata_scopes')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .execute()
  }

  /** `schema` '' is the whole catalog; `useWithAi` null removes the setting (inherit). */
  async setScope(
    organizationId: string,
    projectId: string,
    catalog: string,
    schema: string,
    useWithAi: boolean | null,
  ) {
    if (useWithAi === null) {
      await this.db
        .deleteFrom('metadata_scopes')
        .where('organization_id', '=', organizationId)
        .where('project_id', '=', projectId)
        .where('catalog', '=', catalog)
        .where('schema_name', '=', schema)
        .execute()
      return
    }
    await this.db
      .insertInto('metadata_scopes')
      .values({
        id: newId(),
        organization_id: organizationId,
        project_id: projectId,
        catalog,
        schema_name: schema,
        use_with_ai: useWithAi,
      })
      .onConflict((conflict) =>
        conflict
          .columns(['project_id', 'catalog', 'schema_name'])
          .doUpdateSet({ use_with_ai: useWithAi, updated_at: new Date() }),
      )
      .execute()
  }

  #ofProject(organizationId: string, projectId: string, filter: ScopeFilter) {
    let query = this.db
      .selectFrom('table_metadata')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
    if (filter.catalog !== undefined) query = query.where('catalog', '=', filter.catalog)
    if (filter.schema !== undefined) query = query.where('schema_name', '=', filter.schema)
    if (filter.table !== undefined) query = query.where('table_name', '=', filter.table)
    return query
  }
}
