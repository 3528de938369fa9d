import { createRoute, z } from '@hono/zod-openapi'
import {
  Approval,
  ApprovalList,
  ApprovalListQuery,
  ApproveApproval,
  Id,
  PendingApprovals,
  RejectApproval,
  RequestProjectDataset,
  RequestProjectTenant,
} from '@tributary/contract'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
} from '../../http/router.js'
import type { ApprovalsService } from './approvals.service.js'

const tags = ['Approvals']
const ApprovalParams = z.object({ approval_id: Id })

const REQUESTERS =
  'Editors and admins of the project’s organization, organization keys with the `admin` scope, the project’s ' +
  'key with the `admin` scope. Audited.'
const DECIDERS =
  'Admins of the organization asked (users with role `admin`, organization keys with the `admin` scope); ' +
  'others of that organization get 403, the requesting organization gets 403 (it cannot decide for itself), ' +
  'anyone else 404. Audited.'
const LIFE =
  'A request is `pending` until decided; it expires after `TRIBUTARY_APPROVAL_EXPIRY_DAYS` (15 by default) ' +
  'without a decision, and approving or rejecting it then answers 409. Approved access lasts until revoked.'

export function approvalsRoutes(approvals: ApprovalsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/approvals/project-tenant',
        tags,
        summary: 'Ask another organization to share a project with it',
        description:
          `${REQUESTERS} Once approved, the other organization’s members may read and query the project. ` +
          `Asking one’s own organization is 422; a pending or approved request for the same pair is 409. ${LIFE}`,
        security: bearerSecurity,
        request: { body: jsonBody(RequestProjectTenant) },
        responses: {
          201: jsonResponse(Approval, 'The request, pending'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => c.json(await approvals.requestProjectTenant(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/approvals/project-dataset',
        tags,
        summary: 'Ask another organization to let a project read one of its datasets',
        description:
          `${REQUESTERS} Once approved, the dataset appears in the project as the read-only catalog ` +
          '`catalog` (default `shared_<dataset name>`), with one schema named as the dataset: ' +
          '`SELECT … FROM shared_sales.sales.orders`. Before approval, and after expiry or revocation, nothing of ' +
          'it is visible (unknown catalog). A dataset of one’s own organization is 422; a pending or approved ' +
          `request for the same dataset, or a catalog name in use, is 409. ${LIFE}`,
        security: bearerSecurity,
        request: { body: jsonBody(RequestProjectDataset) },
        responses: {
          201: jsonResponse(Approval, 'The request, pending'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => c.json(await approvals.requestProjectDataset(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/approvals/pending',
        tags,
        summary: 'List the requests waiting for the caller’s organization',
        description: 'Admins of the organization asked; others get 403. Oldest first; expired requests are left out.',
        security: bearerSecurity,
        responses: {
          200: jsonResponse(PendingApprovals, 'Pending requests, by kind'),
          ...errorResponses(...AUTHENTICATED_ERRORS),
        },
      }),
      async (c) => c.json(await approvals.pending(contextOf(c)), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/approvals',
        tags,
        summary: 'List the requests the caller’s organization made or received',
        description:
          '`direction=made` (default): members of the requesting organization; a project key sees its project’s ' +
          'only; `dataset_name` is shown once a dataset request is approved. `direction=received`: the ' +
          'organization’s admins (others get 403), every request made to it whatever its status. Newest first, ' +
          'paged by `cursor`.',
        security: bearerSecurity,
        request: { query: ApprovalListQuery },
        responses: {
          200: jsonResponse(ApprovalList, 'Requests'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await approvals.list(contextOf(c), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/approvals/{approval_id}',
        tags,
        summary: 'Get a request',
        description:
          'Members of the requesting organization (a project key: its project’s requests), admins of the ' +
          'organization asked; anyone else gets 404.',
        security: bearerSecurity,
        request: { params: ApprovalParams },
        responses: {
          200: jsonResponse(Approval, 'The request'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await approvals.get(contextOf(c), c.req.valid('param').approval_id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/approvals/{approval_id}/approve',
        tags,
        summary: 'Approve a pending request',
        description:
          `${DECIDERS} The access lasts until revoked, or \`access_days\` (then \`expires_at\` says when it ` +
          'ends, and it reads `expired` from then on). A request no longer pending (decided, revoked, expired) is 409.',
        security: bearerSecurity,
        // Optional: without a body the validator passes `{}`.
        request: { params: ApprovalParams, body: { ...jsonBody(ApproveApproval), required: false } },
        responses: {
          200: jsonResponse(Approval, 'The request, approved'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await approvals.approve(contextOf(c), c.req.valid('param').approval_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/approvals/{approval_id}/reject',
        tags,
        summary: 'Reject a pending request, saying why',
        description: `${DECIDERS} A request no longer pending is 409. The reason is shown to the requesters.`,
        security: bearerSecurity,
        request: { params: ApprovalParams, body: jsonBody(RejectApproval) },
        responses: {
          200: jsonResponse(Approval, 'The request, rejected'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await approvals.reject(contextOf(c), c.req.valid('param').approval_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/approvals/{approval_id}/revoke',
        tags,
        summary: 'Revoke approved access, or withdraw a request',
        description:
          'Admins of the organization asked revoke approved access; the requesting project’s editors and admins ' +
          '(and keys with the `admin` scope) withdraw a pending or approved request. Takes effect at once: the ' +
          'shared catalog or project is gone from the next query. Anything else is 409. Audited.',
        security: bearerSecurity,
        request: { params: ApprovalParams },
        responses: {
          200: jsonResponse(Approval, 'The request, revoked'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409),
        },
      }),
      async (c) => c.json(await approvals.revoke(contextOf(c), c.req.valid('param').approval_id), 200),
    )
}
