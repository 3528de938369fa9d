import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'

import type { DuckDBConnection } from '@duckdb/node-api'
import type { ImportFormat, RejectedRow, UploadImportOptions } from '@tributary/contract'

import { quoteIdentifier, quoteLiteral } from '../../engine/duckdb-sql.js'
import type { StoredColumn } from '../../metadata/schema.js'
import { importErrors } from './imports.errors.js'

/** How to read one file: everything decided before the job runs, stored in its payload. */
export interface FileSpec {
  path: string
  format: ImportFormat
  gzip: boolean
  /** CSV/TSV only, as DuckDB's sniffer or the caller settled them. */
  csv?: {
    delimiter: string
    quote: string
    escape: string
    header: boolean
    newLine: string
    nullString: string | null
  }
  /** The file's columns, in file order. */
  columns: string[]
}

/** A file column and the table column it fills. */
export interface ColumnPair {
  file: string
  column: StoredColumn
}

const HEAD_BYTES = 64 * 1024
const PARQUET_MAGIC = Buffer.from('PAR1')

/** The format the caller named, else the file name's extension, else what the content looks like. */
export function detectFormat(declared: ImportFormat | undefined, fileName: string | null, head: Buffer): ImportFormat {
  if (declared) return declared
  const name = (fileName ?? '').toLowerCase().replace(/\.gz$/, '')
  const byExtension: [RegExp, ImportFormat][] = [
    [/\.parquet$/, 'parquet'],
    [/\.tsv$|\.tab$/, 'tsv'],
    [/\.csv$/, 'csv'],
    [/\.(ndjson|jsonl)$/, 'ndjson'],
    [/\.json$/, 'json'],
  ]
  const found = byExtension.find(([pattern]) => pattern.test(name))
  if (found) return found[1]
  if (head.subarray(0, 4).equals(PARQUET_MAGIC)) return 'parquet'
  const first = firstCharacter(head)
  if (first === '[') return 'json'
  if (first === '{') return 'ndjson'
  return 'csv'
}

/**
 * The first bytes of the upload, decompressed when it is gzip (by its magic bytes, whatever its
 * name says), and whether it was.
 */
export async function readHead(path: string): Promise<{ head: Buffer; gzip: boolean; tail: Buffer; size: number }> {
  const handle = await open(path, 'r')
  let raw: Buffer
  let tail: Buffer
  let size: number
  try {
    size = (await handle.stat()).size
    raw = Buffer.alloc(Math.min(HEAD_BYTES, size))
    await handle.read(raw, 0, raw.length, 0)
    tail = Buffer.alloc(Math.min(4, size))
    await handle.read(tail, 0, tail.length, Math.max(0, size - 4))
  } finally {
    await handle.close()
  }
  const gzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b
  if (!gzip) return { head: raw, gzip, tail, size }
  return { head: await gunzipHead(path), gzip, tail, size }
}

async function gunzipHead(path: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  const stream = createReadStream(path).pipe(createGunzip())
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      length += chunk.length
      if (length >= HEAD_BYTES) break
    }
  } catch {
    throw importErrors.notWhatItSays('starts like gzip but does not decompress')
  } finally {
    stream.destroy()
  }
  return Buffer.concat(chunks).subarray(0, HEAD_BYTES)
}

/** Cheap checks that the bytes are what the format says, before DuckDB or a job sees them. */
export function checkContent(
  format: ImportFormat,
  upload: { head: Buffer; gzip: boolean; tail: Buffer; size: number },
) {
  const { head, gzip, tail } = upload
  if (upload.size === 0 || head.length === 0) throw importErrors.notWhatItSays('is empty')
  const parquet = head.subarray(0, 4).equals(PARQUET_MAGIC)
  if (format === 'parquet') {
    if (gzip) throw importErrors.notWhatItSays('is gzip-compressed; upload Parquet files as they are')
    if (!parquet || !tail.equals(PARQUET_MAGIC))
      throw importErrors.notWhatItSays('format is parquet but the file is not Parquet')
    return
  }
  if (parquet) throw importErrors.notWhatItSays(`format is ${format} but the file is Parquet`)
  if (head.includes(0)) throw importErrors.notWhatItSays(`format is ${format} but the file is binary, not text`)
  // A multi-byte character may be cut at the end of the sample.
  let text = head
  for (let cut = 0; cut < 4 && text.length > 0; cut++) {
    if (isUtf8(text)) break
    text = text.subarray(0, text.length - 1)
  }
  if (!isUtf8(text) || (text.length === 0 && head.length > 0)) {
    throw importErrors.notWhatItSays(`format is ${format} but the file is not UTF-8 text`)
  }
  const first = firstCharacter(head)
  if (format === 'json' && first !== '[')
    throw importErrors.notWhatItSays('format is json but the file is not a JSON array')
  if (format === 'ndjson' && first !== '{') {
    throw importErrors.notWhatItSays('format is ndjson but the file does not start with a JSON object')
  }
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

function firstCharacter(head: Buffer): string | undefined {
  return head
    .toString('utf8', 0, Math.min(head.length, 4096))
    .replace(/^\uFEFF/, '')
    .trimStart()[0]
}

/**
 * Reads the file's dialect (CSV) and column names with DuckDB, on a connection that may read files.
 * A file DuckDB cannot make sense of is the caller's mistake (422).
 */
export async function probeFile(
  connection: DuckDBConnection,
  path: string,
  format: ImportFormat,
  gzip: boolean,
  options: UploadImportOptions,
): Promise<FileSpec> {
  try {
    if (format === 'csv' || format === 'tsv') return await probeCsv(connection, path, format, gzip, options)
    const reader =
      format === 'parquet'
        ? `read_parquet(${quoteLiteral(path)})`
        : `read_json(${quoteLiteral(path)}, format = ${quoteLiteral(format === 'json' ? 'array' : 'newline_delimited')}` +
          `${gzip ? ", compression = 'gzip'" : ''})`
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${reader}`)
    const columns = described.getRowObjectsJS().map((row) => text(row.column_name))
    return { path, format, gzip, columns }
  } catch (error) {
    if (isDuckDBError(error)) throw importErrors.notWhatItSays(`cannot be read as ${format}: ${firstLine(error)}`)
    throw error
  }
}

async function probeCsv(
  connection: DuckDBConnection,
  path: string,
  format: 'csv' | 'tsv',
  gzip: boolean,
  options: UploadImportOptions,
): Promise<FileSpec> {
  const delimiter = options.delimiter ?? (format === 'tsv' ? '\t' : undefined)
  const given = [
    delimiter === undefined ? '' : `delim = ${quoteLiteral(delimiter)}`,
    options.quote === undefined ? '' : `quote = ${quoteLiteral(options.quote)}`,
    options.escape === undefined ? '' : `escape = ${quoteLiteral(options.escape)}`,
    options.header === 'auto' ? '' : `header = ${options.header ? 'true' : 'false'}`,
    gzip ? "compression = 'gzip'" : '',
  ]
    .filter(Boolean)
    .join(', ')
  const sniffed = await connection.runAndReadAll(
    `SELECT Delimiter, Quote, Escape, NewLineDelimiter, HasHeader, Columns FROM sniff_csv(${quoteLiteral(path)}${given ? `, ${given}` : ''})`,
  )
  const row = sniffed.getRowObjectsJS()[0]
  if (!row) throw importErrors.notWhatItSays(`cannot be read as ${format}`)
  const columns = (row.Columns as { name: string }[]).map((column) => String(column.name))
  const newLine = text(row.NewLineDelimiter)
  // A sample without quotes says "(empty)"; later rows may still quote fields, so keep the standard ones.
  const sniffedChar = (value: unknown) => (typeof value === 'string' && value.length === 1 ? value : undefined)
  const quote = options.quote ?? sniffedChar(row.Quote) ?? '"'
  const csv = {
    delimiter: text(row.Delimiter),
    quote,
    escape: options.escape ?? sniffedChar(row.Escape) ?? quote,
    header: options.header === 'auto' ? Boolean(row.HasHeader) : options.header,
    newLine: newLine === '\\r\\n' ? '\\r\\n' : newLine === '\\r' ? '\\r' : '\\n',
    nullString: options.null_string ?? null,
  }
  return { path, format, gzip, csv, columns }
}

/**
 * Pairs file columns with table columns by name, ignoring case. Files without a header pair by
 * position. Extra file columns are refused unless `ignoreExtra`; a NOT NULL table column the file
 * lacks is refused; nullable ones the file lacks become NULL.
 */
export function pairColumns(file: FileSpec, table: readonly StoredColumn[], ignoreExtra: boolean): ColumnPair[] {
  const pairs: ColumnPair[] = []
  const extra: string[] = []
  if (file.csv && !file.csv.header) {
    file.columns.forEach((name, index) => {
      const column = table[index]
      if (column) pairs.push({ file: name, column })
      else extra.push(`#${index + 1}`)
    })
  } else {
    for (const name of file.columns) {
      const column =
        table.find((candidate) => candidate.name === name) ??
        table.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase())
      if (!column) {
        extra.push(name)
        continue
      }
      if (pairs.some((pair) => pair.column === column)) {
        throw importErrors.notWhatItSays(`two columns of the file match table column '${column.name}'`)
      }
      pairs.push({ file: name, column })
    }
  }
  if (extra.length > 0 && !ignoreExtra) throw importErrors.extraColumns(extra)
  const missing = table.filter((column) => !column.nullable && !pairs.some((pair) => pair.column === column))
  if (missing.length > 0) throw importErrors.missingRequired(missing.map((column) => column.name))
  if (pairs.length === 0) throw importErrors.notWhatItSays('none of its columns match a column of the table')
  return pairs
}

// The CSV reader turns a bad value of these types into NULL instead of a reject: read them as text
// and cast in SQL, where a bad value is an error.
const CSV_CAST_LATER = /^(TIMESTAMP WITH TIME ZONE|TIME WITH TIME ZONE)$|\[\]$|^(STRUCT|MAP|UNION)/

/**
 * The SELECT that reads the file as the table's columns, and whether the reader records rejected
 * rows (CSV) in `import_rejects`.
 */
export function readerSql(file: FileSpec, pairs: readonly ColumnPair[]): string {
  const path = quoteLiteral(file.path)
  if (file.csv) {
    const csv = file.csv
    const types = file.columns.map((name) => {
      const pair = pairs.find((candidate) => candidate.file === name)
      const type = pair && !CSV_CAST_LATER.test(pair.column.type) ? pair.column.type : 'VARCHAR'
      return `${quoteLiteral(name)}: ${quoteLiteral(type)}`
    })
    const select = pairs.map((pair) =>
      CSV_CAST_LATER.test(pair.column.type)
        ? `CAST(${quoteIdentifier(pair.file)} AS ${pair.column.type})`
        : quoteIdentifier(pair.file),
    )
    return (
      `SELECT ${select.join(', ')} FROM read_csv(${path}, ${csvOptions(csv, file.gzip)}, ` +
      `columns = {${types.join(', ')}}, store_rejects = true, rejects_table = 'import_rejects', ` +
      `rejects_scan = 'import_scans', rejects_limit = 1000)`
    )
  }
  if (file.format === 'parquet') {
    const select = pairs.map((pair) => `CAST(${quoteIdentifier(pair.file)} AS ${pair.column.type})`)
    return `SELECT ${select.join(', ')} FROM read_parquet(${path})`
  }
  return `SELECT ${pairs.map((pair) => `CAST(${quoteIdentifier(pair.file)} AS ${pair.column.type})`).join(', ')} FROM ${jsonReader(file, pairs)}`
}

function csvOptions(csv: NonNullable<FileSpec['csv']>, gzip: boolean): string {
  return [
    `delim = ${quoteLiteral(csv.delimiter)}`,
    `quote = ${quoteLiteral(csv.quote)}`,
    `escape = ${quoteLiteral(csv.escape)}`,
    `header = ${csv.header}`,
    `new_line = ${quoteLiteral(csv.newLine)}`,
    gzip ? "compression = 'gzip'" : '',
    // `""` is an empty string; only an empty unquoted field (or `null_string`) is NULL.
    'allow_quoted_nulls = false',
    csv.nullString === null ? '' : `nullstr = ${quoteLiteral(csv.nullString)}`,
    'auto_detect = false',
    `max_line_size = ${16 * 1024 * 1024}`,
    `buffer_size = ${32 * 1024 * 1024}`,
  ]
    .filter(Boolean)
    .join(', ')
}

/** JSON values as text (JSON columns keep their JSON), cast in SQL so a bad value is an error. */
function jsonReader(file: FileSpec, pairs: readonly ColumnPair[]): string {
  const types = pairs.map(
    (pair) => `${quoteLiteral(pair.file)}: ${quoteLiteral(pair.column.type === 'JSON' ? 'JSON' : 'VARCHAR')}`,
  )
  return (
    `read_json(${quoteLiteral(file.path)}, format = ${quoteLiteral(file.format === 'json' ? 'array' : 'newline_delimited')}, ` +
    `${file.gzip ? "compression = 'gzip', " : ''}columns = {${types.join(', ')}}, ` +
    `maximum_object_size = ${64 * 1024 * 1024})`
  )
}

/** Rows the CSV reader refused, first ones first. */
export async function csvRejects(connection: DuckDBConnection, limit: number): Promise<RejectedRow[]> {
  try {
    const result = await connection.runAndReadAll(
      `SELECT line, column_name, csv_line, error_type, error_message FROM import_rejects ORDER BY line LIMIT ${limit}`,
    )
    return result.getRowObjectsJS().map((row) => ({
      line: Number(row.line),
      row: null,
      column: row.column_name === null ? null : text(row.column_name),
      value: row.csv_line === null ? null : text(row.csv_line).slice(0, 500),
      reason: text(row.error_message).split('\n')[0]!.slice(0, 500),
    }))
  } catch {
    return []
  }
}

/**
 * After the load failed on a value (a cast in SQL, a NULL in a NOT NULL column): finds the first
 * rows at fault by reading the file again as text, with line numbers for CSV and record numbers
 * otherwise. Runs only on failure, single-threaded so rows keep file order.
 */
export async function diagnose(
  connection: DuckDBConnection,
  file: FileSpec,
  pairs: readonly ColumnPair[],
  limit: number,
): Promise<RejectedRow[]> {
  await connection.run('SET threads = 1')
  await connection.run('SET preserve_insertion_order = true')
  let numbered: string
  if (file.csv) {
    const types = file.columns.map((name) => `${quoteLiteral(name)}: 'VARCHAR'`).join(', ')
    const all = file.columns.map((name) => `coalesce(${quoteIdentifier(name)}, '')`).join(", '', ")
    const reader = `read_csv(${quoteLiteral(file.path)}, ${csvOptions(file.csv, file.gzip)}, columns = {${types}}, ignore_errors = true)`
    // A quoted field may span lines: a row's line is its number plus the line breaks inside earlier rows.
    numbered =
      `(SELECT *, ${file.csv.header ? 1 : 0} + rn + coalesce(sum(breaks) OVER (ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS line_no ` +
      `FROM (SELECT *, length(concat(${all})) - length(replace(concat(${all}), chr(10), '')) AS breaks ` +
      `FROM (SELECT row_number() OVER () AS rn, * FROM ${reader})))`
  } else if (file.format === 'parquet') {
    numbered = `(SELECT file_row_number + 1 AS rn, NULL AS line_no, * FROM read_parquet(${quoteLiteral(file.path)}, file_row_number = true))`
  } else {
    numbered = `(SELECT row_number() OVER () AS rn, NULL AS line_no, * FROM ${jsonReader(file, pairs)})`
  }
  const checks = pairs.map((pair) => {
    const ref = quoteIdentifier(pair.file)
    const text = `CAST(${ref} AS VARCHAR)`
    const reason =
      `CASE WHEN ${ref} IS NULL THEN ${quoteLiteral(`column '${pair.column.name}' is NOT NULL but the value is missing`)} ` +
      `ELSE ${quoteLiteral(`cannot be read as ${pair.column.type}`)} END`
    const bad = pair.column.nullable
      ? `${ref} IS NOT NULL AND TRY_CAST(${ref} AS ${pair.column.type}) IS NULL`
      : `(${ref} IS NULL OR TRY_CAST(${ref} AS ${pair.column.type}) IS NULL)`
    return `SELECT rn, line_no, ${quoteLiteral(pair.column.name)} AS column_name, ${text} AS value, ${reason} AS reason FROM src WHERE ${bad}`
  })
  const result = await connection.runAndReadAll(
    `WITH src AS MATERIALIZED ${numbered} ${checks.join(' UNION ALL ')} ORDER BY rn LIMIT ${limit}`,
  )
  return result.getRowObjectsJS().map((row) => ({
    line: row.line_no === null ? null : Number(row.line_no),
    row: file.csv ? null : Number(row.rn),
    column: text(row.column_name),
    value: row.value === null ? null : text(row.value).slice(0, 500),
    reason: text(row.reason),
  }))
}

/** A value DuckDB returned, as text. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

export function isDuckDBError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    /^(Binder|Parser|Conversion|Invalid Input|Catalog|Out of Range|Not implemented|Constraint|IO|Invalid) Error/.test(
      error.message,
    )
  )
}

export function firstLine(error: Error): string {
  return error.message.split('\n')[0]!.slice(0, 500)
}
