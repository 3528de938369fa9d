import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- Saved queries are readable in SQL as queries.<schema>.<display_name>; null is main.
    alter table saved_queries add column sql_schema text;

    create table semantic_catalogs (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      name text not null,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index semantic_catalogs_name on semantic_catalogs (organization_id, project_id, name);

    -- A saved query published as a table: no data, its columns as the query returned them when published.
    create table semantic_tables (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      catalog_id uuid not null references semantic_catalogs(id) on delete cascade,
      schema_name text not null,
      table_name text not null,
      query_id uuid not null references saved_queries(id),
      description text,
      -- [{name, type, description, lineage: [{catalog, schema, table, column}]}]
      columns jsonb not null default '[]',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index semantic_tables_name on semantic_tables (catalog_id, lower(schema_name), lower(table_name));
    create index semantic_tables_query on semantic_tables (organization_id, query_id);

    -- Read access to a catalog for another project of the same organization.
    create table semantic_catalog_shares (
      catalog_id uuid not null references semantic_catalogs(id) on delete cascade,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      created_at timestamptz not null default now(),
      primary key (catalog_id, project_id)
    );
    create index semantic_catalog_shares_project on semantic_catalog_shares (organization_id, project_id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    drop table semantic_catalog_shares;
    drop table semantic_tables;
    drop table semantic_catalogs;
    alter table saved_queries drop column sql_schema;
  `,
  )
}
