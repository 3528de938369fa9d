import { createAnthropic } from '@ai-sdk/anthropic'
import { createOpenAI } from '@ai-sdk/openai'
import { createOpenAICompatible } from '@ai-sdk/openai-compatible'
import type { AiProvider } from '@tributary/contract'
import { type EmbeddingModel, type LanguageModel, wrapLanguageModel } from 'ai'

/** A model object, never a string id (which the AI SDK would send to its gateway). */
export type LanguageModelObject = Exclude<LanguageModel, string>
export type EmbeddingModelObject = Exclude<EmbeddingModel, string>

/** Where and how to reach one model: an organization's settings or the instance's, the key opened. */
export interface ModelSettings {
  provider: AiProvider
  model: string
  /** Required for `openai-compatible`; the provider's own API otherwise. */
  baseUrl?: string | undefined
  apiKey?: string | undefined
}

/**
 * The seam between settings and the AI SDK: what turns a provider, a model id, a URL and a key into
 * a model to call. The server uses `providerLanguageModels`; tests inject AI SDK mock models through
 * `TributaryOptions.languageModels`, so no test reaches the network.
 */
export interface LanguageModelProvider {
  languageModel(settings: ModelSettings): LanguageModelObject
  /** Null when the provider has no embedding models (Anthropic). */
  embeddingModel(settings: ModelSettings): EmbeddingModelObject | null
}

/**
 * The defaults are written out: without them, the SDKs would read `OPENAI_BASE_URL` and friends from
 * the environment, and a key could go where an organization's settings did not say.
 */
const DEFAULT_BASE_URLS: Record<Exclude<AiProvider, 'openai-compatible'>, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com/v1',
}

/** The real providers, over HTTP. */
export const providerLanguageModels: LanguageModelProvider = {
  languageModel(settings) {
    switch (settings.provider) {
      case 'openai':
        return createOpenAI({ baseURL: settings.baseUrl ?? DEFAULT_BASE_URLS.openai, apiKey: keyOf(settings) })(
          settings.model,
        )
      case 'anthropic':
        return createAnthropic({
          baseURL: settings.baseUrl ?? DEFAULT_BASE_URLS.anthropic,
          apiKey: keyOf(settings),
        })(settings.model)
      case 'openai-compatible':
        return compatible(settings).chatModel(settings.model)
    }
  },
  embeddingModel(settings) {
    switch (settings.provider) {
      case 'openai':
        return createOpenAI({
          baseURL: settings.baseUrl ?? DEFAULT_BASE_URLS.openai,
          apiKey: keyOf(settings),
        }).embeddingModel(settings.model)
      case 'anthropic':
        return null
      case 'openai-compatible':
        return compatible(settings).embeddingModel(settings.model)
    }
  },
}

function compatible(settings: ModelSettings) {
  if (!settings.baseUrl) throw new Error('an openai-compatible provider needs a base URL')
  return createOpenAICompatible({
    name: 'openai-compatible',
    baseURL: settings.baseUrl,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    includeUsage: true,
  })
}

/** OpenAI and Anthropic need a key; an empty one fails at the provider (401), never falls back to the environment. */
function keyOf(settings: ModelSettings): string {
  return settings.apiKey ?? ''
}

/**
 * The same models for any settings: for tests (AI SDK mock models) and embedded uses. Which provider
 * and model id are reported still comes from the settings.
 *
 * @example
 * startTestApp('pglite', {
 *   env: { TRIBUTARY_AI_PROVIDER: 'openai', TRIBUTARY_AI_MODEL: 'gpt-4o-mini', TRIBUTARY_AI_API_KEY: 'test' },
 *   languageModels: fixedLanguageModels(new MockLanguageModelV4({ doGenerate: … })),
 * })
 */
export function fixedLanguageModels(
  model: LanguageModelObject,
  embedding: EmbeddingModelObject | null = null,
): LanguageModelProvider {
  return { languageModel: () => model, embeddingModel: () => embedding }
}

/** A model whose every call is aborted after `timeoutMs`, on top of the caller's own signal. */
export function withTimeout(model: LanguageModelObject, timeoutMs: number): LanguageModelObject {
  return wrapLanguageModel({
    model,
    middleware: {
      specificationVersion: 'v4',
      transformParams: async ({ params }) => ({ ...params, abortSignal: timeoutSignal(params.abortSignal, timeoutMs) }),
    },
  })
}

/** The caller's signal, if any, combined with a timer; a timeout aborts with a `TimeoutError`. */
export function timeoutSignal(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal ? AbortSignal.any([signal, timeout]) : timeout
}
