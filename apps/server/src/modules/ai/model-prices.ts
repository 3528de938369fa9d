/** US dollars per million tokens. */
export interface ModelPrice {
  input: number
  output: number
}

/**
 * List prices of known models (per million tokens, USD), for estimates only: providers change them,
 * and discounts (cached input, batches) are not counted. A model id matches its longest listed prefix,
 * so dated snapshots (`gpt-4o-2024-08-06`) price as their family. Servers of `openai-compatible`
 * models run anywhere at any price: they have none here.
 */
const PRICES: Readonly<Record<string, Readonly<Record<string, ModelPrice>>>> = {
  openai: {
    'gpt-5': { input: 1.25, output: 10 },
    'gpt-5-mini': { input: 0.25, output: 2 },
    'gpt-5-nano': { input: 0.05, output: 0.4 },
    'gpt-4.1': { input: 2, output: 8 },
    'gpt-4.1-mini': { input: 0.4, output: 1.6 },
    'gpt-4.1-nano': { input: 0.1, output: 0.4 },
    'gpt-4o': { input: 2.5, output: 10 },
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    o3: { input: 2, output: 8 },
    'o3-mini': { input: 1.1, output: 4.4 },
    'o4-mini': { input: 1.1, output: 4.4 },
    'text-embedding-3-small': { input: 0.02, output: 0 },
    'text-embedding-3-large': { input: 0.13, output: 0 },
  },
  anthropic: {
    'claude-opus-4': { input: 15, output: 75 },
    'claude-sonnet-4': { input: 3, output: 15 },
    'claude-haiku-4-5': { input: 1, output: 5 },
    'claude-3-7-sonnet': { input: 3, output: 15 },
    'claude-3-5-sonnet': { input: 3, output: 15 },
    'claude-3-5-haiku': { input: 0.8, output: 4 },
    'claude-3-haiku': { input: 0.25, output: 1.25 },
  },
}

/** The price of a model, or null when it is not known. */
export function priceOf(provider: string, modelId: string): ModelPrice | null {
  const table = PRICES[provider]
  if (!table) return null
  const id = modelId.toLowerCase()
  let best: string | undefined
  for (const prefix of Object.keys(table)) {
    const fits = id === prefix || id.startsWith(`${prefix}-`)
    if (fits && (best === undefined || prefix.length > best.length)) best = prefix
  }
  return best === undefined ? null : (table[best] ?? null)
}

/** The estimated cost in US dollars, or null for a model without a known price. */
export function estimatedCost(provider: string, modelId: string, inputTokens: number, outputTokens: number) {
  const price = priceOf(provider, modelId)
  if (!price) return null
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000
}
