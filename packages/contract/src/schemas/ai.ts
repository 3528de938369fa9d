import { z } from 'zod'

import { Id, Text, Timestamp } from './common.js'

/** The language model providers the server can call. */
export const AI_PROVIDERS = ['openai', 'anthropic', 'openai-compatible'] as const
export const AiProvider = z.enum(AI_PROVIDERS)
export type AiProvider = z.infer<typeof AiProvider>

/** What an organization may choose: a provider, or `none` to stay offline whatever the instance offers. */
export const AI_PROVIDER_CHOICES = [...AI_PROVIDERS, 'none'] as const
export const AiProviderChoice = z.enum(AI_PROVIDER_CHOICES)
export type AiProviderChoice = z.infer<typeof AiProviderChoice>

/**
 * What spent tokens: a question asked, descriptions generated, questions suggested, and the semantic
 * layer's search (texts embedded by the embedding model, for the ask pipeline and `…/metadata/search`).
 */
export const AI_FEATURES = ['ask', 'generate', 'suggest', 'search'] as const
export const AiFeature = z.enum(AI_FEATURES)
export type AiFeature = z.infer<typeof AiFeature>

const ModelId = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .pipe(Text)
  .meta({ example: 'gpt-4o-mini' })

/**
 * Where an OpenAI-compatible server (or a proxy of OpenAI or Anthropic) answers. Credentials in the
 * URL are refused: the URL is shown to every member, the key is write-only.
 */
export const AiBaseUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2000, 'must be at most 2000 characters')
  .refine((url) => {
    const parsed = new URL(url)
    return parsed.username === '' && parsed.password === ''
  }, 'must not carry credentials; give the key as `api_key`')
  .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment')
  .transform((url) => url.replace(/\/+$/, ''))
  .meta({ example: 'http://127.0.0.1:11434/v1' })

const ApiKeyValue = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(1000, 'must be at most 1000 characters')
  .pipe(Text)

const TokenBudget = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be at least 0')
  .max(1e15, 'must be at most 1000000000000000')

export const AiSettings = z
  .object({
    organization_id: Id,
    provider: AiProviderChoice.nullable().meta({
      description:
        "The organization's provider; null uses the instance's (`TRIBUTARY_AI_*`), `none` stays offline (no language model)",
    }),
    model: z.string().nullable(),
    base_url: z.string().nullable(),
    api_key_set: z.boolean().meta({ description: 'Whether an API key is stored; the key itself is never returned' }),
    embedding_model: z.string().nullable().meta({
      description: 'An embedding model of the same provider; when set, it adds vector similarity to metadata search',
    }),
    monthly_token_budget: z
      .number()
      .int()
      .nullable()
      .meta({
        description:
          'Tokens (input and output) the organization may spend per calendar month (UTC); null is unlimited. ' +
          'Once spent, AI features answer `429 quota_exceeded`',
      }),
    effective: z
      .object({
        source: z.enum(['organization', 'instance', 'none']),
        provider: AiProvider.nullable(),
        model: z.string().nullable(),
        embedding_model: z.string().nullable(),
      })
      .meta({ description: 'The model questions use now: the organization’s, the instance’s, or none (offline)' }),
    updated_at: Timestamp.nullable(),
  })
  .meta({ id: 'AiSettings' })
export type AiSettings = z.infer<typeof AiSettings>

export const UpdateAiSettings = z
  .strictObject({
    provider: AiProviderChoice.nullable().optional().meta({
      description: 'null returns to the instance’s provider; `none` turns language models off for the organization',
    }),
    model: ModelId.nullable().optional(),
    base_url: AiBaseUrl.nullable().optional().meta({
      description: 'Required for `openai-compatible` (Ollama: `http://127.0.0.1:11434/v1`); a proxy for the others',
    }),
    api_key: ApiKeyValue.nullable()
      .optional()
      .meta({
        description:
          'Write-only, encrypted at rest. Left out, the stored key stays, unless `provider` or `base_url` changes: ' +
          'a key is never sent anywhere but where it was given for. null removes it',
      }),
    embedding_model: ModelId.nullable().optional().meta({ example: 'text-embedding-3-small' }),
    monthly_token_budget: TokenBudget.nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateAiSettings', description: 'Fields left out keep their value' })
export type UpdateAiSettings = z.infer<typeof UpdateAiSettings>

export const AiPolicy = z
  .object({
    project_id: Id,
    share_values: z.boolean().meta({
      description: 'Categorical and sample values may be sent to the language model (schema and metadata always are)',
    }),
    share_rows: z.boolean().meta({ description: 'Result rows may be sent to the language model to write the answer' }),
    updated_at: Timestamp.nullable().meta({ description: 'null while the project keeps the defaults' }),
  })
  .meta({ id: 'AiPolicy' })
export type AiPolicy = z.infer<typeof AiPolicy>

export const UpdateAiPolicy = z
  .strictObject({ share_values: z.boolean().optional(), share_rows: z.boolean().optional() })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateAiPolicy', description: 'Fields left out keep their value' })
export type UpdateAiPolicy = z.infer<typeof UpdateAiPolicy>

/** A day (`2026-11-01`, midnight UTC) or an instant with its offset. */
const UsageInstant = z
  .string()
  .max(40, 'must be at most 40 characters')
  .refine(
    (value) => z.iso.date().safeParse(value).success || z.iso.datetime({ offset: true }).safeParse(value).success,
    'must be a date (2026-11-01) or a date-time with an offset (2026-11-01T00:00:00Z)',
  )
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value))

export const AiUsageQuery = z
  .strictObject({
    from: UsageInstant.optional().meta({
      description: 'Inclusive; the start of the current month (UTC) by default',
      example: '2026-11-01',
    }),
    to: UsageInstant.optional().meta({ description: 'Exclusive; now by default', example: '2026-12-01' }),
  })
  .refine((query) => !query.from || !query.to || query.from < query.to, {
    message: 'must be after from',
    path: ['to'],
  })
export type AiUsageQuery = z.infer<typeof AiUsageQuery>

const UsageTotals = {
  requests: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  total_tokens: z.number().int(),
  estimated_cost_usd: z.number().nullable().meta({
    description: 'From list prices of known models; null when no token of the group has a known price',
  }),
  unpriced_tokens: z.number().int().meta({ description: 'Tokens of models without a known price (local servers)' }),
}

export const AiUsage = z
  .object({
    organization_id: Id,
    from: Timestamp,
    to: Timestamp,
    total: z.object(UsageTotals),
    by_model: z.array(z.object({ provider: z.string(), model: z.string(), ...UsageTotals })),
    by_feature: z.array(z.object({ feature: AiFeature, ...UsageTotals })),
    by_project: z.array(z.object({ project_id: Id.nullable(), ...UsageTotals })),
    budget: z.object({
      monthly_token_budget: z.number().int().nullable(),
      month_starts_at: Timestamp,
      used_this_month: z.number().int(),
      remaining: z.number().int().nullable(),
    }),
  })
  .meta({ id: 'AiUsage' })
export type AiUsage = z.infer<typeof AiUsage>
