import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { AgentProtocol } from '@tributary/contract'

import { AppError, errors, isAppError } from '../../lib/errors.js'
import { isOutboundRefused } from '../../lib/outbound/address-policy.js'

/** Why a call to an agent failed, as `POST /agents/{id}/test` records it in `status`. */
export type FailureKind = 'timeout' | 'refused' | 'unreachable' | 'protocol_error'

const MAX_REASON = 500
/** The shortest beginning of a secret still cut out of a message. */
const MIN_SECRET_PART = 6

/** Network failures: the agent is not there, not that it said something wrong. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

export interface AgentFailure {
  kind: FailureKind
  reason: string
}

/**
 * Classifies what went wrong calling an agent. `secrets` are cut out of the reason: an agent (or
 * an SDK message quoting a request) must never echo a credential back through the API.
 */
export function agentFailure(
  error: unknown,
  protocol: AgentProtocol,
  secrets: readonly string[],
  timedOut: boolean,
): AgentFailure {
  const clean = (text: string) => {
    let result = text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text
    // Messages quoting an answer cut it short: a secret's beginning is as secret as the whole.
    for (const secret of secrets) {
      for (let length = secret.length; length >= MIN_SECRET_PART; length -= 1) {
        const part = secret.slice(0, length)
        if (result.includes(part)) result = result.replaceAll(part, '[redacted]')
      }
    }
    return result
  }
  if (timedOut) return { kind: 'timeout', reason: 'the agent did not answer in time' }
  if (isOutboundRefused(error)) return { kind: 'refused', reason: clean(error.message) }
  const code = networkCode(error)
  if (code !== undefined || (error instanceof Error && error.name === 'OutboundUnreachableError')) {
    return { kind: 'unreachable', reason: clean(`cannot reach the agent: ${(error as Error).message}`) }
  }
  let message = error instanceof Error ? error.message : String(error)
  // The MCP SDK keeps the HTTP status of a refused request apart from its message.
  if (error instanceof StreamableHTTPError && typeof error.code === 'number') {
    message = `HTTP ${error.code}: ${message}`
  }
  return { kind: 'protocol_error', reason: clean(`the agent did not answer as ${protocol} says: ${message}`) }
}

function networkCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code
    if (current.message === 'socket hang up' || current.message === 'fetch failed') return 'ECONNRESET'
    current = current.cause
  }
  return undefined
}

/** A failed call as the API answers it: `502 connection_error` (`504` when it timed out), with the reason. */
export function failureError(failure: AgentFailure, timeoutMs: number): AppError {
  if (failure.kind === 'timeout') {
    return new AppError(
      'connection_error',
      `the agent did not answer within ${timeoutMs} ms`,
      { reason: 'timeout', timeout_ms: timeoutMs },
      { status: 504 },
    )
  }
  return new AppError('connection_error', failure.reason, { reason: failure.kind })
}

export function isClientError(error: unknown): boolean {
  return isAppError(error) && error.status < 500
}

export const agentErrors = {
  badMessage: (message: string) => {
    const field = message.split(':')[0] ?? 'message'
    return errors.validation(message, { issues: [{ location: 'body', field, message }] })
  },
}
