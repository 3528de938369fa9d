import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- Event webhooks (issue 14): where an organization's events are POSTed, signed with a secret
    -- sealed with the instance key.
    create table webhooks (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid references projects(id),
      url text not null,
      events jsonb not null,
      description text,
      is_active boolean not null default true,
      signing_secret text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      archived_at timestamptz
    );
    create index webhooks_organization on webhooks (organization_id, id);

    -- One row per event and webhook, written in the transaction that published the event; a job of
    -- the queue sends it. The unique index makes a second publication of one event a no-op.
    create table webhook_deliveries (
      id uuid primary key,
      webhook_id uuid not null references webhooks(id),
      organization_id uuid not null references organizations(id),
      project_id uuid,
      event_id uuid not null,
      event_type text not null,
      body text not null,
      status text not null default 'pending',
      attempts jsonb not null default '[]',
      error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      completed_at timestamptz
    );
    create index webhook_deliveries_webhook on webhook_deliveries (webhook_id, id);
    create unique index webhook_deliveries_event on webhook_deliveries (webhook_id, event_id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table webhook_deliveries; drop table webhooks')
}
