import type {
  Approval,
  ApprovalList,
  ApproveApproval,
  ApprovalListQuery,
  ApprovalStatus,
  PendingApprovals,
  RejectApproval,
  RequestProjectDataset,
  RequestProjectTenant,
} from '@tributary/contract'
import { CatalogName } from '@tributary/contract'

import { hasPermission, requireProjectWrite, requireTenant } from '../../auth/access.js'
import { actorOf, type RequestContext, type TenantContext } from '../../auth/principal.js'
import type { JobHandler } from '../../jobs/queue.js'
import { errors } from '../../lib/errors.js'
import { newId } from '../../lib/ids.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { Logger } from '../../lib/logger.js'
import type { MetadataDb } from '../../metadata/database.js'
import { isUniqueViolation, toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { Scheduler } from '../../scheduler/scheduler.js'
import type { AuditService } from '../audit/audit.service.js'
import type { CatalogsService } from '../catalogs/catalogs.service.js'
import type { InternalCatalogService } from '../datasets/internal-catalog.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { approvalErrors } from './approvals.errors.js'
import { type ApprovalRow, ApprovalsRepo, type ApprovalView } from './approvals.repo.js'
import { sharedDatasetOf } from './shared-catalogs.js'

/** The scheduled task (and job kind) that marks pending requests past their time expired. */
export const APPROVAL_EXPIRY_TASK = 'approvals.expire'

export interface ApprovalsDeps {
  projects: ProjectsService
  catalogs: CatalogsService
  datasets: InternalCatalogService
  audit: AuditService
  scheduler: Scheduler
  now: () => Date
  /** Days a pending request waits for the target organization (`TRIBUTARY_APPROVAL_EXPIRY_DAYS`). */
  expiryDays: number
  /** Told when what a project sees of another organization changed: metadata listings and search forget it. */
  accessChanged?: (projectId: string) => void
  /** Removes what the project stored about a catalog no longer shared with it (the metadata module's), in `trx`. */
  forgetCatalog?: (trx: MetadataDb, organizationId: string, projectId: string, catalog: string) => Promise<void>
  logger?: Logger
}

interface ExpiryPayload {
  approval_id: string
}

const DAY_MS = 86_400_000

/**
 * Cross-organization approvals (issue 15). A project of organization A asks organization B either to
 * be shared with B (`project_tenant`) or to read one of B's datasets (`project_dataset`); B's admins
 * approve or reject; pending requests expire after `expiryDays`; approved access is revoked by B's
 * admins or withdrawn by the project. An approved dataset is a read-only catalog of the project (this
 * service contributes it); nothing of B is visible to A otherwise.
 *
 * Expiry is read from the clock wherever a status matters (a pending request, or an access approved
 * for some days, past `expires_at` is `expired`), and a job of the scheduler writes it down: one
 * schedule per request, due when its request or its access runs out, replaced when it is decided.
 */
export class ApprovalsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly deps: ApprovalsDeps,
  ) {}

  readonly jobHandler: JobHandler<ExpiryPayload> = {
    kind: APPROVAL_EXPIRY_TASK,
    // Marking expired what is past its time is idempotent.
    retryable: true,
    run: async () => ({ expired: await this.expireDue() }),
  }

  async requestProjectTenant(ctx: RequestContext, input: RequestProjectTenant): Promise<Approval> {
    const tenant = await this.#requester(ctx, input.project_id)
    const organizationId = tenant.principal.organizationId
    if (input.tenant_id === organizationId) throw approvalErrors.ownOrganization('tenant_id')
    const target = await this.db
      .selectFrom('organizations')
      .select('id')
      .where('id', '=', input.tenant_id)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
    if (!target) throw errors.notFound('organization', input.tenant_id)
    return this.#insert(ctx, tenant, {
      kind: 'project_tenant',
      project_id: input.project_id,
      target_organization_id: input.tenant_id,
      dataset_id: null,
      catalog: null,
    })
  }

  async requestProjectDataset(ctx: RequestContext, input: RequestProjectDataset): Promise<Approval> {
    const tenant = await this.#requester(ctx, input.project_id)
    const organizationId = tenant.principal.organizationId
    const owner = await this.deps.datasets.datasetOwner(input.dataset_id)
    if (!owner) throw errors.notFound('dataset', input.dataset_id)
    if (owner.organizationId === organizationId) throw approvalErrors.ownOrganization('dataset_id')
    const catalog = input.catalog ?? defaultCatalog(owner.name)
    if (
      (await this.deps.catalogs.isTaken(tenant, input.project_id, catalog)) ||
      (await new ApprovalsRepo(this.db).catalogHeld(organizationId, input.project_id, catalog, this.deps.now()))
    ) {
      throw approvalErrors.catalogTaken(catalog)
    }
    return this.#insert(ctx, tenant, {
      kind: 'project_dataset',
      project_id: input.project_id,
      target_organization_id: owner.organizationId,
      dataset_id: input.dataset_id,
      catalog,
    })
  }

  /** What waits for the caller's organization: admins only. */
  async pending(ctx: RequestContext): Promise<PendingApprovals> {
    const tenant = this.#admin(ctx)
    const rows = (await new ApprovalsRepo(this.db).pendingFor(tenant.principal.organizationId)).filter(
      (row) => this.#status(row) === 'pending',
    )
    const views = rows.map((row) => this.#toApproval(row, 'target'))
    return {
      project_tenant_approvals: views.filter((view) => view.kind === 'project_tenant'),
      project_dataset_approvals: views.filter((view) => view.kind === 'project_dataset'),
    }
  }

  /**
   * The requests the caller's organization made (a project key: its project's), or, for its admins,
   * those made to it; newest first, a page at a time.
   */
  async list(ctx: RequestContext, query: ApprovalListQuery): Promise<ApprovalList> {
    const after = decodeCursor(query.cursor)
    const filter = { status: query.status, now: this.deps.now(), after, limit: query.limit }
    const repo = new ApprovalsRepo(this.db)
    if (query.direction === 'received') {
      const { principal } = this.#admin(ctx)
      const rows = await repo.page('target', principal.organizationId, { ...filter, projectId: query.project_id })
      return toPage(rows, query.limit, (row) => this.#toApproval(row, 'target'))
    }
    const { principal } = requireTenant(ctx)
    let projectId = query.project_id
    if (projectId !== undefined) await this.deps.projects.require(ctx, projectId, 'read')
    if (principal.kind === 'project') projectId = principal.projectId
    const rows = await repo.page('requester', principal.organizationId, { ...filter, projectId })
    return toPage(rows, query.limit, (row) => this.#toApproval(row, 'requester'))
  }

  async get(ctx: RequestContext, id: string): Promise<Approval> {
    const { row, side } = await this.#visible(ctx, id)
    if (side === 'target') this.#admin(ctx)
    return this.#toApproval(row, side)
  }

  /** Grants the access asked for, until revoked or for `access_days`. */
  async approve(ctx: RequestContext, id: string, input: ApproveApproval): Promise<Approval> {
    return this.#decide(ctx, id, { decision: 'approve', accessDays: input.access_days })
  }

  async reject(ctx: RequestContext, id: string, input: RejectApproval): Promise<Approval> {
    return this.#decide(ctx, id, { decision: 'reject', reason: input.rejection_reason })
  }

  /**
   * Ends access: the target organization's admins revoke an approved request; the requesting
   * project's writers withdraw a pending or approved one. Takes effect with the next read.
   */
  async revoke(ctx: RequestContext, id: string): Promise<Approval> {
    const { row: seen, side } = await this.#visible(ctx, id)
    const tenant = side === 'target' ? this.#admin(ctx) : requireProjectWrite(ctx, seen.project_id)
    await this.db.transaction().execute(async (trx) => {
      const repo = new ApprovalsRepo(trx)
      const row = (await repo.lock(id))!
      const status = this.#status(row)
      const revocable = side === 'target' ? status === 'approved' : status === 'approved' || status === 'pending'
      if (!revocable) {
        if (status === 'expired') throw approvalErrors.expired(row)
        throw approvalErrors.notApproved(status)
      }
      const now = this.deps.now()
      const actor = actorOf(tenant.principal).actor_id
      await repo.update(id, { status: 'revoked', revoked_at: now, revoked_by: actor, updated_at: now })
      await this.deps.scheduler.remove(trx, APPROVAL_EXPIRY_TASK, id)
      if (status === 'approved' && row.kind === 'project_dataset') {
        await this.deps.forgetCatalog?.(trx, row.organization_id, row.project_id, row.catalog!)
      }
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'approval', {
        action: status === 'pending' ? 'approval.withdraw' : 'approval.revoke',
        id,
        details: { kind: row.kind, project_id: row.project_id },
      })
    })
    this.deps.accessChanged?.(seen.project_id)
    return this.get(ctx, id)
  }

  /** Marks every request and access past its time expired (the scheduled job); returns how many. */
  async expireDue(): Promise<number> {
    const expired = await this.db.transaction().execute((trx) => this.#expire(trx))
    this.#accessEnded(expired)
    if (expired.length > 0) this.deps.logger?.info({ approvals: expired.length }, 'approvals expired')
    return expired.length
  }

  /**
   * The organization that shares the project with `organizationId` through an approved, unrevoked
   * `project_tenant` request, if any: `ProjectsService` lets that organization's members read and
   * query the project as viewers (and nothing more).
   */
  async sharedProjectOwner(organizationId: string, projectId: string): Promise<string | undefined> {
    return new ApprovalsRepo(this.db).tenantGrantOwner(organizationId, projectId, this.deps.now())
  }

  /** Names held by the project's pending or approved dataset requests in time: no connection may take them. */
  async isCatalogHeld(checked: TenantContext, projectId: string, name: string): Promise<boolean> {
    const { organizationId } = checked.principal
    return new ApprovalsRepo(this.db).catalogHeld(organizationId, projectId, name.toLowerCase(), this.deps.now())
  }

  /** The dataset of an approved request while it lives in the organization that approved it. */
  async #sharedOf(row: ApprovalRow) {
    return sharedDatasetOf(this.deps.datasets, row)
  }

  async #decide(
    ctx: RequestContext,
    id: string,
    outcome: { decision: 'approve'; accessDays: number | undefined } | { decision: 'reject'; reason: string },
  ): Promise<Approval> {
    const { decision } = outcome
    const { row: seen, side } = await this.#visible(ctx, id)
    if (side === 'requester') throw approvalErrors.requesterCannotDecide()
    const tenant = this.#admin(ctx)
    if (decision === 'approve' && seen.project_archived_at !== null) throw approvalErrors.projectGone(seen.project_id)
    // Checked before the transaction: it reads other modules' tables, outside it.
    if (decision === 'approve' && seen.kind === 'project_dataset' && this.#status(seen) === 'pending') {
      await this.#checkShareable(ctx, seen)
    }
    await this.db.transaction().execute(async (trx) => {
      const repo = new ApprovalsRepo(trx)
      const row = (await repo.lock(id))!
      const status = this.#status(row)
      if (status === 'expired') throw approvalErrors.expired(row)
      if (status !== 'pending') throw approvalErrors.notPending(status)
      const now = this.deps.now()
      const accessDays = outcome.decision === 'approve' ? outcome.accessDays : undefined
      await repo.update(id, {
        status: decision === 'approve' ? 'approved' : 'rejected',
        reviewed_by: actorOf(tenant.principal).actor_id,
        reviewed_at: now,
        rejection_reason: outcome.decision === 'reject' ? outcome.reason : null,
        // From here on, when the access ends (the request's own deadline no longer matters).
        expires_at: accessDays === undefined ? null : new Date(now.getTime() + accessDays * DAY_MS),
        updated_at: now,
      })
      await this.deps.scheduler.remove(trx, APPROVAL_EXPIRY_TASK, id)
      if (accessDays !== undefined) await this.#scheduleExpiry(trx, row, accessDays)
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'approval', {
        action: `approval.${decision}`,
        id,
        details: { kind: row.kind, project_id: row.project_id, dataset_id: row.dataset_id },
      })
    })
    if (decision === 'approve') this.deps.accessChanged?.(seen.project_id)
    return this.get(ctx, id)
  }

  /** The dataset is still there, and its catalog name still free in the requesting project. */
  async #checkShareable(ctx: RequestContext, row: ApprovalRow): Promise<void> {
    if (!(await this.#sharedOf(row))) throw approvalErrors.datasetGone(row.dataset_id!)
    // Read as the requesting organization, only to see which names its project uses.
    const requester: TenantContext = {
      requestId: ctx.requestId,
      principal: { kind: 'organization', keyId: 'approvals', organizationId: row.organization_id, scopes: [] },
    }
    if (await this.deps.catalogs.isTaken(requester, row.project_id, row.catalog!)) {
      throw approvalErrors.catalogTaken(row.catalog!)
    }
  }

  /** The project asks: it must be the caller's, and the caller one who changes it (editors, admins, admin keys). */
  async #requester(ctx: RequestContext, projectId: string): Promise<TenantContext> {
    await this.deps.projects.require(ctx, projectId, 'read')
    return requireProjectWrite(ctx, projectId)
  }

  async #insert(
    ctx: RequestContext,
    tenant: TenantContext,
    values: Pick<ApprovalRow, 'kind' | 'project_id' | 'target_organization_id' | 'dataset_id' | 'catalog'>,
  ): Promise<Approval> {
    const { principal } = tenant
    const now = this.deps.now()
    const actor = actorOf(principal)
    const id = newId()
    let stale: ApprovalRow[] = []
    try {
      await this.db.transaction().execute(async (trx) => {
        const repo = new ApprovalsRepo(trx)
        // A request or access of the project that ran out of time no longer stands in the way
        // (of the same pair, or of the same catalog name).
        stale = await this.#expire(trx, values.project_id)
        await repo.insert({
          id,
          ...values,
          status: 'pending',
          organization_id: principal.organizationId,
          requested_by: actor.actor_id,
          requested_by_type: actor.actor_type === 'user' ? 'user' : 'api_key',
          expires_at: new Date(now.getTime() + this.deps.expiryDays * DAY_MS),
          created_at: now,
          updated_at: now,
        })
        await this.#scheduleExpiry(
          trx,
          { id, organization_id: principal.organizationId, project_id: values.project_id },
          this.deps.expiryDays,
        )
        await this.deps.audit.recordTenantWrite(trx, ctx, principal, 'approval', {
          action: 'approval.request',
          id,
          details: {
            kind: values.kind,
            project_id: values.project_id,
            tenant_id: values.target_organization_id,
            dataset_id: values.dataset_id,
          },
        })
      })
    } catch (error) {
      if (!isUniqueViolation(error)) throw error
      const held = await this.#liveConflict(values)
      throw held === 'catalog' ? approvalErrors.catalogTaken(values.catalog!) : approvalErrors.alreadyAsked(held)
    }
    this.#accessEnded(stale)
    return this.get(ctx, id)
  }

  /** One schedule per request, due when its request or its access runs out; removed when that changes. */
  async #scheduleExpiry(
    trx: MetadataDb,
    row: Pick<ApprovalRow, 'id' | 'organization_id' | 'project_id'>,
    days: number,
  ): Promise<void> {
    await this.deps.scheduler.put(trx, {
      organizationId: row.organization_id,
      projectId: row.project_id,
      task: APPROVAL_EXPIRY_TASK,
      key: row.id,
      schedule: { type: 'interval', every: `P${days}D` },
      payload: { approval_id: row.id },
    })
  }

  /**
   * Marks what ran out of time expired, in `trx`: its schedule goes, and what the project stored
   * about an expired share's catalog with it. Returns the rows as marked.
   */
  async #expire(trx: MetadataDb, projectId?: string): Promise<ApprovalRow[]> {
    const expired = await new ApprovalsRepo(trx).expireDue(this.deps.now(), projectId)
    for (const row of expired) {
      await this.deps.scheduler.remove(trx, APPROVAL_EXPIRY_TASK, row.id)
      if (wasApproved(row) && row.kind === 'project_dataset') {
        await this.deps.forgetCatalog?.(trx, row.organization_id, row.project_id, row.catalog!)
      }
    }
    return expired
  }

  /** Once committed: the projects whose approved access ran out see it gone from listings and search. */
  #accessEnded(expired: ApprovalRow[]): void {
    for (const projectId of new Set(expired.filter(wasApproved).map((row) => row.project_id))) {
      this.deps.accessChanged?.(projectId)
    }
  }

  async #liveConflict(values: Pick<ApprovalRow, 'kind' | 'project_id' | 'target_organization_id' | 'dataset_id'>) {
    let query = this.db
      .selectFrom('approval_requests')
      .select('status')
      .where('project_id', '=', values.project_id)
      .where('kind', '=', values.kind)
      .where('status', 'in', ['pending', 'approved'])
    query =
      values.kind === 'project_tenant'
        ? query.where('target_organization_id', '=', values.target_organization_id)
        : query.where('dataset_id', '=', values.dataset_id)
    const row = await query.executeTakeFirst()
    return row ? row.status : ('catalog' as const)
  }

  /**
   * The request as the caller may see it: the requesting organization's members (a project key only
   * its project's), or the target organization's members; anyone else gets 404.
   */
  async #visible(ctx: RequestContext, id: string): Promise<{ row: ApprovalView; side: 'requester' | 'target' }> {
    const { principal } = requireTenant(ctx)
    const row = await new ApprovalsRepo(this.db).find(id)
    if (!row) throw approvalErrors.notFound(id)
    if (row.organization_id === principal.organizationId) {
      if (principal.kind === 'project' && principal.projectId !== row.project_id) throw approvalErrors.notFound(id)
      return { row, side: 'requester' }
    }
    if (row.target_organization_id === principal.organizationId) return { row, side: 'target' }
    throw approvalErrors.notFound(id)
  }

  /** An admin of the caller's organization: users with role admin, organization keys with the admin scope. */
  #admin(ctx: RequestContext): TenantContext {
    const tenant = requireTenant(ctx)
    if (!hasPermission(tenant.principal, 'organization:admin')) throw approvalErrors.notAdmin()
    return tenant
  }

  /**
   * A pending request, or an approved access, past its time is expired, whether or not the scheduled
   * job has marked it yet.
   */
  #status(row: ApprovalRow): ApprovalStatus {
    const due = row.expires_at !== null && row.expires_at <= this.deps.now()
    return due && (row.status === 'pending' || row.status === 'approved') ? 'expired' : row.status
  }

  #toApproval(row: ApprovalView, side: 'requester' | 'target'): Approval {
    const status = this.#status(row)
    return {
      id: row.id,
      kind: row.kind,
      status,
      project_id: row.project_id,
      project_name: row.project_name,
      tenant_id: row.kind === 'project_tenant' ? row.target_organization_id : null,
      dataset_id: row.dataset_id,
      // The requesting organization learns nothing of the dataset before it is shared.
      dataset_name: side === 'target' || status === 'approved' ? row.dataset_name : null,
      catalog: row.catalog,
      requested_by: row.requested_by,
      requester_name: row.requester_user_name ?? row.requester_key_name,
      requester_email: row.requester_email,
      reviewed_by: row.reviewed_by,
      created_at: toIso(row.created_at),
      expires_at: toIsoOrNull(row.expires_at),
      reviewed_at: toIsoOrNull(row.reviewed_at),
      rejection_reason: row.rejection_reason,
      revoked_at: toIsoOrNull(row.revoked_at),
    }
  }
}

/** A decision was made on it: an expired row that was approved ended an access, not a request. */
const wasApproved = (row: ApprovalRow) => row.reviewed_at !== null

/** `shared_<dataset name>`, made a catalog name: lower case, other characters as `_`, at most 63. */
function defaultCatalog(datasetName: string): string {
  const name = `shared_${datasetName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63)
  return CatalogName.safeParse(name).success ? name : 'shared_dataset'
}
