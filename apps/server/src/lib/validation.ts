import type { z } from 'zod'

import { errors } from './errors.js'

/** One zod failure as the API reports it: every issue with where it is, and a message naming the fields. */
export function validationError(error: z.ZodError, location: string, fieldPrefix: string[] = []) {
  const issues = error.issues.map((issue) => ({
    location,
    field: [...fieldPrefix, ...issue.path.map(String)].join('.') || null,
    message: issue.message,
  }))
  const message = issues
    .map((issue) => (issue.field ? `${issue.field}: ${issue.message}` : `${location}: ${issue.message}`))
    .join('; ')
  return errors.validation(message, { issues })
}
