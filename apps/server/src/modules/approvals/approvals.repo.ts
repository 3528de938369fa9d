import type { MetadataDb } from '../../metadata/database.js'
import type { ApprovalRequestsTable } from '../../metadata/approvals-schema.js'
import { type ExpressionBuilder, type Insertable, type Selectable, sql } from 'kysely'

export type ApprovalRow = Selectable<ApprovalRequestsTable>

/** An approval request with the names a reader needs: the requesting project's and the requester's. */
export type ApprovalView = ApprovalRow & {
  project_name: string
  project_archived_at: Date | null
  dataset_name: string | null
  requester_user_name: string | null
  requester_email: string | null
  requester_key_name: string | null
}

/** Not yet past its time: no end, or an end still to come. */
function inTime<DB, TB extends keyof DB>(
  eb: ExpressionBuilder<DB, TB>,
  column: 'expires_at' | 'a.expires_at',
  now: Date,
) {
  const ref = sql.ref<Date | null>(column)
  return eb.or([eb(ref, 'is', null), eb(ref, '>', now)])
}

export class ApprovalsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: Insertable<ApprovalRequestsTable>): Promise<ApprovalRow> {
    return this.db.insertInto('approval_requests').values(values).returningAll().executeTakeFirstOrThrow()
  }

  async find(id: string): Promise<ApprovalView | undefined> {
    return this.#views().where('a.id', '=', id).executeTakeFirst()
  }

  /** Locks the row for a decision: concurrent deciders wait, then see what the first one did. */
  async lock(id: string): Promise<ApprovalRow | undefined> {
    return this.db.selectFrom('approval_requests').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  }

  async update(id: string, changes: Partial<ApprovalRow>): Promise<void> {
    await this.db.updateTable('approval_requests').set(changes).where('id', '=', id).execute()
  }

  /** Requests waiting for the target organization, oldest first (those already past their time included). */
  async pendingFor(targetOrganizationId: string): Promise<ApprovalView[]> {
    return this.#views()
      .where('a.target_organization_id', '=', targetOrganizationId)
      .where('a.status', '=', 'pending')
      .where('p.archived_at', 'is', null)
      .orderBy('a.id')
      .execute()
  }

  /**
   * A page of the requests an organization made or received, newest first: `limit + 1` rows after the
   * cursor's. A status is matched as readers see it: a pending or approved request past its time is expired.
   */
  async page(
    side: 'requester' | 'target',
    organizationId: string,
    filter: { projectId?: string; status?: ApprovalRow['status']; now: Date; after?: string; limit: number },
  ): Promise<ApprovalView[]> {
    let query = this.#views().where(
      side === 'requester' ? 'a.organization_id' : 'a.target_organization_id',
      '=',
      organizationId,
    )
    // An archived project asks nothing of anyone (as the pending list).
    if (side === 'target') query = query.where('p.archived_at', 'is', null)
    if (filter.projectId !== undefined) query = query.where('a.project_id', '=', filter.projectId)
    const { status, now } = filter
    if (status === 'pending' || status === 'approved') {
      query = query.where('a.status', '=', status).where((eb) => inTime(eb, 'a.expires_at', now))
    } else if (status === 'expired') {
      query = query.where((eb) =>
        eb.or([
          eb('a.status', '=', 'expired'),
          eb.and([eb('a.status', 'in', ['pending', 'approved']), eb.not(inTime(eb, 'a.expires_at', now))]),
        ]),
      )
    } else if (status !== undefined) query = query.where('a.status', '=', status)
    if (filter.after !== undefined) query = query.where('a.id', '<', filter.after)
    return query
      .orderBy('a.id', 'desc')
      .limit(filter.limit + 1)
      .execute()
  }

  /** Marks every pending request, and every approved access, past its time expired; returns them. */
  async expireDue(now: Date, projectId?: string): Promise<ApprovalRow[]> {
    let query = this.db
      .updateTable('approval_requests')
      .set({ status: 'expired', updated_at: now })
      .where('status', 'in', ['pending', 'approved'])
      .where((eb) => eb.not(inTime(eb, 'expires_at', now)))
    if (projectId !== undefined) query = query.where('project_id', '=', projectId)
    return query.returningAll().execute()
  }

  /** The project's approved dataset shares still in time, for its catalogs. */
  async approvedDatasets(organizationId: string, projectId: string, now: Date): Promise<ApprovalRow[]> {
    return this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('kind', '=', 'project_dataset')
      .where('status', '=', 'approved')
      .where((eb) => inTime(eb, 'expires_at', now))
      .orderBy('catalog')
      .execute()
  }

  /** Whether a live (pending or approved, and in time) dataset request of the project holds the catalog name. */
  async catalogHeld(organizationId: string, projectId: string, catalog: string, now: Date): Promise<boolean> {
    const row = await this.db
      .selectFrom('approval_requests')
      .select('id')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('kind', '=', 'project_dataset')
      .where('status', 'in', ['pending', 'approved'])
      .where((eb) => inTime(eb, 'expires_at', now))
      .where('catalog', '=', catalog)
      .executeTakeFirst()
    return row !== undefined
  }

  /** The organization that shares the project with `targetOrganizationId` (an approved `project_tenant` still in time), if any. */
  async tenantGrantOwner(targetOrganizationId: string, projectId: string, now: Date): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('approval_requests')
      .select('organization_id')
      .where('target_organization_id', '=', targetOrganizationId)
      .where('project_id', '=', projectId)
      .where('kind', '=', 'project_tenant')
      .where('status', '=', 'approved')
      .where((eb) => inTime(eb, 'expires_at', now))
      .executeTakeFirst()
    return row?.organization_id
  }

  #views() {
    return this.db
      .selectFrom('approval_requests as a')
      .innerJoin('projects as p', 'p.id', 'a.project_id')
      .leftJoin('datasets as d', 'd.id', 'a.dataset_id')
      .leftJoin('users as u', (join) =>
        join.on((eb) =>
          eb.and([eb('a.requested_by_type', '=', 'user'), eb(eb.cast('u.id', 'text'), '=', eb.ref('a.requested_by'))]),
        ),
      )
      .leftJoin('api_keys as k', (join) =>
        join.on((eb) =>
          eb.and([
            eb('a.requested_by_type', '=', 'api_key'),
            eb(eb.cast('k.id', 'text'), '=', eb.ref('a.requested_by')),
          ]),
        ),
      )
      .selectAll('a')
      .select([
        'p.name as project_name',
        'p.archived_at as project_archived_at',
        'd.name as dataset_name',
        'u.name as requester_user_name',
        'u.email as requester_email',
        'k.name as requester_key_name',
      ])
  }
}
