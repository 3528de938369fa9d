import path from 'node:path'

import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  createUserSession,
  describeEachStore,
  listen,
  type Listening,
  startTestApp,
  type TestApp,
} from '../../test/harness.js'
import type { TenantContext } from '../auth/principal.js'
import { projectTables } from '../composition.js'
import { createLogger } from '../lib/logger.js'
import { McpService } from './mcp-server.js'

/**
 * The MCP server through the SDK's own client: over Streamable HTTP against the app on loopback, and
 * over stdio through `tributary-mcp`, the thin client of that endpoint. Chinook (SQLite) is the data.
 */

const STDIO_CLIENT = path.resolve(import.meta.dirname, 'stdio-client.ts')
const READ_TOOLS = [
  'list_catalogs',
  'list_tables',
  'describe_table',
  'search_metadata',
  'search_golden_sql',
  'run_sql',
  'ask',
  'list_saved_queries',
  'run_saved_query',
  'get_job',
  'get_job_results',
  'list_dashboards',
  'get_dashboard',
  'list_workflows',
  'list_workflow_runs',
  'get_workflow_run',
]
const WRITE_TOOLS = ['save_golden_sql', 'save_query', 'run_workflow']
/** Read tools of features a key uses only with their scope (`dashboards`, `workflows`). */
const CONTENT_TOOLS = ['list_dashboards', 'get_dashboard', 'list_workflows', 'list_workflow_runs', 'get_workflow_run']
/** The tools every caller of a project gets, whatever its scopes. */
const PROJECT_TOOLS = [
  'describe_table',
  'list_catalogs',
  'list_saved_queries',
  'list_tables',
  'search_golden_sql',
  'search_metadata',
]

export async function httpClient(baseUrl: string, key: string): Promise<Client> {
  const client = new Client({ name: 'tributary-test', version: '1.0.0' })
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    }),
  )
  return client
}

export async function stdioClient(baseUrl: string, key: string): Promise<Client> {
  const client = new Client({ name: 'tributary-test', version: '1.0.0' })
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', STDIO_CLIENT],
      env: { PATH: process.env.PATH ?? '', TRIBUTARY_URL: baseUrl, TRIBUTARY_API_KEY: key },
      stderr: 'pipe',
    }),
  )
  return client
}

const json = (response: Response): Promise<any> => response.json()

/** A tool call's structured result, failing the test with the tool's error text when it failed. */
async function call<T = any>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`)
  expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent)
  return result.structuredContent as T
}

/** The text of a failed call; fails the test when the call succeeded. */
async function failure(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult
  expect(result.isError, JSON.stringify(result)).toBe(true)
  return (result.content[0] as { text: string }).text
}

describeEachStore('MCP server', (kind) => {
  let sources: ChinookSources
  let app: TestApp
  let server: Listening
  let orgKey: string
  let projectId: string
  let otherProjectId: string
  let allKey: string
  let readKey: string
  let metadataKey: string
  let outsiderKey: string
  let viewerToken: string
  let client: Client
  const clients: Client[] = []
  const connect = async (key: string) => {
    const connected = await httpClient(server.baseUrl, key)
    clients.push(connected)
    return connected
  }

  beforeAll(async () => {
    sources = await loadChinook([])
    app = await startTestApp(kind, {
      env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath), TRIBUTARY_BODY_LIMIT_BYTES: String(1024 * 1024) },
    })
    orgKey = (await createOrganization(app, 'Mcp')).orgKey
    projectId = (await createProject(app, orgKey, 'Music')).id
    otherProjectId = (await createProject(app, orgKey, 'Other')).id
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
    const base = `${API}/projects/${projectId}/metadata`
    const started = await app.request('POST', `${base}/refresh`, { key: orgKey, body: {} })
    expect(started.status, JSON.stringify(started.body)).toBe(202)
    for (const deadline = Date.now() + 60_000; ;) {
      const job = await app.request('GET', `${base}/refresh/${started.body.id}`, { key: orgKey })
      if (job.body.status === 'succeeded') break
      if (job.body.status === 'failed' || Date.now() > deadline) throw new Error(JSON.stringify(job.body))
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const categorical = await app.request('PUT', `${base}/chinook/main/Genre/columns/Name/categorical`, {
      key: orgKey,
      body: { limit: 50 },
    })
    expect(categorical.status, JSON.stringify(categorical.body)).toBe(200)
    const described = await app.request('PUT', `${base}/chinook/main/Track`, {
      key: orgKey,
      body: { description: 'Songs for sale, each on one album and of one genre' },
    })
    expect(described.status, JSON.stringify(described.body)).toBe(200)

    allKey = (await createProjectKey(app, orgKey, projectId, ['*'])).key
    readKey = (await createProjectKey(app, orgKey, projectId, ['query', 'ask'])).key
    metadataKey = (await createProjectKey(app, orgKey, projectId, ['metadata'])).key
    viewerToken = (await createUserSession(app, orgKey, 'viewer')).token
    const outsider = await createOrganization(app, 'Outsider')
    outsiderKey = (await createProjectKey(app, outsider.orgKey, (await createProject(app, outsider.orgKey)).id)).key
    server = await listen(app)
    client = await connect(allKey)
  }, 120_000)

  afterAll(async () => {
    for (const connected of clients) await connected.close()
    await server?.close()
    await app?.close()
    await sources?.cleanup()
  })

  it('lists every tool with JSON Schemas, read-only annotations and project_id, write tools only for writers', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name).sort()).toEqual([...READ_TOOLS, ...WRITE_TOOLS].sort())
    for (const tool of tools) {
      expect(tool.inputSchema.type, tool.name).toBe('object')
      expect(tool.inputSchema.properties, tool.name).toHaveProperty('project_id')
      expect(tool.outputSchema?.type, tool.name).toBe('object')
      expect(tool.description, tool.name).toBeTruthy()
      expect(tool.annotations, tool.name).toMatchObject({
        readOnlyHint: !WRITE_TOOLS.includes(tool.name),
        destructiveHint: false,
        // Running a workflow sends its webhooks and e-mails.
        openWorldHint: tool.name === 'run_workflow',
      })
    }
    const runSql = tools.find((tool) => tool.name === 'run_sql')!
    expect(runSql.inputSchema.required).toEqual(['sql'])
    expect(runSql.outputSchema?.properties).toHaveProperty('rows')

    // A key for querying and asking may save queries (as through REST), not golden SQL.
    const reader = await connect(readKey)
    expect((await reader.listTools()).tools.map((tool) => tool.name).sort()).toEqual(
      [...READ_TOOLS.filter((name) => !CONTENT_TOOLS.includes(name)), 'save_query'].sort(),
    )
    // A key only for asking gets no write tool, and no tool it could never use.
    const asker = await connect((await createProjectKey(app, orgKey, projectId, ['ask'])).key)
    expect((await asker.listTools()).tools.map((tool) => tool.name).sort()).toEqual(
      READ_TOOLS.filter(
        (name) => !['run_sql', 'run_saved_query', 'get_job', 'get_job_results', ...CONTENT_TOOLS].includes(name),
      ).sort(),
    )
    // A metadata curator may save golden SQL, but not run SQL, ask or save queries.
    const curator = await connect(metadataKey)
    expect((await curator.listTools()).tools.map((tool) => tool.name).sort()).toEqual(
      [...PROJECT_TOOLS, 'save_golden_sql'].sort(),
    )
    // Dashboards and workflows come with their scopes; a `workflows` key may run them, as through REST.
    const dashboardsOnly = await connect((await createProjectKey(app, orgKey, projectId, ['dashboards'])).key)
    expect((await dashboardsOnly.listTools()).tools.map((tool) => tool.name).sort()).toEqual(
      [...PROJECT_TOOLS, 'list_dashboards', 'get_dashboard'].sort(),
    )
    const workflowsOnly = await connect((await createProjectKey(app, orgKey, projectId, ['workflows'])).key)
    expect((await workflowsOnly.listTools()).tools.map((tool) => tool.name).sort()).toEqual(
      [...PROJECT_TOOLS, 'list_workflows', 'list_workflow_runs', 'get_workflow_run', 'run_workflow'].sort(),
    )
    // Users by role: a viewer reads and queries (dashboards and workflows too, without running them), an editor also writes.
    const viewer = await connect(viewerToken)
    expect((await viewer.listTools()).tools.map((tool) => tool.name).sort()).toEqual([...READ_TOOLS].sort())
    const editor = await connect((await createUserSession(app, orgKey, 'editor')).token)
    expect((await editor.listTools()).tools).toHaveLength(READ_TOOLS.length + WRITE_TOOLS.length)
  })

  it('browses catalogs, tables and the semantic layer', async () => {
    const { catalogs } = await call(client, 'list_catalogs')
    expect(catalogs.map((catalog: { name: string }) => catalog.name)).toEqual(
      expect.arrayContaining(['internal', 'chinook']),
    )
    const { tables } = await call(client, 'list_tables', { catalog: 'chinook' })
    expect(tables).toHaveLength(11)
    expect(tables).toContainEqual({ catalog: 'chinook', schema: 'main', name: 'Track', kind: 'table', column_count: 9 })
    expect((await call(client, 'list_tables', { catalog: 'chinook', schema: 'main' })).tables).toEqual(tables)

    const track = await call(client, 'describe_table', { catalog: 'chinook', schema: 'main', table: 'Track' })
    expect(track).toMatchObject({ catalog: 'chinook', schema: 'main', table: 'Track' })
    expect(track.description).toBe('Songs for sale, each on one album and of one genre')
    expect(track.columns.map((column: { name: string }) => column.name)).toContain('GenreId')
    expect(track.relations.map((relation: { to: { table: string } }) => relation.to.table)).toEqual(
      expect.arrayContaining(['Album', 'Genre', 'MediaType']),
    )
    const genre = await call(client, 'describe_table', { catalog: 'chinook', schema: 'main', table: 'Genre' })
    const name = genre.columns.find((column: { name: string }) => column.name === 'Name')
    expect(name.is_categorical).toBe(true)
    expect(name.categorical_values).toEqual(expect.arrayContaining(['Rock', 'Jazz', 'Metal']))
    // The same answer as the REST route.
    const rest = await app.request('GET', `${API}/projects/${projectId}/metadata/chinook/main/Genre`, { key: allKey })
    expect(genre).toEqual(rest.body)

    const { hits } = await call(client, 'search_metadata', { query: 'songs genre', limit: 3 })
    expect(hits[0]).toMatchObject({ catalog: 'chinook', schema: 'main', table: 'Track' })
  })

  it('runs read-only SQL with a row limit, as POST /sql does', async () => {
    const sql = 'select GenreId, count(*) as tracks from chinook.main.Track group by GenreId order by GenreId'
    const result = await call(client, 'run_sql', { sql, limit: 5 })
    expect(result.columns).toEqual([
      { name: 'GenreId', type: 'BIGINT' },
      { name: 'tracks', type: 'BIGINT' },
    ])
    expect(result.rows).toHaveLength(5)
    expect(result.rows[0]).toEqual([1, 1297])
    expect(result).toMatchObject({ row_count: 5, truncated: true })
    expect(result.stats.sources).toEqual([expect.objectContaining({ catalog: 'chinook' })])
    const rest = await app.request('POST', `${API}/projects/${projectId}/sql`, { key: allKey, body: { sql, limit: 5 } })
    expect(result.rows).toEqual(rest.body.rows)
    // The default limit is small, for a model's context.
    expect((await call(client, 'run_sql', { sql: 'select * from chinook.main.Track' })).rows).toHaveLength(100)
  })

  it('saves and finds golden SQL, and asks with the same pipeline as REST', async () => {
    const saved = await call(client, 'save_golden_sql', {
      question: 'How many songs are in the catalogue?',
      sql: 'select count(*) as songs from chinook.main.Track',
    })
    expect(saved).toMatchObject({ project_id: projectId, tables: ['chinook.main.Track'] })
    const { hits } = await call(client, 'search_golden_sql', { question: 'how many songs are there' })
    expect(hits[0].golden_sql.id).toBe(saved.id)

    const answer = await call(client, 'ask', { question: 'How many songs are in the catalogue?' })
    expect(answer).toMatchObject({ answered: true, golden_sql_id: saved.id, rows: [[3503]], model: 'offline' })
    const thread = await app.request('GET', `${API}/projects/${projectId}/threads/${answer.thread_id}`, {
      key: allKey,
    })
    expect(thread.status).toBe(200)
    const unanswerable = await call(client, 'ask', { question: 'What will the weather be tomorrow?' })
    expect(unanswerable).toMatchObject({ answered: false, sql: null })
    expect(unanswerable.reason).toBeTruthy()
  })

  it('saves a query, lists it, runs it with parameters and reads the job and its result', async () => {
    const saved = await call(client, 'save_query', {
      display_name: 'Tracks of a genre',
      sql:
        'select g.Name as genre, count(*) as tracks from chinook.main.Track t ' +
        'join chinook.main.Genre g on g.GenreId = t.GenreId where g.Name = {{genre}} group by g.Name',
      parameters: [{ name: 'genre', type: 'string', required: true }],
    })
    expect(saved).toMatchObject({ display_name: 'Tracks of a genre', query_type: 'STANDARD' })
    const { queries } = await call(client, 'list_saved_queries')
    expect(queries.map((query: { id: string }) => query.id)).toContain(saved.id)

    const run = await call(client, 'run_saved_query', { query_id: saved.id, parameters: { genre: 'Jazz' } })
    expect(run.job).toMatchObject({ status: 'succeeded', query_id: saved.id, total_rows: 1 })
    expect(run.results).toMatchObject({ rows: [['Jazz', 130]], total_rows: 1, page: 1 })

    expect(await call(client, 'get_job', { job_id: run.job.id })).toMatchObject({ id: run.job.id, status: 'succeeded' })
    const page = await call(client, 'get_job_results', { job_id: run.job.id, page_size: 10 })
    expect(page).toMatchObject({ rows: [['Jazz', 130]], page_size: 10, total_pages: 1 })

    const missing = await failure(client, 'run_saved_query', { query_id: saved.id, parameters: {} })
    expect(missing).toMatch(/^validation_error: .*genre/)
  })

  it('reads a dashboard with its widgets’ data, as GET …/dashboards/{id} gives it', async () => {
    const position = { x: 0, y: 0, w: 6, h: 3 }
    const created = await app.request('POST', `${API}/projects/${projectId}/dashboards`, {
      key: orgKey,
      body: {
        name: 'Sales',
        widgets: [
          {
            type: 'metric',
            title: 'Customers',
            sql: 'select count(*) as customers from chinook.main.Customer',
            position,
            config: { value: 'customers' },
          },
          {
            type: 'bar',
            title: 'Invoices by country',
            sql:
              'select BillingCountry as country, count(*) as invoices from chinook.main.Invoice ' +
              'group by 1 order by 2 desc, 1 limit 2',
            position,
            config: { x: 'country', y: ['invoices'] },
          },
          { type: 'text', title: 'About', position, config: { content: '## Sales' } },
        ],
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const dashboardId: string = created.body.id

    const { dashboards } = await call(client, 'list_dashboards')
    expect(dashboards).toContainEqual(expect.objectContaining({ id: dashboardId, name: 'Sales', widget_count: 3 }))
    expect(dashboards[0]).not.toHaveProperty('widgets')

    // The first open computes the widgets; REST then reads the same cached results.
    const dashboard = await call(client, 'get_dashboard', { dashboard_id: dashboardId })
    expect(
      dashboard.widgets.map((widget: any) => [
        widget.title,
        widget.type,
        widget.data?.rows ?? null,
        widget.data?.error,
      ]),
    ).toEqual([
      ['Customers', 'metric', [[59]], null],
      [
        'Invoices by country',
        'bar',
        [
          ['USA', 91],
          ['Canada', 56],
        ],
        null,
      ],
      ['About', 'text', null, undefined],
    ])
    expect(dashboard.widgets[1].data).toMatchObject({
      columns: [{ name: 'country' }, { name: 'invoices' }],
      computed_at: expect.any(String),
    })
    const opened = await app.request('GET', `${API}/projects/${projectId}/dashboards/${dashboardId}`, { key: orgKey })
    expect(opened.status).toBe(200)
    expect(dashboard).toEqual(opened.body)
    // Only the widgets asked for; a widget the dashboard does not have is missing, not silently left out.
    const barId: string = dashboard.widgets[1].id
    const narrowed = await call(client, 'get_dashboard', { dashboard_id: dashboardId, widget_ids: [barId] })
    expect(narrowed).toEqual({ ...opened.body, widgets: [opened.body.widgets[1]] })
    const stranger = '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e'
    expect(await failure(client, 'get_dashboard', { dashboard_id: dashboardId, widget_ids: [barId, stranger] })).toBe(
      `not_found: widget ${stranger} not found`,
    )

    // A `dashboards` key reads it too (widgets compute as the last saver); a key without the scope is refused.
    const dashboardsOnly = await connect((await createProjectKey(app, orgKey, projectId, ['dashboards'])).key)
    expect(await call(dashboardsOnly, 'get_dashboard', { dashboard_id: dashboardId })).toEqual(opened.body)
    expect(await failure(await connect(readKey), 'get_dashboard', { dashboard_id: dashboardId })).toBe(
      "authorization_error: this key lacks the 'dashboards' scope",
    )
    // Another project's key, another organization's key: the dashboard is missing, never shown.
    const neighbour = await connect((await createProjectKey(app, orgKey, otherProjectId)).key)
    expect(await failure(neighbour, 'get_dashboard', { dashboard_id: dashboardId })).toBe(
      `not_found: dashboard ${dashboardId} not found`,
    )
    expect((await call(neighbour, 'list_dashboards')).dashboards).toEqual([])
    const outsider = await connect(outsiderKey)
    expect(await failure(outsider, 'get_dashboard', { dashboard_id: dashboardId })).toBe(
      `not_found: dashboard ${dashboardId} not found`,
    )
    expect(await failure(outsider, 'get_dashboard', { dashboard_id: dashboardId, project_id: projectId })).toBe(
      `not_found: project ${projectId} not found`,
    )
    expect(await failure(client, 'get_dashboard', { dashboard_id: 'not-a-uuid' })).toMatch(
      /^validation_error: dashboard_id: /,
    )
  })

  it('lists workflows and runs one, the run visible through GET …/runs', async () => {
    const base = `${API}/projects/${projectId}/workflows`
    const create = async (name: string) => {
      const created = await app.request('POST', base, {
        key: orgKey,
        body: { name, steps: [{ name: 'invoices', sql: 'select count(*) as n from chinook.main.Invoice' }] },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      return created.body.id as string
    }
    const workflowId = await create('Invoice count')
    const { workflows } = await call(client, 'list_workflows')
    const listed = workflows.find((workflow: { id: string }) => workflow.id === workflowId)
    expect(listed).toMatchObject({ name: 'Invoice count', revision: 1, trigger: { type: 'manual' } })
    expect(listed).not.toHaveProperty('signing_secret')

    const queued = await call(client, 'run_workflow', { workflow_id: workflowId })
    expect(queued).toMatchObject({ workflow_id: workflowId, status: 'pending', trigger: 'manual' })
    const runs = await app.request('GET', `${base}/${workflowId}/runs`, { key: orgKey })
    expect(runs.body.data.map((run: { id: string }) => run.id)).toEqual([queued.id])

    // Followed as a model would, until it ends.
    let run = queued
    for (const deadline = Date.now() + 30_000; ['pending', 'running'].includes(run.status);) {
      if (Date.now() > deadline) throw new Error(`run did not end: ${JSON.stringify(run)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
      run = await call(client, 'get_workflow_run', { workflow_id: workflowId, run_id: queued.id })
    }
    expect(run).toMatchObject({ status: 'succeeded', steps: [{ name: 'invoices', rows: [{ n: 412 }], error: null }] })
    const read = await app.request('GET', `${base}/${workflowId}/runs/${queued.id}`, { key: orgKey })
    expect(run).toEqual(read.body)
    const page = await call(client, 'list_workflow_runs', { workflow_id: workflowId })
    expect(page).toEqual({ runs: [read.body], next_cursor: null })

    // A viewer reads runs; running is neither offered nor allowed.
    const viewer = await connect(viewerToken)
    const asViewer = { workflow_id: workflowId, project_id: projectId }
    expect((await call(viewer, 'list_workflow_runs', asViewer)).runs).toHaveLength(1)
    expect(await failure(viewer, 'run_workflow', asViewer)).toBe(
      "authorization_error: role 'viewer' may not do this (needs projects:write)",
    )

    // Out of tenant: the workflow is missing for every tool, and nothing was queued.
    const neighbour = await connect((await createProjectKey(app, orgKey, otherProjectId)).key)
    const outsider = await connect(outsiderKey)
    for (const caller of [neighbour, outsider]) {
      for (const [name, args] of [
        ['run_workflow', { workflow_id: workflowId }],
        ['list_workflow_runs', { workflow_id: workflowId }],
        ['get_workflow_run', { workflow_id: workflowId, run_id: queued.id }],
      ] as const) {
        expect(await failure(caller, name, args), name).toBe(`not_found: workflow ${workflowId} not found`)
      }
    }
    expect((await call(neighbour, 'list_workflows')).workflows).toEqual([])
    expect(await failure(outsider, 'run_workflow', { ...asViewer })).toBe(`not_found: project ${projectId} not found`)
    // A run is read only through its own workflow.
    const otherWorkflowId = await create('Another')
    expect(await failure(client, 'get_workflow_run', { workflow_id: otherWorkflowId, run_id: queued.id })).toBe(
      `not_found: run ${queued.id} not found`,
    )
    expect((await app.request('GET', `${base}/${workflowId}/runs`, { key: orgKey })).body.data).toHaveLength(1)
  })

  it('serves table metadata as resources and primes a prompt with the schema', async () => {
    const { resourceTemplates } = await client.listResourceTemplates()
    expect(resourceTemplates).toEqual([
      expect.objectContaining({ uriTemplate: 'tributary://{project}/{catalog}/{schema}/{table}' }),
    ])
    const { resources } = await client.listResources()
    const uri = `tributary://${projectId}/chinook/main/Track`
    expect(resources).toContainEqual(
      expect.objectContaining({ uri, name: 'chinook.main.Track', mimeType: 'application/json' }),
    )
    const read = await client.readResource({ uri })
    const table = JSON.parse((read.contents[0] as { text: string }).text)
    expect(table).toMatchObject({ table: 'Track', description: 'Songs for sale, each on one album and of one genre' })

    // Names are percent-encoded: a saved query is a table of the `queries` catalog under its display name.
    const query = await app.request('POST', `${API}/projects/${projectId}/queries`, {
      key: allKey,
      body: {
        display_name: 'Albums / artist',
        sql: 'select ArtistId, count(*) as albums from chinook.main.Album group by 1',
      },
    })
    expect(query.status, JSON.stringify(query.body)).toBe(201)
    const encoded = `tributary://${projectId}/queries/main/Albums%20%2F%20artist`
    const view = JSON.parse(((await client.readResource({ uri: encoded })).contents[0] as { text: string }).text)
    expect(view).toMatchObject({ catalog: 'queries', table: 'Albums / artist' })
    const rest = await app.request('GET', `${API}/projects/${projectId}/metadata/queries/main/Albums%20%2F%20artist`, {
      key: allKey,
    })
    expect(view).toEqual(rest.body)

    await expect(client.readResource({ uri: `tributary://${projectId}/chinook/main/Nope` })).rejects.toThrow(
      /not_found/,
    )
    await expect(client.readResource({ uri: `tributary://${otherProjectId}/chinook/main/Track` })).rejects.toThrow(
      /not_found: project/,
    )
    await expect(client.readResource({ uri: 'https://example.com/x' })).rejects.toThrow(/validation_error/)

    const { prompts } = await client.listPrompts()
    expect(prompts.map((prompt) => prompt.name)).toEqual(['explore_project'])
    const prompt = await client.getPrompt({ name: 'explore_project' })
    const text = (prompt.messages[0]!.content as { text: string }).text
    expect(text).toContain('- chinook.main.Track')
    expect(text).toContain('Songs for sale')
    expect(text).toContain('Name VARCHAR (values: Alternative, Alternative & Punk, Blues,')
    expect(text).toContain('relation: chinook.main.Track(GenreId) → chinook.main.Genre(GenreId)')
  })

  it('pages resources/list project after project, each table once', async () => {
    // The other project gets the same tables under another catalog name: 2 × 11 tables to list.
    const music = await app.request('POST', `${API}/projects/${otherProjectId}/connections`, {
      key: orgKey,
      body: { name: 'music', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) } },
    })
    expect(music.status, JSON.stringify(music.body)).toBe(201)
    const organization = await connect(orgKey)
    // Saved queries of earlier tests are tables of the `queries` catalog too, listed once the project's catalogs
    // are read again (they are kept a few seconds): left out, so that the count does not hang on timing.
    const sourceTables = (uris: string[]) => uris.filter((uri) => !uri.includes('/queries/'))
    const all = sourceTables((await organization.listResources()).resources.map((resource) => resource.uri))
    expect(all).toHaveLength(22)
    expect(new Set(all).size).toBe(all.length)
    expect(all).toContain(`tributary://${otherProjectId}/music/main/Track`)
    expect(all).toContain(`tributary://${projectId}/chinook/main/Track`)

    // The same service with pages of 4, over the SDK's in-memory transport, for the organization key.
    const mcp = new McpService({
      tools: [],
      tables: projectTables(app.tributary.services),
      logger: createLogger('silent'),
      version: 'test',
      resourcePageSize: 4,
    })
    const principal = await app.tributary.platform.authenticator.authenticate(`Bearer ${orgKey}`)
    const server = mcp.server({ principal, requestId: 'paging' } as TenantContext)
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    await server.connect(serverSide)
    const paging = new Client({ name: 'paging', version: '1.0.0' })
    await paging.connect(clientSide)
    clients.push(paging)
    const paged: string[] = []
    let cursor: string | undefined
    do {
      const page = await paging.listResources(cursor === undefined ? {} : { cursor })
      expect(page.resources.length).toBeLessThanOrEqual(4)
      paged.push(...page.resources.map((resource) => resource.uri))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    expect(sourceTables(paged)).toEqual(all)
    await expect(paging.listResources({ cursor: 'bm90IGEgY3Vyc29y' })).rejects.toThrow(
      /validation_error: cursor: not a cursor from resources\/list/,
    )
  })

  it('reports bad calls as tool errors with our error codes, and the session goes on', async () => {
    expect(await failure(client, 'no_such_tool')).toBe('not_found: tool no_such_tool not found')
    expect(await failure(client, 'run_sql', { sql: 42 })).toMatch(/^validation_error: sql: /)
    expect(await failure(client, 'run_sql', { sql: 'select 1', surprise: true })).toMatch(/^validation_error: /)
    expect(await failure(client, 'run_sql', { sql: 'selec 1' })).toMatch(/^query_error: .*syntax error/i)
    expect(await failure(client, 'run_sql', { sql: 'drop table chinook.main.Track' })).toMatch(/^query_error: /)
    expect(await failure(client, 'run_sql', { sql: "select * from read_csv('/etc/passwd')" })).toMatch(/^query_error: /)
    expect(await failure(client, 'describe_table', { catalog: 'chinook', schema: 'main', table: 'Nope' })).toMatch(
      /^not_found: /,
    )
    expect(await failure(client, 'run_sql', { sql: 'select 1', project_id: 'not-a-uuid' })).toMatch(
      /^validation_error: project_id: /,
    )
    expect(await failure(client, 'get_job', { job_id: '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e' })).toMatch(/^not_found: /)
    expect(await failure(client, 'save_query', { display_name: 'x\u0000', sql: 'select 1' })).toMatch(
      /^validation_error: /,
    )
    // A key without the scope: the service refuses it as the REST route would.
    const curator = await connect(metadataKey)
    expect(await failure(curator, 'run_sql', { sql: 'select 1' })).toBe(
      "authorization_error: this key lacks the 'query' scope",
    )
    const viewer = await connect(viewerToken)
    expect(await failure(viewer, 'save_query', { display_name: 'q', sql: 'select 1', project_id: projectId })).toBe(
      "authorization_error: role 'viewer' may not do this (needs projects:write)",
    )
    const reader = await connect(readKey)
    expect(await failure(reader, 'save_golden_sql', { question: 'q', sql: 'select 1' })).toBe(
      "authorization_error: this key lacks the 'metadata' scope",
    )
    // After all that, the same client still works.
    expect((await call(client, 'run_sql', { sql: 'select 1 as one' })).rows).toEqual([[1]])
  })

  it('keeps a project key in its project and makes organization keys name one', async () => {
    expect(await failure(client, 'run_sql', { sql: 'select 1', project_id: otherProjectId })).toBe(
      `not_found: project ${otherProjectId} not found`,
    )
    expect((await call(client, 'run_sql', { sql: 'select 1 as one', project_id: projectId })).rows).toEqual([[1]])

    const organization = await connect(orgKey)
    expect(await failure(organization, 'list_catalogs')).toBe(
      'validation_error: project_id: is required with an organization key or a user session',
    )
    const { catalogs } = await call(organization, 'list_catalogs', { project_id: projectId })
    expect(catalogs.map((catalog: { name: string }) => catalog.name)).toContain('chinook')
    expect((await call(organization, 'list_catalogs', { project_id: otherProjectId })).catalogs).not.toContainEqual(
      expect.objectContaining({ name: 'chinook' }),
    )
    // Resources of an organization key span its projects.
    const { resources } = await organization.listResources()
    expect(resources.map((resource) => resource.uri)).toContain(`tributary://${projectId}/chinook/main/Album`)

    // Another organization's key sees nothing of this project, whichever way it asks.
    const outsider = await connect(outsiderKey)
    expect(await failure(outsider, 'list_catalogs', { project_id: projectId })).toBe(
      `not_found: project ${projectId} not found`,
    )
    const outsiderOrg = (await createOrganization(app, 'Outsider org')).orgKey
    const foreign = await connect(outsiderOrg)
    expect(await failure(foreign, 'run_sql', { sql: 'select 1', project_id: projectId })).toBe(
      `not_found: project ${projectId} not found`,
    )
    await expect(foreign.readResource({ uri: `tributary://${projectId}/chinook/main/Track` })).rejects.toThrow(
      /not_found/,
    )
    await expect(foreign.getPrompt({ name: 'explore_project', arguments: { project_id: projectId } })).rejects.toThrow(
      /not_found/,
    )
    expect((await foreign.listResources()).resources).toEqual([])
  })

  it('answers HTTP errors in our envelope: bad keys, the platform key, bodies and methods', async () => {
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
    }
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${server.baseUrl}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body,
      })
    for (const headers of [{}, { authorization: 'Bearer trb_not_a_key' }] as Record<string, string>[]) {
      const refused = await post(headers, JSON.stringify(initialize))
      expect(refused.status).toBe(401)
      expect((await json(refused)).error.code).toBe('authentication_error')
    }
    await expect(httpClient(server.baseUrl, 'trb_not_a_key')).rejects.toThrow(/401|authentication/)
    const platform = await post({ authorization: `Bearer ${app.platformKey}` }, JSON.stringify(initialize))
    expect(platform.status).toBe(403)

    const ok = await post({ authorization: `Bearer ${allKey}` }, JSON.stringify(initialize))
    expect(ok.status).toBe(200)
    expect((await json(ok)).result.serverInfo.name).toBe('tributary')
    const malformed = await post({ authorization: `Bearer ${allKey}` }, '{"jsonrpc": ')
    expect(malformed.status).toBe(422)
    expect((await json(malformed)).error.code).toBe('validation_error')
    // In process: over a socket the server answers 413 and closes before the client has sent it all.
    const huge = await app.request('POST', '/mcp', {
      key: allKey,
      headers: { accept: 'application/json, text/event-stream' },
      body: { ...initialize, pad: 'x'.repeat(2 * 1024 * 1024) },
    })
    expect(huge.status).toBe(413)
    expect(huge.body.error.code).toBe('payload_too_large')
    const notJson = await post({ authorization: `Bearer ${allKey}`, 'content-type': 'text/plain' }, 'hello')
    expect(notJson.status).toBe(415)
    const notRpc = await post({ authorization: `Bearer ${allKey}` }, JSON.stringify({ hello: 'world' }))
    expect(notRpc.status).toBe(400)
    expect((await json(notRpc)).error.code).toBe(-32700)

    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${server.baseUrl}/mcp`, { method, headers: { authorization: `Bearer ${allKey}` } })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('POST')
    }
  })

  describe('over stdio, through tributary-mcp', () => {
    let stdio: Client
    beforeAll(async () => {
      stdio = await stdioClient(server.baseUrl, allKey)
      clients.push(stdio)
    }, 60_000)

    it('forwards tools, resources and prompts to the HTTP endpoint', async () => {
      const { tools } = await stdio.listTools()
      expect(tools.map((tool) => tool.name).sort()).toEqual([...READ_TOOLS, ...WRITE_TOOLS].sort())
      expect(tools.find((tool) => tool.name === 'run_sql')?.annotations?.readOnlyHint).toBe(true)
      const result = await call(stdio, 'run_sql', { sql: 'select count(*) as albums from chinook.main.Album' })
      expect(result.rows).toEqual([[347]])
      expect(await failure(stdio, 'run_sql', { sql: 'selec 1' })).toMatch(/^query_error: /)
      expect(await failure(stdio, 'nope')).toMatch(/^not_found: /)

      expect((await stdio.listResourceTemplates()).resourceTemplates).toHaveLength(1)
      const uri = `tributary://${projectId}/chinook/main/Album`
      expect((await stdio.listResources()).resources.map((resource) => resource.uri)).toContain(uri)
      const read = await stdio.readResource({ uri })
      expect(JSON.parse((read.contents[0] as { text: string }).text).table).toBe('Album')
      await expect(stdio.readResource({ uri: `tributary://${otherProjectId}/chinook/main/Album` })).rejects.toThrow(
        /not_found/,
      )
      expect((await stdio.listPrompts()).prompts.map((prompt) => prompt.name)).toEqual(['explore_project'])
      const prompt = await stdio.getPrompt({ name: 'explore_project' })
      expect((prompt.messages[0]!.content as { text: string }).text).toContain('chinook.main.Album')
    })

    it('hides write tools from a caller that may not write, as over HTTP', async () => {
      const reader = await stdioClient(server.baseUrl, viewerToken)
      clients.push(reader)
      expect((await reader.listTools()).tools.map((tool) => tool.name).sort()).toEqual([...READ_TOOLS].sort())
    })

    it('fails to start with a bad key, saying why on stderr', async () => {
      await expect(stdioClient(server.baseUrl, 'trb_not_a_key')).rejects.toThrow()
    })
  })
})
