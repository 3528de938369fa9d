import type { AuditEntry, Page } from '@tributary/contract'

import { requirePermission } from '../../auth/access.js'
import type { RequestContext, TenantPrincipal } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { AuditRepo, toAuditEntry, type AuditEvent, type TenantWrite } from './audit.repo.js'

export type { AuditEvent, TenantWrite }

export interface AuditQuery {
  limit: number
  cursor?: string | undefined
  action?: string | undefined
  resource_type?: string | undefined
  resource_id?: string | undefined
  actor_id?: string | undefined
  organization_id?: string | undefined
}

export class AuditService {
  constructor(private readonly db: MetadataDb) {}

  /**
   * Records a write inside the transaction (`trx`) that makes it, so the two land together or
   * not at all.
   */
  async record(trx: MetadataDb, ctx: RequestContext, event: AuditEvent): Promise<void> {
    await new AuditRepo(trx).record(ctx, event)
  }

  /** A write inside the caller's organization, recorded inside its transaction (`trx`). */
  async recordTenantWrite(
    trx: MetadataDb,
    ctx: RequestContext,
    principal: TenantPrincipal,
    resourceType: string,
    event: TenantWrite,
  ): Promise<void> {
    await new AuditRepo(trx).recordTenantWrite(ctx, principal, resourceType, event)
  }

  /** Admins see their organization's log; the platform key sees every entry, optionally one organization's. */
  async list(ctx: RequestContext, query: AuditQuery): Promise<Page<AuditEntry>> {
    const organizationId =
      ctx.principal.kind === 'platform'
        ? query.organization_id
        : requirePermission(ctx, 'audit:read').principal.organizationId
    if (query.organization_id && query.organization_id !== organizationId) {
      throw errors.notFound('organization', query.organization_id)
    }
    const rows = await new AuditRepo(this.db).list({
      organizationId,
      action: query.action,
      resourceType: query.resource_type,
      resourceId: query.resource_id,
      actorId: query.actor_id,
      before: decodeCursor(query.cursor),
      limit: query.limit,
    })
    return toPage(rows, query.limit, toAuditEntry)
  }
}
