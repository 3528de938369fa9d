import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table golden_sql (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      question text not null,
      sql text not null,
      description text,
      -- [{name, type, required, default?, description?}] as saved queries declare them.
      parameters jsonb not null default '[]',
      -- The tables the SQL names, as written: searched together with the question.
      tables jsonb not null default '[]',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index golden_sql_project on golden_sql (organization_id, project_id, id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table golden_sql')
}
