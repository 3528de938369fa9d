import { randomBytes } from 'node:crypto'

import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

import { createOrganization, createProject, describeEachStore, startTestApp, type TestApp } from '../../test/harness.js'
import { errors } from '../lib/errors.js'
import type { MetadataDb } from '../metadata/database.js'
import { INTERRUPTED_MESSAGE, JobAbortedError, JobQueue, type JobHandler, type JobQueueOptions } from './queue.js'

const until = async <T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describeEachStore('job queue', (kind) => {
  let app: TestApp
  let db: MetadataDb
  let organizationId: string
  let projectId: string
  const queues: JobQueue[] = []

  beforeAll(async () => {
    app = await startTestApp(kind)
    db = app.tributary.store.db
    const { organization, orgKey } = await createOrganization(app)
    organizationId = organization.id
    projectId = (await createProject(app, orgKey)).id
  })
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.stop()))
  })
  afterAll(async () => {
    await app.close()
  })

  /** A queue of its own (a "process"), serving a queue name no other test uses. */
  const newQueue = (queue: string, handlers: JobHandler<never>[], options: Partial<JobQueueOptions> = {}) => {
    const created = new JobQueue(db, {
      queue,
      concurrency: 2,
      pollIntervalMs: 50,
      // Long enough that a busy test machine never lets a lease lapse by accident.
      leaseMs: 10_000,
      heartbeatMs: 100,
      retryBaseDelayMs: 100,
      singleProcess: false,
      ...options,
    })
    for (const handler of handlers) created.register(handler)
    queues.push(created)
    return created
  }
  const uniqueQueue = () => `test-${randomBytes(6).toString('hex')}`
  const job = (queue: JobQueue, kindName: string, payload: unknown = {}) =>
    queue.enqueue(db, { kind: kindName, organizationId, projectId, payload })
  const row = (id: string) => db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  const settled = (id: string) =>
    until(async () => {
      const current = await row(id)
      return ['succeeded', 'failed', 'cancelled'].includes(current.status) && current
    })

  it('runs a job from queued to succeeded, with progress and a result', async () => {
    const queue = newQueue(uniqueQueue(), [
      {
        kind: 'echo',
        retryable: false,
        run: async (running, ctx) => {
          await ctx.progress({ step: 'halfway' })
          return { echoed: running.payload, attempt: running.attempt }
        },
      } satisfies JobHandler<{ word: string }>,
    ] as JobHandler<never>[])
    const queued = await job(queue, 'echo', { word: 'hello' })
    expect(queued).toMatchObject({ status: 'queued', attempt: 0, max_attempts: 1, started_at: null })
    queue.start()
    const done = await settled(queued.id)
    expect(done).toMatchObject({
      status: 'succeeded',
      attempt: 1,
      result: { echoed: { word: 'hello' }, attempt: 1 },
      progress: { step: 'halfway' },
      locked_by: null,
      lease_expires_at: null,
      error: null,
    })
    expect(done.started_at!.getTime()).toBeGreaterThanOrEqual(done.created_at.getTime())
    expect(done.ended_at!.getTime()).toBeGreaterThanOrEqual(done.started_at!.getTime())
  })

  it('fails a job with the error it threw; platform errors keep their internals out of the message', async () => {
    const queue = newQueue(uniqueQueue(), [
      {
        kind: 'refuse',
        retryable: true,
        run: () => Promise.reject(errors.validation('sql: not allowed here', { field: 'sql' })),
      },
      { kind: 'crash', retryable: false, run: () => Promise.reject(new Error('/secret/path exploded')) },
    ])
    queue.start()
    const refused = await settled((await job(queue, 'refuse')).id)
    // A 4xx is the caller's mistake: retrying cannot help, even for a retryable handler.
    expect(refused).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: { code: 'validation_error', message: 'sql: not allowed here', details: { field: 'sql' } },
    })
    const crashed = await settled((await job(queue, 'crash')).id)
    expect(crashed).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: { code: 'internal_error', message: 'the job failed unexpectedly' },
    })
  })

  it('retries a retryable job with exponential backoff, then succeeds', async () => {
    const runs: number[] = []
    const queue = newQueue(uniqueQueue(), [
      {
        kind: 'flaky',
        retryable: true,
        maxAttempts: 4,
        run: async (running) => {
          runs.push(Date.now())
          if (running.attempt < 3) throw new Error('source hiccup')
          return { ok: true }
        },
      },
    ])
    queue.start()
    const done = await settled((await job(queue, 'flaky')).id)
    expect(done).toMatchObject({ status: 'succeeded', attempt: 3, max_attempts: 4, result: { ok: true } })
    expect(runs).toHaveLength(3)
    // 100 ms, then 200 ms (poll granularity adds a little).
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(95)
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(195)
  })

  it('fails a retryable job once its attempts are used up', async () => {
    let runs = 0
    const queue = newQueue(uniqueQueue(), [
      {
        kind: 'broken',
        retryable: true,
        maxAttempts: 2,
        run: () => {
          runs += 1
          return Promise.reject(errors.conflict('still broken'))
        },
      },
      {
        kind: 'down',
        retryable: true,
        maxAttempts: 2,
        run: () => {
          runs += 1
          return Promise.reject(new Error('down'))
        },
      },
    ])
    queue.start()
    expect((await settled((await job(queue, 'broken')).id)).attempt).toBe(1)
    const down = await settled((await job(queue, 'down')).id)
    expect(down).toMatchObject({ status: 'failed', attempt: 2, error: { code: 'internal_error' } })
    expect(runs).toBe(3)
  })

  it('cancels a queued job at once and a running job through its signal', async () => {
    let sawAbort: unknown
    const queue = newQueue(uniqueQueue(), [
      {
        kind: 'long',
        retryable: true,
        run: (_job, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              sawAbort = ctx.signal.reason
              reject(new Error('aborted'))
            })
          }),
      },
    ])
    const waiting = await job(queue, 'long')
    const cancelledWhileQueued = await queue.cancel(waiting.id)
    expect(cancelledWhileQueued).toMatchObject({ changed: true, job: { status: 'cancelled', started_at: null } })

    queue.start()
    const running = await job(queue, 'long')
    await until(async () => (await row(running.id)).status === 'running')
    const requested = await queue.cancel(running.id)
    expect(requested?.changed).toBe(true)
    const done = await settled(running.id)
    expect(done).toMatchObject({ status: 'cancelled', attempt: 1, error: null })
    expect(done.cancel_requested_at).not.toBeNull()
    expect(sawAbort).toBeInstanceOf(JobAbortedError)
    expect((sawAbort as JobAbortedError).reason).toBe('cancel')
    // A finished job is left as it is.
    expect(await queue.cancel(running.id)).toMatchObject({ changed: false, job: { status: 'cancelled' } })
  })

  it('notices a cancellation asked for by another process at its next heartbeat', async () => {
    const name = uniqueQueue()
    const worker = newQueue(name, [
      {
        kind: 'long',
        retryable: false,
        run: (_job, ctx) =>
          new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
      },
    ])
    const other = newQueue(name, [{ kind: 'long', retryable: false, run: () => Promise.resolve({}) }])
    worker.start()
    const running = await job(worker, 'long')
    await until(async () => (await row(running.id)).status === 'running')
    await other.cancel(running.id)
    expect((await settled(running.id)).status).toBe('cancelled')
  })

  it('ends cancelled, not retried, a job whose handler found its cancellation recorded before the abort came', async () => {
    const name = uniqueQueue()
    let runs = 0
    const worker = newQueue(
      name,
      [
        {
          kind: 'checks',
          retryable: true,
          run: async (running) => {
            runs += 1
            // As a handler does before making its work visible: the request is on the row already.
            await until(async () => (await row(running.id)).cancel_requested_at !== null)
            throw new JobAbortedError('cancel')
          },
        },
      ],
      // No heartbeat in time to bring the abort: only the handler knows.
      { heartbeatMs: 60_000 },
    )
    const other = newQueue(name, [{ kind: 'checks', retryable: true, run: () => Promise.resolve({}) }])
    worker.start()
    const running = await job(worker, 'checks')
    await until(async () => (await row(running.id)).status === 'running')
    await other.cancel(running.id)
    expect(await settled(running.id)).toMatchObject({ status: 'cancelled', attempt: 1, error: null })
    expect(runs).toBe(1)
  })

  it('reclaims a job whose worker died: retried when retryable, failed with a reason when not', async () => {
    const queue = newQueue(uniqueQueue(), [
      { kind: 'safe', retryable: true, run: async (running) => ({ attempt: running.attempt }) },
      { kind: 'unsafe', retryable: false, run: async () => ({}) },
    ])
    const safe = await job(queue, 'safe')
    const unsafe = await job(queue, 'unsafe')
    // What a process killed mid-job leaves behind: running, its lease already lapsed.
    await db
      .updateTable('jobs')
      .set({
        status: 'running',
        attempt: 1,
        locked_by: 'dead-process',
        started_at: sql`now()`,
        lease_expires_at: sql`now() - interval '1 second'`,
      })
      .where('id', 'in', [safe.id, unsafe.id])
      .execute()
    queue.start()
    expect(await settled(safe.id)).toMatchObject({ status: 'succeeded', attempt: 2, result: { attempt: 2 } })
    expect(await settled(unsafe.id)).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: { code: 'internal_error', message: INTERRUPTED_MESSAGE },
    })
  })

  it('never completes a job whose lease another worker took over', async () => {
    let finish!: () => void
    let signal!: AbortSignal
    const queue = newQueue(uniqueQueue(), [
      {
        kind: 'stubborn',
        retryable: true,
        run: (_job, ctx) => {
          signal = ctx.signal
          // Ignores its signal, as a handler stuck in a blocking call would.
          return new Promise((resolve) => (finish = () => resolve({ done: 'twice?' })))
        },
      },
    ])
    queue.start()
    const running = await job(queue, 'stubborn')
    await until(async () => (await row(running.id)).status === 'running')
    await db.updateTable('jobs').set({ locked_by: 'thief' }).where('id', '=', running.id).execute()
    await until(async () => signal.aborted)
    expect((signal.reason as JobAbortedError).reason).toBe('lost')
    finish()
    await until(async () => queue.activeCount === 0)
    expect(await row(running.id)).toMatchObject({ status: 'running', locked_by: 'thief', result: null })
  })

  it('runs at most `concurrency` jobs at once', async () => {
    let now = 0
    let peak = 0
    const queue = newQueue(
      uniqueQueue(),
      [
        {
          kind: 'sleep',
          retryable: false,
          run: async () => {
            peak = Math.max(peak, ++now)
            await new Promise((resolve) => setTimeout(resolve, 60))
            now -= 1
            return {}
          },
        },
      ],
      { concurrency: 3 },
    )
    const ids = await Promise.all(Array.from({ length: 9 }, () => job(queue, 'sleep').then((queued) => queued.id)))
    queue.start()
    for (const id of ids) expect((await settled(id)).status).toBe('succeeded')
    expect(peak).toBe(3)
  })

  it('on shutdown hands running jobs back to the queue, the interrupted attempt not counted', async () => {
    const name = uniqueQueue()
    let restarted = false
    const handler: JobHandler<never> = {
      kind: 'patient',
      retryable: false,
      run: (_job, ctx) =>
        new Promise((resolve, reject) => {
          if (restarted) resolve({ second: true })
          ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))
        }),
    }
    const first = newQueue(name, [handler])
    first.start()
    const running = await job(first, 'patient')
    await until(async () => (await row(running.id)).status === 'running')
    await first.stop(50)
    expect(await row(running.id)).toMatchObject({ status: 'queued', attempt: 0, locked_by: null })
    restarted = true
    const second = newQueue(name, [handler])
    second.start()
    expect(await settled(running.id)).toMatchObject({ status: 'succeeded', attempt: 1, result: { second: true } })
  })

  describe('two workers on one database', () => {
    it('drain 100 jobs between them, each run exactly once', async () => {
      const name = uniqueQueue()
      const runs = new Map<string, number>()
      const byWorker = new Map<string, number>()
      const handler = (worker: string): JobHandler<never> => ({
        kind: 'count',
        retryable: true,
        run: async (running) => {
          runs.set(running.id, (runs.get(running.id) ?? 0) + 1)
          byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1)
          await new Promise((resolve) => setTimeout(resolve, 2))
          return { worker }
        },
      })
      const a = newQueue(name, [handler('a')], { concurrency: 4 })
      const b = newQueue(name, [handler('b')], { concurrency: 4 })
      const ids: string[] = []
      for (let i = 0; i < 100; i++) ids.push((await job(a, 'count', { i })).id)
      a.start()
      b.start()
      await until(async () => {
        const open = await db
          .selectFrom('jobs')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('id', 'in', ids)
          .where('status', '!=', 'succeeded')
          .executeTakeFirstOrThrow()
        return Number(open.n) === 0
      }, 30_000)
      const rows = await db.selectFrom('jobs').select(['id', 'attempt']).where('id', 'in', ids).execute()
      expect(rows.every((done) => done.attempt === 1)).toBe(true)
      expect([...runs.values()].every((count) => count === 1)).toBe(true)
      expect(runs.size).toBe(100)
      expect((byWorker.get('a') ?? 0) + (byWorker.get('b') ?? 0)).toBe(100)
    })
  })
})
