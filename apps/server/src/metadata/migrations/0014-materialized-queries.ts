import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- A materialized query keeps its result, refreshed on its schedule (issue 11).
    alter table saved_queries add column query_type text not null default 'STANDARD';
    -- {type: cron, cron, timezone} | {type: interval, every} | {type: none}; null for standard queries.
    alter table saved_queries add column schedule jsonb;

    -- The stored result of a materialized query: which file holds it now, and how its runs went.
    create table materializations (
      query_id uuid primary key references saved_queries(id),
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      status text not null default 'NOT_INITIALIZED',
      -- The file that holds the result now (null until a run completed), its rows and its columns.
      version_id text,
      row_count bigint,
      columns jsonb not null default '[]',
      -- The SQL the current file was computed from: a run of older SQL is not switched in.
      sql_hash text,
      job_id uuid,
      last_execution_start_time timestamptz,
      last_execution_end_time timestamptz,
      last_success_time timestamptz,
      consecutive_failures integer not null default 0,
      error jsonb,
      updated_at timestamptz not null default now()
    );
    create index materializations_project on materializations (organization_id, project_id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    drop table materializations;
    alter table saved_queries drop column schedule;
    alter table saved_queries drop column query_type;
  `,
  )
}
