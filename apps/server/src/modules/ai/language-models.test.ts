import { APICallError, embedMany, generateText, LoadAPIKeyError, RetryError } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { isAppError } from '../../lib/errors.js'
import { providerFailure } from './ai.errors.js'
import { providerLanguageModels, withTimeout } from './language-models.js'
import { type FakeOpenAI, startFakeOpenAI } from './openai-compatible.test-support.js'
import { estimatedCost, priceOf } from './model-prices.js'

const answer = (text: string) => ({
  content: [{ type: 'text' as const, text }],
  finishReason: { unified: 'stop' as const, raw: undefined },
  usage: {
    inputTokens: { total: 12, noCache: 12, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 3, text: 3, reasoning: undefined },
  },
  warnings: [],
})

/** A model call that never answers: it ends only when its signal aborts, as a fetch does. */
const untilAborted = ({ abortSignal }: { abortSignal?: AbortSignal | undefined }) =>
  new Promise<never>((_resolve, reject) => {
    if (abortSignal?.aborted) return reject(abortSignal.reason as Error)
    abortSignal?.addEventListener('abort', () => reject(abortSignal.reason as Error))
  })

const apiError = (statusCode: number | undefined, message = `HTTP ${statusCode}`) =>
  new APICallError({
    message,
    url: 'https://api.example.com/v1/chat/completions',
    requestBodyValues: {},
    statusCode,
    isRetryable: false,
  })

describe('providerFailure: what a failed model call tells the client', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'a refused key (401)',
      apiError(401, 'Incorrect API key provided: sk-abc***xyz'),
      /OpenAI \(gpt-4o-mini\): the API key was refused \(HTTP 401\)/,
    ],
    ['a forbidden key (403)', apiError(403), /the API key was refused \(HTTP 403\)/],
    [
      'rate limiting (429)',
      apiError(429, 'Rate limit reached'),
      /rate limiting or out of credit \(HTTP 429\): Rate limit reached/,
    ],
    ['an unknown model (404)', apiError(404), /does not know the model 'gpt-4o-mini' \(HTTP 404\)/],
    ['a server error (503)', apiError(503, 'overloaded'), /OpenAI \(gpt-4o-mini\) failed \(HTTP 503\): overloaded/],
    ['a refused request (400)', apiError(400, 'bad prompt'), /refused the request \(HTTP 400\): bad prompt/],
    [
      'no answer at all',
      apiError(undefined, 'Cannot connect to API: ECONNREFUSED'),
      /could not be reached: Cannot connect/,
    ],
    [
      'a timeout',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      /did not answer within 1500 ms/,
    ],
    ['a missing key', new LoadAPIKeyError({ message: 'missing' }), /no API key is configured/],
    [
      'the last of the AI SDK retries',
      new RetryError({
        message: 'failed after 3 attempts',
        reason: 'maxRetriesExceeded',
        errors: [apiError(500), apiError(502)],
      }),
      /failed \(HTTP 502\)/,
    ],
    ['anything shaped like an API error', Object.assign(new Error('nope'), { statusCode: 401 }), /API key was refused/],
    ['anything else', new Error('socket hang up'), /OpenAI \(gpt-4o-mini\) failed: socket hang up/],
  ]
  for (const [name, error, message] of cases) {
    it(`${name} → 502 connection_error naming the provider`, () => {
      const failure = providerFailure('openai', 'gpt-4o-mini', error, 1500)
      expect(isAppError(failure, 'connection_error')).toBe(true)
      expect(failure.status).toBe(502)
      expect(failure.message).toMatch(message)
      expect(failure.details).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini' })
      expect(failure.cause).toBe(error)
    })
  }

  it('never quotes what the provider said about a refused key (it may echo part of it)', () => {
    expect(
      providerFailure('openai', 'm', apiError(401, 'Incorrect API key provided: sk-abc***xyz'), 1).message,
    ).not.toContain('sk-abc')
  })

  it('names each provider in words', () => {
    expect(providerFailure('anthropic', 'claude-3-5-haiku', apiError(500), 1).message).toMatch(
      /^Anthropic \(claude-3-5-haiku\)/,
    )
    expect(providerFailure('openai-compatible', 'llama3.1', apiError(500), 1).message).toMatch(
      /^the OpenAI-compatible server \(llama3\.1\)/,
    )
  })

  it('quotes a long provider message only in part', () => {
    const failure = providerFailure('openai', 'm', apiError(500, 'x'.repeat(5_000)), 1)
    expect(failure.message.length).toBeLessThan(400)
    expect(failure.message).toMatch(/…$/)
  })
})

describe('withTimeout', () => {
  it('aborts a call that takes longer than the timeout, with a TimeoutError', async () => {
    const slow = new MockLanguageModelV4({ doGenerate: untilAborted })
    const started = performance.now()
    const error = await generateText({ model: withTimeout(slow, 50), prompt: 'hi', maxRetries: 0 }).catch(
      (caught: unknown) => caught,
    )
    expect(performance.now() - started).toBeLessThan(2_000)
    const failure = providerFailure('openai', 'gpt-4o-mini', error, 50)
    expect(failure.message).toBe('OpenAI (gpt-4o-mini) did not answer within 50 ms')
  })

  it('keeps the caller’s own signal: aborting it stops the call at once', async () => {
    const slow = new MockLanguageModelV4({ doGenerate: untilAborted })
    const controller = new AbortController()
    const pending = generateText({
      model: withTimeout(slow, 60_000),
      prompt: 'hi',
      maxRetries: 0,
      abortSignal: controller.signal,
    })
    setTimeout(() => controller.abort(new Error('client went away')), 20)
    await expect(pending).rejects.toThrow('client went away')
  })

  it('passes a call that answers in time through unchanged', async () => {
    const model = new MockLanguageModelV4({ doGenerate: answer('select 1') })
    const result = await generateText({ model: withTimeout(model, 5_000), prompt: 'hi' })
    expect(result.text).toBe('select 1')
    expect(result.usage).toMatchObject({ inputTokens: 12, outputTokens: 3 })
    expect(model.doGenerateCalls[0]?.abortSignal).toBeInstanceOf(AbortSignal)
  })
})

describe('providerLanguageModels against an OpenAI-compatible server on 127.0.0.1', () => {
  let fake: FakeOpenAI
  let baseUrl: string
  const seen = () => fake.seen

  beforeAll(async () => {
    fake = await startFakeOpenAI()
    baseUrl = fake.baseUrl
  })
  afterAll(() => fake.close())

  const settings = (model: string, apiKey = 'good-key') => ({
    provider: 'openai-compatible' as const,
    model,
    baseUrl,
    apiKey,
  })

  it('asks the server with the key as a bearer token and reads the answer and its tokens', async () => {
    const model = providerLanguageModels.languageModel(settings('llama3.1'))
    const result = await generateText({ model: withTimeout(model, 5_000), prompt: 'how many tracks?' })
    expect(result.text).toBe('select 42 as answer')
    expect(result.usage).toMatchObject({ inputTokens: 21, outputTokens: 5 })
    const call = seen().at(-1)!
    expect(call).toMatchObject({ url: '/v1/chat/completions', authorization: 'Bearer good-key' })
    expect(call.body?.model).toBe('llama3.1')
  })

  it('a wrong key: the 401 becomes "the API key was refused"', async () => {
    const model = providerLanguageModels.languageModel(settings('llama3.1', 'wrong-key'))
    const error = await generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((caught: unknown) => caught)
    const failure = providerFailure('openai-compatible', 'llama3.1', error, 5_000)
    expect(failure.status).toBe(502)
    expect(failure.message).toMatch(/the API key was refused \(HTTP 401\)/)
  })

  it('a server error: 502 quoting the server', async () => {
    const model = providerLanguageModels.languageModel(settings('broken'))
    const error = await generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((caught: unknown) => caught)
    expect(providerFailure('openai-compatible', 'broken', error, 5_000).message).toMatch(
      /failed \(HTTP 500\): .*the model crashed/,
    )
  })

  it('nobody listening: "could not be reached"', async () => {
    const model = providerLanguageModels.languageModel({ ...settings('llama3.1'), baseUrl: 'http://127.0.0.1:9/v1' })
    const error = await generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((caught: unknown) => caught)
    expect(providerFailure('openai-compatible', 'llama3.1', error, 5_000).message).toMatch(/could not be reached/)
  })

  it('embeds texts with the embedding model of the same server', async () => {
    const model = providerLanguageModels.embeddingModel(settings('nomic-embed-text'))!
    const { embeddings } = await embedMany({ model, values: ['one', 'three'] })
    expect(embeddings).toEqual([
      [3, 1, 0],
      [5, 1, 0],
    ])
    expect(seen().at(-1)).toMatchObject({ url: '/v1/embeddings', authorization: 'Bearer good-key' })
  })

  it('Anthropic has no embedding models', () => {
    expect(providerLanguageModels.embeddingModel({ provider: 'anthropic', model: 'x', apiKey: 'k' })).toBeNull()
  })

  it('OpenAI and Anthropic models go to the providers’ own URLs unless told otherwise, never to the environment’s', () => {
    const previous = { openai: process.env.OPENAI_BASE_URL, anthropic: process.env.ANTHROPIC_BASE_URL }
    process.env.OPENAI_BASE_URL = 'http://127.0.0.1:1/elsewhere'
    process.env.ANTHROPIC_BASE_URL = 'http://127.0.0.1:1/elsewhere'
    try {
      const openai = providerLanguageModels.languageModel({
        provider: 'openai',
        model: 'gpt-4o-mini',
        apiKey: 'k',
      }) as any
      expect(openai.config.url({ path: '/responses', modelId: 'gpt-4o-mini' })).toBe(
        'https://api.openai.com/v1/responses',
      )
      const anthropic = providerLanguageModels.languageModel({
        provider: 'anthropic',
        model: 'claude',
        apiKey: 'k',
      }) as any
      expect(anthropic.config.baseURL).toBe('https://api.anthropic.com/v1')
      const proxied = providerLanguageModels.languageModel({
        provider: 'openai',
        model: 'gpt-4o-mini',
        baseUrl: 'https://proxy.example.com/v1',
        apiKey: 'k',
      }) as any
      expect(proxied.config.url({ path: '/responses', modelId: 'gpt-4o-mini' })).toBe(
        'https://proxy.example.com/v1/responses',
      )
    } finally {
      for (const [name, value] of [
        ['OPENAI_BASE_URL', previous.openai],
        ['ANTHROPIC_BASE_URL', previous.anthropic],
      ] as const) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }
  })
})

describe('model prices', () => {
  it('prices a dated snapshot as its family, the longest prefix first', () => {
    expect(priceOf('openai', 'gpt-4o-2024-08-06')).toEqual({ input: 2.5, output: 10 })
    expect(priceOf('openai', 'gpt-4o-mini')).toEqual({ input: 0.15, output: 0.6 })
    expect(priceOf('anthropic', 'claude-3-5-haiku-20241022')).toEqual({ input: 0.8, output: 4 })
    expect(priceOf('anthropic', 'claude-sonnet-4-5-20250929')).toEqual({ input: 3, output: 15 })
  })

  it('has no price for unknown models and for any OpenAI-compatible server', () => {
    expect(priceOf('openai', 'gpt-4ox')).toBeNull()
    expect(priceOf('openai-compatible', 'gpt-4o')).toBeNull()
    expect(estimatedCost('openai-compatible', 'llama3.1', 1_000, 1_000)).toBeNull()
  })

  it('estimates cost per million tokens', () => {
    expect(estimatedCost('openai', 'gpt-4o-mini', 1_000_000, 1_000_000)).toBeCloseTo(0.75)
  })
})
