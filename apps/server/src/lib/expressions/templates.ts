/**
 * `{{ expression }}` placeholders in webhook bodies and e-mails, using the expression language of
 * `expressions.ts`. Templates are parsed once (when a workflow is saved, so a bad placeholder is a
 * 422 then) and rendered per run.
 *
 * @module
 */
import { type Expression, ExpressionError, type ExpressionOptions, parseExpression } from './expressions.js'

export interface Template {
  readonly stepNames: readonly string[]
  render(scope: Readonly<Record<string, unknown>>): unknown
}

/** JSON bodies nested deeper than this are refused rather than walked (recursion has a stack). */
const MAX_JSON_DEPTH = 64

type Part = string | Expression

/**
 * A JSON value (object/array/string/number/…) whose strings may hold `{{ expression }}` placeholders:
 * a string that is exactly one placeholder becomes the expression's value (e.g. an array of rows);
 * other strings interpolate (non-primitive values as JSON). Keys are not templated.
 */
export function parseJsonTemplate(value: unknown, options: ExpressionOptions = {}): Template {
  const stepNames = new Set<string>()
  const render = compileJson(value, options, stepNames, 0)
  return { stepNames: [...stepNames], render }
}

/** Text (e-mail subject and body): every placeholder is interpolated; values that are objects/arrays as JSON. */
export function parseTextTemplate(source: string, options: ExpressionOptions = {}): Template {
  const parts = parseParts(source, options)
  return { stepNames: stepNamesOf(parts), render: (scope) => interpolate(parts, scope) }
}

/** The text form of a value inside a string: nothing for null/undefined, JSON for objects and arrays. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return JSON.stringify(value, jsonSafe)
}

type Render = (scope: Readonly<Record<string, unknown>>) => unknown

function compileJson(value: unknown, options: ExpressionOptions, stepNames: Set<string>, depth: number): Render {
  if (depth > MAX_JSON_DEPTH)
    throw new ExpressionError(`the template is nested more than ${MAX_JSON_DEPTH} levels deep`)
  if (typeof value === 'string') {
    const parts = parseParts(value, options)
    for (const name of stepNamesOf(parts)) stepNames.add(name)
    const [only] = parts
    if (parts.length === 1 && typeof only !== 'string' && only !== undefined) {
      return (scope) => toJson(only.evaluate(scope))
    }
    return (scope) => interpolate(parts, scope)
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return () => value
  if (Array.isArray(value)) {
    const items = value.map((item) => compileJson(item, options, stepNames, depth + 1))
    return (scope) => items.map((item) => item(scope))
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value).map(
      ([key, item]) => [key, compileJson(item, options, stepNames, depth + 1)] as const,
    )
    // fromEntries defines own properties, so a `__proto__` key stays a key and sets no prototype.
    return (scope) => Object.fromEntries(entries.map(([key, item]) => [key, item(scope)]))
  }
  throw new ExpressionError(`a template must be JSON; found ${typeof value}`)
}

/** Splits `text` into literal text and parsed placeholders. */
function parseParts(text: string, options: ExpressionOptions): Part[] {
  const parts: Part[] = []
  let position = 0
  while (position < text.length) {
    const open = text.indexOf('{{', position)
    if (open < 0) {
      parts.push(text.slice(position))
      break
    }
    if (open > position) parts.push(text.slice(position, open))
    const close = findClose(text, open + 2)
    if (close < 0) throw new ExpressionError(`'{{' is not closed with '}}'`, open)
    const source = text.slice(open + 2, close)
    try {
      parts.push(parseExpression(source, options))
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error
      // Positions count from the start of the template, not of the placeholder.
      throw error.index === undefined
        ? new ExpressionError(`{{${source}}} at character ${open}: ${error.description}`)
        : new ExpressionError(`{{${source}}}: ${error.description}`, open + 2 + error.index)
    }
    position = close + 2
  }
  return parts
}

/** The `}}` that ends a placeholder, skipping quoted strings so that `{{ x == '}}' }}` works. */
function findClose(text: string, from: number): number {
  let quote: string | undefined
  for (let index = from; index < text.length; index++) {
    const char = text[index]
    if (quote) {
      if (char === '\\') index++
      else if (char === quote) quote = undefined
    } else if (char === '"' || char === "'") {
      quote = char
    } else if (char === '}' && text[index + 1] === '}') {
      return index
    }
  }
  return -1
}

function stepNamesOf(parts: Part[]): string[] {
  const names = new Set<string>()
  for (const part of parts) if (typeof part !== 'string') for (const name of part.stepNames) names.add(name)
  return [...names]
}

function interpolate(parts: Part[], scope: Readonly<Record<string, unknown>>): string {
  return parts.map((part) => (typeof part === 'string' ? part : formatValue(part.evaluate(scope)))).join('')
}

/** A value as it would travel in a JSON body: undefined becomes null, dates and bigints strings. */
function toJson(value: unknown): unknown {
  if (value === undefined) return null
  if (typeof value === 'bigint' || value instanceof Date) return formatValue(value)
  return value
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
