import type { AppError } from '../lib/errors.js'
import type { MetadataDb } from './database.js'

/** PostgreSQL and PGlite both report a violated unique index as SQLSTATE 23505. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505'
}

export const toIso = (value: Date): string => value.toISOString()
export const toIsoOrNull = (value: Date | null): string | null => (value ? value.toISOString() : null)

/** Runs `work` in one transaction; a violated unique index becomes the caller's conflict error. */
export async function transactionOrConflict<T>(
  db: MetadataDb,
  conflict: () => AppError,
  work: (trx: MetadataDb) => Promise<T>,
): Promise<T> {
  try {
    return await db.transaction().execute(work)
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict()
    throw error
  }
}
