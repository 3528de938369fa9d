import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AgentRow, AgentsTable, ProjectAgentRow } from '../../metadata/schema.js'

export interface NewAgent {
  organization_id: string
  name: string
  description: string | null
  protocol: AgentsTable['protocol']
  endpoint_url: string
  capabilities: Record<string, unknown>
  agent_metadata: Record<string, unknown>
  auth_type: AgentsTable['auth_type']
  auth_header: string | null
  auth_secret: string | null
}

export type AgentChanges = Partial<Omit<NewAgent, 'organization_id'>> & {
  status?: AgentsTable['status']
  status_reason?: string | null
  tested_at?: Date | null
  max_requests_per_second?: number | null
  max_requests_per_minute?: number | null
  max_requests_per_hour?: number | null
}

export type ProjectAgentWithAgent = ProjectAgentRow & { agent: AgentRow }

export class AgentsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewAgent): Promise<AgentRow> {
    return this.db
      .insertInto('agents')
      .values({
        id: newId(),
        ...values,
        status: 'pending',
        status_reason: 'not tested yet: POST /agents/{agent_id}/test checks it',
        capabilities: JSON.stringify(values.capabilities),
        agent_metadata: JSON.stringify(values.agent_metadata),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findActive(organizationId: string, id: string): Promise<AgentRow | undefined> {
    return this.#live(organizationId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** The organization's agents, or only those assigned to `projectId` (what a project key sees). */
  async list(organizationId: string, projectId: string | undefined, after: string | undefined, limit: number) {
    let query = this.#live(organizationId).selectAll()
    if (projectId) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('project_agents')
            .select('project_agents.agent_id')
            .whereRef('project_agents.agent_id', '=', 'agents.id')
            .where('project_agents.project_id', '=', projectId),
        ),
      )
    }
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async update(organizationId: string, id: string, changes: AgentChanges): Promise<AgentRow | undefined> {
    const { capabilities, agent_metadata, ...rest } = changes
    return this.db
      .updateTable('agents')
      .set({
        ...rest,
        ...(capabilities ? { capabilities: JSON.stringify(capabilities) } : {}),
        ...(agent_metadata ? { agent_metadata: JSON.stringify(agent_metadata) } : {}),
        updated_at: new Date(),
      })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  /** Archives the agent and ends its assignments: an archived agent is in no project. */
  async archive(organizationId: string, id: string): Promise<boolean> {
    const row = await this.db
      .updateTable('agents')
      .set({ archived_at: new Date(), updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returning('id')
      .executeTakeFirst()
    if (!row) return false
    await this.db.deleteFrom('project_agents').where('agent_id', '=', id).execute()
    return true
  }

  async assignment(projectId: string, agentId: string): Promise<ProjectAgentRow | undefined> {
    return this.db
      .selectFrom('project_agents')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('agent_id', '=', agentId)
      .executeTakeFirst()
  }

  /** Inserts the assignment; undefined when it already existed. */
  async assign(organizationId: string, projectId: string, agentId: string, role: string | null) {
    return this.db
      .insertInto('project_agents')
      .values({ organization_id: organizationId, project_id: projectId, agent_id: agentId, role })
      .onConflict((oc) => oc.columns(['project_id', 'agent_id']).doNothing())
      .returningAll()
      .executeTakeFirst()
  }

  async unassign(organizationId: string, projectId: string, agentId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('project_agents')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('agent_id', '=', agentId)
      .executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  /** A project's live agents with their assignment, by agent id. */
  async projectAgents(
    organizationId: string,
    projectId: string,
    after: string | undefined,
    limit: number | undefined,
  ): Promise<ProjectAgentWithAgent[]> {
    let query = this.db
      .selectFrom('project_agents')
      .innerJoin('agents', 'agents.id', 'project_agents.agent_id')
      .selectAll('agents')
      .select([
        'project_agents.project_id as pa_project_id',
        'project_agents.role as pa_role',
        'project_agents.created_at as pa_created_at',
      ])
      .where('project_agents.organization_id', '=', organizationId)
      .where('project_agents.project_id', '=', projectId)
      .where('agents.archived_at', 'is', null)
    if (after) query = query.where('agents.id', '>', after)
    const rows = await query
      .orderBy('agents.id')
      .$if(limit !== undefined, (q) => q.limit((limit ?? 0) + 1))
      .execute()
    return rows.map(({ pa_project_id, pa_role, pa_created_at, ...agent }) => ({
      project_id: pa_project_id,
      agent_id: agent.id,
      organization_id: agent.organization_id,
      role: pa_role,
      created_at: pa_created_at,
      agent,
    }))
  }

  #live(organizationId: string) {
    return this.db.selectFrom('agents').where('organization_id', '=', organizationId).where('archived_at', 'is', null)
  }
}

export interface WindowCount {
  window_name: string
  count: number
}

/**
 * Counts one call in each window given and returns the new counts, in one statement: each row is
 * created or incremented atomically, so servers sharing the database share the counts.
 */
export async function countCall(
  db: MetadataDb,
  agentId: string,
  windows: readonly { name: string; start: number }[],
): Promise<WindowCount[]> {
  const values = sql.join(windows.map((window) => sql`(${agentId}::uuid, ${window.name}, ${window.start}::bigint, 1)`))
  const result = await sql<WindowCount>`
    insert into agent_rate_counters (agent_id, window_name, window_start, count)
    values ${values}
    on conflict (agent_id, window_name, window_start) do update set count = agent_rate_counters.count + 1
    returning window_name, count
  `.execute(db)
  return result.rows
}

/** Drops the counters of windows long over. */
export async function pruneCounters(db: MetadataDb, before: number): Promise<void> {
  await db
    .deleteFrom('agent_rate_counters')
    .where(sql<boolean>`window_start < ${before}::bigint`)
    .execute()
}
