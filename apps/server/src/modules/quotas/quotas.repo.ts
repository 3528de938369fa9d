import type { JobStatus } from '@tributary/contract'
import { sql } from 'kysely'

import type { MetadataDb } from '../../metadata/database.js'

export interface QuotaLimits {
  daily_limit: number | null
  monthly_limit: number | null
}

export interface CostEntry {
  jobId: string
  organizationId: string
  projectId: string
  bytesScanned: number
  rowsScanned: number
  cpuSeconds: number
  cost: number
  endedAt: Date
}

export interface CostRow {
  job_id: string
  project_id: string
  status: JobStatus
  created_at: Date
  ended_at: Date | null
  bytes_scanned: string | null
  rows_scanned: string | null
  cpu_seconds: number | null
  cost: number | null
}

export class QuotasRepo {
  constructor(private readonly db: MetadataDb) {}

  async limits(organizationId: string): Promise<QuotaLimits | undefined> {
    return this.db
      .selectFrom('query_quotas')
      .select(['daily_limit', 'monthly_limit'])
      .where('organization_id', '=', organizationId)
      .executeTakeFirst()
  }

  async saveLimits(organizationId: string, limits: QuotaLimits, now: Date): Promise<void> {
    await this.db
      .insertInto('query_quotas')
      .values({ organization_id: organizationId, ...limits, updated_at: now })
      .onConflict((conflict) => conflict.column('organization_id').doUpdateSet({ ...limits, updated_at: now }))
      .execute()
  }

  /** The cost of the jobs that ended since each start, in one pass over the organization's index. */
  async used(organizationId: string, dayStart: Date, monthStart: Date): Promise<{ daily: number; monthly: number }> {
    const row = await this.db
      .selectFrom('query_costs')
      .select([
        sql<number | null>`sum(cost) filter (where ended_at >= ${dayStart})`.as('daily'),
        sql<number | null>`sum(cost)`.as('monthly'),
      ])
      .where('organization_id', '=', organizationId)
      .where('ended_at', '>=', monthStart)
      .executeTakeFirstOrThrow()
    return { daily: Number(row.daily ?? 0), monthly: Number(row.monthly ?? 0) }
  }

  /** Adds an attempt's usage to the job's row: each attempt of a retried job took its own resources. */
  async record(entry: CostEntry): Promise<void> {
    await this.db
      .insertInto('query_costs')
      .values({
        job_id: entry.jobId,
        organization_id: entry.organizationId,
        project_id: entry.projectId,
        bytes_scanned: entry.bytesScanned,
        rows_scanned: entry.rowsScanned,
        cpu_seconds: entry.cpuSeconds,
        cost: entry.cost,
        ended_at: entry.endedAt,
      })
      .onConflict((conflict) =>
        conflict.column('job_id').doUpdateSet((eb) => ({
          bytes_scanned: sql<number>`${eb.ref('query_costs.bytes_scanned')} + ${eb.ref('excluded.bytes_scanned')}`,
          rows_scanned: sql<number>`${eb.ref('query_costs.rows_scanned')} + ${eb.ref('excluded.rows_scanned')}`,
          cpu_seconds: sql<number>`${eb.ref('query_costs.cpu_seconds')} + ${eb.ref('excluded.cpu_seconds')}`,
          cost: sql<number>`${eb.ref('query_costs.cost')} + ${eb.ref('excluded.cost')}`,
          ended_at: eb.ref('excluded.ended_at'),
        })),
      )
      .execute()
  }

  /** The organization's ended query jobs, newest first, with what each recorded. */
  async history(organizationId: string, kind: string, offset: number, limit: number): Promise<CostRow[]> {
    return this.#ended(organizationId, kind)
      .leftJoin('query_costs', 'query_costs.job_id', 'jobs.id')
      .select([
        'jobs.id as job_id',
        'jobs.project_id',
        'jobs.status',
        'jobs.created_at',
        'jobs.ended_at',
        'query_costs.bytes_scanned',
        'query_costs.rows_scanned',
        'query_costs.cpu_seconds',
        'query_costs.cost',
      ])
      .orderBy('jobs.id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute()
  }

  async countEnded(organizationId: string, kind: string): Promise<number> {
    const row = await this.#ended(organizationId, kind)
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow()
    return Number(row.count)
  }

  #ended(organizationId: string, kind: string) {
    return this.db
      .selectFrom('jobs')
      .where('jobs.organization_id', '=', organizationId)
      .where('jobs.kind', '=', kind)
      .where('jobs.ended_at', 'is not', null)
  }
}
