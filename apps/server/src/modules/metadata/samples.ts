import { quoteIdentifier, quoteLiteral } from '../../engine/duckdb-sql.js'
import type { SourceTable } from '../../engine/connectors/source-catalog.js'

/** Distinct non-null values kept per column. */
export const SAMPLE_VALUES = 5
/** Rows read from each table to pick them from (the LIMIT is pushed down to the source). */
export const SAMPLE_ROWS = 100
/** Longer values are cut: samples show what a column holds, not whole documents. */
const SAMPLE_CHARS = 200

/** Types whose values say nothing readable (bytes) are not sampled. */
const UNSAMPLED = /^(BLOB|BYTEA|BIT|VARBINARY|GEOMETRY)/i

export interface SampleQuery {
  sql: string
  /** By the index the query's first column gives. */
  tables: { schema: string; table: string; columns: string[] }[]
}

/**
 * One query for a batch of tables: each table is read once (`SELECT cols FROM t LIMIT 100`, which
 * the engine pushes down to the source), its columns unpivoted into (column, value) pairs, and the
 * first few distinct non-null values of each column kept. Rows come back as
 * `(table index, column, value)`, at most SAMPLE_VALUES per column.
 */
export function sampleQuery(
  catalog: string,
  tables: readonly { schema: string; table: SourceTable }[],
): SampleQuery | undefined {
  const parts: string[] = []
  const described: SampleQuery['tables'] = []
  for (const { schema, table } of tables) {
    const columns = table.columns.filter((column) => !UNSAMPLED.test(column.type))
    if (columns.length === 0) continue
    const index = described.length
    described.push({ schema, table: table.name, columns: columns.map((column) => column.name) })
    const names = columns.map((column) => quoteLiteral(column.name)).join(', ')
    const values = columns
      .map((column) => `left(CAST(s.${quoteIdentifier(column.name)} AS VARCHAR), ${SAMPLE_CHARS})`)
      .join(', ')
    const source = `${quoteIdentifier(catalog)}.${quoteIdentifier(schema)}.${quoteIdentifier(table.name)}`
    const read = `SELECT ${columns.map((column) => quoteIdentifier(column.name)).join(', ')} FROM ${source} LIMIT ${SAMPLE_ROWS}`
    parts.push(`SELECT ${index} AS t, unnest([${names}]) AS c, unnest([${values}]) AS v FROM (${read}) AS s`)
  }
  if (parts.length === 0) return undefined
  const sql =
    'SELECT t, c, v FROM (' +
    'SELECT t, c, v, row_number() OVER (PARTITION BY t, c ORDER BY v) AS n FROM (' +
    `SELECT DISTINCT t, c, v FROM (${parts.join(' UNION ALL ')}) AS pairs WHERE v IS NOT NULL AND v <> ''` +
    ') AS distinct_pairs' +
    `) AS ranked WHERE n <= ${SAMPLE_VALUES} ORDER BY t, c, n`
  return { sql, tables: described }
}
