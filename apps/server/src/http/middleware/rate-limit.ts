import type { Context, MiddlewareHandler } from 'hono'

import { errors } from '../../lib/errors.js'
import type { AppEnv } from '../router.js'

const WINDOW_MS = 60_000

interface Window {
  startedAt: number
  count: number
}

/**
 * Fixed one-minute windows per caller, in this process's memory. With several server processes
 * each enforces the limit on its own share of the traffic.
 */
export class RateLimiter {
  readonly #windows = new Map<string, Window>()

  constructor(readonly limitPerMinute: number) {}

  hit(key: string, now = Date.now()): { allowed: boolean; remaining: number; resetAt: number } {
    let window = this.#windows.get(key)
    if (!window || now - window.startedAt >= WINDOW_MS) {
      if (this.#windows.size > 50_000) this.#prune(now)
      window = { startedAt: now, count: 0 }
      this.#windows.set(key, window)
    }
    window.count += 1
    return {
      allowed: window.count <= this.limitPerMinute,
      remaining: Math.max(0, this.limitPerMinute - window.count),
      resetAt: window.startedAt + WINDOW_MS,
    }
  }

  #prune(now: number): void {
    for (const [key, window] of this.#windows) if (now - window.startedAt >= WINDOW_MS) this.#windows.delete(key)
  }
}

export function rateLimit(limiter: RateLimiter, keyOf: (c: Context<AppEnv>) => string): MiddlewareHandler<AppEnv> {
  return async function limitRate(c, next) {
    enforceLimit(c, limiter, keyOf(c))
    await next()
  }
}

/** Counts one request against `key`, sets the X-RateLimit headers, and throws 429 once over the limit. */
export function enforceLimit(c: Context, limiter: RateLimiter, key: string): void {
  const { allowed, remaining, resetAt } = limiter.hit(key)
  const resetSeconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000))
  c.header('X-RateLimit-Limit', String(limiter.limitPerMinute))
  c.header('X-RateLimit-Remaining', String(remaining))
  c.header('X-RateLimit-Reset', String(Math.ceil(resetAt / 1000)))
  if (!allowed) {
    c.header('Retry-After', String(resetSeconds))
    throw errors.rateLimited(resetSeconds)
  }
}
