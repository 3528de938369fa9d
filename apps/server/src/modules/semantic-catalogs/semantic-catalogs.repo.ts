import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { SemanticCatalogRow, SemanticColumn, SemanticTableRow } from '../../metadata/schema.js'

export interface NewSemanticTable {
  organization_id: string
  project_id: string
  catalog_id: string
  schema_name: string
  table_name: string
  query_id: string
  description: string | null
  columns: SemanticColumn[]
}

/** A catalog as a project sees it: its own, or shared with it by `project_id`'s owner. */
export interface VisibleCatalog extends SemanticCatalogRow {
  shared: boolean
}

export class SemanticCatalogsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insertCatalog(values: {
    organization_id: string
    project_id: string
    name: string
    description: string | null
  }): Promise<SemanticCatalogRow> {
    return this.db
      .insertInto('semantic_catalogs')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** The project's own catalogs and those shared with it, by name. */
  async visible(organizationId: string, projectId: string): Promise<VisibleCatalog[]> {
    const rows = await this.db
      .selectFrom('semantic_catalogs as c')
      .leftJoin('semantic_catalog_shares as s', (join) =>
        join.onRef('s.catalog_id', '=', 'c.id').on('s.project_id', '=', projectId),
      )
      .where('c.organization_id', '=', organizationId)
      .where((eb) => eb.or([eb('c.project_id', '=', projectId), eb('s.project_id', '=', projectId)]))
      .selectAll('c')
      .orderBy('c.name')
      .execute()
    return rows.map((row) => ({ ...row, shared: row.project_id !== projectId }))
  }

  async findVisible(organizationId: string, projectId: string, name: string): Promise<VisibleCatalog | undefined> {
    return (await this.visible(organizationId, projectId)).find((row) => row.name === name.toLowerCase())
  }

  async deleteCatalog(organizationId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('semantic_catalogs')
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }

  async tables(organizationId: string, catalogIds: readonly string[]): Promise<SemanticTableRow[]> {
    if (catalogIds.length === 0) return []
    return this.db
      .selectFrom('semantic_tables')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('catalog_id', 'in', catalogIds)
      .orderBy('schema_name')
      .orderBy('table_name')
      .execute()
  }

  async insertTable(values: NewSemanticTable): Promise<SemanticTableRow> {
    return this.db
      .insertInto('semantic_tables')
      .values({ id: newId(), ...values, columns: JSON.stringify(values.columns) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async deleteTable(organizationId: string, catalogId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('semantic_tables')
      .where('organization_id', '=', organizationId)
      .where('catalog_id', '=', catalogId)
      .where('id', '=', id)
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }

  /** Semantic tables over a saved query, in any project of the organization. */
  async tablesOverQuery(organizationId: string, queryId: string): Promise<SemanticTableRow[]> {
    return this.db
      .selectFrom('semantic_tables')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('query_id', '=', queryId)
      .execute()
  }

  async shares(catalogIds: readonly string[]): Promise<{ catalog_id: string; project_id: string }[]> {
    if (catalogIds.length === 0) return []
    return this.db
      .selectFrom('semantic_catalog_shares')
      .select(['catalog_id', 'project_id'])
      .where('catalog_id', 'in', catalogIds)
      .orderBy('created_at')
      .execute()
  }

  async insertShare(values: { catalog_id: string; organization_id: string; project_id: string }) {
    return this.db
      .insertInto('semantic_catalog_shares')
      .values(values)
      .onConflict((conflict) => conflict.columns(['catalog_id', 'project_id']).doNothing())
      .returningAll()
      .executeTakeFirst()
  }

  async deleteShare(organizationId: string, catalogId: string, projectId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('semantic_catalog_shares')
      .where('organization_id', '=', organizationId)
      .where('catalog_id', '=', catalogId)
      .where('project_id', '=', projectId)
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }
}
