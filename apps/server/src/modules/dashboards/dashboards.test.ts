import path from 'node:path'

import Database from 'better-sqlite3'
import type { Dashboard, WidgetData, WidgetDataResponse } from '@tributary/contract'
import { afterAll, beforeAll, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'

/**
 * Dashboards over Chinook (SQLite): every widget type computed and checked against the data, one
 * broken widget beside working ones, cached results against refreshes (asked for and scheduled,
 * with the scheduler driven by a fake clock), question widgets answered by the offline engine, and
 * the 422s of a save.
 */

const position = { x: 0, y: 0, w: 6, h: 4 }

const SALES_BY_COUNTRY =
  'select "BillingCountry" as country, count(*) as invoices, sum("Total") as total ' +
  'from chinook.main.invoice group by 1 order by invoices desc, country'

describeEachStore('dashboards', (kind) => {
  let sources: ChinookSources
  let app: TestApp
  let orgKey: string
  let projectId: string
  let sqlite: Database.Database
  const base = () => `${API}/projects/${projectId}/dashboards`

  const createDashboard = async (body: Record<string, unknown>) => {
    const created = await app.request<Dashboard>('POST', base(), { key: orgKey, body })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body
  }
  const open = async (id: string, key = orgKey) => {
    const opened = await app.request<Dashboard>('GET', `${base()}/${id}`, { key })
    expect(opened.status, JSON.stringify(opened.body)).toBe(200)
    return opened.body
  }
  const dataOf = (dashboard: Dashboard, title: string): WidgetData => {
    const widget = dashboard.widgets.find((candidate) => candidate.title === title)
    expect(widget?.data, title).toBeTruthy()
    return widget!.data!
  }
  const saveQuery = async (body: Record<string, unknown>) => {
    const saved = await app.request('POST', `${API}/projects/${projectId}/queries`, { key: orgKey, body })
    expect(saved.status, JSON.stringify(saved.body)).toBe(201)
    return saved.body.id as string
  }
  const refusal = async (widget: Record<string, unknown>, method = 'POST', url = base()) => {
    const response = await app.request(method, url, {
      key: orgKey,
      body: {
        name: 'Refused',
        widgets: [
          { type: 'text', title: 'Note', position, config: { content: '# Hi' } },
          { position, ...widget },
        ],
      },
    })
    expect(response.status, JSON.stringify(response.body)).toBe(422)
    expect(response.body.error.code).toBe('validation_error')
    return response.body.error as { message: string; details: { issues: { field: string; message: string }[] } }
  }

  beforeAll(async () => {
    sources = await loadChinook([])
    sqlite = new Database(sources.sqlitePath)
    // Tables the tests change at the source; made before the connection so that its catalog lists them.
    sqlite.exec(`
      create table kpi (name text, amount integer); insert into kpi values ('a', 1), ('b', 2);
      create table doomed (n integer); insert into doomed values (7);
      create table ticks (n integer); insert into ticks values (1);`)
    app = await startTestApp(kind, {
      env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath), TRIBUTARY_JOB_POLL_INTERVAL_MS: '50' },
    })
    orgKey = (await createOrganization(app, 'Dashboards')).orgKey
    projectId = (await createProject(app, orgKey, 'Dashboards')).id
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
  })
  afterAll(async () => {
    sqlite?.close()
    await app?.close()
    await sources?.cleanup()
  })

  it('computes every widget type from Chinook, with rows capped per type', async () => {
    const byCountry = await saveQuery({ display_name: 'Sales by country', sql: SALES_BY_COUNTRY })
    const ofCountry = await saveQuery({
      display_name: 'Customers of a country',
      sql: 'select "FirstName" as first_name, "LastName" as last_name, "City" as city from chinook.main.customer where "Country" = {{country}} order by "CustomerId"',
      parameters: [{ name: 'country', type: 'string', required: true }],
    })
    const created = await createDashboard({
      name: 'Sales',
      description: 'Chinook at a glance',
      refresh: { type: 'none' },
      widgets: [
        {
          type: 'metric',
          title: 'Customers',
          position,
          sql: 'select count(*) as customers, 50 as last_month from chinook.main.customer',
          config: { value: 'customers', comparison: 'last_month', label: 'customers', format: { type: 'number' } },
        },
        {
          type: 'table',
          title: 'Brazil',
          position,
          query_id: ofCountry,
          parameters: { country: 'Brazil' },
          config: {},
        },
        {
          type: 'bar',
          title: 'By country',
          position,
          query_id: byCountry,
          config: { x: 'country', y: ['invoices'], formats: { total: { type: 'currency', currency: 'USD' } } },
        },
        {
          type: 'line',
          title: 'By year',
          position,
          sql: 'select year(cast("InvoiceDate" as timestamp)) as year, sum("Total") as total from chinook.main.invoice group by 1 order by 1',
          config: { x: 'year', y: ['total'] },
        },
        {
          type: 'area',
          title: 'By year and media',
          position,
          sql:
            'select year(cast(i."InvoiceDate" as timestamp)) as year, m."Name" as media, count(*) as lines ' +
            'from chinook.main.invoiceline l join chinook.main.invoice i on i."InvoiceId" = l."InvoiceId" ' +
            'join chinook.main.track t on t."TrackId" = l."TrackId" join chinook.main.mediatype m on m."MediaTypeId" = t."MediaTypeId" ' +
            'group by 1, 2 order by 1, 2',
          config: { x: 'year', y: ['lines'], series: 'media', stacked: true },
        },
        {
          type: 'pie',
          title: 'Tracks by genre',
          position,
          sql:
            'select g."Name" as genre, count(*) as tracks from chinook.main.track t ' +
            'join chinook.main.genre g on g."GenreId" = t."GenreId" group by 1 order by tracks desc, genre',
          config: { label: 'genre', value: 'tracks' },
        },
        {
          type: 'scatter',
          title: 'Albums',
          position,
          sql: 'select "AlbumId" as album, count(*) as tracks, sum("Milliseconds") / 60000.0 as minutes from chinook.main.track group by 1 order by 1',
          config: { x: 'tracks', y: 'minutes', size: 'tracks' },
        },
        {
          type: 'table',
          title: 'Tracks',
          position,
          sql: 'select "TrackId" as id, "Name" as name from chinook.main.track order by 1',
          config: { columns: ['name', 'id'] },
        },
        { type: 'text', title: 'About', position, config: { content: '## Sales\nFrom **Chinook**.' } },
      ],
    })
    expect(created.widgets.map((widget) => widget.data)).toEqual(Array(9).fill(null))
    expect(new Set(created.widgets.map((widget) => widget.id)).size).toBe(9)

    const dashboard = await open(created.id)
    expect(dashboard.widgets.map((widget) => widget.data?.error ?? null)).toEqual(Array(9).fill(null))

    expect(dataOf(dashboard, 'Customers')).toMatchObject({ rows: [[59, 50]], row_count: 1, truncated: false })

    const brazil = dataOf(dashboard, 'Brazil')
    expect(brazil.columns.map((column) => column.name)).toEqual(['first_name', 'last_name', 'city'])
    expect(brazil.rows).toHaveLength(5)
    expect(brazil.rows[0]).toEqual(['Luís', 'Gonçalves', 'São José dos Campos'])

    const bar = dataOf(dashboard, 'By country')
    expect(bar.rows).toHaveLength(24)
    expect(bar.rows[0]?.slice(0, 2)).toEqual(['USA', 91])
    expect(Number(bar.rows[0]![2])).toBeCloseTo(523.06, 2)

    const line = dataOf(dashboard, 'By year')
    expect(line.rows.map((row) => row[0])).toEqual([2021, 2022, 2023, 2024, 2025])
    expect(line.rows.reduce((sum, row) => sum + Number(row[1]), 0)).toBeCloseTo(2328.6, 2)

    const area = dataOf(dashboard, 'By year and media')
    expect(area.rows.reduce((sum, row) => sum + Number(row[2]), 0)).toBe(2240)
    expect(new Set(area.rows.map((row) => row[1]))).toContain('MPEG audio file')

    const pie = dataOf(dashboard, 'Tracks by genre')
    expect(pie).toMatchObject({ row_count: 25, truncated: false })
    expect(pie.rows[0]).toEqual(['Rock', 1297])

    const scatter = dataOf(dashboard, 'Albums')
    expect(scatter.rows).toHaveLength(347)
    expect(scatter.rows.reduce((sum, row) => sum + Number(row[1]), 0)).toBe(3503)

    // 3503 tracks: a table keeps 1000 and says there were more.
    expect(dataOf(dashboard, 'Tracks')).toMatchObject({ row_count: 1000, truncated: true })
    expect(dataOf(dashboard, 'Tracks').rows[0]).toEqual([1, 'For Those About To Rock (We Salute You)'])

    expect(dashboard.widgets.find((widget) => widget.type === 'text')).toMatchObject({
      data: null,
      config: { content: '## Sales\nFrom **Chinook**.' },
    })

    const listed = await app.request('GET', base(), { key: orgKey })
    expect(listed.body.data).toContainEqual(expect.objectContaining({ id: created.id, widget_count: 9 }))
  })

  it('keeps one broken widget from breaking the others', async () => {
    const archived = await saveQuery({ display_name: 'Soon archived', sql: 'select 1 as one' })
    const created = await createDashboard({
      name: 'Fragile',
      widgets: [
        { type: 'metric', title: 'Doomed', position, sql: 'select n from chinook.main.doomed', config: { value: 'n' } },
        { type: 'metric', title: 'Archived', position, query_id: archived, config: { value: 'one' } },
        {
          type: 'metric',
          title: 'Fine',
          position,
          sql: 'select count(*) as n from chinook.main.artist',
          config: { value: 'n' },
        },
      ],
    })
    expect(dataOf(await open(created.id), 'Doomed').rows).toEqual([[7]])
    sqlite.exec('drop table doomed')
    expect(
      (await app.request('DELETE', `${API}/projects/${projectId}/queries/${archived}`, { key: orgKey })).status,
    ).toBe(204)
    const refreshed = await app.request<Dashboard>('POST', `${base()}/${created.id}/refresh`, { key: orgKey })
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    expect(dataOf(refreshed.body, 'Doomed')).toMatchObject({ rows: [], error: { code: 'connection_error' } })
    expect(dataOf(refreshed.body, 'Archived')).toMatchObject({ rows: [], error: { code: 'not_found' } })
    expect(dataOf(refreshed.body, 'Fine')).toMatchObject({ rows: [[275]], error: null })
    // The errors are cached like results: opening again shows them without running anything.
    expect(dataOf(await open(created.id), 'Doomed').error?.code).toBe('connection_error')
  })

  it('serves cached results until a refresh, which sees changes at the source', async () => {
    const kpiSql = 'select name, amount from chinook.main.kpi order by name'
    const created = await createDashboard({
      name: 'Cached',
      widgets: [{ type: 'pie', title: 'KPI', position, sql: kpiSql, config: { label: 'name', value: 'amount' } }],
    })
    const widgetId = created.widgets[0]!.id
    const first = dataOf(await open(created.id), 'KPI')
    expect(first.rows).toEqual([
      ['a', 1],
      ['b', 2],
    ])
    sqlite.exec("insert into kpi values ('c', 3)")
    const again = dataOf(await open(created.id), 'KPI')
    expect(again).toEqual(first)
    const url = `${base()}/${created.id}/widgets/${widgetId}/data`
    const cached = await app.request<WidgetDataResponse>('GET', url, { key: orgKey })
    expect(cached.body).toEqual({ widget_id: widgetId, ...first })

    const fresh = await app.request<WidgetDataResponse>('GET', `${url}?refresh=true`, { key: orgKey })
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200)
    expect(fresh.body.rows).toHaveLength(3)
    expect(Date.parse(fresh.body.computed_at)).toBeGreaterThan(Date.parse(first.computed_at))
    expect(dataOf(await open(created.id), 'KPI')).toMatchObject({
      rows: fresh.body.rows,
      computed_at: fresh.body.computed_at,
    })

    // Another server's refresh (here: the stored row changed behind this process's LRU) is seen at once.
    await app.tributary.platform.db
      .updateTable('dashboard_widget_results')
      .set({
        result: JSON.stringify({ ...first, rows: [['z', 9]], computed_at: undefined }),
        computed_at: new Date(Date.parse(fresh.body.computed_at) + 1000),
      })
      .where('widget_id', '=', widgetId)
      .execute()
    expect(dataOf(await open(created.id), 'KPI').rows).toEqual([['z', 9]])

    // A changed definition does not read the old result; an unchanged widget keeps its own.
    const patched = await app.request<Dashboard>('PATCH', `${base()}/${created.id}`, {
      key: orgKey,
      body: {
        widgets: [
          {
            id: widgetId,
            type: 'pie',
            title: 'KPI',
            position,
            sql: kpiSql,
            config: { label: 'name', value: 'amount' },
          },
          {
            type: 'metric',
            title: 'Sum',
            position,
            sql: 'select sum(amount) as s from chinook.main.kpi',
            config: { value: 's' },
          },
        ],
      },
    })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    expect(patched.body.widgets[0]).toMatchObject({ id: widgetId, data: { rows: [['z', 9]] } })
    expect(patched.body.widgets[1]).toMatchObject({ data: null })
    expect(dataOf(await open(created.id), 'Sum').rows).toEqual([[6]])
  })

  it('recomputes on the dashboard’s schedule', async () => {
    const created = await createDashboard({
      name: 'Scheduled',
      refresh: { type: 'interval', every: 'PT1H' },
      widgets: [
        {
          type: 'metric',
          title: 'Ticks',
          position,
          sql: 'select count(*) as n from chinook.main.ticks',
          config: { value: 'n' },
        },
      ],
    })
    expect(created.next_refresh_at).not.toBeNull()
    const first = dataOf(await open(created.id), 'Ticks')
    expect(first.rows).toEqual([[1]])
    sqlite.exec('insert into ticks values (2)')
    // Not due yet: nothing runs.
    expect(await app.tributary.platform.scheduler.tick(new Date())).toBe(0)
    expect(await app.tributary.platform.scheduler.tick(new Date(Date.now() + 2 * 3_600_000))).toBe(1)
    const deadline = Date.now() + 30_000
    let data = first
    while (data.computed_at === first.computed_at) {
      if (Date.now() > deadline) throw new Error('the scheduled refresh did not run')
      await new Promise((resolve) => setTimeout(resolve, 50))
      data = dataOf(await open(created.id), 'Ticks')
    }
    expect(data.rows).toEqual([[2]])

    const removed = await app.request('DELETE', `${base()}/${created.id}`, { key: orgKey })
    expect(removed.status).toBe(204)
    expect((await app.request('GET', `${base()}/${created.id}`, { key: orgKey })).status).toBe(404)
  })

  it('turns a question into SQL once, when the dashboard is saved', async () => {
    const created = await createDashboard({
      name: 'Asked',
      widgets: [{ type: 'table', title: 'Customers', position, question: 'how many customers are there', config: {} }],
    })
    const widget = created.widgets[0]!
    expect(widget.question).toBe('how many customers are there')
    expect(widget.resolved_sql).toMatch(/count/i)
    expect(dataOf(await open(created.id), 'Customers')).toMatchObject({ rows: [[59]], error: null })

    const error = await refusal({ type: 'table', title: 'Q', question: 'what is the meaning of life', config: {} })
    expect(error.details.issues[0]?.field).toBe('widgets.1.question')
  })

  it('names the place of every refusal', async () => {
    const byCountry = await saveQuery({ display_name: 'Refusals', sql: SALES_BY_COUNTRY })
    const withParameter = await saveQuery({
      display_name: 'Needs a country',
      sql: 'select count(*) as n from chinook.main.customer where "Country" = {{country}}',
      parameters: [{ name: 'country', type: 'string', required: true }],
    })
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { type: 'bar', title: 'B', query_id: byCountry, config: { x: 'nation', y: ['total'] } },
        'widgets.1.config.x',
        "'nation'",
      ],
      [
        { type: 'bar', title: 'B', query_id: byCountry, config: { x: 'country', y: ['total', 'oops'] } },
        'widgets.1.config.y',
        "'oops'",
      ],
      [
        { type: 'bar', title: 'B', query_id: byCountry, config: { x: 'country', y: ['country'] } },
        'widgets.1.config.y',
        'numbers',
      ],
      [
        { type: 'pie', title: 'P', sql: SALES_BY_COUNTRY, config: { label: 'country', value: 'sales' } },
        'widgets.1.config.value',
        "'sales'",
      ],
      [
        { type: 'metric', title: 'M', sql: 'select 1 as a', config: { value: 'a', comparison: 'b' } },
        'widgets.1.config.comparison',
        "'b'",
      ],
      [
        { type: 'scatter', title: 'S', sql: 'select 1 as a', config: { x: 'a', y: 'a', series: 'c' } },
        'widgets.1.config.series',
        "'c'",
      ],
      [
        { type: 'table', title: 'T', sql: 'select 1 as a', config: { columns: ['a', 'z'] } },
        'widgets.1.config.columns',
        "'z'",
      ],
      [
        { type: 'table', title: 'T', sql: 'select 1 as a', config: { formats: { z: { type: 'percent' } } } },
        'widgets.1.config.formats.z',
        "'z'",
      ],
      [
        { type: 'table', title: 'T', sql: 'select * from chinook.main.nowhere', config: {} },
        'widgets.1.sql',
        'nowhere',
      ],
      [{ type: 'table', title: 'T', sql: 'selec 1', config: {} }, 'widgets.1.sql', 'syntax'],
      [
        { type: 'table', title: 'T', query_id: '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e', config: {} },
        'widgets.1.query_id',
        'not found',
      ],
      [{ type: 'table', title: 'T', query_id: withParameter, config: {} }, 'widgets.1.parameters.country', 'required'],
      [
        { type: 'table', title: 'T', query_id: withParameter, parameters: { country: 'X', city: 'Y' }, config: {} },
        'widgets.1.parameters.city',
        'not a parameter',
      ],
      [
        { type: 'table', title: 'T', sql: 'select 1', question: 'how many', config: {} },
        'widgets.1.question',
        'exactly one',
      ],
      [{ type: 'table', title: 'T', config: {} }, 'widgets.1.sql', 'exactly one'],
      [
        { type: 'table', title: 'T', sql: 'select 1', parameters: { a: 1 }, config: {} },
        'widgets.1.parameters',
        'query_id',
      ],
      [{ type: 'gauge', title: 'G', sql: 'select 1', config: {} }, 'widgets.1.type', ''],
      [{ type: 'bar', title: 'B', sql: 'select 1 as a', config: { x: 'a' } }, 'widgets.1.config.y', ''],
      [{ type: 'text', title: 'T', config: {} }, 'widgets.1.config.content', ''],
      [{ type: 'table', title: 'T', sql: 'drop table chinook.main.Invoice', config: {} }, 'widgets.1.sql', 'read-only'],
      [
        { type: 'table', title: 'T', sql: 'select 1; delete from chinook.main.Invoice', config: {} },
        'widgets.1.sql',
        'read-only',
      ],
      [
        { type: 'text', title: 'T', position: { x: -1, y: 0, w: 1, h: 1 }, config: { content: 'x' } },
        'widgets.1.position.x',
        '',
      ],
      [
        { type: 'text', title: 'T', position: { x: 0, y: 0, w: 1e308, h: 1 }, config: { content: 'x' } },
        'widgets.1.position.w',
        '',
      ],
      [
        { type: 'metric', title: 'M', sql: 'select 1 as a', config: { value: 'a', extra: { a: [{ b: [] }] } } },
        'widgets.1.config',
        'extra',
      ],
    ]
    for (const [widget, field, words] of cases) {
      const error = await refusal(widget)
      const issue = error.details.issues.find((found) => found.field === field)
      expect(issue, `${JSON.stringify(widget)} → ${JSON.stringify(error)}`).toBeDefined()
      expect(issue!.message.toLowerCase()).toContain(words)
    }
    const tooMany = await app.request('POST', base(), {
      key: orgKey,
      body: { name: 'Big', widgets: Array(51).fill({ type: 'text', title: 'T', position, config: { content: 'x' } }) },
    })
    expect(tooMany.status).toBe(422)
    expect(tooMany.body.error.details.issues[0].field).toBe('widgets')

    // A PATCH is checked the same way, and nothing is changed by a refusal.
    const created = await createDashboard({
      name: 'Kept',
      widgets: [{ type: 'metric', title: 'M', position, sql: 'select 1 as a', config: { value: 'a' } }],
    })
    const error = await refusal(
      { type: 'metric', title: 'M', sql: 'select 1 as a', config: { value: 'b' } },
      'PATCH',
      `${base()}/${created.id}`,
    )
    expect(error.details.issues[0]?.field).toBe('widgets.1.config.value')
    expect((await open(created.id)).widgets).toHaveLength(1)
  })

  it('lets keys with the dashboards scope in, others not; other organizations see nothing', async () => {
    const created = await createDashboard({
      name: 'Shared',
      widgets: [
        {
          type: 'metric',
          title: 'Genres',
          position,
          sql: 'select count(*) as n from chinook.main.genre',
          config: { value: 'n' },
        },
      ],
    })
    const reader = (await createProjectKey(app, orgKey, projectId, ['dashboards'])).key
    // Computed as the author: a reader that may not run SQL still sees the data.
    expect(dataOf(await open(created.id, reader), 'Genres').rows).toEqual([[25]])
    const renamed = await app.request('PATCH', `${base()}/${created.id}`, { key: reader, body: { name: 'Renamed' } })
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200)
    const queryOnly = (await createProjectKey(app, orgKey, projectId, ['query'])).key
    expect((await app.request('GET', `${base()}/${created.id}`, { key: queryOnly })).status).toBe(403)
    expect(
      (await app.request('PATCH', `${base()}/${created.id}`, { key: queryOnly, body: { name: 'x' } })).status,
    ).toBe(403)

    const other = await createOrganization(app, 'Elsewhere')
    const theirProject = (await createProject(app, other.orgKey, 'Theirs')).id
    expect((await app.request('GET', `${base()}/${created.id}`, { key: other.orgKey })).status).toBe(404)
    expect(
      (await app.request('GET', `${API}/projects/${theirProject}/dashboards/${created.id}`, { key: other.orgKey }))
        .status,
    ).toBe(404)
  })
})
