import type { RowDataPacket } from 'mysql2/promise'

import type { SourceKeys } from '../source-catalog.js'

/**
 * Every column of every primary and foreign key the user can see, in one round trip: a primary key is
 * the constraint MySQL always names `PRIMARY`, a foreign key the one with a referenced table. Rows are
 * grouped and put in key order here rather than by ORDER BY, whose collation may fold case.
 */
export function keysSql(excluded: string): string {
  return `
SELECT k.TABLE_SCHEMA AS schema_name, k.TABLE_NAME AS table_name, k.CONSTRAINT_NAME AS constraint_name,
  k.COLUMN_NAME AS column_name, k.ORDINAL_POSITION AS position,
  k.REFERENCED_TABLE_SCHEMA AS ref_schema, k.REFERENCED_TABLE_NAME AS ref_table,
  k.REFERENCED_COLUMN_NAME AS ref_column
FROM information_schema.KEY_COLUMN_USAGE k
WHERE k.TABLE_SCHEMA NOT IN (${excluded})
  AND ((k.CONSTRAINT_NAME = 'PRIMARY' AND k.REFERENCED_TABLE_NAME IS NULL) OR k.REFERENCED_TABLE_NAME IS NOT NULL)
`
}

/**
 * The server's row estimate of every table `introspect` lists: exact for MyISAM, sampled for InnoDB (and,
 * on MySQL 8, cached for up to information_schema_stats_expiry); NULL for views.
 */
export function rowEstimatesSql(excluded: string): string {
  return `
SELECT TABLE_SCHEMA AS schema_name, TABLE_NAME AS table_name, TABLE_ROWS AS table_rows
FROM information_schema.TABLES
WHERE TABLE_SCHEMA NOT IN (${excluded}) AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')
`
}

export interface KeyColumnRow extends RowDataPacket {
  schema_name: string | Buffer
  table_name: string | Buffer
  constraint_name: string | Buffer
  column_name: string | Buffer
  position: string | number
  ref_schema: string | Buffer | null
  ref_table: string | Buffer | null
  ref_column: string | Buffer | null
}

export interface RowEstimateRow extends RowDataPacket {
  schema_name: string | Buffer
  table_name: string | Buffer
  table_rows: string | number | null
}

/** mysql2 hands binary-collated strings over as Buffers. */
function text(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('utf8')
}

/** Code-unit order, the same on every server whatever its collations. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

interface KeyBuilder {
  schema: string
  table: string
  name: string
  references: { schema: string; table: string } | null
  columns: { position: number; column: string; reference: string | null }[]
}

export function keysFromRows(keyRows: readonly KeyColumnRow[], estimateRows: readonly RowEstimateRow[]): SourceKeys {
  const builders = new Map<string, KeyBuilder>()
  for (const row of keyRows) {
    const schema = text(row.schema_name)
    const table = text(row.table_name)
    const name = text(row.constraint_name)
    const foreign = row.ref_table !== null
    const id = JSON.stringify([schema, table, foreign ? 'f' : 'p', name])
    let builder = builders.get(id)
    if (!builder) {
      builder = {
        schema,
        table,
        name,
        references: foreign ? { schema: text(row.ref_schema ?? ''), table: text(row.ref_table!) } : null,
        columns: [],
      }
      builders.set(id, builder)
    }
    builder.columns.push({
      position: Number(row.position),
      column: text(row.column_name),
      reference: row.ref_column === null ? null : text(row.ref_column),
    })
  }

  const keys: SourceKeys = { primaryKeys: [], foreignKeys: [], rowEstimates: [] }
  const sorted = [...builders.values()].sort(
    (a, b) => compare(a.schema, b.schema) || compare(a.table, b.table) || compare(a.name, b.name),
  )
  for (const builder of sorted) {
    const columns = builder.columns.sort((a, b) => a.position - b.position)
    if (!builder.references) {
      keys.primaryKeys.push({
        schema: builder.schema,
        table: builder.table,
        columns: columns.map((c) => c.column),
      })
    } else {
      keys.foreignKeys.push({
        name: builder.name,
        schema: builder.schema,
        table: builder.table,
        columns: columns.map((c) => c.column),
        references: { ...builder.references, columns: columns.map((c) => c.reference ?? '') },
      })
    }
  }
  keys.rowEstimates = estimateRows
    .map((row) => ({
      schema: text(row.schema_name),
      table: text(row.table_name),
      rows: row.table_rows === null ? null : Number(row.table_rows),
    }))
    .sort((a, b) => compare(a.schema, b.schema) || compare(a.table, b.table))
  return keys
}
