import { z } from 'zod'

import { Id, Name, Timestamp } from './common.js'

const RESERVED_CATALOGS = [
  'internal',
  'queries',
  'system',
  'information_schema',
  'pg_catalog',
  'main',
  'temp',
  'memory',
]

/** The SQL name of a catalog: a lowercase identifier that needs no quoting, unique in its project. */
export const CatalogName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase identifier: a-z, 0-9 and _, not starting with a digit')
  .refine((name) => !RESERVED_CATALOGS.includes(name), `is reserved (${RESERVED_CATALOGS.join(', ')})`)
  // The engine names catalogs it reaches through shared views so; a query may never write one.
  .refine((name) => !name.startsWith('__'), 'must not start with __ (reserved)')

/** Every kind of source the platform connects to: the server has one connector for each. */
export const SourceType = z.enum(['postgresql', 'mysql', 'sqlite', 'files']).meta({ id: 'SourceType' })
export type SourceType = z.infer<typeof SourceType>

/** Sources that answer SQL, and those whose files DuckDB reads itself. */
export const ConnectionCategory = z.enum(['database', 'files']).meta({ id: 'ConnectionCategory' })
export type ConnectionCategory = z.infer<typeof ConnectionCategory>

export const ConnectionType = z
  .object({
    type: SourceType,
    display_name: z.string(),
    category: ConnectionCategory,
    config_schema: z.record(z.string(), z.unknown()).meta({ description: 'JSON Schema of `config`' }),
    secret_fields: z.array(z.string()).meta({ description: 'Write-only fields of `config`' }),
  })
  .meta({ id: 'ConnectionType' })
export type ConnectionType = z.infer<typeof ConnectionType>

export const Connection = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    name: z.string(),
    type: z.string(),
    catalog: z.string(),
    config: z.record(z.string(), z.unknown()).meta({ description: 'Settings without the secret fields' }),
    secret_fields_set: z.array(z.string()).meta({ description: 'Secret fields that hold a value' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Connection' })
export type Connection = z.infer<typeof Connection>

const ConfigObject = z.record(z.string(), z.unknown(), { error: 'must be an object' })

export const CreateConnection = z
  .strictObject({
    name: Name,
    type: z.string().min(1, 'must not be empty').max(50),
    config: ConfigObject,
    catalog: CatalogName.optional().meta({ description: 'SQL name; derived from `name` when absent' }),
  })
  .meta({ id: 'CreateConnection' })
export type CreateConnection = z.infer<typeof CreateConnection>

export const UpdateConnection = z
  .strictObject({
    name: Name.optional(),
    catalog: CatalogName.optional(),
    config: ConfigObject.optional().meta({
      description: 'Fields to change; other fields, secrets included, keep their values',
    }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateConnection' })
export type UpdateConnection = z.infer<typeof UpdateConnection>

export const ConnectionTestResult = z
  .union([
    z.object({
      ok: z.literal(true),
      latency_ms: z.number(),
      schema_count: z.number().int(),
      table_count: z.number().int(),
    }),
    z.object({
      ok: z.literal(false),
      latency_ms: z.number(),
      error: z.object({ code: z.literal('connection_error'), message: z.string() }),
    }),
  ])
  .meta({ id: 'ConnectionTestResult' })
export type ConnectionTestResult = z.infer<typeof ConnectionTestResult>

export const Catalog = z
  .object({
    name: z.string(),
    type: z.string().meta({
      description:
        '`internal`, `queries` (saved queries by name), `semantic` (a semantic catalog), or the connection type',
    }),
    connection_id: Id.nullable(),
    read_only: z.boolean().meta({ description: 'Its tables are queries over other catalogs (queries, semantic)' }),
    owner_project_id: Id.optional().meta({
      description: 'Set on a semantic catalog another project of the organization shares with this one',
    }),
  })
  .meta({ id: 'Catalog' })
export type Catalog = z.infer<typeof Catalog>

export const CatalogSchema = z.object({ name: z.string(), table_count: z.number().int() }).meta({ id: 'CatalogSchema' })
export type CatalogSchema = z.infer<typeof CatalogSchema>

export const CatalogTable = z
  .object({ name: z.string(), kind: z.enum(['table', 'view']), column_count: z.number().int() })
  .meta({ id: 'CatalogTable' })
export type CatalogTable = z.infer<typeof CatalogTable>

export const Column = z
  .object({
    name: z.string(),
    type: z.string().meta({ description: 'DuckDB type, as SQL sees it' }),
    nullable: z.boolean(),
    source_type: z.string().meta({ description: 'The type as the source declares it' }),
  })
  .meta({ id: 'Column' })

export const TableDetail = z
  .object({
    catalog: z.string(),
    schema: z.string(),
    name: z.string(),
    kind: z.enum(['table', 'view']),
    columns: z.array(Column),
    refreshed_at: Timestamp.nullable(),
  })
  .meta({ id: 'TableDetail' })
export type TableDetail = z.infer<typeof TableDetail>

export const CatalogRefresh = z
  .object({
    catalog: z.string(),
    schema_count: z.number().int(),
    table_count: z.number().int(),
    refreshed_at: Timestamp,
  })
  .meta({ id: 'CatalogRefresh' })
export type CatalogRefresh = z.infer<typeof CatalogRefresh>

export const SqlRequest = z
  .strictObject({
    sql: z.string().min(1, 'must not be empty').max(1_000_000, 'must be at most 1,000,000 characters'),
    limit: z.number().int().min(1, 'must be at least 1').max(10_000, 'must be at most 10000').default(1000),
    timeout_ms: z.number().int().min(1, 'must be at least 1').max(600_000, 'must be at most 600000').default(30_000),
    fresh: z
      .boolean()
      .optional()
      .meta({ description: 'Read every table from its source, even one with a cached copy' }),
  })
  .meta({ id: 'SqlRequest' })
export type SqlRequest = z.infer<typeof SqlRequest>

export const ColumnPrivacy = z.enum(['public', 'masked', 'hidden']).meta({
  id: 'ColumnPrivacy',
  description:
    '`masked`: computed from a column a privacy policy masks for the caller; `hidden`: only from nullified ones',
})

export const ColumnPrivacyMap = z
  .record(z.string(), ColumnPrivacy)
  .meta({ description: "Each result column's privacy class under the caller's privacy policies" })

export const PrivateRowCount = z
  .number()
  .int()
  .nullable()
  .meta({
    description:
      "Rows of the tables the query read that the caller's row policies withhold (each table whole, not only " +
      'the rows the query asked for); null when no row policy applied',
  })

export const SqlResult = z
  .object({
    columns: z.array(z.object({ name: z.string(), type: z.string().meta({ description: 'DuckDB type' }) })),
    rows: z.array(z.array(z.unknown())).meta({
      description:
        'Rows as arrays in column order. Integers beyond 2^53 and decimals are strings; dates and timestamps ' +
        'ISO-8601 strings; blobs base64; intervals ISO-8601 durations.',
    }),
    row_count: z.number().int(),
    truncated: z.boolean().meta({ description: 'More rows matched than `limit`' }),
    column_privacy: ColumnPrivacyMap,
    stats: z.object({
      elapsed_ms: z.number(),
      rows_scanned: z.number().int(),
      sources: z.array(
        z.object({
          catalog: z.string(),
          table: z.string(),
          remote_sql: z.string(),
          rows: z.number().int(),
          bytes: z
            .number()
            .int()
            .meta({
              description:
                'Bytes read from the source, estimated: rows times the width of the columns read (booleans, integers, ' +
                'floats, dates and times at their size; text and any other value at 16 bytes)',
            }),
          cached: z.literal(true).optional().meta({ description: 'Read from the cached copy of the table' }),
          cached_age_seconds: z.number().int().optional().meta({ description: 'How old that copy is' }),
        }),
      ),
    }),
  })
  .meta({ id: 'SqlResult' })
export type SqlResult = z.infer<typeof SqlResult>
