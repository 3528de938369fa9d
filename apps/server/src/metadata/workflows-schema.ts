// The metadata tables of the workflows module (issue 14), part of `Database` in schema.ts.
import type {
  WorkflowAction,
  WorkflowActionResult,
  WorkflowRunStatus,
  WorkflowStep,
  WorkflowStepResult,
  WorkflowTrigger,
} from '@tributary/contract'
import type { ColumnType, Selectable } from 'kysely'

import type { NullableTimestamp, Timestamp } from './column-types.js'

/** A jsonb column: written as JSON text, read as the value. */
type Json<T> = ColumnType<T, string, string>

export interface WorkflowsTable {
  id: string
  organization_id: string
  project_id: string
  name: string
  description: string | null
  trigger: Json<WorkflowTrigger>
  steps: Json<WorkflowStep[]>
  actions: Json<WorkflowAction[]>
  is_active: boolean
  timeout_seconds: number
  revision: ColumnType<number, number | undefined, number>
  /** Sealed with the outbound secret box. */
  signing_secret: string
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface WorkflowRunsTable {
  id: string
  workflow_id: string
  organization_id: string
  project_id: string
  workflow_revision: number
  trigger: 'manual' | 'schedule'
  status: WorkflowRunStatus
  job_id: string | null
  scheduled_for: NullableTimestamp
  started_at: NullableTimestamp
  ended_at: NullableTimestamp
  steps: ColumnType<WorkflowStepResult[], string | undefined, string>
  actions: ColumnType<WorkflowActionResult[], string | undefined, string>
  error: ColumnType<{ code: string; message: string } | null, string | null | undefined, string | null>
  created_at: Timestamp
}

export interface WorkflowsTables {
  workflows: WorkflowsTable
  workflow_runs: WorkflowRunsTable
}

export type WorkflowRow = Selectable<WorkflowsTable>
export type WorkflowRunRow = Selectable<WorkflowRunsTable>
