import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'

import type { EventType } from '@tributary/contract'
import { sql, type UpdateObject } from 'kysely'

import type { Principal, RequestContext } from '../auth/principal.js'
import type { EventPublisher } from '../events/event-publisher.js'
import { isAppError } from '../lib/errors.js'
import { newId } from '../lib/ids.js'
import type { Logger } from '../lib/logger.js'
import type { MetadataDb } from '../metadata/database.js'
import type { Database, JobRow, JobStatus } from '../metadata/schema.js'

export type { JobRow, JobStatus }

export interface JobEnding {
  status: JobStatus
  endedAt: Date | null
}

/** What a failed job says went wrong; the API shows it as the job's `error`. */
export interface JobError {
  code: string
  message: string
  details?: unknown
}

/** A claimed job as its handler sees it. */
export interface RunningJob<P> {
  id: string
  kind: string
  organizationId: string
  projectId: string
  payload: P
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number
  maxAttempts: number
  /** Who enqueued the job: the handler acts with the caller's rights (re-checked when it runs). */
  caller: RequestContext | undefined
}

export interface JobRunContext {
  /** Aborted when the job is cancelled, the server shuts down, or another worker took the job over. */
  signal: AbortSignal
  /** Replaces the job's `progress`; cheap enough to call every few seconds, not per row. */
  progress(progress: Record<string, unknown>): Promise<void>
}

export interface JobHandler<P = unknown> {
  kind: string
  /**
   * Whether running the job again after a crash or a transient failure is harmless. Retried jobs
   * wait with exponential backoff; an `AppError` with a 4xx status is never retried.
   */
  retryable: boolean
  /** Attempts in all, for retryable handlers (default 3). */
  maxAttempts?: number
  run(job: RunningJob<P>, ctx: JobRunContext): Promise<Record<string, unknown>>
  /**
   * The events a job of this kind publishes when it ends, in the transaction that records the end:
   * `data` is `{job_id, kind, status, result | error}` plus what `data` adds (the ids a subscriber needs).
   */
  events?: {
    succeeded?: EventType
    failed?: EventType
    data?: (job: RunningJob<P>) => Record<string, unknown>
  }
}

export interface EnqueueInput<P> {
  kind: string
  organizationId: string
  projectId: string
  payload: P
  /** Overrides the handler's `maxAttempts`; ignored (1) for handlers that are not retryable. */
  maxAttempts?: number
  /** The request that asked for the job; stored so the handler can act as that caller. */
  caller?: RequestContext
  /** Choose the id up front, e.g. to name files after the job before it is inserted. */
  id?: string
}

export interface JobListFilter {
  payload?: Readonly<Record<string, string | undefined>>
  status?: JobStatus | undefined
  /** The cursor: jobs older than this id. */
  before?: string | undefined
}

export interface JobQueueOptions {
  /**
   * The queue this process serves. Jobs write to the data directory, so only processes that share
   * it may run each other's jobs: several processes on one PostgreSQL with different directories
   * (as in tests) must not take each other's work.
   */
  queue: string
  /** Jobs this process runs at once. */
  concurrency: number
  /** How often idle workers look for due jobs and for leases that ran out. */
  pollIntervalMs: number
  /** A running job's lease; a worker renews it every `heartbeatMs` and loses the job if it lapses. */
  leaseMs: number
  heartbeatMs: number
  /** First retry delay; each later retry doubles it, up to `retryMaxDelayMs`. */
  retryBaseDelayMs: number
  retryMaxDelayMs?: number
  /**
   * PGlite belongs to one process: at start every `running` job is an orphan of a process that
   * died, and is reclaimed at once instead of when its lease runs out.
   */
  singleProcess: boolean
  logger?: Logger | undefined
  /** Where the events of ended jobs (`JobHandler.events`) are published. */
  events?: EventPublisher | undefined
}

export const INTERRUPTED_MESSAGE = 'the server stopped while the job ran'

type AbortCause = 'cancel' | 'shutdown' | 'lost'

interface Active {
  id: string
  controller: AbortController
  cause: AbortCause | undefined
  done: Promise<void>
}

const TERMINAL: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled']
export const isTerminal = (status: JobStatus): boolean => TERMINAL.includes(status)

/**
 * The durable queue (DESIGN §6) on the metadata database, PGlite or PostgreSQL. Workers claim due
 * rows with `FOR UPDATE SKIP LOCKED`, so several processes on one PostgreSQL share the work, and
 * hold a lease they renew while the job runs. A job whose lease ran out belonged to a worker that
 * died: it is retried (retryable handlers with attempts left) or failed, never left `running`.
 * Every change a worker makes names itself in the WHERE clause, so a worker that lost its lease
 * can never complete the job a second time.
 */
export class JobQueue {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  readonly #handlers = new Map<string, JobHandler<never>>()
  readonly #active = new Map<string, Active>()
  #timer: NodeJS.Timeout | undefined
  #started = false
  #stopping: Promise<void> | undefined
  #ticking: Promise<void> | undefined
  #tickAgain = false
  #lastReclaim = 0

  constructor(
    private readonly db: MetadataDb,
    private readonly options: JobQueueOptions,
  ) {}

  register<P>(handler: JobHandler<P>): void {
    if (this.#handlers.has(handler.kind)) throw new Error(`a handler for job kind '${handler.kind}' is registered`)
    this.#handlers.set(handler.kind, handler)
  }

  /**
   * Adds a job. Pass a transaction to make the job part of a larger write; it becomes visible to
   * workers when that commits (call `wake()` then to start it without waiting for the next poll).
   */
  async enqueue<P>(db: MetadataDb, input: EnqueueInput<P>): Promise<JobRow> {
    const handler = this.#handlers.get(input.kind)
    if (!handler) throw new Error(`no handler for job kind '${input.kind}'`)
    const maxAttempts = handler.retryable ? (input.maxAttempts ?? handler.maxAttempts ?? 3) : 1
    const row = await db
      .insertInto('jobs')
      .values({
        id: input.id ?? newId(),
        organization_id: input.organizationId,
        project_id: input.projectId,
        queue: this.options.queue,
        kind: input.kind,
        payload: JSON.stringify(input.payload),
        status: 'queued',
        max_attempts: maxAttempts,
        created_by: input.caller
          ? JSON.stringify({ principal: input.caller.principal, request_id: input.caller.requestId })
          : null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    if (db === this.db) this.wake()
    return row
  }

  /** The status and end of each of these jobs that exists. */
  async endings(ids: readonly string[]): Promise<Map<string, JobEnding>> {
    const found = new Map<string, JobEnding>()
    for (let start = 0; start < ids.length; start += 1000) {
      const rows = await this.db
        .selectFrom('jobs')
        .select(['id', 'status', 'ended_at'])
        .where('id', 'in', ids.slice(start, start + 1000))
        .execute()
      for (const row of rows) found.set(row.id, { status: row.status, endedAt: row.ended_at })
    }
    return found
  }

  async get(id: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** A job of one project, or undefined: callers answer 404 for other tenants' jobs. */
  async find(organizationId: string, projectId: string, id: string, kind?: string): Promise<JobRow | undefined> {
    let query = this.#ofProject(organizationId, projectId).where('id', '=', id)
    if (kind) query = query.where('kind', '=', kind)
    return query.executeTakeFirst()
  }

  /**
   * One project's jobs of one kind, newest first (`limit + 1` rows, for paging): every list of
   * jobs by kind (query jobs, imports) reads through here. `payload` narrows by top-level text
   * fields of the payload.
   */
  async list(
    organizationId: string,
    projectId: string,
    kind: string,
    filter: JobListFilter,
    limit: number,
  ): Promise<JobRow[]> {
    let query = this.#ofProject(organizationId, projectId).where('kind', '=', kind)
    for (const [field, value] of Object.entries(filter.payload ?? {})) {
      if (value !== undefined) query = query.where(sql<string>`payload->>${field}`, '=', value)
    }
    if (filter.status) query = query.where('status', '=', filter.status)
    if (filter.before) query = query.where('id', '<', filter.before)
    return query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute()
  }

  #ofProject(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('jobs')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
  }

  /**
   * A queued job is cancelled at once; a running one is asked to stop (its worker aborts the
   * handler and marks it cancelled). `changed` is false when the job had already ended.
   */
  async cancel(id: string): Promise<{ job: JobRow; changed: boolean } | undefined> {
    const queued = await this.db
      .updateTable('jobs')
      .set({ status: 'cancelled', ended_at: sql`now()`, cancel_requested_at: sql`now()` })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .returningAll()
      .executeTakeFirst()
    if (queued) return { job: queued, changed: true }
    const running = await this.db
      .updateTable('jobs')
      .set({ cancel_requested_at: sql`coalesce(cancel_requested_at, now())` })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .returningAll()
      .executeTakeFirst()
    if (running) {
      // Running here: stop now rather than at the next heartbeat.
      this.#abort(id, 'cancel')
      return { job: running, changed: true }
    }
    const job = await this.get(id)
    return job && { job, changed: false }
  }

  /** Looks for due work now instead of at the next poll. */
  wake(): void {
    if (!this.#started || this.#stopping) return
    setImmediate(() => void this.#tick())
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    const boot = this.options.singleProcess ? this.#reclaim(true) : Promise.resolve()
    void boot
      .catch((error: unknown) => this.options.logger?.error({ err: error }, 'reclaiming interrupted jobs failed'))
      .then(() => {
        if (this.#stopping) return
        this.#timer = setInterval(() => void this.#tick(), this.options.pollIntervalMs)
        this.#timer.unref()
        void this.#tick()
      })
  }

  /**
   * Stops claiming, gives running jobs `graceMs` to finish, then aborts the rest and hands them
   * back to the queue as they were (the attempt does not count), for this or another process.
   */
  stop(graceMs = 0): Promise<void> {
    this.#stopping ??= this.#stop(graceMs)
    return this.#stopping
  }

  /** Jobs running in this process now. */
  get activeCount(): number {
    return this.#active.size
  }

  async #stop(graceMs: number): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await this.#ticking
    const all = () => Promise.all([...this.#active.values()].map((active) => active.done))
    if (this.#active.size > 0 && graceMs > 0) await Promise.race([all(), delay(graceMs)])
    for (const active of this.#active.values()) this.#abort(active.id, 'shutdown')
    // Handlers get a moment to notice the signal and release what they hold.
    if (this.#active.size > 0) await Promise.race([all(), delay(2_000)])
    for (const active of [...this.#active.values()]) await this.#release(active.id)
  }

  async #tick(): Promise<void> {
    if (this.#stopping) return
    if (this.#ticking) {
      this.#tickAgain = true
      return
    }
    this.#ticking = this.#poll()
    try {
      await this.#ticking
    } finally {
      this.#ticking = undefined
    }
    if (this.#tickAgain) {
      this.#tickAgain = false
      void this.#tick()
    }
  }

  async #poll(): Promise<void> {
    try {
      // Leases lapse on a scale of seconds: looking for them on every poll would only add load.
      const reclaimEvery = Math.min(this.options.leaseMs / 2, 5_000)
      if (Date.now() - this.#lastReclaim >= reclaimEvery) {
        this.#lastReclaim = Date.now()
        await this.#reclaim(false)
      }
      const free = this.options.concurrency - this.#active.size
      if (free <= 0 || this.#handlers.size === 0) return
      for (const row of await this.#claim(free)) this.#launch(row)
    } catch (error) {
      this.options.logger?.error({ err: error }, 'polling the job queue failed')
    }
  }

  async #claim(limit: number): Promise<JobRow[]> {
    const kinds = [...this.#handlers.keys()]
    const result = await sql<JobRow>`
      update jobs set
        status = 'running',
        attempt = attempt + 1,
        locked_by = ${this.workerId},
        lease_expires_at = now() + ${this.options.leaseMs} * interval '1 millisecond',
        heartbeat_at = now(),
        started_at = now(),
        ended_at = null
      where id in (
        select id from jobs
        where queue = ${this.options.queue} and status = 'queued' and run_after <= now()
          and kind in (${sql.join(kinds)})
        order by run_after, id
        limit ${limit}
        for update skip locked
      )
      returning *`.execute(this.db)
    return result.rows
  }

  /**
   * Jobs of this queue whose worker stopped renewing its lease: cancelled if that was asked, retried
   * after a backoff when attempts remain, failed otherwise. Each UPDATE re-checks `status =
   * 'running'`, so two processes reclaiming at once act on a job only once. Other queues' jobs are
   * theirs to reclaim: their files live in another data directory.
   */
  async #reclaim(all: boolean): Promise<void> {
    const expired = all
      ? sql`queue = ${this.options.queue}`
      : sql`queue = ${this.options.queue} and lease_expires_at < now()`
    const base = this.options.retryBaseDelayMs
    const max = this.options.retryMaxDelayMs ?? 5 * 60_000
    const interrupted = JSON.stringify({ code: 'internal_error', message: INTERRUPTED_MESSAGE })
    const retrying = JSON.stringify({ code: 'internal_error', message: `${INTERRUPTED_MESSAGE}; retrying` })
    const cancelled = await sql<{ id: string }>`
      update jobs set status = 'cancelled', ended_at = now(), locked_by = null, lease_expires_at = null
      where status = 'running' and ${expired} and cancel_requested_at is not null
      returning id`.execute(this.db)
    const retried = await sql<{ id: string }>`
      update jobs set
        status = 'queued', locked_by = null, lease_expires_at = null, error = ${retrying}::jsonb,
        run_after = now() + least(${base} * power(2, greatest(attempt - 1, 0)), ${max}) * interval '1 millisecond'
      where status = 'running' and ${expired} and attempt < max_attempts
      returning id`.execute(this.db)
    const failed = await sql<{ id: string }>`
      update jobs set
        status = 'failed', ended_at = now(), locked_by = null, lease_expires_at = null, error = ${interrupted}::jsonb
      where status = 'running' and ${expired}
      returning id`.execute(this.db)
    const count = cancelled.rows.length + retried.rows.length + failed.rows.length
    if (count > 0) {
      this.options.logger?.warn(
        {
          cancelled: cancelled.rows.map((row) => row.id),
          retried: retried.rows.map((row) => row.id),
          failed: failed.rows.map((row) => row.id),
        },
        'reclaimed jobs whose worker stopped',
      )
    }
  }

  #launch(row: JobRow): void {
    const controller = new AbortController()
    const active: Active = { id: row.id, controller, cause: undefined, done: Promise.resolve() }
    this.#active.set(row.id, active)
    active.done = this.#run(row, active).finally(() => {
      this.#active.delete(row.id)
      this.wake()
    })
  }

  async #run(row: JobRow, active: Active): Promise<void> {
    const handler = this.#handlers.get(row.kind)!
    const log = this.options.logger?.child({ job_id: row.id, kind: row.kind, attempt: row.attempt })
    const heartbeat = setInterval(() => void this.#heartbeat(row.id), this.options.heartbeatMs)
    heartbeat.unref()
    // Cancelled between the claim and now: nothing to run.
    if (row.cancel_requested_at) this.#abort(row.id, 'cancel')
    const started = performance.now()
    let outcome: { result: Record<string, unknown> } | { error: unknown }
    const job: RunningJob<never> = {
      id: row.id,
      kind: row.kind,
      organizationId: row.organization_id,
      projectId: row.project_id,
      payload: row.payload as never,
      attempt: row.attempt,
      maxAttempts: row.max_attempts,
      caller: callerOf(row),
    }
    try {
      const result = await handler.run(job, {
        signal: active.controller.signal,
        progress: (progress) => this.#progress(row.id, progress),
      })
      outcome = { result }
    } catch (error) {
      outcome = { error }
    } finally {
      clearInterval(heartbeat)
    }
    const elapsedMs = Math.round(performance.now() - started)

    // A handler that found the cancellation recorded before its abort arrived (asked on another
    // server, or just as it finished) says so by throwing the reason the abort would carry.
    const cause =
      active.cause ??
      ('error' in outcome && outcome.error instanceof JobAbortedError && outcome.error.reason === 'cancel'
        ? 'cancel'
        : undefined)
    try {
      switch (cause) {
        case 'lost':
          log?.warn('another worker took the job over; its outcome here is discarded')
          return
        case 'shutdown':
          await this.#release(row.id)
          return
        case 'cancel':
          await this.#finish(job, 'cancelled', {})
          log?.info({ elapsed_ms: elapsedMs }, 'job cancelled')
          return
        case undefined:
          break
      }
      if ('result' in outcome) {
        const done = await this.#finish(job, 'succeeded', { result: outcome.result })
        if (done) log?.info({ elapsed_ms: elapsedMs }, 'job succeeded')
        else log?.warn('the job finished after its lease was lost; its outcome is discarded')
        return
      }
      const jobError = toJobError(outcome.error)
      const permanent = isAppError(outcome.error) && outcome.error.status < 500
      if (!permanent && row.attempt < row.max_attempts) {
        const wait = this.#backoff(row.attempt)
        await this.#update(row.id, {
          status: 'queued',
          error: JSON.stringify(jobError),
          run_after: new Date(Date.now() + wait),
          locked_by: null,
          lease_expires_at: null,
        })
        log?.warn({ err: outcome.error, retry_in_ms: wait }, 'job failed; retrying')
        return
      }
      await this.#finish(job, 'failed', { error: jobError })
      if (isAppError(outcome.error)) log?.info({ error: jobError }, 'job failed')
      else log?.error({ err: outcome.error }, 'job failed')
    } catch (error) {
      // The metadata store is unreachable: the lease runs out and another pass reclaims the job.
      log?.error({ err: error }, 'recording the outcome of a job failed')
    }
  }

  #backoff(attempt: number): number {
    const base = this.options.retryBaseDelayMs * 2 ** Math.max(attempt - 1, 0)
    return Math.min(base, this.options.retryMaxDelayMs ?? 5 * 60_000)
  }

  async #heartbeat(id: string): Promise<void> {
    try {
      const row = await this.db
        .updateTable('jobs')
        .set({
          lease_expires_at: sql`now() + ${this.options.leaseMs} * interval '1 millisecond'`,
          heartbeat_at: sql`now()`,
        })
        .where('id', '=', id)
        .where('locked_by', '=', this.workerId)
        .where('status', '=', 'running')
        .returning('cancel_requested_at')
        .executeTakeFirst()
      if (!row) this.#abort(id, 'lost')
      else if (row.cancel_requested_at) this.#abort(id, 'cancel')
    } catch (error) {
      this.options.logger?.warn({ err: error, job_id: id }, 'renewing a job lease failed')
    }
  }

  async #progress(id: string, progress: Record<string, unknown>): Promise<void> {
    await this.#update(id, { progress: JSON.stringify(progress) })
  }

  /**
   * Marks the job ended, only while this worker still holds it, and publishes the event its handler
   * declares for that ending in the same transaction: the event exists exactly when the ending does.
   */
  async #finish(
    job: RunningJob<never>,
    status: 'succeeded' | 'failed' | 'cancelled',
    outcome: { result?: Record<string, unknown>; error?: JobError },
  ): Promise<boolean> {
    const values: UpdateObject<Database, 'jobs'> = {
      status,
      ended_at: sql`now()`,
      locked_by: null,
      lease_expires_at: null,
      ...(outcome.result ? { result: JSON.stringify(outcome.result) } : {}),
      ...(outcome.error ? { error: JSON.stringify(outcome.error) } : {}),
    }
    const declared = this.#handlers.get(job.kind)?.events
    const type = status === 'cancelled' ? undefined : declared?.[status]
    const events = this.options.events
    if (!type || !events) return this.#update(job.id, values)
    return this.db.transaction().execute(async (trx) => {
      if (!(await this.#update(job.id, values, trx))) return false
      await events.publish(trx, {
        type,
        organizationId: job.organizationId,
        projectId: job.projectId,
        data: {
          job_id: job.id,
          kind: job.kind,
          status,
          ...(outcome.result ? { result: outcome.result } : {}),
          ...(outcome.error ? { error: outcome.error } : {}),
          ...declared?.data?.(job),
        },
      })
      return true
    })
  }

  /** Hands a job back untouched: the attempt that was interrupted by a shutdown does not count. */
  async #release(id: string): Promise<void> {
    await this.#update(id, {
      status: 'queued',
      attempt: sql`greatest(attempt - 1, 0)`,
      run_after: sql`now()`,
      locked_by: null,
      lease_expires_at: null,
    })
  }

  async #update(id: string, values: UpdateObject<Database, 'jobs'>, db: MetadataDb = this.db): Promise<boolean> {
    const result = await db
      .updateTable('jobs')
      .set(values)
      .where('id', '=', id)
      .where('locked_by', '=', this.workerId)
      .where('status', '=', 'running')
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  #abort(id: string, cause: AbortCause): void {
    const active = this.#active.get(id)
    if (!active || active.cause) return
    active.cause = cause
    active.controller.abort(new JobAbortedError(cause))
  }
}

/** The reason a handler's signal carries. */
export class JobAbortedError extends Error {
  override name = 'JobAbortedError'
  constructor(readonly reason: AbortCause) {
    super(
      reason === 'cancel'
        ? 'the job was cancelled'
        : reason === 'shutdown'
          ? 'the server is shutting down'
          : 'another worker took the job over',
    )
  }
}

function toJobError(error: unknown): JobError {
  if (isAppError(error)) {
    return {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    }
  }
  // Anything else is the platform's fault, and its message may name internals: the log has it.
  return { code: 'internal_error', message: 'the job failed unexpectedly' }
}

function callerOf(row: JobRow): RequestContext | undefined {
  const createdBy = row.created_by as { principal?: Principal; request_id?: string } | null
  if (!createdBy?.principal) return undefined
  return { principal: createdBy.principal, requestId: createdBy.request_id ?? `job:${row.id}` }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())
