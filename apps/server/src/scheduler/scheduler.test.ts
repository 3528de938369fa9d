import { randomBytes } from 'node:crypto'

import { Schedule } from '@tributary/contract'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'

import { createOrganization, createProject, describeEachStore, startTestApp, type TestApp } from '../../test/harness.js'
import { errors } from '../lib/errors.js'
import { INTERRUPTED_MESSAGE, JobQueue, type JobHandler } from '../jobs/queue.js'
import { openMetadataStore, type MetadataDb, type MetadataStore } from '../metadata/database.js'
import { nextOccurrence, Scheduler, type ScheduledPayload } from './scheduler.js'

const until = async <T>(probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** `2027-03-28 02:00` as a clock on the wall of `timezone` shows `instant`. */
function wallClock(instant: Date | string, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(instant))
  const part = (type: string) => parts.find((candidate) => candidate.type === type)!.value
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`
}

describe('schedules in the contract', () => {
  const issue = (input: unknown) => {
    const parsed = Schedule.safeParse(input)
    return parsed.success
      ? undefined
      : { path: parsed.error.issues[0]!.path.join('.'), message: parsed.error.issues[0]!.message }
  }

  it('accepts five- and six-field cron with a time zone, intervals of a minute or more, and none', () => {
    expect(Schedule.parse({ type: 'cron', cron: '0 3 * * *' })).toEqual({
      type: 'cron',
      cron: '0 3 * * *',
      timezone: 'UTC',
    })
    expect(issue({ type: 'cron', cron: '30 0 9 * * 1-5', timezone: 'America/New_York' })).toBeUndefined()
    expect(issue({ type: 'interval', every: 'PT1M' })).toBeUndefined()
    expect(issue({ type: 'interval', every: 'P1M' })).toBeUndefined()
    expect(issue({ type: 'none' })).toBeUndefined()
  })

  it('refuses bad cron, unknown time zones, short or malformed intervals, naming the field', () => {
    expect(issue({ type: 'cron', cron: '61 * * * *' })).toMatchObject({ path: 'cron' })
    expect(issue({ type: 'cron', cron: '0 0 * * * * 2027' })).toMatchObject({ path: 'cron' })
    expect(issue({ type: 'cron', cron: '*/30 * * * * *' })).toMatchObject({
      path: 'cron',
      message: expect.stringMatching(/once a minute/),
    })
    expect(issue({ type: 'cron', cron: '0 0 31 2 *' })).toMatchObject({
      path: 'cron',
      message: expect.stringMatching(/never runs/),
    })
    expect(issue({ type: 'cron', cron: '0 3 * * *', timezone: 'Mars/Olympus' })).toMatchObject({ path: 'timezone' })
    expect(issue({ type: 'interval', every: 'PT59S' })).toMatchObject({
      path: 'every',
      message: expect.stringMatching(/at least 60 seconds/),
    })
    expect(issue({ type: 'interval', every: '6 hours' })).toMatchObject({ path: 'every' })
    expect(issue({ type: 'interval', every: 'PT6H', extra: 1 })).toBeDefined()
    expect(issue({ type: 'weekly' })).toMatchObject({ path: 'type' })
  })

  it('finds the next occurrence in the schedule’s time zone', () => {
    const after = new Date('2027-03-13T15:00:00Z')
    const daily = { type: 'cron', cron: '0 9 * * *', timezone: 'America/New_York' } as const
    // 09:00 EDT, the day DST starts: 13:00 UTC, not 14:00.
    expect(nextOccurrence(daily, after)?.toISOString()).toBe('2027-03-14T13:00:00.000Z')
    expect(nextOccurrence({ type: 'interval', every: 'PT6H' }, after)?.toISOString()).toBe('2027-03-13T21:00:00.000Z')
    expect(nextOccurrence({ type: 'none' }, after)).toBeNull()
  })
})

describeEachStore('scheduler', (kind) => {
  let app: TestApp
  let db: MetadataDb
  let organizationId: string
  let projectId: string
  const queues: JobQueue[] = []
  const closers: (() => Promise<void>)[] = []

  beforeAll(async () => {
    app = await startTestApp(kind)
    db = app.tributary.store.db
    const { organization, orgKey } = await createOrganization(app, 'Scheduler')
    organizationId = organization.id
    projectId = (await createProject(app, orgKey, 'Scheduler')).id
  })
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.stop()))
    for (const close of closers.splice(0)) await close()
  })
  afterAll(async () => {
    await app.close()
  })

  const TASK = 'test.task'
  const JOB_KIND = 'test.scheduled'
  const uniqueName = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`

  /** A job queue of one "data directory" (a queue name no other test uses), not started. */
  const newQueue = (queue: string, handlers: JobHandler<never>[], on: MetadataDb = db) => {
    const created = new JobQueue(on, {
      queue,
      concurrency: 2,
      pollIntervalMs: 50,
      leaseMs: 10_000,
      heartbeatMs: 100,
      retryBaseDelayMs: 50,
      singleProcess: false,
    })
    for (const handler of handlers) created.register(handler)
    queues.push(created)
    return created
  }

  /** A "server": a scheduler with its job queue, on `on` (a connection pool of its own, for PostgreSQL). */
  const newServer = (queue: string, handlers: JobHandler<never>[], on: MetadataDb = db) => {
    const jobs = newQueue(queue, handlers, on)
    const scheduler = new Scheduler(on, jobs, { queue, tickMs: 60_000 })
    scheduler.register({ name: TASK, jobKind: JOB_KIND })
    return { jobs, scheduler }
  }

  const succeed: JobHandler<ScheduledPayload> = {
    kind: JOB_KIND,
    retryable: true,
    maxAttempts: 2,
    run: async (job) => ({ rows: 42, scheduled_for: job.payload.scheduled_for }),
  }
  const handlers = [succeed] as JobHandler<never>[]

  const put = (scheduler: Scheduler, key: string, schedule: Schedule, payload: Record<string, unknown> = {}) =>
    scheduler.put(db, { organizationId, projectId, task: TASK, key, schedule, payload })
  const setNext = (key: string, next: Date | string) =>
    db
      .updateTable('schedules')
      .set({ next_run_at: new Date(next) })
      .where('task', '=', TASK)
      .where('key', '=', key)
      .execute()
  const jobsOf = (scheduleId: string) =>
    db
      .selectFrom('jobs')
      .selectAll()
      .where(sql<string>`payload->>'schedule_id'`, '=', scheduleId)
      .execute()

  /** Ticks at each due time in turn, as a clock that jumps from one occurrence to the next. */
  async function tickThrough(scheduler: Scheduler, key: string, occurrences: number): Promise<void> {
    for (let count = 0; count < occurrences; count++) {
      const due = (await scheduler.get(TASK, key))!.next_run_at!
      expect(await scheduler.tick(new Date(due))).toBe(1)
    }
  }
  const scheduledTimes = async (scheduler: Scheduler, key: string) =>
    (await scheduler.runs(TASK, key, { limit: 100 })).map((run) => run.scheduled_for).reverse()

  it('runs a cron schedule at its wall-clock time through both DST changes of its time zone', async () => {
    const { scheduler } = newServer(uniqueName('cron'), handlers)
    const lisbon = uniqueName('lisbon')
    await put(scheduler, lisbon, { type: 'cron', cron: '30 1 * * *', timezone: 'Europe/Lisbon' })
    await setNext(lisbon, '2027-03-27T01:30:00Z')
    await tickThrough(scheduler, lisbon, 3)
    // Spring forward: 01:30 does not exist on 28 March, so it runs once, when the gap ends.
    expect((await scheduledTimes(scheduler, lisbon)).map((at) => wallClock(at, 'Europe/Lisbon'))).toEqual([
      '2027-03-27 01:30',
      '2027-03-28 02:00',
      '2027-03-29 01:30',
    ])
    await setNext(lisbon, '2027-10-30T00:30:00Z')
    await tickThrough(scheduler, lisbon, 3)
    // Fall back: 01:30 happens twice on 31 October; it runs once.
    const autumn = (await scheduledTimes(scheduler, lisbon)).slice(3)
    expect(autumn).toEqual(['2027-10-30T00:30:00.000Z', '2027-10-31T00:30:00.000Z', '2027-11-01T01:30:00.000Z'])
    expect(autumn.map((at) => wallClock(at, 'Europe/Lisbon'))).toEqual([
      '2027-10-30 01:30',
      '2027-10-31 01:30',
      '2027-11-01 01:30',
    ])

    const newYork = uniqueName('new-york')
    await put(scheduler, newYork, { type: 'cron', cron: '0 9 * * *', timezone: 'America/New_York' })
    await setNext(newYork, '2027-03-13T14:00:00Z')
    await tickThrough(scheduler, newYork, 3)
    const times = await scheduledTimes(scheduler, newYork)
    expect(times).toEqual(['2027-03-13T14:00:00.000Z', '2027-03-14T13:00:00.000Z', '2027-03-15T13:00:00.000Z'])
    expect(times.map((at) => wallClock(at, 'America/New_York').slice(11))).toEqual(['09:00', '09:00', '09:00'])
  })

  it('keeps an interval’s length across a DST change: its wall-clock time moves by the hour', async () => {
    const { scheduler } = newServer(uniqueName('interval'), handlers)
    const key = uniqueName('six-hourly')
    await put(scheduler, key, { type: 'interval', every: 'PT6H' })
    await setNext(key, '2027-03-27T18:00:00Z')
    await tickThrough(scheduler, key, 4)
    const times = await scheduledTimes(scheduler, key)
    expect(times).toEqual([
      '2027-03-27T18:00:00.000Z',
      '2027-03-28T00:00:00.000Z',
      '2027-03-28T06:00:00.000Z',
      '2027-03-28T12:00:00.000Z',
    ])
    expect(times.map((at) => wallClock(at, 'Europe/Lisbon').slice(11))).toEqual(['18:00', '00:00', '07:00', '13:00'])
    expect((await scheduler.get(TASK, key))!.next_run_at).toBe('2027-03-28T18:00:00.000Z')
  })

  it('queues one job per occurrence, with the payload, the schedule and the due time', async () => {
    const { scheduler } = newServer(uniqueName('payload'), handlers)
    const key = uniqueName('payload')
    const info = await put(scheduler, key, { type: 'interval', every: 'PT1H' }, { mode: 'full' })
    expect(info).toMatchObject({
      schedule: { type: 'interval', every: 'PT1H' },
      last_run: null,
      consecutive_failures: 0,
    })
    expect(Date.parse(info.next_run_at!)).toBeGreaterThan(Date.now() + 59 * 60_000)
    await setNext(key, '2027-01-01T00:00:00Z')
    expect(await scheduler.tick(new Date('2026-12-31T23:59:59Z'))).toBe(0)
    expect(await scheduler.tick(new Date('2027-01-01T00:00:00Z'))).toBe(1)
    const [job] = await jobsOf(info.id)
    expect(job).toMatchObject({
      kind: JOB_KIND,
      status: 'queued',
      organization_id: organizationId,
      project_id: projectId,
      payload: { mode: 'full', schedule_id: info.id, scheduled_for: '2027-01-01T00:00:00.000Z' },
    })
    const [run] = await scheduler.runs(TASK, key, { limit: 10 })
    expect(run).toMatchObject({
      scheduled_for: '2027-01-01T00:00:00.000Z',
      status: 'queued',
      job_id: job!.id,
      rows: null,
    })
  })

  it('collapses the occurrences missed while no server ran into one run', async () => {
    const { scheduler } = newServer(uniqueName('collapse'), handlers)
    const hourly = uniqueName('hourly')
    const info = await put(scheduler, hourly, { type: 'interval', every: 'PT1H' })
    await setNext(hourly, '2027-01-01T00:00:00Z')
    const quarterly = uniqueName('quarter-hourly')
    await put(scheduler, quarterly, { type: 'cron', cron: '*/15 * * * *', timezone: 'UTC' })
    await setNext(quarterly, '2027-01-01T00:00:00Z')

    // Down from midnight until 05:20: one run each, for the latest time that came due.
    expect(await scheduler.tick(new Date('2027-01-01T05:20:00Z'))).toBe(2)
    expect(await scheduledTimes(scheduler, hourly)).toEqual(['2027-01-01T05:00:00.000Z'])
    expect((await scheduler.get(TASK, hourly))!.next_run_at).toBe('2027-01-01T06:00:00.000Z')
    expect(await scheduledTimes(scheduler, quarterly)).toEqual(['2027-01-01T05:15:00.000Z'])
    expect((await scheduler.get(TASK, quarterly))!.next_run_at).toBe('2027-01-01T05:30:00.000Z')
    expect(await jobsOf(info.id)).toHaveLength(1)
    expect(await scheduler.tick(new Date('2027-01-01T05:29:59Z'))).toBe(0)
  })

  it('never creates one occurrence twice, however many schedulers tick at once', async () => {
    // Two servers sharing one data directory (one queue); on PostgreSQL each has its own connection pool.
    const queue = uniqueName('pair')
    let second: MetadataStore | undefined
    if (kind === 'postgres') {
      second = await openMetadataStore({ databaseUrl: inject('postgresUrl')!, poolSize: 4 })
      closers.push(() => second!.close())
    }
    const one = newServer(queue, handlers)
    const two = newServer(queue, handlers, second?.db ?? db)
    const keys = Array.from({ length: 12 }, () => uniqueName('shared'))
    const ids: string[] = []
    for (const key of keys) {
      ids.push((await put(one.scheduler, key, { type: 'cron', cron: '*/5 * * * *', timezone: 'UTC' })).id)
      await setNext(key, '2027-01-01T00:00:00Z')
    }
    for (const minute of [0, 5, 10]) {
      const now = new Date(Date.UTC(2027, 0, 1, 0, minute, 30))
      const claims = await Promise.all(
        [one, two, one, two].map(({ scheduler }, index) =>
          // Clocks a little apart, as servers' are.
          scheduler.tick(new Date(now.getTime() + index * 7)),
        ),
      )
      expect(claims.reduce((sum, claimed) => sum + claimed, 0)).toBe(keys.length)
    }
    for (const [index, key] of keys.entries()) {
      expect(await scheduledTimes(one.scheduler, key)).toEqual([
        '2027-01-01T00:00:00.000Z',
        '2027-01-01T00:05:00.000Z',
        '2027-01-01T00:10:00.000Z',
      ])
      expect(await jobsOf(ids[index]!)).toHaveLength(3)
    }

    // A server whose view is stale (next_run_at set back onto a claimed time) is refused by the run's unique key.
    await setNext(keys[0]!, '2027-01-01T00:10:00Z')
    expect(await two.scheduler.tick(new Date('2027-01-01T00:10:40Z'))).toBe(0)
    expect(await jobsOf(ids[0]!)).toHaveLength(3)
    expect((await one.scheduler.get(TASK, keys[0]!))!.next_run_at).toBe('2027-01-01T00:15:00.000Z')
  })

  it('a run whose server was killed mid-run is retried or failed, never lost or doubled', async () => {
    const unsafeHandler: JobHandler = { kind: 'test.unsafe', retryable: false, run: async () => ({ rows: 1 }) }
    const queue = uniqueName('killed')
    const all = [succeed, unsafeHandler] as JobHandler<never>[]
    const dead = newServer(queue, all)
    dead.scheduler.register({ name: 'test.unsafe-task', jobKind: 'test.unsafe' })
    const safeKey = uniqueName('safe')
    const safe = await put(dead.scheduler, safeKey, { type: 'interval', every: 'PT1H' })
    await setNext(safeKey, '2027-01-01T00:00:00Z')
    const unsafeKey = uniqueName('unsafe')
    const unsafe = await dead.scheduler.put(db, {
      organizationId,
      projectId,
      task: 'test.unsafe-task',
      key: unsafeKey,
      schedule: { type: 'interval', every: 'PT1H' },
      payload: {},
    })
    await db
      .updateTable('schedules')
      .set({ next_run_at: new Date('2027-01-01T00:00:00Z') })
      .where('id', '=', unsafe.id)
      .execute()
    const now = new Date('2027-01-01T00:00:10Z')
    expect(await dead.scheduler.tick(now)).toBe(2)
    // What a server killed mid-run leaves: its jobs running, their leases lapsed.
    const jobIds = [...(await jobsOf(safe.id)), ...(await jobsOf(unsafe.id))].map((job) => job.id)
    await db
      .updateTable('jobs')
      .set({
        status: 'running',
        attempt: 1,
        locked_by: 'killed-server',
        started_at: sql`now()`,
        lease_expires_at: sql`now() - interval '1 second'`,
      })
      .where('id', 'in', jobIds)
      .execute()

    const restarted = newServer(queue, all)
    restarted.scheduler.register({ name: 'test.unsafe-task', jobKind: 'test.unsafe' })
    restarted.jobs.start()
    const safeRun = await until(async () => {
      const [run] = await restarted.scheduler.runs(TASK, safeKey, { limit: 10 })
      return run?.status === 'succeeded' && run
    })
    expect(safeRun).toMatchObject({ scheduled_for: '2027-01-01T00:00:00.000Z', rows: 42, error: null })
    const unsafeRuns = await until(async () => {
      const runs = await restarted.scheduler.runs('test.unsafe-task', unsafeKey, { limit: 10 })
      return runs[0]?.status === 'failed' && runs
    })
    expect(unsafeRuns).toHaveLength(1)
    expect(unsafeRuns[0]!.error).toEqual({ code: 'internal_error', message: INTERRUPTED_MESSAGE })
    expect((await restarted.scheduler.get('test.unsafe-task', unsafeKey))!.consecutive_failures).toBe(1)
    // The same occurrence is not claimed again, and each schedule has exactly one run and one job.
    expect(await restarted.scheduler.tick(now)).toBe(0)
    expect(await restarted.scheduler.runs(TASK, safeKey, { limit: 10 })).toHaveLength(1)
    expect(await jobsOf(safe.id)).toMatchObject([{ attempt: 2, status: 'succeeded' }])
    expect(await jobsOf(unsafe.id)).toHaveLength(1)
  })

  it('counts failures in a row, and shows the newest run first', async () => {
    let outcome: 'fail' | 'succeed' = 'fail'
    const flaky: JobHandler = {
      kind: JOB_KIND,
      retryable: false,
      run: () =>
        outcome === 'fail' ? Promise.reject(errors.validation('the source said no')) : Promise.resolve({ rows: 7 }),
    }
    const { jobs, scheduler } = newServer(uniqueName('failures'), [flaky] as JobHandler<never>[])
    jobs.start()
    const key = uniqueName('flaky')
    await put(scheduler, key, { type: 'interval', every: 'PT1H' })
    await setNext(key, '2027-01-01T00:00:00Z')
    const ranOut = async (count: number) => {
      await tickThrough(scheduler, key, 1)
      return until(async () => {
        const runs = await scheduler.runs(TASK, key, { limit: 10 })
        const ended = runs.length === count && runs.every((run) => run.ended_at !== null)
        return ended && (await scheduler.get(TASK, key))
      })
    }
    for (const count of [1, 2, 3]) expect((await ranOut(count)).consecutive_failures).toBe(count)
    const failed = (await scheduler.get(TASK, key))!.last_run
    expect(failed).toMatchObject({
      scheduled_for: '2027-01-01T02:00:00.000Z',
      status: 'failed',
      error: { code: 'validation_error', message: 'the source said no' },
    })
    outcome = 'succeed'
    const recovered = await ranOut(4)
    expect(recovered.consecutive_failures).toBe(0)
    expect(recovered.last_run).toMatchObject({ status: 'succeeded', rows: 7, error: null })

    const newest = await scheduler.runs(TASK, key, { limit: 2 })
    expect(newest.map((run) => run.scheduled_for)).toEqual(['2027-01-01T03:00:00.000Z', '2027-01-01T02:00:00.000Z'])
    const older = await scheduler.runs(TASK, key, { limit: 10, before: newest[1]!.id })
    expect(older.map((run) => run.scheduled_for)).toEqual(['2027-01-01T01:00:00.000Z', '2027-01-01T00:00:00.000Z'])
  })

  it('replaces and removes schedules; `none` never runs; unregistered tasks are refused', async () => {
    const { scheduler } = newServer(uniqueName('lifecycle'), handlers)
    const key = uniqueName('lifecycle')
    const first = await put(scheduler, key, { type: 'interval', every: 'PT1H' })
    const replaced = await put(scheduler, key, { type: 'none' })
    expect(replaced).toMatchObject({ id: first.id, schedule: { type: 'none' }, next_run_at: null })
    expect(await scheduler.tick(new Date('2100-01-01T00:00:00Z'))).toBe(0)
    await scheduler.remove(db, TASK, key)
    expect(await scheduler.get(TASK, key)).toBeUndefined()
    expect(await scheduler.runs(TASK, key, { limit: 10 })).toEqual([])
    await expect(
      scheduler.put(db, {
        organizationId,
        projectId,
        task: 'test.unknown',
        key,
        schedule: { type: 'none' },
        payload: {},
      }),
    ).rejects.toThrow(/not registered/)
  })
})
