import type { AgentAnswer, AgentCall, ProjectAgentsCall } from '@tributary/contract'

import { requireTenant } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import { AppError, errors, isAppError } from '../../lib/errors.js'
import { newId } from '../../lib/ids.js'
import type { Logger } from '../../lib/logger.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AgentRow } from '../../metadata/schema.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { type AgentProtocols, type AgentRequest, BadMessageError } from './agent-protocols.js'
import { agentErrors, agentFailure, failureError } from './agents.errors.js'
import { countCall, pruneCounters } from './agents.repo.js'
import type { AgentsService } from './agents.service.js'

export interface GatewayOptions {
  logger: Logger
  timeoutMs: number
  maxTimeoutMs: number
  /** Whether audit entries hold what was sent and answered. */
  auditPayloads: boolean
  /** The clock of the rate-limit windows (tests move it instead of waiting a minute). */
  now: () => number
}

const WINDOWS = [
  { name: 'second', ms: 1_000, column: 'max_requests_per_second' },
  { name: 'minute', ms: 60_000, column: 'max_requests_per_minute' },
  { name: 'hour', ms: 3_600_000, column: 'max_requests_per_hour' },
] as const

/** Counters are dropped some time after their hour ended, every this many calls of a process. */
const PRUNE_EVERY = 500

/** A call checked and counted, ready to go out. */
export interface PreparedCall {
  ctx: TenantContext
  agent: AgentRow
  projectId: string | undefined
  request: AgentRequest
  timeoutMs: number
}

/**
 * The agent gateway: checks the caller may use the agent, counts the call against the agent's
 * limits (shared by every server on the metadata database), calls it with its credential and a
 * deadline, and audits who called which agent, how long it took and how it ended.
 *
 * Calls go to the audit log rather than a table of their own: it is where an administrator already
 * looks for who did what, filterable by agent (`resource_id`) and caller (`actor_id`), and one row
 * per call is what a calls table would hold anyway. Payloads stay out unless the operator asks.
 * The entry is written once the answer is known but without holding the answer back (a round trip
 * of the metadata store per call); closing the server waits for the entries still being written.
 */
export class AgentGateway {
  #calls = 0
  readonly #writing = new Set<Promise<void>>()

  constructor(
    private readonly db: MetadataDb,
    private readonly agents: AgentsService,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
    private readonly protocols: AgentProtocols,
    private readonly options: GatewayOptions,
  ) {}

  /** Access, input and rate limit, in that order: a refused call reaches no agent. */
  async prepare(
    ctx: RequestContext,
    agentId: string,
    input: AgentCall,
    { stream = false } = {},
  ): Promise<PreparedCall> {
    const tenant = requireTenant(ctx)
    const { principal } = tenant
    const projectId = input.project_id ?? (principal.kind === 'project' ? principal.projectId : undefined)
    if (projectId !== undefined) await this.projects.require(ctx, projectId, { use: 'agents' })
    else if (principal.kind !== 'user' && !hasScope(principal.scopes, 'agents')) {
      throw errors.authorization("this key lacks the 'agents' scope")
    }
    const agent = await this.agents.findForCall(tenant, agentId)
    if (projectId !== undefined && !(await this.agents.isAssigned(projectId, agentId))) {
      throw errors.notFound('agent', agentId)
    }
    const timeoutMs = this.#timeout(input.timeout_ms)
    checkRequest(agent, input, stream)
    await this.#count(tenant, agent, projectId)
    return {
      ctx: tenant,
      agent,
      projectId,
      request: { message: input.message, tool: input.tool, arguments: input.arguments },
      timeoutMs,
    }
  }

  async call(prepared: PreparedCall, signal?: AbortSignal): Promise<AgentAnswer> {
    const { agent } = prepared
    const id = newId()
    const started = performance.now()
    const deadline = AbortSignal.timeout(prepared.timeoutMs)
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline
    try {
      const reply = await this.protocols.call(this.agents.target(agent), prepared.request, combined)
      const duration = elapsed(started)
      this.#record(prepared, id, duration, reply.error ? 'agent_error' : 'ok', {
        ...(reply.error ? { error_code: reply.error.code } : {}),
        ...(this.options.auditPayloads ? { request: prepared.request, result: reply.result } : {}),
      })
      return { id, agent_id: agent.id, result: reply.result, error: reply.error, duration_ms: duration }
    } catch (error) {
      throw this.#failed(prepared, id, started, error, deadline.aborted, signal)
    }
  }

  /** A2A `message/stream`, event by event; the last event is audited with the whole call. */
  async *stream(
    prepared: PreparedCall,
    signal: AbortSignal,
  ): AsyncGenerator<{ kind: string; value: unknown }, { id: string; duration_ms: number }> {
    const id = newId()
    const started = performance.now()
    const deadline = AbortSignal.timeout(prepared.timeoutMs)
    const combined = AbortSignal.any([signal, deadline])
    let events = 0
    try {
      for await (const event of this.protocols.stream(this.agents.target(prepared.agent), prepared.request, combined)) {
        events += 1
        yield event
      }
    } catch (error) {
      throw this.#failed(prepared, id, started, error, deadline.aborted, signal)
    }
    const duration = elapsed(started)
    this.#record(prepared, id, duration, 'ok', { streamed: true, events })
    return { id, duration_ms: duration }
  }

  /** Every active agent of the project, in parallel; each answers or fails on its own. */
  async callProject(
    ctx: RequestContext,
    projectId: string,
    input: ProjectAgentsCall,
    signal?: AbortSignal,
  ): Promise<AgentAnswer[]> {
    const tenant = await this.projects.require(ctx, projectId, { use: 'agents' })
    const timeoutMs = this.#timeout(input.timeout_ms)
    const members = (await this.agents.agentsOfProject(tenant, projectId)).filter(
      (row) => row.agent.status === 'active',
    )
    return Promise.all(
      members.map(async ({ agent }) => {
        const started = performance.now()
        try {
          checkRequest(agent, input, false)
          await this.#count(tenant, agent, projectId)
          return await this.call(
            {
              ctx: tenant,
              agent,
              projectId,
              request: { message: input.message, tool: input.tool, arguments: input.arguments },
              timeoutMs,
            },
            signal,
          )
        } catch (error) {
          if (!isAppError(error)) throw error
          return {
            id: newId(),
            agent_id: agent.id,
            result: null,
            error: {
              code: error.code,
              message: error.message,
              ...(error.details === undefined ? {} : { data: error.details }),
            },
            duration_ms: elapsed(started),
          }
        }
      }),
    )
  }

  #timeout(requested: number | undefined): number {
    if (requested !== undefined && requested > this.options.maxTimeoutMs) {
      throw errors.validation(`timeout_ms: must be at most ${this.options.maxTimeoutMs}`, {
        issues: [{ location: 'body', field: 'timeout_ms', message: `must be at most ${this.options.maxTimeoutMs}` }],
      })
    }
    return requested ?? this.options.timeoutMs
  }

  /**
   * Counts the call in each window the agent limits, in one statement, and refuses it when any
   * count went over. Refused calls count too: a caller hammering a limited agent keeps it limited.
   */
  async #count(ctx: TenantContext, agent: AgentRow, projectId: string | undefined): Promise<void> {
    const limited = WINDOWS.filter((window) => agent[window.column] !== null)
    if (limited.length === 0) return
    const now = this.options.now()
    const windows = limited.map((window) => ({ ...window, start: Math.floor(now / window.ms) * window.ms }))
    const counts = await countCall(this.db, agent.id, windows)
    if ((this.#calls = (this.#calls + 1) % PRUNE_EVERY) === 0) {
      await pruneCounters(this.db, now - 2 * WINDOWS[2].ms)
    }
    let retryAfterMs = 0
    for (const window of windows) {
      const count = counts.find((row) => row.window_name === window.name)?.count ?? 0
      const limit = agent[window.column] ?? Number.POSITIVE_INFINITY
      if (count > limit) retryAfterMs = Math.max(retryAfterMs, window.start + window.ms - now)
    }
    if (retryAfterMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000))
      this.#write(ctx, agent.id, {
        status: 'rate_limited',
        project_id: projectId ?? null,
        retry_after_seconds: retryAfter,
      })
      throw errors.rateLimited(retryAfter)
    }
  }

  #failed(
    prepared: PreparedCall,
    id: string,
    started: number,
    error: unknown,
    timedOut: boolean,
    signal: AbortSignal | undefined,
  ): unknown {
    const duration = elapsed(started)
    if (error instanceof BadMessageError) {
      return agentErrors.badMessage(error.message)
    }
    if (signal?.aborted && !timedOut) {
      this.#record(prepared, id, duration, 'aborted', {})
      return new AppError('connection_error', 'the call was stopped: the caller went away', { reason: 'aborted' })
    }
    const failure = agentFailure(error, prepared.agent.protocol, this.agents.secretsOf(prepared.agent), timedOut)
    this.#record(prepared, id, duration, failure.kind, { reason: failure.reason })
    return failureError(failure, prepared.timeoutMs) satisfies AppError
  }

  /** Waits for the audit entries still being written (on close). */
  async flush(): Promise<void> {
    while (this.#writing.size > 0) await Promise.all(this.#writing)
  }

  #record(
    prepared: PreparedCall,
    id: string,
    durationMs: number,
    status: string,
    extra: Record<string, unknown>,
  ): void {
    this.#write(prepared.ctx, prepared.agent.id, {
      call_id: id,
      protocol: prepared.agent.protocol,
      project_id: prepared.projectId ?? null,
      ...(prepared.request.tool ? { tool: prepared.request.tool } : {}),
      status,
      duration_ms: durationMs,
      ...extra,
    })
  }

  #write(ctx: TenantContext, agentId: string, details: Record<string, unknown>): void {
    const written = this.audit
      .record(this.db, ctx, {
        action: 'agent.call',
        resourceType: 'agent',
        resourceId: agentId,
        organizationId: ctx.principal.organizationId,
        details,
      })
      .catch((error: unknown) => {
        this.options.logger.error({ err: error, agent_id: agentId, details }, 'could not audit an agent call')
      })
      .finally(() => this.#writing.delete(written))
    this.#writing.add(written)
  }
}

function hasScope(scopes: readonly string[], scope: string): boolean {
  return scopes.includes('*') || scopes.includes(scope) || scopes.includes('admin')
}

/** What each protocol needs of a call, checked before anything is counted or sent. */
function checkRequest(agent: AgentRow, input: Pick<AgentCall, 'message' | 'tool'>, stream: boolean): void {
  if (agent.protocol === 'A2A' && input.message === undefined) {
    throw agentErrors.badMessage('message: an A2A agent is called with a message; none was given')
  }
  if (agent.protocol === 'MCP' && input.tool === undefined) {
    throw agentErrors.badMessage('tool: an MCP agent is called with a tool; none was given')
  }
  if (stream && agent.protocol !== 'A2A') {
    throw agentErrors.badMessage('stream: only A2A agents stream (message/stream); call this MCP agent without it')
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100
}
