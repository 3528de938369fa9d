import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    -- An organization's language model (issue 12), over the instance's TRIBUTARY_AI_* defaults. A null
    -- provider keeps the instance's; 'none' turns language models off. The API key is sealed.
    create table ai_settings (
      organization_id uuid primary key references organizations(id),
      provider text,
      model text,
      base_url text,
      api_key text,
      embedding_model text,
      monthly_token_budget bigint,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    -- What a project lets leave the machine; a project without a row has the defaults.
    create table ai_policies (
      project_id uuid primary key references projects(id),
      organization_id uuid not null references organizations(id),
      share_values boolean not null default true,
      share_rows boolean not null default false,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    -- One call of a language model: who spent how many tokens, on what, with which model.
    create table ai_usage (
      id uuid primary key,
      organization_id uuid not null references organizations(id),
      project_id uuid references projects(id),
      feature text not null,
      provider text not null,
      model text not null,
      input_tokens integer not null,
      output_tokens integer not null,
      created_at timestamptz not null default now()
    );
    create index ai_usage_organization on ai_usage (organization_id, created_at);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table ai_usage; drop table ai_policies; drop table ai_settings')
}
