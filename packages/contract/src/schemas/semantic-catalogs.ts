import { z } from 'zod'

import { Description, Id, Timestamp } from './common.js'
import { CatalogName } from './connections.js'
import { ColumnLineage } from './metadata.js'

/** A schema or table name of a semantic catalog: an identifier, matched case-insensitively in SQL. */
export const SemanticName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be an identifier: letters, digits and _, not starting with a digit')

export const CreateSemanticCatalog = z
  .strictObject({
    name: CatalogName.meta({ description: 'The catalog’s SQL name, unique among the project’s catalogs' }),
    description: Description.optional(),
  })
  .meta({ id: 'CreateSemanticCatalog' })
export type CreateSemanticCatalog = z.infer<typeof CreateSemanticCatalog>

export const SemanticColumn = z
  .object({
    name: z.string(),
    type: z.string().meta({ description: 'DuckDB type, as SQL sees it' }),
    description: z.string().nullable(),
    lineage: z.array(ColumnLineage).meta({
      description: 'The columns of the catalogs below it that it passes on unchanged (empty when computed)',
    }),
  })
  .meta({ id: 'SemanticColumn' })
export type SemanticColumn = z.infer<typeof SemanticColumn>

export const SemanticTable = z
  .object({
    id: Id,
    catalog: z.string(),
    schema: z.string(),
    table: z.string(),
    query_id: Id.meta({ description: 'The saved query it reads: no data is copied' }),
    description: z.string().nullable(),
    columns: z.array(SemanticColumn).meta({ description: 'As the query returned them when it was published' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'SemanticTable' })
export type SemanticTable = z.infer<typeof SemanticTable>

export const SemanticCatalog = z
  .object({
    id: Id,
    name: z.string(),
    description: z.string().nullable(),
    project_id: Id.meta({ description: 'The project that owns it' }),
    read_only: z.boolean().meta({ description: 'Shared by another project: readable here, changed only there' }),
    shared_with: z.array(Id).meta({ description: 'Projects it is shared with (empty when read-only)' }),
    table_count: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'SemanticCatalog' })
export type SemanticCatalog = z.infer<typeof SemanticCatalog>

export const SemanticCatalogDetail = SemanticCatalog.extend({ tables: z.array(SemanticTable) }).meta({
  id: 'SemanticCatalogDetail',
})
export type SemanticCatalogDetail = z.infer<typeof SemanticCatalogDetail>

export const PublishSemanticTable = z
  .strictObject({
    schema: SemanticName.default('main').meta({ description: 'Schema of the table in the catalog (default main)' }),
    table: SemanticName.meta({ description: 'In SQL: `<catalog>.<schema>.<table>`' }),
    query_id: Id.meta({
      description: 'A saved query of the project; each of its parameters needs a default (or to be optional)',
    }),
    description: Description.optional().meta({ description: 'Defaults to the saved query’s description' }),
  })
  .meta({ id: 'PublishSemanticTable' })
export type PublishSemanticTable = z.infer<typeof PublishSemanticTable>

export const ShareSemanticCatalog = z
  .strictObject({ project_id: Id.meta({ description: 'A project of the same organization' }) })
  .meta({ id: 'ShareSemanticCatalog' })
export type ShareSemanticCatalog = z.infer<typeof ShareSemanticCatalog>

export const SemanticCatalogShare = z
  .object({ catalog: z.string(), project_id: Id, created_at: Timestamp })
  .meta({ id: 'SemanticCatalogShare' })
export type SemanticCatalogShare = z.infer<typeof SemanticCatalogShare>
