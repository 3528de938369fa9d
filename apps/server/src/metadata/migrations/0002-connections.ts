import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table connections (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      name text not null,
      type text not null,
      catalog text not null,
      -- Non-secret settings only; the secret fields live sealed in secrets.
      config jsonb not null,
      secrets text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index connections_project on connections (organization_id, project_id, id);
    create unique index connections_unique_catalog on connections (project_id, catalog) where archived_at is null;

    -- What a source exposed when it was last read: browsing is served from here, not from the source.
    create table source_catalogs (
      connection_id uuid primary key references connections(id),
      snapshot jsonb not null,
      refreshed_at timestamptz not null default now()
    );
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table source_catalogs, connections')
}
