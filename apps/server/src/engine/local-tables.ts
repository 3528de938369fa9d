import type { DuckDBConnection } from '@duckdb/node-api'

import type { SourceCatalog } from './connectors/connector.js'
import { quoteIdentifier, quoteLiteral } from './duckdb-sql.js'
import type { PlannedTable } from './planner.js'

/** The catalog every project has: its own datasets, as schemas, with their tables. */
export const INTERNAL_CATALOG = 'internal'

/** The `internal` catalog of a project, as the engine and catalog browsing see it. */
export interface InternalCatalog {
  catalog: SourceCatalog
  localTables: (schema: string, table: string) => LocalTable | undefined
}

/** A table whose rows are DuckDB files of the platform's own (internal tables): nothing to transfer. */
export interface LocalTable {
  /** Absolute paths of immutable DuckDB files, each holding the table's rows in its table `data`. */
  segments: readonly string[]
  rows: number
  /** Set when the table is a cached copy of a source table: when that copy was taken (for the stats). */
  cachedAt?: Date | undefined
}

/**
 * Puts a local table in place of its planning stub: the segment files are attached read-only and
 * the stub becomes a view over them. Runs before the query instance locks itself out of the file
 * system; an attached file stays readable afterwards.
 */
export async function attachLocalTable(
  connection: DuckDBConnection,
  table: PlannedTable,
  local: LocalTable,
  tableIndex: number,
): Promise<{ remote_sql: string; rows: number }> {
  // No rows yet: the empty stub already is the table.
  if (local.segments.length === 0) return { remote_sql: 'internal table: empty', rows: 0 }
  const columns = table.columns.map((column) => quoteIdentifier(column.name)).join(', ')
  const parts: string[] = []
  for (const [index, file] of local.segments.entries()) {
    // `$` cannot appear in a catalog name, so these never shadow one.
    const alias = quoteIdentifier(`local$${tableIndex}$${index}`)
    await connection.run(`ATTACH ${quoteLiteral(file)} AS ${alias} (READ_ONLY)`)
    parts.push(`SELECT ${columns} FROM ${alias}.main.data`)
  }
  const target = `${quoteIdentifier(table.catalog)}.${quoteIdentifier(table.schema)}.${quoteIdentifier(table.table)}`
  await connection.run(`DROP TABLE ${target}`)
  await connection.run(`CREATE VIEW ${target} AS ${parts.join(' UNION ALL ')}`)
  return { remote_sql: `internal table: ${local.segments.length} segment file(s)`, rows: local.rows }
}
