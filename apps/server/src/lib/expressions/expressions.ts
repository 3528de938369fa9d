/**
 * A small, safe expression language for workflow conditions and templates, e.g.
 * `steps.revenue.rows[0].total < 0.8 * steps.avg.rows[0].avg`.
 *
 * `jsep` parses; the AST is checked and compiled here into closures, so nothing is ever handed to
 * `eval` or `new Function`, no prototype is reachable and only whitelisted functions can be called.
 *
 * @module
 */
import jsep from 'jsep'

export const MAX_EXPRESSION_LENGTH = 2000
export const MAX_EXPRESSION_DEPTH = 64
export const DEFAULT_ROOTS: readonly string[] = ['steps', 'workflow', 'run', 'now']

/** A parse error (with its position) or a runtime type error; the message can be shown to the author. */
export class ExpressionError extends Error {
  override name = 'ExpressionError'

  /** `description` is the message without its position; `index` the character it points at, if any. */
  constructor(
    readonly description: string,
    readonly index?: number,
  ) {
    super(index === undefined ? description : `${description} at character ${index}`)
  }
}

export interface Expression {
  readonly source: string
  /** Names X referenced as `steps.X` (or steps['X']), in order of first use, for checking that the steps exist and come earlier. */
  readonly stepNames: readonly string[]
  evaluate(scope: Readonly<Record<string, unknown>>): unknown
}

export interface ExpressionOptions {
  /** The names an expression may start from; default `steps`, `workflow`, `run`, `now`. */
  roots?: readonly string[]
}

// Word forms of the logical operators, for authors who do not write JavaScript. jsep's operator
// tables are process-wide; adding operators only widens what parses, and nothing else here uses jsep.
jsep.addBinaryOp('or', 1)
jsep.addBinaryOp('and', 2)
jsep.addUnaryOp('not')

type JsepNode = jsep.Expression
type Scope = Readonly<Record<string, unknown>>
type Compiled = (scope: Scope) => unknown

interface JsepParser {
  index: number
  readonly expr: string
  parse(): JsepNode
  gobbleExpression(): JsepNode | false | undefined
  throwError(message: string): never
}
type JsepParserClass = new (source: string) => JsepParser
const { Jsep } = jsep as unknown as { Jsep: JsepParserClass }

/**
 * jsep reads `a b`, `a, b` and `a; b` as a list of expressions; ours is one expression, so the parser
 * stops at the first thing after it and reports where that is.
 */
class SingleExpressionParser extends Jsep {
  gobbleExpressions(untilCode?: number): JsepNode[] {
    const node = this.gobbleExpression()
    if (this.index < this.expr.length && this.expr.charCodeAt(this.index) !== untilCode) {
      this.throwError(`unexpected ${quoteChar(this.expr[this.index] ?? '')}`)
    }
    return node ? [node] : []
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

const COMPARISONS = new Set(['<', '<=', '>', '>='])
const EQUALITIES = new Set(['==', '===', '!=', '!=='])
const ARITHMETIC = new Set(['+', '-', '*', '/', '%'])
const LOGICAL = new Set(['&&', '||', 'and', 'or'])

const CANONICAL_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/

/**
 * Numbers, and decimal strings written the canonical way: PostgreSQL sends `bigint` and `numeric`
 * as strings (`"1234"`, `"12.50"`), and a condition should compare them as the numbers they are.
 */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'string' && value.length <= 40 && CANONICAL_DECIMAL.test(value)) return Number(value)
  return undefined
}

/** JavaScript truthiness, except that `0` as a numeric string and empty arrays count as false. */
export function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0
  const number = asNumber(value)
  if (number !== undefined) return number !== 0
  return Boolean(value)
}

/** Parses and checks `source` once; the result can be evaluated against many scopes. */
export function parseExpression(source: string, options: ExpressionOptions = {}): Expression {
  if (source.trim() === '') throw new ExpressionError('the expression is empty')
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(`the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`)
  }
  checkBracketDepth(source)
  let ast: JsepNode
  try {
    ast = new SingleExpressionParser(source).parse()
  } catch (error) {
    throw fromJsepError(error, source)
  }
  const compiler = new Compiler(options.roots ?? DEFAULT_ROOTS)
  const run = compiler.compile(ast, 0)
  return {
    source,
    stepNames: [...compiler.stepNames],
    evaluate: (scope) => run(scope),
  }
}

/** jsep is recursive descent: refuse deep bracket nesting before it can exhaust the stack. */
function checkBracketDepth(source: string): void {
  let depth = 0
  let quote: string | undefined
  for (let index = 0; index < source.length; index++) {
    const char = source[index]
    if (quote) {
      if (char === '\\') index++
      else if (char === quote) quote = undefined
    } else if (char === '"' || char === "'") {
      quote = char
    } else if (char === '(' || char === '[') {
      if (++depth > MAX_EXPRESSION_DEPTH) {
        throw new ExpressionError(`brackets are nested more than ${MAX_EXPRESSION_DEPTH} deep`, index)
      }
    } else if (char === ')' || char === ']') {
      depth--
    }
  }
}

function fromJsepError(error: unknown, source: string): ExpressionError {
  if (error instanceof RangeError) return new ExpressionError(`the expression is nested too deeply`)
  if (!(error instanceof Error)) throw error
  const { index, description } = error as Error & { index?: number; description?: string }
  if (typeof index !== 'number' || typeof description !== 'string') throw error
  if (index >= source.length && /^(Unexpected|Expected expression)/.test(description)) {
    return new ExpressionError('unexpected end of expression', index)
  }
  const unexpected = /^Unexpected "?(.)"?$/.exec(description)
  return new ExpressionError(
    unexpected ? `unexpected ${quoteChar(unexpected[1] ?? '')}` : lowerFirst(description),
    index,
  )
}

function quoteChar(char: string): string {
  return char === "'" ? `"'"` : `'${char}'`
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}

class Compiler {
  readonly stepNames = new Set<string>()

  constructor(private readonly roots: readonly string[]) {}

  compile(node: JsepNode, depth: number): Compiled {
    if (depth > MAX_EXPRESSION_DEPTH) {
      throw new ExpressionError(`the expression is too complex (more than ${MAX_EXPRESSION_DEPTH} levels of operators)`)
    }
    const next = depth + 1
    switch (node.type) {
      case 'Literal':
        return this.literal(node as jsep.Literal)
      case 'Identifier':
        return this.identifier(node as jsep.Identifier)
      case 'MemberExpression':
        return this.member(node as jsep.MemberExpression, next)
      case 'UnaryExpression':
        return this.unary(node as jsep.UnaryExpression, next)
      case 'BinaryExpression':
        return this.binary(node as jsep.BinaryExpression, next)
      case 'ConditionalExpression': {
        const { test, consequent, alternate } = node as jsep.ConditionalExpression
        const [ifTest, ifTrue, ifFalse] = [
          this.compile(test, next),
          this.compile(consequent, next),
          this.compile(alternate, next),
        ]
        return (scope) => (isTruthy(ifTest(scope)) ? ifTrue(scope) : ifFalse(scope))
      }
      case 'CallExpression':
        return this.call(node as jsep.CallExpression, next)
      case 'ThisExpression':
        throw new ExpressionError(`'this' is not available in expressions`)
      case 'ArrayExpression':
        throw new ExpressionError(`array literals ([…]) are not supported in ${show(node)}`)
      case 'Compound':
        // Only an empty source or `()` reach here: the parser refuses a second expression.
        throw new ExpressionError('the expression is empty')
      default:
        throw new ExpressionError(`unsupported syntax (${node.type})`)
    }
  }

  private literal(node: jsep.Literal): Compiled {
    const { value } = node
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ExpressionError(`the number ${node.raw} is out of range`)
    }
    if (value !== null && typeof value === 'object') throw new ExpressionError(`unsupported literal ${node.raw}`)
    return () => value
  }

  private identifier(node: jsep.Identifier): Compiled {
    const { name } = node
    if (!this.roots.includes(name)) {
      const known = this.roots.length > 0 ? `; expressions start from ${this.roots.join(', ')}` : ''
      const hint = Object.hasOwn(FUNCTIONS, name) ? ` (${name} is a function: call it as ${name}(…))` : ''
      throw new ExpressionError(`unknown name '${name}'${hint}${known}`)
    }
    return (scope) => visible(Object.hasOwn(scope, name) ? scope[name] : undefined)
  }

  private member(node: jsep.MemberExpression, depth: number): Compiled {
    const object = this.compile(node.object, depth)
    const staticKey = memberKey(node)
    if (node.object.type === 'Identifier' && (node.object as jsep.Identifier).name === 'steps') {
      if (typeof staticKey !== 'string') {
        throw new ExpressionError(`a step must be named in ${show(node)}: write steps.name or steps['name']`)
      }
      this.stepNames.add(staticKey)
    }
    if (staticKey !== undefined) {
      checkKey(staticKey, node)
      return (scope) => getMember(object(scope), staticKey)
    }
    const key = this.compile(node.property, depth)
    return (scope) => {
      const target = object(scope)
      const value = key(scope)
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new ExpressionError(
          `${show(node.property)} is ${describe(value)}; a property name must be a string or number`,
        )
      }
      checkKey(value, node)
      return getMember(target, value)
    }
  }

  private unary(node: jsep.UnaryExpression, depth: number): Compiled {
    const argument = this.compile(node.argument, depth)
    switch (node.operator) {
      case '!':
      case 'not':
        return (scope) => !isTruthy(argument(scope))
      case '-':
        return (scope) => -numberOperand(argument(scope), node.argument)
      default:
        throw new ExpressionError(`the operator '${node.operator}' is not supported`)
    }
  }

  private binary(node: jsep.BinaryExpression, depth: number): Compiled {
    const { operator } = node
    const known =
      COMPARISONS.has(operator) || EQUALITIES.has(operator) || ARITHMETIC.has(operator) || LOGICAL.has(operator)
    if (!known) throw new ExpressionError(`the operator '${operator}' is not supported`)
    const left = this.compile(node.left, depth)
    const right = this.compile(node.right, depth)
    switch (operator) {
      case '&&':
      case 'and':
        return (scope) => {
          const value = left(scope)
          return isTruthy(value) ? right(scope) : value
        }
      case '||':
      case 'or':
        return (scope) => {
          const value = left(scope)
          return isTruthy(value) ? value : right(scope)
        }
      case '==':
      case '===':
        return (scope) => equals(left(scope), right(scope))
      case '!=':
      case '!==':
        return (scope) => !equals(left(scope), right(scope))
    }
    if (COMPARISONS.has(operator)) return (scope) => compare(operator, left(scope), right(scope), node)
    return (scope) => arithmetic(operator, left(scope), right(scope), node)
  }

  private call(node: jsep.CallExpression, depth: number): Compiled {
    const { callee } = node
    const name = callee.type === 'Identifier' ? (callee as jsep.Identifier).name : undefined
    if (name === undefined || !Object.hasOwn(FUNCTIONS, name)) {
      throw new ExpressionError(
        `${show(callee)}(…) is not a function that expressions may call; available: ${Object.keys(FUNCTIONS).join(', ')}`,
      )
    }
    const fn = FUNCTIONS[name]!
    const count = node.arguments.length
    if (count < fn.min || count > fn.max) {
      const expected =
        fn.min === fn.max ? `${fn.min}` : fn.max === Infinity ? `at least ${fn.min}` : `${fn.min} to ${fn.max}`
      const plural = fn.max === 1 || (fn.min === 1 && fn.max === Infinity) ? '' : 's'
      throw new ExpressionError(`${name}() takes ${expected} argument${plural}, got ${count}`)
    }
    const args = node.arguments.map((argument) => this.compile(argument, depth))
    return (scope) =>
      fn.run(
        args.map((arg) => arg(scope)),
        node.arguments,
      )
  }
}

function memberKey(node: jsep.MemberExpression): string | number | undefined {
  const { property } = node
  if (!node.computed) return (property as jsep.Identifier).name
  if (property.type === 'Literal') {
    const { value } = property as jsep.Literal
    if (typeof value === 'string' || typeof value === 'number') return value
  }
  return undefined
}

function checkKey(key: string | number, node: jsep.MemberExpression): void {
  if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) {
    throw new ExpressionError(`the property '${key}' is not accessible (in ${show(node)})`)
  }
}

/** Own data of plain objects and arrays only: no prototype, no methods, nothing callable. */
function getMember(target: unknown, key: string | number): unknown {
  if (target === null || typeof target !== 'object' || FORBIDDEN_KEYS.has(String(key))) return undefined
  if (Array.isArray(target)) {
    if (typeof key === 'number' || /^(?:0|[1-9]\d*)$/.test(key)) {
      const index = Number(key)
      return Number.isInteger(index) && index >= 0 && index < target.length ? visible(target[index]) : undefined
    }
    return key === 'length' ? target.length : undefined
  }
  const name = String(key)
  return Object.hasOwn(target, name) ? visible((target as Record<string, unknown>)[name]) : undefined
}

function visible(value: unknown): unknown {
  return typeof value === 'function' || typeof value === 'symbol' ? undefined : value
}

function equals(left: unknown, right: unknown): boolean {
  if (left === undefined || left === null || right === undefined || right === null) {
    return (left === undefined || left === null) && (right === undefined || right === null)
  }
  const [a, b] = [asNumber(left), asNumber(right)]
  if (a !== undefined && b !== undefined) return a === b
  const [x, y] = [comparable(left), comparable(right)]
  return x === y
}

function comparable(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value
}

function compare(operator: string, left: unknown, right: unknown, node: jsep.BinaryExpression): boolean {
  if (left === undefined || left === null || right === undefined || right === null) return false
  let a: number | string
  let b: number | string
  const [leftNumber, rightNumber] = [asNumber(left), asNumber(right)]
  const [leftValue, rightValue] = [comparable(left), comparable(right)]
  if (leftNumber !== undefined && rightNumber !== undefined) {
    ;[a, b] = [leftNumber, rightNumber]
  } else if (typeof leftValue === 'string' && typeof rightValue === 'string') {
    ;[a, b] = [leftValue, rightValue]
  } else {
    throw new ExpressionError(
      `cannot compare ${show(node.left)} (${describe(left)}) with ${show(node.right)} (${describe(right)}) in ${show(node)}`,
    )
  }
  switch (operator) {
    case '<':
      return a < b
    case '<=':
      return a <= b
    case '>':
      return a > b
    default:
      return a >= b
  }
}

function arithmetic(operator: string, leftValue: unknown, rightValue: unknown, node: jsep.BinaryExpression): number {
  const left = numberOperand(leftValue, node.left)
  const right = numberOperand(rightValue, node.right)
  if ((operator === '/' || operator === '%') && right === 0) {
    throw new ExpressionError(`division by zero in ${show(node)}`)
  }
  const result =
    operator === '+'
      ? left + right
      : operator === '-'
        ? left - right
        : operator === '*'
          ? left * right
          : operator === '/'
            ? left / right
            : left % right
  if (!Number.isFinite(result)) throw new ExpressionError(`${show(node)} is out of range`)
  return result
}

function numberOperand(value: unknown, node: JsepNode): number {
  const number = asNumber(value)
  if (number === undefined) throw new ExpressionError(`${show(node)} is ${describe(value)}, not a number`)
  return number
}

/** How a value is named in an error message, without dumping a whole result set into it. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (value instanceof Date) return `the date ${value.toISOString()}`
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return `a ${typeof value}`
}

/** The source form of a node, for error messages (`steps.revenue.rows[0].total`). */
function show(node: JsepNode): string {
  switch (node.type) {
    case 'Literal':
      return (node as jsep.Literal).raw
    case 'Identifier':
      return (node as jsep.Identifier).name
    case 'ThisExpression':
      return 'this'
    case 'MemberExpression': {
      const { object, property, computed } = node as jsep.MemberExpression
      return computed ? `${show(object)}[${show(property)}]` : `${show(object)}.${show(property)}`
    }
    case 'CallExpression': {
      const { callee, arguments: args } = node as jsep.CallExpression
      return `${show(callee)}(${args.map(show).join(', ')})`
    }
    case 'UnaryExpression': {
      const { operator, argument } = node as jsep.UnaryExpression
      return `${operator}${/^[a-z]/.test(operator) ? ' ' : ''}${grouped(argument)}`
    }
    case 'BinaryExpression': {
      const { operator, left, right } = node as jsep.BinaryExpression
      return `${grouped(left)} ${operator} ${grouped(right)}`
    }
    case 'ConditionalExpression': {
      const { test, consequent, alternate } = node as jsep.ConditionalExpression
      return `${grouped(test)} ? ${grouped(consequent)} : ${grouped(alternate)}`
    }
    case 'ArrayExpression':
      return `[${(node as jsep.ArrayExpression).elements.map((element) => (element ? show(element) : '')).join(', ')}]`
    default:
      return node.type
  }
}

function grouped(node: JsepNode): string {
  return node.type === 'BinaryExpression' || node.type === 'ConditionalExpression' ? `(${show(node)})` : show(node)
}

interface BuiltIn {
  min: number
  max: number
  run(args: unknown[], nodes: JsepNode[]): unknown
}

const FUNCTIONS: Record<string, BuiltIn> = {
  abs: { min: 1, max: 1, run: ([x], [node]) => Math.abs(numberOperand(x, node!)) },
  floor: { min: 1, max: 1, run: ([x], [node]) => Math.floor(numberOperand(x, node!)) },
  ceil: { min: 1, max: 1, run: ([x], [node]) => Math.ceil(numberOperand(x, node!)) },
  round: {
    min: 1,
    max: 2,
    run: ([x, digits], [node, digitsNode]) => {
      const value = numberOperand(x, node!)
      const places = digitsNode ? numberOperand(digits, digitsNode) : 0
      if (!Number.isInteger(places) || places < 0 || places > 15) {
        throw new ExpressionError(`round(): the number of digits must be a whole number from 0 to 15, got ${places}`)
      }
      const factor = 10 ** places
      // Half away from zero, as in SQL's round(), not Math.round's half towards +∞.
      return (Math.sign(value) * Math.round(Math.abs(value) * factor + Number.EPSILON * factor)) / factor
    },
  },
  min: { min: 1, max: Infinity, run: (args, nodes) => extreme('min', args, nodes) },
  max: { min: 1, max: Infinity, run: (args, nodes) => extreme('max', args, nodes) },
  len: {
    min: 1,
    max: 1,
    run: ([value], [node]) => {
      if (Array.isArray(value) || typeof value === 'string') return value.length
      throw new ExpressionError(`len(): ${show(node!)} is ${describe(value)}, not an array or string`)
    },
  },
  count: { min: 1, max: 1, run: ([rows], [node]) => arrayOperand('count', rows, node!).length },
  sum: {
    min: 1,
    max: 2,
    run: (args, nodes) => columnNumbers('sum', args, nodes).reduce((total, value) => total + value, 0),
  },
  avg: {
    min: 1,
    max: 2,
    run: (args, nodes) => {
      const values = columnNumbers('avg', args, nodes)
      return values.length === 0 ? null : values.reduce((total, value) => total + value, 0) / values.length
    },
  },
}

/** `min(a, b, …)` over numbers, or `min(rows, 'column')` / `min(values)` over an array. */
function extreme(name: 'min' | 'max', args: unknown[], nodes: JsepNode[]): number | null {
  if (args.length > 2 && Array.isArray(args[0])) {
    throw new ExpressionError(`${name}(): give either numbers or one array and a column name`)
  }
  const values = Array.isArray(args[0])
    ? columnNumbers(name, args, nodes)
    : args.map((arg, index) => numberOperand(arg, nodes[index]!))
  if (values.length === 0) return null
  return name === 'min' ? Math.min(...values) : Math.max(...values)
}

function arrayOperand(name: string, value: unknown, node: JsepNode): unknown[] {
  if (!Array.isArray(value)) throw new ExpressionError(`${name}(): ${show(node)} is ${describe(value)}, not an array`)
  return value
}

/** The numbers of an array, or of one column of an array of rows; nulls are skipped, as SQL aggregates do. */
function columnNumbers(name: string, [rows, key]: unknown[], [rowsNode, keyNode]: JsepNode[]): number[] {
  const items = arrayOperand(name, rows, rowsNode!)
  let column: string | undefined
  if (keyNode !== undefined) {
    if (typeof key !== 'string') {
      throw new ExpressionError(`${name}(): the column ${show(keyNode)} must be a string, got ${describe(key)}`)
    }
    column = key
  }
  const numbers: number[] = []
  items.forEach((item, index) => {
    const value = column === undefined ? item : getMember(item, column)
    if (value === undefined || value === null) return
    const number = asNumber(value)
    if (number === undefined) {
      const where = column === undefined ? `${show(rowsNode!)}[${index}]` : `${show(rowsNode!)}[${index}].${column}`
      throw new ExpressionError(`${name}(): ${where} is ${describe(value)}, not a number`)
    }
    numbers.push(number)
  })
  return numbers
}
