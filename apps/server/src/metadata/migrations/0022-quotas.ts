import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- Query cost quotas (issue 15): an organization's limits, in the currency of the configured prices.
    create table query_quotas (
      organization_id uuid primary key references organizations(id),
      daily_limit double precision,
      monthly_limit double precision,
      updated_at timestamptz not null default now()
    );

    -- What each query job read and cost, written as its attempts end. The quota check sums one
    -- organization's costs since the start of the month through the index.
    create table query_costs (
      job_id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid not null,
      bytes_scanned bigint not null,
      rows_scanned bigint not null,
      cpu_seconds double precision not null,
      cost double precision not null,
      ended_at timestamptz not null
    );
    create index query_costs_organization on query_costs (organization_id, ended_at);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table query_costs; drop table query_quotas')
}
