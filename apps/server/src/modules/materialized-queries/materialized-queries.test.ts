import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, beforeAll, expect, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  createUserSession,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'

describeEachStore('materialized queries', (kind) => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-materialized-'))
  const shopFile = path.join(root, 'shop.sqlite')
  let app: TestApp
  let orgKey: string
  let projectId: string
  const base = () => `${API}/projects/${projectId}`

  beforeAll(async () => {
    const sqlite = new Database(shopFile)
    sqlite.exec(
      'create table orders (id integer primary key, country text, amount real);' +
        "insert into orders (country, amount) values ('PT', 10), ('PT', 5), ('FR', 7)",
    )
    sqlite.close()
    app = await startTestApp(kind, { env: { TRIBUTARY_FILE_ROOTS: root, TRIBUTARY_JOB_POLL_INTERVAL_MS: '100' } })
    orgKey = (await createOrganization(app, 'Materialized')).orgKey
    projectId = (await createProject(app, orgKey, 'Materialized')).id
    const connection = await app.request('POST', `${base()}/connections`, {
      key: orgKey,
      body: { name: 'shop', type: 'sqlite', config: { path: 'shop.sqlite' } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
  })
  afterAll(async () => {
    await app.close()
    rmSync(root, { recursive: true, force: true })
  })

  const sql = async (text: string) => {
    const answer = await app.request('POST', `${base()}/sql`, { key: orgKey, body: { sql: text } })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    return answer.body as { rows: unknown[][]; stats: { sources: { catalog: string; remote_sql: string }[] } }
  }
  const status = (queryId: string) => app.request('GET', `${base()}/queries/${queryId}/status`, { key: orgKey })

  /** Waits until the query's latest computation has ended, and returns its status. */
  async function settled(queryId: string, jobId?: string) {
    for (let i = 0; i < 400; i += 1) {
      const answer = await status(queryId)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      const ended = ['succeeded', 'failed', 'cancelled'].includes(answer.body.job_status)
      if (ended && (jobId === undefined || answer.body.job_id !== jobId) && answer.body.status !== 'RUNNING') {
        return answer.body
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`query ${queryId} did not settle`)
  }

  it('stores the result when saved, reads it by name, and keeps it until it is computed again', async () => {
    const created = await app.request('POST', `${base()}/queries`, {
      key: orgKey,
      body: {
        display_name: 'Revenue by country',
        sql: 'select country, sum(amount) as revenue from shop.main.orders group by country',
        query_type: 'MATERIALIZED',
        schedule: { type: 'interval', every: 'PT1H' },
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({ query_type: 'MATERIALIZED', schedule: { type: 'interval', every: 'PT1H' } })
    const first = await settled(created.body.id)
    expect(first).toMatchObject({ status: 'COMPLETED', row_count: 2, consecutive_failures: 0, error: null })
    expect(Date.parse(first.next_execution_start_time) - Date.now()).toBeGreaterThan(50 * 60_000)

    const read = 'select country, revenue from queries.materialized."Revenue by country" order by country'
    const stored = await sql(read)
    expect(stored.rows).toEqual([
      ['FR', 7],
      ['PT', 15],
    ])
    // Read from the stored file: the source is not asked.
    expect(stored.stats.sources.map((source) => source.catalog)).toEqual(['queries'])

    const sqlite = new Database(shopFile)
    sqlite.exec("insert into orders (country, amount) values ('DE', 3)")
    sqlite.close()
    expect((await sql(read)).rows).toHaveLength(2)
    // The plain form still runs the query against the source.
    expect((await sql('select count(*) from queries.main."Revenue by country"')).rows).toEqual([[3]])

    const refreshed = await app.request('POST', `${base()}/queries/${created.body.id}/refresh`, { key: orgKey })
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(202)
    await settled(created.body.id, first.job_id)
    expect((await sql(read)).rows).toEqual([
      ['DE', 3],
      ['FR', 7],
      ['PT', 15],
    ])
    const listed = await app.request('GET', `${base()}/materialized-queries/status`, { key: orgKey })
    expect(listed.status).toBe(200)
    expect(listed.body.data.map((entry: { display_name: string }) => entry.display_name)).toContain(
      'Revenue by country',
    )
  })

  it('computes again on its schedule, when its SQL changes, and drops the result when made standard', async () => {
    const created = await app.request('POST', `${base()}/queries`, {
      key: orgKey,
      body: {
        display_name: 'Order count',
        sql: 'select count(*) as orders from shop.main.orders',
        query_type: 'MATERIALIZED',
        schedule: { expression: '0 3 * * *' },
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    // Peaka's older form is stored as the schedule it means.
    expect(created.body.schedule).toEqual({ type: 'cron', cron: '0 3 * * *', timezone: 'UTC' })
    const first = await settled(created.body.id)
    expect(first.status).toBe('COMPLETED')
    expect(new Date(first.next_execution_start_time).getUTCHours()).toBe(3)

    const sqlite = new Database(shopFile)
    sqlite.exec("insert into orders (country, amount) values ('ES', 1)")
    sqlite.close()
    // The scheduler's clock moved past the due time: that occurrence runs once.
    const claimed = await app.tributary.platform.scheduler.tick(
      new Date(Date.parse(first.next_execution_start_time) + 1000),
    )
    expect(claimed).toBeGreaterThanOrEqual(1)
    const scheduled = await settled(created.body.id, first.job_id)
    expect(scheduled.status).toBe('COMPLETED')
    const count = (await sql('select orders from queries.materialized."Order count"')).rows[0]![0]

    const changed = await app.request('PATCH', `${base()}/queries/${created.body.id}`, {
      key: orgKey,
      body: { sql: 'select count(*) as orders, max(amount) as largest from shop.main.orders' },
    })
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    await settled(created.body.id, scheduled.job_id)
    expect((await sql('select orders, largest from queries.materialized."Order count"')).rows).toEqual([[count, 10]])

    const standard = await app.request('PATCH', `${base()}/queries/${created.body.id}`, {
      key: orgKey,
      body: { query_type: 'STANDARD' },
    })
    expect(standard.status, JSON.stringify(standard.body)).toBe(200)
    expect(standard.body.schedule).toBeNull()
    expect((await status(created.body.id)).status).toBe(409)
    const gone = await app.request('POST', `${base()}/sql`, {
      key: orgKey,
      body: { sql: 'select * from queries.materialized."Order count"' },
    })
    expect(gone.status).toBe(400)
  })

  it('cancels a long computation and keeps the last result readable', async () => {
    const created = await app.request('POST', `${base()}/queries`, {
      key: orgKey,
      body: { display_name: 'Slow', sql: 'select 1 as one', query_type: 'MATERIALIZED' },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const first = await settled(created.body.id)
    expect(first).toMatchObject({ status: 'COMPLETED', schedule: { type: 'none' }, next_execution_start_time: null })
    const slow = await app.request('PATCH', `${base()}/queries/${created.body.id}`, {
      key: orgKey,
      body: { sql: 'select sum(i) as one from range(10000000000) t(i)' },
    })
    expect(slow.status, JSON.stringify(slow.body)).toBe(200)
    for (let i = 0; i < 200 && (await status(created.body.id)).body.status !== 'RUNNING'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    const cancelled = await app.request('POST', `${base()}/queries/${created.body.id}/cancel`, { key: orgKey })
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200)
    const ended = await settled(created.body.id, first.job_id)
    expect(ended.status).toBe('CANCELLED')
    expect((await sql('select one from queries.materialized."Slow"')).rows).toEqual([[1]])
  })

  it('refuses what cannot be materialized, and answers only its own project and roles', async () => {
    const refused = async (body: unknown, field: string) => {
      const answer = await app.request('POST', `${base()}/queries`, { key: orgKey, body })
      expect(answer.status, JSON.stringify(answer.body)).toBe(422)
      expect(JSON.stringify(answer.body.error.details)).toContain(field)
    }
    const sqlText = 'select 1 as one'
    await refused({ display_name: 'a', sql: sqlText, schedule: { type: 'interval', every: 'PT1H' } }, 'schedule')
    await refused(
      { display_name: 'b', sql: sqlText, query_type: 'MATERIALIZED', schedule: { type: 'interval', every: 'PT10S' } },
      'every',
    )
    await refused(
      { display_name: 'c', sql: sqlText, query_type: 'MATERIALIZED', schedule: { type: 'cron', cron: '61 * * * *' } },
      'cron',
    )
    await refused(
      {
        display_name: 'd',
        sql: sqlText,
        query_type: 'MATERIALIZED',
        schedule: { type: 'cron', cron: '0 3 * * *', timezone: 'Mars/Olympus' },
      },
      'timezone',
    )
    // Peaka's older form names its own field.
    for (const expression of ['often', 'PT10S', '61 * * * *', '']) {
      await refused(
        { display_name: 'e', sql: sqlText, query_type: 'MATERIALIZED', schedule: { expression } },
        '"field":"schedule.expression"',
      )
    }
    await refused(
      {
        display_name: 'f',
        sql: 'select {{n}} as n',
        parameters: [{ name: 'n', type: 'integer', required: true }],
        query_type: 'MATERIALIZED',
      },
      'query_type',
    )
    await refused({ display_name: 'g', sql: sqlText, schema: 'Materialized' }, 'schema')

    const standard = await app.request('POST', `${base()}/queries`, {
      key: orgKey,
      body: { display_name: 'h', sql: sqlText },
    })
    expect((await status(standard.body.id)).status).toBe(409)
    expect((await app.request('POST', `${base()}/queries/${standard.body.id}/refresh`, { key: orgKey })).status).toBe(
      409,
    )

    const mine = await app.request('POST', `${base()}/queries`, {
      key: orgKey,
      body: { display_name: 'Mine', sql: sqlText, query_type: 'MATERIALIZED' },
    })
    const other = await createOrganization(app, 'Other')
    const otherProject = (await createProject(app, other.orgKey, 'Other')).id
    for (const url of [
      `${base()}/queries/${mine.body.id}/status`,
      `${API}/projects/${otherProject}/queries/${mine.body.id}/status`,
    ]) {
      expect((await app.request('GET', url, { key: other.orgKey })).status).toBe(404)
    }
    const viewer = (await createUserSession(app, orgKey, 'viewer')).token
    expect((await app.request('GET', `${base()}/queries/${mine.body.id}/status`, { key: viewer })).status).toBe(200)
    // Viewers run saved queries, and so may compute one again; another organization's key may not.
    expect((await app.request('POST', `${base()}/queries/${mine.body.id}/refresh`, { key: viewer })).status).toBe(202)
    expect((await app.request('POST', `${base()}/queries/${mine.body.id}/refresh`, { key: other.orgKey })).status).toBe(
      404,
    )
  })
})
