import path from 'node:path'

import type { AiUsage } from '@tributary/contract'
import { MockEmbeddingModelV4, MockLanguageModelV4 } from 'ai/test'
import { afterAll, beforeAll, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'
import { fixedLanguageModels } from './language-models.js'

/**
 * The embedding model, when one is set, feeds the semantic layer's search (the ask pipeline's retrieval and
 * `…/metadata/search`): its tokens are the organization's like a language model's, by model, feature and
 * project. The AI SDK's mock embedding model stands in for the provider.
 */
describeEachStore('embedding usage', (kind) => {
  let sources: ChinookSources
  let app: TestApp
  const embedded: string[][] = []
  /** Each text costs as many tokens as it has words, as the mock reports it. */
  const embedding = new MockEmbeddingModelV4({
    provider: 'openai-compatible.embedding',
    modelId: 'nomic-embed-text',
    doEmbed: async ({ values }) => {
      embedded.push(values)
      return {
        embeddings: values.map((value) => [value.length % 7, value.split(/\s+/).length, 1]),
        usage: { tokens: values.reduce((sum, value) => sum + value.split(/\s+/).filter(Boolean).length, 0) },
        warnings: [],
      }
    },
  })

  beforeAll(async () => {
    sources = await loadChinook([])
    app = await startTestApp(kind, {
      env: {
        TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath),
        TRIBUTARY_AI_PROVIDER: 'openai-compatible',
        TRIBUTARY_AI_MODEL: 'llama3.1',
        TRIBUTARY_AI_BASE_URL: 'http://127.0.0.1:9/v1',
        TRIBUTARY_AI_EMBEDDING_MODEL: 'nomic-embed-text',
      },
      languageModels: fixedLanguageModels(new MockLanguageModelV4(), embedding),
    })
  })
  afterAll(async () => {
    await app?.close()
    await sources?.cleanup()
  })

  it('counts the tokens of every embedding call in the organization’s usage, as the project’s search', async () => {
    const { organization, orgKey } = await createOrganization(app, 'Embeddings')
    const organizationId = (organization as { id: string }).id
    const projectId = (await createProject(app, orgKey, 'Embedded')).id
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
    const usage = async () => {
      const response = await app.request<AiUsage>('GET', `${API}/organizations/${organizationId}/ai-usage`, {
        key: orgKey,
      })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      return response.body
    }
    expect((await usage()).total.total_tokens).toBe(0)

    embedded.length = 0
    const search = await app.request('GET', `${API}/projects/${projectId}/metadata/search?q=music%20genres&limit=3`, {
      key: orgKey,
    })
    expect(search.status, JSON.stringify(search.body)).toBe(200)
    // The tables were embedded to build the index, then the question.
    expect(embedded.length).toBeGreaterThanOrEqual(2)
    expect(embedded).toContainEqual(['music genres'])
    const spent = embedded.flat().reduce((sum, value) => sum + value.split(/\s+/).filter(Boolean).length, 0)
    expect(spent).toBeGreaterThan(2)

    const after = await usage()
    // One request for the tables (however the SDK split them into calls), one for the question.
    expect(after.total).toMatchObject({ requests: 2, input_tokens: spent, output_tokens: 0 })
    expect(after.by_model).toEqual([
      expect.objectContaining({ provider: 'openai-compatible', model: 'nomic-embed-text', input_tokens: spent }),
    ])
    expect(after.by_feature).toEqual([expect.objectContaining({ feature: 'search', input_tokens: spent })])
    expect(after.by_project).toEqual([expect.objectContaining({ project_id: projectId, input_tokens: spent })])
    // Embedding tokens count against the month's budget too.
    expect(after.budget.used_this_month).toBe(spent)

    // The index is kept: a second question embeds only itself.
    embedded.length = 0
    await app.request('GET', `${API}/projects/${projectId}/metadata/search?q=invoices&limit=3`, { key: orgKey })
    expect(embedded).toEqual([['invoices']])
    expect((await usage()).total).toMatchObject({ requests: 3, input_tokens: spent + 1 })
  })
})
