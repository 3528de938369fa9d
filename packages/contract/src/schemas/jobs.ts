import { z } from 'zod'

import { Id, ListQuery, Timestamp } from './common.js'
import { ColumnPrivacyMap, PrivateRowCount } from './connections.js'

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
export const JobStatus = z.enum(JOB_STATUSES).meta({
  id: 'JobStatus',
  description: '`queued` → `running` → `succeeded`, `failed` or `cancelled`; a retried job goes back to `queued`',
})
export type JobStatus = z.infer<typeof JobStatus>

export const JobError = z
  .object({
    code: z.string().meta({ description: 'An error code of the API, e.g. `query_error`, `connection_error`' }),
    message: z.string(),
    details: z.unknown().optional(),
  })
  .meta({ id: 'JobError' })
export type JobError = z.infer<typeof JobError>

const SqlText = z.string().min(1, 'must not be empty').max(1_000_000, 'must be at most 1,000,000 characters')

export const CreateQueryJob = z
  .strictObject({
    sql: SqlText.optional().meta({ description: 'The query; or give `query_id` to run a saved query' }),
    query_id: Id.optional().meta({ description: 'A saved query of the project, run with `parameters`' }),
    parameters: z
      .record(z.string(), z.unknown(), { error: 'must be an object' })
      .optional()
      .meta({ description: 'Values for the saved query’s parameters, by name' }),
    timeout_ms: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(86_400_000, 'must be at most 86400000')
      .default(3_600_000)
      .meta({ description: 'The query is stopped and the job fails with `query_timeout` after this long' }),
  })
  .superRefine((body, ctx) => {
    if ((body.sql === undefined) === (body.query_id === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give either "sql" or "query_id"', path: ['sql'] })
    }
    if (body.parameters !== undefined && body.query_id === undefined) {
      ctx.addIssue({ code: 'custom', message: 'only with "query_id"', path: ['parameters'] })
    }
  })
  .meta({ id: 'CreateQueryJob' })
export type CreateQueryJob = z.infer<typeof CreateQueryJob>

export const QueryUsage = z
  .object({
    bytes_scanned: z
      .number()
      .int()
      .meta({
        description:
          'Bytes read from the sources, estimated: rows times the width of the columns read (booleans, integers, ' +
          'floats, dates and times at their size; text and any other value at 16 bytes)',
      }),
    rows_scanned: z.number().int(),
    cpu_seconds: z.number().meta({ description: "CPU time of the server process while the query's engine work ran" }),
    cost: z.number().meta({
      description:
        'bytes_scanned / 10^12 × `TRIBUTARY_PRICE_PER_TB_SCANNED` + cpu_seconds × `TRIBUTARY_PRICE_PER_CPU_SECOND`',
    }),
    sources: z
      .array(z.object({ catalog: z.string(), table: z.string(), rows: z.number().int(), bytes: z.number().int() }))
      .meta({ description: 'What was read from each source table' }),
  })
  .meta({ id: 'QueryUsage' })
export type QueryUsage = z.infer<typeof QueryUsage>

export const QueryJob = z
  .object({
    id: Id,
    project_id: Id,
    status: JobStatus,
    sql: z.string(),
    query_id: Id.nullable().meta({ description: 'The saved query this job ran, if any' }),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    ended_at: Timestamp.nullable(),
    attempt: z.number().int().meta({ description: 'Runs so far; above 1 when the job was retried' }),
    total_rows: z.number().int().nullable().meta({ description: 'Rows in the result, once it has succeeded' }),
    total_bytes_processed: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'Bytes of the stored result (Parquet), once it has succeeded' }),
    elapsed_ms: z.number().nullable().meta({ description: 'Time the query ran, once it has ended' }),
    rows_scanned: z.number().int().nullable().meta({ description: 'Rows read from the sources' }),
    usage: QueryUsage.nullable().meta({ description: 'What the query read and cost, once it has succeeded' }),
    private_row_count: PrivateRowCount,
    error: JobError.optional().meta({ description: 'Why it failed; while a retry waits, what went wrong last' }),
  })
  .meta({ id: 'QueryJob' })
export type QueryJob = z.infer<typeof QueryJob>

export const QueryJobListQuery = ListQuery.extend({
  query_id: Id.optional(),
  status: JobStatus.optional(),
})
export type QueryJobListQuery = z.infer<typeof QueryJobListQuery>

export const ResultPageQuery = z.strictObject({
  page: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .default(1),
  page_size: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(200, 'must be at most 200')
    .default(50),
})
export type ResultPageQuery = z.infer<typeof ResultPageQuery>

export const ResultPage = z
  .object({
    columns: z.array(z.object({ name: z.string(), type: z.string().meta({ description: 'DuckDB type' }) })),
    rows: z.array(z.array(z.unknown())).meta({
      description:
        'Rows as arrays in column order, JSON-safe as in `/sql`: integers beyond 2^53 and decimals are strings; ' +
        'dates and timestamps ISO-8601 strings; blobs base64; intervals ISO-8601 durations.',
    }),
    column_privacy: ColumnPrivacyMap,
    private_row_count: PrivateRowCount,
    total_rows: z.number().int(),
    page: z.number().int(),
    page_size: z.number().int(),
    total_pages: z.number().int(),
  })
  .meta({ id: 'ResultPage' })
export type ResultPage = z.infer<typeof ResultPage>
