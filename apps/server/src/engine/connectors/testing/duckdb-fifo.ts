import { execFile } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'

import type { CsvSink, FilterValue, PushedFilter, SourceColumn } from '../connector.js'
import { doubleQuoted, singleQuoted } from '../filter-sql.js'

/**
 * Test support: reads a scan the way the engine does, through a FIFO into DuckDB's `read_csv`.
 * `new_line` and `max_line_size` are not in the engine brief but are needed (see the csv-writer
 * tests): without `new_line`, a CR inside a quoted field of the first row breaks DuckDB's parser,
 * and the default 2 MB line limit rejects a large text or blob.
 */
export const ENGINE_CSV_OPTIONS =
  `header=false, auto_detect=false, delim=',', quote='"', escape='"', allow_quoted_nulls=false, ` +
  `new_line='\\n', max_line_size=1073741824`

/** The `columns={…}` argument: blobs travel as base64 text and are decoded after reading. */
export function csvColumnsArgument(columns: readonly SourceColumn[]): string {
  const entries = columns.map(
    (column) => `${singleQuoted(column.name)}: ${singleQuoted(column.type === 'BLOB' ? 'VARCHAR' : column.type)}`,
  )
  return `{${entries.join(', ')}}`
}

/** `SELECT` list that turns the read columns into their declared types. */
function decodedColumns(columns: readonly SourceColumn[]): string {
  return columns
    .map((column) =>
      column.type === 'BLOB'
        ? `from_base64(${doubleQuoted(column.name)}) AS ${doubleQuoted(column.name)}`
        : doubleQuoted(column.name),
    )
    .join(', ')
}

export interface Loaded<R> {
  /** What the producer (the scan) returned. */
  result: R
  /** A DuckDB connection holding the rows in table `scan`, typed as the columns say. */
  duckdb: DuckDBConnection
  /** Rows of a query over `scan`, as JS values (bigints, strings, …). */
  rows(sql: string): Promise<Record<string, unknown>[]>
  /** Every row of `scan` in scan order, each value cast to VARCHAR (blobs as hex), for exact comparisons. */
  text(): Promise<(string | null)[][]>
  close(): void
}

export interface FifoSinkOptions {
  /** Options for `read_csv`; the engine's by default. */
  csvOptions?: string
}

/**
 * Runs `produce` with a sink that writes into a FIFO which DuckDB is reading into table `scan`,
 * then returns the loaded table. The sink resolves a write once the FIFO has taken it, so a slow
 * reader holds the producer back as it would in the engine.
 */
export async function loadThroughFifo<R>(
  columns: readonly SourceColumn[],
  produce: (sink: CsvSink) => Promise<R>,
  options: FifoSinkOptions = {},
): Promise<Loaded<R>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'scan-fifo-'))
  const fifo = path.join(dir, 'rows.csv')
  const instance = await DuckDBInstance.create(':memory:')
  const duckdb = await instance.connect()
  let loaded = false
  try {
    await promisify(execFile)('mkfifo', [fifo])
    const load = duckdb.run(
      `CREATE TABLE scan AS SELECT ${decodedColumns(columns)} FROM read_csv(${singleQuoted(fifo)}, ` +
        `${options.csvOptions ?? ENGINE_CSV_OPTIONS}, columns=${csvColumnsArgument(columns)})`,
    )
    // Opening a FIFO for writing waits for its reader; if DuckDB fails before opening it, a reader of
    // our own unblocks the open so the failure can be reported.
    const stream = createWriteStream(fifo, { highWaterMark: 1 << 16 })
    const opened = once(stream, 'ready')
    // A failed write (EPIPE once DuckDB gives up) fails the sink's writes; unhandled, the event would crash.
    stream.on('error', () => undefined)
    const first = await Promise.race([
      opened.then(() => 'opened' as const),
      load.then(() => 'finished' as const),
    ]).catch(async (error: unknown) => {
      const reader = await open(fifo, 'r')
      await opened
      stream.destroy()
      await reader.close()
      throw error
    })
    if (first === 'finished') throw new Error('DuckDB finished before the FIFO was opened')
    let produced: { ok: true; value: R } | { ok: false; error: unknown }
    try {
      produced = { ok: true, value: await produce(fifoSink(stream)) }
    } catch (error) {
      produced = { ok: false, error }
    }
    await new Promise<void>((resolve) => {
      if (stream.destroyed) resolve()
      else stream.end(resolve)
    })
    // DuckDB's own error explains a failed write (EPIPE) better than the write does.
    await load.catch((error: unknown) => {
      throw produced.ok ? error : new Error(String(error), { cause: produced.error })
    })
    if (!produced.ok) throw produced.error
    const result = produced.value
    loaded = true
    return {
      result,
      duckdb,
      rows: async (sql) => (await duckdb.runAndReadAll(sql)).getRowObjectsJS(),
      text: async () => {
        const list = columns
          .map((c) => (c.type === 'BLOB' ? `hex(${doubleQuoted(c.name)})` : `${doubleQuoted(c.name)}::VARCHAR`))
          .join(', ')
        const reader = await duckdb.runAndReadAll(`SELECT ${list || '1'} FROM scan`)
        return reader.getRowsJS() as (string | null)[][]
      },
      close: () => {
        duckdb.closeSync()
        instance.closeSync()
      },
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
    if (!loaded) {
      duckdb.closeSync()
      instance.closeSync()
    }
  }
}

/**
 * Accepts a chunk at once while the stream's buffer has room and otherwise on 'drain', as a stream
 * pipe does: waiting for each chunk's own write to finish would leave the FIFO idle between chunks
 * (a third slower, measured). A write error fails that write or the next one.
 */
function fifoSink(stream: WriteStream): CsvSink {
  let failure: Error | undefined
  stream.on('error', (error) => (failure ??= error))
  return {
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure)
        if (stream.write(chunk)) return resolve()
        const onDrain = () => {
          stream.off('error', onError)
          resolve()
        }
        const onError = (error: Error) => {
          stream.off('drain', onDrain)
          reject(error)
        }
        stream.once('drain', onDrain)
        stream.once('error', onError)
      }),
  }
}

/** A filter as DuckDB applies it again over the scanned rows (table `scan`), for checking what came through. */
export function duckdbCondition(filter: PushedFilter): string {
  const literal = (value: FilterValue) => (typeof value === 'string' ? singleQuoted(value) : String(value))
  const column = doubleQuoted(filter.column)
  switch (filter.op) {
    case 'is_null':
      return `${column} IS NULL`
    case 'is_not_null':
      return `${column} IS NOT NULL`
    case 'in':
      return `${column} IN (${filter.values.map(literal).join(', ')})`
    default:
      return `${column} ${filter.op} ${literal(filter.value)}`
  }
}
