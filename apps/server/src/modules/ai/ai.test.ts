import { randomUUID } from 'node:crypto'

import type { AiPolicy, AiSettings, AiUsage, AuditEntry, Page } from '@tributary/contract'
import { APICallError, generateText } from 'ai'
import { MockEmbeddingModelV4, MockLanguageModelV4 } from 'ai/test'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

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
import type { TenantContext } from '../../auth/principal.js'
import { isAppError } from '../../lib/errors.js'
import type { LanguageModelProvider, ModelSettings } from './language-models.js'
import { type FakeOpenAI, startFakeOpenAI } from './openai-compatible.test-support.js'

const SECRET = `sk-test-${randomUUID()}`

/** What the mock model answers next: a text, or an error to throw. */
let next: { text: string } | { error: unknown } = { text: 'select 1' }

const model = new MockLanguageModelV4({
  doGenerate: async () => {
    if ('error' in next) throw next.error
    return {
      content: [{ type: 'text', text: next.text }],
      finishReason: { unified: 'stop', raw: undefined },
      usage: {
        inputTokens: { total: 30, noCache: 30, cacheRead: undefined, cacheWrite: undefined },
        outputTokens: { total: 7, text: 7, reasoning: undefined },
      },
      warnings: [],
    }
  },
})

/** Whether the mock embedding model fails, as a server that is down would. */
let embeddingFails = false

/** A toy embedding: one dimension for music, one for people, so that "vinyl" lands near albums. */
const vectorOf = (text: string) => [/album|vinyl/i.test(text) ? 1 : 0, /staff|employee/i.test(text) ? 1 : 0, 0.01]

const embeddings = new MockEmbeddingModelV4({
  doEmbed: async ({ values }) => {
    if (embeddingFails) throw new Error('embedding server down')
    return { embeddings: values.map(vectorOf), warnings: [] }
  },
})

/** The AI SDK mock models for any settings, remembering which settings asked for them. */
const asked: ModelSettings[] = []
const languageModels: LanguageModelProvider = {
  languageModel: (settings) => {
    asked.push(settings)
    return model
  },
  embeddingModel: (settings) => {
    asked.push(settings)
    return settings.provider === 'anthropic' ? null : embeddings
  },
}

const tenantOf = (organizationId: string): TenantContext => ({
  principal: { kind: 'organization', keyId: randomUUID(), organizationId, scopes: ['*'] },
  requestId: 'test',
})

describeEachStore('AI settings, policy, budget and usage', (kind) => {
  let app: TestApp
  let org: { id: string; key: string }
  let other: { id: string; key: string; projectId: string }
  let projectId: string
  let secondProjectId: string
  let admin: string
  let editor: string
  let viewer: string

  const settingsPath = (organizationId = org.id) => `${API}/organizations/${organizationId}/ai-settings`
  const usagePath = (organizationId = org.id, query = '') => `${API}/organizations/${organizationId}/ai-usage${query}`
  const policyPath = (id = projectId) => `${API}/projects/${id}/ai-policy`
  const put = (key: string, body: unknown, organizationId = org.id) =>
    app.request<AiSettings>('PUT', settingsPath(organizationId), { key, body })
  const ai = () => app.tributary.services.ai

  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: { TRIBUTARY_AI_PROVIDER: 'openai', TRIBUTARY_AI_MODEL: 'gpt-4o-mini', TRIBUTARY_AI_API_KEY: 'instance-key' },
      languageModels,
    })
    const created = await createOrganization(app, `AI ${randomUUID().slice(0, 8)}`)
    org = { id: created.organization.id, key: created.orgKey }
    projectId = (await createProject(app, org.key, 'Sales')).id
    secondProjectId = (await createProject(app, org.key, 'Support')).id
    admin = (await createUserSession(app, org.key, 'admin')).token
    editor = (await createUserSession(app, org.key, 'editor')).token
    viewer = (await createUserSession(app, org.key, 'viewer')).token
    const second = await createOrganization(app, `Other ${randomUUID().slice(0, 8)}`)
    other = {
      id: second.organization.id,
      key: second.orgKey,
      projectId: (await createProject(app, second.orgKey, 'Theirs')).id,
    }
  })
  afterAll(() => app.close())

  describe('settings', () => {
    it('start on the instance’s model, with nothing of the organization’s own', async () => {
      const response = await app.request<AiSettings>('GET', settingsPath(), { key: viewer })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      expect(response.body).toEqual({
        organization_id: org.id,
        provider: null,
        model: null,
        base_url: null,
        api_key_set: false,
        embedding_model: null,
        monthly_token_budget: null,
        effective: { source: 'instance', provider: 'openai', model: 'gpt-4o-mini', embedding_model: null },
        updated_at: null,
      })
      const resolved = await ai().languageModel(tenantOf(org.id))
      expect(resolved).toMatchObject({ provider: 'openai', modelId: 'gpt-4o-mini' })
      expect(asked.at(-1)).toEqual({
        provider: 'openai',
        model: 'gpt-4o-mini',
        baseUrl: undefined,
        apiKey: 'instance-key',
      })
    })

    it('round trip: the key is write-only, sealed in the store, and reaches only the model', async () => {
      const saved = await put(admin, {
        provider: 'openai-compatible',
        model: 'llama3.1',
        base_url: 'http://127.0.0.1:11434/v1/',
        api_key: SECRET,
        embedding_model: 'nomic-embed-text',
      })
      expect(saved.status, JSON.stringify(saved.body)).toBe(200)
      expect(saved.body).toMatchObject({
        provider: 'openai-compatible',
        model: 'llama3.1',
        base_url: 'http://127.0.0.1:11434/v1',
        api_key_set: true,
        embedding_model: 'nomic-embed-text',
        effective: {
          source: 'organization',
          provider: 'openai-compatible',
          model: 'llama3.1',
          embedding_model: 'nomic-embed-text',
        },
      })
      expect(JSON.stringify(saved.body)).not.toContain(SECRET)

      const read = await app.request<AiSettings>('GET', settingsPath(), { key: viewer })
      expect(read.body).toEqual(saved.body)
      expect(JSON.stringify(read.body)).not.toContain(SECRET)

      const stored = await sql<{
        api_key: string
      }>`select api_key from ai_settings where organization_id = ${org.id}`.execute(app.tributary.store.db)
      expect(stored.rows[0]!.api_key).toMatch(/^v1\./)
      expect(stored.rows[0]!.api_key).not.toContain(SECRET)

      const audit = await app.request<Page<AuditEntry>>('GET', `${API}/audit-log?action=ai_settings.update`, {
        key: org.key,
      })
      expect(audit.body.data.length).toBeGreaterThan(0)
      expect(JSON.stringify(audit.body)).not.toContain(SECRET)

      const resolved = await ai().languageModel(tenantOf(org.id))
      expect(resolved).toMatchObject({ provider: 'openai-compatible', modelId: 'llama3.1' })
      expect(asked.at(-1)).toEqual({
        provider: 'openai-compatible',
        model: 'llama3.1',
        baseUrl: 'http://127.0.0.1:11434/v1',
        apiKey: SECRET,
      })
      next = { text: 'select 42' }
      const result = await generateText({ model: resolved!.model, prompt: 'how many?' })
      expect(result.text).toBe('select 42')

      const embedder = await ai().embedder(tenantOf(org.id))
      expect(embedder?.key).toBe('openai-compatible:http://127.0.0.1:11434/v1:nomic-embed-text')
      expect(await embedder!.embedder.embed(['album', 'staff'])).toEqual([
        [1, 0, 0.01],
        [0, 1, 0.01],
      ])
      expect(asked.at(-1)).toMatchObject({ model: 'nomic-embed-text', apiKey: SECRET })
    })

    it('fields left out keep their value, the key included', async () => {
      const changed = await put(admin, { model: 'qwen2.5-coder' })
      expect(changed.status, JSON.stringify(changed.body)).toBe(200)
      expect(changed.body).toMatchObject({
        model: 'qwen2.5-coder',
        api_key_set: true,
        base_url: 'http://127.0.0.1:11434/v1',
      })
      await ai().languageModel(tenantOf(org.id))
      expect(asked.at(-1)).toMatchObject({ model: 'qwen2.5-coder', apiKey: SECRET })
    })

    it('a key never follows the settings elsewhere: a new base URL without a key drops it', async () => {
      const moved = await put(admin, { base_url: 'https://llm.example.com/v1' })
      expect(moved.status, JSON.stringify(moved.body)).toBe(200)
      expect(moved.body.api_key_set).toBe(false)
      await ai().languageModel(tenantOf(org.id))
      expect(asked.at(-1)).toMatchObject({ baseUrl: 'https://llm.example.com/v1', apiKey: undefined })
    })

    it('OpenAI and Anthropic need a key: changing provider without one is a 422 that says so', async () => {
      const before = await app.request<AiSettings>('GET', settingsPath(), { key: admin })
      await put(admin, { api_key: SECRET })
      const refused = await put(admin, { provider: 'openai', model: 'gpt-4o' })
      expect(refused.status).toBe(422)
      expect(refused.body).toMatchObject({ error: { code: 'validation_error' } })
      expect((refused.body as any).error.message).toMatch(/^api_key: give the API key again/)
      const anthropic = await put(admin, { provider: 'anthropic', model: 'claude-3-5-haiku-latest', api_key: 'ak' })
      expect(anthropic.status, JSON.stringify(anthropic.body)).toBe(422)
      expect((anthropic.body as any).error.message).toMatch(/^embedding_model: Anthropic has no embedding models/)
      const ok = await put(admin, {
        provider: 'anthropic',
        model: 'claude-3-5-haiku-latest',
        api_key: 'ak',
        embedding_model: null,
        base_url: null,
      })
      expect(ok.status, JSON.stringify(ok.body)).toBe(200)
      expect(ok.body).toMatchObject({ provider: 'anthropic', api_key_set: true, embedding_model: null })
      expect(await ai().embedder(tenantOf(org.id))).toBeNull()
      expect(before.status).toBe(200)
    })

    it('`none` turns language models off for the organization; null returns to the instance’s', async () => {
      const off = await put(admin, { provider: 'none' })
      expect(off.status, JSON.stringify(off.body)).toBe(200)
      expect(off.body).toMatchObject({
        provider: 'none',
        model: null,
        api_key_set: false,
        effective: { source: 'none', provider: null, model: null },
      })
      expect(await ai().languageModel(tenantOf(org.id))).toBeNull()
      const back = await put(admin, { provider: null })
      expect(back.status, JSON.stringify(back.body)).toBe(200)
      expect(back.body.effective).toMatchObject({ source: 'instance', provider: 'openai', model: 'gpt-4o-mini' })
      expect(await ai().languageModel(tenantOf(org.id))).toMatchObject({ provider: 'openai', modelId: 'gpt-4o-mini' })
    })

    it('a key sealed under another instance secret: a 502 that says to set it again, settings still readable', async () => {
      const created = await createOrganization(app, `Resealed ${randomUUID().slice(0, 8)}`)
      const saved = await put(
        created.orgKey,
        { provider: 'openai', model: 'gpt-4o', api_key: 'k' },
        created.organization.id,
      )
      expect(saved.status).toBe(200)
      await sql`update ai_settings set api_key = ${'v1.AAAA.BBBB.CCCC'} where organization_id = ${created.organization.id}`.execute(
        app.tributary.store.db,
      )
      const failure = await ai()
        .languageModel(tenantOf(created.organization.id))
        .catch((error: unknown) => error)
      expect(failure).toMatchObject({ code: 'connection_error', status: 502 })
      expect((failure as Error).message).toMatch(/cannot be decrypted.*set it again/)
      const read = await app.request('GET', settingsPath(created.organization.id), { key: created.orgKey })
      expect(read.body).toMatchObject({ api_key_set: true, effective: { source: 'organization' } })
    })

    it('another organization is untouched by all this', async () => {
      const theirs = await app.request<AiSettings>('GET', settingsPath(other.id), { key: other.key })
      expect(theirs.status).toBe(200)
      expect(theirs.body).toMatchObject({ organization_id: other.id, provider: null, api_key_set: false })
    })
  })

  describe('who may read and change them', () => {
    const cases: [string, () => string, number, number][] = [
      ['the organization key', () => org.key, 200, 200],
      ['an admin', () => admin, 200, 200],
      ['an editor', () => editor, 200, 403],
      ['a viewer', () => viewer, 200, 403],
    ]
    for (const [who, key, read, write] of cases) {
      it(`${who}: GET → ${read}, PUT → ${write}`, async () => {
        expect((await app.request('GET', settingsPath(), { key: key() })).status).toBe(read)
        const response = await put(key(), { monthly_token_budget: null })
        expect(response.status, JSON.stringify(response.body)).toBe(write)
        if (write === 403) expect(response.body).toMatchObject({ error: { code: 'authorization_error' } })
      })
    }

    it('a project key acts inside its project only: 403 on the organization’s settings and usage', async () => {
      const { key } = await createProjectKey(app, org.key, projectId)
      expect((await app.request('GET', settingsPath(), { key })).status).toBe(403)
      expect((await put(key, { monthly_token_budget: 5 })).status).toBe(403)
      expect((await app.request('GET', usagePath(), { key })).status).toBe(403)
    })

    it('an organization key without the admin scope reads but does not write', async () => {
      const created = await app.request('POST', `${API}/organizations/${org.id}/api-keys`, {
        key: app.platformKey,
        body: { name: 'query only', scopes: ['query'] },
      })
      expect(created.status).toBe(201)
      const key = (created.body as { key: string }).key
      expect((await app.request('GET', settingsPath(), { key })).status).toBe(200)
      expect((await put(key, { monthly_token_budget: 5 })).status).toBe(403)
    })

    it('the platform key manages organizations, not their AI: 403', async () => {
      expect((await app.request('GET', settingsPath(), { key: app.platformKey })).status).toBe(403)
    })

    it('no credentials: 401', async () => {
      expect((await app.request('GET', settingsPath())).status).toBe(401)
      expect((await app.request('PUT', settingsPath(), { body: { model: 'x' } })).status).toBe(401)
    })
  })

  describe('tenant isolation', () => {
    it('another organization’s settings, usage and project policies are missing (404), never forbidden', async () => {
      for (const [method, path, body] of [
        ['GET', settingsPath(other.id), undefined],
        ['PUT', settingsPath(other.id), { provider: 'none' }],
        ['GET', usagePath(other.id), undefined],
        ['GET', policyPath(other.projectId), undefined],
        ['PUT', policyPath(other.projectId), { share_rows: true }],
      ] as const) {
        const response = await app.request(method, path, { key: org.key, body })
        expect(response.status, `${method} ${path}`).toBe(404)
        expect(response.body).toMatchObject({ error: { code: 'not_found' } })
      }
      const theirs = await app.request<AiSettings>('GET', settingsPath(other.id), { key: other.key })
      expect(theirs.body.provider).toBeNull()
      const policy = await app.request<AiPolicy>('GET', policyPath(other.projectId), { key: other.key })
      expect(policy.body.share_rows).toBe(false)
    })

    it('an unknown organization or project: 404', async () => {
      expect((await app.request('GET', settingsPath(randomUUID()), { key: org.key })).status).toBe(404)
      expect((await app.request('GET', policyPath(randomUUID()), { key: org.key })).status).toBe(404)
    })
  })

  describe('bad input → 422 naming the field, nothing changed', () => {
    const bad: [string, unknown, RegExp][] = [
      ['an unknown provider', { provider: 'gemini', model: 'x' }, /provider/],
      [
        'a base URL that is not http(s)',
        { provider: 'openai-compatible', model: 'x', base_url: 'ftp://host/v1' },
        /base_url/,
      ],
      [
        'a base URL with credentials',
        { provider: 'openai-compatible', model: 'x', base_url: 'http://u:p@host/v1' },
        /base_url/,
      ],
      [
        'a base URL with a query',
        { provider: 'openai-compatible', model: 'x', base_url: 'http://host/v1?x=1' },
        /base_url/,
      ],
      ['not a URL at all', { provider: 'openai-compatible', model: 'x', base_url: 'localhost:11434' }, /base_url/],
      [
        'a provider without a model',
        { provider: 'openai-compatible', base_url: 'http://127.0.0.1:11434/v1' },
        /^model: is required/,
      ],
      [
        'openai-compatible without a base URL',
        { provider: 'openai-compatible', model: 'llama3.1' },
        /^base_url: is required/,
      ],
      ['openai without a key', { provider: 'openai', model: 'gpt-4o' }, /^api_key: is required/],
      ['a model while the instance’s provider is used', { model: 'gpt-4o' }, /^model: cannot be set/],
      ['a model with provider none', { provider: 'none', model: 'gpt-4o' }, /^model: cannot be set/],
      ['an empty model', { provider: 'openai', model: '  ', api_key: 'k' }, /model/],
      ['an empty key', { provider: 'openai', model: 'gpt-4o', api_key: '' }, /api_key/],
      ['a negative budget', { monthly_token_budget: -1 }, /monthly_token_budget/],
      ['a fractional budget', { monthly_token_budget: 1.5 }, /monthly_token_budget/],
      ['a budget as a string', { monthly_token_budget: '100' }, /monthly_token_budget/],
      ['an unknown field', { provider: 'none', temperature: 2 }, /temperature|unrecognized/i],
      ['an empty body', {}, /at least one field/],
      ['NUL in a model id', { provider: 'openai', model: 'gpt\u00004o', api_key: 'k' }, /model/],
    ]
    for (const [name, body, message] of bad) {
      it(name, async () => {
        const before = await app.request<AiSettings>('GET', settingsPath(), { key: admin })
        const response = await put(admin, body)
        expect(response.status, JSON.stringify(response.body)).toBe(422)
        expect(response.body).toMatchObject({ error: { code: 'validation_error' } })
        expect((response.body as any).error.message).toMatch(message)
        expect((await app.request('GET', settingsPath(), { key: admin })).body).toEqual(before.body)
      })
    }

    it('a body that is not JSON: 415 or 422, never 500', async () => {
      const response = await app.request('PUT', settingsPath(), {
        key: admin,
        rawBody: 'provider=openai',
        headers: { 'content-type': 'text/plain' },
      })
      expect([415, 422]).toContain(response.status)
      const broken = await app.request('PUT', settingsPath(), {
        key: admin,
        rawBody: '{"provider":',
        headers: { 'content-type': 'application/json' },
      })
      expect(broken.status).toBe(422)
    })

    it('ids that are not UUIDs: 422', async () => {
      expect((await app.request('GET', `${API}/organizations/nope/ai-settings`, { key: admin })).status).toBe(422)
      expect((await app.request('GET', `${API}/projects/nope/ai-policy`, { key: admin })).status).toBe(422)
    })

    it('usage periods: a bad date, or from after to, is a 422', async () => {
      for (const query of [
        '?from=yesterday',
        '?to=2026-13-01',
        '?from=2026-11-02&to=2026-11-01',
        '?since=2026-01-01',
      ]) {
        const response = await app.request('GET', usagePath(org.id, query), { key: admin })
        expect(response.status, `${query}: ${JSON.stringify(response.body)}`).toBe(422)
      }
      const future = await app.request('GET', usagePath(org.id, '?from=2999-01-01'), { key: admin })
      expect(future.status).toBe(422)
      expect(future.body.error.message).toMatch(/^from: must be before to/)
    })

    it('policies: not booleans, unknown fields or nothing at all', async () => {
      for (const body of [{ share_rows: 'yes' }, { share_everything: true }, {}]) {
        const response = await app.request('PUT', policyPath(), { key: admin, body })
        expect(response.status, JSON.stringify(body)).toBe(422)
      }
    })
  })

  describe('project data policy', () => {
    it('defaults to sharing values but not rows', async () => {
      const response = await app.request<AiPolicy>('GET', policyPath(secondProjectId), { key: viewer })
      expect(response.status).toBe(200)
      expect(response.body).toEqual({
        project_id: secondProjectId,
        share_values: true,
        share_rows: false,
        updated_at: null,
      })
      expect(await ai().policy(tenantOf(org.id), secondProjectId)).toEqual({ share_values: true, share_rows: false })
    })

    it('editors change it, fields left out keep their value; the pipeline reads it', async () => {
      const rows = await app.request<AiPolicy>('PUT', policyPath(), { key: editor, body: { share_rows: true } })
      expect(rows.status, JSON.stringify(rows.body)).toBe(200)
      expect(rows.body).toMatchObject({ share_values: true, share_rows: true })
      const values = await app.request<AiPolicy>('PUT', policyPath(), { key: admin, body: { share_values: false } })
      expect(values.body).toMatchObject({ share_values: false, share_rows: true })
      expect(values.body.updated_at).not.toBeNull()
      expect(await ai().policy(tenantOf(org.id), projectId)).toEqual({ share_values: false, share_rows: true })
      // The other project keeps its own.
      expect(await ai().policy(tenantOf(org.id), secondProjectId)).toEqual({ share_values: true, share_rows: false })
      // Another organization asking for this project id gets the defaults, never this policy.
      expect(await ai().policy(tenantOf(other.id), projectId)).toEqual({ share_values: true, share_rows: false })
    })

    it('viewers and keys without the admin scope read it but do not change it', async () => {
      const queryKey = await createProjectKey(app, org.key, projectId, ['query'])
      const allKey = await createProjectKey(app, org.key, projectId, ['*'])
      for (const key of [viewer, queryKey.key]) {
        expect((await app.request('GET', policyPath(), { key })).status).toBe(200)
        const refused = await app.request('PUT', policyPath(), { key, body: { share_rows: false } })
        expect(refused.status).toBe(403)
      }
      expect((await app.request('PUT', policyPath(), { key: allKey.key, body: { share_rows: true } })).status).toBe(200)
      // A project key sees only its own project.
      expect((await app.request('GET', policyPath(secondProjectId), { key: allKey.key })).status).toBe(404)
    })
  })

  describe('budget and usage', () => {
    let budgetOrg: { id: string; key: string }
    let projects: string[]

    beforeAll(async () => {
      const created = await createOrganization(app, `Budget ${randomUUID().slice(0, 8)}`)
      budgetOrg = { id: created.organization.id, key: created.orgKey }
      projects = [(await createProject(app, budgetOrg.key, 'A')).id, (await createProject(app, budgetOrg.key, 'B')).id]
    })

    it('without a budget, spending is never refused', async () => {
      await ai().recordUsage(tenantOf(budgetOrg.id), {
        projectId: projects[0]!,
        feature: 'ask',
        provider: 'openai',
        modelId: 'gpt-4o-mini',
        inputTokens: 1_000_000,
        outputTokens: 1_000_000,
      })
      await expect(ai().assertBudget(tenantOf(budgetOrg.id))).resolves.toBeUndefined()
    })

    it('once the month’s tokens are spent: 429 quota_exceeded, until the budget is raised', async () => {
      const set = await put(budgetOrg.key, { monthly_token_budget: 2_000_100 }, budgetOrg.id)
      expect(set.status, JSON.stringify(set.body)).toBe(200)
      await expect(ai().assertBudget(tenantOf(budgetOrg.id))).resolves.toBeUndefined()
      await ai().recordUsage(tenantOf(budgetOrg.id), {
        projectId: projects[1]!,
        feature: 'generate',
        provider: 'openai-compatible',
        modelId: 'llama3.1',
        inputTokens: 80,
        outputTokens: 20,
      })
      const refused = await ai()
        .assertBudget(tenantOf(budgetOrg.id))
        .catch((error: unknown) => error)
      expect(isAppError(refused, 'quota_exceeded')).toBe(true)
      expect((refused as { status: number }).status).toBe(429)
      expect((refused as Error).message).toMatch(/monthly AI token budget \(2000100\) is spent \(2000100 used\)/)
      expect((refused as { details: unknown }).details).toMatchObject({
        monthly_token_budget: 2_000_100,
        used_this_month: 2_000_100,
      })
      const raised = await put(budgetOrg.key, { monthly_token_budget: 3_000_000 }, budgetOrg.id)
      expect(raised.body.monthly_token_budget).toBe(3_000_000)
      await expect(ai().assertBudget(tenantOf(budgetOrg.id))).resolves.toBeUndefined()
    })

    it('a budget of 0 stops every call; tokens the provider did not report count as none', async () => {
      await put(budgetOrg.key, { monthly_token_budget: 0 }, budgetOrg.id)
      await expect(ai().assertBudget(tenantOf(budgetOrg.id))).rejects.toMatchObject({ code: 'quota_exceeded' })
      await ai().recordUsage(tenantOf(budgetOrg.id), {
        projectId: null,
        feature: 'suggest',
        provider: 'anthropic',
        modelId: 'claude-3-5-haiku-20241022',
        inputTokens: undefined,
        outputTokens: Number.NaN,
      })
      await put(budgetOrg.key, { monthly_token_budget: null }, budgetOrg.id)
    })

    it('usage adds up by model, feature and project, with estimated costs', async () => {
      await ai().recordUsage(tenantOf(budgetOrg.id), {
        projectId: projects[0]!,
        feature: 'ask',
        provider: 'anthropic',
        modelId: 'claude-3-5-haiku-20241022',
        inputTokens: 1_000,
        outputTokens: 500,
      })
      // Last year's call is outside this month, and inside an explicit period.
      await sql`insert into ai_usage (id, organization_id, project_id, feature, provider, model, input_tokens, output_tokens, created_at)
        values (${randomUUID()}, ${budgetOrg.id}, ${projects[0]!}, 'ask', 'openai', 'gpt-4o', 1000, 1000, '2020-03-15T12:00:00Z')`.execute(
        app.tributary.store.db,
      )
      const response = await app.request<AiUsage>('GET', usagePath(budgetOrg.id), { key: budgetOrg.key })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      const usage = response.body
      expect(usage.organization_id).toBe(budgetOrg.id)
      expect(usage.total).toEqual({
        requests: 4,
        input_tokens: 1_000_000 + 80 + 0 + 1_000,
        output_tokens: 1_000_000 + 20 + 0 + 500,
        total_tokens: 2_001_600,
        estimated_cost_usd: 0.7528,
        unpriced_tokens: 100,
      })
      expect(usage.by_model).toEqual([
        expect.objectContaining({
          provider: 'openai',
          model: 'gpt-4o-mini',
          requests: 1,
          total_tokens: 2_000_000,
          estimated_cost_usd: 0.75,
        }),
        expect.objectContaining({
          provider: 'anthropic',
          model: 'claude-3-5-haiku-20241022',
          requests: 2,
          total_tokens: 1_500,
          estimated_cost_usd: 0.0028,
        }),
        expect.objectContaining({
          provider: 'openai-compatible',
          model: 'llama3.1',
          total_tokens: 100,
          estimated_cost_usd: null,
          unpriced_tokens: 100,
        }),
      ])
      expect(usage.by_feature.map((part) => [part.feature, part.total_tokens])).toEqual([
        ['ask', 2_001_500],
        ['generate', 100],
        ['suggest', 0],
      ])
      expect(usage.by_project.map((part) => [part.project_id, part.total_tokens])).toEqual([
        [projects[0], 2_001_500],
        [projects[1], 100],
        [null, 0],
      ])
      expect(usage.budget).toMatchObject({ monthly_token_budget: null, used_this_month: 2_001_600, remaining: null })

      const past = await app.request<AiUsage>('GET', usagePath(budgetOrg.id, '?from=2020-03-01&to=2020-04-01'), {
        key: budgetOrg.key,
      })
      expect(past.status).toBe(200)
      expect(past.body).toMatchObject({ from: '2020-03-01T00:00:00.000Z', to: '2020-04-01T00:00:00.000Z' })
      expect(past.body.total).toMatchObject({ requests: 1, total_tokens: 2_000, estimated_cost_usd: 0.0125 })

      // Members read usage; another organization's stays its own.
      const viewerOfBudget = (await createUserSession(app, budgetOrg.key, 'viewer')).token
      expect((await app.request('GET', usagePath(budgetOrg.id), { key: viewerOfBudget })).status).toBe(200)
      // (the other organization's only call: the embedding made in the settings test above)
      const other = await app.request<AiUsage>('GET', usagePath(), { key: org.key })
      expect(other.body.total.requests).toBe(1)
      expect(other.body.by_model).toEqual([expect.objectContaining({ model: 'nomic-embed-text' })])
      expect(other.body.by_feature).toEqual([expect.objectContaining({ feature: 'search' })])
    })

    it('the remaining budget shows in usage', async () => {
      await put(budgetOrg.key, { monthly_token_budget: 2_500_000 }, budgetOrg.id)
      const response = await app.request<AiUsage>('GET', usagePath(budgetOrg.id), { key: budgetOrg.key })
      expect(response.body.budget).toMatchObject({ monthly_token_budget: 2_500_000, remaining: 498_400 })
    })
  })

  describe('the embedding model feeds metadata search', () => {
    let embedOrg: { id: string; key: string }
    let project: string
    const search = (q: string) =>
      app.request<{ data: { table: string }[] }>(
        'GET',
        `${API}/projects/${project}/metadata/search?q=${encodeURIComponent(q)}&limit=5`,
        { key: embedOrg.key },
      )

    beforeAll(async () => {
      const created = await createOrganization(app, `Embed ${randomUUID().slice(0, 8)}`)
      embedOrg = { id: created.organization.id, key: created.orgKey }
      project = (await createProject(app, embedOrg.key, 'Music')).id
      const dataset = await app.request<{ id: string }>('POST', `${API}/projects/${project}/datasets`, {
        key: embedOrg.key,
        body: { name: 'shop' },
      })
      expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
      for (const [name, column] of [
        ['albums', 'title'],
        ['staff', 'full_name'],
      ]) {
        const table = await app.request('POST', `${API}/projects/${project}/datasets/${dataset.body.id}/tables`, {
          key: embedOrg.key,
          body: { name, schema: [{ name: column, type: 'VARCHAR' }] },
        })
        expect(table.status, JSON.stringify(table.body)).toBe(201)
      }
      const started = await app.request<{ id: string }>('POST', `${API}/projects/${project}/metadata/refresh`, {
        key: embedOrg.key,
        body: { catalog: 'internal' },
      })
      expect(started.status, JSON.stringify(started.body)).toBe(202)
      const deadline = Date.now() + 30_000
      for (;;) {
        const job = await app.request<{ status: string }>(
          'GET',
          `${API}/projects/${project}/metadata/refresh/${started.body.id}`,
          { key: embedOrg.key },
        )
        if (job.body.status === 'succeeded') break
        if (job.body.status === 'failed' || Date.now() > deadline) throw new Error(JSON.stringify(job.body))
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })

    it('without an embedding model, a word the metadata lacks finds nothing', async () => {
      const found = await search('vinyl')
      expect(found.status, JSON.stringify(found.body)).toBe(200)
      expect(found.body.data).toEqual([])
    })

    it('with one, the same search ranks by meaning too: "vinyl" finds the albums', async () => {
      const saved = await put(
        embedOrg.key,
        {
          provider: 'openai-compatible',
          model: 'llama3.1',
          base_url: 'http://127.0.0.1:11434/v1',
          embedding_model: 'nomic-embed-text',
        },
        embedOrg.id,
      )
      expect(saved.status, JSON.stringify(saved.body)).toBe(200)
      const found = await search('vinyl')
      expect(found.status, JSON.stringify(found.body)).toBe(200)
      expect(found.body.data[0]?.table).toBe('albums')
      expect(asked.at(-1)).toMatchObject({ provider: 'openai-compatible', model: 'nomic-embed-text' })
    })

    it('an embedding model that fails leaves the words to rank alone, never a failed search', async () => {
      embeddingFails = true
      try {
        await put(embedOrg.key, { embedding_model: 'other-embedder' }, embedOrg.id)
        const found = await search('staff')
        expect(found.status, JSON.stringify(found.body)).toBe(200)
        expect(found.body.data[0]?.table).toBe('staff')
      } finally {
        embeddingFails = false
      }
    })
  })

  describe('providerError: a failing provider as the client sees it', () => {
    it('maps the errors of a mock model through the resolved model', async () => {
      const resolved = (await ai().languageModel(tenantOf(other.id)))!
      expect(resolved).toMatchObject({ provider: 'openai', modelId: 'gpt-4o-mini' })
      const call = async (error: unknown) => {
        next = { error }
        try {
          return await generateText({ model: resolved.model, prompt: 'hi', maxRetries: 0 }).catch((caught: unknown) =>
            ai().providerError(resolved, caught),
          )
        } finally {
          next = { text: 'select 1' }
        }
      }
      const refused = await call(
        new APICallError({
          message: 'Incorrect API key',
          url: 'u',
          requestBodyValues: {},
          statusCode: 401,
          isRetryable: false,
        }),
      )
      expect(refused).toMatchObject({ code: 'connection_error', status: 502 })
      expect((refused as Error).message).toBe(
        'OpenAI (gpt-4o-mini): the API key was refused (HTTP 401); check the API key in the AI settings',
      )
      const down = await call(
        new APICallError({
          message: 'Bad gateway',
          url: 'u',
          requestBodyValues: {},
          statusCode: 503,
          isRetryable: true,
        }),
      )
      expect((down as Error).message).toBe('OpenAI (gpt-4o-mini) failed (HTTP 503): Bad gateway')
      const slow = await call(new DOMException('timed out', 'TimeoutError'))
      expect((slow as Error).message).toBe('OpenAI (gpt-4o-mini) did not answer within 60000 ms')
    })
  })
})

describe('the real providers, from the instance’s configuration through the composition root', () => {
  let fake: FakeOpenAI
  let app: TestApp

  beforeAll(async () => {
    fake = await startFakeOpenAI()
    app = await startTestApp('pglite', {
      env: {
        TRIBUTARY_AI_PROVIDER: 'openai-compatible',
        TRIBUTARY_AI_MODEL: 'llama3.1',
        TRIBUTARY_AI_BASE_URL: `${fake.baseUrl}/`,
        TRIBUTARY_AI_API_KEY: 'good-key',
        TRIBUTARY_AI_EMBEDDING_MODEL: 'nomic-embed-text',
      },
    })
  })
  afterAll(async () => {
    await app?.close()
    await fake?.close()
  })

  it('asks the configured server, with the configured key, and reads its tokens', async () => {
    const { organization } = await createOrganization(app, 'Configured')
    const resolved = (await app.tributary.services.ai.languageModel(tenantOf(organization.id)))!
    expect(resolved).toMatchObject({ provider: 'openai-compatible', modelId: 'llama3.1' })
    const result = await generateText({ model: resolved.model, prompt: 'how many tracks?' })
    expect(result.text).toBe('select 42 as answer')
    expect(result.usage).toMatchObject({ inputTokens: 21, outputTokens: 5 })
    expect(fake.seen.at(-1)).toMatchObject({ url: '/v1/chat/completions', authorization: 'Bearer good-key' })
    const embedder = (await app.tributary.services.ai.embedder(tenantOf(organization.id)))!
    expect(await embedder.embedder.embed(['four'])).toEqual([[4, 1, 0]])
  })

  it('an organization’s own key that the server refuses: 502 saying the key was refused', async () => {
    const { organization, orgKey } = await createOrganization(app, 'Wrong key')
    const saved = await app.request('PUT', `${API}/organizations/${organization.id}/ai-settings`, {
      key: orgKey,
      body: { provider: 'openai-compatible', model: 'llama3.1', base_url: fake.baseUrl, api_key: 'wrong-key' },
    })
    expect(saved.status, JSON.stringify(saved.body)).toBe(200)
    const resolved = (await app.tributary.services.ai.languageModel(tenantOf(organization.id)))!
    const failure = await generateText({ model: resolved.model, prompt: 'hi', maxRetries: 0 }).catch((error: unknown) =>
      app.tributary.services.ai.providerError(resolved, error),
    )
    expect(failure).toMatchObject({ code: 'connection_error', status: 502 })
    expect((failure as Error).message).toBe(
      'the OpenAI-compatible server (llama3.1): the API key was refused (HTTP 401); check the API key in the AI settings',
    )
    expect(fake.seen.at(-1)).toMatchObject({ authorization: 'Bearer wrong-key' })
  })
})
