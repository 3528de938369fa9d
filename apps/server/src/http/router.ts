import { OpenAPIHono } from '@hono/zod-openapi'
import { ErrorEnvelope } from '@tributary/contract'
import type { Context } from 'hono'
import { z } from 'zod'

import type { Principal, RequestContext } from '../auth/principal.js'
import { assertStorableText, validationError } from '../lib/validation.js'

export interface AppVariables {
  requestId: string
  principal: Principal
}

export interface AppEnv {
  Variables: AppVariables
}

// A missing field reads "is required" rather than zod's "expected string, received undefined".
z.config({
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined),
})

/**
 * Every router validates with the same hook, so every validation failure has one shape. Path and
 * query values are looked up in, or stored by, the metadata store: the hook also refuses there what
 * it could not hold, as `requireJsonBody` does for bodies, whatever the route's schema says.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationFailure(result.error, result.target)
      if (result.target === 'param') assertStorableText(result.data, 'path')
      if (result.target === 'query') assertStorableText(result.data, 'query')
    },
  })
}

const TARGET_NAMES: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' }

export function validationFailure(error: z.ZodError, target: string) {
  return validationError(error, TARGET_NAMES[target] ?? target)
}

export function contextOf(c: Context<AppEnv>): RequestContext {
  return { principal: c.get('principal'), requestId: c.get('requestId') }
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The query is invalid or refused (`query_error`)',
  408: 'The query took too long and was stopped (`query_timeout`)',
  502: 'A source failed or refused (`connection_error`)',
  504: 'An agent called through the gateway did not answer in time (`connection_error`)',
  401: 'Missing, unknown, revoked or expired credentials (`authentication_error`)',
  403: 'The caller may not do this (`authorization_error`)',
  404: 'No such object in the caller’s organization (`not_found`)',
  409: 'Conflicts with the current state (`conflict`)',
  413: 'Body too large (`payload_too_large`)',
  415: 'Body is not UTF-8 JSON, or is compressed (`unsupported_media_type`)',
  422: 'Invalid input (NUL or a lone surrogate in any string counts); the message names the field (`validation_error`)',
  429: 'Rate limit exceeded (`rate_limit_exceeded`); see `Retry-After`',
}

const errorContent = { 'application/json': { schema: ErrorEnvelope } }

/** The error responses of a route, for the OpenAPI document. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: errorContent }]),
  )
}

/** The errors every authenticated route can answer with. */
export const AUTHENTICATED_ERRORS = [401, 403, 422, 429] as const
export const WRITE_ERRORS = [...AUTHENTICATED_ERRORS, 413, 415] as const

export const bearerSecurity = [{ bearerAuth: [] }]

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true, content: { 'application/json': { schema } }, ...(description ? { description } : {}) }
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } }
}
