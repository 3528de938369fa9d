import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table saved_queries (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      display_name text not null,
      description text,
      sql text not null,
      -- [{name, type, required, default?, description?}] in the order they were declared.
      parameters jsonb not null default '[]',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index saved_queries_project on saved_queries (organization_id, project_id, id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table saved_queries')
}
