import { errors } from '../../lib/errors.js'

export const approvalErrors = {
  notFound: (id: string) => errors.notFound('approval', id),
  ownOrganization: (field: 'tenant_id' | 'dataset_id') =>
    errors.invalidField(
      field,
      field === 'tenant_id'
        ? 'is the project’s own organization; its members see the project already'
        : 'is a dataset of the project’s own organization; approvals are for other organizations’ data',
    ),
  alreadyAsked: (status: string) =>
    errors.conflict(`this project already has a ${status} request for the same access; revoke it before asking again`),
  catalogTaken: (catalog: string) =>
    errors.conflict(`catalog '${catalog}' is already used in this project; choose another "catalog"`),
  notAdmin: () =>
    errors.authorization(
      'only admins of the organization asked (users with role admin, organization keys with the admin scope) decide',
    ),
  requesterCannotDecide: () =>
    errors.authorization('the requesting organization cannot approve or reject its own request; its target decides'),
  notPending: (status: string) => errors.conflict(`this request is ${status}, no longer pending`),
  expired: (row: { expires_at: Date | null; reviewed_at: Date | null }) =>
    errors.conflict(
      row.reviewed_at === null
        ? `this request expired at ${row.expires_at?.toISOString()} without a decision; the project may ask again`
        : `this access expired at ${row.expires_at?.toISOString()}; the project may ask again`,
    ),
  notApproved: (status: string) =>
    errors.conflict(`this request is ${status}: only pending or approved access is revoked`),
  projectGone: (id: string) =>
    errors.conflict(`the requesting project ${id} was deleted; this request cannot be approved`),
  datasetGone: (id: string) => errors.conflict(`dataset ${id} no longer exists; this request cannot be approved`),
}
