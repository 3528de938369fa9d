import { z } from 'zod'

import { CatalogName } from './connections.js'
import { Id, ListQuery, listOf, Text, Timestamp } from './common.js'

export const APPROVAL_KINDS = ['project_tenant', 'project_dataset'] as const
export const ApprovalKind = z.enum(APPROVAL_KINDS).meta({
  id: 'ApprovalKind',
  description:
    '`project_tenant`: a project asks to be shared with another organization (its members may then read and ' +
    'query it); `project_dataset`: a project asks to read another organization’s dataset (it then appears to ' +
    'the project as a read-only catalog)',
})
export type ApprovalKind = z.infer<typeof ApprovalKind>

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'revoked'] as const
export const ApprovalStatus = z.enum(APPROVAL_STATUSES).meta({
  id: 'ApprovalStatus',
  description:
    '`pending` until an admin of the target organization approves or rejects it, or it expires ' +
    '(`TRIBUTARY_APPROVAL_EXPIRY_DAYS`, 15 by default); `approved` access lasts until it is `revoked`, or ' +
    'until it expires after the `access_days` it was approved for',
})
export type ApprovalStatus = z.infer<typeof ApprovalStatus>

export const Approval = z
  .object({
    id: Id,
    kind: ApprovalKind,
    status: ApprovalStatus,
    project_id: Id.meta({ description: 'The requesting project' }),
    project_name: z.string(),
    tenant_id: Id.nullable().meta({ description: 'The target organization (`project_tenant`); null otherwise' }),
    dataset_id: Id.nullable().meta({ description: 'The dataset asked for (`project_dataset`); null otherwise' }),
    dataset_name: z.string().nullable().meta({
      description: 'Shown to the requesting organization only once approved; null for `project_tenant`',
    }),
    catalog: z.string().nullable().meta({
      description: 'The read-only catalog the dataset appears as in the requesting project (`project_dataset`)',
    }),
    requested_by: z.string().meta({ description: 'The id of the user or key that asked' }),
    requester_name: z.string().nullable(),
    requester_email: z.string().nullable(),
    reviewed_by: z.string().nullable().meta({ description: 'The id of the user or key that approved or rejected' }),
    created_at: Timestamp,
    expires_at: Timestamp.nullable().meta({
      description: 'When a pending request expires, or an approved one’s access ends (null: until revoked)',
    }),
    reviewed_at: Timestamp.nullable(),
    rejection_reason: z.string().nullable(),
    revoked_at: Timestamp.nullable(),
  })
  .meta({ id: 'Approval' })
export type Approval = z.infer<typeof Approval>

export const RequestProjectTenant = z
  .strictObject({
    project_id: Id.meta({ description: 'A project of the caller’s organization' }),
    tenant_id: Id.meta({ description: 'The organization the project asks to be shared with' }),
  })
  .meta({ id: 'RequestProjectTenant' })
export type RequestProjectTenant = z.infer<typeof RequestProjectTenant>

export const RequestProjectDataset = z
  .strictObject({
    project_id: Id.meta({ description: 'A project of the caller’s organization' }),
    dataset_id: Id.meta({ description: 'A dataset of another organization' }),
    catalog: CatalogName.optional().meta({
      description: 'The name the dataset will have in the project, once approved; default `shared_<dataset name>`',
    }),
  })
  .meta({ id: 'RequestProjectDataset' })
export type RequestProjectDataset = z.infer<typeof RequestProjectDataset>

export const RejectApproval = z
  .strictObject({
    rejection_reason: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(2000, 'must be at most 2000 characters')
      .pipe(Text)
      .meta({ description: 'Why; shown to the requesting organization' }),
  })
  .meta({ id: 'RejectApproval' })
export type RejectApproval = z.infer<typeof RejectApproval>

export const ApproveApproval = z
  .strictObject({
    access_days: z
      .int('must be a whole number of days')
      .min(1, 'must be at least 1')
      .max(3650, 'must be at most 3650')
      .optional()
      .meta({ description: 'Days the access lasts, after which it expires; without it, until revoked' }),
  })
  .meta({ id: 'ApproveApproval' })
export type ApproveApproval = z.infer<typeof ApproveApproval>

export const PendingApprovals = z
  .object({
    project_tenant_approvals: z.array(Approval),
    project_dataset_approvals: z.array(Approval),
  })
  .meta({ id: 'PendingApprovals' })
export type PendingApprovals = z.infer<typeof PendingApprovals>

export const ApprovalListQuery = ListQuery.extend({
  direction: z
    .enum(['made', 'received'])
    .default('made')
    .meta({
      description:
        '`made`: the requests of the caller’s organization (default); `received`: the requests made to it, ' +
        'whatever their status (its admins only), e.g. `status=approved` for what it shares and may revoke',
    }),
  project_id: Id.optional().meta({ description: 'Only the requests of this (requesting) project' }),
  status: ApprovalStatus.optional(),
})
export type ApprovalListQuery = z.infer<typeof ApprovalListQuery>

export const ApprovalList = listOf(Approval).meta({ id: 'ApprovalList' })
export type ApprovalList = z.infer<typeof ApprovalList>
