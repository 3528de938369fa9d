import { APICallError, LoadAPIKeyError, RetryError } from 'ai'

import { AppError, errors } from '../../lib/errors.js'

const PROVIDER_NAMES: Record<string, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  'openai-compatible': 'the OpenAI-compatible server',
}

/** How a provider is named in messages: "OpenAI (gpt-4o-mini)". */
export function providerLabel(provider: string, modelId: string): string {
  return `${PROVIDER_NAMES[provider] ?? provider} (${modelId})`
}

/** Provider messages are quoted up to this length: enough to say what went wrong, not a whole page. */
const QUOTED_CHARS = 300

export const aiErrors = {
  /** A field of the settings that does not fit with the others. */
  invalidField: (field: string, message: string) =>
    errors.validation(`${field}: ${message}`, { issues: [{ location: 'body', field, message }] }),

  quotaExceeded: (budget: number, used: number, resetsAt: Date) =>
    new AppError(
      'quota_exceeded',
      `the organization's monthly AI token budget (${budget}) is spent (${used} used); ` +
        `it renews on ${resetsAt.toISOString().slice(0, 10)}, or an admin can raise it in the AI settings`,
      { monthly_token_budget: budget, used_this_month: used, resets_at: resetsAt.toISOString() },
    ),

  /** The stored key no longer opens: the instance secret changed since it was sealed. */
  unreadableKey: (cause: unknown) =>
    new AppError(
      'connection_error',
      "the organization's AI API key cannot be decrypted (the instance secret changed?); set it again in the AI settings",
      undefined,
      { cause },
    ),
}

/**
 * What a failed model call means for the caller, always a `502 connection_error` naming the provider:
 * a refused key, a timeout, rate limiting, an unknown model, a server error, or no answer at all.
 * The provider's own words are quoted, except on a refused key (they may echo part of it).
 */
export function providerFailure(provider: string, modelId: string, error: unknown, timeoutMs: number): AppError {
  const label = providerLabel(provider, modelId)
  const cause = unwrap(error)
  const details = (status?: number) => ({ provider, model: modelId, ...(status === undefined ? {} : { status }) })
  const fail = (message: string, status?: number) =>
    new AppError('connection_error', message, details(status), { cause: error })

  if (isTimeout(cause)) return fail(`${label} did not answer within ${timeoutMs} ms`)
  if (LoadAPIKeyError.isInstance(cause)) return fail(`${label}: no API key is configured`)
  const status = statusOf(cause)
  if (status === 401 || status === 403) {
    return fail(`${label}: the API key was refused (HTTP ${status}); check the API key in the AI settings`, status)
  }
  const said = quoted(cause)
  if (status === 429) return fail(`${label} is rate limiting or out of credit (HTTP 429)${said}`, status)
  if (status === 404) return fail(`${label} does not know the model '${modelId}' (HTTP 404)${said}`, status)
  if (status !== undefined && status >= 500) return fail(`${label} failed (HTTP ${status})${said}`, status)
  if (status !== undefined) return fail(`${label} refused the request (HTTP ${status})${said}`, status)
  if (APICallError.isInstance(cause)) return fail(`${label} could not be reached${said}`)
  return fail(`${label} failed${said}`)
}

/** The AI SDK retries and then throws a `RetryError` carrying the last failure; that one says what happened. */
function unwrap(error: unknown): unknown {
  return RetryError.isInstance(error) ? error.lastError : error
}

function isTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.name === 'TimeoutError') return true
  // A fetch aborted by a timer may surface as an AbortError whose cause is the timer's reason.
  return error.name === 'AbortError' && error.cause instanceof Error && error.cause.name === 'TimeoutError'
}

/** The HTTP status of a failed call: an `APICallError`, or anything shaped like one. */
function statusOf(error: unknown): number | undefined {
  if (APICallError.isInstance(error)) return error.statusCode
  if (typeof error !== 'object' || error === null) return undefined
  const status =
    (error as { statusCode?: unknown; status?: unknown }).statusCode ?? (error as { status?: unknown }).status
  return typeof status === 'number' && Number.isInteger(status) ? status : undefined
}

function quoted(error: unknown): string {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : ''
  const text = message.replace(/\s+/g, ' ').trim()
  if (!text) return ''
  return `: ${text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}…` : text}`
}
