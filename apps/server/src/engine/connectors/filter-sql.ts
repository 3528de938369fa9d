import type { FilterValue, PushedFilter, ScanOrder, ScanRequest, SourceColumn } from './connector.js'

export type ComparisonOp = '=' | '<>' | '<' | '<=' | '>' | '>='

export const ALL_OPS: readonly PushedFilter['op'][] = ['=', '<>', '<', '<=', '>', '>=', 'in', 'is_null', 'is_not_null']
/** Under a collation that may call different strings equal, only these return a superset of DuckDB's rows. */
export const EQUALITY_OPS: readonly PushedFilter['op'][] = ['=', 'in', 'is_null', 'is_not_null']
export const NULL_OPS: readonly PushedFilter['op'][] = ['is_null', 'is_not_null']

/**
 * How one column may be filtered in a source's SQL. `literal` renders a value in the source's
 * dialect, or returns undefined when the source could not compare it exactly as DuckDB does; then
 * the whole filter stays with DuckDB.
 */
export interface ColumnFilterRule {
  /** The expression compared, usually the quoted column. */
  lhs: string
  /** The expression tested by IS [NOT] NULL, when it differs (a value the scan reads as NULL, say). */
  nullLhs?: string
  /** `lhs` sorts otherwise than the value DuckDB reads (a value read as NULL sorts as a value): no top-N. */
  unsorted?: boolean
  ops: readonly PushedFilter['op'][]
  literal(value: FilterValue): string | undefined
  /**
   * Writes a comparison other than `lhs op literal` (a widened range, an extra OR): for 'in' the
   * literal is the parenthesized list. Undefined leaves the filter out.
   */
  compare?(op: ComparisonOp | 'in', literal: string): string | undefined
}

/**
 * The conjuncts a source can apply exactly (or as a superset) for a request, in its SQL. Filters on
 * unknown columns, with unsupported operators or with values the rule refuses are left out.
 */
export function renderFilters(
  request: Pick<ScanRequest, 'filters' | 'columns'>,
  rule: (column: SourceColumn) => ColumnFilterRule | undefined,
  allColumns: readonly SourceColumn[] = request.columns,
): string[] {
  const rules = new Map<string, ColumnFilterRule | undefined>()
  const conjuncts: string[] = []
  for (const filter of request.filters) {
    if (!rules.has(filter.column)) {
      const column = allColumns.find((c) => c.name === filter.column)
      rules.set(filter.column, column && rule(column))
    }
    const found = rules.get(filter.column)
    if (!found) continue
    const sql = renderFilter(filter, found)
    if (sql !== undefined) conjuncts.push(sql)
  }
  return conjuncts
}

export function renderFilter(filter: PushedFilter, rule: ColumnFilterRule): string | undefined {
  if (!rule.ops.includes(filter.op)) return undefined
  switch (filter.op) {
    case 'is_null':
      return `${rule.nullLhs ?? rule.lhs} IS NULL`
    case 'is_not_null':
      return `${rule.nullLhs ?? rule.lhs} IS NOT NULL`
    case 'in': {
      // An empty list matches nothing; DuckDB sees that for itself, and `IN ()` is not SQL.
      if (filter.values.length === 0) return undefined
      const literals: string[] = []
      for (const value of filter.values) {
        const literal = rule.literal(value)
        if (literal === undefined) return undefined
        literals.push(literal)
      }
      const list = `(${literals.join(', ')})`
      return rule.compare ? rule.compare('in', list) : `${rule.lhs} IN ${list}`
    }
    default: {
      const literal = rule.literal(filter.value)
      if (literal === undefined) return undefined
      return rule.compare ? rule.compare(filter.op, literal) : `${rule.lhs} ${filter.op} ${literal}`
    }
  }
}

export function whereClause(conjuncts: readonly string[]): string {
  return conjuncts.length === 0 ? '' : ` WHERE ${conjuncts.join(' AND ')}`
}

/** `LIMIT n` for a whole non-negative number; anything else is ignored, since a limit is only a hint. */
export function limitClause(limit: number | undefined): string {
  return limit !== undefined && Number.isSafeInteger(limit) && limit >= 0 ? ` LIMIT ${limit}` : ''
}

/** How a source writes one sort key, given the expression its filter rule compares. */
export type OrderTerm = (lhs: string, order: ScanOrder) => string

/** `x DESC NULLS FIRST`: PostgreSQL, SQLite and DuckDB. */
export const standardOrderTerm: OrderTerm = (lhs, order) =>
  `${lhs} ${order.descending ? 'DESC' : 'ASC'} NULLS ${order.nullsFirst ? 'FIRST' : 'LAST'}`

/**
 * The end of a scan's SELECT: `WHERE` with what the source can filter, then `ORDER BY … LIMIT n`
 * only when every filter went in and every sort key sorts as it compares (its rule takes `<`, with no
 * rewritten comparison, and is not marked `unsorted`). A limit over a
 * partly filtered or differently sorted scan could drop rows DuckDB needs, so then there is none.
 */
export function scanTail(
  request: Pick<ScanRequest, 'filters' | 'columns' | 'limit' | 'order'>,
  rule: (column: SourceColumn) => ColumnFilterRule | undefined,
  orderTerm: OrderTerm = standardOrderTerm,
  allColumns: readonly SourceColumn[] = request.columns,
): string {
  const conjuncts = renderFilters(request, rule, allColumns)
  const where = whereClause(conjuncts)
  if (request.limit === undefined || conjuncts.length !== request.filters.length) return where
  const terms: string[] = []
  for (const order of request.order ?? []) {
    const column = allColumns.find((candidate) => candidate.name === order.column)
    const found = column && rule(column)
    if (!found || !found.ops.includes('<') || found.compare || found.unsorted) {
      return where
    }
    terms.push(orderTerm(found.lhs, order))
  }
  return `${where}${terms.length > 0 ? ` ORDER BY ${terms.join(', ')}` : ''}${limitClause(request.limit)}`
}

/** `"name"` with inner quotes doubled: the identifier quoting of PostgreSQL, SQLite and DuckDB. */
export function doubleQuoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** `'text'` with inner quotes doubled, for dialects where a backslash is an ordinary character. */
export function singleQuoted(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

const DECIMAL_TEXT = /^-?\d{1,40}(\.\d{1,40})?$/
const INTEGER_TEXT = /^-?\d{1,40}$/

/**
 * A number as a plain SQL numeric literal, or undefined. `integer` refuses fractions, and JS numbers
 * beyond 2^53 (they may already have been rounded on their way here). `exactDecimal` refuses JS
 * numbers with more than 15 significant digits, which may not be the decimal DuckDB compares with.
 * `exponent: false` refuses the exponent form, which some dialects read as an approximate (floating
 * point) literal. Numeric strings are taken too, for decimals too wide for a double.
 */
export function numericLiteral(
  value: FilterValue,
  options: { integer?: boolean; exactDecimal?: boolean; exponent?: boolean } = {},
): string | undefined {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined
    if (options.integer && !Number.isSafeInteger(value)) return undefined
    // -0 is 0 to every comparison, and String() drops its sign anyway.
    const text = String(value)
    if (options.exponent === false && /e/i.test(text)) return undefined
    if (options.exactDecimal && significantDigits(text) > 15) return undefined
    return text
  }
  if (typeof value === 'string') {
    const pattern = options.integer ? INTEGER_TEXT : DECIMAL_TEXT
    return pattern.test(value) ? value : undefined
  }
  return undefined
}

/** Digits of a number's shortest text form, without sign, point, exponent, or leading and trailing zeros. */
function significantDigits(text: string): number {
  const mantissa = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '')
  return mantissa.replace(/^0+/, '').replace(/0+$/, '').length
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/
const ISO_OFFSET = /^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?) ?(Z|[+-]\d{2}(?::?\d{2})?)$/
const ISO_TIME = /^\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/
const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/**
 * A date, timestamp or time constant, which the engine sends as ISO-8601 text. Only the plain forms
 * are accepted (four-digit years, no BC, no infinity): anything else is left to DuckDB rather than
 * guessed at. A TIMESTAMPTZ constant must carry its offset, since a bare one means different instants
 * in DuckDB's time zone and in the source's session.
 */
export function temporalText(value: FilterValue, type: 'DATE' | 'TIMESTAMP' | 'TIMESTAMPTZ' | 'TIME') {
  if (typeof value !== 'string') return undefined
  switch (type) {
    case 'DATE':
      return ISO_DATE.test(value) ? value : undefined
    case 'TIMESTAMP':
      return ISO_TIMESTAMP.test(value) ? value.replace('T', ' ') : undefined
    case 'TIME':
      return ISO_TIME.test(value) ? value : undefined
    case 'TIMESTAMPTZ': {
      const match = ISO_OFFSET.exec(value)
      if (!match) return undefined
      return `${match[1]!.replace('T', ' ')}${match[2] === 'Z' ? '+00' : match[2]}`
    }
  }
}

/** Whether a TIMESTAMPTZ constant (as `temporalText` returns it) is in UTC. */
export function isUtcOffset(text: string): boolean {
  return /[+-]00(:?00)?$/.test(text)
}

export function uuidText(value: FilterValue): string | undefined {
  return typeof value === 'string' && UUID_TEXT.test(value) ? value.toLowerCase() : undefined
}

/**
 * A string a source can hold: no NUL (no database here stores it in text) and no lone surrogate
 * (it has no UTF-8 form, so it cannot equal anything the source returns).
 */
export function storableText(value: FilterValue): string | undefined {
  if (typeof value !== 'string' || value.includes('\0') || !value.isWellFormed()) return undefined
  return value
}

/** DuckDB's `DECIMAL(p,s)` → its scale, or undefined for any other type. */
export function decimalScale(type: string): number | undefined {
  const match = /^DECIMAL\(\s*\d+\s*,\s*(\d+)\s*\)$/i.exec(type)
  return match ? Number(match[1]) : undefined
}
