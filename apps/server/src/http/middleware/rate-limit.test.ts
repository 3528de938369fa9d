import { describe, expect, it } from 'vitest'

import { RateLimiter } from './rate-limit.js'

const WINDOW_MS = 60_000
const T0 = 1_800_000_000_000

describe('RateLimiter', () => {
  it('allows the limit, counting the remainder down, then refuses', () => {
    const limiter = new RateLimiter(3)
    const results = [0, 1, 2, 3, 4].map((i) => limiter.hit('a', T0 + i * 1000))
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false])
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0])
    // The window is fixed from the first hit, not sliding with the last one.
    expect(new Set(results.map((r) => r.resetAt))).toEqual(new Set([T0 + WINDOW_MS]))
  })

  it('opens a fresh window 60 s after the first hit, not before', () => {
    const limiter = new RateLimiter(2)
    limiter.hit('a', T0)
    limiter.hit('a', T0 + 10_000)
    expect(limiter.hit('a', T0 + 30_000).allowed).toBe(false)
    expect(limiter.hit('a', T0 + WINDOW_MS - 1)).toEqual({ allowed: false, remaining: 0, resetAt: T0 + WINDOW_MS })

    const fresh = limiter.hit('a', T0 + WINDOW_MS)
    expect(fresh).toEqual({ allowed: true, remaining: 1, resetAt: T0 + 2 * WINDOW_MS })
    expect(limiter.hit('a', T0 + WINDOW_MS + 1).allowed).toBe(true)
    expect(limiter.hit('a', T0 + WINDOW_MS + 2).allowed).toBe(false)
  })

  it('starts the next window at the next hit after a quiet spell, however long', () => {
    const limiter = new RateLimiter(1)
    limiter.hit('a', T0)
    const later = T0 + 10 * WINDOW_MS + 123
    expect(limiter.hit('a', later)).toEqual({ allowed: true, remaining: 0, resetAt: later + WINDOW_MS })
    expect(limiter.hit('a', later + 1).allowed).toBe(false)
  })

  it('keeps one budget per key', () => {
    const limiter = new RateLimiter(1)
    expect(limiter.hit('key:a', T0).allowed).toBe(true)
    expect(limiter.hit('key:a', T0 + 1).allowed).toBe(false)
    expect(limiter.hit('key:b', T0 + 2)).toEqual({ allowed: true, remaining: 0, resetAt: T0 + 2 + WINDOW_MS })
    expect(limiter.hit('user:a', T0 + 3).allowed).toBe(true)
  })

  it('keeps refused hits from extending or resetting the window', () => {
    const limiter = new RateLimiter(1)
    limiter.hit('a', T0)
    for (let i = 1; i <= 100; i++) expect(limiter.hit('a', T0 + i * 500).allowed).toBe(false)
    expect(limiter.hit('a', T0 + WINDOW_MS).allowed).toBe(true)
  })

  it('keeps live windows when it prunes expired ones', () => {
    const limiter = new RateLimiter(2)
    for (let i = 0; i <= 50_001; i++) limiter.hit(`old:${i}`, T0)
    limiter.hit('live', T0 + 30_000)
    limiter.hit('live', T0 + 30_001)
    // A new key once the old windows have expired makes the limiter prune them.
    expect(limiter.hit('newcomer', T0 + WINDOW_MS).allowed).toBe(true)
    expect(limiter.hit('live', T0 + WINDOW_MS + 1)).toEqual({
      allowed: false,
      remaining: 0,
      resetAt: T0 + 30_000 + WINDOW_MS,
    })
    // A pruned key starts over.
    expect(limiter.hit('old:7', T0 + WINDOW_MS + 2)).toMatchObject({ allowed: true, remaining: 1 })
  })
})
