import type pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'

import type { CsvSink, FilterValue, QueryRequest, ScanRequest, SourceColumn } from '../connector.js'
import { markSinkFailure } from '../scan-errors.js'
import {
  ALL_OPS,
  type ColumnFilterRule,
  doubleQuoted,
  scanTail,
  NULL_OPS,
  numericLiteral,
  storableText,
  temporalText,
  uuidText,
} from '../filter-sql.js'
import { pumpToSink } from '../stoppable-pump.js'

/**
 * Settings for the scan's transaction only (SET LOCAL), so that what COPY prints is what DuckDB
 * parses: ISO dates, timestamptz in UTC with its offset, floats that read back bit for bit, and no
 * 30 s limit (the session's, meant for catalog queries): the engine stops a scan with its signal.
 */
const SCAN_SETUP = `BEGIN TRANSACTION READ ONLY;
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL TimeZone = 'UTC';
SET LOCAL extra_float_digits = 3;
SET LOCAL client_encoding = 'UTF8';
SET LOCAL statement_timeout = 0`

/** Types that compare as plain strings: citext, char(n) and domains compare otherwise, so they are not filtered. */
export const PLAIN_TEXT = /^(text|character varying(\(\d+\))?|name)$/

/**
 * A string literal that means the same whatever `standard_conforming_strings` is: E'' whenever a
 * backslash is involved (then escapes are always on), a plain literal otherwise.
 */
export function postgresqlString(text: string): string {
  const quoted = text.replaceAll("'", "''")
  return text.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`
}

/** BC dates: PostgreSQL prints `0044-03-15 BC`, which DuckDB reads as AD; ISO's year -0043 it reads right. */
function beforeChrist(q: string, rest: string): string {
  return (
    `CASE WHEN ${q} < '0001-01-01' AND isfinite(${q}) ` +
    `THEN to_char(extract(year FROM ${q})::int + 1, 'FM0000') || to_char(${q}, '${rest}') ELSE ${q}::text END`
  )
}

/** What the scan selects for a column, so that DuckDB parses PostgreSQL's text as the column's type. */
export function postgresqlSelectExpression(column: SourceColumn): string {
  const q = doubleQuoted(column.name)
  switch (column.type) {
    case 'BOOLEAN':
      // Its cast to text says true/false, where its output (and so COPY) says t/f.
      return `${q}::text`
    case 'DATE':
      return beforeChrist(q, '-MM-DD')
    case 'TIMESTAMP':
      return beforeChrist(q, '-MM-DD HH24:MI:SS.US')
    case 'TIMESTAMPTZ':
      return beforeChrist(q, '-MM-DD HH24:MI:SS.USOF')
    case 'INTERVAL':
      // No IntervalStyle prints what DuckDB reads for every value ('-1 days +02:00:00' fails), and both
      // hold months, days and microseconds apart, so those are spelled out.
      return (
        `(extract(year FROM ${q}) * 12 + extract(month FROM ${q}))::int8 || ' months ' || ` +
        `extract(day FROM ${q})::int8 || ' days ' || (extract(hour FROM ${q}) * 3600000000 + ` +
        `extract(minute FROM ${q}) * 60000000 + extract(microseconds FROM ${q}))::int8 || ' microseconds'`
      )
    case 'BLOB':
      // encode() breaks base64 into lines of 76, which DuckDB's from_base64 rejects.
      return `translate(encode(${q}, 'base64'), E'\\n', '')`
    case 'DOUBLE':
      // Also unconstrained or over-wide numeric, which the catalog reads as DOUBLE: its exact decimal text
      // rounds to the same double in DuckDB's parser as in a cast to float8, and costs the server less.
      return q
    default:
      if (column.type.startsWith('DECIMAL(')) {
        // money prints as '$1,234.56' but casts to a plain numeric; numeric's NaN has no DECIMAL form.
        return `nullif(${q}::numeric, 'NaN')`
      }
      // Integers, float4, time, timetz, uuid, json and everything read as VARCHAR print as DuckDB reads them.
      return q
  }
}

const castLiteral = (text: string | undefined, type: string) =>
  text === undefined ? undefined : `${postgresqlString(text)}::${type}`

/** How a filter on the column is written so that PostgreSQL returns at least the rows DuckDB would keep. */
export function postgresqlFilterRule(column: SourceColumn): ColumnFilterRule {
  const q = doubleQuoted(column.name)
  const nullsOnly: ColumnFilterRule = { lhs: q, ops: NULL_OPS, literal: () => undefined }
  const rule = (lhs: string, literal: (value: FilterValue) => string | undefined): ColumnFilterRule => ({
    lhs,
    nullLhs: q,
    ops: ALL_OPS,
    literal,
  })
  switch (column.type) {
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
      return rule(q, (value) => numericLiteral(value, { integer: true }))
    case 'DOUBLE':
      // Compared as the double DuckDB sees, also for a numeric read as DOUBLE; a bigint would be rounded.
      return rule(`${q}::float8`, (value) =>
        typeof value === 'bigint' ? undefined : castLiteral(numericLiteral(value), 'float8'),
      )
    case 'BOOLEAN':
      return rule(q, (value) => (typeof value === 'boolean' ? String(value) : undefined))
    case 'DATE':
      return rule(q, (value) => castLiteral(temporalText(value, 'DATE'), 'date'))
    case 'TIMESTAMP':
      return rule(q, (value) => castLiteral(temporalText(value, 'TIMESTAMP'), 'timestamp'))
    case 'TIMESTAMPTZ':
      return rule(q, (value) => castLiteral(temporalText(value, 'TIMESTAMPTZ'), 'timestamptz'))
    case 'TIME':
      return rule(q, (value) => castLiteral(temporalText(value, 'TIME'), 'time'))
    case 'UUID':
      // uuid orders bytewise, as DuckDB's UUID does.
      return rule(q, (value) => castLiteral(uuidText(value), 'uuid'))
    case 'VARCHAR': {
      if (!PLAIN_TEXT.test(column.source_type)) return nullsOnly
      // Byte order, as DuckDB compares; it also makes = exact under a nondeterministic collation.
      return rule(`${q} COLLATE "C"`, (value) => {
        const text = storableText(value)
        return text === undefined ? undefined : postgresqlString(text)
      })
    }
    default:
      if (column.type.startsWith('DECIMAL(')) {
        // NaN reads as NULL, so IS NULL must test what is read.
        return {
          lhs: `${q}::numeric`,
          nullLhs: postgresqlSelectExpression(column),
          unsorted: true,
          ops: ALL_OPS,
          literal: (value) => numericLiteral(value, { exactDecimal: true }),
        }
      }
      // float4 (DuckDB may compare a constant as FLOAT or DOUBLE), json, bytea, interval, timetz: not compared.
      return nullsOnly
  }
}

/** The COPY statement for a request: projection, the filters PostgreSQL can apply exactly, the limit. */
export function postgresqlScanSql(request: ScanRequest): string {
  if (request.columns.length === 0) throw new TypeError('a scan needs at least one column')
  const select = request.columns.map(postgresqlSelectExpression).join(', ')
  const from = `${doubleQuoted(request.schema)}.${doubleQuoted(request.table)}`
  return `COPY (SELECT ${select} FROM ${from}${scanTail(request, postgresqlFilterRule)}) TO STDOUT WITH (FORMAT csv)`
}

/** The COPY statement for a pushed-down query: its columns, in order, printed as DuckDB parses their types. */
export function postgresqlQuerySql(request: QueryRequest): string {
  const select = request.columns.map(postgresqlSelectExpression).join(', ')
  return `COPY (SELECT ${select} FROM (${request.sql}) AS pushed) TO STDOUT WITH (FORMAT csv)`
}

/**
 * Runs the COPY in a read-only transaction on the client and streams its output into the sink, one
 * chunk at a time: the next is read only once the sink has taken the last, so a slow reader holds the
 * server back through TCP. Stopping (abort, or a failed write) cancels the server's query with
 * `cancel`, and the rest of the output is read and dropped meanwhile: a server blocked writing to a
 * full socket does not act on a cancel. Returns the row count.
 */
export async function copyToSink(
  client: pg.Client,
  sql: string,
  sink: CsvSink,
  signal: AbortSignal,
  cancel: () => Promise<void>,
): Promise<number> {
  try {
    await client.query(SCAN_SETUP)
    signal.throwIfAborted()
    const stream = client.query(copyTo(sql))
    await pumpToSink({
      stream,
      signal,
      cancel,
      cut: () => void client.end().catch(() => undefined),
      take: (chunk: Buffer) =>
        sink.write(chunk).catch((error: unknown) => {
          throw markSinkFailure(error)
        }),
      complete: async () => undefined,
    })
    await client.query('COMMIT')
    return stream.rowCount
  } catch (error) {
    await rollback(client)
    throw error
  }
}

async function rollback(client: pg.Client): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await client.query('ROLLBACK')
      return
    } catch (error) {
      // A cancel that arrived just after the COPY ended can hit the ROLLBACK instead; the next one runs.
      if ((error as { code?: string }).code !== '57014') return
    }
  }
}
