import type { DuckDBConnection } from '@duckdb/node-api'

import type { RequestContext } from '../../auth/principal.js'
import type { EngineStats } from '../../engine/engine.js'
import { quoteIdentifier, quoteLiteral } from '../../engine/duckdb-sql.js'
import type { QueryParameter } from '../../engine/sql-text.js'
import {
  SNAPSHOT_ALIAS,
  type PendingVersion,
  type SnapshotLocation,
  type SnapshotStore,
} from '../../internal-store/snapshot-store.js'
import { errors } from '../../lib/errors.js'
import type { SqlService } from '../sql/sql.service.js'

/** What a snapshot copies: a source table, or the result of any query over the project's catalogs. */
export type SnapshotSource =
  | { type: 'table'; catalog: string; schema: string; table: string }
  | { type: 'sql'; sql: string; parameters?: Readonly<Record<string, QueryParameter>> | undefined }

/** How an incremental load finds and applies what changed. */
export interface IncrementalRule {
  cursorColumn: string
  /** Rows read again replace the stored row of the same key; without one they are appended. */
  primaryKey: readonly string[] | null
  /** Rows marked here (true, or not null for other types) are removed rather than stored. */
  softDeleteColumn: string | null
}

export interface SnapshotLoad {
  /** Whom the source query runs as: their access to the project is checked as for any query. */
  caller: RequestContext
  projectId: string
  location: SnapshotLocation
  source: SnapshotSource
  timeoutMs: number
  signal?: AbortSignal | undefined
  /** The column whose largest value the loaded version records (the next incremental load reads past it). */
  cursorColumn?: string | undefined
}

/** A complete version, not yet current: its owner switches to it or discards it. */
export interface LoadedVersion {
  pending: PendingVersion
  rowCount: number
  columns: string[]
  counts: { rows_inserted: number; rows_updated: number; rows_deleted: number }
  cursorValue: string | null
  /** The queries the sources ran (to show that a cursor filter reached the source). */
  sources: EngineStats['sources']
}

/** The table every snapshot version holds, as local tables are read (LocalTable). */
const DATA = 'data'
const DELTA = 'delta'

export const sourceSql = (source: SnapshotSource): string =>
  source.type === 'table'
    ? [source.catalog, source.schema, source.table].map(quoteIdentifier).join('.')
    : `(${source.sql}\n) AS source`

/**
 * Loads the whole source into a new version: one query through the engine, whose result DuckDB
 * writes straight into the version's file (no rows through JavaScript).
 */
export async function loadFull(sql: SqlService, store: SnapshotStore, load: SnapshotLoad): Promise<LoadedVersion> {
  const pending = await store.create(load.location)
  try {
    const written = await sql.runInto(
      load.caller,
      load.projectId,
      {
        sql: `SELECT * FROM ${sourceSql(load.source)}`,
        parameters: load.source.type === 'sql' ? load.source.parameters : undefined,
        timeoutMs: load.timeoutMs,
        fresh: true,
      },
      { file: pending.path, table: DATA },
      load.signal,
    )
    const cursorValue = load.cursorColumn
      ? await store.edit(pending, (connection) => largest(connection, DATA, load.cursorColumn!), load.signal)
      : null
    return {
      pending,
      rowCount: written.row_count,
      columns: written.columns.map((column) => column.name),
      counts: { rows_inserted: written.row_count, rows_updated: 0, rows_deleted: 0 },
      cursorValue,
      sources: written.stats.sources,
    }
  } catch (error) {
    await store.discard(pending)
    throw error
  }
}

/**
 * A new version made of the previous one and the source's rows past `after`: the previous file is
 * copied (a reflink where the file system can), the changed rows loaded beside its table in bulk,
 * then merged by primary key in DuckDB. The filter on the cursor reaches the source as any filter
 * of a query does. `after` null (nothing was cached yet past which to read): every row.
 */
export async function loadIncremental(
  sql: SqlService,
  store: SnapshotStore,
  load: SnapshotLoad,
  previous: { versionId: string; cursorValue: string | null },
  rule: IncrementalRule,
): Promise<LoadedVersion> {
  const pending = await store.copy(load.location, previous.versionId)
  try {
    const types = await store.edit(pending, (connection) => columnTypes(connection, DATA), load.signal)
    const cursorType = types.get(rule.cursorColumn)
    if (!cursorType) throw changedColumns(`the cursor column '${rule.cursorColumn}' is gone`)
    const filter =
      previous.cursorValue === null
        ? ''
        : ` WHERE ${quoteIdentifier(rule.cursorColumn)} > CAST(${quoteLiteral(previous.cursorValue)} AS ${cursorType})`
    const written = await sql.runInto(
      load.caller,
      load.projectId,
      {
        sql: `SELECT * FROM ${sourceSql(load.source)}${filter}`,
        parameters: load.source.type === 'sql' ? load.source.parameters : undefined,
        timeoutMs: load.timeoutMs,
        fresh: true,
      },
      { file: pending.path, table: DELTA },
      load.signal,
    )
    const merged = await store.edit(pending, (connection) => merge(connection, types, rule), load.signal)
    return {
      pending,
      ...merged,
      columns: [...types.keys()],
      cursorValue: merged.cursorValue ?? previous.cursorValue,
      sources: written.stats.sources,
    }
  } catch (error) {
    await store.discard(pending)
    throw error
  }
}

async function merge(connection: DuckDBConnection, types: ReadonlyMap<string, string>, rule: IncrementalRule) {
  const deltaTypes = await columnTypes(connection, DELTA)
  const same = deltaTypes.size === types.size && [...types].every(([name, type]) => deltaTypes.get(name) === type)
  if (!same) throw changedColumns('the columns of the source changed since the last full refresh')
  const data = `${SNAPSHOT_ALIAS}.${DATA}`
  const delta = `${SNAPSHOT_ALIAS}.${DELTA}`
  const deleted = rule.softDeleteColumn
    ? softDeleted(rule.softDeleteColumn, deltaTypes.get(rule.softDeleteColumn)!)
    : 'false'
  const cursorValue = await largest(connection, DELTA, rule.cursorColumn)
  const count = async (query: string) => Number((await connection.runAndReadAll(query)).getRowsJS()[0]![0])
  const kept = await count(`SELECT count(*)::BIGINT FROM ${delta} d WHERE NOT (${deleted})`)
  let counts: LoadedVersion['counts'] = { rows_inserted: kept, rows_updated: 0, rows_deleted: 0 }
  await connection.run('BEGIN TRANSACTION')
  if (rule.primaryKey) {
    const matches = rule.primaryKey.map((key) => `t.${quoteIdentifier(key)} = d.${quoteIdentifier(key)}`).join(' AND ')
    // What each delete removes says what the changed rows were: a key a delete meets existed before.
    const removed = await connection.run(`DELETE FROM ${data} t USING ${delta} d WHERE ${matches} AND (${deleted})`)
    const replaced = await connection.run(
      `DELETE FROM ${data} t USING ${delta} d WHERE ${matches} AND NOT (${deleted})`,
    )
    const updated = Number(replaced.rowsChanged)
    counts = { rows_inserted: kept - updated, rows_updated: updated, rows_deleted: Number(removed.rowsChanged) }
  }
  await connection.run(`INSERT INTO ${data} SELECT * FROM ${delta} d WHERE NOT (${deleted})`)
  await connection.run(`DROP TABLE ${delta}`)
  await connection.run('COMMIT')
  return { rowCount: await count(`SELECT count(*)::BIGINT FROM ${data}`), counts, cursorValue }
}

/**
 * When a row counts as deleted: a true flag (MySQL's BOOLEAN is a TINYINT: non-zero), or any value
 * of another type (`deleted_at`).
 */
function softDeleted(column: string, type: string): string {
  const value = `d.${quoteIdentifier(column)}`
  if (type === 'BOOLEAN') return `coalesce(${value}, false)`
  if (/INT|DECIMAL|FLOAT|DOUBLE/.test(type)) return `coalesce(${value} <> 0, false)`
  return `${value} IS NOT NULL`
}

async function columnTypes(connection: DuckDBConnection, table: string): Promise<Map<string, string>> {
  const reader = await connection.runAndReadAll(
    `SELECT column_name, data_type FROM duckdb_columns()
     WHERE database_name = ${quoteLiteral(SNAPSHOT_ALIAS)} AND table_name = ${quoteLiteral(table)}
     ORDER BY column_index`,
  )
  return new Map(reader.getRowsJson() as [string, string][])
}

/** The largest value of a column, as text that casts back to its type. */
async function largest(connection: DuckDBConnection, table: string, column: string): Promise<string | null> {
  const reader = await connection.runAndReadAll(
    `SELECT max(${quoteIdentifier(column)})::VARCHAR FROM ${SNAPSHOT_ALIAS}.${quoteIdentifier(table)}`,
  )
  return (reader.getRowsJson()[0]![0] as string | null) ?? null
}

// A conflict, not a failure of the source: it is not retried, and a full refresh resolves it.
const changedColumns = (why: string) => errors.conflict(`${why}: run a full refresh`)
