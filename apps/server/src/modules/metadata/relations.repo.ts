import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { RelationOrigin, RelationType, TableRelationRow } from '../../metadata/schema.js'

/** What inference needs to know of one table: its columns and whether each is the table's whole primary key. */
export interface InferenceTable {
  catalog: string
  schema: string
  table: string
  columns: { name: string; type: string; is_primary: boolean; missing?: boolean }[]
}

export interface RelationEnds {
  from_catalog: string
  from_schema: string
  from_table: string
  from_columns: string[]
  to_catalog: string
  to_schema: string
  to_table: string
  to_columns: string[]
}

export interface NewRelation extends RelationEnds {
  organization_id: string
  project_id: string
  name: string | null
  type: RelationType
  origin: RelationOrigin
  confidence: number | null
  description: string | null
  dismissed?: boolean
}

export interface RelationChanges {
  type?: RelationType
  origin?: RelationOrigin
  confidence?: number | null
  from_columns?: string[]
  to_columns?: string[]
  description?: string | null
  name?: string | null
  dismissed?: boolean
}

export interface RelationFilter {
  catalog?: string | undefined
  origin?: RelationOrigin | undefined
  after?: string | undefined
}

/** An array as one `text[]` parameter (Kysely would otherwise write a list). */
const textArray = (values: string[]) => sql<string[]>`${sql.val(values)}::text[]`

/** One key for a relation's two ends, as the unique index sees them. */
export function endsKey(ends: RelationEnds): string {
  return JSON.stringify([
    ends.from_catalog,
    ends.from_schema,
    ends.from_table,
    ends.from_columns,
    ends.to_catalog,
    ends.to_schema,
    ends.to_table,
    ends.to_columns,
  ])
}

/** `table_relations`: relations between tables of one project. Dismissed rows are tombstones of deleted detected ones. */
export class RelationsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewRelation): Promise<TableRelationRow> {
    return this.db
      .insertInto('table_relations')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** Live (not dismissed) relations, from or to a table of `catalog` when given. */
  async list(organizationId: string, projectId: string, filter: RelationFilter, limit: number) {
    let query = this.#project(organizationId, projectId).selectAll().where('dismissed', '=', false)
    if (filter.catalog !== undefined) {
      const catalog = filter.catalog
      query = query.where((eb) => eb.or([eb('from_catalog', '=', catalog), eb('to_catalog', '=', catalog)]))
    }
    if (filter.origin !== undefined) query = query.where('origin', '=', filter.origin)
    if (filter.after !== undefined) query = query.where('id', '>', filter.after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async find(organizationId: string, projectId: string, id: string): Promise<TableRelationRow | undefined> {
    return this.#project(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** The row (live or dismissed) with exactly these ends. */
  async findByEnds(organizationId: string, projectId: string, ends: RelationEnds) {
    return this.#project(organizationId, projectId)
      .selectAll()
      .where('from_catalog', '=', ends.from_catalog)
      .where('from_schema', '=', ends.from_schema)
      .where('from_table', '=', ends.from_table)
      .where('from_columns', '=', textArray(ends.from_columns))
      .where('to_catalog', '=', ends.to_catalog)
      .where('to_schema', '=', ends.to_schema)
      .where('to_table', '=', ends.to_table)
      .where('to_columns', '=', textArray(ends.to_columns))
      .executeTakeFirst()
  }

  /** Every row (dismissed ones too) with a side in `catalog`, or whose `from` side is in it. */
  async touching(
    organizationId: string,
    projectId: string,
    catalogs: readonly string[],
    side: 'from' | 'either',
  ): Promise<TableRelationRow[]> {
    if (catalogs.length === 0) return []
    let query = this.#project(organizationId, projectId).selectAll()
    query =
      side === 'from'
        ? query.where('from_catalog', 'in', catalogs)
        : query.where((eb) => eb.or([eb('from_catalog', 'in', catalogs), eb('to_catalog', 'in', catalogs)]))
    return query.execute()
  }

  async update(
    organizationId: string,
    projectId: string,
    id: string,
    changes: RelationChanges,
  ): Promise<TableRelationRow | undefined> {
    return this.db
      .updateTable('table_relations')
      .set({ ...changes, updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
  }

  async delete(organizationId: string, projectId: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0
    const result = await this.db
      .deleteFrom('table_relations')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', 'in', ids)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  /** Present tables of the project with their columns (name, type, primary, missing), for cross-source inference. */
  async inferenceTables(organizationId: string, projectId: string): Promise<InferenceTable[]> {
    const rows = await this.db
      .selectFrom('table_metadata')
      .select(['catalog', 'schema_name', 'table_name', 'columns'])
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('status', '=', 'present')
      .orderBy('catalog')
      .orderBy('schema_name')
      .orderBy('table_name')
      .execute()
    return rows.map((row) => ({
      catalog: row.catalog,
      schema: row.schema_name,
      table: row.table_name,
      columns: row.columns.map((column) => ({
        name: column.name,
        type: column.type,
        is_primary: column.is_primary,
        missing: column.missing,
      })),
    }))
  }

  #project(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('table_relations')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
  }
}
