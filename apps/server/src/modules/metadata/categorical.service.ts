import { CATEGORICAL_MIN_REFRESH_SECONDS, type CategoricalColumn, type SetCategorical } from '@tributary/contract'
import { Cron } from 'croner'

import type { Principal, RequestContext, TenantContext } from '../../auth/principal.js'
import type { SourceTable } from '../../engine/connectors/source-catalog.js'
import type { JobHandler, JobQueue, RunningJob } from '../../jobs/queue.js'
import { AppError, errors, isAppError } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { CategoricalScheduleRow, StoredMetadataColumn } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { CategoricalRepo, type ColumnKey } from './categorical.repo.js'
import { mergeColumns } from './merge.js'
import { metadataErrors } from './metadata.errors.js'
import { MetadataRepo } from './metadata.repo.js'
import type { MetadataService } from './metadata.service.js'
import { quoteIdentifier } from '../../engine/duckdb-sql.js'

/** Categorical recomputations are the `metadata.categorical` jobs of the queue. */
export const CATEGORICAL_JOB_KIND = 'metadata.categorical'
/** How often the minimal timer looks for due schedules (the scheduler issue replaces the timer). */
export const CATEGORICAL_TIMER_MS = 15_000
const CLAIM_BATCH = 50
const COMPUTE_TIMEOUT_MS = 60_000

export interface CategoricalDependencies {
  projects: ProjectsService
  sql: SqlService
  audit: AuditService
  metadata: MetadataService
  jobs: JobQueue
}

interface CategoricalJobPayload {
  schedule_id: string
}

// ---------------------------------------------------------------------------------------------------
// Refresh schedules: an ISO-8601 duration (P1D, PT6H, P1DT12H, P2W) or a five-field cron expression (UTC).
// ---------------------------------------------------------------------------------------------------

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/

export type RefreshSchedule =
  { kind: 'duration'; years: number; months: number; ms: number } | { kind: 'cron'; cron: Cron }

/** Parses `refresh`; a 422 naming the field when it is neither a duration nor a cron expression, or too frequent. */
export function parseRefresh(text: string, field = 'refresh'): RefreshSchedule {
  const invalid = (message: string) =>
    errors.validation(`${field}: ${message}`, { issues: [{ location: 'body', field, message }] })
  const trimmed = text.trim()
  if (trimmed.startsWith('P') || trimmed.startsWith('p')) {
    const match = DURATION.exec(trimmed.toUpperCase())
    if (!match) throw invalid(`'${text}' is not an ISO-8601 duration such as P1D or PT6H`)
    const [years, months, weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0))
    const ms = ((((weeks! * 7 + days!) * 24 + hours!) * 60 + minutes!) * 60 + seconds!) * 1000
    const schedule: RefreshSchedule = { kind: 'duration', years: years!, months: months!, ms }
    if (years === 0 && months === 0 && ms < CATEGORICAL_MIN_REFRESH_SECONDS * 1000) {
      throw invalid(`must be at least ${CATEGORICAL_MIN_REFRESH_SECONDS} seconds (PT1M)`)
    }
    return schedule
  }
  let cron: Cron
  try {
    // Five fields (minute resolution), so that no expression runs more than once a minute.
    cron = new Cron(trimmed, { paused: true, timezone: 'UTC', mode: '5-part' })
  } catch (error) {
    throw invalid(
      `'${text}' is neither an ISO-8601 duration (P1D, PT6H) nor a five-field cron expression ` +
        `(${(error as Error).message.replace(/^CronPattern: /, '')})`,
    )
  }
  if (cron.nextRun() === null) throw invalid(`'${text}' never runs`)
  return { kind: 'cron', cron }
}

/** When a schedule runs next after `from`; null when it never does again. */
export function nextRunAt(refresh: string | null, from: Date): Date | null {
  if (refresh === null) return null
  let schedule: RefreshSchedule
  try {
    schedule = parseRefresh(refresh)
  } catch {
    return null
  }
  if (schedule.kind === 'cron') return schedule.cron.nextRun(from)
  const next = new Date(from.getTime())
  if (schedule.years || schedule.months) next.setUTCMonth(next.getUTCMonth() + schedule.years * 12 + schedule.months)
  return new Date(next.getTime() + schedule.ms)
}

// ---------------------------------------------------------------------------------------------------

/**
 * Categorical columns (issue 10 item 4): their most frequent values, computed with a `GROUP BY` pushed
 * down to the source, now and on a schedule. Until the scheduler issue lands, a minimal timer per process
 * claims due schedules (each exactly once across processes) and queues a `metadata.categorical` job that
 * recomputes the values as the person who set the schedule.
 */
export class CategoricalService {
  #timer: NodeJS.Timeout | undefined
  #ticking: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly db: MetadataDb,
    private readonly deps: CategoricalDependencies,
    private readonly logger: Logger,
  ) {}

  readonly jobHandler: JobHandler<CategoricalJobPayload> = {
    kind: CATEGORICAL_JOB_KIND,
    // It only reads the source and replaces the values: running it twice is harmless.
    retryable: true,
    maxAttempts: 2,
    run: (job) => this.#runScheduled(job),
  }

  /** `PUT …/columns/{column}/categorical`: marks the column, computes its values now, stores the schedule. */
  async set(ctx: RequestContext, projectId: string, key: ColumnKey, input: SetCategorical): Promise<CategoricalColumn> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: 'metadata' })
    const refresh = input.refresh ?? null
    if (refresh !== null) parseRefresh(refresh)
    const current = await this.#liveTable(tenant, projectId, key)
    const column = current.columns.find((candidate) => candidate.name === key.column)
    if (!column) throw metadataErrors.unknownColumn(key.catalog, key.schema, key.table, key.column)
    const values = await this.#compute(ctx, projectId, key, input.limit)
    const computedAt = new Date()
    const organizationId = tenant.principal.organizationId
    const schedule = await this.db.transaction().execute(async (trx) => {
      await this.#store(trx, organizationId, projectId, key, current, (stored) => ({
        ...stored,
        is_categorical: true,
        categorical_values: values.map((entry) => entry.value),
        categorical_limit: input.limit,
        categorical_refresh: refresh,
      }))
      const row = await new CategoricalRepo(trx).upsertSchedule(organizationId, projectId, key, {
        value_limit: input.limit,
        refresh,
        next_run_at: nextRunAt(refresh, computedAt),
        last_run_at: computedAt,
        created_by: { principal: ctx.principal, request_id: ctx.requestId },
      })
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'metadata_column', {
        action: 'metadata.categorical.set',
        id: columnId(key),
        details: { project_id: projectId, ...key, limit: input.limit, refresh },
      })
      return row
    })
    this.deps.metadata.changed(projectId)
    return toCategoricalColumn(key, schedule, values, computedAt)
  }

  /** `DELETE …/columns/{column}/categorical`: unmarks the column and removes its schedule. */
  async unset(ctx: RequestContext, projectId: string, key: ColumnKey): Promise<void> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: 'metadata' })
    const organizationId = tenant.principal.organizationId
    const changed = await this.db.transaction().execute(async (trx) => {
      const stored = await new MetadataRepo(trx).row(organizationId, projectId, key, { lock: true })
      let unmarked = false
      if (stored) {
        const columns = stored.columns.map((column) => {
          if (column.name !== key.column || !column.is_categorical) return column
          unmarked = true
          return unmarkedColumn(column)
        })
        if (unmarked) await new CategoricalRepo(trx).setColumns(organizationId, projectId, stored.id, columns)
      }
      const removed = await new CategoricalRepo(trx).deleteSchedule(organizationId, projectId, key)
      if (unmarked || removed) {
        await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'metadata_column', {
          action: 'metadata.categorical.unset',
          id: columnId(key),
          details: { project_id: projectId, ...key },
        })
      }
      return unmarked || removed
    })
    if (!changed) {
      // Say what is missing: the catalog, schema, table or column, or only its being categorical.
      const current = await this.#liveTable(tenant, projectId, key)
      if (!current.columns.some((column) => column.name === key.column)) {
        throw metadataErrors.unknownColumn(key.catalog, key.schema, key.table, key.column)
      }
      throw errors.notFound('categorical column', columnId(key))
    }
    this.deps.metadata.changed(projectId)
  }

  /**
   * Claims the schedules due at `now` and queues one recomputation for each. A schedule is moved to its
   * next run by `UPDATE … WHERE id = … AND next_run_at <= now RETURNING`, in the transaction that queues
   * its job: of several processes (or timers) claiming at once, exactly one gets each due schedule.
   * Returns how many this call claimed.
   */
  async claimDue(now: Date = new Date()): Promise<number> {
    const due = await new CategoricalRepo(this.db).due(now, CLAIM_BATCH)
    let claimed = 0
    for (const candidate of due) {
      const next = nextRunAt(candidate.refresh, now)
      const won = await this.db.transaction().execute(async (trx) => {
        const row = await new CategoricalRepo(trx).claim(candidate.id, now, next)
        if (!row) return false
        await this.deps.jobs.enqueue<CategoricalJobPayload>(trx, {
          kind: CATEGORICAL_JOB_KIND,
          organizationId: row.organization_id,
          projectId: row.project_id,
          payload: { schedule_id: row.id },
          caller: callerOf(row),
        })
        return true
      })
      if (won) claimed += 1
    }
    if (claimed > 0) this.deps.jobs.wake()
    return claimed
  }

  /** Starts the minimal timer (unref'd: it never keeps the process alive). */
  start(intervalMs: number = CATEGORICAL_TIMER_MS): void {
    if (this.#timer) return
    this.#timer = setInterval(() => {
      this.#ticking = this.claimDue().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'could not claim due categorical schedules'),
      )
    }, intervalMs)
    this.#timer.unref()
  }

  /** Stops the timer and waits for a claim in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#ticking
  }

  async #runScheduled(job: RunningJob<CategoricalJobPayload>): Promise<Record<string, unknown>> {
    const repo = new CategoricalRepo(this.db)
    const schedule = await repo.scheduleById(job.payload.schedule_id)
    if (!schedule || schedule.organization_id !== job.organizationId || schedule.project_id !== job.projectId) {
      return { skipped: 'the schedule was removed' }
    }
    const key: ColumnKey = {
      catalog: schedule.catalog,
      schema: schedule.schema_name,
      table: schedule.table_name,
      column: schedule.column_name,
    }
    if (!job.caller) throw new Error(`categorical job ${job.id} has no caller to run as`)
    const ranAt = new Date()
    try {
      const tenant = await this.deps.projects.require(job.caller, job.projectId, { use: 'query' })
      const current = await this.#liveTable(tenant, job.projectId, key)
      if (!current.columns.some((column) => column.name === key.column)) {
        throw metadataErrors.unknownColumn(key.catalog, key.schema, key.table, key.column)
      }
      const values = await this.#compute(tenant, job.projectId, key, schedule.value_limit)
      const stillCategorical = await this.db.transaction().execute(async (trx) => {
        const stored = await new MetadataRepo(trx).row(tenant.principal.organizationId, job.projectId, key, {
          lock: true,
        })
        const column = stored?.columns.find((candidate) => candidate.name === key.column)
        // Unmarked through `PUT …/metadata/…` meanwhile: the schedule goes with it.
        if (column && !column.is_categorical) {
          await new CategoricalRepo(trx).deleteSchedule(tenant.principal.organizationId, job.projectId, key)
          return false
        }
        await this.#store(trx, tenant.principal.organizationId, job.projectId, key, current, (previous) => ({
          ...previous,
          is_categorical: true,
          categorical_values: values.map((entry) => entry.value),
          categorical_limit: schedule.value_limit,
          categorical_refresh: schedule.refresh,
        }))
        await new CategoricalRepo(trx).recordRun(schedule.id, ranAt, null)
        return true
      })
      if (!stillCategorical) return { skipped: 'the column is no longer categorical' }
      this.deps.metadata.changed(job.projectId)
      return { values: values.length }
    } catch (error) {
      const recorded = isAppError(error)
        ? { code: error.code, message: error.message }
        : { code: 'internal_error', message: 'the computation failed unexpectedly' }
      await repo.recordRun(schedule.id, ranAt, recorded).catch(() => undefined)
      throw error
    }
  }

  /** The table as its catalog lists it now; 404 naming the catalog, schema or table; 502 when the source is down. */
  async #liveTable(tenant: TenantContext, projectId: string, key: ColumnKey, fresh = false): Promise<SourceTable> {
    const [live] = await this.deps.metadata.liveCatalogs(tenant, projectId, key.catalog, { fresh })
    if (!fresh) {
      // The listing is cached for a few seconds: what it lacks may be new, so look again before a 404.
      const table = live?.schemas
        ?.find((candidate) => candidate.name === key.schema)
        ?.tables.find((candidate) => candidate.name === key.table)
      if (!table || !table.columns.some((column) => column.name === key.column)) {
        return this.#liveTable(tenant, projectId, key, true)
      }
      return table
    }
    if (!live) throw metadataErrors.unknownCatalog(key.catalog)
    if (!live.schemas) throw new AppError('connection_error', `catalog ${key.catalog} could not be read`)
    const schema = live.schemas.find((candidate) => candidate.name === key.schema)
    if (!schema) throw metadataErrors.unknownSchema(key.catalog, key.schema)
    const table = schema.tables.find((candidate) => candidate.name === key.table)
    if (!table) throw metadataErrors.unknownTable(key.catalog, key.schema, key.table)
    return table
  }

  /** The top `limit` non-null values by frequency, with a `GROUP BY` the engine pushes down to the source. */
  async #compute(
    ctx: RequestContext,
    projectId: string,
    key: ColumnKey,
    limit: number,
  ): Promise<{ value: string; count: number }[]> {
    const column = quoteIdentifier(key.column)
    const table = [key.catalog, key.schema, key.table].map(quoteIdentifier).join('.')
    const result = await this.deps.sql.run(ctx, projectId, {
      sql:
        `SELECT ${column} AS value, count(*) AS n FROM ${table} WHERE ${column} IS NOT NULL ` +
        `GROUP BY ${column} ORDER BY 2 DESC, 1 LIMIT ${limit}`,
      limit,
      timeout_ms: COMPUTE_TIMEOUT_MS,
    })
    return result.rows.map(([value, count]) => ({ value: valueText(value), count: Number(count) }))
  }

  /** Changes one column of the table's stored metadata (creating the row from the live listing when there is none). */
  async #store(
    trx: MetadataDb,
    organizationId: string,
    projectId: string,
    key: ColumnKey,
    current: SourceTable,
    change: (column: StoredMetadataColumn) => StoredMetadataColumn,
  ): Promise<void> {
    const metadata = new MetadataRepo(trx)
    const stored = await metadata.row(organizationId, projectId, key, { lock: true })
    const columns = mergeColumns(current.columns, stored?.columns).map((column) =>
      column.name === key.column ? change(column) : column,
    )
    if (stored) {
      await new CategoricalRepo(trx).setColumns(organizationId, projectId, stored.id, columns)
      return
    }
    await metadata.upsert(organizationId, projectId, key, {
      description: null,
      description_source: null,
      use_with_ai: null,
      row_estimate: null,
      columns,
      status: 'present',
      refreshed_at: null,
    })
  }
}

const columnId = (key: ColumnKey): string => `${key.catalog}.${key.schema}.${key.table}.${key.column}`

function unmarkedColumn(column: StoredMetadataColumn): StoredMetadataColumn {
  return {
    ...column,
    is_categorical: false,
    categorical_values: [],
    categorical_limit: null,
    categorical_refresh: null,
  }
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return JSON.stringify(value)
}

function callerOf(row: CategoricalScheduleRow): RequestContext | undefined {
  const createdBy = row.created_by as { principal?: Principal; request_id?: string } | null
  if (!createdBy?.principal) return undefined
  return { principal: createdBy.principal, requestId: `categorical:${row.id}` }
}

function toCategoricalColumn(
  key: ColumnKey,
  schedule: CategoricalScheduleRow,
  values: { value: string; count: number }[],
  computedAt: Date,
): CategoricalColumn {
  return {
    catalog: key.catalog,
    schema: key.schema,
    table: key.table,
    column: key.column,
    limit: schedule.value_limit,
    refresh: schedule.refresh,
    next_run_at: schedule.next_run_at ? toIso(schedule.next_run_at) : null,
    values,
    computed_at: toIso(computedAt),
  }
}
