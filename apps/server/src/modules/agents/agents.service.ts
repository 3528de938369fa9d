import type {
  Agent,
  AgentRateLimits,
  AgentTestResult,
  AgentTools,
  AssignAgent,
  CreateAgent,
  ListQuery,
  Page,
  ProjectAgent,
  UpdateAgent,
  UpdateAgentRateLimits,
} from '@tributary/contract'
import type { AgentAuth } from '@tributary/contract'

import { requirePermission, requireTenant } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import type { AddressPolicy } from '../../lib/outbound/address-policy.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { SecretBox } from '../../lib/secret-box.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AgentRow } from '../../metadata/schema.js'
import { toIso, transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { AgentProtocols, AgentTarget } from './agent-protocols.js'
import { agentFailure, failureError } from './agents.errors.js'
import { AgentsRepo, type ProjectAgentWithAgent } from './agents.repo.js'

/**
 * How long the gateway reuses an agent's row and its assignments in this process: each call would
 * otherwise pay a round trip to the metadata store. Writes through this process forget them at once;
 * other servers on the same database see a change within this time (as with the keys' cache).
 */
const CALL_CACHE_MS = 2_000
const CALL_CACHE_ENTRIES = 10_000

export interface AgentsOptions {
  /** Prefix of `gateway_url` (the public URL when the operator set one); empty for a path. */
  publicUrl: string | undefined
  /** How long a handshake (`/test`, `/tools`) may take. */
  timeoutMs: number
}

/**
 * The agent registry (issue 13): an organization's own A2A and MCP agents, their assignment to
 * projects and their rate limits. Admins (users with role admin, organization keys with `admin`)
 * change it; every member reads it; a project key sees only the agents of its project.
 */
export class AgentsService {
  readonly #rows = new Map<string, { row: AgentRow; until: number }>()
  readonly #assigned = new Map<string, { until: number }>()

  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
    private readonly secrets: SecretBox,
    private readonly policy: AddressPolicy,
    private readonly protocols: AgentProtocols,
    private readonly options: AgentsOptions,
  ) {}

  async create(ctx: RequestContext, input: CreateAgent): Promise<Agent> {
    const tenant = requirePermission(ctx, 'organization:admin')
    const { organizationId } = tenant.principal
    if (input.project_id !== undefined) await this.projects.require(ctx, input.project_id, 'read')
    await this.#checkEndpoint(input.endpoint_url)
    return transactionOrConflict(
      this.db,
      () => errors.conflict(`an agent named '${input.name}' already exists`),
      async (trx) => {
        const repo = new AgentsRepo(trx)
        const row = await repo.insert({
          organization_id: organizationId,
          name: input.name,
          description: input.description ?? null,
          protocol: input.protocol,
          endpoint_url: input.endpoint_url,
          capabilities: input.capabilities,
          agent_metadata: input.agent_metadata,
          ...this.#sealAuth(input.auth ?? null),
        })
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'agent', {
          action: 'agent.create',
          id: row.id,
          details: { protocol: row.protocol, has_auth: row.auth_secret !== null },
        })
        if (input.project_id !== undefined) {
          await repo.assign(organizationId, input.project_id, row.id, input.role ?? null)
          await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'agent', {
            action: 'agent.assign',
            id: row.id,
            details: { project_id: input.project_id, role: input.role ?? null },
          })
        }
        return this.toAgent(row)
      },
    )
  }

  async list(ctx: RequestContext, query: ListQuery): Promise<Page<Agent>> {
    const { principal } = requireTenant(ctx)
    const projectId = principal.kind === 'project' ? principal.projectId : undefined
    const rows = await new AgentsRepo(this.db).list(
      principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, (row) => this.toAgent(row))
  }

  async get(ctx: RequestContext, id: string): Promise<Agent> {
    return this.toAgent(await this.findVisible(requireTenant(ctx), id))
  }

  async update(ctx: RequestContext, id: string, input: UpdateAgent): Promise<Agent> {
    const tenant = requireTenant(ctx)
    const current = await this.findVisible(tenant, id)
    requirePermission(ctx, 'organization:admin')
    if (input.endpoint_url !== undefined) await this.#checkEndpoint(input.endpoint_url)
    // Where or how the agent is reached changed: what the last test found no longer holds.
    const retest =
      (input.endpoint_url !== undefined && input.endpoint_url !== current.endpoint_url) ||
      (input.protocol !== undefined && input.protocol !== current.protocol) ||
      input.auth !== undefined
    const agent = await transactionOrConflict(
      this.db,
      () => errors.conflict(`an agent named '${input.name ?? ''}' already exists`),
      async (trx) => {
        const row = await new AgentsRepo(trx).update(tenant.principal.organizationId, id, {
          ...(input.name === undefined ? {} : { name: input.name }),
          ...(input.description === undefined ? {} : { description: input.description }),
          ...(input.protocol === undefined ? {} : { protocol: input.protocol }),
          ...(input.endpoint_url === undefined ? {} : { endpoint_url: input.endpoint_url }),
          ...(input.capabilities === undefined ? {} : { capabilities: input.capabilities }),
          ...(input.agent_metadata === undefined ? {} : { agent_metadata: input.agent_metadata }),
          ...(input.auth === undefined ? {} : this.#sealAuth(input.auth)),
          ...(retest
            ? { status: 'pending' as const, status_reason: 'changed since the last test', tested_at: null }
            : {}),
        })
        if (!row) throw errors.notFound('agent', id)
        this.#forget(id)
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'agent', {
          action: 'agent.update',
          id,
          details: { fields: Object.keys(input) },
        })
        return this.toAgent(row)
      },
    )
    // Again after the commit: a call in between may have cached the row as it was.
    this.#forget(id)
    return agent
  }

  async archive(ctx: RequestContext, id: string): Promise<void> {
    const tenant = requireTenant(ctx)
    await this.findVisible(tenant, id)
    requirePermission(ctx, 'organization:admin')
    await this.db.transaction().execute(async (trx) => {
      if (!(await new AgentsRepo(trx).archive(tenant.principal.organizationId, id))) throw errors.notFound('agent', id)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'agent', { action: 'agent.delete', id })
    })
    this.#forget(id)
  }

  /** A real handshake; records what it found in `status` and `status_reason`. */
  async test(ctx: RequestContext, id: string, signal?: AbortSignal): Promise<AgentTestResult> {
    const tenant = requireTenant(ctx)
    const row = await this.findVisible(tenant, id)
    requirePermission(ctx, 'organization:admin')
    const started = performance.now()
    const timeout = AbortSignal.timeout(this.options.timeoutMs)
    let tools: AgentTestResult['tools'] = []
    let status: AgentRow['status'] = 'active'
    let reason: string | null = null
    try {
      tools = await this.protocols.handshake(this.target(row), signal ? AbortSignal.any([signal, timeout]) : timeout)
    } catch (error) {
      if (signal?.aborted) throw error
      const failure = agentFailure(error, row.protocol, this.secretsOf(row), timeout.aborted)
      status = failure.kind === 'protocol_error' ? 'invalid' : 'unreachable'
      reason =
        failure.kind === 'timeout' ? `the agent did not answer within ${this.options.timeoutMs} ms` : failure.reason
    }
    const latency = Math.round((performance.now() - started) * 10) / 10
    const updated = await this.db.transaction().execute(async (trx) => {
      const changed = await new AgentsRepo(trx).update(tenant.principal.organizationId, id, {
        status,
        status_reason: reason,
        tested_at: new Date(),
      })
      if (!changed) throw errors.notFound('agent', id)
      this.#forget(id)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'agent', {
        action: 'agent.test',
        id,
        details: { status, latency_ms: latency },
      })
      return changed
    })
    return { agent: this.toAgent(updated), ok: status === 'active', latency_ms: latency, tools }
  }

  /** The agent's skills (A2A) or tools (MCP), asked of it now. */
  async tools(ctx: RequestContext, id: string, signal?: AbortSignal): Promise<AgentTools> {
    const row = await this.findVisible(requireTenant(ctx), id)
    const timeout = AbortSignal.timeout(this.options.timeoutMs)
    try {
      const data = await this.protocols.handshake(
        this.target(row),
        signal ? AbortSignal.any([signal, timeout]) : timeout,
      )
      return { agent_id: row.id, protocol: row.protocol, data }
    } catch (error) {
      if (signal?.aborted) throw error
      throw failureError(
        agentFailure(error, row.protocol, this.secretsOf(row), timeout.aborted),
        this.options.timeoutMs,
      )
    }
  }

  async rateLimits(ctx: RequestContext, id: string): Promise<AgentRateLimits> {
    return toRateLimits(await this.findVisible(requireTenant(ctx), id))
  }

  async setRateLimits(ctx: RequestContext, id: string, input: UpdateAgentRateLimits): Promise<AgentRateLimits> {
    const tenant = requireTenant(ctx)
    await this.findVisible(tenant, id)
    requirePermission(ctx, 'organization:admin')
    const limits = await this.db.transaction().execute(async (trx) => {
      const row = await new AgentsRepo(trx).update(tenant.principal.organizationId, id, input)
      if (!row) throw errors.notFound('agent', id)
      this.#forget(id)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'agent', {
        action: 'agent.rate_limits',
        id,
        details: { ...input },
      })
      return toRateLimits(row)
    })
    this.#forget(id)
    return limits
  }

  async assign(ctx: RequestContext, projectId: string, input: AssignAgent): Promise<ProjectAgent> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    requirePermission(ctx, 'organization:admin')
    const { organizationId } = tenant.principal
    const agent = await new AgentsRepo(this.db).findActive(organizationId, input.agent_id)
    if (!agent) throw errors.notFound('agent', input.agent_id)
    return this.db.transaction().execute(async (trx) => {
      const row = await new AgentsRepo(trx).assign(organizationId, projectId, agent.id, input.role ?? null)
      if (!row) throw errors.conflict(`agent ${agent.id} is already assigned to project ${projectId}`)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'agent', {
        action: 'agent.assign',
        id: agent.id,
        details: { project_id: projectId, role: row.role },
      })
      return this.toProjectAgent({ ...row, agent })
    })
  }

  async projectAgents(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<ProjectAgent>> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const rows = await new AgentsRepo(this.db).projectAgents(
      tenant.principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    const page = toPage(
      rows.map((row) => ({ ...row, id: row.agent_id })),
      query.limit,
      (row) => this.toProjectAgent(row),
    )
    return page
  }

  async unassign(ctx: RequestContext, projectId: string, agentId: string): Promise<void> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    requirePermission(ctx, 'organization:admin')
    await this.db.transaction().execute(async (trx) => {
      if (!(await new AgentsRepo(trx).unassign(tenant.principal.organizationId, projectId, agentId))) {
        throw errors.notFound('agent', agentId)
      }
      this.#forget(agentId)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'agent', {
        action: 'agent.unassign',
        id: agentId,
        details: { project_id: projectId },
      })
    })
  }

  /** Every live agent of a project, for a caller already checked (the gateway). */
  async agentsOfProject(tenant: TenantContext, projectId: string): Promise<ProjectAgentWithAgent[]> {
    return new AgentsRepo(this.db).projectAgents(tenant.principal.organizationId, projectId, undefined, undefined)
  }

  /** An agent of the caller's organization; for a project key, only one assigned to its project. */
  async findVisible(tenant: TenantContext, id: string): Promise<AgentRow> {
    const { principal } = tenant
    const repo = new AgentsRepo(this.db)
    const row = await repo.findActive(principal.organizationId, id)
    if (!row) throw errors.notFound('agent', id)
    if (principal.kind === 'project' && !(await repo.assignment(principal.projectId, id))) {
      throw errors.notFound('agent', id)
    }
    return row
  }

  /** As `findVisible`, for the gateway: served from the short per-process cache when it can. */
  async findForCall(tenant: TenantContext, id: string): Promise<AgentRow> {
    const { principal } = tenant
    const key = `${principal.organizationId}/${id}`
    const cached = this.#rows.get(key)
    let row = cached && cached.until > Date.now() ? cached.row : undefined
    if (!row) {
      row = await new AgentsRepo(this.db).findActive(principal.organizationId, id)
      if (!row) throw errors.notFound('agent', id)
      remember(this.#rows, key, { row, until: Date.now() + CALL_CACHE_MS })
    }
    if (principal.kind === 'project' && !(await this.isAssigned(principal.projectId, id))) {
      throw errors.notFound('agent', id)
    }
    return row
  }

  /** Whether the agent is assigned to the project; only a yes is cached, so an assignment counts at once. */
  async isAssigned(projectId: string, agentId: string): Promise<boolean> {
    const key = `${projectId}/${agentId}`
    if ((this.#assigned.get(key)?.until ?? 0) > Date.now()) return true
    const assigned = (await new AgentsRepo(this.db).assignment(projectId, agentId)) !== undefined
    if (assigned) remember(this.#assigned, key, { until: Date.now() + CALL_CACHE_MS })
    else this.#assigned.delete(key)
    return assigned
  }

  /** After a write: the gateway reads the agent and its assignments afresh. */
  #forget(agentId: string): void {
    for (const cache of [this.#rows, this.#assigned] as Map<string, unknown>[]) {
      for (const key of cache.keys()) if (key.endsWith(`/${agentId}`)) cache.delete(key)
    }
  }

  /** How to reach the agent, its credential opened for this one call. */
  target(row: AgentRow): AgentTarget {
    return {
      cacheKey: `${row.id}@${toIso(row.updated_at)}`,
      protocol: row.protocol,
      endpointUrl: row.endpoint_url,
      credentials: this.#credentials(row),
    }
  }

  /** The values an error message must never show. */
  secretsOf(row: AgentRow): string[] {
    return row.auth_secret ? [this.secrets.open(row.auth_secret)] : []
  }

  toAgent(row: AgentRow): Agent {
    return {
      id: row.id,
      organization_id: row.organization_id,
      name: row.name,
      description: row.description,
      protocol: row.protocol,
      endpoint_url: row.endpoint_url,
      capabilities: row.capabilities,
      agent_metadata: row.agent_metadata,
      status: row.status,
      status_reason: row.status_reason,
      tested_at: row.tested_at ? toIso(row.tested_at) : null,
      has_auth: row.auth_secret !== null,
      auth_type: row.auth_type,
      auth_header_name: row.auth_type === 'header' ? row.auth_header : null,
      gateway_url: `${this.options.publicUrl ?? ''}/api/v1/agent-gateway/agents/${row.id}`,
      created_at: toIso(row.created_at),
      updated_at: toIso(row.updated_at),
    }
  }

  toProjectAgent(row: ProjectAgentWithAgent): ProjectAgent {
    return {
      project_id: row.project_id,
      agent_id: row.agent_id,
      role: row.role,
      created_at: toIso(row.created_at),
      agent: this.toAgent(row.agent),
    }
  }

  /** Registration refuses what no call could reach; a name that does not resolve yet, `/test` reports as `unreachable`. */
  async #checkEndpoint(endpointUrl: string): Promise<void> {
    const refusal = await this.policy.refusalOf(endpointUrl)
    if (refusal) throw errors.invalidField('endpoint_url', refusal)
  }

  #sealAuth(auth: AgentAuth | null) {
    if (!auth) return { auth_type: null, auth_header: null, auth_secret: null }
    return {
      auth_type: auth.type,
      auth_header: auth.type === 'header' ? auth.header_name : null,
      auth_secret: this.secrets.seal(auth.secret),
    }
  }

  #credentials(row: AgentRow): Record<string, string> | undefined {
    if (!row.auth_secret || !row.auth_type) return undefined
    const secret = this.secrets.open(row.auth_secret)
    return row.auth_type === 'bearer'
      ? { authorization: `Bearer ${secret}` }
      : { [(row.auth_header ?? 'x-api-key').toLowerCase()]: secret }
  }
}

function toRateLimits(row: AgentRow): AgentRateLimits {
  return {
    agent_id: row.id,
    max_requests_per_second: row.max_requests_per_second,
    max_requests_per_minute: row.max_requests_per_minute,
    max_requests_per_hour: row.max_requests_per_hour,
    updated_at: toIso(row.updated_at),
  }
}

function remember<T>(cache: Map<string, T>, key: string, value: T): void {
  if (cache.size >= CALL_CACHE_ENTRIES) cache.clear()
  cache.set(key, value)
}
