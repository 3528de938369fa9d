import Database from 'better-sqlite3'

import {
  type LoadSink,
  type QueryRequest,
  type ScanRequest,
  type ScanResult,
  type SourceColumn,
  SourceError,
} from '../connector.js'
import { describeValue } from '../scan-errors.js'
import {
  ALL_OPS,
  type ColumnFilterRule,
  decimalScale,
  doubleQuoted,
  scanTail,
  NULL_OPS,
  numericLiteral,
  singleQuoted,
  storableText,
} from '../filter-sql.js'

/** The affinity a declared type gives a column (sqlite.org/datatype3.html §3.1). */
export function sqliteAffinity(declared: string): 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC' {
  const type = declared.toUpperCase()
  if (type.includes('INT')) return 'INTEGER'
  if (/CHAR|CLOB|TEXT/.test(type)) return 'TEXT'
  if (type.includes('BLOB') || type === '') return 'BLOB'
  if (/REAL|FLOA|DOUB/.test(type)) return 'REAL'
  return 'NUMERIC'
}

export interface SqliteTableFacts {
  /** A STRICT table holds only values of its declared types. */
  strict: boolean
  /** Text compares by its bytes in the database's encoding; only UTF-8 orders as DuckDB does. */
  utf8: boolean
}

/** A number as a literal SQLite reads as REAL: a whole number without a point would be an exact INTEGER. */
function realLiteral(value: number): string {
  // String(-0) is '0': keep the sign.
  const text = Object.is(value, -0) ? '-0' : String(value)
  return /[.eE]/.test(text) ? text : `${text}.0`
}

const LOWER_OPS = new Set(['=', 'in', '<', '<='])

/**
 * How a filter on the column is written so that SQLite returns at least the rows DuckDB keeps. Any
 * column may hold any value (sqlite.org/datatype3.html), so only these are compared:
 * - INTEGER columns, with integers;
 * - REAL columns, with doubles written so that SQLite reads them as REAL;
 * - DECIMAL(p,s) columns over a range one unit of the scale wider, since DuckDB rounds what it reads
 *   to the scale and SQLite compares the stored double;
 * - text columns in byte order (COLLATE BINARY overrides a NOCASE column). Outside STRICT tables a
 *   text column may hold a blob, which SQLite orders after all text but DuckDB reads as its text, so
 *   the comparisons that would drop a blob keep every blob.
 */
export function sqliteFilterRule(column: SourceColumn, facts: SqliteTableFacts): ColumnFilterRule {
  const q = doubleQuoted(column.name)
  const nullsOnly: ColumnFilterRule = { lhs: q, ops: NULL_OPS, literal: () => undefined }
  const affinity = sqliteAffinity(column.source_type)
  if (column.type === 'BIGINT' && affinity === 'INTEGER') {
    return { lhs: q, ops: ALL_OPS, literal: (value) => numericLiteral(value, { integer: true }) }
  }
  if (column.type === 'DOUBLE' && affinity === 'REAL') {
    return {
      lhs: q,
      ops: ALL_OPS,
      literal: (value) => (typeof value === 'number' && Number.isFinite(value) ? realLiteral(value) : undefined),
    }
  }
  const scale = decimalScale(column.type)
  if (scale !== undefined && affinity === 'NUMERIC') {
    const unit = scale === 0 ? '1' : `0.${'0'.repeat(scale - 1)}1`
    return {
      lhs: q,
      ops: ALL_OPS,
      literal: (value) => numericLiteral(value, { exactDecimal: true }),
      compare: (op, literal) => {
        switch (op) {
          case '=':
            return `${q} BETWEEN ${literal} - ${unit} AND ${literal} + ${unit}`
          case '<':
          case '<=':
            return `${q} <= ${literal} + ${unit}`
          case '>':
          case '>=':
            return `${q} >= ${literal} - ${unit}`
          default:
            return undefined
        }
      },
    }
  }
  if (column.type === 'VARCHAR' && affinity === 'TEXT') {
    const lhs = `${q} COLLATE BINARY`
    return {
      lhs,
      nullLhs: q,
      // In UTF-16 the byte order of text differs from UTF-8's; equality does not.
      ops: facts.utf8 ? ALL_OPS : ['=', '<>', 'in', 'is_null', 'is_not_null'],
      literal: (value) => {
        const text = storableText(value)
        return text === undefined ? undefined : singleQuoted(text)
      },
      compare: (op, literal) => {
        const sql = op === 'in' ? `${lhs} IN ${literal}` : `${lhs} ${op} ${literal}`
        return facts.strict || !LOWER_OPS.has(op) ? sql : `(${sql} OR typeof(${q}) = 'blob')`
      },
    }
  }
  // Booleans, dates and timestamps are stored in too many ways to compare; blobs and untyped columns too.
  return nullsOnly
}

export function sqliteScanSql(request: ScanRequest, facts: SqliteTableFacts): string {
  if (request.columns.length === 0) throw new TypeError('a scan needs at least one column')
  const select = request.columns.map((column) => doubleQuoted(column.name)).join(', ')
  const from = `${doubleQuoted(request.schema)}.${doubleQuoted(request.table)}`
  return `SELECT ${select} FROM ${from}${scanTail(request, (column) => sqliteFilterRule(column, facts))}`
}

const NUMBER_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/
const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/

type Convert = (value: unknown) => unknown

/**
 * What the row sink receives for each stored value (integers as bigint, reals as number, text,
 * blobs as Buffer) in a column of this DuckDB type; undefined when any stored value goes as it is.
 * A value that cannot be one (text in an INTEGER column, say) fails the scan with a message naming
 * it, as DuckDB's own SQLite reader does, rather than turning into NULL.
 */
/** `source` says where the column is, as in `of table "Album"`. */
export function sqliteValue(column: SourceColumn, source: string): Convert | undefined {
  const mismatch = (value: unknown) =>
    new SourceError(`column "${column.name}" ${source} holds ${describeValue(value)}, which is not a ${column.type}`)
  switch (column.type) {
    case 'BIGINT':
      return (value) => {
        if (typeof value === 'bigint') return value
        if (typeof value === 'number' && Number.isInteger(value)) return value
        if (typeof value === 'string' && INTEGER_TEXT.test(value)) return value
        throw mismatch(value)
      }
    case 'BOOLEAN':
      return (value) => {
        if (typeof value === 'bigint' || typeof value === 'number') return value !== 0 && value !== 0n
        // 'true', 't', 'yes', '1', … are DuckDB's to read.
        if (typeof value === 'string') return value
        throw mismatch(value)
      }
    case 'VARCHAR':
    case 'BLOB':
      // Text as UTF-8 bytes in a blob column, blobs as their UTF-8 text in a text column: the sink converts.
      return undefined
    case 'DATE':
    case 'TIMESTAMP':
      // Stored as text such as '2009-01-01 00:00:00', which DuckDB reads as either. Numbers could be
      // Julian days or Unix seconds, and are not guessed at.
      return (value) => {
        if (typeof value === 'string') return value
        throw mismatch(value)
      }
    default:
      if (column.type === 'DOUBLE' || column.type.startsWith('DECIMAL(')) {
        return (value) => {
          if (typeof value === 'number' || typeof value === 'bigint') return value
          if (typeof value === 'string' && NUMBER_TEXT.test(value)) return value
          throw mismatch(value)
        }
      }
      return undefined
  }
}

/**
 * Reads the table in a connection of its own (an open statement keeps better-sqlite3's connection
 * busy, and the engine may scan two tables at once).
 */
export function sqliteScan(
  file: string,
  request: ScanRequest,
  sink: LoadSink,
  signal: AbortSignal,
): Promise<ScanResult> {
  const source = { name: `${request.schema}.${request.table}`, of: `of table "${request.table}"` }
  return readRows(file, (db) => sqliteScanSql(request, tableFacts(db, request)), request.columns, source, sink, signal)
}

/** A whole subquery the engine wrote in SQLite's dialect, its rows read like a scan's. */
export function sqliteQuery(
  file: string,
  request: QueryRequest,
  sink: LoadSink,
  signal: AbortSignal,
): Promise<ScanResult> {
  const source = { name: 'a pushed-down query', of: 'of a pushed-down query' }
  return readRows(file, () => request.sql, request.columns, source, sink, signal)
}

/**
 * The read is synchronous: each full chunk is handed to the sink and awaited before the next rows
 * are read, which lets the event loop in and is where an abort is noticed.
 */
async function readRows(
  file: string,
  sqlFor: (db: Database.Database) => string,
  columns: readonly SourceColumn[],
  source: { name: string; of: string },
  sink: LoadSink,
  signal: AbortSignal,
): Promise<ScanResult> {
  signal.throwIfAborted()
  const rows = await sink.rows()
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    db.pragma('query_only = true')
    const sql = sqlFor(db)
    let statement: Database.Statement
    try {
      statement = db.prepare(sql).raw(true).safeIntegers(true)
    } catch (error) {
      throw new SourceError(`cannot read ${source.name}: ${(error as Error).message}`)
    }
    const converts = columns.map((column) => sqliteValue(column, source.of))
    const converted = converts.flatMap((convert, i) => (convert ? [i] : []))
    let count = 0
    for (const row of statement.iterate() as IterableIterator<unknown[]>) {
      for (const i of converted) {
        const value = row[i]
        if (value !== null) row[i] = converts[i]!(value)
      }
      count++
      const full = rows.add(row)
      if (full) {
        await full
        signal.throwIfAborted()
      }
    }
    signal.throwIfAborted()
    return { remoteSql: sql, rows: count }
  } finally {
    db.close()
  }
}

function tableFacts(db: Database.Database, request: ScanRequest): SqliteTableFacts {
  const encoding = db.pragma('encoding', { simple: true }) as string
  const listed = db
    .prepare('select strict from pragma_table_list where schema = ? and name = ?')
    .get(request.schema, request.table) as { strict: number } | undefined
  return { strict: listed?.strict === 1, utf8: encoding.toUpperCase() === 'UTF-8' }
}
