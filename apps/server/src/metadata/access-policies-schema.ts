// The metadata tables of the access-policies module (issue 15), part of `Database` in schema.ts.
import type { Selectable } from 'kysely'

import type { Timestamp } from './column-types.js'

export interface PrivacyPoliciesTable {
  id: string
  organization_id: string
  project_id: string
  /** Null, with schema, table and column, when the policy selects its columns by `tag`. */
  catalog: string | null
  schema: string | null
  table: string | null
  column: string | null
  tag: string | null
  mask: 'redact' | 'nullify' | 'last4' | 'first4' | 'year_only' | 'hash' | 'custom'
  expression: string | null
  except_roles: string[]
  except_users: string[]
  created_at: Timestamp
  updated_at: Timestamp
}
export type PrivacyPolicyRow = Selectable<PrivacyPoliciesTable>

export interface RowPoliciesTable {
  id: string
  organization_id: string
  project_id: string
  catalog: string
  schema: string
  table: string
  filter: string
  applies_to_roles: string[]
  created_at: Timestamp
  updated_at: Timestamp
}
export type RowPolicyRow = Selectable<RowPoliciesTable>

export interface ColumnTagsTable {
  id: string
  organization_id: string
  project_id: string
  catalog: string
  schema: string
  table: string
  column: string
  tag: string
  created_at: Timestamp
}
export type ColumnTagRow = Selectable<ColumnTagsTable>

export interface AccessPoliciesTables {
  privacy_policies: PrivacyPoliciesTable
  row_policies: RowPoliciesTable
  column_tags: ColumnTagsTable
}
