import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'

import type { FilterValue, LoadSink, PushedFilter, ScanResult, SourceColumn } from '../connector.js'
import { doubleQuoted, singleQuoted } from '../filter-sql.js'
import { FifoMaker } from '../../fifo-maker.js'
import { loadTable } from '../../table-load.js'

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

/**
 * Test support: runs `produce` (a scan) with the engine's own sink, loading into a fresh DuckDB
 * table `scan` with these columns, and returns the loaded table.
 */
export async function loadScan<R extends ScanResult>(
  columns: readonly SourceColumn[],
  produce: (sink: LoadSink) => Promise<R>,
): Promise<Loaded<R>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'scan-load-'))
  const fifos = new FifoMaker()
  const instance = await DuckDBInstance.create(':memory:')
  const duckdb = await instance.connect()
  let loaded = false
  try {
    const list = columns.map((column) => `${doubleQuoted(column.name)} ${column.type}`).join(', ')
    await duckdb.run(`CREATE TABLE scan (${list})`)
    let result: R | undefined
    const load = { target: 'scan', names: columns.map((column) => column.name), columns: [...columns] }
    const fifo = async () => {
      const made = path.join(dir, 'rows.csv')
      await fifos.make(made)
      return made
    }
    await loadTable(duckdb, load, fifo, new AbortController().signal, async (sink) => (result = await produce(sink)))
    loaded = true
    return {
      result: result!,
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
    fifos.close()
    await rm(dir, { recursive: true, force: true })
    if (!loaded) {
      duckdb.closeSync()
      instance.closeSync()
    }
  }
}

/**
 * A sink that keeps nothing, for tests of how a scan behaves under its sink: `take` is called per
 * CSV chunk written, or per `rowsPerChunk` rows added, and its promise holds the scan back.
 */
export function discardingSink(take: (chunk?: string | Buffer) => Promise<void>, rowsPerChunk = 100): LoadSink {
  let rows = 0
  return {
    csv: () => Promise.resolve({ write: take }),
    rows: () => Promise.resolve({ add: () => (++rows % rowsPerChunk === 0 ? take() : undefined) }),
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
