import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// Parquet exports name their page codec: ZSTD and SNAPPY join the compressions an export may have.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    alter table exports drop constraint exports_compression_check;
    alter table exports add constraint exports_compression_check
      check (compression in ('GZIP', 'DEFLATE', 'ZSTD', 'SNAPPY', 'NONE'));
  `,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(
    db,
    `
    alter table exports drop constraint exports_compression_check;
    alter table exports add constraint exports_compression_check check (compression in ('GZIP', 'DEFLATE', 'NONE'));
  `,
  )
}
