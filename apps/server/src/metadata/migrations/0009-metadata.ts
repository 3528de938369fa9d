import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// The semantic layer's project metadata. A table is named by catalog, schema and table the way SQL
// names it; rows are kept when a table vanishes from its source (status 'missing') so what people
// wrote about it is not lost.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table table_metadata (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      catalog text not null,
      schema_name text not null,
      table_name text not null,
      description text,
      -- Who wrote the description: 'user', 'detected' (read from the source) or 'generated'.
      description_source text check (description_source in ('user', 'detected', 'generated')),
      -- null: inherit from the schema, then the catalog (default true).
      use_with_ai boolean,
      row_estimate bigint,
      -- [{name, type, source_type, description, description_source, is_primary, primary_source,
      --   is_categorical, categorical_values, categorical_limit, categorical_refresh, sample_values,
      --   lineage, missing}] in the source's column order; missing columns keep their place at the end.
      columns jsonb not null default '[]',
      status text not null default 'present' check (status in ('present', 'missing')),
      refreshed_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index table_metadata_unique on table_metadata (project_id, catalog, schema_name, table_name);
    create index table_metadata_project on table_metadata (organization_id, project_id, catalog, schema_name, table_name);

    -- use_with_ai for a whole catalog (schema_name = '') or one schema of it.
    create table metadata_scopes (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      catalog text not null,
      schema_name text not null default '',
      use_with_ai boolean not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index metadata_scopes_unique on metadata_scopes (project_id, catalog, schema_name);
    create index metadata_scopes_project on metadata_scopes (organization_id, project_id);

    create table table_relations (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      name text,
      from_catalog text not null,
      from_schema text not null,
      from_table text not null,
      from_columns text[] not null,
      to_catalog text not null,
      to_schema text not null,
      to_table text not null,
      to_columns text[] not null,
      type text not null check (type in ('MANY_TO_ONE', 'ONE_TO_MANY', 'ONE_TO_ONE')),
      origin text not null check (origin in ('foreign_key', 'inferred', 'manual')),
      -- 0..1 for inferred relations; null for foreign keys and manual ones.
      confidence double precision,
      -- A detected relation someone deleted: kept so a refresh does not bring it back.
      dismissed boolean not null default false,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index table_relations_unique on table_relations
      (project_id, from_catalog, from_schema, from_table, from_columns, to_catalog, to_schema, to_table, to_columns);
    create index table_relations_project on table_relations (organization_id, project_id, from_catalog);
    create index table_relations_to on table_relations (project_id, to_catalog);

    create table categorical_schedules (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      catalog text not null,
      schema_name text not null,
      table_name text not null,
      column_name text not null,
      value_limit integer not null,
      -- An ISO-8601 duration (P1D) or a cron expression; null: computed once, never again.
      refresh text,
      next_run_at timestamptz,
      last_run_at timestamptz,
      last_error jsonb,
      -- {principal, request_id} of who set the schedule (helper E): scheduled runs act as them, as jobs do.
      created_by jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index categorical_schedules_unique on categorical_schedules
      (project_id, catalog, schema_name, table_name, column_name);
    create index categorical_schedules_project on categorical_schedules (organization_id, project_id);
    create index categorical_schedules_due on categorical_schedules (next_run_at) where next_run_at is not null;
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table categorical_schedules, table_relations, metadata_scopes, table_metadata')
}
