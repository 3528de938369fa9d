import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// Session tokens issued before this instant no longer count: set when a password changes.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'alter table users add column sessions_valid_after timestamptz')
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'alter table users drop column sessions_valid_after')
}
