import type { MiddlewareHandler } from 'hono'

import type { Authenticator } from '../../auth/authenticator.js'
import type { AppEnv } from '../router.js'

export function authenticate(authenticator: Authenticator): MiddlewareHandler<AppEnv> {
  return async function authenticateRequest(c, next) {
    c.set('principal', await authenticator.authenticate(c.req.header('authorization')))
    await next()
  }
}
