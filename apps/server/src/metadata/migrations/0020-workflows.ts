import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- Workflows (issue 14): up to five steps (queries), conditions over their results, and actions
    -- (webhooks, e-mails). Steps and actions are kept as the API shows them, a question's SQL pinned
    -- in its step's resolved_sql. The signing secret is sealed with the instance key.
    create table workflows (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      name text not null,
      description text,
      trigger jsonb not null,
      steps jsonb not null,
      actions jsonb not null,
      is_active boolean not null,
      timeout_seconds integer not null,
      revision integer not null default 1,
      signing_secret text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index workflows_project on workflows (organization_id, project_id, id);
    create unique index workflows_live_name on workflows (project_id, lower(name)) where archived_at is null;

    -- One run, asked for or scheduled: what each step saw (counts, timing, the first rows), what
    -- the conditions gave and what each action did (every attempt).
    create table workflow_runs (
      id uuid primary key,
      workflow_id uuid not null references workflows(id),
      organization_id uuid not null,
      project_id uuid not null,
      workflow_revision integer not null,
      trigger text not null,
      status text not null,
      job_id uuid,
      scheduled_for timestamptz,
      started_at timestamptz,
      ended_at timestamptz,
      steps jsonb not null default '[]',
      actions jsonb not null default '[]',
      error jsonb,
      created_at timestamptz not null default now()
    );
    create index workflow_runs_workflow on workflow_runs (workflow_id, id desc);
    create index workflow_runs_job on workflow_runs (job_id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table workflow_runs; drop table workflows')
}
