import { USER_PROPS_FUNCTION } from '../../engine/access-policy.js'

/**
 * Words that begin or join a query, a clause or a window: none has a place in one scalar
 * expression over one row. A column of such a name must be written in double quotes. (Other
 * statements cannot nest in an expression, and `;` is refused; aggregates fail when bound in WHERE.)
 */
const REFUSED_WORDS = new Set([
  'select',
  'from',
  'with',
  'union',
  'intersect',
  'except',
  'values',
  'table',
  'pivot',
  'unpivot',
  'describe',
  'show',
  'summarize',
  'exists',
  'join',
  'lateral',
  'into',
  'over',
  'window',
  'qualify',
  'within',
  'group',
  'having',
  'order',
  'limit',
  'offset',
  'columns',
  'unnest',
])

export interface PolicyExpressionCheck {
  /** Why the text is not one scalar expression of the allowed kind; undefined when it is. */
  problem?: string
  /**
   * The text with each `current_user_props('…')` written as a text NULL (what a missing attribute
   * reads as), to bind it where the function is unknown.
   */
  bindable: string
}

/**
 * A first, connection-free check that `text` is one scalar expression over one row: no second
 * statement, comment, subquery, clause or window, balanced parentheses, and `current_user_props`
 * (when `userProps` allows it) only with one string literal. Binding it against the table (the
 * caller's `describe`) then finds unknown columns, other tables, aggregates and type errors.
 */
export function checkPolicyExpression(text: string, options: { userProps: boolean }): PolicyExpressionCheck {
  let bindable = ''
  let depth = 0
  let index = 0
  const fail = (problem: string): PolicyExpressionCheck => ({ problem, bindable: text })
  while (index < text.length) {
    const char = text[index]!
    const next = text[index + 1]
    if (char === "'" || ((char === 'e' || char === 'E') && next === "'" && !isWordChar(text[index - 1]))) {
      const end = stringEnd(text, char === "'" ? index : index + 1, char !== "'")
      if (end < 0) return fail('has a string that is not closed')
      bindable += text.slice(index, end)
      index = end
      continue
    }
    if (char === '"') {
      const end = quotedEnd(text, index)
      if (end < 0) return fail('has a quoted name that is not closed')
      bindable += text.slice(index, end)
      index = end
      continue
    }
    if ((char === '-' && next === '-') || (char === '/' && next === '*')) return fail('must not contain comments')
    if (char === ';') return fail('must be one expression, without ;')
    if (char === '$' || char === '?') return fail(`must not contain parameters (${char})`)
    if (char === '{' && next === '{') return fail('must not contain {{placeholders}}')
    if (char === '(') depth += 1
    if (char === ')') {
      depth -= 1
      if (depth < 0) return fail('has a ) without its (')
    }
    if (isWordStart(char) && !isWordChar(text[index - 1])) {
      let end = index
      while (end < text.length && isWordChar(text[end])) end += 1
      const word = text.slice(index, end).toLowerCase()
      if (REFUSED_WORDS.has(word)) {
        return fail(`must be one expression over the table's columns; '${word.toUpperCase()}' has no place in one`)
      }
      if (word === USER_PROPS_FUNCTION) {
        if (!options.userProps) return fail(`must not use ${USER_PROPS_FUNCTION}`)
        const call = /^\s*\(\s*'((?:[^']|'')*)'\s*\)/.exec(text.slice(end))
        if (!call)
          return fail(`${USER_PROPS_FUNCTION} takes one name in single quotes, e.g. ${USER_PROPS_FUNCTION}('email')`)
        bindable += 'CAST(NULL AS VARCHAR)'
        index = end + call[0].length
        continue
      }
      bindable += text.slice(index, end)
      index = end
      continue
    }
    bindable += char
    index += 1
  }
  if (depth !== 0) return fail('has a ( without its )')
  if (bindable.trim() === '') return fail('must not be empty')
  return { bindable }
}

function isWordStart(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z_\u0080-\uffff]/.test(char)
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(char)
}

/** The index after the string opening at `start` (a quote); -1 when it never closes. */
function stringEnd(text: string, start: number, backslashEscapes: boolean): number {
  let index = start + 1
  while (index < text.length) {
    const char = text[index]
    if (backslashEscapes && char === '\\') {
      index += 2
      continue
    }
    if (char === "'") {
      if (text[index + 1] === "'") {
        index += 2
        continue
      }
      return index + 1
    }
    index += 1
  }
  return -1
}

function quotedEnd(text: string, start: number): number {
  let index = start + 1
  while (index < text.length) {
    if (text[index] === '"') {
      if (text[index + 1] === '"') {
        index += 2
        continue
      }
      return index + 1
    }
    index += 1
  }
  return -1
}
