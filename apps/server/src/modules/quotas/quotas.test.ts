import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, beforeAll, expect, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  createUserSession,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'

const CHINOOK_SQLITE = path.resolve(import.meta.dirname, '../../../test/fixtures/chinook/Chinook_Sqlite.sqlite')
const PER_TB = 1e9
const PER_CPU_SECOND = 0.001
const INVOICES = 'select InvoiceId, Total from chinook.main.Invoice'

describeEachStore('query quotas and costs', (kind) => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-quotas-'))
  let clock = new Date('2026-03-10T12:00:00Z')
  let app: TestApp
  let orgKey: string
  let projectId: string
  let savedQueryId: string
  const quota = (key = orgKey) => app.request('GET', `${API}/query-quota`, { key })
  const setQuota = (body: unknown, key = orgKey) => app.request('PUT', `${API}/query-quota`, { key, body })
  const costs = (query = '', key = orgKey) => app.request('GET', `${API}/query-costs${query}`, { key })
  const submit = (sql = INVOICES) =>
    app.request('POST', `${API}/projects/${projectId}/query-jobs`, { key: orgKey, body: { sql } })
  const finished = async (id: string) => {
    let job: Record<string, any> = {}
    await expect
      .poll(
        async () => {
          job = (await app.request('GET', `${API}/projects/${projectId}/query-jobs/${id}`, { key: orgKey })).body
          return job.status
        },
        { timeout: 30_000, interval: 25 },
      )
      .toMatch(/^(succeeded|failed|cancelled)$/)
    return job
  }
  const runJob = async (sql = INVOICES) => {
    const created = await submit(sql)
    expect(created.status, JSON.stringify(created.body)).toBe(202)
    return finished(created.body.id)
  }

  beforeAll(async () => {
    copyFileSync(CHINOOK_SQLITE, path.join(root, 'chinook.sqlite'))
    app = await startTestApp(kind, {
      env: {
        TRIBUTARY_FILE_ROOTS: root,
        TRIBUTARY_PRICE_PER_TB_SCANNED: String(PER_TB),
        TRIBUTARY_PRICE_PER_CPU_SECOND: String(PER_CPU_SECOND),
      },
      now: () => clock,
    })
    orgKey = (await createOrganization(app, 'Costs')).orgKey
    projectId = (await createProject(app, orgKey, 'Costs')).id
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: 'chinook.sqlite' } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
    const saved = await app.request('POST', `${API}/projects/${projectId}/queries`, {
      key: orgKey,
      body: { display_name: 'Invoices', sql: INVOICES },
    })
    expect(saved.status, JSON.stringify(saved.body)).toBe(201)
    savedQueryId = saved.body.id
  })
  afterAll(async () => {
    await app?.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('records what each job read per source, its CPU time and its cost', async () => {
    const job = await runJob()
    expect(job.status, JSON.stringify(job)).toBe('succeeded')
    const { usage } = job
    // Chinook has 412 invoices; two columns of each crossed, at most 32 bytes a value by the estimate.
    expect(usage.sources).toEqual([{ catalog: 'chinook', table: 'main.Invoice', rows: 412, bytes: expect.any(Number) }])
    expect(usage.bytes_scanned).toBeGreaterThanOrEqual(412 * 2 * 4)
    expect(usage.bytes_scanned).toBeLessThanOrEqual(412 * 2 * 16)
    expect(usage.rows_scanned).toBe(job.rows_scanned)
    expect(usage.bytes_scanned).toBe(usage.sources.reduce((sum: number, s: { bytes: number }) => sum + s.bytes, 0))
    expect(usage.cpu_seconds).toBeGreaterThan(0)
    expect(usage.cost).toBeCloseTo((usage.bytes_scanned / 1e12) * PER_TB + usage.cpu_seconds * PER_CPU_SECOND, 9)
    expect(usage.cost).toBeGreaterThan(0)

    const listed = await costs()
    expect(listed.status).toBe(200)
    expect(listed.body.items[0]).toMatchObject({
      query_job_id: job.id,
      project_id: projectId,
      status: 'succeeded',
      bytes_scanned: usage.bytes_scanned,
      rows_scanned: usage.rows_scanned,
      cpu_seconds: usage.cpu_seconds,
      cost: usage.cost,
      ended_at: job.ended_at,
    })
    const used = await quota()
    expect(used.body).toMatchObject({ daily_limit: null, monthly_limit: null, exceeded: false, percent_used: 0 })
    expect(used.body.monthly_used).toBeCloseTo(usage.cost, 9)
    expect(used.body.daily_used).toBeCloseTo(usage.cost, 9)
  })

  it('refuses every query door once the monthly quota is spent, and opens again next month', async () => {
    const first = await runJob()
    const cost = first.usage.cost as number
    const before = (await quota()).body.monthly_used as number
    // Room for the next job to start, not for the one after it.
    const set = await setQuota({ daily_limit: null, monthly_limit: before + cost * 0.5 })
    expect(set.status, JSON.stringify(set.body)).toBe(200)
    expect(set.body).toMatchObject({ exceeded: false, daily_remaining: null })
    expect(set.body.monthly_remaining).toBeCloseTo(cost * 0.5, 9)

    expect((await runJob()).status).toBe('succeeded')
    const spent = await quota()
    expect(spent.body).toMatchObject({ exceeded: true, monthly_remaining: 0 })
    expect(spent.body.percent_used).toBeGreaterThanOrEqual(100)

    const refused = [
      await submit(),
      await app.request('POST', `${API}/projects/${projectId}/sql`, { key: orgKey, body: { sql: INVOICES } }),
      await app.request('POST', `${API}/projects/${projectId}/queries/${savedQueryId}/run`, { key: orgKey }),
    ]
    for (const response of refused) {
      expect(response.status, JSON.stringify(response.body)).toBe(429)
      expect(response.body.error.code).toBe('quota_exceeded')
      expect(response.body.error.details).toMatchObject({ period: 'monthly', resets_at: '2026-04-01T00:00:00.000Z' })
    }
    // Nothing was queued by the refused requests.
    const jobs = await app.request('GET', `${API}/projects/${projectId}/query-jobs?limit=200`, { key: orgKey })
    expect(jobs.body.data).toHaveLength(3)

    clock = new Date('2026-04-01T00:00:01Z')
    expect((await quota()).body).toMatchObject({ monthly_used: 0, exceeded: false })
    const sql = await app.request('POST', `${API}/projects/${projectId}/sql`, { key: orgKey, body: { sql: INVOICES } })
    expect(sql.status, JSON.stringify(sql.body)).toBe(200)
    expect(sql.body.stats.sources[0].bytes).toBeGreaterThan(0)
    expect((await runJob()).status).toBe('succeeded')
  })

  it('refuses for the rest of the UTC day once the daily quota is spent', async () => {
    clock = new Date('2026-04-02T09:00:00Z')
    expect((await setQuota({ daily_limit: 0.000001, monthly_limit: null })).status).toBe(200)
    expect((await runJob()).status).toBe('succeeded')
    const refused = await submit()
    expect(refused.status).toBe(429)
    expect(refused.body.error.details).toMatchObject({ period: 'daily', resets_at: '2026-04-03T00:00:00.000Z' })
    clock = new Date('2026-04-02T23:59:59Z')
    expect((await submit()).status).toBe(429)
    clock = new Date('2026-04-03T00:00:00Z')
    const quotaNow = await quota()
    expect(quotaNow.body).toMatchObject({ daily_used: 0, exceeded: false })
    expect(quotaNow.body.monthly_used).toBeGreaterThan(0)
    expect((await runJob()).status).toBe('succeeded')
    // A zero limit stops everything.
    expect((await setQuota({ daily_limit: 0, monthly_limit: null })).body).toMatchObject({
      exceeded: true,
      percent_used: 100,
    })
    expect((await submit()).status).toBe(429)
    expect((await setQuota({ daily_limit: null, monthly_limit: null })).body.exceeded).toBe(false)
  })

  it('lists failed jobs too, with the CPU they took and nothing read', async () => {
    const failed = await runJob('select * from chinook.main.NoSuchTable')
    expect(failed.status).toBe('failed')
    expect(failed.usage).toBeNull()
    const listed = (await costs('?page_size=1')).body.items[0]
    expect(listed).toMatchObject({ query_job_id: failed.id, status: 'failed', bytes_scanned: 0, rows_scanned: 0 })
    // Recorded by the job as it failed, not merely listed from the queue.
    expect(listed.cpu_seconds).toBeGreaterThan(0)
    expect(listed.cost).toBeCloseTo(listed.cpu_seconds * PER_CPU_SECOND, 12)
  })

  it('pages through past jobs, newest first', async () => {
    const all = await costs('?page_size=100')
    const total = all.body.total as number
    expect(total).toBeGreaterThanOrEqual(5)
    expect(all.body.items).toHaveLength(total)
    const ids = all.body.items.map((item: { query_job_id: string }) => item.query_job_id)
    expect([...ids].sort().reverse()).toEqual(ids)
    const first = await costs('?page=1&page_size=2')
    const second = await costs('?page=2&page_size=2')
    expect(first.body).toMatchObject({ total, page: 1, page_size: 2, total_pages: Math.ceil(total / 2) })
    expect(
      [...first.body.items, ...second.body.items].map((item: { query_job_id: string }) => item.query_job_id),
    ).toEqual(ids.slice(0, 4))
    expect((await costs(`?page=${total + 1}&page_size=1`)).body.items).toEqual([])
    for (const query of ['?page_size=101', '?page_size=0', '?page=0', '?page=x', '?sort=cost']) {
      const response = await costs(query)
      expect(response.status, query).toBe(422)
      expect(response.body.error.code).toBe('validation_error')
    }
  })

  it('refuses negative and malformed limits with 422 naming the field', async () => {
    for (const [body, field] of [
      [{ daily_limit: -1, monthly_limit: null }, 'daily_limit'],
      [{ daily_limit: null, monthly_limit: -0.5 }, 'monthly_limit'],
      [{ daily_limit: 'ten', monthly_limit: null }, 'daily_limit'],
      [{ monthly_limit: 5 }, 'daily_limit'],
      [{ daily_limit: null, monthly_limit: null, weekly_limit: 1 }, 'weekly_limit'],
    ] as const) {
      const response = await setQuota(body)
      expect(response.status, JSON.stringify(body)).toBe(422)
      expect(response.body.error.code).toBe('validation_error')
      expect(JSON.stringify(response.body.error), JSON.stringify(body)).toContain(field)
    }
  })

  it('is for organization admins only, and each organization sees its own', async () => {
    for (const role of ['viewer', 'editor'] as const) {
      const { token } = await createUserSession(app, orgKey, role)
      expect((await quota(token)).status).toBe(403)
      expect((await setQuota({ daily_limit: 1, monthly_limit: 1 }, token)).status).toBe(403)
      expect((await costs('', token)).status).toBe(403)
    }
    const { token: adminToken } = await createUserSession(app, orgKey, 'admin')
    expect((await quota(adminToken)).status).toBe(200)
    expect((await costs('', adminToken)).status).toBe(200)
    const projectKey = (await createProjectKey(app, orgKey, projectId, ['admin'])).key
    expect((await quota(projectKey)).status).toBe(403)
    expect((await costs('', projectKey)).status).toBe(403)
    expect((await quota(app.platformKey)).status).toBe(403)

    const other = (await createOrganization(app, 'Other')).orgKey
    expect((await quota(other)).body).toMatchObject({ daily_used: 0, monthly_used: 0, exceeded: false })
    expect((await costs('', other)).body).toMatchObject({ items: [], total: 0 })
    expect((await setQuota({ daily_limit: 0, monthly_limit: 0 }, other)).status).toBe(200)
    // The other organization's limits stop only its own queries.
    expect((await submit()).status).toBe(202)
    const audit = await app.request('GET', `${API}/audit-log?limit=200`, { key: other })
    expect(JSON.stringify(audit.body)).toContain('query_quota.update')
  })
})
