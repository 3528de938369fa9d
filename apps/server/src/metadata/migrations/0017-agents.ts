import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- An organization's own AI agents (issue 13), called through the gateway. The credential is
    -- sealed with the instance key and never returned; null limits mean unlimited.
    create table agents (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      name text not null,
      description text,
      protocol text not null,
      endpoint_url text not null,
      capabilities jsonb not null default '{}',
      agent_metadata jsonb not null default '{}',
      auth_type text,
      auth_header text,
      auth_secret text,
      status text not null default 'pending',
      status_reason text,
      tested_at timestamptz,
      max_requests_per_second integer,
      max_requests_per_minute integer,
      max_requests_per_hour integer,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index agents_organization on agents (organization_id, id);
    create unique index agents_live_name on agents (organization_id, lower(name)) where archived_at is null;

    -- Which projects may use an agent, and as what.
    create table project_agents (
      project_id uuid not null references projects(id),
      agent_id uuid not null references agents(id),
      organization_id uuid not null references organizations(id),
      role text,
      created_at timestamptz not null default now(),
      primary key (project_id, agent_id)
    );
    create index project_agents_agent on project_agents (agent_id);

    -- Fixed-window counters of gateway calls per agent, shared by every server on this database:
    -- one row per agent, window size and window start (ms since the epoch), counted atomically.
    create table agent_rate_counters (
      agent_id uuid not null,
      window_name text not null,
      window_start bigint not null,
      count integer not null,
      primary key (agent_id, window_name, window_start)
    );
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table agent_rate_counters; drop table project_agents; drop table agents')
}
