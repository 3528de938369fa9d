import type { GoldenSql, ParameterValue } from '@tributary/contract'

import type { GoldenMatch } from './ask-schema.js'
import { parseDateRange } from './offline/dates.js'
import { tokenize } from './offline/text.js'

/**
 * Golden SQL a question matches, used as is instead of writing SQL:
 *
 *   - exactly: the same words as the golden question, case and punctuation aside ("How many customers?"
 *     matches "how many customers"), when every required parameter has a default;
 *   - as a template: the golden question writes its parameters `{{name}}` ("Invoices from {{country}} in
 *     {{year}}"), the question has the same words around them, and each captured value reads as its
 *     parameter's type (an integer, a date written `2024-03-05` or `March 5, 2024`, yes/no, …).
 *
 * An exact match wins over a template; among templates, the one with the most words of its own. Pure and
 * deterministic: the same question and list give the same answer.
 */
export function matchGolden(question: string, golden: readonly GoldenSql[]): GoldenMatch | null {
  const words = normalized(question)
  if (words === '') return null
  let best: { match: GoldenMatch; literal: number } | null = null
  for (const entry of golden) {
    if (!PLACEHOLDER.test(entry.question)) {
      if (normalized(entry.question) === words && runnable(entry, {}))
        return { golden: entry, parameters: {}, kind: 'exact' }
      continue
    }
    const found = template(question, entry)
    if (found && (!best || found.literal > best.literal)) best = found
  }
  return best?.match ?? null
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/
const PLACEHOLDERS = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g
const SEPARATOR = '[^\\p{L}\\p{N}]'

/** Words only, lower case: what "the same question" means. */
function normalized(text: string): string {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  ).join(' ')
}

/** Every required parameter has a value or a default. */
function runnable(entry: GoldenSql, values: Record<string, ParameterValue>): boolean {
  return entry.parameters.every(
    (parameter) => !parameter.required || values[parameter.name] !== undefined || parameter.default !== undefined,
  )
}

function template(question: string, entry: GoldenSql): { match: GoldenMatch; literal: number } | null {
  const names: string[] = []
  let pattern = `^${SEPARATOR}*`
  let literal = 0
  let last = 0
  for (const placeholder of entry.question.matchAll(PLACEHOLDERS)) {
    const before = entry.question.slice(last, placeholder.index)
    pattern += literalPattern(before, names.length > 0, true)
    literal += normalized(before).split(' ').filter(Boolean).length
    pattern += '(.+?)'
    names.push(placeholder[1]!)
    last = placeholder.index + placeholder[0].length
  }
  const after = entry.question.slice(last)
  pattern += `${literalPattern(after, true, false)}${SEPARATOR}*$`
  literal += normalized(after).split(' ').filter(Boolean).length
  // A template of placeholders alone would match any question.
  if (literal === 0) return null
  const match = new RegExp(pattern, 'iu').exec(question.normalize('NFKC').trim())
  if (!match) return null
  const parameters: Record<string, ParameterValue> = {}
  for (const [k, name] of names.entries()) {
    const definition = entry.parameters.find((parameter) => parameter.name === name)
    if (!definition) return null
    const value = valueOf(definition.type, match[k + 1]!)
    if (value === undefined) return null
    if (name in parameters && parameters[name] !== value) return null
    parameters[name] = value
  }
  if (!runnable(entry, parameters)) return null
  return { match: { golden: entry, parameters, kind: 'template' }, literal }
}

/**
 * The words of a literal part, separated by anything that is not a letter or a digit; `open`: a capture
 * comes before it, `close`: a capture comes after it (the separators there are required).
 */
function literalPattern(text: string, open: boolean, close: boolean): string {
  const words = text.normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? []
  if (words.length === 0) return open && close ? `${SEPARATOR}+` : ''
  const body = words.map(escape).join(`${SEPARATOR}+`)
  return `${open ? `${SEPARATOR}+` : ''}${body}${close ? `${SEPARATOR}+` : ''}`
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** A captured value read as its parameter's type; undefined when it does not read as one. */
function valueOf(type: GoldenSql['parameters'][number]['type'], captured: string): ParameterValue | undefined {
  const text = captured
    .trim()
    .replace(/^(["'“‘«])(.*)(["'”’»])$/u, '$2')
    .trim()
  if (text === '') return undefined
  const plain = text.replace(/^[$€£]/, '').replace(/,(?=\d{3}\b)/g, '')
  switch (type) {
    case 'string':
      return text
    case 'integer': {
      if (!/^[+-]?\d{1,19}$/.test(plain)) return undefined
      const value = Number(plain)
      return Number.isSafeInteger(value) ? value : plain
    }
    case 'number': {
      if (!/^[+-]?\d+(\.\d+)?$/.test(plain)) return undefined
      return Number(plain)
    }
    case 'decimal':
      return /^[+-]?\d{1,28}(\.\d{1,10})?$/.test(plain) ? plain : undefined
    case 'boolean': {
      const lower = text.toLowerCase()
      if (['yes', 'true', 'y'].includes(lower)) return true
      if (['no', 'false', 'n'].includes(lower)) return false
      return undefined
    }
    case 'date':
      return dateOf(text)
    case 'timestamp':
      return /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/.test(text) &&
        !Number.isNaN(Date.parse(text.replace(' ', 'T')))
        ? text
        : undefined
  }
}

/** One calendar day, written `2024-03-05`, `March 5, 2024` or `5 March 2024`; relative dates are not values. */
function dateOf(text: string): string | undefined {
  const tokens = tokenize(text)
  const read = (now: Date) => {
    const parsed = parseDateRange(tokens, 0, now)
    if (!parsed || 'error' in parsed || parsed.end !== tokens.length) return undefined
    const { from, to } = parsed.range
    if (!from || !to || to.getTime() - from.getTime() !== 86_400_000) return undefined
    return from.toISOString().slice(0, 10)
  }
  const a = read(new Date(Date.UTC(2000, 0, 1)))
  return a !== undefined && a === read(new Date(Date.UTC(2030, 6, 1))) ? a : undefined
}
