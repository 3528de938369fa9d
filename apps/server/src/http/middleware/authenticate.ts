import type { Context, MiddlewareHandler } from 'hono'

import type { Authenticator } from '../../auth/authenticator.js'
import { isAppError } from '../../lib/errors.js'
import type { AppEnv } from '../router.js'
import { enforceLimit, type RateLimiter } from './rate-limit.js'

export interface FailedAttemptLimit {
  limiter: RateLimiter
  keyOf: (c: Context<AppEnv>) => string
}

/**
 * Resolves the bearer token into the request's principal. Failed attempts count against the
 * client's address, so guessing keys is throttled like any other traffic.
 */
export function authenticate(authenticator: Authenticator, failures: FailedAttemptLimit): MiddlewareHandler<AppEnv> {
  return async function authenticateRequest(c, next) {
    try {
      c.set('principal', await authenticator.authenticate(c.req.header('authorization')))
    } catch (error) {
      if (isAppError(error, 'authentication_error')) enforceLimit(c, failures.limiter, failures.keyOf(c))
      throw error
    }
    await next()
  }
}
