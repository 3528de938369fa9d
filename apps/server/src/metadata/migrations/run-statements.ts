import { sql, type Kysely } from 'kysely'

/**
 * Runs a DDL script one statement at a time: PGlite's parameterised protocol takes a single
 * statement per call. Scripts must not put `;` at the end of a line inside a string literal.
 */
export async function runStatements(db: Kysely<unknown>, script: string): Promise<void> {
  const statements = script
    .split(/;\s*$/m)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean)
  for (const statement of statements) await sql.raw(statement).execute(db)
}
