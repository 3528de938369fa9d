import { randomUUID } from 'node:crypto'

import { type AgentCard, Message, type SendMessageResult, StreamResponse, Task } from '@a2a-js/sdk'
import {
  type Client as A2aClient,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client'
import { A2AError } from '@a2a-js/sdk/errors'
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import type { AgentProtocol, AgentTool } from '@tributary/contract'

import type { FetchLike, OutboundClient } from '../../lib/outbound/guarded-fetch.js'

/** Where an agent is and how to authenticate: the credential only ever travels inside this. */
export interface AgentTarget {
  /** Keys the agent-card cache: changes whenever the agent's registration does. */
  cacheKey: string
  protocol: AgentProtocol
  endpointUrl: string
  /** Headers sent to the endpoint's origin only. */
  credentials?: Record<string, string> | undefined
}

/** What one gateway call asks of an agent. */
export interface AgentRequest {
  message?: string | Record<string, unknown> | undefined
  tool?: string | undefined
  arguments?: Record<string, unknown> | undefined
}

/** What the agent answered: a result, or an error of its own (a JSON-RPC error, a failed tool). */
export interface AgentReply {
  result: unknown
  error: { code: string | number; message: string; data?: unknown } | null
}

/** The agent answered, but not as its protocol says. */
export class ProtocolError extends Error {
  override name = 'AgentProtocolError'
}

/** The caller's message is not a message the protocol can carry. */
export class BadMessageError extends Error {
  override name = 'AgentBadMessageError'
}

const CLIENT_INFO = { name: 'tributary-agent-gateway', version: '0.1.0' }
/** How long a fetched agent card is reused: a call then costs one round trip, not two. */
const CARD_TTL_MS = 60_000
const MAX_CARDS = 1_000

/**
 * The two protocols behind one face: A2A through @a2a-js/sdk's client, MCP through the MCP SDK's
 * client, both on the policy-checked fetch.
 */
export class AgentProtocols {
  readonly #cards = new Map<string, { card: AgentCard; until: number }>()

  constructor(private readonly outbound: OutboundClient) {}

  /** A real handshake: the A2A agent card, or MCP `initialize` then `tools/list`. */
  async handshake(target: AgentTarget, signal: AbortSignal): Promise<AgentTool[]> {
    if (target.protocol === 'A2A') {
      const card = await this.#card(target, signal, { fresh: true })
      return card.skills.map((skill) => ({
        name: skill.id,
        title: skill.name || null,
        description: skill.description || null,
        tags: skill.tags,
        examples: skill.examples,
        input_schema: null,
      }))
    }
    return this.#withMcp(target, signal, async (client) => {
      const { tools } = await client.listTools(undefined, { signal })
      return tools.map((tool) => ({
        name: tool.name,
        title: tool.title ?? tool.annotations?.title ?? null,
        description: tool.description ?? null,
        tags: [],
        examples: [],
        input_schema: tool.inputSchema,
      }))
    })
  }

  async call(target: AgentTarget, request: AgentRequest, signal: AbortSignal): Promise<AgentReply> {
    if (target.protocol === 'A2A') {
      const message = toA2aMessage(request.message)
      const client = await this.#a2a(target, signal)
      try {
        const result = await client.sendMessage(
          { tenant: '', message, configuration: undefined, metadata: undefined },
          {
            signal,
          },
        )
        return { result: a2aResultJson(result), error: null }
      } catch (error) {
        if (error instanceof A2AError) return { result: null, error: { code: error.reason, message: error.message } }
        throw error
      }
    }
    const tool = request.tool
    if (!tool) throw new BadMessageError('tool: an MCP agent is called with a tool; none was given')
    return this.#withMcp(target, signal, async (client) => {
      try {
        const result = await client.callTool({ name: tool, arguments: request.arguments ?? {} }, undefined, { signal })
        if (result.isError === true) {
          const parts: unknown[] = Array.isArray(result.content) ? result.content : []
          const text = parts.map(textOfPart).join('\n')
          return { result, error: { code: 'tool_error', message: text || 'the tool reported an error' } }
        }
        return { result, error: null }
      } catch (error) {
        if (error instanceof McpError) {
          return { result: null, error: { code: error.code, message: error.message, data: error.data } }
        }
        throw error
      }
    })
  }

  /** A2A `message/stream`: each event as A2A v1 JSON, `{kind, value}`. */
  async *stream(
    target: AgentTarget,
    request: AgentRequest,
    signal: AbortSignal,
  ): AsyncGenerator<{ kind: string; value: unknown }> {
    const message = toA2aMessage(request.message)
    const client = await this.#a2a(target, signal)
    const events = client.sendMessageStream(
      { tenant: '', message, configuration: undefined, metadata: undefined },
      {
        signal,
      },
    )
    for await (const event of events) {
      const json = StreamResponse.toJSON(event) as Record<string, unknown>
      const [kind, value] = Object.entries(json)[0] ?? ['unknown', json]
      yield { kind, value }
    }
  }

  async #a2a(target: AgentTarget, signal: AbortSignal): Promise<A2aClient> {
    const card = await this.#card(target, signal, { fresh: false })
    return this.#factory(target).createFromAgentCard(card)
  }

  async #card(target: AgentTarget, signal: AbortSignal, { fresh }: { fresh: boolean }): Promise<AgentCard> {
    const cached = this.#cards.get(target.cacheKey)
    if (!fresh && cached && cached.until > Date.now()) return cached.card
    const fetch = this.#fetch(target)
    const resolver = new DefaultAgentCardResolver({
      fetchImpl: (input, init) => fetch(input, { ...init, signal: anySignal(init?.signal, signal) }),
    })
    let card: AgentCard
    try {
      card = await resolver.resolve(target.endpointUrl)
    } catch (error) {
      if (error instanceof SyntaxError) throw new ProtocolError(`the agent card is not JSON: ${error.message}`)
      throw error
    }
    const problem = cardProblem(card)
    if (problem) throw new ProtocolError(`the agent card is not valid: ${problem}`)
    if (this.#cards.size >= MAX_CARDS) this.#cards.clear()
    this.#cards.set(target.cacheKey, { card, until: Date.now() + CARD_TTL_MS })
    return card
  }

  #factory(target: AgentTarget): ClientFactory {
    const fetchImpl = this.#fetch(target)
    return new ClientFactory({
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    })
  }

  async #withMcp<T>(target: AgentTarget, signal: AbortSignal, work: (client: McpClient) => Promise<T>): Promise<T> {
    const client = new McpClient(CLIENT_INFO)
    const transport = new StreamableHTTPClientTransport(new URL(target.endpointUrl), { fetch: this.#fetch(target) })
    try {
      try {
        await client.connect(transport, { signal })
      } catch (error) {
        if (error instanceof SyntaxError)
          throw new ProtocolError(`the answer to initialize is not JSON: ${error.message}`)
        throw error
      }
      return await work(client)
    } finally {
      await client.close().catch(() => undefined)
    }
  }

  #fetch(target: AgentTarget): FetchLike {
    return this.outbound.fetch(
      target.credentials ? { credentials: { origin: target.endpointUrl, headers: target.credentials } } : {},
    )
  }
}

function anySignal(a: AbortSignal | null | undefined, b: AbortSignal): AbortSignal {
  return a ? AbortSignal.any([a, b]) : b
}

/** What makes a card unusable for the gateway: no name, or no JSON-RPC interface to call. */
function cardProblem(card: AgentCard): string | undefined {
  if (typeof card !== 'object' || card === null) return 'not an object'
  if (!card.name) return 'it has no name'
  const interfaces = card.supportedInterfaces ?? []
  if (interfaces.length === 0) return 'it declares no supportedInterfaces'
  if (!interfaces.some((entry) => entry.protocolBinding === 'JSONRPC' && URL.canParse(entry.url))) {
    return 'it declares no JSON-RPC interface with a URL'
  }
  return undefined
}

function toA2aMessage(message: AgentRequest['message']): Message {
  if (message === undefined) throw new BadMessageError('message: an A2A agent is called with a message; none was given')
  const json =
    typeof message === 'string'
      ? { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: message }] }
      : { messageId: randomUUID(), role: 'ROLE_USER', ...message }
  if (!Array.isArray((json as { parts?: unknown }).parts) || (json as { parts: unknown[] }).parts.length === 0) {
    throw new BadMessageError('message.parts: an A2A message needs at least one part')
  }
  try {
    return Message.fromJSON(json)
  } catch (error) {
    throw new BadMessageError(`message: not an A2A message (${(error as Error).message})`)
  }
}

/** The SDK's result as A2A v1 JSON, tagged with what it is. */
function a2aResultJson(result: SendMessageResult): unknown {
  return 'messageId' in result ? { message: Message.toJSON(result) } : { task: Task.toJSON(result) }
}

function textOfPart(part: unknown): string {
  if (typeof part !== 'object' || part === null) return ''
  const { type, text } = part as { type?: unknown; text?: unknown }
  return type === 'text' && typeof text === 'string' ? text : ''
}
