import { createRoute, z } from '@hono/zod-openapi'
import {
  Agent,
  AgentAnswer,
  AgentCall,
  AgentRateLimits,
  AgentTestResult,
  AgentTools,
  AssignAgent,
  CreateAgent,
  Id,
  ListQuery,
  listOf,
  ProjectAgent,
  ProjectAgentsCall,
  UpdateAgent,
  UpdateAgentRateLimits,
} from '@tributary/contract'
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'

import { errorEnvelope } from '../../http/error-handler.js'
import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
  type AppEnv,
} from '../../http/router.js'
import { isAppError } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import type { AgentGateway } from './agent-gateway.js'
import type { AgentsService } from './agents.service.js'

const tags = ['Agents']
const gatewayTags = ['Agent gateway']
const AgentParams = z.object({ agent_id: Id })
const ProjectParams = z.object({ project_id: Id })
const ProjectAgentParams = ProjectParams.extend({ agent_id: Id })

const ADMINS =
  'Organization admins only (users with role `admin`, organization keys with the `admin` scope); others get 403.'
const GATEWAY_ERRORS = [...WRITE_ERRORS, 404, 502, 504] as const

/** Over an agent's limit: the 429 carries `Retry-After` as the API's own limit does. */
async function withRetryAfter<T>(c: Context<AppEnv>, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (isAppError(error, 'rate_limit_exceeded')) {
      const seconds = (error.details as { retry_after_seconds?: number } | undefined)?.retry_after_seconds
      if (seconds !== undefined) c.header('Retry-After', String(seconds))
    }
    throw error
  }
}

export function agentsRoutes(agents: AgentsService, gateway: AgentGateway, logger: Logger) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/agents',
        tags,
        summary: 'Register an agent (A2A or MCP)',
        description:
          `${ADMINS} The endpoint must be http(s); an address in a private, loopback, link-local, unique-local, ` +
          'CGNAT or multicast range is refused (422) unless the operator allows it with `TRIBUTARY_OUTBOUND_ALLOW`. ' +
          '`auth.secret` is stored encrypted and never returned. The agent starts `pending`: ' +
          '`POST /agents/{agent_id}/test` checks it.',
        security: bearerSecurity,
        request: { body: jsonBody(CreateAgent) },
        responses: {
          201: jsonResponse(Agent, 'The agent'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => c.json(await agents.create(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/agents',
        tags,
        summary: 'List the organization’s agents',
        description: 'A project key lists only the agents assigned to its project.',
        security: bearerSecurity,
        request: { query: ListQuery },
        responses: { 200: jsonResponse(listOf(Agent), 'Agents'), ...errorResponses(...AUTHENTICATED_ERRORS) },
      }),
      async (c) => c.json(await agents.list(contextOf(c), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/agents/{agent_id}',
        tags,
        summary: 'Get an agent',
        security: bearerSecurity,
        request: { params: AgentParams },
        responses: { 200: jsonResponse(Agent, 'The agent'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => c.json(await agents.get(contextOf(c), c.req.valid('param').agent_id), 200),
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/agents/{agent_id}',
        tags,
        summary: 'Change an agent',
        description: `${ADMINS} A new endpoint, protocol or credential sets the status back to \`pending\`.`,
        security: bearerSecurity,
        request: { params: AgentParams, body: jsonBody(UpdateAgent) },
        responses: { 200: jsonResponse(Agent, 'The agent'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) => c.json(await agents.update(contextOf(c), c.req.valid('param').agent_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/agents/{agent_id}',
        tags,
        summary: 'Delete (archive) an agent',
        description: `${ADMINS} Its project assignments end with it.`,
        security: bearerSecurity,
        request: { params: AgentParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        await agents.archive(contextOf(c), c.req.valid('param').agent_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/agents/{agent_id}/test',
        tags,
        summary: 'Test an agent with a real handshake',
        description:
          `${ADMINS} A2A: fetches and checks the agent card (\`/.well-known/agent-card.json\` under the endpoint). ` +
          'MCP: `initialize`, then `tools/list`. Sets `status` to `active`, `unreachable` (down, refused by the ' +
          'address policy, too slow) or `invalid` (answered, but not as the protocol says), with `status_reason`. ' +
          'A failed test is still a 200: the outcome is in `ok` and the agent’s status.',
        security: bearerSecurity,
        request: { params: AgentParams },
        responses: {
          200: jsonResponse(AgentTestResult, 'What the handshake found'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await agents.test(contextOf(c), c.req.valid('param').agent_id, c.req.raw.signal), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/agents/{agent_id}/tools',
        tags,
        summary: 'List an agent’s skills (A2A) or tools (MCP)',
        description: 'Asked of the agent now: a down agent is a 502 `connection_error` with the reason.',
        security: bearerSecurity,
        request: { params: AgentParams },
        responses: {
          200: jsonResponse(AgentTools, 'Skills or tools'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 502, 504),
        },
      }),
      async (c) => c.json(await agents.tools(contextOf(c), c.req.valid('param').agent_id, c.req.raw.signal), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/agents/{agent_id}/rate-limits',
        tags,
        summary: 'Get an agent’s rate limits',
        security: bearerSecurity,
        request: { params: AgentParams },
        responses: {
          200: jsonResponse(AgentRateLimits, 'Limits; null is unlimited'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await agents.rateLimits(contextOf(c), c.req.valid('param').agent_id), 200),
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/agents/{agent_id}/rate-limits',
        tags,
        summary: 'Set an agent’s rate limits',
        description:
          `${ADMINS} Gateway calls over any of the three limits get 429 \`rate_limit_exceeded\` with ` +
          '`Retry-After`. Windows are fixed (the current second, minute, hour) and counted in the metadata ' +
          'database, so the limits hold across every server sharing it; refused calls count too.',
        security: bearerSecurity,
        request: { params: AgentParams, body: jsonBody(UpdateAgentRateLimits) },
        responses: {
          200: jsonResponse(AgentRateLimits, 'The new limits'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await agents.setRateLimits(contextOf(c), c.req.valid('param').agent_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/agents',
        tags,
        summary: 'Assign an agent to a project',
        description: ADMINS,
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(AssignAgent) },
        responses: {
          201: jsonResponse(ProjectAgent, 'The assignment'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => c.json(await agents.assign(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/agents',
        tags,
        summary: 'List a project’s agents',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(ProjectAgent), 'Assignments'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await agents.projectAgents(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/agents/{agent_id}',
        tags,
        summary: 'Remove an agent from a project',
        description: ADMINS,
        security: bearerSecurity,
        request: { params: ProjectAgentParams },
        responses: { 204: { description: 'Removed' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, agent_id } = c.req.valid('param')
        await agents.unassign(contextOf(c), project_id, agent_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/agent-gateway/agents/{agent_id}',
        tags: gatewayTags,
        summary: 'Call an agent through the gateway',
        description:
          'A2A: sends `message` with `message/send` and returns the agent’s message or task. MCP: calls `tool` ' +
          'with `arguments` (`tools/call`). The agent’s credential is added on the way out only. Members of ' +
          'the organization may call; keys need the `agents` scope. With `project_id` (a project key: its ' +
          'project) the agent must be assigned to that project. An error the agent itself returns (a JSON-RPC ' +
          'error, a tool reporting failure) is a 200 with `error` set; a down agent is 502 `connection_error` ' +
          'with the reason, an answer that is not the protocol is 502 naming the protocol error, and no answer ' +
          'within `timeout_ms` (default set by the operator) is 504. Over the agent’s rate limit: 429 with ' +
          '`Retry-After`. Every call is in the audit log (`agent.call`: caller, agent, duration, status).',
        security: bearerSecurity,
        request: { params: AgentParams, body: jsonBody(AgentCall) },
        responses: { 200: jsonResponse(AgentAnswer, 'The agent’s answer'), ...errorResponses(...GATEWAY_ERRORS) },
      }),
      async (c) =>
        withRetryAfter(c, async () => {
          const prepared = await gateway.prepare(contextOf(c), c.req.valid('param').agent_id, c.req.valid('json'))
          return c.json(await gateway.call(prepared, c.req.raw.signal), 200)
        }),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/agent-gateway/agents/{agent_id}/stream',
        tags: gatewayTags,
        summary: 'Call an A2A agent with message/stream, relayed as server-sent events',
        description:
          'The same checks as the plain call. Each A2A event is relayed as it arrives: `task`, `message`, ' +
          '`statusUpdate` or `artifactUpdate` (A2A v1 JSON), then `done` ({id, duration_ms}) or `error` (the ' +
          'error envelope). Refusals before the call starts (access, limits, input) are ordinary JSON errors. ' +
          'When the client goes away the call to the agent is stopped.',
        security: bearerSecurity,
        request: { params: AgentParams, body: jsonBody(AgentCall) },
        responses: {
          200: { description: 'Server-sent events', content: { 'text/event-stream': { schema: z.string() } } },
          ...errorResponses(...GATEWAY_ERRORS),
        },
      }),
      async (c) =>
        withRetryAfter(c, async () => {
          const requestId = c.get('requestId')
          const prepared = await gateway.prepare(contextOf(c), c.req.valid('param').agent_id, c.req.valid('json'), {
            stream: true,
          })
          return streamSSE(c, async (stream) => {
            const controller = new AbortController()
            stream.onAbort(() => controller.abort(new Error('the client closed the stream')))
            try {
              const events = gateway.stream(prepared, controller.signal)
              let next = await events.next()
              while (!next.done) {
                await stream.writeSSE({ event: next.value.kind, data: JSON.stringify(next.value.value) })
                next = await events.next()
              }
              await stream.writeSSE({ event: 'done', data: JSON.stringify(next.value) })
            } catch (error) {
              if (!controller.signal.aborted) {
                await stream.writeSSE({ event: 'error', data: JSON.stringify(errorEnvelope(error, requestId, logger)) })
              }
            }
          })
        }),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/agent-gateway/projects/{project_id}',
        tags: gatewayTags,
        summary: 'Send a message to every active agent of a project',
        description:
          'In parallel, to each agent assigned to the project whose status is `active`. Each answer stands ' +
          'alone: an agent that is down, limited or refuses has its `error` set (`connection_error`, ' +
          '`rate_limit_exceeded`, …) while the others answer. MCP agents need `tool`.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(ProjectAgentsCall) },
        responses: {
          200: jsonResponse(z.object({ data: z.array(AgentAnswer) }), 'Each agent’s answer'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) => {
        const data = await gateway.callProject(
          contextOf(c),
          c.req.valid('param').project_id,
          c.req.valid('json'),
          c.req.raw.signal,
        )
        return c.json({ data }, 200)
      },
    )
}
