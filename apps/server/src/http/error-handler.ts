import type { ErrorEnvelope } from '@tributary/contract'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

import { AppError, errors, isAppError } from '../lib/errors.js'
import type { Logger } from '../lib/logger.js'
import type { AppEnv } from './router.js'

/** The one place an error becomes a response. Only AppError messages reach a client. */
export function createErrorHandler(logger: Logger) {
  return function handleError(error: Error, c: Context<AppEnv>): Response {
    const requestId = c.get('requestId') ?? 'unknown'
    const appError = toAppError(error)
    if (appError) return sendError(c, appError, requestId)
    if (clientLeft(c)) {
      // Not the server's failure: the answer most likely reaches no one, and the log says what happened.
      logger.warn(
        { request_id: requestId, method: c.req.method, path: c.req.path, reason: error.message },
        'client closed the connection before sending the whole request',
      )
      return sendError(
        c,
        errors.validation('body: incomplete; the connection closed before the whole body arrived'),
        requestId,
      )
    }

    logger.error({ err: error, request_id: requestId, method: c.req.method, path: c.req.path }, 'unhandled error')
    const internal = new AppError('internal_error', `internal error; quote request id ${requestId} when reporting it`)
    return sendError(c, internal, requestId)
  }
}

function toAppError(error: Error): AppError | undefined {
  if (isAppError(error)) return error
  // Hono's own validators and helpers raise HTTPException for client mistakes.
  if (error instanceof HTTPException && error.status < 500) {
    if (error.status === 413) return new AppError('payload_too_large', error.message || 'request body too large')
    if (error.status === 401) return errors.authentication()
    if (error.status === 415) return errors.unsupportedMediaType(undefined)
    return errors.validation(error.message || 'invalid request')
  }
  return undefined
}

interface NodeBindings {
  incoming?: { complete: boolean; destroyed: boolean; readableAborted: boolean }
}

/** The client went away before its request was complete: a failed read of the body is its doing. */
function clientLeft(c: Context<AppEnv>): boolean {
  const incoming = (c.env as NodeBindings | undefined)?.incoming
  return incoming !== undefined && !incoming.complete && (incoming.destroyed || incoming.readableAborted)
}

export function sendError(c: Context, error: AppError, requestId: string): Response {
  return c.json(errorEnvelope(error, requestId), error.status as ContentfulStatusCode)
}

/**
 * The envelope of an error, for a response or an event of a stream already under way. Anything but an
 * AppError is logged and told as an internal error.
 */
export function errorEnvelope(error: unknown, requestId: string, logger?: Logger): ErrorEnvelope {
  const appError =
    (error instanceof Error ? toAppError(error) : undefined) ??
    new AppError('internal_error', `internal error; quote request id ${requestId} when reporting it`)
  if (appError.code === 'internal_error') logger?.error({ err: error, request_id: requestId }, 'unhandled error')
  return {
    error: {
      code: appError.code,
      message: appError.message,
      ...(appError.details === undefined ? {} : { details: appError.details }),
      request_id: requestId,
    },
  }
}
