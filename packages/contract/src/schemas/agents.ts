import { z } from 'zod'

import { Description, Id, Name, Text, Timestamp } from './common.js'

export const AgentProtocol = z
  .enum(['A2A', 'MCP'], { error: "must be 'A2A' or 'MCP'" })
  .meta({ id: 'AgentProtocol', description: 'A2A (Agent2Agent, JSON-RPC) or MCP (Streamable HTTP)' })
export type AgentProtocol = z.infer<typeof AgentProtocol>

export const AgentStatus = z.enum(['pending', 'active', 'unreachable', 'invalid']).meta({
  id: 'AgentStatus',
  description:
    '`pending` until tested; `active` after a good handshake; `unreachable` when it could not be reached; ' +
    '`invalid` when it answered but not as its protocol says',
})
export type AgentStatus = z.infer<typeof AgentStatus>

/** Largest `capabilities`, `agent_metadata` or `arguments` object, as JSON. */
const MAX_OBJECT_BYTES = 64 * 1024

const JsonObject = z
  .record(z.string(), z.unknown(), { error: 'must be an object' })
  .refine(
    (value) => JSON.stringify(value).length <= MAX_OBJECT_BYTES,
    `must be at most ${MAX_OBJECT_BYTES} bytes as JSON`,
  )

const EndpointUrl = z
  .string()
  .trim()
  .max(2000, 'must be at most 2000 characters')
  .pipe(Text)
  .refine((value) => URL.canParse(value), 'must be an absolute URL')
  .refine((value) => !URL.canParse(value) || /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL')
  .meta({
    description:
      'A2A: the base URL its agent card is found under (`/.well-known/agent-card.json`); MCP: the Streamable HTTP ' +
      'endpoint. Private, loopback and link-local addresses are refused unless the operator allows them',
    example: 'https://agents.example.com/sales',
  })

// Headers the transport owns, or that would change how the request is routed or framed.
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'accept',
  'accept-encoding',
  'mcp-session-id',
  'mcp-protocol-version',
  'a2a-version',
])

const HeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name')
  .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith('proxy-'), {
    message: 'is a header the gateway sets itself',
  })

const Secret = z
  .string()
  .min(1, 'must not be empty')
  .max(4096, 'must be at most 4096 characters')
  .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII (it is sent as an HTTP header)')
  .meta({ description: 'Write-only: stored encrypted, sent only to the agent, never returned', writeOnly: true })

export const AgentAuth = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('bearer'), secret: Secret }),
      z.strictObject({ type: z.literal('header'), header_name: HeaderName, secret: Secret }),
    ],
    { error: "type: must be 'bearer' or 'header'" },
  )
  .meta({
    id: 'AgentAuth',
    description: '`bearer` sends `Authorization: Bearer <secret>`; `header` sends `<header_name>: <secret>`',
  })
export type AgentAuth = z.infer<typeof AgentAuth>

const AgentRole = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .pipe(Text)
  .meta({ description: 'What the agent does in the project (free text)', example: 'analyst' })

export const Agent = z
  .object({
    id: Id,
    organization_id: Id,
    name: z.string(),
    description: z.string().nullable(),
    protocol: AgentProtocol,
    endpoint_url: z.string(),
    capabilities: z.record(z.string(), z.unknown()),
    agent_metadata: z.record(z.string(), z.unknown()),
    status: AgentStatus,
    status_reason: z.string().nullable(),
    tested_at: Timestamp.nullable(),
    has_auth: z.boolean().meta({ description: 'Whether a credential is stored (it is never returned)' }),
    auth_type: z.enum(['bearer', 'header']).nullable(),
    auth_header_name: z.string().nullable(),
    gateway_url: z.string().meta({ description: 'Where to call the agent through Tributary' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Agent' })
export type Agent = z.infer<typeof Agent>

export const CreateAgent = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    protocol: AgentProtocol,
    endpoint_url: EndpointUrl,
    capabilities: JsonObject.default({}),
    agent_metadata: JsonObject.default({}),
    project_id: Id.optional().meta({ description: 'A project to assign the agent to at once' }),
    role: AgentRole.optional().meta({ description: 'Its role in `project_id`' }),
    auth: AgentAuth.optional(),
  })
  .refine((body) => body.role === undefined || body.project_id !== undefined, {
    message: 'role: needs project_id',
    path: ['role'],
  })
  .meta({ id: 'CreateAgent' })
export type CreateAgent = z.infer<typeof CreateAgent>

export const UpdateAgent = z
  .strictObject({
    name: Name.optional(),
    description: Description.nullable().optional(),
    protocol: AgentProtocol.optional(),
    endpoint_url: EndpointUrl.optional(),
    capabilities: JsonObject.optional(),
    agent_metadata: JsonObject.optional(),
    auth: AgentAuth.nullable().optional().meta({ description: 'Replaces the credential; `null` removes it' }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateAgent' })
export type UpdateAgent = z.infer<typeof UpdateAgent>

export const AgentTool = z
  .object({
    name: z.string().meta({ description: 'A2A: the skill id; MCP: the tool name' }),
    title: z.string().nullable(),
    description: z.string().nullable(),
    tags: z.array(z.string()),
    examples: z.array(z.string()),
    input_schema: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: 'MCP: the JSON Schema of the arguments' }),
  })
  .meta({ id: 'AgentTool' })
export type AgentTool = z.infer<typeof AgentTool>

export const AgentTools = z
  .object({ agent_id: Id, protocol: AgentProtocol, data: z.array(AgentTool) })
  .meta({ id: 'AgentTools' })
export type AgentTools = z.infer<typeof AgentTools>

export const AgentTestResult = z
  .object({
    agent: Agent,
    ok: z.boolean(),
    latency_ms: z.number(),
    tools: z.array(AgentTool).meta({ description: 'What the handshake found (A2A skills, MCP tools)' }),
  })
  .meta({ id: 'AgentTestResult' })
export type AgentTestResult = z.infer<typeof AgentTestResult>

const Limit = z
  .number({ error: 'must be a number or null' })
  .int('must be an integer')
  .min(1, 'must be at least 1 (null means unlimited)')
  .max(1_000_000, 'must be at most 1000000')
  .nullable()

export const AgentRateLimits = z
  .object({
    agent_id: Id,
    max_requests_per_second: z.number().int().nullable(),
    max_requests_per_minute: z.number().int().nullable(),
    max_requests_per_hour: z.number().int().nullable(),
    updated_at: Timestamp,
  })
  .meta({ id: 'AgentRateLimits' })
export type AgentRateLimits = z.infer<typeof AgentRateLimits>

export const UpdateAgentRateLimits = z
  .strictObject({
    max_requests_per_second: Limit.default(null),
    max_requests_per_minute: Limit.default(null),
    max_requests_per_hour: Limit.default(null),
  })
  .meta({ id: 'UpdateAgentRateLimits', description: 'Replaces all three; a missing or null limit is unlimited' })
export type UpdateAgentRateLimits = z.infer<typeof UpdateAgentRateLimits>

export const ProjectAgent = z
  .object({ project_id: Id, agent_id: Id, role: z.string().nullable(), created_at: Timestamp, agent: Agent })
  .meta({ id: 'ProjectAgent' })
export type ProjectAgent = z.infer<typeof ProjectAgent>

export const AssignAgent = z.strictObject({ agent_id: Id, role: AgentRole.optional() }).meta({ id: 'AssignAgent' })
export type AssignAgent = z.infer<typeof AssignAgent>

const AgentMessage = z
  .union(
    [z.string().min(1, 'must not be empty').max(100_000, 'must be at most 100000 characters').pipe(Text), JsonObject],
    { error: 'must be text or an A2A message object' },
  )
  .meta({
    description:
      'Text, sent as one text part, or an A2A v1 `Message` as JSON (`{"parts": [{"text": "…"}], …}`); ' +
      '`messageId` and `role` are filled in when absent',
  })

const TimeoutMs = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .meta({ description: 'How long to wait for the agent, up to the server’s maximum' })

export const AgentCall = z
  .strictObject({
    message: AgentMessage.optional().meta({ description: 'A2A: required. MCP: ignored (use `arguments`)' }),
    project_id: Id.optional().meta({
      description:
        'Call the agent as a member of this project (it must be assigned there); a project key’s own by default',
    }),
    tool: z.string().min(1).max(200).pipe(Text).optional().meta({ description: 'MCP: the tool to call (required)' }),
    arguments: JsonObject.optional().meta({ description: 'MCP: the tool’s arguments' }),
    timeout_ms: TimeoutMs.optional(),
  })
  .meta({ id: 'AgentCall' })
export type AgentCall = z.infer<typeof AgentCall>

export const ProjectAgentsCall = z
  .strictObject({
    message: AgentMessage,
    tool: AgentCall.shape.tool,
    arguments: AgentCall.shape.arguments,
    timeout_ms: TimeoutMs.optional(),
  })
  .meta({ id: 'ProjectAgentsCall' })
export type ProjectAgentsCall = z.infer<typeof ProjectAgentsCall>

export const AgentCallError = z
  .object({
    code: z.union([z.string(), z.number()]).meta({
      description: 'An API error code (`connection_error`, `rate_limit_exceeded`, …), a JSON-RPC code, or `tool_error`',
    }),
    message: z.string(),
    data: z.unknown().optional(),
  })
  .meta({ id: 'AgentCallError' })

export const AgentAnswer = z
  .object({
    id: Id.meta({ description: 'This call, as the audit log records it' }),
    agent_id: Id,
    result: z.unknown().nullable().meta({
      description: 'A2A: `{"message": …}` or `{"task": …}` as A2A v1 JSON; MCP: the `tools/call` result',
    }),
    error: AgentCallError.nullable(),
    duration_ms: z.number(),
  })
  .meta({ id: 'AgentAnswer' })
export type AgentAnswer = z.infer<typeof AgentAnswer>
