import { once } from 'node:events'
import { closeSync, constants, openSync } from 'node:fs'
import { Socket } from 'node:net'

import { DuckDBBlobValue, type DuckDBAppender, type DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api'
import type { DuckDBVector } from '@duckdb/node-api'

import type { CsvSink, LoadSink, RowSink, ScanResult, SourceColumn } from './connectors/connector.js'
import { SourceError } from './connectors/connector.js'
import { abortReason, describeValue } from './connectors/scan-errors.js'
import { quoteIdentifier, quoteLiteral } from './duckdb-sql.js'

/** Where one scan lands: `columns` are what the source sends, in order, and `names` the target's columns they fill. */
export interface TableLoad {
  target: string
  names: string[]
  columns: SourceColumn[]
}

/** A row may be this long (big text, JSON, blobs); DuckDB's read buffer must hold at least one. */
const MAX_LINE_BYTES = 16 * 1024 * 1024
const READ_BUFFER_BYTES = 2 * MAX_LINE_BYTES

/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048

/**
 * Loads one scan into its DuckDB table by whichever way in the source takes (see `LoadSink`): CSV
 * through a FIFO that `read_csv` reads (`fifo` makes one), or rows appended as data chunks. Returns
 * the source's query and the rows that landed.
 */
export async function loadTable(
  connection: DuckDBConnection,
  load: TableLoad,
  fifo: () => Promise<string>,
  signal: AbortSignal,
  stream: (sink: LoadSink) => Promise<ScanResult>,
): Promise<{ remote_sql: string; rows: number }> {
  let chosen: CsvLoad | ChunkLoad | undefined
  const choose = <T extends CsvLoad | ChunkLoad>(made: T): T => {
    if (chosen) throw new TypeError('a scan takes one way into its table, once')
    chosen = made
    return made
  }
  const sink: LoadSink = {
    csv: async () => choose(await CsvLoad.open(connection, load, await fifo(), signal)).sink,
    rows: async () => choose(await ChunkLoad.open(connection, load, signal)),
  }
  let scanned: ScanResult
  try {
    scanned = await stream(sink)
  } catch (error) {
    await chosen?.abandon()
    throw error
  }
  if (!chosen) throw new TypeError('the scan sent nothing to its table')
  return { remote_sql: scanned.remoteSql, rows: await chosen.finish() }
}

/**
 * CSV in the engine's dialect (see `CsvSink`) through a FIFO: DuckDB parses it on its own threads
 * while the source is still sending, and nothing touches the disk.
 */
class CsvLoad {
  private constructor(
    private readonly insert: Promise<{ rowsChanged: number | bigint }>,
    private readonly pipe: Socket,
    private readonly closed: Promise<unknown>,
    private readonly signal: AbortSignal,
    private readonly stop: () => void,
  ) {}

  static async open(connection: DuckDBConnection, load: TableLoad, fifo: string, signal: AbortSignal) {
    const columnList = load.names.map(quoteIdentifier).join(', ')
    // Blobs travel as base64 text (see CsvSink) and are decoded on the way in.
    const csvColumns = load.columns
      .map(
        (column) => `${quoteLiteral(column.name)}: ${quoteLiteral(column.type === 'BLOB' ? 'VARCHAR' : column.type)}`,
      )
      .join(', ')
    const decoded = load.columns
      .map((column) =>
        column.type === 'BLOB' ? `from_base64(${quoteIdentifier(column.name)})` : quoteIdentifier(column.name),
      )
      .join(', ')
    const insert = connection.run(
      `INSERT INTO ${load.target} (${columnList}) SELECT ${decoded} FROM read_csv(${quoteLiteral(fifo)}, ` +
        `header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, ` +
        // Fixed line ending: a CR inside a quoted field of the first row would otherwise switch
        // DuckDB's detection to CR. Its default buffer is 16 times the line size: set both.
        `new_line = '\\n', max_line_size = ${MAX_LINE_BYTES}, buffer_size = ${READ_BUFFER_BYTES}, ` +
        `columns = {${csvColumns}})`,
    )
    let writer: number
    try {
      writer = await openWriter(fifo, insert, signal)
    } catch (error) {
      releaseReader(fifo)
      await insert.catch(() => undefined)
      throw error
    }
    // Written through a pipe socket on the event loop: file streams would queue behind DuckDB's
    // blocked reads in libuv's small thread pool and could never be written, or even closed.
    const pipe = new Socket({ fd: writer, readable: false })
    pipe.on('error', () => undefined)
    const closed = once(pipe, 'close')
    const stop = () => pipe.destroy()
    signal.addEventListener('abort', stop, { once: true })
    return new CsvLoad(insert, pipe, closed, signal, stop)
  }

  readonly sink: CsvSink = {
    write: async (chunk) => {
      if (this.pipe.destroyed) throw this.signal.reason ?? new Error('the load was stopped')
      if (!this.pipe.write(chunk)) await once(this.pipe, 'drain', { signal: this.signal })
    },
  }

  async finish(): Promise<number> {
    this.#end()
    await this.closed
    return Number((await this.insert).rowsChanged)
  }

  /** On failure an end all the same: DuckDB's read returns and the interrupt lands. */
  async abandon(): Promise<void> {
    this.#end()
    await this.insert.catch(() => undefined)
  }

  #end() {
    this.pipe.end()
    this.signal.removeEventListener('abort', this.stop)
  }
}

/**
 * Opens the FIFO's write end once DuckDB has opened its read end. Writing earlier and closing
 * before the reader arrives would lose the data: a FIFO with no one on either end keeps nothing.
 */
async function openWriter(fifo: string, reader: Promise<unknown>, signal: AbortSignal): Promise<number> {
  let readerDone = false
  void reader.then(
    () => (readerDone = true),
    () => (readerDone = true),
  )
  for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
    try {
      return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error
    }
    if (signal.aborted) throw signal.reason
    if (readerDone) {
      await reader
      throw new Error('DuckDB finished the load without reading its input')
    }
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
}

/** A reader blocked in open() waits for a writer: let it in, and out again, so its query can end. */
function releaseReader(fifo: string): void {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
  } catch {
    // ENXIO: no reader is waiting.
  }
}

type ChunkValue = number | bigint | string | DuckDBBlobValue | null
type Convert = (value: unknown) => ChunkValue

/** Types a chunk carries as they are; every other type travels as its text and DuckDB casts it. */
const NUMBER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'FLOAT', 'DOUBLE'])
const BIGINT_TYPES = new Set(['BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT'])

function transportType(type: string): string {
  return NUMBER_TYPES.has(type) || BIGINT_TYPES.has(type) || type === 'VARCHAR' || type === 'BLOB' ? type : 'VARCHAR'
}

/**
 * Rows appended to DuckDB as data chunks of 2,048, each value written straight into its vector:
 * no text to format or parse for numbers, strings and blobs. Values of other types (decimals, dates,
 * times, UUIDs, JSON, booleans) travel as their text and are cast once the rows are in. Rows gather
 * in a staging table of the connection's own (an appender fills whole tables, not chosen columns),
 * from which one INSERT moves them into the target.
 */
class ChunkLoad implements RowSink {
  readonly #chunk: DuckDBDataChunk
  readonly #converts: Convert[]
  #vectors: DuckDBVector[] = []
  #count = 0

  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly appender: DuckDBAppender,
    private readonly load: TableLoad,
    private readonly signal: AbortSignal,
  ) {
    const types = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i))
    this.#chunk = DuckDBDataChunk.create(types)
    this.#converts = load.columns.map((column) => converter(column))
    this.#startChunk()
  }

  static async open(connection: DuckDBConnection, load: TableLoad, signal: AbortSignal): Promise<ChunkLoad> {
    const staged = load.columns.map((column, i) => `c${i} ${transportType(column.type)}`).join(', ')
    await connection.run(`CREATE TEMP TABLE ${STAGING} (${staged})`)
    return new ChunkLoad(connection, await connection.createAppender(STAGING_TABLE, 'main', 'temp'), load, signal)
  }

  add(row: readonly unknown[]): Promise<void> | undefined {
    const index = this.#count
    for (let c = 0; c < this.#converts.length; c++) {
      const value = row[c]
      try {
        this.#vectors[c]!.setItem(index, value === null || value === undefined ? null : this.#converts[c]!(value))
      } catch (error) {
        // A bad value leaves the row half written: the whole load fails, naming it.
        const column = this.load.columns[c]!
        throw new SourceError(
          `column "${column.name}" received ${describeValue(value)}, which is not a ${column.type} ` +
            `(${(error as Error).message})`,
        )
      }
    }
    if (++this.#count < CHUNK_ROWS) return undefined
    this.#appendChunk()
    // The rows of a synchronous source (SQLite) would otherwise hold the event loop for the whole scan.
    return new Promise<void>((resolve, reject) =>
      // The abort reason goes on as given: the engine compares it with its signal's.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      setImmediate(() => (this.signal.aborted ? reject(abortReason(this.signal)) : resolve())),
    )
  }

  async finish(): Promise<number> {
    this.#appendChunk()
    this.appender.closeSync()
    const casts = this.load.columns.map((column, i) =>
      transportType(column.type) === column.type ? `c${i}` : `CAST(c${i} AS ${column.type})`,
    )
    const moved = await this.connection.run(
      `INSERT INTO ${this.load.target} (${this.load.names.map(quoteIdentifier).join(', ')}) ` +
        `SELECT ${casts.join(', ')} FROM ${STAGING}`,
    )
    await this.connection.run(`DROP TABLE ${STAGING}`)
    return Number(moved.rowsChanged)
  }

  abandon(): Promise<void> {
    try {
      this.appender.closeSync()
    } catch {
      // Closing flushes, which may fail again for the reason the load failed; the table is dropped with the query.
    }
    return Promise.resolve()
  }

  /** Vectors are fetched for the full size, written, flushed, and only then shrunk to the rows written. */
  #startChunk() {
    this.#chunk.reset()
    this.#chunk.rowCount = CHUNK_ROWS
    this.#vectors = this.#converts.map((_, c) => this.#chunk.getColumnVector(c))
    this.#count = 0
  }

  #appendChunk() {
    if (this.#count === 0) return
    for (const vector of this.#vectors) vector.flush()
    this.#chunk.rowCount = this.#count
    this.appender.appendDataChunk(this.#chunk)
    this.#startChunk()
  }
}

/** The connection's own temporary table, so loads on other connections never meet it. */
const STAGING_TABLE = '__scan_rows'
const STAGING = `temp.main.${STAGING_TABLE}`

function converter(column: SourceColumn): Convert {
  const type = column.type
  if (NUMBER_TYPES.has(type)) {
    const integer = type !== 'FLOAT' && type !== 'DOUBLE'
    return (value) => {
      const number = typeof value === 'number' ? value : toNumber(value)
      if (integer && !Number.isInteger(number)) throw new TypeError('not an integer')
      return number
    }
  }
  if (BIGINT_TYPES.has(type)) {
    // BigInt() throws on a fraction or on text that is no integer.
    return (value) =>
      typeof value === 'bigint' ? value : BigInt(typeof value === 'string' ? value.trim() : (value as number))
  }
  if (type === 'BLOB') {
    return (value) =>
      new DuckDBBlobValue(value instanceof Uint8Array ? value : Buffer.from(String(value as string), 'utf8'))
  }
  return asText
}

/** A number from its text (`NaN` and `Infinity` included) or from a bigint; anything else is refused. */
function toNumber(value: unknown): number {
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value)
    if (!Number.isNaN(number) || value.trim() === 'NaN') return number
  }
  throw new TypeError('not a number')
}

/** A value as the text DuckDB's cast reads (bytes as UTF-8 text, as a source's text would be). */
function asText(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8')
  // String(-0) is '0'; DuckDB keeps the sign of '-0'.
  if (Object.is(value, -0)) return '-0'
  return String(value)
}
