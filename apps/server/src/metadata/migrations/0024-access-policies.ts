import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- Column privacy (issue 15): a mask on one column, or on every column carrying a tag (then
    -- catalog, schema, table and column are null). Read before every query of the project.
    create table privacy_policies (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      catalog text,
      schema text,
      "table" text,
      "column" text,
      tag text,
      mask text not null,
      expression text,
      except_roles text[] not null default '{}',
      except_users text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index privacy_policies_project on privacy_policies (project_id, id);

    -- Row-level security: a boolean filter over a table's columns and current_user_props(…).
    create table row_policies (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      catalog text not null,
      schema text not null,
      "table" text not null,
      filter text not null,
      applies_to_roles text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index row_policies_project on row_policies (project_id, id);

    -- Tags on columns, which privacy policies may select columns by.
    create table column_tags (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      catalog text not null,
      schema text not null,
      "table" text not null,
      "column" text not null,
      tag text not null,
      created_at timestamptz not null default now()
    );
    create unique index column_tags_unique on column_tags (project_id, catalog, schema, "table", "column", tag);
    create index column_tags_project on column_tags (project_id, tag);

    -- What current_user_props(name) reads besides the built-in names.
    alter table users add column attributes jsonb not null default '{}';
    alter table api_keys add column attributes jsonb not null default '{}';
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    alter table api_keys drop column attributes;
    alter table users drop column attributes;
    drop table column_tags;
    drop table row_policies;
    drop table privacy_policies;
  `,
  )
}
