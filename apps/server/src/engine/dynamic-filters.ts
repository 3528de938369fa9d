import type { DuckDBConnection } from '@duckdb/node-api'

import type { FilterValue, PushedFilter, ScanRequest } from './connectors/connector.js'
import { quoteIdentifier } from './duckdb-sql.js'
import type { JoinKeyEdge, PlannedTable } from './planner.js'

/**
 * Dynamic filtering across sources: when a join matches a selective table (one the source filters
 * or limits) with one read whole, the selective side is read first and the join keys it holds go
 * to the other side's source as `IN (…)`, or as a range when there are too many to list.
 */

/** Longer lists are sent as a range: every source takes a few thousand literals, and parsing them costs. */
export const MAX_IN_KEYS = 1000

const INTEGER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER)$/

/** Which table's keys narrow which: a table narrowed becomes selective in turn, so chains form (nation → customer → orders). */
export function planDynamicFilters(
  scans: ReadonlyMap<PlannedTable, ScanRequest>,
  joins: readonly JoinKeyEdge[],
): Map<PlannedTable, JoinKeyEdge> {
  const selective = new Set(
    [...scans].filter(([, request]) => request.filters.length > 0 || request.limit !== undefined).map(([t]) => t),
  )
  const chosen = new Map<PlannedTable, JoinKeyEdge>()
  for (let changed = true; changed;) {
    changed = false
    for (const edge of joins) {
      const target = edge.filtered.table
      if (!selective.has(edge.by.table) || selective.has(target) || !scans.has(target)) continue
      if (!sameKeyFamily(edge.by.column.type, edge.filtered.column.type)) continue
      chosen.set(target, edge)
      selective.add(target)
      changed = true
    }
  }
  return chosen
}

function sameKeyFamily(a: string, b: string): boolean {
  return (INTEGER.test(a) && INTEGER.test(b)) || (a === 'VARCHAR' && b === 'VARCHAR')
}

/** The filters that narrow `edge.filtered` to the keys the loaded `by` table holds. */
export async function keyFilters(
  connection: DuckDBConnection,
  loadedTable: string,
  edge: JoinKeyEdge,
): Promise<PushedFilter[]> {
  const key = quoteIdentifier(edge.by.column.name)
  const column = edge.filtered.column.name
  const summary = await connection.runAndReadAll(
    `SELECT count(DISTINCT ${key}) AS n, min(${key})::VARCHAR AS low, max(${key})::VARCHAR AS high FROM ${loadedTable}`,
  )
  const [n, low, high] = summary.getRows()[0] as [bigint, string | null, string | null]
  // No key at all: only rows whose key is NULL could be read, and none of them can match.
  if (n === 0n || low === null || high === null) return [{ column, op: 'is_null' }]
  const integer = INTEGER.test(edge.by.column.type)
  const value = (text: string): FilterValue | undefined => {
    if (!integer) return text
    const number = Number(text)
    return Number.isSafeInteger(number) ? number : undefined
  }
  if (n <= BigInt(MAX_IN_KEYS)) {
    const keys = await connection.runAndReadAll(
      `SELECT DISTINCT ${key}::VARCHAR FROM ${loadedTable} WHERE ${key} IS NOT NULL ORDER BY 1`,
    )
    const values = keys.getRows().map((row) => value(String(row[0])))
    if (values.every((item): item is FilterValue => item !== undefined)) return [{ column, op: 'in', values }]
  }
  const from = value(low)
  const to = value(high)
  if (from === undefined || to === undefined) return []
  return [
    { column, op: '>=', value: from },
    { column, op: '<=', value: to },
  ]
}
