import { z } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler } from 'hono'
import { every } from 'hono/combine'
import { requestId } from 'hono/request-id'

import type { Authenticator } from '../auth/authenticator.js'
import { errors } from '../lib/errors.js'
import type { Logger } from '../lib/logger.js'
import type { MetadataStore } from '../metadata/database.js'
import type { ModuleOffer } from '../modules/module.js'
import { docsRoutes } from './docs.js'
import { createErrorHandler, sendError } from './error-handler.js'
import { authenticate } from './middleware/authenticate.js'
import { limitBody, requireJsonBody } from './middleware/json-body.js'
import { rateLimit, RateLimiter } from './middleware/rate-limit.js'
import { requestLog } from './middleware/request-log.js'
import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  type AppEnv,
} from './router.js'

export const API_BASE = '/api/v1'
const OPENAPI_PATH = `${API_BASE}/openapi.json`
/** MCP Streamable HTTP: beside the REST API, not under it, as MCP clients expect one endpoint URL. */
export const MCP_PATH = '/mcp'

export interface AppDependencies {
  logger: Logger
  store: Pick<MetadataStore, 'ping'>
  authenticator: Authenticator
  /** What the modules offer: their routes are mounted here, in list order. */
  modules: readonly Pick<ModuleOffer<unknown>, 'routes' | 'publicRoutes' | 'streamsBody'>[]
  rateLimitPerMinute: number
  bodyLimitBytes: number
  /** Answers MCP requests at `/mcp` for an authenticated caller whose JSON body is parsed. */
  mcp?: (c: Context<AppEnv>) => Promise<Response>
}

export function createApp(deps: AppDependencies) {
  const limiter = new RateLimiter(deps.rateLimitPerMinute)

  const byAddress = (c: Context<AppEnv>) => `ip:${clientAddress(c)}`

  // Credentials can be guessed at `/auth/*`: there the limit is per client address.
  const publicApi = createRouter().use('/auth/*', rateLimit(limiter, byAddress))
  // The REST API and the MCP endpoint admit callers the same way.
  const authenticated = authenticate(deps.authenticator, { limiter, keyOf: byAddress })
  const limitedPerCaller = rateLimit(limiter, principalKey)
  const api = createRouter().use('*', authenticated).use('*', limitedPerCaller)
  for (const module of deps.modules) {
    if (module.publicRoutes) publicApi.route('/', module.publicRoutes)
    if (module.routes) api.route('/', module.routes)
  }
  const streamers = deps.modules.flatMap((module) => (module.streamsBody ? [module.streamsBody] : []))
  const streamsBody = (c: Context) => streamers.some((streams) => streams(c))

  const app = createRouter()
  app.use('*', requestId({ headerName: 'X-Request-Id' }))
  app.use('*', requestLog(deps.logger))
  // Only requests that carry a body pay for the size check: wrapping every GET costs ~15% of a read.
  for (const method of ['POST', 'PUT', 'PATCH'] as const) {
    // Uploads stream their body to disk under their own, larger limit.
    app.on(
      method,
      `${API_BASE}/*`,
      unless(streamsBody, limitBody(deps.bodyLimitBytes)),
      unless(streamsBody, requireJsonBody()),
    )
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`trb_…`) or a session token from `/auth/login`.',
  })
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'Tributary API',
      version: '0.1.0',
      description:
        'Self-hosted, multi-tenant AI data platform. Errors share one envelope: ' +
        '`{"error": {"code", "message", "details"?, "request_id"}}`. Lists take `limit` and `cursor` ' +
        'and answer `{"data": [...], "next_cursor"}`.',
    },
  })
  if (deps.mcp)
    mountMcp(app, deps.mcp, [
      authenticated,
      limitedPerCaller,
      limitBody(deps.bodyLimitBytes),
      requireJsonBody({ storableText: false }),
    ])
  // The OpenAPI route is registered before the authenticated API so it stays public.
  app.route(API_BASE, publicApi)
  app.route(API_BASE, api)
  app.route('/docs', docsRoutes(OPENAPI_PATH))
  app.get('/', (c) => c.redirect('/docs'))

  app.notFound((c) => sendError(c, errors.notFound(`route ${c.req.method} ${c.req.path}`), c.get('requestId')))
  app.onError(createErrorHandler(deps.logger))
  return app
}

export type App = ReturnType<typeof createApp>

const JsonRpcMessage = z
  .looseObject({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.string(), z.number()]).optional(),
    method: z.string().optional(),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'JsonRpcMessage', description: 'A JSON-RPC 2.0 message of the Model Context Protocol' })

/**
 * Stateless Streamable HTTP: every POST carries its own JSON-RPC message and is answered in JSON.
 * There is no server-initiated stream to open (GET) and no session to end (DELETE): 405, as the
 * MCP specification allows.
 */
function mountMcp(
  app: ReturnType<typeof createRouter>,
  handler: (c: Context<AppEnv>) => Promise<Response>,
  guards: MiddlewareHandler<AppEnv>[],
) {
  app.post(MCP_PATH, every(...guards), (c) => handler(c))
  const notAllowed = (c: Context) =>
    c.json(
      { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: POST JSON-RPC messages' }, id: null },
      405,
      {
        Allow: 'POST',
      },
    )
  app.get(MCP_PATH, notAllowed)
  app.delete(MCP_PATH, notAllowed)
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: MCP_PATH,
    tags: ['MCP'],
    summary: 'Model Context Protocol (Streamable HTTP)',
    description:
      'The MCP endpoint: `initialize`, `tools/list`, `tools/call`, `resources/list`, `resources/templates/list`, ' +
      '`resources/read`, `prompts/list` and `prompts/get`, answered in JSON (stateless: no session id). A project ' +
      'key sees its project; an organization key or a user session passes `project_id` to each tool. Tool ' +
      'failures (bad arguments, SQL errors, forbidden) come back as results with `isError: true` naming the error ' +
      'code, not as HTTP errors. Send `Accept: application/json, text/event-stream`.',
    security: bearerSecurity,
    request: { body: jsonBody(JsonRpcMessage) },
    responses: {
      200: jsonResponse(JsonRpcMessage, 'The JSON-RPC response'),
      202: { description: 'A notification or response, accepted' },
      ...errorResponses(...AUTHENTICATED_ERRORS, 413, 415),
    },
  })
}

function unless(skip: (c: Context) => boolean, middleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return async (c, next) => (skip(c) ? next() : middleware(c, next))
}

function principalKey(c: Context<AppEnv>): string {
  const principal = c.get('principal')
  return principal.kind === 'user' ? `user:${principal.userId}` : `key:${principal.keyId}`
}

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } }
}

function clientAddress(c: Context<AppEnv>): string {
  return (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress ?? 'local'
}
