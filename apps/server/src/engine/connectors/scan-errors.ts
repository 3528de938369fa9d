import { inspect } from 'node:util'

/** Why a scan stopped: the signal's reason, a DOMException named AbortError unless the caller gave another. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

const sinkFailures = new WeakSet<object>()

/**
 * Notes that an error came from the sink, so a scan passes it on as it is rather than describing it
 * as the source's: a failed write means the reader (DuckDB) gave up, and the engine knows why.
 */
export function markSinkFailure(error: unknown): unknown {
  if (typeof error === 'object' && error !== null) sinkFailures.add(error)
  return error
}

export function isSinkFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && sinkFailures.has(error)
}

/** Streams may emit anything as an error; promises should reject with an Error. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(inspect(value))
}

/** A source's value as an error message names it: short, and never more than 40 characters of text. */
export function describeValue(value: unknown): string {
  if (value instanceof Uint8Array) return `a blob of ${value.length} bytes`
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`
  return `the ${typeof value} ${String(value)}`
}
