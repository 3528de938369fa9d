import type Database from 'better-sqlite3'

import { doubleQuoted } from '../filter-sql.js'
import type { SourceKeys } from '../source-catalog.js'

/** Tables above this many rows get no count: counting would hold the event loop for too long. */
export const COUNT_LIMIT = 1_000_000

/** How long counting rows may take for the whole file; tables left uncounted are unknown. */
export const COUNT_BUDGET_MS = 1_000

/** The objects `introspect` lists. */
const OBJECTS = "m.type in ('table', 'view') and m.name not like 'sqlite_%'"

const PRIMARY_KEYS_SQL = `
select m.name as table_name, p.name as column_name
from sqlite_schema m join pragma_table_info(m.name) p
where m.type = 'table' and m.name not like 'sqlite_%' and p.pk > 0
order by m.name, p.pk`

const FOREIGN_KEYS_SQL = `
select m.name as table_name, f.id as id, f."table" as ref_table, f."from" as column_name, f."to" as ref_column
from sqlite_schema m join pragma_foreign_key_list(m.name) f
where m.type = 'table' and m.name not like 'sqlite_%'
order by m.name, f.id, f.seq`

interface PrimaryKeyRow {
  table_name: string
  column_name: string
}

interface ForeignKeyRow {
  table_name: string
  id: number
  ref_table: string
  column_name: string
  /** Null when the key names only the table: it then references that table's primary key. */
  ref_column: string | null
}

/**
 * Keys from the schema (one statement per kind over every table), row counts from sqlite_stat1 where
 * ANALYZE wrote them, else counted, up to COUNT_LIMIT rows a table and COUNT_BUDGET_MS for the file.
 * SQLite has one schema, `main`, and no names for its foreign keys.
 */
export function sqliteKeys(db: Database.Database): SourceKeys {
  const primary = new Map<string, string[]>()
  for (const row of db.prepare(PRIMARY_KEYS_SQL).all() as PrimaryKeyRow[]) {
    const columns = primary.get(row.table_name) ?? []
    columns.push(row.column_name)
    primary.set(row.table_name, columns)
  }

  const keys: SourceKeys = { primaryKeys: [], foreignKeys: [], rowEstimates: [] }
  for (const [table, columns] of primary) keys.primaryKeys.push({ schema: 'main', table, columns })

  const groups = new Map<
    string,
    { table: string; refTable: string; columns: string[]; refColumns: (string | null)[] }
  >()
  for (const row of db.prepare(FOREIGN_KEYS_SQL).all() as ForeignKeyRow[]) {
    const id = JSON.stringify([row.table_name, row.id])
    let group = groups.get(id)
    if (!group) {
      group = { table: row.table_name, refTable: row.ref_table, columns: [], refColumns: [] }
      groups.set(id, group)
    }
    group.columns.push(row.column_name)
    group.refColumns.push(row.ref_column)
  }
  for (const group of groups.values()) {
    // `REFERENCES t` without columns means t's primary key (sqlite.org/foreignkeys.html §3).
    const refColumns = group.refColumns.every((column) => column === null)
      ? (primary.get(group.refTable) ?? [])
      : group.refColumns
    if (refColumns.length !== group.columns.length || refColumns.some((column) => column === null)) continue
    keys.foreignKeys.push({
      name: null,
      schema: 'main',
      table: group.table,
      columns: group.columns,
      references: { schema: 'main', table: group.refTable, columns: refColumns as string[] },
    })
  }

  keys.rowEstimates = rowEstimates(db)
  return keys
}

function rowEstimates(db: Database.Database): SourceKeys['rowEstimates'] {
  const objects = db
    .prepare(
      `select m.name as name, m.type as type, m.sql as sql from sqlite_schema m where ${OBJECTS} order by m.name`,
    )
    .all() as { name: string; type: 'table' | 'view'; sql: string | null }[]

  const analyzed = new Map<string, number>()
  const hasStat = db.prepare("select 1 from sqlite_schema where type = 'table' and name = 'sqlite_stat1'").get()
  if (hasStat) {
    // Each row's stat starts with the table's row count, whatever index (or none) it describes.
    for (const row of db.prepare('select tbl, stat from sqlite_stat1').all() as { tbl: string; stat: string }[]) {
      const rows = Number.parseInt(String(row.stat), 10)
      if (Number.isFinite(rows)) analyzed.set(row.tbl, Math.max(rows, analyzed.get(row.tbl) ?? 0))
    }
  }

  const deadline = performance.now() + COUNT_BUDGET_MS
  return objects.map(({ name, type, sql }) => {
    let rows: number | null = analyzed.get(name) ?? null
    // Views are queries, and virtual tables may be anything behind a module: neither is counted.
    const countable = type === 'table' && !/^\s*create\s+virtual\b/i.test(sql ?? '')
    if (rows === null && countable && performance.now() < deadline) {
      try {
        const counted = db
          .prepare(`select count(*) as n from (select 1 from ${doubleQuoted(name)} limit ${COUNT_LIMIT + 1})`)
          .get() as { n: number }
        rows = counted.n > COUNT_LIMIT ? null : counted.n
      } catch {
        rows = null
      }
    }
    return { schema: 'main', table: name, rows }
  })
}
