import type { ParameterType } from '@tributary/contract'

import type { QueryParameter } from '../../engine/sql-text.js'

/** A value the engine can bind: integers, decimals, dates and timestamps travel as exact text. */
export type BindableValue = QueryParameter['value']

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const INTEGER_TEXT = /^[+-]?\d{1,40}$/
/** DECIMAL(38, 10): 28 digits before the point, 10 after. */
const DECIMAL_TEXT = /^[+-]?\d{1,28}(\.\d{1,10})?$/
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(:(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/

const EXPECTED: Record<ParameterType, string> = {
  string: 'a string',
  integer: 'an integer (a JSON number, or a string of digits for values beyond 2^53)',
  number: 'a finite number',
  boolean: 'true or false',
  date: 'a date written YYYY-MM-DD',
  timestamp: 'an ISO 8601 timestamp such as 2026-01-31T12:00:00Z',
  decimal: 'a decimal number with at most 28 digits before the point and 10 after, e.g. "12.50"',
}

/**
 * Checks a JSON value against a parameter type and turns it into what the engine binds.
 * Null stays null (SQL NULL); whether null is allowed is the caller's decision.
 */
export function toBindable(
  type: ParameterType,
  value: unknown,
): { ok: true; value: BindableValue } | { ok: false; message: string } {
  if (value === null) return { ok: true, value: null }
  if (typeof value === 'string' && !value.isWellFormed()) return { ok: false, message: 'must be well-formed Unicode' }
  const fail = { ok: false as const, message: `must be ${EXPECTED[type]}` }
  switch (type) {
    case 'string':
      return typeof value === 'string' ? { ok: true, value } : fail
    case 'integer': {
      const text = typeof value === 'number' ? (Number.isSafeInteger(value) ? String(value) : undefined) : value
      if (typeof text !== 'string' || !INTEGER_TEXT.test(text)) return fail
      const parsed = BigInt(text)
      if (parsed < INT64_MIN || parsed > INT64_MAX) return { ok: false, message: 'must fit in a 64-bit integer' }
      return { ok: true, value: parsed.toString() }
    }
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? { ok: true, value } : fail
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : fail
    case 'decimal': {
      const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
      return typeof text === 'string' && DECIMAL_TEXT.test(text) ? { ok: true, value: text } : fail
    }
    case 'date': {
      const match = typeof value === 'string' ? DATE_TEXT.exec(value) : null
      return match && isCalendarDate(match[1]!, match[2]!, match[3]!) ? { ok: true, value: value as string } : fail
    }
    case 'timestamp': {
      const match = typeof value === 'string' ? TIMESTAMP_TEXT.exec(value) : null
      if (!match || !isCalendarDate(match[1]!, match[2]!, match[3]!)) return fail
      if (Number(match[4]) > 23 || Number(match[5]) > 59 || Number(match[7] ?? 0) > 59) return fail
      return { ok: true, value: value as string }
    }
  }
}

function isCalendarDate(year: string, month: string, day: string): boolean {
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)))
  return (
    date.getUTCFullYear() === Number(year) &&
    date.getUTCMonth() === Number(month) - 1 &&
    date.getUTCDate() === Number(day) &&
    Number(year) >= 1
  )
}
