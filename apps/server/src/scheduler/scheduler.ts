import { parseCron, parseIsoDuration, type Schedule, type ScheduleRun } from '@tributary/contract'
import { sql } from 'kysely'

import type { Principal, RequestContext } from '../auth/principal.js'
import type { JobQueue } from '../jobs/queue.js'
import { newId } from '../lib/ids.js'
import type { Logger } from '../lib/logger.js'
import type { MetadataDb } from '../metadata/database.js'
import type { ScheduleRow } from '../metadata/schema.js'
import { toIso, toIsoOrNull } from '../metadata/store-errors.js'

/** A task a module runs on schedules: each due occurrence becomes a job of `jobKind`. */
export interface ScheduledTask {
  name: string
  jobKind: string
}

/** A schedule as modules show it. */
export interface ScheduleInfo {
  id: string
  schedule: Schedule
  next_run_at: string | null
  last_run: ScheduleRun | null
  /** Failed runs since the last one that succeeded (runs still going and cancelled runs do not count). */
  consecutive_failures: number
}

export interface PutScheduleInput {
  organizationId: string
  projectId: string
  task: string
  key: string
  schedule: Schedule
  /** Given to every job of the schedule, with `schedule_id` and `scheduled_for` added. */
  payload: Record<string, unknown>
  /** Whom the jobs act as; they re-check that caller's rights when they run. */
  caller?: RequestContext
}

/** What a scheduled job finds in its payload besides what `put` was given. */
export interface ScheduledPayload {
  schedule_id: string
  /** ISO-8601: the due time this run is for. */
  scheduled_for: string
}

export interface SchedulerOptions {
  /** The job queue this process serves (`JobQueue`'s): it claims that queue's schedules and queues their jobs there. */
  queue: string
  /** How often the timer looks for due occurrences; cron has minute resolution, so well under a minute. */
  tickMs: number
  logger?: Logger | undefined
}

/** Due schedules claimed per query; a tick goes on until none is left. */
const CLAIM_BATCH = 100

/**
 * The one scheduler (issue 11): schedules live in the metadata database, and each due occurrence
 * becomes a job on the durable queue exactly once, however many servers tick at once.
 *
 * Claiming an occurrence is one transaction: lock the schedule while it is still due (concurrent
 * claimers wait, then find it no longer due), advance its `next_run_at`, insert `schedule_runs
 * (schedule_id, scheduled_for)` whose unique key refuses a second run of one occurrence, and
 * enqueue the job. Whatever a job then does (retried after a crash by
 * the queue's lease, or failed) is the run's history: runs read status, times and errors from it.
 *
 * Missed occurrences (the server was down) collapse into ONE run, for the latest due time that
 * passed; the next one is the first after now. A day-long outage of an hourly schedule runs it
 * once on start, not 24 times.
 */
export class Scheduler {
  readonly #tasks = new Map<string, ScheduledTask>()
  #timer: NodeJS.Timeout | undefined
  #ticking: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly db: MetadataDb,
    private readonly jobs: JobQueue,
    private readonly options: SchedulerOptions,
  ) {}

  register(task: ScheduledTask): void {
    if (this.#tasks.has(task.name)) throw new Error(`scheduled task '${task.name}' is registered twice`)
    this.#tasks.set(task.name, task)
  }

  /** The first occurrence strictly after `after`; null for `none` or a cron that never runs again. */
  nextAfter(schedule: Schedule, after: Date): Date | null {
    return nextOccurrence(schedule, after)
  }

  /**
   * Creates or replaces the schedule of (task, key); `db` may be a transaction of the caller. The
   * first occurrence is the next after now: an interval counts from when it is set.
   */
  async put(db: MetadataDb, input: PutScheduleInput): Promise<ScheduleInfo> {
    if (!this.#tasks.has(input.task)) throw new Error(`scheduled task '${input.task}' is not registered`)
    const values = {
      organization_id: input.organizationId,
      project_id: input.projectId,
      queue: this.options.queue,
      schedule: JSON.stringify(input.schedule),
      payload: JSON.stringify(input.payload),
      created_by: input.caller
        ? JSON.stringify({ principal: input.caller.principal, request_id: input.caller.requestId })
        : null,
      next_run_at: this.nextAfter(input.schedule, new Date()),
      updated_at: new Date(),
    }
    const row = await db
      .insertInto('schedules')
      .values({ id: newId(), task: input.task, key: input.key, ...values })
      .onConflict((conflict) => conflict.columns(['task', 'key']).doUpdateSet(values))
      .returningAll()
      .executeTakeFirstOrThrow()
    return this.#info(db, row)
  }

  /** Removes the schedule of (task, key) and its history; runs already queued still run. */
  async remove(db: MetadataDb, task: string, key: string): Promise<void> {
    const schedule = await db
      .selectFrom('schedules')
      .select('id')
      .where('task', '=', task)
      .where('key', '=', key)
      .executeTakeFirst()
    if (!schedule) return
    await db.deleteFrom('schedule_runs').where('schedule_id', '=', schedule.id).execute()
    await db.deleteFrom('schedules').where('id', '=', schedule.id).execute()
  }

  async get(task: string, key: string): Promise<ScheduleInfo | undefined> {
    const row = await this.db
      .selectFrom('schedules')
      .selectAll()
      .where('task', '=', task)
      .where('key', '=', key)
      .executeTakeFirst()
    return row && this.#info(this.db, row)
  }

  /** Runs of (task, key), newest first; `before` is the id of the last run of the previous page. */
  async runs(task: string, key: string, options: { limit: number; before?: string }): Promise<ScheduleRun[]> {
    const schedule = await this.db
      .selectFrom('schedules')
      .select('id')
      .where('task', '=', task)
      .where('key', '=', key)
      .executeTakeFirst()
    if (!schedule) return []
    return this.#runs(this.db, schedule.id, options.limit, options.before)
  }

  /**
   * Claims every occurrence due at `now` and queues its job; returns how many it claimed. The
   * timer calls it; tests drive it with a fake clock.
   */
  async tick(now: Date = new Date()): Promise<number> {
    const tasks = [...this.#tasks.keys()]
    if (tasks.length === 0) return 0
    let claimed = 0
    const seen = new Set<string>()
    for (;;) {
      const due = await this.db
        .selectFrom('schedules')
        .selectAll()
        .where('task', 'in', tasks)
        .where((where) => where.or([where('queue', '=', this.options.queue), where('queue', 'is', null)]))
        .where('next_run_at', '<=', now)
        .orderBy('next_run_at')
        .orderBy('id')
        .limit(CLAIM_BATCH)
        .execute()
      // A schedule whose claim failed stays due: it waits for the next tick instead of looping here.
      const fresh = due.filter((row) => !seen.has(row.id))
      if (fresh.length === 0) break
      for (const row of fresh) {
        seen.add(row.id)
        try {
          if (await this.#claim(row, now)) claimed += 1
        } catch (error) {
          this.options.logger?.error({ err: error, schedule_id: row.id, task: row.task }, 'claiming a schedule failed')
        }
      }
      if (due.length < CLAIM_BATCH) break
    }
    if (claimed > 0) this.jobs.wake()
    return claimed
  }

  /** Starts the timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.#timer) return
    const tick = () => {
      this.#ticking = this.tick().catch((error: unknown) =>
        this.options.logger?.error({ err: error }, 'looking for due schedules failed'),
      )
    }
    this.#timer = setInterval(tick, this.options.tickMs)
    this.#timer.unref()
    tick()
  }

  /** Stops the timer and waits for a tick in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#ticking
  }

  async #claim(candidate: ScheduleRow, now: Date): Promise<boolean> {
    const task = this.#tasks.get(candidate.task)!
    return this.db.transaction().execute(async (trx) => {
      // Concurrent claimers of one schedule wait on this lock, then find it no longer due.
      const row = await trx
        .selectFrom('schedules')
        .selectAll()
        .where('id', '=', candidate.id)
        .where('next_run_at', '<=', now)
        .forUpdate()
        .executeTakeFirst()
      if (!row) return false
      const schedule = row.schedule as Schedule
      const scheduledFor = latestDue(schedule, row.next_run_at!, now)
      const next = nextAfterNow(schedule, scheduledFor, now)
      await trx.updateTable('schedules').set({ next_run_at: next }).where('id', '=', row.id).execute()
      const jobId = newId()
      const run = await trx
        .insertInto('schedule_runs')
        .values({ id: newId(), schedule_id: row.id, scheduled_for: scheduledFor, job_id: jobId })
        .onConflict((conflict) => conflict.columns(['schedule_id', 'scheduled_for']).doNothing())
        .returning('id')
        .executeTakeFirst()
      // That occurrence already ran (a replaced schedule landed on a claimed time): only the advance stands.
      if (!run) return false
      await this.jobs.enqueue<Record<string, unknown>>(trx, {
        id: jobId,
        kind: task.jobKind,
        organizationId: row.organization_id,
        projectId: row.project_id,
        payload: { ...row.payload, schedule_id: row.id, scheduled_for: toIso(scheduledFor) },
        caller: callerOf(row),
      })
      return true
    })
  }

  async #info(db: MetadataDb, row: ScheduleRow): Promise<ScheduleInfo> {
    const [lastRun] = await this.#runs(db, row.id, 1)
    const failures = await sql<{ count: string | number }>`
      select count(*) as count from schedule_runs r join jobs j on j.id = r.job_id
      where r.schedule_id = ${row.id} and j.status = 'failed' and r.scheduled_for > coalesce(
        (select max(r2.scheduled_for) from schedule_runs r2 join jobs j2 on j2.id = r2.job_id
         where r2.schedule_id = ${row.id} and j2.status = 'succeeded'),
        '-infinity')`.execute(db)
    return {
      id: row.id,
      schedule: row.schedule as Schedule,
      next_run_at: toIsoOrNull(row.next_run_at),
      last_run: lastRun ?? null,
      consecutive_failures: Number(failures.rows[0]?.count ?? 0),
    }
  }

  async #runs(db: MetadataDb, scheduleId: string, limit: number, before?: string): Promise<ScheduleRun[]> {
    let query = db
      .selectFrom('schedule_runs as r')
      .innerJoin('jobs as j', 'j.id', 'r.job_id')
      .select(['r.id', 'r.scheduled_for', 'r.job_id', 'j.status', 'j.started_at', 'j.ended_at', 'j.result', 'j.error'])
      .where('r.schedule_id', '=', scheduleId)
    if (before) query = query.where('r.id', '<', before)
    const rows = await query.orderBy('r.id', 'desc').limit(limit).execute()
    return rows.map((run) => ({
      id: run.id,
      scheduled_for: toIso(run.scheduled_for),
      started_at: toIsoOrNull(run.started_at),
      ended_at: toIsoOrNull(run.ended_at),
      status: run.status,
      rows: typeof run.result?.['rows'] === 'number' ? run.result['rows'] : null,
      // A job that succeeded on a retry keeps the error of the attempt before: it is no longer the run's.
      error:
        run.error && run.status !== 'succeeded'
          ? { code: String(run.error['code']), message: String(run.error['message']) }
          : null,
      job_id: run.job_id,
    }))
  }
}

/** The first occurrence of `schedule` strictly after `after`; null for `none` or a cron that never runs again. */
export function nextOccurrence(schedule: Schedule, after: Date): Date | null {
  switch (schedule.type) {
    case 'none':
      return null
    case 'cron':
      return parseCron(schedule.cron, schedule.timezone).nextRun(after)
    case 'interval':
      return addDuration(after, schedule.every, 1)
  }
}

/** The latest occurrence at or before `now`, starting from the due `next` (collapsing the ones missed). */
function latestDue(schedule: Schedule, next: Date, now: Date): Date {
  switch (schedule.type) {
    case 'none':
      return next
    case 'cron': {
      const [latest] = parseCron(schedule.cron, schedule.timezone).previousRuns(1, new Date(now.getTime() + 1))
      return latest && latest > next ? latest : next
    }
    case 'interval': {
      let latest = next
      for (let step = fixedStepsBefore(next, schedule.every, now); ; step = 1) {
        const candidate = addDuration(latest, schedule.every, step)
        if (!candidate || candidate > now) return latest
        latest = candidate
      }
    }
  }
}

/** The occurrence after `scheduledFor` that is still ahead of `now` (an interval keeps its grid). */
function nextAfterNow(schedule: Schedule, scheduledFor: Date, now: Date): Date | null {
  let next = nextOccurrence(schedule, scheduledFor)
  while (next && next <= now) next = nextOccurrence(schedule, next)
  return next
}

/**
 * `from` plus `count` times an ISO-8601 duration. Years and months follow the UTC calendar; the
 * rest is elapsed time (a day is 24 hours), so across a DST change an interval keeps its length
 * and its wall-clock time moves: a schedule that must keep wall-clock times is a cron.
 */
function addDuration(from: Date, every: string, count: number): Date | null {
  const duration = parseIsoDuration(every)
  if (!duration) return null
  const next = new Date(from.getTime())
  const months = (duration.years * 12 + duration.months) * count
  if (months) next.setUTCMonth(next.getUTCMonth() + months)
  return new Date(next.getTime() + duration.ms * count)
}

/** Whole fixed-length steps from `from` that stay at or before `now` (at least 1), so that a long outage is not walked step by step. */
function fixedStepsBefore(from: Date, every: string, now: Date): number {
  const duration = parseIsoDuration(every)
  if (!duration || duration.years || duration.months || duration.ms <= 0) return 1
  return Math.max(1, Math.floor((now.getTime() - from.getTime()) / duration.ms))
}

function callerOf(row: ScheduleRow): RequestContext | undefined {
  const createdBy = row.created_by as { principal?: Principal; request_id?: string } | null
  if (!createdBy?.principal) return undefined
  return { principal: createdBy.principal, requestId: createdBy.request_id ?? `schedule:${row.id}` }
}
