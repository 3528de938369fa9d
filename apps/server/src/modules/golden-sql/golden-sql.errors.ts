import { type AppError, errors, isAppError } from '../../lib/errors.js'

/**
 * Golden SQL that the engine refuses (it does not parse, names a missing catalog, table or column, is
 * not a read-only query) is a mistake in the request: a 422 naming the `sql` field, with the engine's
 * message, and the position in the SQL when the engine gave one. Other errors pass unchanged.
 */
export function asInvalidSql(error: unknown): unknown {
  if (!isAppError(error, 'query_error')) return error
  const position = positionOf(error)
  return errors.validation(`sql: ${error.message}`, {
    issues: [{ location: 'body', field: 'sql', message: error.message }],
    ...(position === undefined ? {} : { position }),
  })
}

function positionOf(error: AppError): number | undefined {
  const details = error.details
  if (typeof details !== 'object' || details === null || !('position' in details)) return undefined
  return typeof details.position === 'number' ? details.position : undefined
}
