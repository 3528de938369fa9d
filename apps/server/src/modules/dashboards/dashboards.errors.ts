import { errors, isAppError } from '../../lib/errors.js'

interface Issue {
  location: string
  field: string
  message: string
}

/**
 * A 422 raised about a part of a widget (a saved query's `parameters.<name>`), moved under the
 * widget's place in the body (`widgets.3.parameters.<name>`); any other error as it is.
 */
export function withinWidget(error: unknown, prefix: string): unknown {
  if (!isAppError(error, 'validation_error')) return error
  const issues = (error.details as { issues?: Issue[] } | undefined)?.issues
  if (!issues?.length) return error
  const moved = issues.map((issue) => ({ ...issue, field: `${prefix}.${issue.field}` }))
  return errors.validation(moved.map((issue) => `${issue.field}: ${issue.message}`).join('; '), { issues: moved })
}

/** What a widget shows when it could not be computed: an AppError's code and message; anything else masked. */
export function widgetErrorOf(error: unknown): { code: string; message: string } {
  if (isAppError(error)) return { code: error.code, message: error.message }
  return { code: 'internal_error', message: 'the widget could not be computed (see the server log)' }
}
