import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- A project's outbound credentials (issue 14): secrets that workflow webhooks send, only to the
    -- hosts listed. The secret is sealed with the outbound secret box and never returned. Deleting
    -- one removes the row: a secret nobody can use should not stay at rest.
    create table credentials (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      name text not null,
      description text,
      type text not null,
      header_name text,
      username text,
      secret text not null,
      allowed_hosts jsonb not null,
      secret_updated_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index credentials_project on credentials (project_id, id);
    create unique index credentials_name on credentials (project_id, lower(name));
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table credentials')
}
