import { z } from 'zod'

import { Description, FilterText, Id, ListQuery, Text, Timestamp } from './common.js'
import { JobError, JobStatus } from './jobs.js'

export const METADATA_SOURCES = ['user', 'detected', 'generated'] as const
export const MetadataSource = z.enum(METADATA_SOURCES).meta({
  id: 'MetadataSource',
  description:
    'Who wrote it: `user` (a person, through the API), `detected` (read from the source on a refresh) or ' +
    '`generated` (by a generator such as the AI)',
})
export type MetadataSource = z.infer<typeof MetadataSource>

export const RELATION_TYPES = ['MANY_TO_ONE', 'ONE_TO_MANY', 'ONE_TO_ONE'] as const
export const RelationType = z.enum(RELATION_TYPES).meta({ id: 'RelationType' })
export type RelationType = z.infer<typeof RelationType>

export const RELATION_ORIGINS = ['foreign_key', 'inferred', 'manual'] as const
export const RelationOrigin = z.enum(RELATION_ORIGINS).meta({
  id: 'RelationOrigin',
  description:
    '`foreign_key` read from the source, `inferred` proposed by name and value overlap (with a confidence), ' +
    '`manual` added by a person',
})
export type RelationOrigin = z.infer<typeof RelationOrigin>

/** A table as SQL names it: `<catalog>.<schema>.<table>`. */
export const TableRef = z
  .object({ catalog: z.string(), schema: z.string(), table: z.string() })
  .meta({ id: 'TableRef' })
export type TableRef = z.infer<typeof TableRef>

export const MetadataRelation = z
  .object({
    id: Id,
    name: z.string().nullable().meta({ description: 'The foreign key’s name in the source, when it has one' }),
    from: TableRef.extend({ columns: z.array(z.string()) }),
    to: TableRef.extend({ columns: z.array(z.string()) }),
    type: RelationType,
    origin: RelationOrigin,
    confidence: z.number().nullable().meta({ description: '0–1 for inferred relations; null otherwise' }),
    description: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'MetadataRelation' })
export type MetadataRelation = z.infer<typeof MetadataRelation>

export const ColumnLineage = z
  .object({ catalog: z.string(), schema: z.string(), table: z.string(), column: z.string() })
  .meta({ id: 'ColumnLineage' })

export const MetadataColumn = z
  .object({
    name: z.string(),
    type: z.string().meta({ description: 'The SQL (DuckDB) type' }),
    description: z.string().nullable(),
    description_source: MetadataSource.nullable(),
    is_primary: z.boolean().meta({ description: 'Part of the table’s primary key' }),
    is_primary_source: MetadataSource.nullable().meta({
      description: '`detected` from the source’s keys, or `user` when set through PUT (then a refresh keeps it)',
    }),
    is_categorical: z.boolean(),
    categorical_values: z.array(z.string()).meta({ description: 'The most frequent values, most frequent first' }),
    sample_values: z.array(z.string()).meta({ description: 'A few distinct non-null values read on refresh' }),
    lineage: z
      .array(ColumnLineage)
      .optional()
      .meta({ description: 'The source columns it is computed from (views and semantic tables)' }),
    missing: z.boolean().meta({
      description: 'The column is gone from the source: what was written about it is kept until it is back',
    }),
  })
  .meta({ id: 'MetadataColumn' })
export type MetadataColumn = z.infer<typeof MetadataColumn>

export const TableMetadata = z
  .object({
    catalog: z.string(),
    schema: z.string(),
    table: z.string(),
    description: z.string().nullable(),
    source: MetadataSource.nullable().meta({ description: 'Who wrote the description; null when there is none' }),
    use_with_ai: z.boolean().meta({
      description: 'Effective value: the table’s own setting, else its schema’s, else its catalog’s, else true',
    }),
    use_with_ai_source: z.enum(['table', 'schema', 'catalog', 'default']).meta({
      description: 'Where `use_with_ai` comes from',
    }),
    row_estimate: z.number().int().nullable().meta({ description: 'Rows, from the source’s statistics' }),
    missing: z.boolean().meta({ description: 'The table is gone from its catalog; its metadata is kept' }),
    columns: z.array(MetadataColumn),
    relations: z
      .array(MetadataRelation)
      .meta({ description: 'Relations from or to this table (dismissed ones are not listed)' }),
    refreshed_at: Timestamp.nullable().meta({ description: 'Last metadata refresh; null when never refreshed' }),
    updated_at: Timestamp.nullable(),
  })
  .meta({ id: 'TableMetadata' })
export type TableMetadata = z.infer<typeof TableMetadata>

export const MetadataListQuery = ListQuery.extend({
  catalog: FilterText.optional(),
  schema: FilterText.optional(),
  table: FilterText.optional(),
})
export type MetadataListQuery = z.infer<typeof MetadataListQuery>

const atLeastOneField = (body: object) => Object.keys(body).length > 0

export const UpdateMetadataColumn = z
  .strictObject({
    name: z.string().min(1, 'must not be empty').max(1000).pipe(Text),
    description: Description.nullable().optional(),
    is_primary: z.boolean().optional(),
    is_categorical: z.boolean().optional(),
  })
  .meta({ id: 'UpdateMetadataColumn' })

export const UpdateTableMetadata = z
  .strictObject({
    description: Description.nullable().optional(),
    use_with_ai: z
      .boolean()
      .nullable()
      .optional()
      .meta({ description: 'null: inherit from the schema, then the catalog' }),
    columns: z
      .array(UpdateMetadataColumn)
      .max(5000)
      .optional()
      .meta({ description: 'Only the columns named change, and only the fields given; the rest is kept' }),
  })
  .refine(atLeastOneField, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateTableMetadata' })
export type UpdateTableMetadata = z.infer<typeof UpdateTableMetadata>

export const UpdateMetadataScope = z
  .strictObject({
    use_with_ai: z
      .boolean()
      .nullable()
      .meta({ description: 'For every table below, unless a schema or table says otherwise; null: inherit' }),
  })
  .meta({ id: 'UpdateMetadataScope' })
export type UpdateMetadataScope = z.infer<typeof UpdateMetadataScope>

export const MetadataScope = z
  .object({
    catalog: z.string(),
    schema: z.string().nullable(),
    use_with_ai: z.boolean().nullable(),
  })
  .meta({ id: 'MetadataScope' })
export type MetadataScope = z.infer<typeof MetadataScope>

export const CallbackUrl = z
  .string()
  .max(2000, 'must be at most 2000 characters')
  .pipe(Text)
  .superRefine((value, ctx) => {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      ctx.addIssue({ code: 'custom', input: value, message: 'must be an absolute http or https URL' })
      return
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', input: value, message: 'must be an http or https URL' })
    } else if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', input: value, message: 'must not carry credentials' })
    }
  })

export const StartMetadataRefresh = z
  .strictObject({
    catalog: z.string().min(1).max(200).pipe(Text).optional().meta({
      description: 'Only this catalog; every catalog of the project when absent',
    }),
    callback_url: CallbackUrl.optional().meta({
      description:
        'Receives a POST with JSON `{job_id, project_id, status, error?, tables?, ended_at}` when the refresh ends, ' +
        'signed in `X-Tributary-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with the project’s ' +
        'callback secret (`GET /projects/{project_id}/metadata/callback-secret`)',
    }),
  })
  .meta({ id: 'StartMetadataRefresh' })
export type StartMetadataRefresh = z.infer<typeof StartMetadataRefresh>

export const MetadataRefreshProgress = z
  .object({
    catalogs_total: z.number().int(),
    catalogs_done: z.number().int(),
    tables_total: z.number().int(),
    tables_done: z.number().int(),
    catalog: z.string().nullable().meta({ description: 'The catalog being read' }),
  })
  .meta({ id: 'MetadataRefreshProgress' })

export const MetadataRefreshJob = z
  .object({
    id: Id,
    project_id: Id,
    status: JobStatus,
    catalog: z.string().nullable(),
    callback_url: z.string().nullable(),
    progress: MetadataRefreshProgress.nullable(),
    result: z
      .object({
        tables: z.number().int(),
        missing_tables: z.number().int(),
        missing_columns: z.number().int(),
        relations: z.number().int().nullable(),
        callback: z.object({ status: z.number().int().nullable(), error: z.string().optional() }).nullable().optional(),
      })
      .nullable(),
    error: JobError.optional(),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    ended_at: Timestamp.nullable(),
  })
  .meta({ id: 'MetadataRefreshJob' })
export type MetadataRefreshJob = z.infer<typeof MetadataRefreshJob>

export const MetadataCallbackSecret = z
  .object({
    secret: z.string().meta({ description: 'The HMAC-SHA256 key of the project’s refresh callbacks (hex)' }),
    header: z.literal('X-Tributary-Signature'),
    algorithm: z.literal('sha256'),
  })
  .meta({ id: 'MetadataCallbackSecret' })

export const MetadataSearchQuery = z.strictObject({
  q: z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').pipe(Text),
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100')
    .default(10),
})
export type MetadataSearchQuery = z.infer<typeof MetadataSearchQuery>

export const MetadataSearchMatch = z
  .object({
    field: z.enum(['table', 'schema', 'catalog', 'description', 'column', 'column_description', 'categorical_value']),
    column: z.string().nullable().meta({ description: 'The column that matched, for column fields' }),
    value: z.string().meta({ description: 'What matched: a name, a description or a categorical value' }),
    terms: z.array(z.string()).meta({ description: 'The query terms (after stemming and synonyms) that matched' }),
  })
  .meta({ id: 'MetadataSearchMatch' })

export const MetadataSearchHit = z
  .object({
    catalog: z.string(),
    schema: z.string(),
    table: z.string(),
    description: z.string().nullable(),
    score: z.number(),
    matches: z.array(MetadataSearchMatch),
  })
  .meta({ id: 'MetadataSearchHit' })
export type MetadataSearchHit = z.infer<typeof MetadataSearchHit>
