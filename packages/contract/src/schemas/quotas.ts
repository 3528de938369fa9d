import { z } from 'zod'

import { Id, Timestamp } from './common.js'
import { JobStatus } from './jobs.js'

const Limit = z
  .number({ error: 'must be a number or null' })
  .finite('must be a finite number')
  .min(0, 'must not be negative')
  .nullable()

export const QueryQuota = z
  .object({
    daily_limit: z.number().nullable().meta({ description: 'Cost allowed per UTC day; null: unlimited' }),
    monthly_limit: z.number().nullable().meta({ description: 'Cost allowed per UTC month; null: unlimited' }),
    daily_used: z.number().meta({ description: 'Cost of the query jobs that ended today (UTC)' }),
    monthly_used: z.number().meta({ description: 'Cost of the query jobs that ended this month (UTC)' }),
    daily_remaining: z.number().nullable().meta({ description: 'null when there is no daily limit' }),
    monthly_remaining: z.number().nullable().meta({ description: 'null when there is no monthly limit' }),
    percent_used: z.number().meta({ description: 'The higher of the daily and monthly shares used, in percent' }),
    exceeded: z.boolean().meta({ description: 'New queries are refused with `429 quota_exceeded`' }),
  })
  .meta({ id: 'QueryQuota' })
export type QueryQuota = z.infer<typeof QueryQuota>

export const UpdateQueryQuota = z
  .strictObject({
    daily_limit: Limit.meta({ description: 'In the currency of the configured prices; null: unlimited' }),
    monthly_limit: Limit.meta({ description: 'In the currency of the configured prices; null: unlimited' }),
  })
  .meta({ id: 'UpdateQueryQuota' })
export type UpdateQueryQuota = z.infer<typeof UpdateQueryQuota>

export const QueryCostListQuery = z.strictObject({
  page: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .default(1),
  page_size: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100')
    .default(20),
})
export type QueryCostListQuery = z.infer<typeof QueryCostListQuery>

export const QueryCost = z
  .object({
    query_job_id: Id,
    project_id: Id,
    status: JobStatus,
    bytes_scanned: z.number().int().meta({ description: 'Estimated; see `QueryUsage`' }),
    rows_scanned: z.number().int(),
    cpu_seconds: z.number(),
    cost: z.number(),
    created_at: Timestamp,
    ended_at: Timestamp.nullable(),
  })
  .meta({ id: 'QueryCost' })
export type QueryCost = z.infer<typeof QueryCost>

export const QueryCostPage = z
  .object({
    items: z.array(QueryCost),
    total: z.number().int(),
    page: z.number().int(),
    page_size: z.number().int(),
    total_pages: z.number().int(),
  })
  .meta({ id: 'QueryCostPage' })
export type QueryCostPage = z.infer<typeof QueryCostPage>
