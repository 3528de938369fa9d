import { errors } from '../../lib/errors.js'

export interface ParameterIssue {
  field: string
  message: string
}

/** One 422 naming every parameter that is wrong, in the same shape as request validation failures. */
export function parameterErrors(location: 'body', issues: ParameterIssue[]) {
  return errors.validation(issues.map((issue) => `${issue.field}: ${issue.message}`).join('; '), {
    issues: issues.map((issue) => ({ location, ...issue })),
  })
}
