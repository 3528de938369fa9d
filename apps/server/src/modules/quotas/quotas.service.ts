import type {
  QueryCost,
  QueryCostListQuery,
  QueryCostPage,
  QueryQuota,
  QueryUsage,
  UpdateQueryQuota,
} from '@tributary/contract'

import { requirePermission } from '../../auth/access.js'
import type { RequestContext } from '../../auth/principal.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { QueryCostLedger } from '../query-jobs/query-jobs.service.js'
import { roundCost } from '../query-jobs/query-usage.js'
import type { QueryAdmission } from '../sql/sql.service.js'
import { quotaErrors } from './quotas.errors.js'
import { type CostRow, type QuotaLimits, QuotasRepo } from './quotas.repo.js'

export interface QuotasOptions {
  audit: AuditService
  now: () => Date
  /** The kind of the queue's query jobs, whose costs are listed. */
  queryJobKind: string
}

/** How long one process trusts what it read of an organization's limits and usage; its own writes reset it. */
const CACHE_TTL_MS = 5_000

interface Standing {
  limits: QuotaLimits
  used: { daily: number; monthly: number }
  /** The UTC day the usage was summed for: a new day (or month) sums again. */
  dayStart: number
  readAt: number
}

/**
 * Query cost quotas (issue 15): what each organization's query jobs cost, daily and monthly limits
 * on it, and the check every query door makes before it starts one. Days and months are UTC.
 */
export class QuotasService implements QueryAdmission, QueryCostLedger {
  readonly #standings = new Map<string, Standing>()

  constructor(
    private readonly db: MetadataDb,
    private readonly options: QuotasOptions,
  ) {}

  async get(ctx: RequestContext): Promise<QueryQuota> {
    const tenant = requirePermission(ctx, 'organization:admin')
    return toQuota(await this.#standing(tenant.principal.organizationId, true))
  }

  async update(ctx: RequestContext, input: UpdateQueryQuota): Promise<QueryQuota> {
    const tenant = requirePermission(ctx, 'organization:admin')
    const organizationId = tenant.principal.organizationId
    const limits = { daily_limit: input.daily_limit, monthly_limit: input.monthly_limit }
    await this.db.transaction().execute(async (trx) => {
      await new QuotasRepo(trx).saveLimits(organizationId, limits, this.options.now())
      await this.options.audit.recordTenantWrite(trx, ctx, tenant.principal, 'query_quota', {
        action: 'query_quota.update',
        id: organizationId,
        details: limits,
      })
    })
    this.#standings.delete(organizationId)
    return toQuota(await this.#standing(organizationId, true))
  }

  async costs(ctx: RequestContext, query: QueryCostListQuery): Promise<QueryCostPage> {
    const organizationId = requirePermission(ctx, 'organization:admin').principal.organizationId
    const repo = new QuotasRepo(this.db)
    const { page, page_size: pageSize } = query
    const [rows, total] = await Promise.all([
      repo.history(organizationId, this.options.queryJobKind, (page - 1) * pageSize, pageSize),
      repo.countEnded(organizationId, this.options.queryJobKind),
    ])
    return { items: rows.map(toCost), total, page, page_size: pageSize, total_pages: Math.ceil(total / pageSize) }
  }

  /** `429 quota_exceeded` once a limit is reached; cheap: one process reads the store at most every few seconds. */
  async admit(organizationId: string): Promise<void> {
    const standing = await this.#standing(organizationId, false)
    const { limits, used } = standing
    if (limits.daily_limit !== null && used.daily >= limits.daily_limit) {
      throw quotaErrors.exceeded('daily', limits.daily_limit, used.daily, new Date(standing.dayStart + DAY_MS))
    }
    if (limits.monthly_limit !== null && used.monthly >= limits.monthly_limit) {
      throw quotaErrors.exceeded('monthly', limits.monthly_limit, used.monthly, nextMonthStart(this.options.now()))
    }
  }

  async record(job: { id: string; organizationId: string; projectId: string }, usage: QueryUsage): Promise<void> {
    await new QuotasRepo(this.db).record({
      jobId: job.id,
      organizationId: job.organizationId,
      projectId: job.projectId,
      bytesScanned: usage.bytes_scanned,
      rowsScanned: usage.rows_scanned,
      cpuSeconds: usage.cpu_seconds,
      cost: usage.cost,
      endedAt: this.options.now(),
    })
    this.#standings.delete(job.organizationId)
  }

  /** The limits and what was used today and this month; `fresh` reads the store whatever is cached. */
  async #standing(organizationId: string, fresh: boolean): Promise<Standing> {
    const now = this.options.now()
    const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
    const cached = this.#standings.get(organizationId)
    if (!fresh && cached && cached.dayStart === dayStart && performance.now() - cached.readAt < CACHE_TTL_MS) {
      return cached
    }
    const repo = new QuotasRepo(this.db)
    const limits = (await repo.limits(organizationId)) ?? { daily_limit: null, monthly_limit: null }
    // Without limits nothing is refused: the sum is only needed to show it.
    const used =
      fresh || limits.daily_limit !== null || limits.monthly_limit !== null
        ? await repo.used(organizationId, new Date(dayStart), monthStart(now))
        : { daily: 0, monthly: 0 }
    const standing = { limits, used, dayStart, readAt: performance.now() }
    this.#standings.set(organizationId, standing)
    return standing
  }
}

const DAY_MS = 86_400_000

const monthStart = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
const nextMonthStart = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))

function toQuota({ limits, used }: Standing): QueryQuota {
  const remaining = (limit: number | null, spent: number) =>
    limit === null ? null : roundCost(Math.max(0, limit - spent))
  const share = (limit: number | null, spent: number) => {
    if (limit === null) return 0
    // A zero limit stops every query: it is used up from the start.
    return limit === 0 ? 100 : (spent / limit) * 100
  }
  const exceeded = (limit: number | null, spent: number) => limit !== null && spent >= limit
  return {
    ...limits,
    daily_used: roundCost(used.daily),
    monthly_used: roundCost(used.monthly),
    daily_remaining: remaining(limits.daily_limit, used.daily),
    monthly_remaining: remaining(limits.monthly_limit, used.monthly),
    percent_used: roundCost(Math.max(share(limits.daily_limit, used.daily), share(limits.monthly_limit, used.monthly))),
    exceeded: exceeded(limits.daily_limit, used.daily) || exceeded(limits.monthly_limit, used.monthly),
  }
}

function toCost(row: CostRow): QueryCost {
  return {
    query_job_id: row.job_id,
    project_id: row.project_id,
    status: row.status,
    bytes_scanned: Number(row.bytes_scanned ?? 0),
    rows_scanned: Number(row.rows_scanned ?? 0),
    cpu_seconds: row.cpu_seconds ?? 0,
    cost: row.cost ?? 0,
    created_at: toIso(row.created_at),
    ended_at: toIsoOrNull(row.ended_at),
  }
}
