import { existsSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'

import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'

const postgresUrl = inject('postgresUrl')
const SCHEMA = `query_jobs_${process.pid}`
const ROWS = 100_000

// Sources are the run's PostgreSQL (global setup fails the run when REQUIRE_SERVICES=1 and it is missing).
describe.skipIf(!postgresUrl)(`query jobs${postgresUrl ? '' : ` [skipped: ${inject('postgresSkipReason')}]`}`, () => {
  let admin: pg.Client

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl! })
    await admin.connect()
    await admin.query(`
      drop schema if exists ${SCHEMA} cascade;
      create schema ${SCHEMA};
      create table ${SCHEMA}.numbers as select g as id, 'row ' || g as label from generate_series(1, ${ROWS}) g;
      create view ${SCHEMA}.slow as select id, pg_sleep(0.05) is null as slept from ${SCHEMA}.numbers where id <= 2000;
    `)
  })
  afterAll(async () => {
    await admin?.query(`drop schema if exists ${SCHEMA} cascade`)
    await admin?.end()
  })

  describeEachStore('query jobs', (kind) => {
    let app: TestApp
    let orgKey: string
    let projectId: string
    const base = () => `${API}/projects/${projectId}/query-jobs`
    const submit = (body: Record<string, unknown>, key = orgKey) => app.request('POST', base(), { key, body })
    const get = (id: string, key = orgKey) => app.request('GET', `${base()}/${id}`, { key })
    const page = (id: string, query = '', key = orgKey) =>
      app.request('GET', `${base()}/${id}/results${query}`, { key })
    const finished = async (id: string) => {
      let job
      await expect
        .poll(
          async () => {
            job = (await get(id)).body
            return job.status
          },
          { timeout: 30_000, interval: 25 },
        )
        .toMatch(/^(succeeded|failed|cancelled)$/)
      return job as unknown as Record<string, any>
    }
    const run = async (sql: string) => {
      const created = await submit({ sql })
      expect(created.status, JSON.stringify(created.body)).toBe(202)
      return finished(created.body.id)
    }

    beforeAll(async () => {
      app = await startTestApp(kind)
      orgKey = (await createOrganization(app, 'Jobs')).orgKey
      projectId = (await createProject(app, orgKey, 'Jobs')).id
      const url = new URL(postgresUrl!)
      const created = await app.request('POST', `${API}/projects/${projectId}/connections`, {
        key: orgKey,
        body: {
          name: 'src',
          type: 'postgresql',
          config: {
            host: url.hostname,
            port: Number(url.port || 5432),
            database: url.pathname.slice(1),
            user: url.username || 'postgres',
          },
        },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
    })
    afterAll(async () => {
      await app?.close()
    })

    it('answers 202 with the queued job, runs it, and describes the result', async () => {
      const created = await submit({ sql: `select id, label from src.${SCHEMA}.numbers where id <= 10 order by id` })
      expect(created.status, JSON.stringify(created.body)).toBe(202)
      expect(created.body).toMatchObject({
        project_id: projectId,
        status: 'queued',
        query_id: null,
        started_at: null,
        ended_at: null,
        total_rows: null,
      })
      const job = await finished(created.body.id)
      expect(job).toMatchObject({ id: created.body.id, status: 'succeeded', attempt: 1, total_rows: 10 })
      expect(job.error).toBeUndefined()
      expect(job.total_bytes_processed).toBeGreaterThan(0)
      expect(job.elapsed_ms).toBeGreaterThan(0)
      expect(job.rows_scanned).toBe(10)
      expect(Date.parse(job.ended_at)).toBeGreaterThanOrEqual(Date.parse(job.started_at))

      const first = await page(job.id, '?page_size=3')
      expect(first.status, JSON.stringify(first.body)).toBe(200)
      expect(first.body).toEqual({
        columns: [
          { name: 'id', type: 'INTEGER' },
          { name: 'label', type: 'VARCHAR' },
        ],
        rows: [
          [1, 'row 1'],
          [2, 'row 2'],
          [3, 'row 3'],
        ],
        column_privacy: { id: 'public', label: 'public' },
        private_row_count: null,
        total_rows: 10,
        page: 1,
        page_size: 3,
        total_pages: 4,
      })
      const last = await page(job.id, '?page=4&page_size=3')
      expect(last.body.rows).toEqual([[10, 'row 10']])
      // The default page size is 50.
      expect((await page(job.id)).body).toMatchObject({ page: 1, page_size: 50, total_pages: 1 })
    })

    it(`pages through a ${ROWS}-row result, visiting every row exactly once`, async () => {
      const job = await run(`select id, label from src.${SCHEMA}.numbers order by id`)
      expect(job).toMatchObject({ status: 'succeeded', total_rows: ROWS })
      const pageSize = 200
      const pages = ROWS / pageSize
      const seen: number[] = []
      for (let start = 1; start <= pages; start += 10) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(10, pages - start + 1) }, (_, i) =>
            page(job.id, `?page=${start + i}&page_size=${pageSize}`),
          ),
        )
        for (const response of batch) {
          expect(response.status).toBe(200)
          expect(response.body.total_pages).toBe(pages)
          for (const [id, label] of response.body.rows) {
            expect(label).toBe(`row ${id}`)
            seen.push(id)
          }
        }
      }
      expect(seen).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1))

      const past = await page(job.id, `?page=${pages + 1}&page_size=${pageSize}`)
      expect(past.status).toBe(200)
      expect(past.body).toMatchObject({ rows: [], total_rows: ROWS, page: pages + 1, total_pages: pages })
      expect((await page(job.id, '?page=9007199254740991')).body).toMatchObject({ rows: [], total_rows: ROWS })
    })

    it('stores the result once, as Parquet, under the data directory', async () => {
      const job = await run(`select count(*) as n from src.${SCHEMA}.numbers`)
      const directory = path.join(app.tributary.services.queryJobs.resultsDir, job.id)
      expect(readdirSync(directory)).toEqual(['result.parquet'])
      expect(readdirSync(directory).some((entry) => entry.startsWith('partial'))).toBe(false)
      expect((await page(job.id)).body.rows).toEqual([[ROWS]])
      // A result removed from the data directory (past its retention, or by hand) is gone: 410, not a
      // server error, and it can no longer be exported either.
      rmSync(path.join(directory, 'result.parquet'))
      const gone = await page(job.id)
      expect(gone.status).toBe(410)
      expect(gone.body.error.code).toBe('gone')
      expect(gone.body.error.message).toContain(job.id)
      const exported = await app.request('POST', `${base()}/${job.id}/exports`, { key: orgKey, body: {} })
      expect(exported.status).toBe(410)
    })

    it('gives values exactly as /sql does, duplicate column names included', async () => {
      const sql =
        `select n.id, 9007199254740993::bigint as big, 12.34::decimal(10,2) as dec, ` +
        `170141183460469231731687303715884105727::hugeint as huge, 42::hugeint as small_huge, ` +
        `timestamp '2024-01-01 08:11:12.5' as ts, timestamptz '2024-01-01 08:11:12+02' as tz, date '2024-02-29' as d, ` +
        `'\\xAA'::blob as b, interval '1 day 2 hours' as iv, [1, 2] as list, {'a': 1, 'b': 'x'} as st, ` +
        `null as nothing, 1.5::double as dbl, true as yes, n.label as id ` +
        `from src.${SCHEMA}.numbers n where n.id <= 2 order by n.id`
      const direct = await app.request('POST', `${API}/projects/${projectId}/sql`, { key: orgKey, body: { sql } })
      expect(direct.status, JSON.stringify(direct.body)).toBe(200)
      const job = await run(sql)
      expect(job.status, JSON.stringify(job)).toBe('succeeded')
      const result = await page(job.id)
      expect(result.body.columns).toEqual(direct.body.columns)
      expect(result.body.rows).toEqual(direct.body.rows)
      expect(result.body.rows[0][3]).toBe('170141183460469231731687303715884105727')
      expect(result.body.rows[0][4]).toBe(42)
    })

    it('runs a saved query by query_id with its parameters bound as values', async () => {
      const saved = await app.request('POST', `${API}/projects/${projectId}/queries`, {
        key: orgKey,
        body: {
          display_name: 'First rows',
          sql: `select id, label from src.${SCHEMA}.numbers where id <= {{max_id}} and label <> {{skip}} order by id`,
          parameters: [
            { name: 'max_id', type: 'integer', required: true },
            { name: 'skip', type: 'string', default: 'none' },
          ],
        },
      })
      expect(saved.status, JSON.stringify(saved.body)).toBe(201)
      const created = await submit({
        query_id: saved.body.id,
        parameters: { max_id: 3, skip: "row 2'; drop table x; --" },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(202)
      expect(created.body).toMatchObject({ query_id: saved.body.id, sql: saved.body.sql })
      const job = await finished(created.body.id)
      expect(job).toMatchObject({ status: 'succeeded', total_rows: 3 })
      expect((await page(job.id)).body.rows).toEqual([
        [1, 'row 1'],
        [2, 'row 2'],
        [3, 'row 3'],
      ])
      const listed = await app.request('GET', `${base()}?query_id=${saved.body.id}`, { key: orgKey })
      expect(listed.body.data.map((item: { id: string }) => item.id)).toEqual([job.id])

      const missing = await submit({ query_id: saved.body.id, parameters: {} })
      expect(missing.status).toBe(422)
      expect(missing.body.error.message).toContain('max_id')
      const unknown = await submit({ query_id: '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e' })
      expect(unknown.status).toBe(404)
    })

    it('fails a job whose SQL is wrong, with the query error and no retry', async () => {
      const job = await run(`select nope from src.${SCHEMA}.numbers`)
      expect(job).toMatchObject({ status: 'failed', attempt: 1, total_rows: null, error: { code: 'query_error' } })
      expect(job.error.message).toContain('nope')
      expect(existsSync(path.join(app.tributary.services.queryJobs.resultsDir, job.id))).toBe(false)
      const results = await page(job.id)
      expect(results.status).toBe(409)
      expect(results.body.error.code).toBe('conflict')
    })

    it('answers 409 for the results of a running job; cancelling stops it and its source query', async () => {
      const created = await submit({ sql: `select count(*) from src.${SCHEMA}.slow` })
      expect(created.status).toBe(202)
      const id = created.body.id
      await expect.poll(async () => (await get(id)).body.status, { timeout: 10_000, interval: 20 }).toBe('running')
      const sleeping = () =>
        admin
          .query(
            `select count(*)::int as n from pg_stat_activity
             where state = 'active' and datname = current_database() and query like '%${SCHEMA}%slow%'
               and pid <> pg_backend_pid()`,
          )
          .then((result) => result.rows[0].n as number)
      await expect.poll(sleeping, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0)

      const early = await page(id)
      expect(early.status).toBe(409)
      expect(early.body.error.message).toContain('running')

      const cancelled = await app.request('POST', `${base()}/${id}/cancel`, { key: orgKey })
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200)
      expect(cancelled.body.status).toBe('cancelled')
      await expect.poll(sleeping, { timeout: 5_000, interval: 20 }).toBe(0)
      expect((await get(id)).body).toMatchObject({ status: 'cancelled', total_rows: null })
      expect((await page(id)).status).toBe(409)
      // Cancelling again is harmless; cancelling a job that succeeded is a conflict.
      expect((await app.request('POST', `${base()}/${id}/cancel`, { key: orgKey })).body.status).toBe('cancelled')
      const done = await run('select 1 as one')
      const late = await app.request('POST', `${base()}/${done.id}/cancel`, { key: orgKey })
      expect(late.status).toBe(409)
    })

    it('lists jobs newest first with filters and cursor pagination', async () => {
      const other = (await createProject(app, orgKey, 'Listing')).id
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        const created = await app.request('POST', `${API}/projects/${other}/query-jobs`, {
          key: orgKey,
          body: { sql: `select ${i} as i` },
        })
        ids.push(created.body.id)
      }
      const bad = await app.request('POST', `${API}/projects/${other}/query-jobs`, {
        key: orgKey,
        body: { sql: 'select nope' },
      })
      const url = `${API}/projects/${other}/query-jobs`
      for (const id of [...ids, bad.body.id]) await finished2(url, id)
      const firstPage = await app.request('GET', `${url}?limit=2`, { key: orgKey })
      expect(firstPage.status).toBe(200)
      expect(firstPage.body.data.map((job: { id: string }) => job.id)).toEqual([bad.body.id, ids[2]])
      const secondPage = await app.request('GET', `${url}?limit=2&cursor=${firstPage.body.next_cursor}`, {
        key: orgKey,
      })
      expect(secondPage.body.data.map((job: { id: string }) => job.id)).toEqual([ids[1], ids[0]])
      expect(secondPage.body.next_cursor).toBeNull()
      const failed = await app.request('GET', `${url}?status=failed`, { key: orgKey })
      expect(failed.body.data.map((job: { id: string }) => job.id)).toEqual([bad.body.id])
      const byQuery = await app.request('GET', `${url}?query_id=${ids[0]}`, { key: orgKey })
      expect(byQuery.body.data).toEqual([])
      expect((await app.request('GET', `${url}?status=done`, { key: orgKey })).status).toBe(422)

      async function finished2(list: string, id: string) {
        await expect
          .poll(async () => (await app.request('GET', `${list}/${id}`, { key: orgKey })).body.status, {
            timeout: 20_000,
            interval: 25,
          })
          .toMatch(/^(succeeded|failed)$/)
      }
    })

    it('refuses bad input with the right 4xx', async () => {
      const job = await run('select 1 as one')
      const cases: [string, string, unknown, number][] = [
        ['POST', base(), {}, 422],
        ['POST', base(), { sql: '' }, 422],
        ['POST', base(), { sql: 'select 1', query_id: job.id }, 422],
        ['POST', base(), { sql: 'select 1', parameters: { a: 1 } }, 422],
        ['POST', base(), { sql: 'select 1', timeout_ms: 0 }, 422],
        ['POST', base(), { sql: 'select 1', extra: true }, 422],
        ['GET', `${base()}/not-a-uuid`, undefined, 422],
        ['GET', `${base()}/0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e`, undefined, 404],
        ['GET', `${base()}/0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e/results`, undefined, 404],
        ['POST', `${base()}/0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e/cancel`, undefined, 404],
        ['GET', `${base()}/${job.id}/results?page=0`, undefined, 422],
        ['GET', `${base()}/${job.id}/results?page=1.5`, undefined, 422],
        ['GET', `${base()}/${job.id}/results?page=abc`, undefined, 422],
        ['GET', `${base()}/${job.id}/results?page_size=0`, undefined, 422],
        ['GET', `${base()}/${job.id}/results?page_size=201`, undefined, 422],
        ['GET', `${base()}/${job.id}/results?offset=3`, undefined, 422],
        ['GET', `${API}/projects/0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e/query-jobs`, undefined, 404],
      ]
      for (const [method, url, body, status] of cases) {
        const response = await app.request(method, url, { key: orgKey, ...(body === undefined ? {} : { body }) })
        expect(response.status, `${method} ${url} ${JSON.stringify(body)}: ${JSON.stringify(response.body)}`).toBe(
          status,
        )
      }
      const max = await page(job.id, '?page_size=200')
      expect(max.body).toMatchObject({ page_size: 200, total_pages: 1, rows: [[1]] })
    })

    it('keeps jobs to their tenant and needs the query scope', async () => {
      const job = await run('select 1 as one')
      const stranger = await createOrganization(app, 'Stranger')
      for (const [method, suffix] of [
        ['GET', ''],
        ['GET', '/results'],
        ['POST', '/cancel'],
      ] as const) {
        const response = await app.request(method, `${base()}/${job.id}${suffix}`, { key: stranger.orgKey })
        expect(response.status).toBe(404)
      }
      // The same job id under another project of the same organization does not exist either.
      const sibling = (await createProject(app, orgKey, 'Sibling')).id
      expect(
        (await app.request('GET', `${API}/projects/${sibling}/query-jobs/${job.id}`, { key: orgKey })).status,
      ).toBe(404)
      const noQuery = await createProjectKey(app, orgKey, projectId, ['connections'])
      expect((await submit({ sql: 'select 1' }, noQuery.key)).status).toBe(403)
      expect((await page(job.id, '', noQuery.key)).status).toBe(403)
      const withQuery = await createProjectKey(app, orgKey, projectId, ['query'])
      const own = await submit({ sql: 'select 2 as two' }, withQuery.key)
      expect(own.status).toBe(202)
      const done = await finished(own.body.id)
      expect(done.status).toBe('succeeded')
      expect((await page(own.body.id, '', withQuery.key)).body.rows).toEqual([[2]])
    })

    it('describes every route in the OpenAPI document', async () => {
      const document = await app.request('GET', `${API}/openapi.json`)
      const paths = Object.keys(document.body.paths)
      for (const route of [
        '/api/v1/projects/{project_id}/query-jobs',
        '/api/v1/projects/{project_id}/query-jobs/{job_id}',
        '/api/v1/projects/{project_id}/query-jobs/{job_id}/cancel',
        '/api/v1/projects/{project_id}/query-jobs/{job_id}/results',
      ]) {
        expect(paths).toContain(route)
      }
    })
  })
})
