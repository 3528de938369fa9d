import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- A conversation of questions in a project (issue 12): each question is read in the context of
    -- the earlier ones. Threads belong to whoever started them.
    create table ask_threads (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      title text not null,
      created_by_type text not null,
      created_by_id text not null,
      message_count integer not null default 0,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index ask_threads_owner on ask_threads (organization_id, project_id, created_by_type, created_by_id, id);

    -- One question and what answered it: the SQL, the first rows, the steps and the tokens they took.
    create table ask_messages (
      id uuid primary key,
      thread_id uuid not null references ask_threads(id),
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      question text not null,
      answered boolean not null,
      reason text,
      sql text,
      columns jsonb not null default '[]',
      -- The rows returned, up to the request's limit: a thread shows what was answered then.
      rows jsonb not null default '[]',
      row_count integer not null default 0,
      truncated boolean not null default false,
      answer text,
      steps jsonb not null default '[]',
      model text not null,
      golden_sql_id uuid,
      input_tokens integer not null default 0,
      output_tokens integer not null default 0,
      execution_time_ms double precision not null default 0,
      -- {correct, sql, golden_sql_id, at} once someone said whether the answer was right.
      feedback jsonb,
      created_at timestamptz not null default now()
    );
    create index ask_messages_thread on ask_messages (thread_id, created_at, id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table ask_messages; drop table ask_threads')
}
