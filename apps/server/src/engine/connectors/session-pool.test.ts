import { describe, expect, it } from 'vitest'

import type { SourceSession } from './connector.js'
import { SessionPool } from './session-pool.js'

/** A session that counts how it is used; `healthy` is what it answers to `reusable`. */
function fakeSession(id: number, healthy = () => true) {
  const state = { id, closed: 0, scans: 0 }
  const session: SourceSession = {
    introspect: () => Promise.resolve({ schemas: [] }),
    scan: () => {
      state.scans++
      return Promise.resolve({ remoteSql: `scan ${id}`, rows: 0 })
    },
    reusable: healthy,
    close: () => {
      state.closed++
      return Promise.resolve()
    },
  }
  return { session, state }
}

function opener() {
  const made: ReturnType<typeof fakeSession>[] = []
  return {
    made,
    connect: () => {
      const fake = fakeSession(made.length)
      made.push(fake)
      return Promise.resolve(fake.session)
    },
  }
}

const signal = new AbortController().signal
const scanOf = (session: SourceSession) =>
  session.scan!(
    { schema: 's', table: 't', columns: [], filters: [] },
    { csv: () => never(), rows: () => never() },
    signal,
  )
const never = () => Promise.reject(new Error('not used'))

describe('SessionPool', () => {
  it('hands a closed session to the next query of the same key, and a new one to another key', async () => {
    const pool = new SessionPool({ maxIdlePerKey: 2, idleMs: 60_000 })
    const { made, connect } = opener()
    const first = await pool.open('a@1', connect)
    expect((await scanOf(first)).remoteSql).toBe('scan 0')
    await first.close()
    const again = await pool.open('a@1', connect)
    expect((await scanOf(again)).remoteSql).toBe('scan 0')
    const other = await pool.open('a@2', connect)
    expect((await scanOf(other)).remoteSql).toBe('scan 1')
    expect(made).toHaveLength(2)
    expect(made.map((fake) => fake.state.closed)).toEqual([0, 0])
    await pool.close()
  })

  it('gives each of two overlapping queries its own session', async () => {
    const pool = new SessionPool({ maxIdlePerKey: 2, idleMs: 60_000 })
    const { made, connect } = opener()
    const [a, b] = await Promise.all([pool.open('k', connect), pool.open('k', connect)])
    expect(made).toHaveLength(2)
    await Promise.all([a.close(), b.close()])
    await pool.open('k', connect)
    await pool.open('k', connect)
    expect(made).toHaveLength(2)
    await pool.close()
  })

  it('closes a session that is not reusable instead of keeping it', async () => {
    const pool = new SessionPool({ maxIdlePerKey: 2, idleMs: 60_000 })
    let healthy = false
    const fake = fakeSession(0, () => healthy)
    const leased = await pool.open('k', () => Promise.resolve(fake.session))
    await leased.close()
    expect(fake.state.closed).toBe(1)
    healthy = true
    const { made, connect } = opener()
    await pool.open('k', connect)
    expect(made).toHaveLength(1)
    await pool.close()
  })

  it('keeps at most maxIdlePerKey sessions, and a lease closes once', async () => {
    const pool = new SessionPool({ maxIdlePerKey: 1, idleMs: 60_000 })
    const { made, connect } = opener()
    const a = await pool.open('k', connect)
    const b = await pool.open('k', connect)
    await a.close()
    await a.close()
    await b.close()
    expect(made.map((fake) => fake.state.closed)).toEqual([0, 1])
    await pool.close()
    expect(made.map((fake) => fake.state.closed)).toEqual([1, 1])
  })

  it('closes an idle session after idleMs', async () => {
    const pool = new SessionPool({ maxIdlePerKey: 2, idleMs: 20 })
    const { made, connect } = opener()
    await (await pool.open('k', connect)).close()
    await expect.poll(() => made[0]!.state.closed, { timeout: 1_000, interval: 10 }).toBe(1)
    await pool.open('k', connect)
    expect(made).toHaveLength(2)
    await pool.close()
  })

  it('after close, closes what comes back', async () => {
    const pool = new SessionPool({ maxIdlePerKey: 2, idleMs: 60_000 })
    const { made, connect } = opener()
    const leased = await pool.open('k', connect)
    await pool.close()
    await leased.close()
    expect(made[0]!.state.closed).toBe(1)
  })
})
