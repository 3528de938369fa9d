import { inspect } from 'node:util'

import type { CsvSink } from './connector.js'

/**
 * Fields in the engine's CSV dialect (see `CsvSink`). DuckDB reads the stream with
 * `allow_quoted_nulls=false`, so an empty unquoted field is NULL and `""` is the empty string.
 */

/** NULL: an empty, unquoted field. */
export const CSV_NULL = ''

/**
 * A text field, quoted only when it has to be: most values are plain, and quoting them would cost
 * bytes and DuckDB's time. Leading and trailing spaces need no quotes: DuckDB keeps them in
 * VARCHAR fields, and every other type ignores them.
 */
export function csvString(value: string): string {
  if (value === '') return '""'
  // Four native scans are faster than a regular expression or a JS loop over the characters.
  if (value.includes('"')) return `"${value.replaceAll('"', '""')}"`
  if (value.includes(',') || value.includes('\n') || value.includes('\r')) return `"${value}"`
  return value
}

/** A blob as base64, which DuckDB's `from_base64` decodes; the empty blob must not read as NULL. */
export function csvBlob(value: Uint8Array): string {
  if (value.length === 0) return '""'
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
}

/**
 * A number in the shortest form that reads back as the same double; DuckDB's parser takes
 * JavaScript's exponent form (`1e+21`) and `Infinity`/`-Infinity`/`NaN` too.
 */
export function csvNumber(value: number | bigint): string {
  // String(-0) is '0'; DuckDB keeps the sign of '-0' as PostgreSQL does.
  return Object.is(value, -0) ? '-0' : String(value)
}

export function csvBoolean(value: boolean): string {
  return value ? 'true' : 'false'
}

/** Rows collected into one `sink.write` per batch: a write per row would cost a promise and a syscall each. */
export class CsvBatch {
  private text = ''
  private count = 0
  private total = 0

  constructor(
    private readonly sink: CsvSink,
    private readonly maxRows = 1000,
    /** A batch of wide rows is sent early, so one batch never holds more than about this many characters. */
    private readonly maxChars = 1 << 20,
  ) {}

  /** Rows added so far, written or not. */
  get rows(): number {
    return this.total
  }

  /**
   * Adds one row (its fields already encoded). Returns a promise only when the batch was full and
   * went to the sink, so the caller awaits once per batch rather than once per row.
   */
  add(fields: readonly string[]): Promise<void> | undefined {
    this.text += fields.join(',') + '\n'
    this.count++
    this.total++
    if (this.count >= this.maxRows || this.text.length >= this.maxChars) return this.flush()
    return undefined
  }

  /** Sends whatever is buffered; resolves once the sink has accepted it. */
  async flush(): Promise<void> {
    if (this.count === 0) return
    const text = this.text
    this.text = ''
    this.count = 0
    await this.sink.write(text).catch((error: unknown) => {
      throw markSinkFailure(error)
    })
  }
}

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
