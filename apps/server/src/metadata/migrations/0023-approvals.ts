import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- Cross-organization approvals (issue 15): a project of one organization asks another organization
    -- to share itself with it (project_tenant) or to read one of its datasets (project_dataset).
    -- organization_id is the requesting organization, target_organization_id the one that decides.
    create table approval_requests (
      id uuid primary key,
      kind text not null check (kind in ('project_tenant', 'project_dataset')),
      status text not null check (status in ('pending', 'approved', 'rejected', 'expired', 'revoked')),
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      target_organization_id uuid not null references organizations(id),
      dataset_id uuid references datasets(id),
      -- The read-only catalog an approved dataset appears as in the requesting project.
      catalog text,
      requested_by text not null,
      requested_by_type text not null check (requested_by_type in ('user', 'api_key')),
      reviewed_by text,
      reviewed_at timestamptz,
      rejection_reason text,
      revoked_by text,
      revoked_at timestamptz,
      -- When a pending request expires, or an approved one's access ends (null: until revoked).
      expires_at timestamptz,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      check ((kind = 'project_dataset') = (dataset_id is not null and catalog is not null))
    );
    -- One live (pending or approved) request per pair, and per catalog name of a project.
    create unique index approval_requests_live_tenant on approval_requests (project_id, target_organization_id)
      where kind = 'project_tenant' and status in ('pending', 'approved');
    create unique index approval_requests_live_dataset on approval_requests (project_id, dataset_id)
      where kind = 'project_dataset' and status in ('pending', 'approved');
    create unique index approval_requests_live_catalog on approval_requests (project_id, catalog)
      where kind = 'project_dataset' and status in ('pending', 'approved');
    create index approval_requests_target on approval_requests (target_organization_id, status);
    create index approval_requests_requester on approval_requests (organization_id, project_id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table approval_requests')
}
