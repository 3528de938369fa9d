import { z } from 'zod'

import { Id, Text, Timestamp } from './common.js'
import { JobStatus } from './jobs.js'
import { Schedule } from './schedules.js'

export const CACHE_STATUSES = ['NOT_INITIALIZED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const
export const CacheStatus = z.enum(CACHE_STATUSES).meta({
  id: 'CacheStatus',
  description:
    'NOT_INITIALIZED until a refresh first completes; a FAILED or CANCELLED refresh keeps the last good copy readable',
})
export type CacheStatus = z.infer<typeof CacheStatus>

export const CacheRefreshMode = z.enum(['full', 'incremental']).meta({ id: 'CacheRefreshMode' })
export type CacheRefreshMode = z.infer<typeof CacheRefreshMode>

/** A catalog, schema, table or column name as the catalog lists it. */
const SourceName = z.string().min(1, 'must not be empty').max(500, 'must be at most 500 characters').pipe(Text)

export const CacheIncremental = z
  .strictObject({
    cursor_column: SourceName.meta({
      description:
        'An orderable column that grows with every insert and update (an id, `updated_at`): a refresh reads ' +
        'only rows whose value is greater than the largest one cached, with the filter run by the source',
    }),
    primary_key: z
      .union([SourceName, z.array(SourceName).min(1, 'must name at least one column').max(16)])
      .transform((key) => (typeof key === 'string' ? [key] : key))
      .optional()
      .meta({
        description:
          'Column(s) identifying a row: rows read again replace the cached row of the same key. Without it, ' +
          'rows are only appended.',
      }),
    soft_delete_column: SourceName.optional().meta({
      description:
        'A column marking deleted rows (true, or not null for a non-boolean column such as `deleted_at`): such ' +
        'rows leave the cache on an incremental refresh. Without it, rows deleted at the source leave the ' +
        'cache only on a full refresh.',
    }),
  })
  .meta({ id: 'CacheIncremental' })
export type CacheIncremental = z.infer<typeof CacheIncremental>

export const CreateCache = z
  .strictObject({
    catalog: SourceName,
    schema: SourceName,
    table: SourceName,
    full_refresh_schedule: Schedule.optional(),
    incremental_schedule: Schedule.optional(),
    incremental: CacheIncremental.optional(),
  })
  .meta({ id: 'CreateCache' })
export type CreateCache = z.input<typeof CreateCache>
export type CreateCacheParsed = z.output<typeof CreateCache>

export const CreateCacheBatch = z
  .strictObject({
    tables: z.array(CreateCache).min(1, 'must name at least one table').max(100, 'must name at most 100 tables'),
  })
  .meta({ id: 'CreateCacheBatch' })
export type CreateCacheBatch = z.input<typeof CreateCacheBatch>

export const UpdateCache = z
  .strictObject({
    full_refresh_schedule: Schedule.optional(),
    incremental_schedule: Schedule.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one schedule to change' })
  .meta({ id: 'UpdateCache' })
export type UpdateCache = z.infer<typeof UpdateCache>

export const RefreshCache = z.strictObject({ mode: CacheRefreshMode.default('full') }).meta({ id: 'RefreshCache' })
export type RefreshCache = z.input<typeof RefreshCache>

const RunCounts = {
  rows_inserted: z.number().int(),
  rows_updated: z.number().int(),
  rows_deleted: z.number().int(),
}

const RunError = z.object({ code: z.string(), message: z.string() })

export const Cache = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    catalog: z.string(),
    schema: z.string(),
    table: z.string(),
    incremental: z
      .object({
        cursor_column: z.string(),
        primary_key: z.array(z.string()).nullable(),
        soft_delete_column: z.string().nullable(),
      })
      .nullable(),
    full_refresh_schedule: Schedule,
    incremental_schedule: Schedule,
    next_full_refresh_at: Timestamp.nullable(),
    next_incremental_refresh_at: Timestamp.nullable(),
    status: CacheStatus,
    row_count: z.number().int().nullable().meta({ description: 'Rows of the readable copy; null until one exists' }),
    refreshed_at: Timestamp.nullable().meta({ description: 'When the readable copy was completed' }),
    cursor_value: z
      .string()
      .nullable()
      .meta({ description: 'The largest cursor value cached: the next incremental refresh reads past it' }),
    progress: z
      .object({ mode: CacheRefreshMode, ...RunCounts })
      .nullable()
      .meta({ description: 'What the latest refresh did (or has done so far)' }),
    consecutive_failures: z.number().int(),
    error: RunError.nullable().meta({ description: 'Why the latest refresh failed' }),
    job_id: Id.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Cache' })
export type Cache = z.infer<typeof Cache>

export const CacheRun = z
  .object({
    id: Id,
    mode: CacheRefreshMode,
    trigger: z.enum(['manual', 'schedule']),
    status: CacheStatus.exclude(['NOT_INITIALIZED']),
    job_id: Id,
    job_status: JobStatus.nullable(),
    scheduled_for: Timestamp.nullable(),
    started_at: Timestamp,
    ended_at: Timestamp.nullable(),
    ...RunCounts,
    row_count: z.number().int().nullable().meta({ description: 'Rows of the copy this run completed' }),
    cursor_value: z.string().nullable(),
    error: RunError.nullable(),
  })
  .meta({ id: 'CacheRun' })
export type CacheRun = z.infer<typeof CacheRun>

export const CacheHistoryQuery = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(200, 'must be at most 200')
    .default(50),
})
export type CacheHistoryQuery = z.infer<typeof CacheHistoryQuery>

export const CacheStatusQuery = z.strictObject({
  catalog: SourceName.optional(),
  schema: SourceName.optional(),
})
export type CacheStatusQuery = z.infer<typeof CacheStatusQuery>

export const CacheStatusSummary = z
  .object({
    total: z.number().int(),
    by_status: z.record(CacheStatus, z.number().int()),
    failing: z.number().int().meta({ description: 'Caches whose latest refresh failed (consecutive_failures > 0)' }),
    caches: z.array(
      Cache.pick({
        id: true,
        catalog: true,
        schema: true,
        table: true,
        status: true,
        row_count: true,
        refreshed_at: true,
        consecutive_failures: true,
      }),
    ),
  })
  .meta({ id: 'CacheStatusSummary' })
export type CacheStatusSummary = z.infer<typeof CacheStatusSummary>
