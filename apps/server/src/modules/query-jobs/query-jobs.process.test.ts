import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

import { generateToken } from '../../lib/secrets.js'
import { startServerProcess, type ServerProcess } from '../../../test/server-process.js'

// Real server processes, killed and restarted: the queue must survive what a test app cannot fake.
const postgresUrl = inject('postgresUrl')
const SCHEMA = `query_jobs_process_${process.pid}`

describe.skipIf(!postgresUrl)(
  `query jobs across process deaths${postgresUrl ? '' : ` [skipped: ${inject('postgresSkipReason')}]`}`,
  () => {
    const adminKey = generateToken()
    const directories: string[] = []
    const running: ServerProcess[] = []
    let admin: pg.Client

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: postgresUrl! })
      await admin.connect()
      // About 2 s of sleeping at the source: long enough to kill the server in the middle.
      await admin.query(`
        drop schema if exists ${SCHEMA} cascade;
        create schema ${SCHEMA};
        create view ${SCHEMA}.slow as select g as id, pg_sleep(0.002) is null as slept from generate_series(1, 1000) g;
      `)
    })
    afterAll(async () => {
      for (const server of [...running]) await stop(server, 'SIGKILL')
      for (const directory of directories) rmSync(directory, { recursive: true, force: true })
      await admin?.query(`drop schema if exists ${SCHEMA} cascade`)
      await admin?.end()
    })

    const dataDir = () => {
      const directory = mkdtempSync(path.join(tmpdir(), 'tributary-jobs-'))
      directories.push(directory)
      return directory
    }

    async function start(env: Record<string, string>) {
      const server = await startServerProcess({
        TRIBUTARY_ADMIN_KEY: adminKey,
        LOG_LEVEL: 'info',
        TRIBUTARY_RATE_LIMIT_PER_MINUTE: '100000',
        TRIBUTARY_JOB_POLL_INTERVAL_MS: '200',
        TRIBUTARY_JOB_RETRY_DELAY_MS: '200',
        ...env,
      })
      running.push(server)
      return server
    }

    /** A server that has stopped leaves the list. */
    async function stop(server: ServerProcess, signal: NodeJS.Signals) {
      running.splice(running.indexOf(server), 1)
      return server.stop(signal)
    }

    async function call(server: ServerProcess, method: string, url: string, key: string, body?: unknown) {
      const response = await fetch(`${server.baseUrl}/api/v1${url}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
      return { status: response.status, body: (await response.json()) as any }
    }

    /** An organization with a project whose catalog `src` is the run's PostgreSQL. */
    async function setUp(server: ServerProcess) {
      const organization = await call(server, 'POST', '/organizations', adminKey, { name: 'Durable jobs' })
      const key = await call(server, 'POST', `/organizations/${organization.body.id}/api-keys`, adminKey, {
        name: 'ops',
      })
      const orgKey = key.body.key as string
      const project = await call(server, 'POST', '/projects', orgKey, { name: 'Jobs' })
      const url = new URL(postgresUrl!)
      const connection = await call(server, 'POST', `/projects/${project.body.id}/connections`, orgKey, {
        name: 'src',
        type: 'postgresql',
        config: {
          host: url.hostname,
          port: Number(url.port || 5432),
          database: url.pathname.slice(1),
          user: url.username || 'postgres',
        },
      })
      expect(connection.status, JSON.stringify(connection.body)).toBe(201)
      return { orgKey, jobs: `/projects/${project.body.id}/query-jobs` }
    }

    const SLOW = `select count(*) as n, sum(id) as total from src.${SCHEMA}.slow`

    async function waitFor(server: ServerProcess, url: string, key: string, statuses: RegExp, timeoutMs = 60_000) {
      let job: any
      await expect
        .poll(
          async () => {
            job = (await call(server, 'GET', url, key)).body
            return job.status
          },
          { timeout: timeoutMs, interval: 50 },
        )
        .toMatch(statuses)
      return job
    }

    for (const store of ['pglite', 'postgres'] as const) {
      it(`[${store}] retries a job whose server was killed with SIGKILL, and a job handed back at SIGTERM`, async () => {
        const env = {
          TRIBUTARY_DATA_DIR: dataDir(),
          // With PostgreSQL another process might still hold the job: it is reclaimed when its lease lapses.
          ...(store === 'postgres' ? { DATABASE_URL: postgresUrl!, TRIBUTARY_JOB_LEASE_MS: '3000' } : {}),
          TRIBUTARY_SHUTDOWN_TIMEOUT_MS: '3000',
        }
        const first = await start(env)
        const { orgKey, jobs } = await setUp(first)
        const killed = await call(first, 'POST', jobs, orgKey, { sql: SLOW })
        expect(killed.status).toBe(202)
        await waitFor(first, `${jobs}/${killed.body.id}`, orgKey, /^running$/)
        await new Promise((resolve) => setTimeout(resolve, 500))
        await stop(first, 'SIGKILL')

        const second = await start(env)
        const retried = await waitFor(second, `${jobs}/${killed.body.id}`, orgKey, /^(succeeded|failed|cancelled)$/)
        expect(retried, JSON.stringify(retried)).toMatchObject({ status: 'succeeded', attempt: 2, total_rows: 1 })
        const rows = await call(second, 'GET', `${jobs}/${killed.body.id}/results`, orgKey)
        expect(rows.body.rows).toEqual([[1000, 500500]])
        expect(second.output()).toContain('reclaimed jobs whose worker stopped')

        // SIGTERM: the running job is handed back, and the next start runs it as its first attempt.
        const interrupted = await call(second, 'POST', jobs, orgKey, { sql: SLOW })
        await waitFor(second, `${jobs}/${interrupted.body.id}`, orgKey, /^running$/)
        expect(await stop(second, 'SIGTERM')).toBe(0)
        const third = await start(env)
        const resumed = await waitFor(third, `${jobs}/${interrupted.body.id}`, orgKey, /^(succeeded|failed|cancelled)$/)
        expect(resumed).toMatchObject({ status: 'succeeded', attempt: 1 })
        expect(await stop(third, 'SIGTERM')).toBe(0)
      }, 180_000)
    }

    it('two processes on one PostgreSQL drain 200 jobs, none lost or run twice', async () => {
      const env = { TRIBUTARY_DATA_DIR: dataDir(), DATABASE_URL: postgresUrl!, TRIBUTARY_JOB_CONCURRENCY: '2' }
      const a = await start(env)
      const b = await start(env)
      const { orgKey, jobs } = await setUp(a)
      const submitted: { id: string; value: number }[] = []
      for (let i = 0; i < 200; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            call((i + j) % 2 ? a : b, 'POST', jobs, orgKey, { sql: `select ${i + j} as value` }),
          ),
        )
        batch.forEach((response, j) => {
          expect(response.status).toBe(202)
          submitted.push({ id: response.body.id, value: i + j })
        })
      }
      for (const job of submitted) {
        const done = await waitFor(a, `${jobs}/${job.id}`, orgKey, /^(succeeded|failed|cancelled)$/)
        expect(done).toMatchObject({ status: 'succeeded', attempt: 1, total_rows: 1 })
      }
      // Every result reads back its own value, whichever process ran it and whichever one is asked.
      for (const [index, job] of submitted.entries()) {
        const page = await call(index % 2 ? a : b, 'GET', `${jobs}/${job.id}/results`, orgKey)
        expect(page.body.rows).toEqual([[job.value]])
      }
      // Each process logs the jobs it completed: together they name every job exactly once.
      const completed = [a, b].map((server) =>
        server
          .output()
          .split('\n')
          .filter((line) => line.includes('"msg":"job succeeded"'))
          .map((line) => (JSON.parse(line) as { job_id: string }).job_id),
      )
      expect(completed[0]!.length).toBeGreaterThan(0)
      expect(completed[1]!.length).toBeGreaterThan(0)
      expect([...completed[0]!, ...completed[1]!].sort()).toEqual(submitted.map((job) => job.id).sort())
      const list = await call(b, 'GET', `${jobs}?status=succeeded&limit=200`, orgKey)
      expect(list.body.data).toHaveLength(200)
    }, 180_000)
  },
)
