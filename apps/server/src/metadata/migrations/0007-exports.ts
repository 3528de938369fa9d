import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// An export is a job of kind 'export' on the queue with the same id: the job row says how it is
// going, this row says what is exported and, once the file is complete, what came out.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    create table exports (
      id uuid primary key references jobs(id),
      organization_id uuid not null references organizations(id),
      project_id uuid not null references projects(id),
      source text not null check (source in ('query_job', 'table')),
      query_job_id uuid references jobs(id),
      dataset_id uuid,
      table_id uuid,
      format text not null check (format in ('CSV', 'JSON', 'AVRO', 'PARQUET')),
      compression text not null check (compression in ('GZIP', 'DEFLATE', 'NONE')),
      file_name text,
      row_count bigint,
      size_bytes bigint,
      completed_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index exports_project on exports (organization_id, project_id, id);
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'drop table exports')
}
