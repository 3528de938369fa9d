import type { Kysely } from 'kysely'

import { runStatements } from './run-statements.js'

// Filled in by the feature's module (issue 14).
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'select 1')
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, 'select 1')
}
