import {
  cronProblem,
  intervalProblem,
  type CategoricalColumn,
  type Schedule,
  type SetCategorical,
} from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { SourceTable } from '../../engine/connectors/source-catalog.js'
import type { JobHandler, RunningJob } from '../../jobs/queue.js'
import { AppError, errors, isAppError } from '../../lib/errors.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { ScheduledPayload, ScheduledTask, Scheduler } from '../../scheduler/scheduler.js'
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

/** Categorical recomputations are the `metadata.categorical` jobs of the queue, queued by the scheduler. */
export const CATEGORICAL_JOB_KIND = 'metadata.categorical'
export const CATEGORICAL_TASK: ScheduledTask = { name: 'metadata.categorical', jobKind: CATEGORICAL_JOB_KIND }
const COMPUTE_TIMEOUT_MS = 60_000

export interface CategoricalDependencies {
  projects: ProjectsService
  sql: SqlService
  audit: AuditService
  metadata: MetadataService
  scheduler: Scheduler
}

interface CategoricalJobPayload extends ScheduledPayload {
  /** The `categorical_schedules` row: what to compute (the scheduler's key). */
  categorical_id: string
}

/**
 * Reads `refresh`: an ISO-8601 duration (P1D, PT6H, P1DT12H, P2W) or a cron expression read in UTC.
 * A 422 naming the field when it is neither, or runs more often than once a minute.
 */
export function parseRefresh(text: string, field = 'refresh'): Schedule {
  const invalid = (message: string) =>
    errors.validation(`${field}: ${message}`, { issues: [{ location: 'body', field, message }] })
  const trimmed = text.trim()
  if (trimmed.startsWith('P') || trimmed.startsWith('p')) {
    const problem = intervalProblem(trimmed)
    if (problem) throw invalid(problem)
    return { type: 'interval', every: trimmed.toUpperCase() }
  }
  const problem = cronProblem(trimmed, 'UTC')
  if (problem) throw invalid(`neither an ISO-8601 duration (P1D, PT6H) nor a usable cron expression: ${problem}`)
  return { type: 'cron', cron: trimmed, timezone: 'UTC' }
}

/**
 * Categorical columns (issue 10 item 4): their most frequent values, computed with a `GROUP BY` pushed
 * down to the source, now and on a schedule. The scheduler queues a `metadata.categorical` job for each
 * due occurrence, which recomputes the values as the person who set the schedule.
 */
export class CategoricalService {
  constructor(
    private readonly db: MetadataDb,
    private readonly deps: CategoricalDependencies,
  ) {}

  /** Drops the categorical schedules of one catalog of a project, with their scheduler entries, in the caller's transaction. */
  async forgetCatalog(trx: MetadataDb, organizationId: string, projectId: string, catalog: string): Promise<void> {
    const schedules = await trx
      .deleteFrom('categorical_schedules')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('catalog', '=', catalog)
      .returning('id')
      .execute()
    for (const { id } of schedules) await this.deps.scheduler.remove(trx, CATEGORICAL_TASK.name, id)
  }

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
    const refreshSchedule = refresh === null ? null : parseRefresh(refresh)
    const current = await this.#liveTable(tenant, projectId, key)
    const column = current.columns.find((candidate) => candidate.name === key.column)
    if (!column) throw metadataErrors.unknownColumn(key.catalog, key.schema, key.table, key.column)
    const values = await this.#compute(ctx, projectId, key, input.limit)
    const computedAt = new Date()
    const organizationId = tenant.principal.organizationId
    const stored = await this.db.transaction().execute(async (trx) => {
      await this.#store(trx, organizationId, projectId, key, current, (previous) => ({
        ...previous,
        is_categorical: true,
        categorical_values: values.map((entry) => entry.value),
        categorical_limit: input.limit,
        categorical_refresh: refresh,
      }))
      const row = await new CategoricalRepo(trx).upsertSchedule(organizationId, projectId, key, {
        value_limit: input.limit,
        refresh,
        last_run_at: computedAt,
        created_by: { principal: ctx.principal, request_id: ctx.requestId },
      })
      let nextRunAt: string | null = null
      if (refreshSchedule) {
        const scheduled = await this.deps.scheduler.put(trx, {
          organizationId,
          projectId,
          task: CATEGORICAL_TASK.name,
          key: row.id,
          schedule: refreshSchedule,
          payload: { categorical_id: row.id },
          caller: ctx,
        })
        nextRunAt = scheduled.next_run_at
      } else {
        await this.deps.scheduler.remove(trx, CATEGORICAL_TASK.name, row.id)
      }
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'metadata_column', {
        action: 'metadata.categorical.set',
        id: columnId(key),
        details: { project_id: projectId, ...key, limit: input.limit, refresh },
      })
      return { row, nextRunAt }
    })
    this.deps.metadata.changed(projectId)
    return toCategoricalColumn(key, stored.row, stored.nextRunAt, values, computedAt)
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
      const removed = await this.#deleteSchedule(trx, organizationId, projectId, key)
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

  async #runScheduled(job: RunningJob<CategoricalJobPayload>): Promise<Record<string, unknown>> {
    const repo = new CategoricalRepo(this.db)
    // Jobs queued before the scheduler carry no `categorical_id`: their schedules now queue their own.
    const schedule = job.payload.categorical_id ? await repo.scheduleById(job.payload.categorical_id) : undefined
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
          await this.#deleteSchedule(trx, tenant.principal.organizationId, job.projectId, key)
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

  /** Removes the column's schedule, and its occurrences from the scheduler; false when it had none. */
  async #deleteSchedule(trx: MetadataDb, organizationId: string, projectId: string, key: ColumnKey): Promise<boolean> {
    const id = await new CategoricalRepo(trx).deleteSchedule(organizationId, projectId, key)
    if (id) await this.deps.scheduler.remove(trx, CATEGORICAL_TASK.name, id)
    return id !== undefined
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

function toCategoricalColumn(
  key: ColumnKey,
  schedule: CategoricalScheduleRow,
  nextRunAt: string | null,
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
    next_run_at: nextRunAt,
    values,
    computed_at: toIso(computedAt),
  }
}
