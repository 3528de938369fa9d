import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// The one scheduler (issue 11): a schedule per (task, key), and one row per claimed occurrence,
// whose unique key is what makes an occurrence run once however many servers claim it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table schedules (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      -- The job queue its runs go to: the servers sharing a data directory, as for jobs. Null (schedules
      -- made before the scheduler): any server's.
      queue text,
      task text not null,
      key text not null,
      schedule jsonb not null,
      payload jsonb not null,
      created_by jsonb,
      next_run_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index schedules_task_key on schedules (task, key);
    create index schedules_due on schedules (queue, next_run_at) where next_run_at is not null;

    create table schedule_runs (
      id uuid primary key,
      schedule_id uuid not null references schedules(id),
      scheduled_for timestamptz not null,
      -- Status, times, rows and errors are the job's: one truth, kept by the queue. Deferred: the run
      -- claims its occurrence first, and the job is queued only when that claim succeeded.
      job_id uuid not null references jobs(id) deferrable initially deferred,
      created_at timestamptz not null default now(),
      unique (schedule_id, scheduled_for)
    );
    create index schedule_runs_history on schedule_runs (schedule_id, id);

    -- Categorical values move onto the scheduler: their schedules keep only what to compute.
    insert into schedules (id, organization_id, project_id, task, key, schedule, payload, created_by, next_run_at)
      select id, organization_id, project_id, 'metadata.categorical', id::text,
        case when upper(btrim(refresh)) like 'P%'
          then jsonb_build_object('type', 'interval', 'every', upper(btrim(refresh)))
          else jsonb_build_object('type', 'cron', 'cron', btrim(refresh), 'timezone', 'UTC')
        end,
        jsonb_build_object('categorical_id', id::text), created_by, next_run_at
      from categorical_schedules where refresh is not null;
    drop index categorical_schedules_due;
    alter table categorical_schedules drop column next_run_at;
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    alter table categorical_schedules add column next_run_at timestamptz;
    update categorical_schedules c set next_run_at = s.next_run_at
      from schedules s where s.task = 'metadata.categorical' and s.key = c.id::text;
    create index categorical_schedules_due on categorical_schedules (next_run_at) where next_run_at is not null;
    drop table schedule_runs;
    drop table schedules;
  `,
  )
}
