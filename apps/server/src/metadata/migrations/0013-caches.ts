import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- A copy of a source table kept in the platform's own files, read in its place (issue 11).
    create table caches (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      -- The connection behind the catalog when the cache was made: a catalog name given to another
      -- connection later does not inherit the copy.
      connection_id uuid not null,
      catalog text not null,
      schema_name text not null,
      table_name text not null,
      -- {cursor_column, primary_key: string[] | null, soft_delete_column: string | null} or null.
      incremental jsonb,
      full_refresh_schedule jsonb not null,
      incremental_schedule jsonb not null,
      status text not null default 'NOT_INITIALIZED',
      -- The file readers attach now (null until a refresh completed), its rows and column names, its
      -- largest cursor value.
      version_id text,
      row_count bigint,
      columns jsonb,
      cursor_value text,
      refreshed_at timestamptz,
      -- The refresh under way or last run, and how the runs went.
      job_id uuid,
      progress jsonb,
      consecutive_failures integer not null default 0,
      error jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index caches_table on caches (project_id, catalog, schema_name, table_name);
    create index caches_project on caches (organization_id, project_id, id);

    create table cache_runs (
      id uuid primary key,
      cache_id uuid not null references caches(id) on delete cascade,
      job_id uuid not null,
      mode text not null,
      trigger text not null,
      status text not null,
      scheduled_for timestamptz,
      started_at timestamptz not null,
      ended_at timestamptz,
      rows_inserted bigint not null default 0,
      rows_updated bigint not null default 0,
      rows_deleted bigint not null default 0,
      row_count bigint,
      cursor_value text,
      error jsonb
    );
    create index cache_runs_cache on cache_runs (cache_id, started_at desc);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table cache_runs; drop table caches')
}
