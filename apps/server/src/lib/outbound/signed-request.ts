import { createHmac, timingSafeEqual } from 'node:crypto'

import { isOutboundRefused, OutboundUnreachableError } from './address-policy.js'
import type { OutboundClient } from './guarded-fetch.js'

/** The header that carries a request's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-tributary-signature'
/** How much of a peer's answer is kept with an attempt. */
const KEPT_RESPONSE_CHARS = 2_000

/**
 * Signs `body` as sent at `timestamp` (seconds): HMAC-SHA256 with `secret` over `<timestamp>.<body>`,
 * so a receiver that checks the time also refuses a captured request replayed later.
 */
export function signatureHeader(secret: string, body: string, timestamp: number): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
  return `t=${timestamp},v1=${digest}`
}

/**
 * What a receiver does (the README shows the same steps): recompute the HMAC over the timestamp and
 * the raw body, compare in constant time, and refuse a timestamp older than `toleranceSeconds`.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  const parts = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]))
  const timestamp = Number(parts.get('t'))
  const given = parts.get('v1')
  if (!Number.isInteger(timestamp) || !given) return false
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false
  const expected = Buffer.from(signatureHeader(secret, body, timestamp).split('v1=')[1]!, 'hex')
  const received = Buffer.from(given, 'hex')
  return received.length === expected.length && timingSafeEqual(received, expected)
}

export interface OutboundRequest {
  url: string
  method: 'POST' | 'PUT' | 'PATCH'
  headers?: Record<string, string>
  /** Sent as is, with `content-type: application/json` unless the headers say otherwise. */
  body: string
  /** Signs the body into `X-Tributary-Signature`. */
  signingSecret?: string
  /** Headers for the target's origin only (outbound credentials); never sent to a redirect elsewhere. */
  credentials?: { origin: string; headers: Record<string, string> }
  timeoutMs: number
  signal?: AbortSignal
}

/** One attempt, as kept in a run or a delivery log. */
export interface OutboundAttempt {
  /** The peer's HTTP status; null when no answer came (refused by the policy, unreachable, timed out). */
  status: number | null
  ok: boolean
  /** The start of the peer's answer, or why there was none. */
  response: string
  error: string | null
  duration_ms: number
  at: string
}

/**
 * Sends one request through the outbound address policy and reports what happened instead of
 * throwing: a refusal, a timeout and a 5xx are all answers the caller records and may retry.
 */
export async function sendOutbound(client: OutboundClient, request: OutboundRequest): Promise<OutboundAttempt> {
  const started = performance.now()
  const at = new Date().toISOString()
  const headers: Record<string, string> = { 'content-type': 'application/json', ...request.headers }
  if (request.signingSecret) {
    headers[SIGNATURE_HEADER] = signatureHeader(request.signingSecret, request.body, Math.floor(Date.now() / 1000))
  }
  const timeout = AbortSignal.timeout(request.timeoutMs)
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout
  const finish = (status: number | null, response: string, error: string | null): OutboundAttempt => ({
    status,
    ok: status !== null && status >= 200 && status < 300,
    response: response.slice(0, KEPT_RESPONSE_CHARS),
    error,
    duration_ms: Math.round((performance.now() - started) * 100) / 100,
    at,
  })
  try {
    const fetch = client.fetch(request.credentials ? { credentials: request.credentials } : {})
    const response = await fetch(request.url, { method: request.method, headers, body: request.body, signal })
    const text = await response.text()
    return finish(response.status, text, response.ok ? null : `the target answered HTTP ${response.status}`)
  } catch (error) {
    if (isOutboundRefused(error)) return finish(null, '', `refused: ${error.message}`)
    if (error instanceof OutboundUnreachableError) return finish(null, '', error.message)
    if (timeout.aborted) return finish(null, '', `no answer within ${request.timeoutMs} ms`)
    if (request.signal?.aborted) throw error
    return finish(null, '', (error as Error).message)
  }
}

/** Whether another attempt could succeed: no answer, 408, 429 or a server error; never a refusal by the policy. */
export function isRetryable(attempt: OutboundAttempt): boolean {
  if (attempt.error?.startsWith('refused:')) return false
  if (attempt.status === null) return true
  return attempt.status === 408 || attempt.status === 429 || attempt.status >= 500
}
