import type { z } from 'zod'
import { unstorableText } from '@tributary/contract'

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

interface Visit {
  value: unknown
  parent: Visit | undefined
  key: string
}

/**
 * Throws a validation error naming the first string, or object key, anywhere in `value` that could
 * not be stored. Iterative, so that a deeply nested body cannot overflow the stack.
 */
export function assertStorableText(value: unknown, location: string): void {
  const pending: Visit[] = [{ value, parent: undefined, key: '' }]
  for (let visit = pending.pop(); visit; visit = pending.pop()) {
    const current = visit.value
    if (typeof current === 'string') {
      const problem = unstorableText(current)
      if (problem) throw unstorable(location, fieldOf(visit), problem)
    } else if (typeof current === 'object' && current !== null) {
      const entries: [string, unknown][] = Array.isArray(current)
        ? current.map((item: unknown, index) => [String(index), item])
        : Object.entries(current)
      // Pushed last to first, so that the first bad string in the body is the one reported.
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, item] = entries[index]!
        const problem = unstorableText(key)
        // The key itself is shown JSON-escaped, which names the offending character.
        if (problem) throw unstorable(location, [...fieldOf(visit), JSON.stringify(key)], `key ${problem}`)
        pending.push({ value: item, parent: visit, key })
      }
    }
  }
}

function fieldOf(visit: Visit): string[] {
  const path: string[] = []
  for (let at: Visit | undefined = visit; at?.parent; at = at.parent) path.unshift(at.key)
  return path
}

function unstorable(location: string, path: string[], message: string) {
  const field = path.join('.') || null
  return errors.validation(field ? `${field}: ${message}` : `${location}: ${message}`, {
    issues: [{ location, field, message }],
  })
}
