import path from 'node:path'

import type { SqlResult } from '@tributary/contract'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'
import { nextOccurrence } from '../../scheduler/scheduler.js'
import { CATEGORICAL_TASK, parseRefresh } from './categorical.service.js'

describe('categorical refresh schedules', () => {
  const from = new Date('2026-01-01T10:30:00Z')
  const nextRunAt = (refresh: string) => nextOccurrence(parseRefresh(refresh), from)

  it('reads ISO-8601 durations and five-field cron expressions', () => {
    expect(nextRunAt('P1D')?.toISOString()).toBe('2026-01-02T10:30:00.000Z')
    expect(nextRunAt('PT6H')?.toISOString()).toBe('2026-01-01T16:30:00.000Z')
    expect(nextRunAt('P1W')?.toISOString()).toBe('2026-01-08T10:30:00.000Z')
    expect(nextRunAt('P1M')?.toISOString()).toBe('2026-02-01T10:30:00.000Z')
    expect(nextRunAt('P1DT12H')?.toISOString()).toBe('2026-01-02T22:30:00.000Z')
    expect(nextRunAt('0 3 * * *')?.toISOString()).toBe('2026-01-02T03:00:00.000Z')
    expect(nextRunAt('@hourly')?.toISOString()).toBe('2026-01-01T11:00:00.000Z')
  })

  it('refuses what is neither, and anything more frequent than once a minute', () => {
    for (const bad of ['P', 'PT', 'P1X', '1D', 'PT30S', 'PT0M', '* * * * * *', '61 * * * *', 'daily', '0 0 31 2 *']) {
      expect(() => parseRefresh(bad), bad).toThrow(/refresh/)
    }
    expect(() => parseRefresh('PT1M')).not.toThrow()
    expect(() => parseRefresh('*/5 * * * *')).not.toThrow()
  })
})

const postgresSkip = await serviceSkipReason('postgres')

describe.skipIf(postgresSkip !== null)(
  `categorical values over Chinook in PostgreSQL and SQLite${postgresSkip ? ` [skipped: ${postgresSkip}]` : ''}`,
  () => {
    let sources: ChinookSources
    let app: TestApp
    let key: string
    let projectId: string
    let reference: pg.Client
    const columnPath = (catalog: string, schema: string, table: string, column: string) =>
      `${API}/projects/${projectId}/metadata/${catalog}/${schema}/${table}/columns/${column}/categorical`

    /** The most frequent values as PostgreSQL counts them, ties by value (byte order, as DuckDB sorts). */
    async function topValues(table: string, column: string, limit: number) {
      const rows = await reference.query<{ value: string; n: string }>(
        `SELECT ${column}::text AS value, count(*) AS n FROM ${table} WHERE ${column} IS NOT NULL GROUP BY 1`,
      )
      return rows.rows
        .map((row) => ({ value: row.value, count: Number(row.n) }))
        .sort((a, b) => b.count - a.count || Buffer.compare(Buffer.from(a.value), Buffer.from(b.value)))
        .slice(0, limit)
    }

    beforeAll(async () => {
      sources = await loadChinook(['postgres'])
      if (!sources.postgres) throw new Error(sources.skipReasons.join('; '))
      reference = new pg.Client({ ...sources.postgres, ssl: false })
      await reference.connect()
      app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath) } })
      key = (await createOrganization(app, 'Categorical')).orgKey
      projectId = (await createProject(app, key, 'Chinook')).id
      for (const body of [
        { name: 'Chinook PostgreSQL', type: 'postgresql', config: sources.postgres, catalog: 'pg' },
        {
          name: 'Chinook SQLite',
          type: 'sqlite',
          config: { path: path.basename(sources.sqlitePath) },
          catalog: 'lite',
        },
      ]) {
        const created = await app.request('POST', `${API}/projects/${projectId}/connections`, { key, body })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
      }
    }, 120_000)

    afterAll(async () => {
      await reference?.end()
      await app?.close()
      await sources?.cleanup()
    })

    it('computes the values of Genre.Name and Customer.Country with a pushed-down GROUP BY', async () => {
      const { sql: sqlService } = app.tributary.services
      const run = vi.spyOn(sqlService, 'run')
      try {
        const genres = await app.request('PUT', columnPath('pg', 'public', 'genre', 'name'), { key, body: {} })
        expect(genres.status, JSON.stringify(genres.body)).toBe(200)
        expect(genres.body).toMatchObject({ catalog: 'pg', schema: 'public', table: 'genre', column: 'name' })
        expect(genres.body.limit).toBe(50)
        expect(genres.body.refresh).toBeNull()
        expect(genres.body.next_run_at).toBeNull()
        expect(genres.body.values).toEqual(await topValues('genre', 'name', 50))
        expect(genres.body.values).toHaveLength(25)

        const countries = await app.request('PUT', columnPath('pg', 'public', 'customer', 'country'), {
          key,
          body: { limit: 5 },
        })
        expect(countries.status, JSON.stringify(countries.body)).toBe(200)
        expect(countries.body.values).toEqual(await topValues('customer', 'country', 5))
        expect(countries.body.values[0]).toEqual({ value: 'USA', count: 13 })

        const answer = (await run.mock.results.at(-1)!.value) as SqlResult
        expect(answer.stats.sources).toHaveLength(1)
        expect(answer.stats.sources[0]!.remote_sql).toMatch(/GROUP BY/i)
        expect(answer.stats.sources[0]!.remote_sql).toMatch(/count/i)
      } finally {
        run.mockRestore()
      }

      const table = await app.request('GET', `${API}/projects/${projectId}/metadata/pg/public/customer`, { key })
      expect(table.status, JSON.stringify(table.body)).toBe(200)
      const country = table.body.columns.find((column: { name: string }) => column.name === 'country')
      expect(country).toMatchObject({
        is_categorical: true,
        categorical_values: ['USA', 'Canada', 'Brazil', 'France', 'Germany'],
      })

      const lite = await app.request('PUT', columnPath('lite', 'main', 'Genre', 'Name'), { key, body: { limit: 3 } })
      expect(lite.status, JSON.stringify(lite.body)).toBe(200)
      expect(lite.body.values.map((entry: { value: string }) => entry.value)).toEqual(
        (await topValues('genre', 'name', 3)).map((entry) => entry.value),
      )
    })

    it('stores a refresh schedule, and DELETE removes it with the values', async () => {
      const before = Date.now()
      const hourly = await app.request('PUT', columnPath('pg', 'public', 'invoice', 'billing_country'), {
        key,
        body: { limit: 10, refresh: 'PT6H' },
      })
      expect(hourly.status, JSON.stringify(hourly.body)).toBe(200)
      const next = Date.parse(hourly.body.next_run_at)
      expect(next).toBeGreaterThanOrEqual(before + 6 * 3_600_000 - 1_000)
      expect(next).toBeLessThanOrEqual(Date.now() + 6 * 3_600_000 + 1_000)

      const cron = await app.request('PUT', columnPath('pg', 'public', 'invoice', 'billing_country'), {
        key,
        body: { limit: 10, refresh: '0 3 * * *' },
      })
      expect(cron.status).toBe(200)
      expect(cron.body.next_run_at).toMatch(/T03:00:00\.000Z$/)
      const { db } = app.tributary.platform
      const schedules = () =>
        db
          .selectFrom('categorical_schedules')
          .selectAll()
          .where('project_id', '=', projectId)
          .where('column_name', '=', 'billing_country')
          .execute()
      expect(await schedules()).toHaveLength(1)
      expect((await schedules())[0]!.refresh).toBe('0 3 * * *')
      const { scheduler } = app.tributary.platform
      const scheduled = (await schedules())[0]!.id
      expect(await scheduler.get(CATEGORICAL_TASK.name, scheduled)).toMatchObject({
        schedule: { type: 'cron', cron: '0 3 * * *', timezone: 'UTC' },
        next_run_at: cron.body.next_run_at,
      })

      const removed = await app.request('DELETE', columnPath('pg', 'public', 'invoice', 'billing_country'), { key })
      expect(removed.status, JSON.stringify(removed.body)).toBe(204)
      expect(await schedules()).toHaveLength(0)
      expect(await scheduler.get(CATEGORICAL_TASK.name, scheduled)).toBeUndefined()
      const table = await app.request('GET', `${API}/projects/${projectId}/metadata/pg/public/invoice`, { key })
      const column = table.body.columns.find((entry: { name: string }) => entry.name === 'billing_country')
      expect(column).toMatchObject({ is_categorical: false, categorical_values: [] })
      const again = await app.request('DELETE', columnPath('pg', 'public', 'invoice', 'billing_country'), { key })
      expect(again.status).toBe(404)
    })

    it('refuses bad limits and schedules (422) and unknown tables or columns (404 naming them)', async () => {
      const put = (column: string, body: unknown, table = 'customer') =>
        app.request('PUT', columnPath('pg', 'public', table, column), { key, body })
      for (const body of [{ limit: 0 }, { limit: 1001 }, { limit: 2.5 }, { limit: '10' }, { extra: 1 }]) {
        const response = await put('country', body)
        expect(response.status, JSON.stringify(body)).toBe(422)
        expect(response.body.error.code).toBe('validation_error')
      }
      for (const refresh of ['P1X', 'PT30S', 'every day', '61 * * * *']) {
        const response = await put('country', { refresh })
        expect(response.status, refresh).toBe(422)
        expect(response.body.error.message).toMatch(/^refresh/)
      }
      const column = await put('nope', {})
      expect(column.status).toBe(404)
      expect(column.body.error.message).toContain('pg.public.customer.nope')
      const table = await put('country', {}, 'customers')
      expect(table.status).toBe(404)
      expect(table.body.error.message).toContain('pg.public.customers')
      const catalog = await app.request('PUT', columnPath('nope', 'public', 'customer', 'country'), { key, body: {} })
      expect(catalog.status).toBe(404)
      expect(catalog.body.error.message).toContain('nope')
      const deleteUnknown = await app.request('DELETE', columnPath('pg', 'public', 'customer', 'nope'), { key })
      expect(deleteUnknown.status).toBe(404)
      expect(deleteUnknown.body.error.message).toContain('pg.public.customer.nope')
    })
  },
)

describeEachStore('categorical schedules', (kind) => {
  let sources: ChinookSources
  let app: TestApp
  let key: string
  let projectId: string

  beforeAll(async () => {
    sources = await loadChinook([])
    app = await startTestApp(kind, { env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath) } })
    // The test claims by hand: the scheduler's timer must not claim first.
    await app.tributary.platform.scheduler.stop()
    key = (await createOrganization(app, 'Schedules')).orgKey
    projectId = (await createProject(app, key, 'Schedules')).id
    const created = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key,
      body: { name: 'Chinook', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) }, catalog: 'lite' },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
  }, 60_000)

  afterAll(async () => {
    await app?.close()
    await sources?.cleanup()
  })

  it('claims a due schedule exactly once across concurrent claimers, and recomputes it as a job', async () => {
    const set = await app.request(
      'PUT',
      `${API}/projects/${projectId}/metadata/lite/main/Customer/columns/Country/categorical`,
      { key, body: { limit: 3, refresh: 'P1D' } },
    )
    expect(set.status, JSON.stringify(set.body)).toBe(200)
    expect(set.body.values).toEqual([
      { value: 'USA', count: 13 },
      { value: 'Canada', count: 8 },
      { value: 'Brazil', count: 5 },
    ])
    const { db, scheduler } = app.tributary.platform
    const schedule = () =>
      db.selectFrom('categorical_schedules').selectAll().where('project_id', '=', projectId).executeTakeFirstOrThrow()
    const { id } = await schedule()
    await db.updateTable('categorical_schedules').set({ last_run_at: null }).where('id', '=', id).execute()
    await db
      .updateTable('schedules')
      .set({ next_run_at: sql<Date>`now() - interval '1 minute'` })
      .where('task', '=', CATEGORICAL_TASK.name)
      .where('key', '=', id)
      .execute()

    const claims = await Promise.all(Array.from({ length: 4 }, () => scheduler.tick()))
    expect(claims.reduce((sum, claimed) => sum + claimed, 0)).toBe(1)
    const next = (await scheduler.get(CATEGORICAL_TASK.name, id))!.next_run_at
    expect(Date.parse(next!)).toBeGreaterThan(Date.now() + 23 * 3_600_000)
    expect(await scheduler.tick()).toBe(0)

    const jobs = await db
      .selectFrom('jobs')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('kind', '=', 'metadata.categorical')
      .execute()
    expect(jobs).toHaveLength(1)
    const deadline = Date.now() + 30_000
    let job = jobs[0]!
    while (job.status !== 'succeeded' && job.status !== 'failed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      job = await db.selectFrom('jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow()
    }
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded')
    expect(await scheduler.runs(CATEGORICAL_TASK.name, id, { limit: 10 })).toMatchObject([
      { job_id: job.id, status: 'succeeded', error: null },
    ])
    const ran = await schedule()
    expect(ran.last_run_at).not.toBeNull()
    expect(ran.last_error).toBeNull()
  })
})
