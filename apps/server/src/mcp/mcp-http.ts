import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import type { Context } from 'hono'

import { requireTenant } from '../auth/access.js'
import { type AppEnv, contextOf } from '../http/router.js'
import { errors } from '../lib/errors.js'
import type { McpService } from './mcp-server.js'

/**
 * MCP Streamable HTTP, stateless: each POST gets a fresh server and transport bound to its caller,
 * answers with JSON and keeps nothing, so any process behind a load balancer can take any request.
 * The app has authenticated the caller and parsed the body (under its size limit) before this runs.
 */
export function mcpHandler(mcp: McpService) {
  return async function handleMcp(c: Context<AppEnv>): Promise<Response> {
    const ctx = requireTenant(contextOf(c))
    // `requireJsonBody` parsed any body sent as JSON; a body it let through unparsed was sent as something else.
    const parsed = c.req.bodyCache.json as Promise<unknown> | undefined
    if (!parsed) throw errors.unsupportedMediaType(c.req.header('content-type'))
    const server = mcp.server(ctx)
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    })
    await server.connect(transport)
    // A client that goes away cancels its calls: closing aborts the signal every tool call gets.
    const leave = () => void server.close()
    c.req.raw.signal.addEventListener('abort', leave, { once: true })
    try {
      return await transport.handleRequest(c.req.raw, { parsedBody: await parsed })
    } finally {
      c.req.raw.signal.removeEventListener('abort', leave)
      await server.close()
    }
  }
}
