import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// Migrations are frozen once released: they use Kysely<unknown>, never the live schema types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table organizations (
      id uuid primary key,
      name text not null,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );

    create table workspaces (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      name text not null,
      description text,
      is_default boolean not null default false,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index workspaces_organization on workspaces (organization_id, id);
    create unique index workspaces_unique_name on workspaces (organization_id, lower(name)) where archived_at is null;
    create unique index workspaces_one_default on workspaces (organization_id) where is_default and archived_at is null;

    create table projects (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      workspace_id uuid not null references workspaces(id),
      name text not null,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index projects_organization on projects (organization_id, id);
    create unique index projects_unique_name on projects (workspace_id, lower(name)) where archived_at is null;

    create table users (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      email text not null,
      name text,
      role text not null check (role in ('admin', 'editor', 'viewer')),
      password_hash text,
      status text not null check (status in ('invited', 'active')),
      invite_token_hash text,
      invite_expires_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index users_organization on users (organization_id, id);
    -- Login names an e-mail only, so an address belongs to one live account across the instance.
    create unique index users_unique_email on users (email) where archived_at is null;
    create unique index users_invite_token on users (invite_token_hash) where invite_token_hash is not null;

    create table api_keys (
      id uuid primary key,
      kind text not null check (kind in ('platform', 'organization', 'project')),
      organization_id uuid references organizations(id),
      project_id uuid references projects(id),
      name text not null,
      prefix text not null,
      secret_hash text not null unique,
      scopes text[] not null,
      expires_at timestamptz,
      last_used_at timestamptz,
      created_at timestamptz not null default now(),
      revoked_at timestamptz,
      check ((kind = 'platform') = (organization_id is null)),
      check ((kind = 'project') = (project_id is not null))
    );
    create index api_keys_organization on api_keys (organization_id, id);
    create index api_keys_project on api_keys (project_id, id);

    create table audit_log (
      id uuid primary key,
      organization_id uuid references organizations(id),
      actor_type text not null,
      actor_id text,
      action text not null,
      resource_type text not null,
      resource_id text,
      request_id text,
      details jsonb,
      created_at timestamptz not null default now()
    );
    create index audit_log_organization on audit_log (organization_id, id desc);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table audit_log, api_keys, users, projects, workspaces, organizations')
}
