import path from 'node:path'

import type { MetadataColumn, MetadataSearchHit, TableMetadata } from '@tributary/contract'
import { MockLanguageModelV4 } from 'ai/test'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  createUserSession,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'
import { fixedLanguageModels } from '../ai/language-models.js'

/**
 * Stored values from the data (sample and categorical values) obey the caller's masks and row filters
 * at every door: metadata reads, search, MCP tools and the ask prompt. They were read by an org key
 * before any policy; then the org key and an editor see Customer.Email masked, a viewer is also under a
 * row filter on Customer, and an admin is under neither.
 */

type CallOptions = Parameters<MockLanguageModelV4['doGenerate']>[0]

const AI_ENV = { TRIBUTARY_AI_PROVIDER: 'openai', TRIBUTARY_AI_MODEL: 'gpt-test', TRIBUTARY_AI_API_KEY: 'sk-test' }
const CUSTOMER = { catalog: 'chinook', schema: 'main', table: 'Customer' }
const COUNT_SQL = 'select count(*) as customers from chinook.main.Customer'

/** Customer's lines in a prompt (as sent, JSON): its head and its columns, up to the next table. */
const customerLines = (prompt: string): string => {
  const block = prompt.split('\\n- ').find((part) => part.startsWith('chinook.main.Customer'))
  if (block === undefined) throw new Error(`no Customer in the prompt: ${prompt}`)
  return block
}

/** A mock model that always answers with one query, and remembers what it was sent. */
function recordingModel() {
  const calls: CallOptions[] = []
  const model = new MockLanguageModelV4({
    provider: 'openai.chat',
    modelId: 'gpt-test',
    doGenerate: async (options) => {
      calls.push(options)
      return {
        content: [{ type: 'text', text: `\`\`\`sql\n${COUNT_SQL}\n\`\`\`` }],
        finishReason: { unified: 'stop', raw: undefined },
        usage: {
          inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: 5, text: 5, reasoning: undefined },
        },
        warnings: [],
      }
    },
  })
  return { model, calls }
}

describe('stored values from the data under the caller’s policies [pglite]', () => {
  let sources: ChinookSources
  let app: TestApp
  let orgKey: string
  let projectId: string
  let admin: { user: any; token: string }
  let editor: { user: any; token: string }
  let viewer: { user: any; token: string }
  const recorded = recordingModel()
  const base = () => `${API}/projects/${projectId}/metadata`
  /** Customer as the org key read it: what must not reach the masked or filtered callers. */
  let emails: string[]
  let emailValues: string[]
  let countries: string[]

  const customer = async (key: string): Promise<TableMetadata> => {
    const found = await app.request('GET', `${base()}/chinook/main/Customer`, { key })
    expect(found.status, JSON.stringify(found.body)).toBe(200)
    return found.body as TableMetadata
  }
  const column = (table: TableMetadata, name: string): MetadataColumn => table.columns.find((c) => c.name === name)!
  const search = async (q: string, key: string): Promise<MetadataSearchHit[]> => {
    const found = await app.request('GET', `${base()}/search?${new URLSearchParams({ q, limit: '20' }).toString()}`, {
      key,
    })
    expect(found.status, JSON.stringify(found.body)).toBe(200)
    return found.body.data as MetadataSearchHit[]
  }
  const customerHit = (hits: readonly MetadataSearchHit[]) => hits.find((hit) => hit.table === 'Customer')
  const rpc = (key: string, method: string, params: Record<string, unknown>) =>
    app.request('POST', '/mcp', {
      key,
      headers: { accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 1, method, params },
    })
  /** What the model was sent for one question asked by `key`. */
  const prompted = async (key: string): Promise<string> => {
    recorded.calls.length = 0
    const answer = await app.request('POST', `${API}/projects/${projectId}/ask`, {
      key,
      body: { question: 'How many customers are there?', execute: false },
    })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(recorded.calls.length).toBeGreaterThan(0)
    return recorded.calls.map((call) => JSON.stringify(call.prompt)).join('\n')
  }

  beforeAll(async () => {
    sources = await loadChinook([])
    app = await startTestApp('pglite', {
      env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath), ...AI_ENV },
      languageModels: fixedLanguageModels(recorded.model),
      now: () => new Date('2026-12-06T12:00:00Z'),
    })
    orgKey = (await createOrganization(app, 'Metadata privacy')).orgKey
    projectId = (await createProject(app, orgKey, 'Metadata privacy')).id
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)

    // Read under no policy: samples of every column, and Country's and Email's values.
    const started = await app.request('POST', `${base()}/refresh`, { key: orgKey, body: { catalog: 'chinook' } })
    expect(started.status, JSON.stringify(started.body)).toBe(202)
    const deadline = Date.now() + 60_000
    for (;;) {
      const job = await app.request('GET', `${base()}/refresh/${started.body.id}`, { key: orgKey })
      if (job.body.status === 'succeeded') break
      expect(['queued', 'running'], JSON.stringify(job.body)).toContain(job.body.status)
      if (Date.now() > deadline) throw new Error('the refresh did not end')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    for (const name of ['Country', 'Email']) {
      const set = await app.request('PUT', `${base()}/chinook/main/Customer/columns/${name}/categorical`, {
        key: orgKey,
        body: { limit: 10 },
      })
      expect(set.status, JSON.stringify(set.body)).toBe(200)
    }
    const read = await customer(orgKey)
    emails = [...column(read, 'Email').sample_values, ...column(read, 'Email').categorical_values]
    emailValues = column(read, 'Email').categorical_values
    countries = column(read, 'Country').categorical_values
    expect(column(read, 'Email').sample_values.length).toBeGreaterThan(0)
    expect(column(read, 'Email').categorical_values).toHaveLength(10)
    expect(countries).toContain('Germany')

    admin = await createUserSession(app, orgKey, 'admin')
    editor = await createUserSession(app, orgKey, 'editor')
    viewer = await createUserSession(app, orgKey, 'viewer')
    const attributes = await app.request('PATCH', `${API}/users/${viewer.user.id}`, {
      key: orgKey,
      body: { attributes: { country: 'Brazil' } },
    })
    expect(attributes.status, JSON.stringify(attributes.body)).toBe(200)
    const mask = await app.request('POST', `${API}/projects/${projectId}/privacy-policies`, {
      key: orgKey,
      body: { ...CUSTOMER, column: 'Email', mask: 'redact', except_roles: ['admin'] },
    })
    expect(mask.status, JSON.stringify(mask.body)).toBe(201)
    const rows = await app.request('POST', `${API}/projects/${projectId}/row-policies`, {
      key: orgKey,
      body: { ...CUSTOMER, filter: "Country = current_user_props('country')", applies_to_roles: ['viewer'] },
    })
    expect(rows.status, JSON.stringify(rows.body)).toBe(201)
  }, 120_000)

  afterAll(async () => {
    await app?.close()
    await sources?.cleanup()
  })

  it('shows no values of a masked column, and none of any column of a row-filtered table', async () => {
    const seenByAdmin = await customer(admin.token)
    expect(column(seenByAdmin, 'Email').categorical_values).toEqual(emailValues)
    expect(column(seenByAdmin, 'Email').sample_values.length).toBeGreaterThan(0)
    expect(column(seenByAdmin, 'Country').categorical_values).toEqual(countries)

    const seenByEditor = await customer(editor.token)
    expect(column(seenByEditor, 'Email')).toMatchObject({
      is_categorical: true,
      sample_values: [],
      categorical_values: [],
    })
    expect(column(seenByEditor, 'Country').categorical_values).toEqual(countries)
    expect(column(seenByEditor, 'FirstName').sample_values.length).toBeGreaterThan(0)

    const seenByViewer = await customer(viewer.token)
    for (const each of seenByViewer.columns) {
      expect(each, each.name).toMatchObject({ sample_values: [], categorical_values: [] })
    }
    // Other tables are untouched.
    const artist = await app.request('GET', `${base()}/chinook/main/Artist`, { key: viewer.token })
    expect(column(artist.body as TableMetadata, 'Name').sample_values.length).toBeGreaterThan(0)

    // The listings too.
    const listed = await app.request('GET', `${base()}?catalog=chinook&limit=100`, { key: viewer.token })
    expect(listed.status, JSON.stringify(listed.body)).toBe(200)
    const listedCustomer = (listed.body.data as TableMetadata[]).find((table) => table.table === 'Customer')!
    expect(listedCustomer.columns.flatMap((each) => [...each.sample_values, ...each.categorical_values])).toEqual([])
  })

  it('finds no table by a value hidden from the caller', async () => {
    const email = emailValues[0]!
    const byEmail = customerHit(await search(email, admin.token))
    expect(byEmail?.matches.some((match) => match.field === 'categorical_value' && match.value === email)).toBe(true)
    expect(customerHit(await search(email, editor.token))).toBeUndefined()
    expect(customerHit(await search(email, viewer.token))).toBeUndefined()

    expect(customerHit(await search('Germany', admin.token))).toBeDefined()
    expect(customerHit(await search('Germany', editor.token))).toBeDefined()
    expect(customerHit(await search('Germany', viewer.token))).toBeUndefined()
    // The admin still sees what they saw, after the others' searches.
    expect(customerHit(await search(email, admin.token))).toBeDefined()
  })

  it('shows no hidden value through the MCP tools', async () => {
    const describe = async (key: string) => {
      const called = await rpc(key, 'tools/call', {
        name: 'describe_table',
        arguments: { ...CUSTOMER, project_id: projectId },
      })
      expect(called.status, JSON.stringify(called.body)).toBe(200)
      expect(called.body.result.isError, JSON.stringify(called.body)).toBeUndefined()
      return JSON.stringify(called.body.result)
    }
    const forAdmin = await describe(admin.token)
    expect(emails.some((email) => forAdmin.includes(email))).toBe(true)
    const forViewer = await describe(viewer.token)
    for (const email of emails) expect(forViewer).not.toContain(email)
    expect(forViewer).not.toContain('Germany')
    const forEditor = await describe(editor.token)
    for (const email of emails) expect(forEditor).not.toContain(email)

    const searched = await rpc(viewer.token, 'tools/call', {
      name: 'search_metadata',
      arguments: { query: 'Germany', project_id: projectId },
    })
    expect(searched.status, JSON.stringify(searched.body)).toBe(200)
    expect(JSON.stringify(searched.body.result)).not.toContain('"Customer"')
  })

  it('puts no hidden value in the ask prompt', async () => {
    const forAdmin = await prompted(admin.token)
    expect(emails.some((email) => forAdmin.includes(email))).toBe(true)
    expect(customerLines(forAdmin)).toContain('Germany')

    const forEditor = await prompted(editor.token)
    for (const email of emails) expect(forEditor).not.toContain(email)
    expect(customerLines(forEditor)).toContain('Germany')

    const forViewer = await prompted(viewer.token)
    for (const email of emails) expect(forViewer).not.toContain(email)
    const viewersCustomer = customerLines(forViewer)
    expect(viewersCustomer).toContain('Country')
    expect(viewersCustomer).not.toMatch(/values:|e\.g\./)
    for (const country of countries) expect(viewersCustomer).not.toContain(country)

    // The admin's prompt is as it was.
    expect(await prompted(admin.token)).toBe(forAdmin)
  })
})
