import type { ConnectionCategory, SourceType } from '@tributary/contract'
import type { z } from 'zod'

import type { Dialect } from './dialect.js'
import type { SourceCatalog, SourceColumn, SourceKeys } from './source-catalog.js'

// The catalog types live apart so that dialects can use them without importing connectors.
export type { SourceCatalog, SourceColumn, SourceKeys, SourceSchema, SourceTable } from './source-catalog.js'

/** What a connector may rely on from the platform. */
export interface ConnectorContext {
  /** Absolute, symlink-free directories that file paths (SQLite, files) must stay inside. */
  fileRoots: readonly string[]
  /** How long to wait for a source to accept a connection. */
  connectTimeoutMs: number
}

/** A literal in a pushed filter, already in the column's DuckDB type family. */
export type FilterValue = string | number | bigint | boolean

/**
 * One conjunct the engine asks a source to apply. The engine applies every filter again itself,
 * so a connector may push fewer (it must never push one that could drop a matching row, e.g. a
 * text range under a collation that orders differently from DuckDB's byte order).
 */
export type PushedFilter =
  | { column: string; op: '=' | '<>' | '<' | '<=' | '>' | '>='; value: FilterValue }
  | { column: string; op: 'in'; values: FilterValue[] }
  | { column: string; op: 'is_null' | 'is_not_null' }

/** What the engine needs from one remote table. */
export interface ScanRequest {
  schema: string
  table: string
  /** The columns to read, in this order; their `type` is the DuckDB type the rows must parse as. */
  columns: SourceColumn[]
  filters: PushedFilter[]
  /**
   * A hint: only the first `limit` rows are needed, in `order` when it is given (a top-N). A source
   * may apply it only when it applies every filter and sorts exactly as DuckDB does; otherwise it
   * must ignore both (see `scanTail`).
   */
  limit?: number
  order?: ScanOrder[]
}

/** One sort key of a top-N: DuckDB's byte order for text, NULLs where DuckDB puts them. */
export interface ScanOrder {
  column: string
  descending: boolean
  nullsFirst: boolean
}

/**
 * A whole subquery for a source to run (a join or an aggregate over its tables only), written in
 * its dialect by the engine's pushdown. Its output columns are named as `columns` and must parse
 * as their DuckDB `type`.
 */
export interface QueryRequest {
  sql: string
  columns: SourceColumn[]
}

export interface ScanResult {
  /** The query the source ran, for the caller's stats. */
  remoteSql: string
  rows: number
}

/**
 * Where a scan's rows go. A source takes one of the two ways in, once: CSV bytes when it produces
 * CSV itself (PostgreSQL's COPY), or rows handed over one by one (drivers that decode rows).
 */
export interface LoadSink {
  csv(): Promise<CsvSink>
  rows(): Promise<RowSink>
}

/**
 * CSV in the engine's dialect, one line per row, no header, `,` between fields, `"` quoting
 * (doubled inside), NULL as an empty unquoted field, an empty string as `""`. Dates and timestamps
 * in ISO-8601, booleans as true/false, blobs in base64. DuckDB parses it while it streams in.
 */
export interface CsvSink {
  write(chunk: string | Buffer): Promise<void>
}

/**
 * Rows appended to DuckDB as data chunks. A value is null, or: a number or bigint for numeric
 * columns, a string for text, bytes (Uint8Array) for blobs, and for every other type a value whose
 * text DuckDB's CAST reads as that type ('2024-01-31', '12.50', true, …).
 */
export interface RowSink {
  /**
   * Adds one row, its values in the columns' order. Returns a promise only when a full chunk went
   * to DuckDB: awaiting it before the next row lets an abort and the event loop in.
   */
  add(row: readonly unknown[]): Promise<void> | undefined
}

/** A live session with one source. Sources are only ever read, in read-only sessions where they have them. */
export interface SourceSession {
  introspect(): Promise<SourceCatalog>
  /**
   * Primary and foreign keys and row estimates of every table `introspect` lists, in one round trip per
   * kind whatever the number of tables. Sources without keys (files) leave it out.
   */
  describeKeys?(): Promise<SourceKeys>
  /**
   * Streams the rows of one table, with the filters and limit it can push, into the sink.
   * Aborting the signal must stop the source's query (not just stop reading it).
   */
  scan?(request: ScanRequest, sink: LoadSink, signal: AbortSignal): Promise<ScanResult>
  /** Runs a pushed-down subquery (see `Connector.pushdownDialect`) and streams its rows like a scan. */
  query?(request: QueryRequest, sink: LoadSink, signal: AbortSignal): Promise<ScanResult>
  /** For sources DuckDB reads itself (files): the DuckDB SQL that reads the table. */
  nativeReader?(request: ScanRequest): string
  /**
   * Whether a later query may use this session: idle, and nothing failed or was stopped in it.
   * Sessions without it are closed after each query.
   */
  reusable?(): boolean
  close(): Promise<void>
}

/**
 * One kind of source. Adding a source type is one folder with one of these (and its `Dialect` when
 * it runs pushed subqueries), its name in the contract's `SourceType`, and one line in `registry.ts`.
 * `Config` is validated by `configSchema` before `connect` ever sees it.
 */
export interface Connector<Config = unknown> {
  readonly type: SourceType
  readonly displayName: string
  readonly category: ConnectionCategory
  readonly configSchema: z.ZodType<Config>
  /** Config fields that are secrets: encrypted at rest, write-only in the API, never logged. */
  readonly secretFields: readonly string[]
  connect(config: Config, context: ConnectorContext): Promise<SourceSession>
  /** Set when the source can run whole subqueries the engine writes in this dialect (`SourceSession.query`). */
  readonly pushdownDialect?: Dialect
  /**
   * Checks that need the platform but not the source, run when a connection is saved (file paths
   * inside the allowed roots). Throws SourceError.
   */
  checkConfig?(config: Config, context: ConnectorContext): Promise<void>
}

/**
 * A source refused or failed: the message must tell a person what to fix (wrong password,
 * unknown host, refused, database missing, TLS), and must never carry a secret.
 */
export class SourceError extends Error {
  override name = 'SourceError'
}
