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
