import type { AuditEntry, Page } from '@tributary/contract'

import { requirePermission } from '../../auth/access.js'
import type { RequestContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { AuditRepo, toAuditEntry } from './audit.repo.js'

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
