import type { MetadataDb } from './database.js'

/** Tables whose rows belong to one project of one organization and are archived rather than deleted. */
export type ProjectRowTable = 'connections' | 'saved_queries' | 'dataset_tables' | 'golden_sql'

/**
 * Archives one live row of a project: false when there is none (unknown, another tenant's, or
 * archived already), which callers answer with 404.
 */
export async function archiveProjectRow(
  db: MetadataDb,
  table: ProjectRowTable,
  organizationId: string,
  projectId: string,
  id: string,
): Promise<boolean> {
  const now = new Date()
  const result = await db
    .updateTable(table)
    .set({ archived_at: now, updated_at: now })
    .where('organization_id', '=', organizationId)
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .where('archived_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}
