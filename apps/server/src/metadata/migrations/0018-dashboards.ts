import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- Dashboards (issue 14): the widgets' definitions as one document, since they are always read
    -- and written whole. \`computed_as\` is the caller of the last save: widgets compute as them.
    create table dashboards (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      name text not null,
      description text,
      widgets jsonb not null,
      refresh jsonb not null,
      computed_as jsonb not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index dashboards_project on dashboards (organization_id, project_id, id) where archived_at is null;

    -- The last computed result of each widget, for the definition it was computed from
    -- (\`source_key\`): a result whose widget changed since is not read.
    create table dashboard_widget_results (
      dashboard_id uuid not null references dashboards(id) on delete cascade,
      widget_id uuid not null,
      source_key text not null,
      result jsonb not null,
      computed_at timestamptz not null,
      primary key (dashboard_id, widget_id)
    );
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table dashboard_widget_results; drop table dashboards')
}
