// The metadata tables of the dashboards module (issue 14), part of `Database` in schema.ts.
import type { ColumnType } from 'kysely'

import type { NullableTimestamp, StoredSchedule, Timestamp } from './column-types.js'

/** A widget as stored: what was asked for, plus the SQL a question was turned into when saved. */
export interface StoredWidget {
  id: string
  type: 'metric' | 'table' | 'bar' | 'line' | 'area' | 'pie' | 'scatter' | 'text'
  title: string
  query_id: string | null
  sql: string | null
  question: string | null
  resolved_sql: string | null
  parameters: Record<string, unknown> | null
  position: { x: number; y: number; w: number; h: number }
  config: Record<string, unknown>
}

/** What a widget's computation produced: its rows, or why there are none. */
export interface StoredWidgetResult {
  columns: { name: string; type: string }[]
  rows: unknown[][]
  row_count: number
  truncated: boolean
  error: { code: string; message: string } | null
}

export interface DashboardsTable {
  id: string
  organization_id: string
  project_id: string
  name: string
  description: string | null
  widgets: ColumnType<StoredWidget[], string, string>
  refresh: ColumnType<StoredSchedule, string, string>
  /** `{principal, request_id}` of the last save. */
  computed_as: ColumnType<Record<string, unknown>, string, string>
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface DashboardWidgetResultsTable {
  dashboard_id: string
  widget_id: string
  source_key: string
  result: ColumnType<StoredWidgetResult, string, string>
  computed_at: Timestamp
}

export interface DashboardsTables {
  dashboards: DashboardsTable
  dashboard_widget_results: DashboardWidgetResultsTable
}
