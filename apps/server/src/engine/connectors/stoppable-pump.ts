import { abortReason, toError } from './scan-errors.js'

/** How long a stopped scan may take to end after its cancel before the connection is cut. */
const STOP_GRACE_MS = 5_000

export interface PumpOptions<T, Item> {
  stream: NodeJS.ReadableStream
  signal: AbortSignal
  /** Stops the source's query (PostgreSQL's cancel, MySQL's KILL QUERY). */
  cancel: () => Promise<void>
  /** The last resort when the source ignores the cancel: cut its connection. */
  cut: () => void
  /**
   * Takes one chunk or row. A returned promise holds the stream back until it settles; a rejection
   * stops the scan with that error.
   */
  take: (item: Item) => Promise<void> | undefined
  /** Finishes a stream that ended without being stopped; its value is the pump's. */
  complete: () => Promise<T>
}

/**
 * Drives a source's result stream into DuckDB's sink with backpressure: the next rows are read only
 * once the sink has taken the last, so a slow reader holds the server back through TCP. Stopping
 * (abort, or a failed `take`) cancels the server's query and reads and drops the rest meanwhile: a
 * server blocked writing to a full socket does not act on a cancel. A stopped pump rejects with the
 * abort reason as given (the engine may compare it with its signal's) or the sink's own error, once
 * the cancel is through.
 */
export function pumpToSink<T, Item>({ stream, signal, cancel, cut, take, complete }: PumpOptions<T, Item>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let stopped: { reason: unknown; cancelled: Promise<void> } | undefined
    let done = false
    let grace: NodeJS.Timeout | undefined

    const stop = (reason: unknown) => {
      // After the end, a cancel could hit the connection's next query.
      if (stopped || done) return
      signal.removeEventListener('abort', onAbort)
      stopped = { reason, cancelled: cancel().catch(() => undefined) }
      grace = setTimeout(cut, STOP_GRACE_MS)
      stream.resume()
    }
    const onAbort = () => stop(abortReason(signal))
    const finish = (error?: unknown) => {
      if (done) return
      done = true
      signal.removeEventListener('abort', onAbort)
      if (stopped) {
        const { reason, cancelled } = stopped
        void cancelled.then(() => {
          clearTimeout(grace)
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(reason)
        })
      } else if (error !== undefined) {
        reject(toError(error))
      } else {
        complete().then(resolve, reject)
      }
    }

    signal.addEventListener('abort', onAbort, { once: true })
    stream.on('data', (item: Item) => {
      if (stopped) return
      const taken = take(item)
      if (!taken) return
      stream.pause()
      taken.then(
        () => {
          if (!stopped) stream.resume()
        },
        (error: unknown) => stop(error),
      )
    })
    stream.on('end', () => finish())
    stream.on('error', (error) => finish(error))
    if (signal.aborted) onAbort()
  })
}
