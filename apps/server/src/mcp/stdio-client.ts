import { pathToFileURL } from 'node:url'

import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'

/**
 * `tributary-mcp`: MCP over stdio for desktop clients, as a thin client of a Tributary server's
 * Streamable HTTP endpoint, so it serves a remote server as well as a local one. Every request is
 * forwarded as it is; the server decides what the key may see. Stdout carries only the protocol.
 */

/** The server's default address (`PORT` defaults to 8080). */
const DEFAULT_URL = 'http://127.0.0.1:8080'

export interface StdioBridgeOptions {
  url: string
  apiKey: string
}

export async function startStdioBridge(options: StdioBridgeOptions): Promise<{ close(): Promise<void> }> {
  const endpoint = new URL('/mcp', options.url)
  const upstream = new Client({ name: 'tributary-mcp', version: '0.1.0' })
  await upstream.connect(
    new StreamableHTTPClientTransport(endpoint, {
      requestInit: { headers: { Authorization: `Bearer ${options.apiKey}` } },
    }),
  )
  const info = upstream.getServerVersion() ?? { name: 'tributary', version: '0.1.0' }
  const instructions = upstream.getInstructions()
  const server = new Server(info, {
    capabilities: upstream.getServerCapabilities() ?? { tools: {}, resources: {}, prompts: {} },
    ...(instructions ? { instructions } : {}),
  })
  // Each answer is passed on unchanged, errors included: tool failures are results with `isError`.
  server.setRequestHandler(ListToolsRequestSchema, (request, extra) =>
    upstream.listTools(request.params, { signal: extra.signal }),
  )
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    // The upstream answer is checked by the server itself; the client's own output check would only repeat it.
    upstream.request({ method: 'tools/call', params: request.params }, CallToolResultSchema, {
      signal: extra.signal,
      timeout: CALL_TIMEOUT_MS,
    }),
  )
  server.setRequestHandler(ListResourcesRequestSchema, (request, extra) =>
    upstream.listResources(request.params, { signal: extra.signal }),
  )
  server.setRequestHandler(ListResourceTemplatesRequestSchema, (request, extra) =>
    upstream.listResourceTemplates(request.params, { signal: extra.signal }),
  )
  server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
    upstream.readResource(request.params, { signal: extra.signal }),
  )
  server.setRequestHandler(ListPromptsRequestSchema, (request, extra) =>
    upstream.listPrompts(request.params, { signal: extra.signal }),
  )
  server.setRequestHandler(GetPromptRequestSchema, (request, extra) =>
    upstream.getPrompt(request.params, { signal: extra.signal }),
  )
  await server.connect(new StdioServerTransport())
  return {
    close: async () => {
      await server.close()
      await upstream.close()
    },
  }
}

/** Long queries and questions may take a while; the server applies its own timeouts to them. */
const CALL_TIMEOUT_MS = 10 * 60_000

/** The command: reads its settings from the environment and serves until stdin closes. */
export async function main(): Promise<void> {
  const apiKey = process.env.TRIBUTARY_API_KEY
  if (!apiKey) {
    process.stderr.write('tributary-mcp: set TRIBUTARY_API_KEY to a Tributary API key (trb_…)\n')
    process.exit(2)
  }
  const url = process.env.TRIBUTARY_URL || DEFAULT_URL
  try {
    const bridge = await startStdioBridge({ url, apiKey })
    const stop = () => void bridge.close().finally(() => process.exit(0))
    process.stdin.on('end', stop)
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  } catch (error) {
    process.stderr.write(
      `tributary-mcp: cannot reach ${url}/mcp: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exit(1)
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
