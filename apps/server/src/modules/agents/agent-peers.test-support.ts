import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'

import { AgentCard, Message, Role, TaskState } from '@a2a-js/sdk'
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  type RequestContext,
} from '@a2a-js/sdk/server'
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import express from 'express'
import { z } from 'zod'

/** A protocol peer on 127.0.0.1, with the headers of every request it received. */
export interface Peer {
  url: string
  port: number
  requests: { path: string; headers: IncomingHttpHeaders }[]
  /** Requests whose caller hung up before the answer was sent. */
  hungUp: () => number
  close(): Promise<void>
}

async function serve(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as { port: number }).port
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

function textOf(message: Message | undefined): string {
  return (message?.parts ?? []).map((part) => (part.content?.$case === 'text' ? part.content.value : '')).join('')
}

export interface A2aPeerOptions {
  /** Wait this long before answering (a slow agent). */
  delayMs?: number
  /** Refuse requests without this bearer token. */
  token?: string
}

/**
 * An A2A agent built with @a2a-js/sdk's server: it echoes the text it gets (`echo: <text>`) as a
 * message, or, when streamed, as a task that goes working → artifact → completed.
 */
export async function startA2aPeer(options: A2aPeerOptions = {}): Promise<Peer> {
  const requests: Peer['requests'] = []
  const app = express()
  const server = createServer(app)
  const port = await serve(server)
  const url = `http://127.0.0.1:${port}`
  const card = AgentCard.fromJSON({
    name: 'Echo agent',
    description: 'Repeats what it is told',
    version: '1.0.0',
    supportedInterfaces: [{ url: `${url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    capabilities: { streaming: true },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'echo',
        name: 'Echo',
        description: 'Says back what it hears',
        tags: ['test'],
        examples: ['hello'],
      },
    ],
  })
  const executor: AgentExecutor = {
    async execute(context: RequestContext, bus: ExecutionEventBus) {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs))
      const text = `echo: ${textOf(context.userMessage)}`
      const streaming = context.userMessage.metadata?.stream === true || text.includes('stream')
      if (!streaming) {
        bus.publish(
          AgentEvent.message(
            Message.fromJSON({
              messageId: randomUUID(),
              role: 'ROLE_AGENT',
              contextId: context.contextId,
              parts: [{ text }],
            }),
          ),
        )
        bus.finished()
        return
      }
      const base = { taskId: context.taskId, contextId: context.contextId }
      bus.publish(
        AgentEvent.task({
          id: context.taskId,
          contextId: context.contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: undefined },
          artifacts: [],
          history: [context.userMessage],
          metadata: undefined,
        }),
      )
      bus.publish(
        AgentEvent.statusUpdate({
          ...base,
          status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: undefined },
          metadata: undefined,
        }),
      )
      bus.publish(
        AgentEvent.artifactUpdate({
          ...base,
          artifact: {
            artifactId: 'answer',
            name: 'answer',
            description: '',
            parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }],
            metadata: undefined,
            extensions: [],
          },
          append: false,
          lastChunk: true,
          metadata: undefined,
        }),
      )
      bus.publish(
        AgentEvent.statusUpdate({
          ...base,
          status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: undefined },
          metadata: undefined,
        }),
      )
      bus.finished()
    },
    async cancelTask() {},
  }
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor)
  let hungUp = 0
  app.use((req, res, next) => {
    requests.push({ path: req.path, headers: req.headers })
    res.on('close', () => {
      if (!res.writableFinished) hungUp += 1
    })
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      res.status(401).json({ error: 'unauthorized' })
      return
    }
    next()
  })
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }))
  app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }))
  return { url, port, requests, hungUp: () => hungUp, close: () => shut(server) }
}

export interface McpPeerOptions {
  /** Refuse requests without this header value (`x-api-key`). */
  apiKey?: string
}

/** An MCP server built with the MCP SDK, over Streamable HTTP (stateless), with `add` and `fail` tools. */
export async function startMcpPeer(options: McpPeerOptions = {}): Promise<Peer> {
  const requests: Peer['requests'] = []
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '/', headers: req.headers })
    if (options.apiKey && req.headers['x-api-key'] !== options.apiKey) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}')
      return
    }
    const mcp = new McpServer({ name: 'calculator', version: '1.0.0' })
    mcp.registerTool(
      'add',
      {
        title: 'Add',
        description: 'Adds two numbers',
        inputSchema: { a: z.number(), b: z.number() },
      },
      async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
    )
    mcp.registerTool('fail', { description: 'Always fails' }, async () => ({
      content: [{ type: 'text', text: 'it failed on purpose' }],
      isError: true,
    }))
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    res.on('close', () => {
      void transport.close()
      void mcp.close()
    })
    void mcp.connect(transport).then(() => transport.handleRequest(req, res))
  })
  const port = await serve(server)
  return { url: `http://127.0.0.1:${port}/mcp`, port, requests, hungUp: () => 0, close: () => shut(server) }
}

/** Answers every request with `body` (200, the content type given): not any protocol. */
export async function startGarbagePeer(body = 'this is not JSON', contentType = 'application/json'): Promise<Peer> {
  const requests: Peer['requests'] = []
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '/', headers: req.headers })
    req.resume()
    res.writeHead(200, { 'content-type': contentType }).end(body)
  })
  const port = await serve(server)
  return { url: `http://127.0.0.1:${port}`, port, requests, hungUp: () => 0, close: () => shut(server) }
}

/** A port nothing listens on: the peer is down. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  const port = await serve(server)
  await shut(server)
  return port
}

export { Role }
