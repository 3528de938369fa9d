import { z } from 'zod'

import { Description, Id, Text, Timestamp } from './common.js'

const atLeastOneField = (body: object) => Object.keys(body).length > 0
const atLeastOneFieldMessage = { message: 'provide at least one field to change' }

/**
 * A dataset, table or column name as SQL writes it: a lowercase identifier that needs no quoting.
 * Datasets are the schemas of the `internal` catalog, so their names are SQL names too.
 */
export const SqlIdentifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase identifier: a-z, 0-9 and _, not starting with a digit')

const RESERVED_DATASETS = ['main', 'information_schema', 'pg_catalog', 'temp']

export const DatasetName = SqlIdentifier.refine(
  (name) => !RESERVED_DATASETS.includes(name),
  `is reserved (${RESERVED_DATASETS.join(', ')})`,
)

/**
 * Column names keep the case and characters a file or a source gave them (`Order ID` is a fine
 * column); only what SQL cannot hold, or what would make two columns ambiguous, is refused.
 */
export const ColumnName = z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters').pipe(Text)

export const ColumnTypeName = z
  .string()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .meta({
    description:
      'A DuckDB type name: BIGINT, INTEGER, SMALLINT, HUGEINT, DOUBLE, REAL, DECIMAL(18,2), VARCHAR, BOOLEAN, DATE, ' +
      'TIME, TIMESTAMP, TIMESTAMPTZ, JSON, UUID, BLOB, INTERVAL, or a list such as VARCHAR[]',
    example: 'DECIMAL(18,2)',
  })

export const TableColumn = z
  .object({
    name: z.string(),
    type: z.string().meta({ description: 'DuckDB type, as SQL sees it' }),
    nullable: z.boolean(),
    description: z.string().nullable(),
  })
  .meta({ id: 'TableColumn' })
export type TableColumn = z.infer<typeof TableColumn>

export const ColumnDefinition = z
  .strictObject({
    name: ColumnName,
    type: ColumnTypeName,
    nullable: z.boolean().default(true),
    description: Description.optional(),
  })
  .meta({ id: 'ColumnDefinition' })
export type ColumnDefinition = z.infer<typeof ColumnDefinition>

export const Dataset = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    name: z.string().meta({ description: 'The schema name in SQL: `internal.<name>.<table>`' }),
    description: z.string().nullable(),
    table_count: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Dataset' })
export type Dataset = z.infer<typeof Dataset>

export const CreateDataset = z
  .strictObject({ name: DatasetName, description: Description.optional() })
  .meta({ id: 'CreateDataset' })
export type CreateDataset = z.infer<typeof CreateDataset>

export const UpdateDataset = z
  .strictObject({ name: DatasetName.optional(), description: Description.nullable().optional() })
  .refine(atLeastOneField, atLeastOneFieldMessage)
  .meta({ id: 'UpdateDataset' })
export type UpdateDataset = z.infer<typeof UpdateDataset>

export const DatasetTable = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    dataset_id: Id,
    name: z.string(),
    description: z.string().nullable(),
    sql_name: z.string().meta({ description: 'How SQL names it', example: 'internal.sales.orders' }),
    schema: z.array(TableColumn),
    row_count: z.number().int(),
    size_bytes: z.number().int(),
    version: z.number().int().meta({ description: 'Grows by one with every import or column change' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'DatasetTable' })
export type DatasetTable = z.infer<typeof DatasetTable>

const Columns = z
  .array(ColumnDefinition)
  .min(1, 'must have at least one column')
  .max(1000, 'must have at most 1000 columns')

export const CreateDatasetTable = z
  .strictObject({ name: SqlIdentifier, description: Description.optional(), schema: Columns })
  .meta({ id: 'CreateDatasetTable' })
export type CreateDatasetTable = z.infer<typeof CreateDatasetTable>

export const UpdateDatasetTable = z
  .strictObject({ name: SqlIdentifier.optional(), description: Description.nullable().optional() })
  .refine(atLeastOneField, atLeastOneFieldMessage)
  .meta({ id: 'UpdateDatasetTable' })
export type UpdateDatasetTable = z.infer<typeof UpdateDatasetTable>

export const AddColumn = ColumnDefinition.meta({ id: 'AddColumn' })
export type AddColumn = z.infer<typeof AddColumn>

export const UpdateColumn = z
  .strictObject({
    name: ColumnName.optional(),
    type: ColumnTypeName.optional().meta({
      description: 'Every stored value is cast; a value that cannot be is a 422',
    }),
    nullable: z.boolean().optional(),
    description: Description.nullable().optional(),
  })
  .refine(atLeastOneField, atLeastOneFieldMessage)
  .meta({ id: 'UpdateColumn' })
export type UpdateColumn = z.infer<typeof UpdateColumn>

export const IMPORT_FORMATS = ['csv', 'tsv', 'json', 'ndjson', 'parquet'] as const
export const ImportFormat = z.enum(IMPORT_FORMATS)
export type ImportFormat = z.infer<typeof ImportFormat>
export const ImportMode = z.enum(['append', 'replace'])
export type ImportMode = z.infer<typeof ImportMode>

const Flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')])
const OneCharacter = z.string().min(1, 'must be one character').max(1, 'must be one character')

/** The options of an upload: multipart fields beside `file`. */
export const UploadImportOptions = z
  .strictObject({
    format: ImportFormat.optional().meta({ description: 'Detected from the file name, then the content, when absent' }),
    mode: ImportMode.default('append'),
    header: z
      .union([z.enum(['auto']), Flag])
      .default('auto')
      .meta({ description: 'CSV/TSV: whether the first line names the columns' }),
    delimiter: OneCharacter.optional().meta({ description: 'CSV/TSV: `,` for CSV and tab for TSV by default' }),
    quote: OneCharacter.optional(),
    escape: OneCharacter.optional(),
    null_string: z
      .string()
      .max(100)
      .optional()
      .meta({ description: 'CSV/TSV: the text that means NULL (default: an empty unquoted field)' }),
    ignore_extra_columns: Flag.default(false).meta({
      description: 'Skip columns of the file that the table does not have, instead of refusing the import',
    }),
  })
  .meta({ id: 'UploadImportOptions' })
export type UploadImportOptions = z.infer<typeof UploadImportOptions>

export const SqlImport = z
  .strictObject({
    sql: z.string().min(1, 'must not be empty').max(1_000_000, 'must be at most 1,000,000 characters'),
    mode: ImportMode.default('append'),
    ignore_extra_columns: z.boolean().default(false),
    timeout_ms: z.number().int().min(1).max(3_600_000).default(600_000),
  })
  .meta({ id: 'SqlImport' })
export type SqlImport = z.infer<typeof SqlImport>

export const RejectedRow = z
  .object({
    line: z.number().int().nullable().meta({ description: 'Line of the file where the row starts (CSV, TSV)' }),
    row: z.number().int().nullable().meta({ description: 'Number of the record in the file, from 1 (JSON, Parquet)' }),
    column: z.string().nullable(),
    value: z.string().nullable(),
    reason: z.string(),
  })
  .meta({ id: 'RejectedRow' })
export type RejectedRow = z.infer<typeof RejectedRow>

export const ImportJob = z
  .object({
    id: Id,
    project_id: Id,
    dataset_id: Id,
    table_id: Id,
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    source: z.enum(['upload', 'sql']),
    mode: ImportMode,
    format: ImportFormat.nullable(),
    file_name: z.string().nullable(),
    size_bytes: z.number().int().nullable(),
    sql: z.string().nullable(),
    progress: z.number().min(0).max(1).meta({ description: 'From 0 to 1' }),
    rows_written: z.number().int().nullable(),
    error: z
      .object({ code: z.string(), message: z.string(), rejected_rows: z.array(RejectedRow) })
      .nullable()
      .meta({ description: 'Why it failed; `rejected_rows` holds up to 10 rows that did not fit the schema' }),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    ended_at: Timestamp.nullable(),
  })
  .meta({ id: 'ImportJob' })
export type ImportJob = z.infer<typeof ImportJob>
