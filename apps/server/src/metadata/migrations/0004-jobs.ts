import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// The durable job queue (DESIGN §6): workers claim rows with FOR UPDATE SKIP LOCKED and hold a
// lease they renew; a lease that runs out means the worker died and the job is reclaimed.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table jobs (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      -- Which processes may run it: those sharing the data directory its files go to.
      queue text not null,
      kind text not null,
      payload jsonb not null,
      status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
      attempt integer not null default 0,
      max_attempts integer not null check (max_attempts >= 1),
      run_after timestamptz not null default now(),
      locked_by text,
      lease_expires_at timestamptz,
      heartbeat_at timestamptz,
      progress jsonb,
      result jsonb,
      error jsonb,
      created_by jsonb,
      created_at timestamptz not null default now(),
      started_at timestamptz,
      ended_at timestamptz,
      cancel_requested_at timestamptz
    );
    -- What workers scan: only the waiting rows, in the order they become due.
    create index jobs_due on jobs (queue, run_after, id) where status = 'queued';
    create index jobs_leases on jobs (lease_expires_at) where status = 'running';
    create index jobs_project on jobs (organization_id, project_id, kind, id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table jobs')
}
