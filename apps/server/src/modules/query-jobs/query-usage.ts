import type { QueryUsage } from '@tributary/contract'

import type { Config } from '../../config/config.js'
import type { EngineStats } from '../../engine/engine.js'

const BYTES_PER_TB = 1e12

/** What a query read and the CPU it took, priced. `stats` is absent when the query failed before it had any. */
export function queryUsage(
  prices: Config['queryPrices'],
  stats: EngineStats | undefined,
  cpuMicros: number,
): QueryUsage {
  const sources = (stats?.sources ?? []).map(({ catalog, table, rows, bytes }) => ({ catalog, table, rows, bytes }))
  const bytesScanned = sources.reduce((sum, source) => sum + source.bytes, 0)
  const cpuSeconds = cpuMicros / 1e6
  return {
    bytes_scanned: bytesScanned,
    rows_scanned: stats?.rows_scanned ?? 0,
    cpu_seconds: cpuSeconds,
    cost: roundCost((bytesScanned / BYTES_PER_TB) * prices.perTbScanned + cpuSeconds * prices.perCpuSecond),
    sources,
  }
}

/** Twelve significant digits: sums of binary fractions would otherwise show as 0.30000000000000004. */
export const roundCost = (cost: number) => Number(cost.toPrecision(12))

/** CPU time (user + system, µs) this process has used since `since`. */
export function cpuSince(since: NodeJS.CpuUsage): number {
  const spent = process.cpuUsage(since)
  return spent.user + spent.system
}
