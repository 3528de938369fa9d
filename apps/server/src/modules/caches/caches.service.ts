import type {
  Cache,
  CacheHistoryQuery,
  CacheRefreshMode,
  CacheRun,
  CacheStatus,
  CacheStatusQuery,
  CacheStatusSummary,
  CreateCacheParsed,
  ListQuery,
  Page,
  UpdateCache,
} from '@tributary/contract'
import { CACHE_STATUSES } from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { SourceTable } from '../../engine/connectors/connector.js'
import type { SnapshotStore } from '../../internal-store/snapshot-store.js'
import { JobAbortedError, type JobHandler, type JobQueue, type RunningJob } from '../../jobs/queue.js'
import { errors, isAppError } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { CacheProgress, CacheRow, StoredSchedule } from '../../metadata/schema.js'
import { toIso, toIsoOrNull, transactionOrConflict } from '../../metadata/store-errors.js'
import type { ScheduledPayload, Scheduler } from '../../scheduler/scheduler.js'
import type { AuditService } from '../audit/audit.service.js'
import type { CatalogsService } from '../catalogs/catalogs.service.js'
import type { ConnectionArchiveListener } from '../connections/connections.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { type CachedTable, cachedTableKey, type CachedTablesProvider, type SqlService } from '../sql/sql.service.js'
import { invalidField } from './caches.errors.js'
import { CachesRepo, type NewCache } from './caches.repo.js'
import { loadFull, loadIncremental, type LoadedVersion } from './snapshot-refresh.js'

/** The task of caches' schedules and the job kind of every refresh, scheduled or asked for. */
export const CACHE_REFRESH_TASK = 'caches.refresh'

/** Caches copy sources: managing them is managing the project's connections. */
const WRITE_SCOPE = 'connections'

/** How long one refresh may read its source. */
const REFRESH_TIMEOUT_MS = 4 * 3_600_000

/** Snapshot folder of caches: `<data dir>/caches/<project>/<cache>/<version>.duckdb`. */
const SNAPSHOT_KIND = 'caches'

/**
 * Types whose order follows time or insertion: what a cursor can be. Booleans, blobs, JSON, lists
 * and the like are refused.
 */
const ORDERABLE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|DECIMAL|FLOAT|DOUBLE|DATE|TIME|TIMESTAMP|VARCHAR)/

interface RefreshPayload extends Partial<ScheduledPayload> {
  cache_id: string
  mode: CacheRefreshMode
}

export interface CachesDependencies {
  projects: ProjectsService
  catalogs: CatalogsService
  sql: SqlService
  audit: AuditService
  jobs: JobQueue
  scheduler: Scheduler
  snapshots: SnapshotStore
}

/**
 * Caches of source tables (issue 11): a copy of a table kept in a DuckDB file, refreshed fully or
 * incrementally on schedules or on demand, and read by queries in place of the source. Each refresh
 * writes a new version beside the current one and switches to it in one row update: readers see the
 * old copy or the new, never a mix, and a refresh that fails or is cancelled leaves the last good
 * copy readable. Deletes at the source reach the copy on a full refresh, or on an incremental one
 * when a soft-delete column marks them.
 */
export class CachesService implements CachedTablesProvider {
  constructor(
    private readonly db: MetadataDb,
    private readonly deps: CachesDependencies,
    private readonly logger: Logger,
  ) {}

  readonly jobHandler: JobHandler<RefreshPayload> = {
    kind: CACHE_REFRESH_TASK,
    // Each attempt is one run and a failure counts once; the next scheduled or asked-for refresh is the retry.
    retryable: false,
    run: (job, ctx) => this.#refresh(job, ctx.signal, (progress) => ctx.progress({ ...progress })),
    events: {
      succeeded: 'cache.refreshed',
      failed: 'cache.failed',
      data: (job) => ({ cache_id: job.payload.cache_id, mode: job.payload.mode }),
    },
  }

  async create(ctx: RequestContext, projectId: string, input: CreateCacheParsed): Promise<Cache> {
    const [cache] = await this.createMany(ctx, projectId, [input], (field) => field)
    return cache!
  }

  /** All or none: every table is checked first, then all are created in one transaction. */
  async createMany(
    ctx: RequestContext,
    projectId: string,
    inputs: readonly CreateCacheParsed[],
    fieldOf: (field: string, index: number) => string = (field, index) => `tables.${index}.${field}`,
  ): Promise<Cache[]> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: WRITE_SCOPE })
    const checked: NewCacheSettings[] = []
    for (const [index, input] of inputs.entries()) {
      checked.push(await this.#check(tenant, projectId, input, (field) => fieldOf(field, index)))
    }
    const rows = await transactionOrConflict(
      this.db,
      () => errors.conflict('a cache of one of these tables exists already'),
      async (trx) => {
        const created: CacheRow[] = []
        for (const input of checked) {
          const row = await new CachesRepo(trx).insert({
            organization_id: tenant.principal.organizationId,
            project_id: projectId,
            ...input,
          })
          await this.#putSchedules(trx, ctx, row)
          await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'cache', {
            action: 'cache.create',
            id: row.id,
            details: { project_id: projectId, table: `${row.catalog}.${row.schema_name}.${row.table_name}` },
          })
          created.push(row)
        }
        return created
      },
    )
    return Promise.all(rows.map((row) => this.#toCache(row)))
  }

  async list(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<Cache>> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    const rows = await new CachesRepo(this.db).list(
      tenant.principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    const page = toPage(rows, query.limit, (row) => row)
    return { data: await Promise.all(page.data.map((row) => this.#toCache(row))), next_cursor: page.next_cursor }
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<Cache> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    return this.#toCache(await this.#find(tenant, projectId, id))
  }

  async update(ctx: RequestContext, projectId: string, id: string, input: UpdateCache): Promise<Cache> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: WRITE_SCOPE })
    const current = await this.#find(tenant, projectId, id)
    if (!current.incremental && input.incremental_schedule && input.incremental_schedule.type !== 'none') {
      throw invalidField('incremental_schedule', 'the cache has no `incremental` settings to refresh with')
    }
    const row = await this.db.transaction().execute(async (trx) => {
      const changed = await new CachesRepo(trx).setSchedules(id, input)
      if (!changed) throw errors.notFound('cache', id)
      await this.#putSchedules(trx, ctx, changed)
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'cache', {
        action: 'cache.update',
        id,
        details: { fields: Object.keys(input) },
      })
      return changed
    })
    return this.#toCache(row)
  }

  /** Stops a refresh under way and removes the cache's files (after the readers' grace period). */
  async delete(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: WRITE_SCOPE })
    const row = await this.#find(tenant, projectId, id)
    await this.db.transaction().execute((trx) => this.#remove(trx, ctx, tenant, row, { project_id: projectId }))
    await this.#discard(row)
  }

  /**
   * A deleted connection takes its caches with it, in the transaction that deletes it: a copy of a
   * source that is gone could never be refreshed, nor read (another connection given its catalog's
   * name is another source), and should not outlive it on disk. Refreshes under way are cancelled and
   * the files removed once that committed.
   */
  readonly connectionArchived: ConnectionArchiveListener = async ({ trx, ctx, tenant, projectId, connectionId }) => {
    const rows = await new CachesRepo(trx).ofConnection(connectionId)
    if (rows.length === 0) return undefined
    for (const row of rows) {
      await this.#remove(trx, ctx, tenant, row, { project_id: projectId, reason: 'connection.delete' })
    }
    return async () => {
      for (const row of rows) await this.#discard(row)
    }
  }

  async #remove(
    trx: MetadataDb,
    ctx: RequestContext,
    tenant: TenantContext,
    row: CacheRow,
    details: Record<string, string>,
  ): Promise<void> {
    await this.deps.scheduler.remove(trx, CACHE_REFRESH_TASK, scheduleKey(row.id, 'full'))
    await this.deps.scheduler.remove(trx, CACHE_REFRESH_TASK, scheduleKey(row.id, 'incremental'))
    await new CachesRepo(trx).delete(row.id)
    await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'cache', {
      action: 'cache.delete',
      id: row.id,
      details,
    })
  }

  /** After a cache's row is gone: its refresh stops, and its files go after the readers' grace period. */
  async #discard(row: CacheRow): Promise<void> {
    if (row.job_id) await this.deps.jobs.cancel(row.job_id)
    this.deps.snapshots.retireAll(this.#location(row))
  }

  /** Queues a refresh now; 409 while another one is queued or running. */
  async refresh(ctx: RequestContext, projectId: string, id: string, mode: CacheRefreshMode): Promise<Cache> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: WRITE_SCOPE })
    const row = await this.#find(tenant, projectId, id)
    if (mode === 'incremental' && !row.incremental) {
      throw invalidField('mode', 'the cache has no `incremental` settings: refresh it in full')
    }
    const refreshed = await this.db.transaction().execute(async (trx) => {
      const job = await this.deps.jobs.enqueue(trx, {
        kind: CACHE_REFRESH_TASK,
        organizationId: tenant.principal.organizationId,
        projectId,
        payload: { cache_id: id, mode } satisfies RefreshPayload,
        caller: ctx,
      })
      if (!(await new CachesRepo(trx).claim(id, job.id))) {
        throw errors.conflict(`a refresh of cache ${id} is already queued or running (job ${row.job_id})`)
      }
      return new CachesRepo(trx).find(tenant.principal.organizationId, projectId, id)
    })
    // Enqueued in a transaction: start it now rather than at the next poll.
    this.deps.jobs.wake()
    return this.#toCache(refreshed!)
  }

  /** Stops the refresh under way, if any; the last completed copy stays readable. */
  async cancel(ctx: RequestContext, projectId: string, id: string): Promise<Cache> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: WRITE_SCOPE })
    const row = await this.#find(tenant, projectId, id)
    if (row.job_id) await this.deps.jobs.cancel(row.job_id)
    return this.#toCache(await this.#find(tenant, projectId, id))
  }

  async history(ctx: RequestContext, projectId: string, id: string, query: CacheHistoryQuery): Promise<CacheRun[]> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    await this.#find(tenant, projectId, id)
    const runs = await new CachesRepo(this.db).runs(id, query.limit)
    return runs.map((run) => ({
      id: run.id,
      mode: run.mode,
      trigger: run.trigger,
      status: run.status,
      job_id: run.job_id,
      job_status: (run.job_status as CacheRun['job_status']) ?? null,
      scheduled_for: toIsoOrNull(run.scheduled_for),
      started_at: toIso(run.started_at),
      ended_at: toIsoOrNull(run.ended_at),
      rows_inserted: Number(run.rows_inserted),
      rows_updated: Number(run.rows_updated),
      rows_deleted: Number(run.rows_deleted),
      row_count: run.row_count === null ? null : Number(run.row_count),
      cursor_value: run.cursor_value,
      error: run.error,
    }))
  }

  async status(ctx: RequestContext, projectId: string, query: CacheStatusQuery): Promise<CacheStatusSummary> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    const rows = await new CachesRepo(this.db).summary(tenant.principal.organizationId, projectId, {
      ...(query.catalog === undefined ? {} : { catalog: query.catalog.toLowerCase() }),
      ...(query.schema === undefined ? {} : { schema: query.schema }),
    })
    const byStatus = Object.fromEntries(CACHE_STATUSES.map((status) => [status, 0])) as Record<CacheStatus, number>
    const caches = await Promise.all(
      rows.map(async (row) => {
        const status = await this.#status(row)
        byStatus[status] += 1
        return {
          id: row.id,
          catalog: row.catalog,
          schema: row.schema_name,
          table: row.table_name,
          status,
          row_count: row.version_id ? Number(row.row_count) : null,
          refreshed_at: toIsoOrNull(row.refreshed_at),
          consecutive_failures: row.consecutive_failures,
        }
      }),
    )
    return {
      total: rows.length,
      by_status: byStatus,
      failing: rows.filter((row) => row.consecutive_failures > 0).length,
      caches,
    }
  }

  /** For SqlService: the readable copies among the named catalogs of a project (already checked by the caller). */
  async cachedTables(projectId: string, catalogs: readonly string[]): Promise<ReadonlyMap<string, CachedTable>> {
    const rows = await new CachesRepo(this.db).readable(projectId, catalogs)
    return new Map(
      rows.map((row) => [
        cachedTableKey(row.catalog, row.schema_name, row.table_name),
        {
          segments: [this.deps.snapshots.versionPath(this.#location(row), row.version_id!)],
          rows: Number(row.row_count ?? 0),
          cachedAt: row.refreshed_at ?? undefined,
          columns: row.columns ?? [],
          connectionId: row.connection_id,
        },
      ]),
    )
  }

  async #refresh(
    job: RunningJob<RefreshPayload>,
    signal: AbortSignal,
    report: (progress: CacheProgress) => Promise<void>,
  ): Promise<Record<string, unknown>> {
    if (!job.caller) throw errors.authorization('the refresh has no caller to read the source as')
    const repo = new CachesRepo(this.db)
    const cacheId = job.payload.cache_id
    // A scheduled refresh that finds another one under way gives way to it.
    if (!(await repo.claim(cacheId, job.id))) return { rows: 0, skipped: 'another refresh of the cache is under way' }
    const row = await this.db.selectFrom('caches').selectAll().where('id', '=', cacheId).executeTakeFirst()
    if (!row) return { rows: 0, skipped: 'the cache was deleted' }
    // Incremental needs a copy to add to: the first refresh is a full one.
    const mode = job.payload.mode === 'incremental' && row.incremental && row.version_id ? 'incremental' : 'full'
    const runId = await repo.startRun({
      cache_id: cacheId,
      job_id: job.id,
      mode,
      trigger: job.payload.schedule_id ? 'schedule' : 'manual',
      scheduled_for: job.payload.scheduled_for ?? null,
    })
    const load = {
      caller: job.caller,
      projectId: row.project_id,
      location: this.#location(row),
      source: { type: 'table' as const, catalog: row.catalog, schema: row.schema_name, table: row.table_name },
      timeoutMs: REFRESH_TIMEOUT_MS,
      signal,
      cursorColumn: row.incremental?.cursor_column,
    }
    let loaded: LoadedVersion
    try {
      await this.#sameConnection(job.caller, row)
      loaded =
        mode === 'incremental'
          ? await loadIncremental(
              this.deps.sql,
              this.deps.snapshots,
              load,
              { versionId: row.version_id!, cursorValue: row.cursor_value },
              {
                cursorColumn: row.incremental!.cursor_column,
                primaryKey: row.incremental!.primary_key,
                softDeleteColumn: row.incremental!.soft_delete_column,
              },
            )
          : await loadFull(this.deps.sql, this.deps.snapshots, load)
    } catch (error) {
      const status = signal.aborted ? 'CANCELLED' : 'FAILED'
      const reason = status === 'CANCELLED' ? null : reasonOf(error)
      await Promise.all([
        repo.ended(cacheId, job.id, status, reason),
        repo.endRun(runId, { status, error: reason }),
      ]).catch((cause: unknown) => this.logger.warn({ err: cause, cache_id: cacheId }, 'could not record the refresh'))
      throw error
    }
    const progress: CacheProgress = { mode, ...loaded.counts }
    // A cancel that came as the load ended wins over the new copy: here if its abort arrived, in
    // `complete` if it is only recorded (asked on another server, or the abort is still on its way).
    const switched = signal.aborted
      ? 'cancelled'
      : await this.db.transaction().execute((trx) =>
          new CachesRepo(trx).complete(cacheId, job.id, {
            version_id: loaded.pending.versionId,
            row_count: loaded.rowCount,
            columns: loaded.columns,
            cursor_value: loaded.cursorValue,
            progress,
          }),
        )
    if (switched === 'cancelled') {
      await this.deps.snapshots.discard(loaded.pending)
      await Promise.all([
        repo.ended(cacheId, job.id, 'CANCELLED', null),
        repo.endRun(runId, { status: 'CANCELLED' }),
      ]).catch((cause: unknown) => this.logger.warn({ err: cause, cache_id: cacheId }, 'could not record the refresh'))
      throw signal.aborted ? signal.reason : new JobAbortedError('cancel')
    }
    // Deleted meanwhile (or taken over): the new version is nobody's.
    if (!switched) {
      await this.deps.snapshots.discard(loaded.pending)
      return { rows: 0, skipped: 'the cache was deleted' }
    }
    if (switched.replaced) this.deps.snapshots.retire(load.location, switched.replaced)
    await repo.endRun(runId, {
      status: 'COMPLETED',
      counts: loaded.counts,
      row_count: loaded.rowCount,
      cursor_value: loaded.cursorValue,
    })
    await report(progress)
    return { rows: loaded.rowCount, ...loaded.counts, remote_sql: loaded.sources.map((source) => source.remote_sql) }
  }

  /** The table exists in a source catalog of the project and the incremental settings fit its columns. */
  async #check(
    tenant: TenantContext,
    projectId: string,
    input: CreateCacheParsed,
    fieldOf: (field: string) => string,
  ): Promise<NewCacheSettings> {
    const catalog = input.catalog.toLowerCase()
    const { sources } = await this.deps.catalogs.forQuery(tenant, projectId, [catalog])
    const source = sources[0]
    if (!source) {
      if (await this.deps.catalogs.isTaken(tenant, projectId, catalog)) {
        throw invalidField(
          fieldOf('catalog'),
          `'${catalog}' is no source catalog: only tables of connections are cached`,
        )
      }
      throw errors.notFound('catalog', input.catalog)
    }
    const table: SourceTable | undefined = source.catalog.schemas
      .find((schema) => schema.name === input.schema)
      ?.tables.find((candidate) => candidate.name === input.table)
    if (!table) throw errors.notFound('table', `${catalog}.${input.schema}.${input.table}`)
    const columns = new Map(table.columns.map((column) => [column.name, column]))
    const incremental = input.incremental
    if (incremental) {
      const cursor = columns.get(incremental.cursor_column)
      if (!cursor) throw invalidField(fieldOf('incremental.cursor_column'), `no column '${incremental.cursor_column}'`)
      if (!ORDERABLE.test(cursor.type)) {
        throw invalidField(
          fieldOf('incremental.cursor_column'),
          `'${cursor.name}' (${cursor.type}) is not orderable: use a number, date, time or text column`,
        )
      }
      for (const key of incremental.primary_key ?? []) {
        if (!columns.has(key)) throw invalidField(fieldOf('incremental.primary_key'), `no column '${key}'`)
      }
      const softDelete = incremental.soft_delete_column
      if (softDelete !== undefined && !columns.has(softDelete)) {
        throw invalidField(fieldOf('incremental.soft_delete_column'), `no column '${softDelete}'`)
      }
    } else if (input.incremental_schedule && input.incremental_schedule.type !== 'none') {
      throw invalidField(fieldOf('incremental_schedule'), 'needs `incremental` settings (at least `cursor_column`)')
    }
    return {
      connection_id: source.opened.row.id,
      catalog,
      schema_name: input.schema,
      table_name: input.table,
      incremental: incremental
        ? {
            cursor_column: incremental.cursor_column,
            primary_key: incremental.primary_key ?? null,
            soft_delete_column: incremental.soft_delete_column ?? null,
          }
        : null,
      full_refresh_schedule: input.full_refresh_schedule ?? NO_SCHEDULE,
      incremental_schedule: input.incremental_schedule ?? NO_SCHEDULE,
    }
  }

  /** A catalog name given to another connection since is another source: its rows are not this cache's. */
  async #sameConnection(caller: RequestContext, row: CacheRow): Promise<void> {
    const tenant = await this.deps.projects.require(caller, row.project_id, 'read')
    const { sources } = await this.deps.catalogs.forQuery(tenant, row.project_id, [row.catalog])
    if (sources[0]?.opened.row.id !== row.connection_id) {
      throw errors.conflict(
        `catalog '${row.catalog}' is no longer the connection this cache was made of: delete the cache and cache the table again`,
      )
    }
  }

  async #putSchedules(trx: MetadataDb, ctx: RequestContext, row: CacheRow): Promise<void> {
    for (const mode of ['full', 'incremental'] as const) {
      await this.deps.scheduler.put(trx, {
        organizationId: row.organization_id,
        projectId: row.project_id,
        task: CACHE_REFRESH_TASK,
        key: scheduleKey(row.id, mode),
        schedule: mode === 'full' ? row.full_refresh_schedule : row.incremental_schedule,
        payload: { cache_id: row.id, mode } satisfies RefreshPayload,
        caller: ctx,
      })
    }
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<CacheRow> {
    const row = await new CachesRepo(this.db).find(tenant.principal.organizationId, projectId, id)
    if (!row) throw errors.notFound('cache', id)
    return row
  }

  #location(row: CacheRow) {
    return this.deps.snapshots.location(SNAPSHOT_KIND, row.project_id, row.id)
  }

  /** RUNNING as stored, unless its job ended without the refresh recording it (cancelled while queued). */
  async #status(row: CacheRow): Promise<CacheStatus> {
    if (row.status !== 'RUNNING' || !row.job_id) return row.status
    const job = await this.deps.jobs.get(row.job_id)
    if (!job || job.status === 'cancelled') return 'CANCELLED'
    if (job.status === 'failed') return 'FAILED'
    return 'RUNNING'
  }

  async #toCache(row: CacheRow): Promise<Cache> {
    const [status, full, incremental] = await Promise.all([
      this.#status(row),
      this.deps.scheduler.get(CACHE_REFRESH_TASK, scheduleKey(row.id, 'full')),
      this.deps.scheduler.get(CACHE_REFRESH_TASK, scheduleKey(row.id, 'incremental')),
    ])
    return {
      id: row.id,
      organization_id: row.organization_id,
      project_id: row.project_id,
      catalog: row.catalog,
      schema: row.schema_name,
      table: row.table_name,
      incremental: row.incremental,
      full_refresh_schedule: row.full_refresh_schedule,
      incremental_schedule: row.incremental_schedule,
      next_full_refresh_at: full?.next_run_at ?? null,
      next_incremental_refresh_at: incremental?.next_run_at ?? null,
      status,
      row_count: row.version_id ? Number(row.row_count) : null,
      refreshed_at: toIsoOrNull(row.refreshed_at),
      cursor_value: row.cursor_value,
      progress: row.progress,
      consecutive_failures: row.consecutive_failures,
      error: row.error,
      job_id: row.job_id,
      created_at: toIso(row.created_at),
      updated_at: toIso(row.updated_at),
    }
  }
}

type NewCacheSettings = Omit<NewCache, 'organization_id' | 'project_id'>

const NO_SCHEDULE: StoredSchedule = { type: 'none' }

const scheduleKey = (cacheId: string, mode: CacheRefreshMode) => `${cacheId}:${mode}`

function reasonOf(error: unknown): { code: string; message: string } {
  if (isAppError(error)) return { code: error.code, message: error.message }
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error) }
}
