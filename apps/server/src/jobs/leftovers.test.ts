import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, beforeAll, expect, it } from 'vitest'

import { createOrganization, createProject, describeEachStore, startTestApp, type TestApp } from '../../test/harness.js'
import { createLogger } from '../lib/logger.js'
import { newId } from '../lib/ids.js'
import { sweepJobLeftovers, type JobFileDirs } from './leftovers.js'
import { JobQueue } from './queue.js'

describeEachStore('sweeping the files of ended jobs', (kind) => {
  let app: TestApp
  let queue: JobQueue
  let root: string
  let dirs: JobFileDirs
  let organizationId: string
  let projectId: string

  beforeAll(async () => {
    app = await startTestApp(kind)
    const { organization, orgKey } = await createOrganization(app)
    organizationId = organization.id
    projectId = (await createProject(app, orgKey)).id
    // Never started: its jobs keep the statuses the test gives them.
    queue = new JobQueue(app.tributary.store.db, {
      queue: `sweep-${randomBytes(6).toString('hex')}`,
      concurrency: 1,
      pollIntervalMs: 1_000,
      leaseMs: 10_000,
      heartbeatMs: 1_000,
      retryBaseDelayMs: 1_000,
      singleProcess: false,
    })
    queue.register({ kind: 'test', retryable: false, run: () => Promise.resolve({}) })
    root = await mkdtemp(path.join(tmpdir(), 'tributary-sweep-'))
    dirs = {
      results: path.join(root, 'results'),
      exports: path.join(root, 'exports'),
      uploads: path.join(root, 'uploads'),
    }
    await Promise.all(Object.values(dirs).map((dir) => mkdir(dir)))
  })
  afterAll(async () => {
    await app.close()
    await rm(root, { recursive: true, force: true })
  })

  const jobWithStatus = async (status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled') => {
    const created = await queue.enqueue(app.tributary.store.db, {
      kind: 'test',
      organizationId,
      projectId,
      payload: {},
    })
    await app.tributary.store.db.updateTable('jobs').set({ status }).where('id', '=', created.id).execute()
    return created.id
  }
  const file = async (...parts: string[]) => {
    await mkdir(path.dirname(path.join(...parts)), { recursive: true })
    await writeFile(path.join(...parts), 'x')
  }
  const listing = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(dirs).map(async ([name, dir]) => [name, (await readdir(dir, { recursive: true })).sort()]),
      ),
    ) as Record<keyof JobFileDirs, string[]>

  it('removes what ended jobs left, and keeps what live jobs, finished results and strangers own', async () => {
    const succeeded = await jobWithStatus('succeeded')
    const failed = await jobWithStatus('failed')
    const cancelled = await jobWithStatus('cancelled')
    const running = await jobWithStatus('running')
    const queued = await jobWithStatus('queued')
    const gone = newId()
    const freshUpload = newId()
    const staleUpload = newId()

    await file(dirs.results, succeeded, 'result.parquet')
    await file(dirs.results, succeeded, 'partial-1', 'result.parquet')
    await file(dirs.results, failed, 'partial-1', 'result.parquet')
    await file(dirs.results, gone, 'result.parquet')
    await file(dirs.results, running, 'partial-2', 'result.parquet')
    await file(dirs.results, 'not-a-job', 'keep.txt')
    await file(dirs.exports, succeeded, 'export.csv')
    await file(dirs.exports, succeeded, 'partial', 'export.csv')
    await file(dirs.exports, cancelled, 'partial', 'export.csv')
    await file(dirs.uploads, `${succeeded}.upload`)
    await file(dirs.uploads, `${queued}.upload`)
    await file(dirs.uploads, `${freshUpload}.upload`)
    await file(dirs.uploads, `${staleUpload}.upload`)
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000)
    await utimes(path.join(dirs.uploads, `${staleUpload}.upload`), twoHoursAgo, twoHoursAgo)

    const removed = await sweepJobLeftovers(dirs, (ids) => queue.endings(ids), createLogger('silent'))

    expect(await listing()).toEqual({
      results: [
        'not-a-job',
        path.join('not-a-job', 'keep.txt'),
        running,
        path.join(running, 'partial-2'),
        path.join(running, 'partial-2', 'result.parquet'),
        succeeded,
        path.join(succeeded, 'result.parquet'),
      ].sort(),
      exports: [succeeded, path.join(succeeded, 'export.csv')].sort(),
      uploads: [`${freshUpload}.upload`, `${queued}.upload`].sort(),
    })
    expect(removed).toBe(7)
    // Nothing left to do: a second sweep removes nothing.
    expect(await sweepJobLeftovers(dirs, (ids) => queue.endings(ids), createLogger('silent'))).toBe(0)
  })

  it('removes the results and exports of jobs that ended longer ago than the retention', async () => {
    const old = await jobWithStatus('succeeded')
    const recent = await jobWithStatus('succeeded')
    const tenDaysAgo = new Date(Date.now() - 10 * 24 * 3_600_000)
    await app.tributary.store.db.updateTable('jobs').set({ ended_at: tenDaysAgo }).where('id', '=', old).execute()
    await app.tributary.store.db.updateTable('jobs').set({ ended_at: new Date() }).where('id', '=', recent).execute()
    for (const id of [old, recent]) {
      await file(dirs.results, id, 'result.parquet')
      await file(dirs.exports, id, 'export.csv')
    }
    const week = 7 * 24 * 3_600_000
    // 0 keeps every result however old.
    expect(await sweepJobLeftovers(dirs, (ids) => queue.endings(ids), createLogger('silent'), 0)).toBe(0)
    expect(await sweepJobLeftovers(dirs, (ids) => queue.endings(ids), createLogger('silent'), week)).toBe(2)
    const left = await listing()
    expect(left.results).toContain(recent)
    expect(left.exports).toContain(recent)
    expect(left.results).not.toContain(old)
    expect(left.exports).not.toContain(old)
  })
})
