import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

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

export interface Database {
  organizations: OrganizationsTable
  workspaces: WorkspacesTable
  projects: ProjectsTable
  users: UsersTable
  api_keys: ApiKeysTable
  audit_log: AuditLogTable
  connections: ConnectionsTable
  source_catalogs: SourceCatalogsTable
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
