import path from 'node:path'

import type { AuditEntry, GoldenSql, GoldenSqlSearchHit, Page } from '@tributary/contract'
import { afterAll, beforeAll, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../../test/fixtures/chinook.js'
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
import { tablesNamed } from './tables-named.js'

/** Known-good pairs over Chinook (SQLite), as a team would curate them. */
const PAIRS = [
  {
    question: 'Which artists have the most albums?',
    sql:
      'select ar.Name, count(*) as albums from chinook.main.Album al join chinook.main.Artist ar ' +
      'on ar.ArtistId = al.ArtistId group by ar.Name order by albums desc',
    description: 'Album count per artist',
  },
  {
    question: 'How many customers are there in each country?',
    sql: 'select Country, count(*) as customers from chinook.main.Customer group by Country order by customers desc',
  },
  {
    question: 'What were the total sales per year?',
    sql: 'select year(InvoiceDate) as year, sum(Total) as total from chinook.main.Invoice group by 1 order by 1',
    description: 'Invoice totals by calendar year',
  },
  {
    question: 'Which tracks sold the most copies?',
    sql:
      'select t.Name, sum(il.Quantity) as sold from chinook.main.InvoiceLine il join chinook.main.Track t ' +
      'on t.TrackId = il.TrackId group by t.Name order by sold desc limit 10',
  },
  {
    question: 'Invoices of customers in a given country',
    sql: 'select * from chinook.main.Invoice where BillingCountry = {{country}} and Total >= {{min_total}}',
    parameters: [
      { name: 'country', type: 'VARCHAR', required: true, description: 'as spelled in the data, e.g. France' },
      { name: 'min_total', type: 'decimal', default: '0' },
    ],
  },
]

/** A person's rewording of a saved question, and the question it must find first. */
const PARAPHRASES: [string, string][] = [
  ['which bands released the most records', PAIRS[0]!.question],
  ['number of clients per nation', PAIRS[1]!.question],
  ['yearly revenue', PAIRS[2]!.question],
  ['top selling songs', PAIRS[3]!.question],
  ['purchases made in France', PAIRS[4]!.question],
]

describeEachStore('golden SQL', (kind) => {
  let sources: ChinookSources
  let app: TestApp
  let orgKey: string
  let projectId: string
  const saved: GoldenSql[] = []
  const base = () => `${API}/projects/${projectId}/golden-sql`

  beforeAll(async () => {
    sources = await loadChinook([])
    app = await startTestApp(kind, { env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath) } })
    orgKey = (await createOrganization(app, 'Golden')).orgKey
    projectId = (await createProject(app, orgKey, 'Golden SQL')).id
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
    for (const pair of PAIRS) {
      const created = await app.request<GoldenSql>('POST', base(), { key: orgKey, body: pair })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      saved.push(created.body)
    }
  })
  afterAll(async () => {
    await app?.close()
    await sources?.cleanup()
  })

  const search = (q: string, key = orgKey, limit?: number) =>
    app.request<{ data: GoldenSqlSearchHit[] }>(
      'GET',
      `${base()}/search?q=${encodeURIComponent(q)}${limit ? `&limit=${limit}` : ''}`,
      { key },
    )

  it('saves a pair with the tables its SQL names and its parameters as saved queries declare them', async () => {
    expect(saved[0]).toMatchObject({
      project_id: projectId,
      question: PAIRS[0]!.question,
      sql: PAIRS[0]!.sql,
      description: 'Album count per artist',
      parameters: [],
      tables: ['chinook.main.Album', 'chinook.main.Artist'],
    })
    expect(saved[1]!.description).toBeNull()
    expect(saved[4]!.parameters).toEqual([
      { name: 'country', type: 'string', required: true, description: 'as spelled in the data, e.g. France' },
      { name: 'min_total', type: 'decimal', required: false, default: '0' },
    ])
    const read = await app.request('GET', `${base()}/${saved[0]!.id}`, { key: orgKey })
    expect(read.status).toBe(200)
    expect(read.body).toEqual(saved[0])
  })

  it('lists by cursor', async () => {
    const first = await app.request<Page<GoldenSql>>('GET', `${base()}?limit=2`, { key: orgKey })
    expect(first.status).toBe(200)
    expect(first.body.data.map((pair) => pair.id)).toEqual([saved[0]!.id, saved[1]!.id])
    const rest = await app.request<Page<GoldenSql>>('GET', `${base()}?limit=10&cursor=${first.body.next_cursor}`, {
      key: orgKey,
    })
    expect(rest.body.data.map((pair) => pair.id)).toEqual(saved.slice(2).map((pair) => pair.id))
    expect(rest.body.next_cursor).toBeNull()
  })

  it.each(PARAPHRASES)('"%s" finds "%s" first', async (paraphrase, question) => {
    const found = await search(paraphrase)
    expect(found.status, JSON.stringify(found.body)).toBe(200)
    const questions = found.body.data.map((hit) => hit.golden_sql.question)
    expect(questions[0], `answers: ${questions.join(' | ')}`).toBe(question)
    expect(found.body.data[0]!.score).toBeGreaterThan(0)
  })

  it('says what matched, and how much of the question', async () => {
    const found = await search('which bands released the most records', orgKey, 1)
    expect(found.body.data).toHaveLength(1)
    const [hit] = found.body.data
    expect(hit!.coverage).toBe(1)
    expect(hit!.matches).toEqual(
      expect.arrayContaining([
        { field: 'question', matched: expect.arrayContaining(['artists', 'albums']), query: expect.any(Array) },
        { field: 'tables', matched: ['chinook.main.Album', 'chinook.main.Artist'], query: expect.any(Array) },
      ]),
    )
  })

  it('refuses SQL that does not parse or names what does not exist, with the engine’s message', async () => {
    const cases: [string, RegExp][] = [
      ['selec Name from chinook.main.Artist', /syntax error/i],
      ['select * from chinook.main.Nowhere', /Nowhere/],
      ['select * from nocatalog.main.Artist', /nocatalog/],
      ['select NoSuchColumn from chinook.main.Artist', /NoSuchColumn/],
      ['delete from chinook.main.Artist', /read-only|only one/i],
    ]
    for (const [sql, message] of cases) {
      const refused = await app.request('POST', base(), { key: orgKey, body: { question: 'broken', sql } })
      expect(refused.status, `${sql}: ${JSON.stringify(refused.body)}`).toBe(422)
      expect(refused.body.error.code).toBe('validation_error')
      expect(refused.body.error.message).toMatch(/^sql: /)
      expect(refused.body.error.message).toMatch(message)
      expect(refused.body.error.details.issues[0]).toMatchObject({ location: 'body', field: 'sql' })
    }
    const listed = await app.request<Page<GoldenSql>>('GET', `${base()}?limit=200`, { key: orgKey })
    expect(listed.body.data).toHaveLength(PAIRS.length)
  })

  it('checks parameters as saved queries do', async () => {
    const undeclared = await app.request('POST', base(), {
      key: orgKey,
      body: { question: 'by country', sql: 'select * from chinook.main.Customer where Country = {{country}}' },
    })
    expect(undeclared.status).toBe(422)
    expect(undeclared.body.error.details.issues).toEqual([
      { location: 'body', field: 'sql', message: `uses {{country}} but "parameters" declares no 'country'` },
    ])
    const badDefault = await app.request('POST', base(), {
      key: orgKey,
      body: {
        question: 'after a date',
        sql: 'select * from chinook.main.Invoice where InvoiceDate >= {{since}}',
        parameters: [{ name: 'since', type: 'date', default: 'yesterday' }],
      },
    })
    expect(badDefault.status).toBe(422)
    expect(badDefault.body.error.details.issues[0]).toMatchObject({ field: 'parameters.0.default' })
    // A parameter's type reaches the planner: a date compared with a date plans.
    const typed = await app.request('POST', base(), {
      key: orgKey,
      body: {
        question: 'invoices since a date',
        sql: 'select * from chinook.main.Invoice where cast(InvoiceDate as date) >= {{since}}',
        parameters: [{ name: 'since', type: 'date', required: true }],
      },
    })
    expect(typed.status, JSON.stringify(typed.body)).toBe(201)
    await app.request('DELETE', `${base()}/${typed.body.id}`, { key: orgKey })
  })

  it('updates what the body names, checks changed SQL, then deletes; search follows every change', async () => {
    const pair = await app.request<GoldenSql>('POST', base(), {
      key: orgKey,
      body: {
        question: 'Longest songs',
        sql: 'select Name from chinook.main.Track order by Milliseconds desc limit 5',
      },
    })
    expect(pair.status).toBe(201)
    const url = `${base()}/${pair.body.id}`
    expect((await search('longest songs')).body.data[0]?.golden_sql.id).toBe(pair.body.id)

    const broken = await app.request('PUT', url, { key: orgKey, body: { sql: 'select * from chinook.main.Nope' } })
    expect(broken.status).toBe(422)
    expect((await app.request('GET', url, { key: orgKey })).body.sql).toBe(pair.body.sql)

    const changed = await app.request<GoldenSql>('PUT', url, {
      key: orgKey,
      body: { question: 'Shortest playlists', sql: 'select Name from chinook.main.Playlist limit 5' },
    })
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    expect(changed.body).toMatchObject({
      question: 'Shortest playlists',
      tables: ['chinook.main.Playlist'],
      description: null,
    })
    const described = await app.request<GoldenSql>('PUT', url, { key: orgKey, body: { description: 'tiny ones' } })
    expect(described.body).toMatchObject({ question: 'Shortest playlists', description: 'tiny ones' })
    expect((await search('longest songs')).body.data.map((hit) => hit.golden_sql.id)).not.toContain(pair.body.id)
    expect((await search('short playlists')).body.data[0]?.golden_sql.id).toBe(pair.body.id)

    expect((await app.request('DELETE', url, { key: orgKey })).status).toBe(204)
    expect((await app.request('GET', url, { key: orgKey })).status).toBe(404)
    expect((await app.request('DELETE', url, { key: orgKey })).status).toBe(404)
    expect((await search('short playlists')).body.data.map((hit) => hit.golden_sql.id)).not.toContain(pair.body.id)

    const audit = await app.request<Page<AuditEntry>>('GET', `${API}/audit-log?resource_id=${pair.body.id}`, {
      key: orgKey,
    })
    expect(audit.body.data.map((entry) => entry.action).sort()).toEqual([
      'golden_sql.create',
      'golden_sql.delete',
      'golden_sql.update',
      'golden_sql.update',
    ])
  })

  it('lets readers read and search, and only metadata writers write', async () => {
    const viewer = await createUserSession(app, orgKey, 'viewer')
    const editor = await createUserSession(app, orgKey, 'editor')
    const queryKey = await createProjectKey(app, orgKey, projectId, ['query'])
    const metadataKey = await createProjectKey(app, orgKey, projectId, ['metadata'])
    const body = { question: 'Genres', sql: 'select Name from chinook.main.Genre' }
    for (const key of [viewer.token, queryKey.key]) {
      expect((await app.request('GET', base(), { key })).status).toBe(200)
      expect((await search('albums per artist', key)).status).toBe(200)
      expect((await app.request('POST', base(), { key, body })).status).toBe(403)
      expect((await app.request('PUT', `${base()}/${saved[0]!.id}`, { key, body })).status).toBe(403)
      expect((await app.request('DELETE', `${base()}/${saved[0]!.id}`, { key })).status).toBe(403)
    }
    for (const key of [editor.token, metadataKey.key]) {
      const created = await app.request<GoldenSql>('POST', base(), { key, body })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      expect((await app.request('DELETE', `${base()}/${created.body.id}`, { key })).status).toBe(204)
    }
  })

  it('keeps each project’s pairs to itself', async () => {
    const other = await createProject(app, orgKey, 'Other project')
    const otherBase = `${API}/projects/${other.id}/golden-sql`
    const found = await app.request('GET', `${otherBase}/search?q=${encodeURIComponent(PAIRS[0]!.question)}`, {
      key: orgKey,
    })
    expect(found.status).toBe(200)
    expect(found.body.data).toEqual([])
    expect((await app.request('GET', `${otherBase}/${saved[0]!.id}`, { key: orgKey })).status).toBe(404)
    // The other project has no `chinook` catalog: the same SQL does not plan there.
    const refused = await app.request('POST', otherBase, { key: orgKey, body: PAIRS[0] })
    expect(refused.status).toBe(422)
    expect(refused.body.error.message).toMatch(/chinook/)
  })
})

it('tablesNamed reads FROM and JOIN lists, leaving out CTEs, functions and FROM inside calls', () => {
  expect(
    tablesNamed(
      'with top as (select * from sqlite.main.Track) ' +
        'select extract(year from InvoiceDate), trim(both from x) from top, Album a ' +
        'join pg.public."Invoice Line" il on true left join range(3) r on true ' +
        'where x in (select y from "Genre") and exists (select 1 from ALBUM)',
    ),
  ).toEqual(['sqlite.main.Track', 'Album', 'pg.public.Invoice Line', 'Genre'])
})
