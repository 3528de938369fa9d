import { HUGEINT, type DuckDBConnection } from '@duckdb/node-api'

import { quoteLiteral } from '../../engine/duckdb-sql.js'
import type { EngineColumn } from '../../engine/engine.js'
import { columnConverter } from '../../engine/values.js'

/**
 * Reads rows [offset, offset + count) of a stored result. Results are written in row groups of a
 * few thousand rows with their row ranges in the footer, so filtering on `file_row_number` reads
 * only the one or two groups a page falls in: any page of a 10 M-row result takes about as long
 * as the first (~15 ms, see bench/README.md).
 */
export async function readResultRows(
  connection: DuckDBConnection,
  file: string,
  columns: readonly EngineColumn[],
  offset: number,
  count: number,
): Promise<unknown[][]> {
  const source = `read_parquet(${quoteLiteral(file)}, file_row_number = true)`
  // A result may itself have a column called file_row_number; then the virtual one would clash.
  const clashes = columns.some((column) => column.name.toLowerCase().startsWith('file_row_number'))
  const sql = clashes
    ? `SELECT * FROM read_parquet(${quoteLiteral(file)}) LIMIT ${count} OFFSET ${offset}`
    : `SELECT * EXCLUDE (file_row_number) FROM ${source} ` +
      `WHERE file_row_number >= ${offset} AND file_row_number < ${offset + count} ORDER BY file_row_number`
  const reader = await connection.runAndReadAll(sql)
  const converters = reader.columnTypes().map((type, i) =>
    // 128-bit integers are stored as text (Parquet has no such type); they read back as /sql gives them.
    columns[i]?.type === 'HUGEINT' || columns[i]?.type === 'UHUGEINT'
      ? columnConverter(HUGEINT)
      : columnConverter(type),
  )
  return reader.getRowsJson().map((row) => row.map((value, i) => converters[i]!(value)))
}
