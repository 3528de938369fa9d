import type { SourceSession } from './connector.js'

export interface SessionPoolOptions {
  /** Idle sessions kept per key. */
  maxIdlePerKey: number
  /** How long an idle session is kept before it is closed. */
  idleMs: number
}

/**
 * Keeps the source sessions of finished queries for the next query of the same connection: opening
 * one costs a TCP handshake and a login, and over TLS to a remote server tens of milliseconds. A
 * session goes back only when it says it is `reusable` (idle, and nothing went wrong in it);
 * otherwise, and past the limits, it is closed.
 */
export class SessionPool {
  readonly #idle = new Map<string, { session: SourceSession; timer: NodeJS.Timeout }[]>()
  #closed = false

  constructor(private readonly options: SessionPoolOptions) {}

  /**
   * A session for `key` (a connection and the version of its settings): an idle one, or a new one
   * from `connect`. Closing what this returns gives the session back.
   */
  async open(key: string, connect: () => Promise<SourceSession>): Promise<SourceSession> {
    const idle = this.#idle.get(key)?.pop()
    if (idle) {
      clearTimeout(idle.timer)
      return this.#lease(key, idle.session)
    }
    return this.#lease(key, await connect())
  }

  /** Closes every idle session; sessions in use are closed when they come back. */
  async close(): Promise<void> {
    this.#closed = true
    const idle = [...this.#idle.values()].flat()
    this.#idle.clear()
    await Promise.all(
      idle.map(({ session, timer }) => {
        clearTimeout(timer)
        return session.close().catch(() => undefined)
      }),
    )
  }

  #lease(key: string, session: SourceSession): SourceSession {
    let returned = false
    const lease: SourceSession = {
      introspect: () => session.introspect(),
      close: async () => {
        if (returned) return
        returned = true
        await this.#giveBack(key, session)
      },
    }
    if (session.scan) lease.scan = session.scan.bind(session)
    if (session.query) lease.query = session.query.bind(session)
    if (session.nativeReader) lease.nativeReader = session.nativeReader.bind(session)
    return lease
  }

  async #giveBack(key: string, session: SourceSession): Promise<void> {
    const idle = this.#idle.get(key) ?? []
    if (this.#closed || !session.reusable?.() || idle.length >= this.options.maxIdlePerKey) {
      await session.close()
      return
    }
    const entry = {
      session,
      timer: setTimeout(() => {
        const list = this.#idle.get(key)
        const at = list?.indexOf(entry) ?? -1
        if (at >= 0) list!.splice(at, 1)
        if (list?.length === 0) this.#idle.delete(key)
        void session.close().catch(() => undefined)
      }, this.options.idleMs),
    }
    // An idle session must never keep the process alive.
    entry.timer.unref()
    idle.push(entry)
    this.#idle.set(key, idle)
  }
}
