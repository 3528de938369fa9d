import type { Readable } from 'node:stream'

import type { FilterValue, RowSink, ScanRequest, SourceColumn } from '../connector.js'
import {
  ALL_OPS,
  type ColumnFilterRule,
  EQUALITY_OPS,
  isUtcOffset,
  scanTail,
  NULL_OPS,
  numericLiteral,
  storableText,
  temporalText,
  uuidText,
} from '../filter-sql.js'
import { markSinkFailure, toError } from '../scan-errors.js'
import { pumpToSink } from '../stoppable-pump.js'

/** `name` in backticks, inner backticks doubled. */
export function backticked(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``
}

const GEOMETRY =
  /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection|geomcollection)\b/i
/** Types that compare as strings under the column's collation (maybe case- and accent-insensitive). */
export const MYSQL_TEXT = /^((var)?char\(|(tiny|medium|long)?text\b|enum\(|set\()/i
const INTEGER_TYPES = new Set([
  'TINYINT',
  'UTINYINT',
  'SMALLINT',
  'USMALLINT',
  'INTEGER',
  'UINTEGER',
  'BIGINT',
  'UBIGINT',
])

/** What the scan selects for a column: the column itself, unless its own form is not what DuckDB reads. */
export function mysqlSelectExpression(column: SourceColumn): string {
  const q = backticked(column.name)
  // BIT(n) arrives as bytes; as a number it is the UBIGINT the catalog promises.
  if (/^bit\b/i.test(column.source_type)) return `${q} + 0`
  // Spatial values arrive in MySQL's internal binary form; the catalog promises their text.
  if (GEOMETRY.test(column.source_type)) return `ST_AsText(${q})`
  return q
}

export interface MysqlLiteralContext {
  /** A string literal under the session's sql_mode. */
  quote(text: string): string
  /** The column's character set, when a non-ASCII literal needs it; undefined when unknown. */
  charset(column: string): string | undefined
}

const NON_ASCII = /[^\p{ASCII}]/u

/**
 * Whether a string literal can be compared with a column of this character set without an error:
 * MySQL converts the literal to the column's set, and fails ("Illegal mix of collations") on a
 * character the set cannot hold.
 */
function comparableText(text: string, charset: string | undefined): boolean {
  if (!NON_ASCII.test(text)) return true
  if (charset === undefined) return false
  if (/^utf8mb4$/i.test(charset)) return true
  if (/^utf8(mb3)?$/i.test(charset)) return !/[\u{10000}-\u{10ffff}]/u.test(text)
  // MySQL's latin1 is cp1252, which agrees with Unicode on these.
  if (/^latin1$/i.test(charset)) return !/[^\p{ASCII}\u00a0-\u00ff]/u.test(text)
  return false
}

/**
 * A DATE/DATETIME/TIMESTAMP may hold a zero date, which reads as NULL, and MySQL answers `IS NULL`
 * with true for some of those and false for others: only IS NOT NULL is safe.
 */
const DATE_OPS = ALL_OPS.filter((op) => op !== 'is_null')

/**
 * How a filter on the column is written so that MySQL/MariaDB returns at least the rows DuckDB keeps:
 * numbers and dates compare exactly; text only by = and IN, which under a case-insensitive or
 * pad-space collation return a superset; never <> or a range on text.
 */
export function mysqlFilterRule(column: SourceColumn, context: MysqlLiteralContext): ColumnFilterRule {
  const q = backticked(column.name)
  const nullsOnly: ColumnFilterRule = { lhs: q, ops: NULL_OPS, literal: () => undefined }
  const quoted = (text: string | undefined) => (text === undefined ? undefined : context.quote(text))
  const type = column.type
  if (/^bit\b/i.test(column.source_type) || GEOMETRY.test(column.source_type)) return nullsOnly
  if (INTEGER_TYPES.has(type)) {
    return { lhs: q, ops: ALL_OPS, literal: (value) => numericLiteral(value, { integer: true }) }
  }
  if (type.startsWith('DECIMAL(')) {
    // An exponent would make it a DOUBLE literal, and the comparison approximate.
    return {
      lhs: q,
      ops: ALL_OPS,
      literal: (value) => numericLiteral(value, { exactDecimal: true, exponent: false }),
    }
  }
  if (type === 'DOUBLE' && /^(double|real)\b/i.test(column.source_type)) {
    // The exponent makes it a DOUBLE literal, read as the same double; a bigint would be rounded.
    return {
      lhs: q,
      ops: ALL_OPS,
      literal: (value) => {
        if (typeof value === 'bigint') return undefined
        const text = numericLiteral(value)
        return text === undefined || /e/i.test(text) ? text : `${text}e0`
      },
    }
  }
  switch (type) {
    case 'DATE':
      return { lhs: q, ops: DATE_OPS, literal: (value) => quoted(temporalText(value, 'DATE')) }
    case 'TIMESTAMP':
      return { lhs: q, ops: DATE_OPS, literal: (value) => quoted(temporalText(value, 'TIMESTAMP')) }
    case 'TIMESTAMPTZ':
      // The session is in UTC, so a UTC constant compares as written; other offsets are left to DuckDB.
      return {
        lhs: q,
        ops: DATE_OPS,
        literal: (value) => {
          const text = temporalText(value, 'TIMESTAMPTZ')
          return text !== undefined && isUtcOffset(text) ? quoted(text.replace(/[+-][\d:]+$/, '')) : undefined
        },
      }
    case 'UUID':
      return { lhs: q, ops: EQUALITY_OPS, literal: (value) => quoted(uuidText(value)) }
    case 'VARCHAR':
      if (!MYSQL_TEXT.test(column.source_type)) return nullsOnly
      return {
        lhs: q,
        ops: EQUALITY_OPS,
        literal: (value) => {
          const text = storableText(value)
          if (text === undefined || !comparableText(text, context.charset(column.name))) return undefined
          return context.quote(text)
        },
      }
    default:
      // FLOAT (DuckDB may compare a constant as FLOAT or DOUBLE), DOUBLE read from a wide DECIMAL, JSON,
      // blobs, TIME read as INTERVAL: not compared.
      return nullsOnly
  }
}

/** Whether any text filter has a non-ASCII value: only then is the table's character set looked up. */
export function needsCharsets(request: ScanRequest): boolean {
  return request.filters.some((filter) => {
    const values: FilterValue[] = filter.op === 'in' ? filter.values : 'value' in filter ? [filter.value] : []
    return values.some((value) => typeof value === 'string' && NON_ASCII.test(value))
  })
}

export function mysqlScanSql(request: ScanRequest, context: MysqlLiteralContext): string {
  if (request.columns.length === 0) throw new TypeError('a scan needs at least one column')
  const select = request.columns.map(mysqlSelectExpression).join(', ')
  const from = `${backticked(request.schema)}.${backticked(request.table)}`
  // MySQL has no NULLS FIRST/LAST: NULLs sort first ascending, so they are placed by a key of their own.
  const tail = scanTail(
    request,
    (column) => mysqlFilterRule(column, context),
    (lhs, order) =>
      `(${lhs} IS NULL) ${order.nullsFirst ? 'DESC' : 'ASC'}, ${lhs} ${order.descending ? 'DESC' : 'ASC'}`,
  )
  return `SELECT ${select} FROM ${from}${tail}`
}

/** A DATE/DATETIME/TIMESTAMP with a zero part ('0000-00-00', '2024-00-15'): no calendar has it, DuckDB neither. */
function zeroDate(text: string): boolean {
  return (
    (text.charCodeAt(5) === 48 && text.charCodeAt(6) === 48) || (text.charCodeAt(8) === 48 && text.charCodeAt(9) === 48)
  )
}

const asText = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString('utf8') : String(value))

/**
 * How a value, as mysql2 hands it over with the session's options (dates and big numbers as
 * strings, binary as Buffers), becomes what the row sink takes for the column's type; undefined
 * when it goes as it is.
 */
export function mysqlValue(column: SourceColumn): ((value: unknown) => unknown) | undefined {
  switch (column.type) {
    case 'DATE':
    case 'TIMESTAMP':
      // Zero dates read as NULL, as MySQL's own connectors do (zeroDateTimeBehavior=convertToNull).
      return (value) => {
        const text = asText(value)
        return zeroDate(text) ? null : text
      }
    case 'TIMESTAMPTZ':
    case 'TIMESTAMP WITH TIME ZONE':
      // The session's time zone is UTC.
      return (value) => {
        const text = asText(value)
        return zeroDate(text) ? null : `${text}+00`
      }
    default:
      // The rest goes as it came: numbers, text (TIME as '-838:59:59', which DuckDB reads as a signed
      // duration), and bytes, which the sink reads as UTF-8 text unless the column is a blob.
      return undefined
  }
}

/**
 * Streams the query's rows into the sink, reading the next rows only once the sink has taken a
 * chunk (mysql2 pauses the socket when the stream's buffer is full). Stopping (abort or a failed
 * add) kills the query with `kill` and drops the rest meanwhile: a server blocked writing to a full
 * socket does not notice the kill. Returns the row count.
 */
export function streamToSink(
  stream: Readable,
  columns: readonly SourceColumn[],
  sink: RowSink,
  signal: AbortSignal,
  kill: () => Promise<void>,
  cut: () => void,
): Promise<number> {
  const converts = columns.map(mysqlValue)
  const converted = converts.flatMap((convert, i) => (convert ? [i] : []))
  let rows = 0
  return pumpToSink({
    stream,
    signal,
    cancel: kill,
    cut,
    take: (row: unknown[]) => {
      for (const i of converted) {
        const value = row[i]
        if (value !== null) row[i] = converts[i]!(value)
      }
      rows++
      try {
        return sink.add(row)?.catch((error: unknown) => {
          throw markSinkFailure(error)
        })
      } catch (error) {
        return Promise.reject(toError(markSinkFailure(error)))
      }
    },
    complete: () => Promise.resolve(rows),
  })
}
