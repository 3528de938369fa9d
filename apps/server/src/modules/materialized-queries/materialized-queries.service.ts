import { createHash } from 'node:crypto'

import type { MaterializedQueryStatus, SavedQuery } from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { ViewDefinition } from '../../engine/catalog-handle.js'
import type { LocalTable } from '../../engine/local-tables.js'
import type { SnapshotStore } from '../../internal-store/snapshot-store.js'
import { JobAbortedError, type JobHandler, type JobQueue, type RunningJob } from '../../jobs/queue.js'
import { AppError, errors, isAppError } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { MaterializationRow } from '../../metadata/schema.js'
import { toIsoOrNull } from '../../metadata/store-errors.js'
import type { ScheduledPayload, Scheduler } from '../../scheduler/scheduler.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SavedQueryView } from '../saved-queries/query-views.js'
import type { SavedQueriesService, SavedQueryWrite } from '../saved-queries/saved-queries.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { MaterializationsRepo, type Completion } from './materialized-queries.repo.js'

/** The task of materialized queries' schedules, and the job each run (scheduled or asked for) is. */
export const MATERIALIZE_TASK = 'queries.materialize'

/** How long one computation may run. */
const MATERIALIZE_TIMEOUT_MS = 3_600_000

interface MaterializePayload extends Partial<ScheduledPayload> {
  query_id: string
}

/** A materialized query's stored result, as the `queries` catalog reads it. */
export interface MaterializedTable {
  name: string
  columns: { name: string; type: string }[]
  local: LocalTable
  /** The query itself, for a reader who must not read the stored copy (see QueriesCatalog). */
  view: ViewDefinition
}

const viewOf = (view: SavedQueryView): ViewDefinition =>
  view.error === undefined ? { sql: view.sql } : { sql: '', error: view.error }

export interface MaterializedQueriesDependencies {
  projects: ProjectsService
  savedQueries: SavedQueriesService
  sql: SqlService
  jobs: JobQueue
  scheduler: Scheduler
  snapshots: SnapshotStore
}

/**
 * Materialized queries (issue 11): a saved query of type MATERIALIZED keeps its result in a DuckDB
 * file, computed when the query is saved, when its SQL changes, on its schedule and on demand, and
 * read as `queries.materialized."<name>"`. A new result is written beside the old one and switched
 * in with one row update, so readers see one or the other; a failed or cancelled run keeps the last
 * result readable.
 */
export class MaterializedQueriesService {
  constructor(
    private readonly db: MetadataDb,
    private readonly deps: MaterializedQueriesDependencies,
    private readonly logger: Logger,
  ) {
    deps.savedQueries.onWrite((write) => this.#follow(write))
  }

  readonly jobHandler: JobHandler<MaterializePayload> = {
    kind: MATERIALIZE_TASK,
    // A computation writes a new file and switches it in only at the end: running it again is harmless.
    retryable: true,
    maxAttempts: 2,
    run: (job, ctx) => this.#compute(job, ctx.signal),
  }

  async status(ctx: RequestContext, projectId: string, queryId: string): Promise<MaterializedQueryStatus> {
    const { tenant, query } = await this.#materialized(ctx, projectId, queryId, 'read')
    const row = await new MaterializationsRepo(this.db).find(tenant.principal.organizationId, projectId, queryId)
    return this.#status(query, row)
  }

  async statuses(ctx: RequestContext, projectId: string): Promise<MaterializedQueryStatus[]> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    const rows = new Map(
      (await new MaterializationsRepo(this.db).list(tenant.principal.organizationId, projectId)).map((row) => [
        row.query_id,
        row,
      ]),
    )
    const queries = await this.deps.savedQueries.listAll(tenant, projectId)
    return Promise.all(
      queries
        .filter((query) => query.query_type === 'MATERIALIZED')
        .map((query) => this.#status(query, rows.get(query.id))),
    )
  }

  /** Computes the result again now (a run already going is left to finish first: the queue runs them in turn). */
  async refresh(ctx: RequestContext, projectId: string, queryId: string): Promise<MaterializedQueryStatus> {
    const { tenant, query } = await this.#materialized(ctx, projectId, queryId, { use: 'query' })
    await this.db.transaction().execute((trx) => this.#enqueue(trx, ctx, tenant, projectId, query.id))
    return this.status(ctx, projectId, queryId)
  }

  /**
   * Stops the running computation and drops those still waiting, if any; the last completed result
   * stays. A computation that switched its result in before the cancel arrived stays completed.
   */
  async cancel(ctx: RequestContext, projectId: string, queryId: string): Promise<MaterializedQueryStatus> {
    const { tenant } = await this.#materialized(ctx, projectId, queryId, { use: 'query' })
    const organizationId = tenant.principal.organizationId
    const row = await new MaterializationsRepo(this.db).find(organizationId, projectId, queryId)
    const jobs = new Set(row?.job_id ? [row.job_id] : [])
    // A refresh or a change of SQL asked for just now may not have started yet.
    for (const status of ['queued', 'running'] as const) {
      const found = await this.deps.jobs.list(
        organizationId,
        projectId,
        MATERIALIZE_TASK,
        { payload: { query_id: queryId }, status },
        100,
      )
      for (const job of found) jobs.add(job.id)
    }
    for (const id of jobs) await this.deps.jobs.cancel(id)
    return this.status(ctx, projectId, queryId)
  }

  /** The completed results of a project's materialized queries, for the `queries` catalog (caller already checked). */
  async tables(checked: TenantContext, projectId: string): Promise<MaterializedTable[]> {
    const rows = await new MaterializationsRepo(this.db).list(checked.principal.organizationId, projectId)
    const completed = new Map(rows.filter((row) => row.version_id).map((row) => [row.query_id, row]))
    if (completed.size === 0) return []
    const tables: MaterializedTable[] = []
    const [queries, views] = await Promise.all([
      this.deps.savedQueries.listAll(checked, projectId),
      this.deps.savedQueries.views(checked, projectId),
    ])
    const viewsById = new Map(views.map((view) => [view.id, view]))
    for (const query of queries) {
      const row = completed.get(query.id)
      if (!row || query.query_type !== 'MATERIALIZED') continue
      tables.push({
        name: query.display_name,
        columns: row.columns,
        local: {
          segments: [this.deps.snapshots.versionPath(this.#location(projectId, query.id), row.version_id!)],
          rows: Number(row.row_count ?? 0),
        },
        view: viewOf(viewsById.get(query.id)!),
      })
    }
    return tables
  }

  /** Keeps the schedule, the row and the result in step with the saved query, in the transaction that writes it. */
  async #follow({ trx, ctx, tenant, query, previous, deleted }: SavedQueryWrite): Promise<void> {
    const was = previous?.query_type === 'MATERIALIZED'
    const is = !deleted && query.query_type === 'MATERIALIZED'
    const repo = new MaterializationsRepo(trx)
    if (!is) {
      if (!was && !deleted) return
      await this.deps.scheduler.remove(trx, MATERIALIZE_TASK, query.id)
      // A computation still running finds its row gone when it ends and discards what it wrote.
      await repo.drop(query.id)
      this.deps.snapshots.retireAll(this.#location(query.project_id, query.id))
      return
    }
    await repo.ensure(tenant.principal.organizationId, query.project_id, query.id)
    await this.deps.scheduler.put(trx, {
      organizationId: tenant.principal.organizationId,
      projectId: query.project_id,
      task: MATERIALIZE_TASK,
      key: query.id,
      schedule: query.schedule ?? { type: 'none' },
      payload: { query_id: query.id },
      caller: ctx,
    })
    const changed =
      !was || previous.sql !== query.sql || JSON.stringify(previous.parameters) !== JSON.stringify(query.parameters)
    if (changed) await this.#enqueue(trx, ctx, tenant, query.project_id, query.id)
  }

  async #enqueue(
    trx: MetadataDb,
    ctx: RequestContext,
    tenant: TenantContext,
    projectId: string,
    queryId: string,
  ): Promise<void> {
    await this.deps.jobs.enqueue(trx, {
      kind: MATERIALIZE_TASK,
      organizationId: tenant.principal.organizationId,
      projectId,
      payload: { query_id: queryId },
      caller: ctx,
    })
  }

  async #compute(job: RunningJob<MaterializePayload>, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (!job.caller) throw errors.authorization('the materialization has no caller to run its query as')
    const caller = job.caller
    const queryId = job.payload.query_id
    const repo = new MaterializationsRepo(this.db)
    const query = await this.deps.savedQueries.get(caller, job.projectId, queryId)
    // Turned back into a standard query since: nothing to keep.
    if (query.query_type !== 'MATERIALIZED') return { rows: 0, skipped: true }
    const run = await this.deps.savedQueries.resolveRun(caller, job.projectId, queryId, {})
    // Cancelled before it started: the row goes on telling the last computation.
    signal.throwIfAborted()
    if (!(await repo.started(queryId, job.id, new Date()))) return { rows: 0, skipped: true }
    const location = this.#location(job.projectId, queryId)
    const pending = await this.deps.snapshots.create(location)
    let completion: Completion
    let rows: number
    try {
      const result = await this.deps.sql.runInto(
        caller,
        job.projectId,
        { sql: run.sql, parameters: run.parameters, timeoutMs: MATERIALIZE_TIMEOUT_MS },
        pending.path,
        signal,
      )
      rows = result.row_count
      // A cancel that arrived as the query ended wins over its result; `complete` sees one recorded
      // on another server, or whose abort has not reached this one yet.
      signal.throwIfAborted()
      completion = await repo.complete(
        queryId,
        job.id,
        {
          version_id: pending.versionId,
          row_count: result.row_count,
          columns: result.columns,
          sql_hash: hashOf(run.sql, run.parameters),
        },
        new Date(),
      )
      if (!completion.switched && completion.why === 'cancelled') throw new JobAbortedError('cancel')
    } catch (error) {
      await this.deps.snapshots.discard(pending)
      const stop: unknown = signal.aborted ? signal.reason : error
      const stopped = stop instanceof JobAbortedError ? stop.reason : undefined
      // Handed back to the queue (shutdown) or taken over by another worker: the job runs again.
      if (stopped === 'shutdown' || stopped === 'lost') throw error
      const cancelled = stopped === 'cancel'
      const reason = isAppError(error) ? { code: error.code, message: error.message } : unexpected(error)
      await repo
        .ended(
          queryId,
          job.id,
          { status: cancelled ? 'CANCELLED' : 'FAILED', error: cancelled ? null : reason },
          new Date(),
        )
        .catch((cause: unknown) => this.logger.warn({ err: cause, query_id: queryId }, 'could not record the run'))
      throw error
    }
    // Refused: a newer computation (the SQL changed meanwhile) owns the query now.
    if (!completion.switched) await this.deps.snapshots.discard(pending)
    else if (completion.replaced) this.deps.snapshots.retire(location, completion.replaced)
    return { rows }
  }

  #location(projectId: string, queryId: string) {
    return this.deps.snapshots.location('materialized', projectId, queryId)
  }

  async #materialized(
    ctx: RequestContext,
    projectId: string,
    queryId: string,
    access: 'read' | { use: 'query' },
  ): Promise<{ tenant: TenantContext; query: SavedQuery }> {
    const tenant = await this.deps.projects.require(ctx, projectId, access)
    const query = await this.deps.savedQueries.get(ctx, projectId, queryId)
    if (query.query_type !== 'MATERIALIZED') {
      throw errors.conflict(`query ${queryId} is not MATERIALIZED: set its query_type first`)
    }
    return { tenant, query }
  }

  async #status(query: SavedQuery, row: MaterializationRow | undefined): Promise<MaterializedQueryStatus> {
    const [schedule, job] = await Promise.all([
      this.deps.scheduler.get(MATERIALIZE_TASK, query.id),
      row?.job_id ? this.deps.jobs.get(row.job_id) : undefined,
    ])
    return {
      query_id: query.id,
      display_name: query.display_name,
      status: row?.status ?? 'NOT_INITIALIZED',
      row_count: row?.version_id ? Number(row.row_count) : null,
      computed_at: toIsoOrNull(row?.last_success_time ?? null),
      last_execution_start_time: toIsoOrNull(row?.last_execution_start_time ?? null),
      last_execution_end_time: toIsoOrNull(row?.last_execution_end_time ?? null),
      next_execution_start_time: schedule?.next_run_at ?? null,
      consecutive_failures: row?.consecutive_failures ?? 0,
      error: row?.error ?? null,
      job_id: row?.job_id ?? null,
      job_status: job?.status ?? null,
      schedule: query.schedule ?? { type: 'none' },
    }
  }
}

function hashOf(sql: string, parameters: unknown): string {
  return createHash('sha256').update(sql).update('\0').update(JSON.stringify(parameters)).digest('hex')
}

function unexpected(error: unknown): { code: string; message: string } {
  return { code: 'internal_error', message: error instanceof AppError ? error.message : String(error) }
}
