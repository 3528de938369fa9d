import type { MiddlewareHandler } from 'hono'

import type { Logger } from '../../lib/logger.js'
import type { AppEnv } from '../router.js'

/** One structured line per request, carrying the request id that errors and the audit log also carry. */
export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    const started = performance.now()
    await next()
    if (!logger.isLevelEnabled('info')) return
    const principal = c.get('principal')
    logger.info({
      request_id: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      principal: principal ? principal.kind : undefined,
    })
  }
}
