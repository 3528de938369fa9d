import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

import type { AccessPoliciesTables } from './access-policies-schema.js'
import type { ApprovalsTables } from './approvals-schema.js'
import type { NullableTimestamp, StoredSchedule, Timestamp } from './column-types.js'
import type { CredentialsTables } from './credentials-schema.js'
import type { DashboardsTables } from './dashboards-schema.js'
import type { QuotasTables } from './quotas-schema.js'
import type { WebhooksTables } from './webhooks-schema.js'
import type { WorkflowsTables } from './workflows-schema.js'

export interface OrganizationsTable {
  id: string
  name: string
  description: string | null
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface WorkspacesTable {
  id: string
  organization_id: string
  name: string
  description: string | null
  is_default: boolean
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface ProjectsTable {
  id: string
  organization_id: string
  workspace_id: string
  name: string
  description: string | null
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface UsersTable {
  id: string
  organization_id: string
  email: string
  name: string | null
  role: 'admin' | 'editor' | 'viewer'
  password_hash: string | null
  status: 'invited' | 'active'
  invite_token_hash: string | null
  invite_expires_at: NullableTimestamp
  sessions_valid_after: NullableTimestamp
  /** Custom attributes for `current_user_props(name)` (issue 15). */
  attributes: ColumnType<Record<string, string>, string | undefined, string>
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface ApiKeysTable {
  id: string
  kind: 'platform' | 'organization' | 'project'
  organization_id: string | null
  project_id: string | null
  name: string
  prefix: string
  secret_hash: string
  scopes: string[]
  /** Custom attributes for `current_user_props(name)`, for embedded use on behalf of an end user (issue 15). */
  attributes: ColumnType<Record<string, string>, string | undefined, string>
  expires_at: NullableTimestamp
  last_used_at: NullableTimestamp
  created_at: Timestamp
  revoked_at: NullableTimestamp
}

export interface AuditLogTable {
  id: string
  organization_id: string | null
  actor_type: 'api_key' | 'user' | 'system'
  actor_id: string | null
  action: string
  resource_type: string
  resource_id: string | null
  request_id: string | null
  details: ColumnType<Record<string, unknown> | null, string | null, string | null>
  created_at: Generated<Date>
}

export interface ConnectionsTable {
  id: string
  organization_id: string
  project_id: string
  name: string
  type: string
  catalog: string
  config: ColumnType<Record<string, unknown>, string, string>
  secrets: string | null
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface SourceCatalogsTable {
  connection_id: string
  snapshot: ColumnType<unknown, string, string>
  refreshed_at: Timestamp
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
type Json = ColumnType<Record<string, unknown>, string, string>
type NullableJson = ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>

export interface JobsTable {
  id: string
  organization_id: string
  project_id: string
  queue: string
  kind: string
  payload: Json
  status: JobStatus
  attempt: Generated<number>
  max_attempts: number
  run_after: Timestamp
  locked_by: string | null
  lease_expires_at: NullableTimestamp
  heartbeat_at: NullableTimestamp
  progress: NullableJson
  result: NullableJson
  error: NullableJson
  /** Who enqueued it (`{principal, request_id}`), so the job acts with the caller's rights. */
  created_by: NullableJson
  created_at: Timestamp
  started_at: NullableTimestamp
  ended_at: NullableTimestamp
  cancel_requested_at: NullableTimestamp
}

export interface DatasetsTable {
  id: string
  organization_id: string
  project_id: string
  name: string
  description: string | null
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface StoredColumn {
  name: string
  type: string
  nullable: boolean
  description: string | null
}

/** One immutable DuckDB file of a table's rows. */
export interface StoredSegment {
  id: string
  rows: number
  bytes: number
}

export interface DatasetTablesTable {
  id: string
  organization_id: string
  project_id: string
  dataset_id: string
  name: string
  description: string | null
  columns: ColumnType<StoredColumn[], string, string>
  segments: ColumnType<StoredSegment[], string | undefined, string>
  version: Generated<number>
  /** int8: exact, as a string. */
  row_count: ColumnType<string, string | number | undefined, string | number>
  size_bytes: ColumnType<string, string | number | undefined, string | number>
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface SavedQueryParameter {
  name: string
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'timestamp' | 'decimal'
  required: boolean
  default?: string | number | boolean | null
  description?: string
}

export interface SavedQueriesTable {
  id: string
  organization_id: string
  project_id: string
  display_name: string
  description: string | null
  sql: string
  /** The schema of `queries.<schema>.<display_name>`; null is `main` (0011). */
  sql_schema: ColumnType<string | null, string | null | undefined, string | null>
  parameters: ColumnType<SavedQueryParameter[], string, string>
  /** STANDARD or MATERIALIZED (0014). */
  query_type: ColumnType<'STANDARD' | 'MATERIALIZED', 'STANDARD' | 'MATERIALIZED' | undefined>
  /** A materialized query's schedule (the contract's `Schedule`); null for standard queries (0014). */
  schedule: ColumnType<StoredSchedule | null, string | null | undefined, string | null>
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

/** The contract's `Schedule`, as stored. */

/** The stored result of a materialized query (0014). */
export interface MaterializationsTable {
  query_id: string
  organization_id: string
  project_id: string
  status: ColumnType<MaterializationStatus, MaterializationStatus | undefined>
  version_id: string | null
  row_count: ColumnType<string | null, number | null | undefined, number | null>
  columns: ColumnType<{ name: string; type: string }[], string | undefined, string>
  sql_hash: string | null
  job_id: string | null
  last_execution_start_time: NullableTimestamp
  last_execution_end_time: NullableTimestamp
  last_success_time: NullableTimestamp
  consecutive_failures: ColumnType<number, number | undefined, number>
  error: ColumnType<{ code: string; message: string } | null, string | null | undefined, string | null>
  updated_at: Timestamp
}
export type MaterializationStatus = 'NOT_INITIALIZED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED'
export type MaterializationRow = Selectable<MaterializationsTable>

export interface ExportsTable {
  /** The id of its job on the queue. */
  id: string
  organization_id: string
  project_id: string
  source: 'query_job' | 'table'
  query_job_id: string | null
  dataset_id: string | null
  table_id: string | null
  format: 'CSV' | 'JSON' | 'AVRO' | 'PARQUET'
  compression: 'GZIP' | 'DEFLATE' | 'ZSTD' | 'SNAPPY' | 'NONE'
  file_name: string | null
  /** int8: exact, as a string. */
  row_count: ColumnType<string | null, string | number | null | undefined, string | number | null>
  size_bytes: ColumnType<string | null, string | number | null | undefined, string | number | null>
  completed_at: NullableTimestamp
  created_at: Timestamp
}

/** Who wrote a piece of metadata: a person, the source (detected on refresh), or a generator (AI). */
export type MetadataSource = 'user' | 'detected' | 'generated'

/** One column of a table's metadata, as kept in `table_metadata.columns`. */
export interface StoredMetadataColumn {
  name: string
  /** The engine's (DuckDB) type. */
  type: string
  /** The type as the source names it, when known. */
  source_type: string | null
  description: string | null
  description_source: MetadataSource | null
  is_primary: boolean
  /** 'detected' from the source's keys, 'user' when set by PUT (then a refresh keeps it). */
  primary_source: MetadataSource | null
  is_categorical: boolean
  categorical_values: string[]
  categorical_limit: number | null
  categorical_refresh: string | null
  sample_values: string[]
  /** Where a column of a view or semantic table comes from. */
  lineage: { catalog: string; schema: string; table: string; column: string }[] | null
  missing: boolean
}

export interface TableMetadataTable {
  id: string
  organization_id: string
  project_id: string
  catalog: string
  schema_name: string
  table_name: string
  description: string | null
  description_source: MetadataSource | null
  use_with_ai: boolean | null
  /** int8: exact, as a string. */
  row_estimate: ColumnType<string | null, string | number | null | undefined, string | number | null>
  columns: ColumnType<StoredMetadataColumn[], string | undefined, string>
  status: ColumnType<'present' | 'missing', 'present' | 'missing' | undefined, 'present' | 'missing'>
  refreshed_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface MetadataScopesTable {
  id: string
  organization_id: string
  project_id: string
  catalog: string
  /** '' for the whole catalog. */
  schema_name: ColumnType<string, string | undefined, string>
  use_with_ai: boolean
  created_at: Timestamp
  updated_at: Timestamp
}

export type RelationType = 'MANY_TO_ONE' | 'ONE_TO_MANY' | 'ONE_TO_ONE'
export type RelationOrigin = 'foreign_key' | 'inferred' | 'manual'

export interface TableRelationsTable {
  id: string
  organization_id: string
  project_id: string
  name: string | null
  from_catalog: string
  from_schema: string
  from_table: string
  from_columns: string[]
  to_catalog: string
  to_schema: string
  to_table: string
  to_columns: string[]
  type: RelationType
  origin: RelationOrigin
  confidence: number | null
  dismissed: ColumnType<boolean, boolean | undefined, boolean>
  description: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface CategoricalSchedulesTable {
  id: string
  organization_id: string
  project_id: string
  catalog: string
  schema_name: string
  table_name: string
  column_name: string
  value_limit: number
  refresh: string | null
  last_run_at: NullableTimestamp
  last_error: NullableJson
  /** {principal, request_id} of who set the schedule: scheduled runs act as them, as jobs do. */
  created_by: NullableJson
  created_at: Timestamp
  updated_at: Timestamp
}

/** One schedule of the scheduler: a module's task for one key (a cache, a column, …). */
export interface SchedulesTable {
  id: string
  organization_id: string
  project_id: string
  /** The job queue its runs go to; null: any (schedules made before the scheduler). */
  queue: string | null
  task: string
  key: string
  /** The contract's `Schedule`: {type: cron, cron, timezone} | {type: interval, every} | {type: none}. */
  schedule: Json
  /** Given to every job of the schedule, with `schedule_id` and `scheduled_for` added. */
  payload: Json
  /** {principal, request_id} of who set the schedule: its jobs act as them. */
  created_by: NullableJson
  next_run_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

/** One claimed occurrence of a schedule; how it went is its job's. */
export interface ScheduleRunsTable {
  id: string
  schedule_id: string
  scheduled_for: Timestamp
  job_id: string
  created_at: Timestamp
}

export interface GoldenSqlTable {
  id: string
  organization_id: string
  project_id: string
  question: string
  sql: string
  description: string | null
  parameters: ColumnType<SavedQueryParameter[], string, string>
  /** The tables the SQL names, as written. */
  tables: ColumnType<string[], string, string>
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface SemanticCatalogsTable {
  id: string
  organization_id: string
  project_id: string
  name: string
  description: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

/** Where a column of a semantic table comes from. */
export interface SemanticColumnLineage {
  catalog: string
  schema: string
  table: string
  column: string
}

export interface SemanticColumn {
  name: string
  type: string
  description: string | null
  lineage: SemanticColumnLineage[]
}

export interface SemanticTablesTable {
  id: string
  organization_id: string
  project_id: string
  catalog_id: string
  schema_name: string
  table_name: string
  query_id: string
  description: string | null
  columns: ColumnType<SemanticColumn[], string, string>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface SemanticCatalogSharesTable {
  catalog_id: string
  organization_id: string
  project_id: string
  created_at: Timestamp
}

export type CacheStatus = 'NOT_INITIALIZED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED'
type StoredRunError = ColumnType<{ code: string; message: string } | null, string | null | undefined, string | null>

/** A copy of a source table kept in the platform's files (0013). */
export interface CachesTable {
  id: string
  organization_id: string
  project_id: string
  connection_id: string
  catalog: string
  schema_name: string
  table_name: string
  incremental: ColumnType<
    { cursor_column: string; primary_key: string[] | null; soft_delete_column: string | null } | null,
    string | null,
    string | null
  >
  full_refresh_schedule: ColumnType<StoredSchedule, string, string>
  incremental_schedule: ColumnType<StoredSchedule, string, string>
  status: ColumnType<CacheStatus, CacheStatus | undefined>
  version_id: string | null
  row_count: ColumnType<string | null, number | null | undefined, number | null>
  /** The column names of the current version: a copy that lacks a column the source now has is not read. */
  columns: ColumnType<string[] | null, string | null | undefined, string | null>
  cursor_value: string | null
  refreshed_at: NullableTimestamp
  job_id: string | null
  progress: ColumnType<CacheProgress | null, string | null | undefined, string | null>
  consecutive_failures: ColumnType<number, number | undefined, number>
  error: StoredRunError
  created_at: Timestamp
  updated_at: Timestamp
}

export interface CacheProgress {
  mode: 'full' | 'incremental'
  rows_inserted: number
  rows_updated: number
  rows_deleted: number
}

/** One refresh of a cache, asked for or scheduled (0013). */
export interface CacheRunsTable {
  id: string
  cache_id: string
  job_id: string
  mode: 'full' | 'incremental'
  trigger: 'manual' | 'schedule'
  status: Exclude<CacheStatus, 'NOT_INITIALIZED'>
  scheduled_for: NullableTimestamp
  started_at: Timestamp
  ended_at: NullableTimestamp
  rows_inserted: ColumnType<string, number | undefined, number>
  rows_updated: ColumnType<string, number | undefined, number>
  rows_deleted: ColumnType<string, number | undefined, number>
  row_count: ColumnType<string | null, number | null | undefined, number | null>
  cursor_value: string | null
  error: StoredRunError
}

export interface AskThreadsTable {
  id: string
  organization_id: string
  project_id: string
  title: string
  created_by_type: 'api_key' | 'user'
  created_by_id: string
  message_count: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

type JsonOf<T> = ColumnType<T, string, string>

export interface AskMessagesTable {
  id: string
  thread_id: string
  organization_id: string
  project_id: string
  question: string
  answered: boolean
  reason: string | null
  sql: string | null
  columns: JsonOf<{ name: string; type: string }[]>
  rows: JsonOf<unknown[][]>
  row_count: number
  truncated: boolean
  answer: string | null
  steps: JsonOf<AskStepRecord[]>
  model: string
  golden_sql_id: string | null
  input_tokens: number
  output_tokens: number
  execution_time_ms: number
  feedback: ColumnType<AskFeedbackRecord | null, string | null | undefined, string | null>
  created_at: Timestamp
}

export interface AskStepRecord {
  name: 'context' | 'retrieve' | 'golden_sql' | 'generate' | 'validate' | 'execute' | 'answer'
  status: 'ok' | 'failed' | 'skipped'
  attempt: number | null
  input: string | null
  output: string | null
  duration_ms: number
  input_tokens: number | null
  output_tokens: number | null
}

export interface AskFeedbackRecord {
  correct: boolean
  sql: string | null
  golden_sql_id: string | null
  at: string
}

/** An organization's language model settings (issue 12); `api_key` is sealed. */
export interface AiSettingsTable {
  organization_id: string
  provider: 'openai' | 'anthropic' | 'openai-compatible' | 'none' | null
  model: string | null
  base_url: string | null
  api_key: string | null
  embedding_model: string | null
  /** int8: a string from node-postgres. */
  monthly_token_budget: ColumnType<string | number | null, number | null, number | null>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface AiPoliciesTable {
  project_id: string
  organization_id: string
  share_values: boolean
  share_rows: boolean
  created_at: Timestamp
  updated_at: Timestamp
}

export interface AiUsageTable {
  id: string
  organization_id: string
  project_id: string | null
  feature: 'ask' | 'generate' | 'suggest' | 'search'
  provider: string
  model: string
  input_tokens: number
  output_tokens: number
  created_at: Timestamp
}

export interface AgentsTable {
  id: string
  organization_id: string
  name: string
  description: string | null
  protocol: 'A2A' | 'MCP'
  endpoint_url: string
  capabilities: ColumnType<Record<string, unknown>, string, string>
  agent_metadata: ColumnType<Record<string, unknown>, string, string>
  auth_type: 'bearer' | 'header' | null
  auth_header: string | null
  /** Sealed with the agent secret box; never returned. */
  auth_secret: string | null
  status: 'pending' | 'active' | 'unreachable' | 'invalid'
  status_reason: string | null
  tested_at: NullableTimestamp
  max_requests_per_second: number | null
  max_requests_per_minute: number | null
  max_requests_per_hour: number | null
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface ProjectAgentsTable {
  project_id: string
  agent_id: string
  organization_id: string
  role: string | null
  created_at: Timestamp
}

export interface AgentRateCountersTable {
  agent_id: string
  window_name: string
  /** int8 (ms since the epoch): a string from node-postgres. */
  window_start: ColumnType<string, number, number>
  count: number
}

export interface Database
  extends
    DashboardsTables,
    CredentialsTables,
    WorkflowsTables,
    WebhooksTables,
    QuotasTables,
    ApprovalsTables,
    AccessPoliciesTables {
  organizations: OrganizationsTable
  workspaces: WorkspacesTable
  projects: ProjectsTable
  users: UsersTable
  api_keys: ApiKeysTable
  audit_log: AuditLogTable
  connections: ConnectionsTable
  source_catalogs: SourceCatalogsTable
  datasets: DatasetsTable
  dataset_tables: DatasetTablesTable
  jobs: JobsTable
  saved_queries: SavedQueriesTable
  materializations: MaterializationsTable
  exports: ExportsTable
  golden_sql: GoldenSqlTable
  semantic_catalogs: SemanticCatalogsTable
  semantic_tables: SemanticTablesTable
  semantic_catalog_shares: SemanticCatalogSharesTable
  table_metadata: TableMetadataTable
  metadata_scopes: MetadataScopesTable
  table_relations: TableRelationsTable
  categorical_schedules: CategoricalSchedulesTable
  schedules: SchedulesTable
  schedule_runs: ScheduleRunsTable
  caches: CachesTable
  cache_runs: CacheRunsTable
  ai_settings: AiSettingsTable
  ai_policies: AiPoliciesTable
  ai_usage: AiUsageTable
  ask_threads: AskThreadsTable
  ask_messages: AskMessagesTable
  agents: AgentsTable
  project_agents: ProjectAgentsTable
  agent_rate_counters: AgentRateCountersTable
}

export type OrganizationRow = Selectable<OrganizationsTable>
export type WorkspaceRow = Selectable<WorkspacesTable>
export type ProjectRow = Selectable<ProjectsTable>
export type UserRow = Selectable<UsersTable>
export type ApiKeyRow = Selectable<ApiKeysTable>
export type AuditRow = Selectable<AuditLogTable>
export type NewAuditRow = Insertable<AuditLogTable>
export type ProjectUpdate = Updateable<ProjectsTable>
export type ConnectionRow = Selectable<ConnectionsTable>
export type JobRow = Selectable<JobsTable>
export type DatasetRow = Selectable<DatasetsTable>
export type DatasetTableRow = Selectable<DatasetTablesTable>
export type SavedQueryRow = Selectable<SavedQueriesTable>
export type ExportRow = Selectable<ExportsTable>
export type GoldenSqlRow = Selectable<GoldenSqlTable>
export type SemanticCatalogRow = Selectable<SemanticCatalogsTable>
export type SemanticTableRow = Selectable<SemanticTablesTable>
export type TableMetadataRow = Selectable<TableMetadataTable>
export type MetadataScopeRow = Selectable<MetadataScopesTable>
export type TableRelationRow = Selectable<TableRelationsTable>
export type CategoricalScheduleRow = Selectable<CategoricalSchedulesTable>
export type ScheduleRow = Selectable<SchedulesTable>
export type ScheduleRunRow = Selectable<ScheduleRunsTable>
export type CacheRow = Selectable<CachesTable>
export type CacheRunRow = Selectable<CacheRunsTable>
export type AiSettingsRow = Selectable<AiSettingsTable>
export type AiPolicyRow = Selectable<AiPoliciesTable>
export type AskThreadRow = Selectable<AskThreadsTable>
export type AskMessageRow = Selectable<AskMessagesTable>
export type AgentRow = Selectable<AgentsTable>
export type ProjectAgentRow = Selectable<ProjectAgentsTable>

export type { StoredSchedule }
