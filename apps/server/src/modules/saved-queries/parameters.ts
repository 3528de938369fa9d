import type { ParameterType, QueryParameterDefinition } from '@tributary/contract'

import { placeholderNames, type QueryParameter } from '../../engine/sql-text.js'
import type { SavedQueryParameter } from '../../metadata/schema.js'
import { parameterErrors, type ParameterIssue } from './saved-queries.errors.js'

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

/**
 * Every `{{name}}` in the SQL must be declared and every declared parameter used: a typo in either
 * place would otherwise surface only when someone runs the query. Defaults must fit their type.
 */
export function checkDefinitions(sql: string, definitions: readonly QueryParameterDefinition[]): SavedQueryParameter[] {
  const issues: ParameterIssue[] = []
  const used = new Set(placeholderNames(sql))
  const seen = new Set<string>()
  definitions.forEach((definition, index) => {
    const at = `parameters.${index}`
    if (seen.has(definition.name)) {
      issues.push({ field: `${at}.name`, message: `'${definition.name}' is declared twice` })
    }
    seen.add(definition.name)
    if (!used.has(definition.name)) {
      issues.push({
        field: `${at}.name`,
        message: `'${definition.name}' is declared but the SQL never uses {{${definition.name}}}`,
      })
    }
    if (definition.default !== undefined && definition.default !== null) {
      if (definition.required) {
        issues.push({ field: `${at}.default`, message: 'a required parameter takes no default' })
      } else {
        const checked = toBindable(definition.type, definition.default)
        if (!checked.ok) issues.push({ field: `${at}.default`, message: checked.message })
      }
    }
  })
  for (const name of used) {
    if (!seen.has(name)) {
      issues.push({ field: 'sql', message: `uses {{${name}}} but "parameters" declares no '${name}'` })
    }
  }
  if (issues.length) throw parameterErrors('body', issues)
  return definitions.map((definition) => ({
    name: definition.name,
    type: definition.type,
    required: definition.required,
    ...(definition.default === undefined || definition.default === null ? {} : { default: definition.default }),
    ...(definition.description === undefined ? {} : { description: definition.description }),
  }))
}

/** A value of each type that binds, for checking a query whose parameters have no value yet. */
const STAND_INS: Record<ParameterType, BindableValue> = {
  string: '',
  integer: '0',
  number: 0,
  boolean: false,
  date: '2000-01-01',
  timestamp: '2000-01-01T00:00:00Z',
  decimal: '0',
}

/**
 * Values to plan a query with before anyone runs it (checking SQL on save): each parameter's default
 * when it has one, else a stand-in of its type. Types decide what the query binds to, not values.
 */
export function planningValues(parameters: readonly SavedQueryParameter[]): Record<string, QueryParameter> {
  const values: Record<string, QueryParameter> = {}
  for (const parameter of parameters) {
    const bound = parameter.default === undefined ? undefined : toBindable(parameter.type, parameter.default)
    values[parameter.name] = { type: parameter.type, value: bound?.ok ? bound.value : STAND_INS[parameter.type] }
  }
  return values
}
