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
        // A copy of a table is read under each reader's policies; a query's result, under its owner's.
        unpoliced: load.source.type === 'table',
      },
      { file: pending.path, table: DATA },
      load.signal,
    )
    const cursorValue = load.cursorColumn
      ? await store.edit(
          pending,
          (connection) => largest(connection, `${SNAPSHOT_ALIAS}.${DATA}`, load.cursorColumn!),
          load.signal,
        )
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
 * A new version made of the previous one and the source's rows past `after`, at a cost that follows
 * the change rather than the table. The engine writes the changed rows into a small file of their
 * own while the previous version is copied beside it (a reflink where the file system can, else a
 * byte copy: a small fraction of loading the table again); then one DuckDB session removes the
 * stored rows whose keys came again, appends the new ones, and checkpoints, which writes only what
 * changed. The filter on the cursor reaches the source as any filter of a query does. `after` null
 * (nothing was cached yet past which to read): every row.
 */
export async function loadIncremental(
  sql: SqlService,
  store: SnapshotStore,
  load: SnapshotLoad,
  previous: { versionId: string; cursorValue: string | null },
  rule: IncrementalRule,
): Promise<LoadedVersion> {
  const copying = store.copy(load.location, previous.versionId)
  // Awaited below; until then a failed copy must not count as unhandled.
  copying.catch(() => undefined)
  // Scratch space for the changed rows: never named by a pointer, removed whatever happens.
  const delta = await store.create(load.location)
  try {
    const types = await store.read(
      load.location,
      previous.versionId,
      (connection) => columnTypes(connection, SNAPSHOT_ALIAS, DATA),
      load.signal,
    )
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
        // A copy of a table is read under each reader's policies; a query's result, under its owner's.
        unpoliced: load.source.type === 'table',
      },
      { file: delta.path, table: DELTA },
      load.signal,
    )
    const pending = await copying
    const merged = await store.edit(pending, (connection) => merge(connection, types, rule), load.signal, {
      [DELTA_ALIAS]: delta.path,
    })
    return {
      pending,
      ...merged,
      columns: [...types.keys()],
      cursorValue: merged.cursorValue ?? previous.cursorValue,
      sources: written.stats.sources,
    }
  } catch (error) {
    await copying.then(
      (pending) => store.discard(pending),
      () => undefined,
    )
    throw error
  } finally {
    await store.discard(delta)
  }
}

/** The alias the file of changed rows is attached under while they are merged. */
const DELTA_ALIAS = 'delta'

async function merge(connection: DuckDBConnection, types: ReadonlyMap<string, string>, rule: IncrementalRule) {
  const deltaTypes = await columnTypes(connection, DELTA_ALIAS, DELTA)
  const same = deltaTypes.size === types.size && [...types].every(([name, type]) => deltaTypes.get(name) === type)
  if (!same) throw changedColumns('the columns of the source changed since the last full refresh')
  const data = `${SNAPSHOT_ALIAS}.${DATA}`
  const delta = `${quoteIdentifier(DELTA_ALIAS)}.main.${DELTA}`
  const deleted = rule.softDeleteColumn
    ? softDeleted(rule.softDeleteColumn, deltaTypes.get(rule.softDeleteColumn)!)
    : 'false'
  const cursorValue = await largest(connection, delta, rule.cursorColumn)
  const count = async (query: string) => Number((await connection.runAndReadAll(query)).getRowsJS()[0]![0])
  const kept = await count(`SELECT count(*)::BIGINT FROM ${delta} d WHERE NOT (${deleted})`)
  let counts: LoadedVersion['counts'] = { rows_inserted: kept, rows_updated: 0, rows_deleted: 0 }
  await connection.run('BEGIN TRANSACTION')
  if (rule.primaryKey) {
    // One pass over the stored keys per kind of change; what each delete removes says what the changed
    // rows were: a key a delete meets existed before.
    const matches = rule.primaryKey.map((key) => `t.${quoteIdentifier(key)} = d.${quoteIdentifier(key)}`).join(' AND ')
    const remove = (which: string) => connection.run(`DELETE FROM ${data} t USING ${delta} d WHERE ${matches}${which}`)
    const removed = rule.softDeleteColumn ? Number((await remove(` AND (${deleted})`)).rowsChanged) : 0
    const updated = Number((await remove(rule.softDeleteColumn ? ` AND NOT (${deleted})` : '')).rowsChanged)
    counts = { rows_inserted: kept - updated, rows_updated: updated, rows_deleted: removed }
  }
  await connection.run(`INSERT INTO ${data} SELECT * FROM ${delta} d WHERE NOT (${deleted})`)
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

async function columnTypes(
  connection: DuckDBConnection,
  database: string,
  table: string,
): Promise<Map<string, string>> {
  const reader = await connection.runAndReadAll(
    `SELECT column_name, data_type FROM duckdb_columns()
     WHERE database_name = ${quoteLiteral(database)} AND table_name = ${quoteLiteral(table)}
     ORDER BY column_index`,
  )
  return new Map(reader.getRowsJson() as [string, string][])
}

/** The largest value of a column of a table (qualified), as text that casts back to its type. */
async function largest(connection: DuckDBConnection, table: string, column: string): Promise<string | null> {
  const reader = await connection.runAndReadAll(`SELECT max(${quoteIdentifier(column)})::VARCHAR FROM ${table}`)
  return (reader.getRowsJson()[0]![0] as string | null) ?? null
}

// A conflict, not a failure of the source: it is not retried, and a full refresh resolves it.
const changedColumns = (why: string) => errors.conflict(`${why}: run a full refresh`)
