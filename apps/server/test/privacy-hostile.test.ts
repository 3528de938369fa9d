import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { MockLanguageModelV4 } from 'ai/test'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { fixedLanguageModels } from '../src/modules/ai/language-models.js'
import {
  API,
  createOrganization,
  createProject,
  createUserSession,
  listen,
  startTestApp,
  type Listening,
  type TestApp,
} from './harness.js'

/**
 * Hostile queries against a column mask and a row filter, through every door: each one tries to read
 * a masked value or a withheld row, and each answer is checked to hold none of them.
 *
 * Customer.Email is redacted and Customer.Phone nullified for everyone but admins; a row policy keeps
 * a viewer (and any API key) to the customers of their own `country` attribute.
 */

const CHINOOK_SQLITE = path.resolve(import.meta.dirname, 'fixtures/chinook/Chinook_Sqlite.sqlite')
const CUSTOMER = 'chinook.main.Customer'

interface Customer {
  id: number
  lastName: string
  email: string
  phone: string | null
  country: string
}

const AI_ENV = { TRIBUTARY_AI_PROVIDER: 'openai', TRIBUTARY_AI_MODEL: 'gpt-test', TRIBUTARY_AI_API_KEY: 'sk-test' }

/** A mock model that answers every question with the next SQL of its script. */
function scriptedModel() {
  const script: string[] = []
  const prompts: string[] = []
  const model = new MockLanguageModelV4({
    provider: 'openai.chat',
    modelId: 'gpt-test',
    doGenerate: async (options) => {
      prompts.push(JSON.stringify(options.prompt))
      const sql = script.shift() ?? 'select 1'
      return {
        content: [{ type: 'text', text: `\`\`\`sql\n${sql}\n\`\`\`` }],
        finishReason: { unified: 'stop', raw: undefined },
        usage: {
          inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: 10, text: 10, reasoning: undefined },
        },
        warnings: [],
      }
    },
  })
  return { model, script, prompts }
}

describe('privacy policies against hostile queries', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-hostile-'))
  const scripted = scriptedModel()
  let app: TestApp
  let server: Listening
  let orgKey: string
  let projectId: string
  let admin: string
  let viewer: string
  let embedKey: string
  let customers: Customer[]
  /** What the viewer (country Brazil) may see of Customer. */
  let visible: Customer[]

  const sqlAs = (key: string, sql: string) =>
    app.request('POST', `${API}/projects/${projectId}/sql`, { key, body: { sql, limit: 10_000 } })

  /** Fails when the answer holds a masked value or anything of a withheld customer. */
  function expectNoLeak(answer: unknown, label: string) {
    const text = JSON.stringify(answer)
    for (const customer of customers) {
      expect(text, `${label}: leaks ${customer.email}`).not.toContain(customer.email)
      if (customer.phone) expect(text, `${label}: leaks ${customer.phone}`).not.toContain(customer.phone)
    }
    const visibleNames = new Set(visible.map((customer) => customer.lastName))
    for (const customer of customers) {
      if (customer.country === 'Brazil' || visibleNames.has(customer.lastName)) continue
      expect(text, `${label}: shows withheld customer ${customer.lastName}`).not.toContain(`"${customer.lastName}"`)
    }
  }

  beforeAll(async () => {
    copyFileSync(CHINOOK_SQLITE, path.join(root, 'chinook.sqlite'))
    app = await startTestApp('pglite', {
      env: { TRIBUTARY_FILE_ROOTS: root, TRIBUTARY_JOB_POLL_INTERVAL_MS: '100', ...AI_ENV },
      languageModels: fixedLanguageModels(scripted.model),
    })
    server = await listen(app)
    orgKey = (await createOrganization(app, 'Hostile')).orgKey
    projectId = (await createProject(app, orgKey, 'Hostile')).id
    const post = async (url: string, body: unknown) => {
      const response = await app.request('POST', url, { key: orgKey, body })
      expect(response.status, JSON.stringify(response.body)).toBe(201)
      return response.body
    }
    await post(`${API}/projects/${projectId}/connections`, {
      name: 'chinook',
      type: 'sqlite',
      config: { path: 'chinook.sqlite' },
    })
    admin = (await createUserSession(app, orgKey, 'admin')).token
    const viewerSession = await createUserSession(app, orgKey, 'viewer')
    viewer = viewerSession.token
    const attributes = await app.request('PATCH', `${API}/users/${viewerSession.user.id}`, {
      key: orgKey,
      body: { attributes: { country: 'Brazil' } },
    })
    expect(attributes.status, JSON.stringify(attributes.body)).toBe(200)
    embedKey = (
      await post(`${API}/projects/${projectId}/api-keys`, {
        name: 'embedded for a Canadian customer',
        scopes: ['query', 'ask', 'dashboards'],
        attributes: { country: 'Canada' },
      })
    ).key as string

    const table = { catalog: 'chinook', schema: 'main', table: 'Customer' }
    await post(`${API}/projects/${projectId}/privacy-policies`, {
      ...table,
      column: 'Email',
      mask: 'redact',
      except_roles: ['admin'],
    })
    await post(`${API}/projects/${projectId}/privacy-policies`, {
      ...table,
      column: 'Phone',
      mask: 'nullify',
      except_roles: ['admin'],
    })
    await post(`${API}/projects/${projectId}/row-policies`, {
      ...table,
      filter: "Country = current_user_props('country')",
      applies_to_roles: ['viewer', 'editor', 'api_key'],
    })

    const truth = await sqlAs(admin, `SELECT CustomerId, LastName, Email, Phone, Country FROM ${CUSTOMER}`)
    expect(truth.status, JSON.stringify(truth.body)).toBe(200)
    customers = (truth.body.rows as [number, string, string, string | null, string][]).map(
      ([id, lastName, email, phone, country]) => ({ id, lastName, email, phone, country }),
    )
    visible = customers.filter((customer) => customer.country === 'Brazil')
    expect(customers).toHaveLength(59)
    expect(visible).toHaveLength(5)
  }, 60_000)

  afterAll(async () => {
    await server?.close()
    await app?.close()
    rmSync(root, { recursive: true, force: true })
  })

  const brazil = () => visible.length
  const brazilIds = () => visible.map((customer) => customer.id).sort((a, b) => a - b)

  /** [label, SQL, what the rows must be (beyond leaking nothing)]. */
  const probes: [string, string, ((rows: unknown[][]) => void)?][] = [
    ['SELECT *', `SELECT * FROM ${CUSTOMER}`, (rows) => expect(rows).toHaveLength(brazil())],
    [
      'the masked column',
      `SELECT Email FROM ${CUSTOMER}`,
      (rows) => expect(new Set(rows.flat())).toEqual(new Set(['****'])),
    ],
    ['qualified star', `SELECT c.* FROM ${CUSTOMER} c`, (rows) => expect(rows).toHaveLength(brazil())],
    ['star with replace', `SELECT * REPLACE (upper(Email) AS Email) FROM ${CUSTOMER}`],
    ['COLUMNS()', `SELECT COLUMNS('(?i).*(mail|phone).*') FROM ${CUSTOMER}`],
    ['subquery in FROM', `SELECT * FROM (SELECT Email, Phone, LastName FROM ${CUSTOMER}) s`],
    ['nested subqueries', `SELECT e FROM (SELECT x AS e FROM (SELECT Email AS x FROM ${CUSTOMER}) a) b`],
    ['CTE', `WITH c AS (SELECT * FROM ${CUSTOMER}) SELECT Email, LastName FROM c`],
    ['chained CTEs', `WITH a AS (SELECT Email e FROM ${CUSTOMER}), b AS (SELECT e FROM a) SELECT * FROM b`],
    [
      'recursive CTE',
      `WITH RECURSIVE r(e, n) AS (SELECT Email, 1 FROM ${CUSTOMER} UNION ALL SELECT e, n + 1 FROM r WHERE n < 2) SELECT * FROM r`,
    ],
    ['window ordered by the masked column', `SELECT Email, row_number() OVER (ORDER BY Email) FROM ${CUSTOMER}`],
    [
      'first_value window',
      `SELECT first_value(Email) OVER (ORDER BY CustomerId), last_value(Phone) OVER () FROM ${CUSTOMER}`,
    ],
    ['lag window', `SELECT lag(Email) OVER (ORDER BY CustomerId), lead(LastName) OVER () FROM ${CUSTOMER}`],
    [
      'UNION',
      `SELECT Email FROM ${CUSTOMER} UNION SELECT Email FROM ${CUSTOMER}`,
      (rows) => expect(rows).toEqual([['****']]),
    ],
    ['UNION ALL with a constant', `SELECT Email FROM ${CUSTOMER} UNION ALL SELECT 'x'`],
    ['EXCEPT', `SELECT Email FROM ${CUSTOMER} EXCEPT SELECT 'nobody'`],
    ['INTERSECT', `SELECT Email FROM ${CUSTOMER} INTERSECT SELECT Email FROM ${CUSTOMER}`],
    ['EXCEPT against known values', `SELECT LastName FROM ${CUSTOMER} EXCEPT SELECT 'Gonçalves'`],
    [
      'self-join on the masked column',
      `SELECT a.Email, b.LastName FROM ${CUSTOMER} a JOIN ${CUSTOMER} b ON a.Email = b.Email`,
      (rows) => expect(rows).toHaveLength(brazil() ** 2),
    ],
    [
      'join on the masked column with an unmasked table',
      `SELECT e.Email, c.LastName FROM chinook.main.Employee e JOIN ${CUSTOMER} c ON c.Email = e.Email`,
      (rows) => expect(rows).toEqual([]),
    ],
    [
      'join through a key, then the masked column',
      `SELECT c.Email, e.LastName FROM ${CUSTOMER} c JOIN chinook.main.Employee e ON c.SupportRepId = e.EmployeeId`,
    ],
    [
      'join from invoices (unfiltered) to customers',
      `SELECT i.InvoiceId, c.Email, c.LastName FROM chinook.main.Invoice i LEFT JOIN ${CUSTOMER} c USING (CustomerId)`,
    ],
    [
      'GROUP BY the masked column with count(*)',
      `SELECT Email, count(*) FROM ${CUSTOMER} GROUP BY Email`,
      (rows) => expect(rows).toEqual([['****', brazil()]]),
    ],
    [
      'GROUP BY a nullified column',
      `SELECT Phone, count(*) FROM ${CUSTOMER} GROUP BY Phone`,
      (rows) => expect(rows).toEqual([[null, brazil()]]),
    ],
    [
      'min and max',
      `SELECT min(Email), max(Email), min(Phone), max(Phone) FROM ${CUSTOMER}`,
      (rows) => expect(rows).toEqual([['****', '****', null, null]]),
    ],
    ['string_agg', `SELECT string_agg(Email, ','), string_agg(LastName, ',') FROM ${CUSTOMER}`],
    ['list and histogram', `SELECT list(Email), histogram(Email) FROM ${CUSTOMER}`],
    ['arg_max', `SELECT arg_max(Email, CustomerId), arg_min(LastName, CustomerId) FROM ${CUSTOMER}`],
    ['LIKE probing', `SELECT count(*) FROM ${CUSTOMER} WHERE Email LIKE 'l%'`, (rows) => expect(rows).toEqual([[0]])],
    [
      'LIKE for the domain',
      `SELECT count(*) FROM ${CUSTOMER} WHERE Email LIKE '%@%'`,
      (rows) => expect(rows).toEqual([[0]]),
    ],
    [
      'equality with a real value',
      `SELECT LastName FROM ${CUSTOMER} WHERE Email = 'luisg@embraer.com.br'`,
      (rows) => expect(rows).toEqual([]),
    ],
    ['range probing', `SELECT count(*) FROM ${CUSTOMER} WHERE Email > 'm'`, (rows) => expect(rows).toEqual([[0]])],
    [
      'regexp probing',
      `SELECT count(*) FROM ${CUSTOMER} WHERE regexp_matches(Email, '^[a-l]')`,
      (rows) => expect(rows).toEqual([[0]]),
    ],
    [
      'CASE probing summed',
      `SELECT sum(CASE WHEN Email LIKE 'l%' THEN 1 ELSE 0 END) FROM ${CUSTOMER}`,
      (rows) => expect(rows).toEqual([[0]]),
    ],
    [
      'EXISTS probing',
      `SELECT EXISTS (SELECT 1 FROM ${CUSTOMER} WHERE Email LIKE '%.com%')`,
      (rows) => expect(rows).toEqual([[false]]),
    ],
    [
      'IN subquery against real values',
      `SELECT count(*) FROM chinook.main.Employee WHERE Email IN (SELECT Email FROM ${CUSTOMER})`,
      (rows) => expect(rows).toEqual([[0]]),
    ],
    [
      'nullified column tested',
      `SELECT count(*) FROM ${CUSTOMER} WHERE Phone IS NOT NULL OR Phone LIKE '+%'`,
      (rows) => expect(rows).toEqual([[0]]),
    ],
    [
      'ORDER BY the masked column',
      `SELECT CustomerId FROM ${CUSTOMER} ORDER BY Email, CustomerId`,
      (rows) => expect(rows.flat()).toEqual(brazilIds()),
    ],
    [
      'ORDER BY a nullified column',
      `SELECT CustomerId FROM ${CUSTOMER} ORDER BY Phone DESC, CustomerId`,
      (rows) => expect(rows.flat()).toEqual(brazilIds()),
    ],
    ['ORDER BY LIMIT', `SELECT Email, LastName FROM ${CUSTOMER} ORDER BY Email DESC LIMIT 1`],
    ['casts', `SELECT CAST(Email AS BLOB), Email::VARCHAR(3), CAST(Phone AS BIGINT) FROM ${CUSTOMER}`],
    ['length', `SELECT DISTINCT length(Email) FROM ${CUSTOMER}`, (rows) => expect(rows).toEqual([[4]])],
    ['hash of the column', `SELECT DISTINCT md5(Email) FROM ${CUSTOMER}`, (rows) => expect(rows).toHaveLength(1)],
    ['substring', `SELECT substring(Email, 1, 3), right(Email, 5) FROM ${CUSTOMER}`],
    [
      'correlated scalar subquery',
      `SELECT (SELECT c2.Email FROM ${CUSTOMER} c2 WHERE c2.CustomerId = c1.CustomerId) FROM ${CUSTOMER} c1`,
    ],
    ['LATERAL', `SELECT l.e FROM ${CUSTOMER} c, LATERAL (SELECT c.Email AS e) l`],
    ['row as a struct', `SELECT c FROM ${CUSTOMER} c`],
    ['struct_pack of the row', `SELECT struct_pack(e := Email, p := Phone) FROM ${CUSTOMER}`],
    ['to_json', `SELECT to_json(c) FROM ${CUSTOMER} c`],
    ['PIVOT', `PIVOT ${CUSTOMER} ON Country IN ('Brazil', 'USA', 'Canada') USING count(*) GROUP BY Email`],
    ['UNPIVOT', `UNPIVOT (SELECT Email, LastName FROM ${CUSTOMER}) ON Email, LastName INTO NAME k VALUE v`],
    ['count of rows', `SELECT count(*) FROM ${CUSTOMER}`, (rows) => expect(rows).toEqual([[brazil()]])],
    [
      'other countries asked for',
      `SELECT * FROM ${CUSTOMER} WHERE Country = 'USA'`,
      (rows) => expect(rows).toEqual([]),
    ],
    [
      'OR true',
      `SELECT CustomerId FROM ${CUSTOMER} WHERE Country <> 'Brazil' OR 1 = 1 ORDER BY 1`,
      (rows) => expect(rows.flat()).toEqual(brazilIds()),
    ],
    ['distinct countries', `SELECT DISTINCT Country FROM ${CUSTOMER}`, (rows) => expect(rows).toEqual([['Brazil']])],
    [
      'cross join count',
      `SELECT count(*) FROM ${CUSTOMER} a, ${CUSTOMER} b`,
      (rows) => expect(rows).toEqual([[brazil() ** 2]]),
    ],
    ['window count', `SELECT DISTINCT count(*) OVER () FROM ${CUSTOMER}`, (rows) => expect(rows).toEqual([[brazil()]])],
    ['another spelling of the table', `SELECT email, phone, lastname FROM CHINOOK.MAIN.customer`],
    ['quoted names', `SELECT "Email", "LastName" FROM "chinook"."main"."Customer"`],
    [
      'aggregates over joined invoices',
      `SELECT c.Country, count(*) FROM chinook.main.Invoice i JOIN ${CUSTOMER} c USING (CustomerId) GROUP BY 1`,
      (rows) => expect(rows.map((row) => row[0])).toEqual(['Brazil']),
    ],
    [
      'current_user_props cannot be changed',
      `SELECT count(*) FROM ${CUSTOMER} WHERE current_user_props('country') = 'USA'`,
      (rows) => expect(rows).toEqual([[0]]),
    ],
    [
      'a custom mask expression cannot be named',
      `SELECT count(*) FROM ${CUSTOMER} WHERE Email <> '****'`,
      (rows) => expect(rows).toEqual([[0]]),
    ],
  ]

  for (const [label, sql, check] of probes) {
    it(`leaks nothing through ${label}`, async () => {
      const answer = await sqlAs(viewer, sql)
      expect(answer.status, `${label}: ${JSON.stringify(answer.body)}`).toBe(200)
      expectNoLeak(answer.body.rows, label)
      check?.(answer.body.rows as unknown[][])
    })
  }

  it('fails a query whose cast breaks on a value without quoting it', async () => {
    for (const sql of [
      `SELECT count(*) FROM ${CUSTOMER} WHERE CAST(LastName AS INTEGER) = 1`,
      `SELECT CAST(Email AS DATE) FROM ${CUSTOMER}`,
      `SELECT count(*) FROM ${CUSTOMER} WHERE CAST(lower(LastName) || Country AS INTEGER) > 0`,
    ]) {
      const answer = await sqlAs(viewer, sql)
      expect(answer.status, sql).toBe(400)
      expect(answer.body.error.message).toMatch(/withheld/)
      expectNoLeak(answer.body, sql)
    }
  })

  it('refuses the reserved names of shared catalogs and reports privacy per column', async () => {
    const internal = await sqlAs(viewer, 'SELECT * FROM __s0_chinook.main.Customer')
    expect(internal.status).toBe(400)
    expect(internal.body.error.code).toBe('query_error')
    const answer = await sqlAs(viewer, `SELECT CustomerId, Email, Phone, upper(Email) AS shout FROM ${CUSTOMER}`)
    expect(answer.body.column_privacy).toEqual({
      CustomerId: 'public',
      Email: 'masked',
      Phone: 'hidden',
      shout: 'masked',
    })
    const asAdmin = await sqlAs(admin, `SELECT Email, Phone FROM ${CUSTOMER} WHERE CustomerId = 1`)
    expect(asAdmin.body.rows).toEqual([[customers[0]!.email, customers[0]!.phone]])
    expect(asAdmin.body.column_privacy).toEqual({ Email: 'public', Phone: 'public' })
  })

  it('keeps saved queries by name, materialized results and semantic views under the reader’s policies', async () => {
    const saved = await app.request('POST', `${API}/projects/${projectId}/queries`, {
      key: admin,
      body: { display_name: 'all customers', sql: `SELECT LastName, Email, Phone, Country FROM ${CUSTOMER}` },
    })
    expect(saved.status, JSON.stringify(saved.body)).toBe(201)
    const materialized = await app.request('POST', `${API}/projects/${projectId}/queries`, {
      key: admin,
      body: {
        display_name: 'customer emails',
        sql: `SELECT LastName, Email, Country FROM ${CUSTOMER}`,
        query_type: 'MATERIALIZED',
        schedule: { type: 'interval', every: 'PT1H' },
      },
    })
    expect(materialized.status, JSON.stringify(materialized.body)).toBe(201)
    const byName = await sqlAs(viewer, 'SELECT * FROM queries.main."all customers"')
    expect(byName.status, JSON.stringify(byName.body)).toBe(200)
    expect(byName.body.rows).toHaveLength(brazil())
    expectNoLeak(byName.body.rows, 'saved query by name')
    const run = await app.request('POST', `${API}/projects/${projectId}/queries/${saved.body.id}/run`, {
      key: viewer,
      body: {},
    })
    expect([200, 202], JSON.stringify(run.body)).toContain(run.status)
    expectNoLeak(run.body, 'saved query run')
    // A semantic table over the saved query, read here and from another project it is shared with:
    // there too the tables below it are under this project's policies.
    const semantic = await app.request('POST', `${API}/projects/${projectId}/semantic-catalogs`, {
      key: admin,
      body: { name: 'crm' },
    })
    expect(semantic.status, JSON.stringify(semantic.body)).toBe(201)
    const published = await app.request('POST', `${API}/projects/${projectId}/semantic-catalogs/crm/tables`, {
      key: admin,
      body: { table: 'customers', query_id: saved.body.id },
    })
    expect(published.status, JSON.stringify(published.body)).toBe(201)
    const elsewhere = (await createProject(app, orgKey, 'Elsewhere')).id
    const shared = await app.request('POST', `${API}/projects/${projectId}/semantic-catalogs/crm/share`, {
      key: admin,
      body: { project_id: elsewhere },
    })
    expect([200, 201], JSON.stringify(shared.body)).toContain(shared.status)
    for (const project of [projectId, elsewhere]) {
      const answer = await app.request('POST', `${API}/projects/${project}/sql`, {
        key: viewer,
        body: { sql: 'SELECT * FROM crm.main.customers' },
      })
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(answer.body.rows).toHaveLength(brazil())
      expectNoLeak(answer.body.rows, `semantic table in ${project === projectId ? 'its project' : 'another'}`)
    }

    // The admin's stored result holds every email; the viewer reads the query itself instead.
    for (let i = 0; i < 100; i += 1) {
      const state = await app.request('GET', `${API}/projects/${projectId}/queries/${materialized.body.id}`, {
        key: admin,
      })
      if (state.body.materialization?.status === 'COMPLETED' || state.body.status === 'COMPLETED') break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const forAdmin = await sqlAs(admin, 'SELECT * FROM queries.materialized."customer emails"')
    expect(forAdmin.body.rows).toHaveLength(customers.length)
    expect(forAdmin.body.stats.sources.map((source: { catalog: string }) => source.catalog)).toEqual(['queries'])
    const stored = await sqlAs(viewer, 'SELECT * FROM queries.materialized."customer emails"')
    expect(stored.status, JSON.stringify(stored.body)).toBe(200)
    expect(stored.body.rows).toHaveLength(brazil())
    expectNoLeak(stored.body.rows, 'materialized result')
  })

  it('runs query jobs beneath the policies, counts withheld rows, and keeps results and exports to their policies', async () => {
    const until = async (url: string, key: string) => {
      for (let i = 0; i < 300; i += 1) {
        const response = await app.request('GET', url, { key })
        if (['succeeded', 'failed', 'cancelled'].includes(response.body.status)) return response.body
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      throw new Error(`${url} did not finish`)
    }
    const start = async (key: string) => {
      const accepted = await app.request('POST', `${API}/projects/${projectId}/query-jobs`, {
        key,
        body: { sql: `SELECT LastName, Email, Phone FROM ${CUSTOMER}` },
      })
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
      const job = await until(`${API}/projects/${projectId}/query-jobs/${accepted.body.id}`, key)
      expect(job.status, JSON.stringify(job)).toBe('succeeded')
      return job
    }
    const mine = await start(viewer)
    expect(mine.private_row_count).toBe(customers.length - brazil())
    const page = await app.request('GET', `${API}/projects/${projectId}/query-jobs/${mine.id}/results`, { key: viewer })
    expect(page.status, JSON.stringify(page.body)).toBe(200)
    expect(page.body.rows).toHaveLength(brazil())
    expect(page.body.column_privacy).toEqual({ LastName: 'public', Email: 'masked', Phone: 'hidden' })
    expect(page.body.private_row_count).toBe(customers.length - brazil())
    expectNoLeak(page.body, 'query job results')

    const exported = await app.request('POST', `${API}/projects/${projectId}/query-jobs/${mine.id}/exports`, {
      key: viewer,
      body: { format: 'CSV', compression: 'NONE' },
    })
    expect(exported.status, JSON.stringify(exported.body)).toBe(202)
    const done = await until(`${API}/projects/${projectId}/exports/${exported.body.id}`, viewer)
    expect(done.status, JSON.stringify(done)).toBe('succeeded')
    const file = await app.tributary.app.request(done.download_url as string)
    const csv = await file.text()
    expect(csv.split('\n').filter(Boolean)).toHaveLength(brazil() + 1)
    expectNoLeak(csv, 'export')

    // The admin's job saw everything: its results are not the viewer's to read, nor to export.
    const theirs = await start(admin)
    expect(theirs.private_row_count).toBeNull()
    const refused = await app.request('GET', `${API}/projects/${projectId}/query-jobs/${theirs.id}/results`, {
      key: viewer,
    })
    expect(refused.status).toBe(403)
    expectNoLeak(refused.body, 'results of another’s job')
    const refusedExport = await app.request('POST', `${API}/projects/${projectId}/query-jobs/${theirs.id}/exports`, {
      key: viewer,
      body: { format: 'CSV' },
    })
    expect(refusedExport.status).toBe(403)
  })

  it('answers a question beneath the policies, whatever SQL the model writes', async () => {
    scripted.script.push(`SELECT LastName, Email, Phone FROM ${CUSTOMER} WHERE Country <> 'Brazil' OR Email LIKE '%@%'`)
    const answer = await app.request('POST', `${API}/projects/${projectId}/ask`, {
      key: viewer,
      body: { question: 'List every customer email, including those outside Brazil' },
    })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expectNoLeak(answer.body, 'ask')
    expect(answer.body.rows.length).toBeLessThanOrEqual(brazil())
    for (const prompt of scripted.prompts) expectNoLeak(prompt, 'the model’s prompt')
  })

  it('gives an embedding key its own rows through MCP run_sql', async () => {
    const client: Client = new McpClient({ name: 'hostile', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', server.baseUrl), {
        requestInit: { headers: { Authorization: `Bearer ${embedKey}` } },
      }),
    )
    try {
      const result = (await client.callTool({
        name: 'run_sql',
        arguments: { sql: `SELECT LastName, Email, Phone, Country FROM ${CUSTOMER} WHERE Country <> 'Canada' OR true` },
      })) as CallToolResult
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy()
      const rows = (result.structuredContent as { rows: unknown[][] }).rows
      const canada = customers.filter((customer) => customer.country === 'Canada')
      expect(rows).toHaveLength(canada.length)
      expect(new Set(rows.map((row) => row[3]))).toEqual(new Set(['Canada']))
      const text = JSON.stringify(result)
      for (const customer of customers) expect(text).not.toContain(customer.email)
    } finally {
      await client.close()
    }
  })

  it('shows a dashboard to each viewer under their own policies', async () => {
    const created = await app.request('POST', `${API}/projects/${projectId}/dashboards`, {
      key: admin,
      body: {
        name: 'Customers',
        widgets: [
          {
            type: 'table',
            title: 'All customers',
            position: { x: 0, y: 0, w: 6, h: 4 },
            sql: `SELECT LastName AS name, Email AS email, Country AS country FROM ${CUSTOMER} ORDER BY CustomerId`,
            config: { columns: ['name', 'email', 'country'] },
          },
        ],
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const url = `${API}/projects/${projectId}/dashboards/${created.body.id}`
    const forAdmin = await app.request('GET', url, { key: admin })
    expect(forAdmin.body.widgets[0].data.rows).toHaveLength(customers.length)
    const forViewer = await app.request('GET', url, { key: viewer })
    expect(forViewer.status, JSON.stringify(forViewer.body)).toBe(200)
    expect(forViewer.body.widgets[0].data.rows).toHaveLength(brazil())
    expectNoLeak(forViewer.body, 'dashboard')
    // Kept for callers under the viewer's policies, apart from the author's: the second opening reads it.
    const again = await app.request('GET', url, { key: viewer })
    expect(again.body.widgets[0].data.computed_at).toBe(forViewer.body.widgets[0].data.computed_at)
    expectNoLeak(again.body, 'dashboard opened again')
    const refreshed = await app.request('GET', `${url}/widgets/${created.body.widgets[0].id}/data?refresh=true`, {
      key: viewer,
    })
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    expect(refreshed.body.rows).toHaveLength(brazil())
    // The admin's cached result is still the admin's.
    expect((await app.request('GET', url, { key: admin })).body.widgets[0].data.rows).toHaveLength(customers.length)
  })
})
