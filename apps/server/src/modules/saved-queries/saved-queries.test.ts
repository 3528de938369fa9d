import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'
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

const INJECTION = "'; DROP TABLE x; --"

describeEachStore('saved queries', (kind) => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-saved-queries-'))
  let app: TestApp
  let orgKey: string
  let projectId: string
  const base = () => `${API}/projects/${projectId}`

  beforeAll(async () => {
    const sqlite = new Database(path.join(root, 'shop.sqlite'))
    sqlite.exec(
      "create table x (id integer primary key, name text); insert into x (name) values ('a'), ('b'), ('c'), ('''; DROP TABLE x; --')",
    )
    sqlite.close()
    app = await startTestApp(kind, { env: { TRIBUTARY_FILE_ROOTS: root, TRIBUTARY_JOB_POLL_INTERVAL_MS: '100' } })
    orgKey = (await createOrganization(app, 'Saved')).orgKey
    projectId = (await createProject(app, orgKey, 'Saved queries')).id
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

  const create = (body: unknown, key = orgKey) => app.request('POST', `${base()}/queries`, { key, body })
  const run = (queryId: string, body: unknown, key = orgKey) =>
    app.request('POST', `${base()}/queries/${queryId}/run`, { key, body })

  async function finished(jobId: string, key = orgKey) {
    for (let i = 0; i < 300; i += 1) {
      const job = await app.request('GET', `${base()}/query-jobs/${jobId}`, { key })
      if (['succeeded', 'failed', 'cancelled'].includes(job.body.status)) return job.body
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`job ${jobId} did not finish`)
  }

  it('creates, reads, lists by cursor, updates and archives', async () => {
    const created = await create({
      display_name: 'By name',
      description: 'rows whose name matches',
      sql: 'select id, name from shop.main.x where name = {{name}} and id >= {{ min_id }}',
      parameters: [
        { name: 'name', type: 'string', required: true },
        { name: 'min_id', type: 'integer', default: 0 },
      ],
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({
      display_name: 'By name',
      description: 'rows whose name matches',
      project_id: projectId,
      parameters: [
        { name: 'name', type: 'string', required: true },
        { name: 'min_id', type: 'integer', required: false, default: 0 },
      ],
    })
    const id = created.body.id as string
    expect((await app.request('GET', `${base()}/queries/${id}`, { key: orgKey })).body).toEqual(created.body)

    const second = await create({ display_name: 'All', sql: 'select * from shop.main.x' })
    expect(second.status).toBe(201)
    expect(second.body).toMatchObject({ parameters: [], description: null })
    const first = await app.request('GET', `${base()}/queries?limit=1`, { key: orgKey })
    expect(first.body.data.map((query: { id: string }) => query.id)).toEqual([id])
    const next = await app.request('GET', `${base()}/queries?limit=1&cursor=${first.body.next_cursor}`, {
      key: orgKey,
    })
    expect(next.body.data.map((query: { id: string }) => query.id)).toEqual([second.body.id])

    const renamed = await app.request('PATCH', `${base()}/queries/${id}`, {
      key: orgKey,
      body: { display_name: 'Renamed', description: null },
    })
    expect(renamed.status).toBe(200)
    expect(renamed.body).toMatchObject({ display_name: 'Renamed', description: null, sql: created.body.sql })

    // SQL and parameters change together: dropping {{min_id}} from the SQL alone would leave it unused.
    const unused = await app.request('PATCH', `${base()}/queries/${id}`, {
      key: orgKey,
      body: { sql: 'select * from shop.main.x where name = {{name}}' },
    })
    expect(unused.status).toBe(422)
    expect(unused.body.error.details.issues).toEqual([
      { location: 'body', field: 'parameters.1.name', message: expect.stringContaining("'min_id'") },
    ])

    expect((await app.request('DELETE', `${base()}/queries/${second.body.id}`, { key: orgKey })).status).toBe(204)
    expect((await app.request('GET', `${base()}/queries/${second.body.id}`, { key: orgKey })).status).toBe(404)
    const listed = await app.request('GET', `${base()}/queries`, { key: orgKey })
    expect(listed.body.data.map((query: { id: string }) => query.id)).not.toContain(second.body.id)
    expect((await run(second.body.id, {})).status).toBe(404)
  })

  it('refuses definitions whose parameters and SQL disagree, or defaults of the wrong type', async () => {
    const cases: [unknown, string, string][] = [
      [{ display_name: 'q', sql: 'select {{a}}' }, 'sql', '{{a}}'],
      [{ display_name: 'q', sql: 'select 1', parameters: [{ name: 'a', type: 'string' }] }, 'parameters.0.name', "'a'"],
      [
        { display_name: 'q', sql: 'select {{a}}', parameters: [{ name: 'a', type: 'integer', default: 'ten' }] },
        'parameters.0.default',
        'integer',
      ],
      [
        { display_name: 'q', sql: 'select {{a}}', parameters: [{ name: 'a', type: 'date', default: '2026-02-30' }] },
        'parameters.0.default',
        'date',
      ],
      [
        {
          display_name: 'q',
          sql: 'select {{a}}',
          parameters: [{ name: 'a', type: 'string', required: true, default: 'x' }],
        },
        'parameters.0.default',
        'required',
      ],
      [
        {
          display_name: 'q',
          sql: 'select {{a}}',
          parameters: [
            { name: 'a', type: 'string' },
            { name: 'a', type: 'integer' },
          ],
        },
        'parameters.1.name',
        'twice',
      ],
      [
        { display_name: 'q', sql: 'select 1', parameters: [{ name: 'a-b', type: 'string' }] },
        'parameters.0.name',
        'identifier',
      ],
      [{ display_name: 'q', sql: 'select {{a}}', parameters: [{ name: 'a', type: 'money' }] }, 'parameters.0.type', ''],
    ]
    for (const [body, field, words] of cases) {
      const response = await create(body)
      expect(response.status, JSON.stringify(body)).toBe(422)
      expect(response.body.error.code).toBe('validation_error')
      const issue = response.body.error.details.issues.find((found: { field: string }) => found.field === field)
      expect(issue, JSON.stringify(response.body)).toBeDefined()
      expect(issue.message).toContain(words)
    }
    // Placeholders inside strings and comments are text, not parameters.
    const literal = await create({ display_name: 'q', sql: "select '{{a}}' as t -- {{b}}" })
    expect(literal.status, JSON.stringify(literal.body)).toBe(201)
  })

  it('runs with typed values and defaults; a missing, unknown or wrongly typed value is a 422 naming it', async () => {
    const created = await create({
      display_name: 'Typed',
      sql:
        'select {{s}} as s, {{i}} as i, {{n}} as n, {{b}} as b, {{d}} as d, {{t}} as t, {{m}} as m, ' +
        '{{opt}} as opt, {{dflt}} as dflt',
      parameters: [
        { name: 's', type: 'string', required: true },
        { name: 'i', type: 'integer', required: true },
        { name: 'n', type: 'number', required: true },
        { name: 'b', type: 'boolean', required: true },
        { name: 'd', type: 'date', required: true },
        { name: 't', type: 'timestamp', required: true },
        { name: 'm', type: 'decimal', required: true },
        { name: 'opt', type: 'string' },
        { name: 'dflt', type: 'integer', default: 42 },
      ],
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id = created.body.id as string
    const good = {
      s: 'hé',
      i: '9007199254740993',
      n: 1.5,
      b: true,
      d: '2026-02-28',
      t: '2026-02-28T23:30:00+02:00',
      m: '12345678901234567890.0123456789',
    }

    const accepted = await run(id, { parameters: good })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
    expect(accepted.body.job_id).toBe(accepted.body.id)
    expect(accepted.body.query_id).toBe(id)
    const job = await finished(accepted.body.job_id)
    expect(job.status, JSON.stringify(job)).toBe('succeeded')
    const page = await app.request('GET', `${base()}/query-jobs/${job.id}/results`, { key: orgKey })
    expect(page.body.columns.map((column: { type: string }) => column.type)).toEqual([
      'VARCHAR',
      'BIGINT',
      'DOUBLE',
      'BOOLEAN',
      'DATE',
      'TIMESTAMP WITH TIME ZONE',
      'DECIMAL(38,10)',
      'VARCHAR',
      'BIGINT',
    ])
    expect(page.body.rows).toEqual([
      [
        'hé',
        '9007199254740993',
        1.5,
        true,
        '2026-02-28',
        expect.stringMatching(/^2026-02-28T21:30:00(\.000)?(Z|\+00:00)$/),
        '12345678901234567890.0123456789',
        null,
        42,
      ],
    ])

    const refusals: [Record<string, unknown>, string, string][] = [
      [{ ...good, s: undefined }, 'parameters.s', 'required'],
      [{ ...good, i: 1.5 }, 'parameters.i', 'integer'],
      [{ ...good, i: '99999999999999999999' }, 'parameters.i', '64-bit'],
      [{ ...good, n: '1.5' }, 'parameters.n', 'number'],
      [{ ...good, b: 'true' }, 'parameters.b', 'true or false'],
      [{ ...good, d: '28/02/2026' }, 'parameters.d', 'YYYY-MM-DD'],
      [{ ...good, t: 'yesterday' }, 'parameters.t', 'ISO 8601'],
      [{ ...good, m: '1e5' }, 'parameters.m', 'decimal'],
      [{ ...good, s: null }, 'parameters.s', 'required'],
      [{ ...good, extra: 1 }, 'parameters.extra', 'not a parameter'],
    ]
    for (const [parameters, field, words] of refusals) {
      const response = await run(id, { parameters: JSON.parse(JSON.stringify(parameters)) })
      expect(response.status, JSON.stringify(parameters)).toBe(422)
      expect(response.body.error.code).toBe('validation_error')
      expect(response.body.error.message).toContain(field)
      expect(response.body.error.details.issues).toEqual([
        { location: 'body', field, message: expect.stringContaining(words) },
      ])
    }
    // Objects and arrays are not values of any type.
    const nested = await run(id, { parameters: { ...good, s: { a: 1 } } })
    expect(nested.status).toBe(422)

    // The same resolution serves POST /query-jobs {query_id, parameters}.
    const viaJobs = await app.request('POST', `${base()}/query-jobs`, {
      key: orgKey,
      body: { query_id: id, parameters: { ...good, i: 'x' } },
    })
    expect(viaJobs.status).toBe(422)
    expect(viaJobs.body.error.details.issues[0].field).toBe('parameters.i')
  })

  it('accepts the SQL type names people write, in any case, and answers with the type each maps to', async () => {
    const written: [string, string][] = [
      ['VARCHAR', 'string'],
      ['text', 'string'],
      ['Character Varying(20)', 'string'],
      ['BIGINT', 'integer'],
      ['int', 'integer'],
      ['INTEGER', 'integer'],
      ['DOUBLE', 'number'],
      ['float', 'number'],
      ['double  precision', 'number'],
      ['DECIMAL(10, 2)', 'decimal'],
      ['numeric', 'decimal'],
      ['BOOLEAN', 'boolean'],
      ['date', 'date'],
      ['TIMESTAMP', 'timestamp'],
      ['timestamp with time zone', 'timestamp'],
      ['Integer', 'integer'],
    ]
    const names = written.map((_, i) => `p${i}`)
    const created = await create({
      display_name: 'SQL type names',
      sql: `select ${names.map((name) => `{{${name}}} as ${name}`).join(', ')}`,
      parameters: written.map(([type], i) => ({ name: names[i], type, required: true })),
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.parameters.map((parameter: { type: string }) => parameter.type)).toEqual(
      written.map(([, type]) => type),
    )
    const shown = await app.request('GET', `${base()}/queries/${created.body.id}`, { key: orgKey })
    expect(shown.body.parameters).toEqual(created.body.parameters)

    const values: Record<string, unknown> = {
      string: 'x',
      integer: '9007199254740993',
      number: 0.5,
      decimal: '12.34',
      boolean: false,
      date: '2026-03-01',
      timestamp: '2026-03-01T00:00:00Z',
    }
    const accepted = await run(created.body.id, {
      parameters: Object.fromEntries(written.map(([, type], i) => [names[i], values[type]])),
    })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
    const job = await finished(accepted.body.job_id)
    expect(job.status, JSON.stringify(job)).toBe('succeeded')
    const page = await app.request('GET', `${base()}/query-jobs/${job.id}/results`, { key: orgKey })
    const DUCKDB_TYPES: Record<string, string> = {
      string: 'VARCHAR',
      integer: 'BIGINT',
      number: 'DOUBLE',
      decimal: 'DECIMAL(38,10)',
      boolean: 'BOOLEAN',
      date: 'DATE',
      timestamp: 'TIMESTAMP WITH TIME ZONE',
    }
    expect(page.body.columns.map((column: { type: string }) => column.type)).toEqual(
      written.map(([, type]) => DUCKDB_TYPES[type]),
    )

    // A value is checked against the type the name maps to; what maps to none is refused, naming the choices.
    const cases: [unknown, string, string][] = [
      [[{ name: 'a', type: 'BIGINT', default: 'ten' }], 'parameters.0.default', 'integer'],
      [[{ name: 'a', type: 'UUID' }], 'parameters.0.type', "'UUID' is not a parameter type"],
      [[{ name: 'a', type: 'HUGEINT' }], 'parameters.0.type', 'VARCHAR'],
      [[{ name: 'a', type: 'VARCHAR(abc)' }], 'parameters.0.type', 'string, integer'],
      [[{ name: 'a', type: '' }], 'parameters.0.type', 'not a parameter type'],
    ]
    for (const [parameters, field, words] of cases) {
      const response = await create({ display_name: 'q', sql: 'select {{a}}', parameters })
      expect(response.status, JSON.stringify(parameters)).toBe(422)
      const issue = response.body.error.details.issues.find((found: { field: string }) => found.field === field)
      expect(issue, JSON.stringify(response.body)).toBeDefined()
      expect(issue.message).toContain(words)
    }

    // A change takes the same names.
    const changed = await app.request('PATCH', `${base()}/queries/${created.body.id}`, {
      key: orgKey,
      body: { sql: 'select {{a}} as a', parameters: [{ name: 'a', type: 'Timestamptz' }] },
    })
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    expect(changed.body.parameters).toEqual([{ name: 'a', type: 'timestamp', required: false }])
  })

  it('binds a value as a value: an injection attempt is just a string', async () => {
    const created = await create({
      display_name: 'Lookup',
      sql: 'select {{v}} as v, (select count(*) from shop.main.x where name = {{v}}) as matches',
      parameters: [{ name: 'v', type: 'string', required: true }],
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    for (const value of [INJECTION, "x' OR '1'='1", '{{v}}', '$1']) {
      const accepted = await run(created.body.id, { parameters: { v: value } })
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
      const job = await finished(accepted.body.job_id)
      expect(job.status, JSON.stringify(job)).toBe('succeeded')
      const page = await app.request('GET', `${base()}/query-jobs/${job.id}/results`, { key: orgKey })
      expect(page.body.rows).toEqual([[value, value === INJECTION ? 1 : 0]])
    }
    // Nothing was dropped: the source table is whole.
    const sqlite = new Database(path.join(root, 'shop.sqlite'), { readonly: true })
    expect(sqlite.prepare('select count(*) as n from x').get()).toEqual({ n: 4 })
    sqlite.close()
  })

  it('lets viewers and query-scoped keys run, but only editors and query-scoped keys change queries', async () => {
    const created = await create({ display_name: 'Plain', sql: 'select 1 as one' })
    const id = created.body.id as string
    const viewer = (await createUserSession(app, orgKey, 'viewer')).token
    const editor = (await createUserSession(app, orgKey, 'editor')).token
    const queryKey = (await createProjectKey(app, orgKey, projectId, ['query'])).key
    const askKey = (await createProjectKey(app, orgKey, projectId, ['ask'])).key

    expect((await app.request('GET', `${base()}/queries/${id}`, { key: viewer })).status).toBe(200)
    expect((await create({ display_name: 'v', sql: 'select 1' }, viewer)).status).toBe(403)
    expect(
      (await app.request('PATCH', `${base()}/queries/${id}`, { key: viewer, body: { display_name: 'x' } })).status,
    ).toBe(403)
    expect((await app.request('DELETE', `${base()}/queries/${id}`, { key: viewer })).status).toBe(403)
    expect((await run(id, {}, viewer)).status).toBe(202)

    expect((await create({ display_name: 'e', sql: 'select 1' }, editor)).status).toBe(201)
    expect((await create({ display_name: 'k', sql: 'select 1' }, queryKey)).status).toBe(201)
    expect((await run(id, {}, queryKey)).status).toBe(202)
    expect((await app.request('GET', `${base()}/queries/${id}`, { key: askKey })).status).toBe(200)
    expect((await create({ display_name: 'a', sql: 'select 1' }, askKey)).status).toBe(403)
    expect((await run(id, {}, askKey)).status).toBe(403)
    // A run without a body takes no values.
    const bare = await app.request('POST', `${base()}/queries/${id}/run`, { key: orgKey })
    expect(bare.status, JSON.stringify(bare.body)).toBe(202)
  })

  it('keeps tenants apart', async () => {
    const created = await create({ display_name: 'Mine', sql: 'select 1 as one' })
    const id = created.body.id as string
    const other = await createOrganization(app, 'Other')
    const otherProject = (await createProject(app, other.orgKey, 'Theirs')).id
    const otherProjectKey = (await createProjectKey(app, orgKey, (await createProject(app, orgKey, 'Second')).id)).key
    for (const [method, url, key] of [
      ['GET', `${base()}/queries/${id}`, other.orgKey],
      ['GET', `${API}/projects/${otherProject}/queries/${id}`, other.orgKey],
      ['PATCH', `${API}/projects/${otherProject}/queries/${id}`, other.orgKey],
      ['DELETE', `${API}/projects/${otherProject}/queries/${id}`, other.orgKey],
      ['POST', `${API}/projects/${otherProject}/queries/${id}/run`, other.orgKey],
      ['GET', `${base()}/queries/${id}`, otherProjectKey],
      ['GET', `${base()}/queries`, other.orgKey],
    ] as const) {
      const response = await app.request(method, url, {
        key,
        ...(method === 'PATCH' ? { body: { display_name: 'x' } } : method === 'POST' ? { body: {} } : {}),
      })
      expect(response.status, `${method} ${url}`).toBe(404)
    }
    const theirs = await app.request('GET', `${API}/projects/${otherProject}/queries`, { key: other.orgKey })
    expect(theirs.body.data).toEqual([])
  })
})
