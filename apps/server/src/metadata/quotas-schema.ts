// The metadata tables of the quotas module (issue 15), part of `Database` in schema.ts.
import type { ColumnType } from 'kysely'

import type { Timestamp } from './column-types.js'

export interface QueryQuotasTable {
  organization_id: string
  daily_limit: number | null
  monthly_limit: number | null
  updated_at: Timestamp
}

/** Bigint columns read back as text (beyond 2^53 they would not fit a number). */
type BigCount = ColumnType<string, number, number>

export interface QueryCostsTable {
  job_id: string
  organization_id: string
  project_id: string
  bytes_scanned: BigCount
  rows_scanned: BigCount
  cpu_seconds: number
  cost: number
  ended_at: Timestamp
}

export interface QuotasTables {
  query_quotas: QueryQuotasTable
  query_costs: QueryCostsTable
}
