import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'

import { errors } from '../../lib/errors.js'
import type { AppEnv } from '../router.js'

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** Caps the body size, before anything reads it. */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw errors.payloadTooLarge(maxBytes)
    },
  })
}

/**
 * For POST, PUT and PATCH. Every body this API takes is JSON: refuse anything else up front and turn a parse failure into
 * a 422 that says where the JSON broke. The parsed body is cached for the route's validator.
 */
export function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async function parseJsonBody(c, next) {
    const contentType = c.req.header('content-type')
    const hasBody =
      contentType !== undefined ||
      c.req.header('transfer-encoding') !== undefined ||
      (c.req.header('content-length') ?? '0') !== '0'
    if (!hasBody) return next()
    if (!contentType || !JSON_TYPE.test(contentType)) throw errors.unsupportedMediaType(contentType)
    try {
      await c.req.json()
    } catch (error) {
      if (error instanceof SyntaxError) throw errors.validation(`body: malformed JSON (${error.message})`)
      throw error
    }
    return next()
  }
}
