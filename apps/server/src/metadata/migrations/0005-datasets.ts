import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// Datasets are the schemas of a project's `internal` catalog. A table's rows live in immutable
// DuckDB segment files under the data directory; `segments` is its current version, and replacing
// that list in one UPDATE is what makes an import or a column change atomic.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table datasets (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      name text not null,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index datasets_project on datasets (organization_id, project_id, id);
    create unique index datasets_unique_name on datasets (project_id, name) where archived_at is null;

    create table dataset_tables (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      dataset_id uuid not null references datasets(id),
      name text not null,
      description text,
      -- [{name, type, nullable, description}] in table order.
      columns jsonb not null,
      -- [{id, rows, bytes}]: the segment files that hold the rows now.
      segments jsonb not null default '[]',
      version integer not null default 0,
      row_count bigint not null default 0,
      size_bytes bigint not null default 0,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index dataset_tables_dataset on dataset_tables (organization_id, project_id, dataset_id, id);
    create unique index dataset_tables_unique_name on dataset_tables (dataset_id, name) where archived_at is null;
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table dataset_tables, datasets')
}
