/** PostgreSQL and PGlite both report a violated unique index as SQLSTATE 23505. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505'
}

export const toIso = (value: Date): string => value.toISOString()
export const toIsoOrNull = (value: Date | null): string | null => (value ? value.toISOString() : null)
