// The metadata tables of the approvals module (issue 15), part of `Database` in schema.ts.
import type { NullableTimestamp, Timestamp } from './column-types.js'

export interface ApprovalRequestsTable {
  id: string
  kind: 'project_tenant' | 'project_dataset'
  status: 'pending' | 'approved' | 'rejected' | 'expired' | 'revoked'
  /** The requesting organization. */
  organization_id: string
  project_id: string
  /** The organization whose admins decide. */
  target_organization_id: string
  dataset_id: string | null
  catalog: string | null
  /** A user id or an API key id, as `requested_by_type` says. */
  requested_by: string
  requested_by_type: 'user' | 'api_key'
  reviewed_by: string | null
  reviewed_at: NullableTimestamp
  rejection_reason: string | null
  revoked_by: string | null
  revoked_at: NullableTimestamp
  /** When a pending request expires, or an approved one's access ends (null: until revoked). */
  expires_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ApprovalsTables {
  approval_requests: ApprovalRequestsTable
}
