import type { AuditEntry } from '@tributary/contract'

import { actorOf, type RequestContext, type TenantPrincipal } from '../../auth/principal.js'
import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AuditRow } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'

export interface AuditEvent {
  action: string
  resourceType: string
  resourceId: string | null
  organizationId: string | null
  details?: Record<string, unknown>
}

export interface TenantWrite {
  action: string
  id: string
  details?: Record<string, unknown> | undefined
}

export interface AuditFilter {
  organizationId?: string | undefined
  action?: string | undefined
  resourceType?: string | undefined
  resourceId?: string | undefined
  actorId?: string | undefined
  before?: string | undefined
  limit: number
}

export class AuditRepo {
  constructor(private readonly db: MetadataDb) {}

  /** Called inside the transaction of the write it describes, so the two land together or not at all. */
  async record(ctx: RequestContext, event: AuditEvent): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        id: newId(),
        organization_id: event.organizationId,
        ...actorOf(ctx.principal),
        action: event.action,
        resource_type: event.resourceType,
        resource_id: event.resourceId,
        request_id: ctx.requestId,
        details: event.details ? JSON.stringify(event.details) : null,
      })
      .execute()
  }

  /** A write inside the caller's organization. */
  async recordTenantWrite(
    ctx: RequestContext,
    principal: TenantPrincipal,
    resourceType: string,
    event: TenantWrite,
  ): Promise<void> {
    await this.record(ctx, {
      action: event.action,
      resourceType,
      resourceId: event.id,
      organizationId: principal.organizationId,
      ...(event.details ? { details: event.details } : {}),
    })
  }

  /** Newest first. */
  async list(filter: AuditFilter): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_log').selectAll()
    if (filter.organizationId) query = query.where('organization_id', '=', filter.organizationId)
    if (filter.action) query = query.where('action', '=', filter.action)
    if (filter.resourceType) query = query.where('resource_type', '=', filter.resourceType)
    if (filter.resourceId) query = query.where('resource_id', '=', filter.resourceId)
    if (filter.actorId) query = query.where('actor_id', '=', filter.actorId)
    if (filter.before) query = query.where('id', '<', filter.before)
    return query
      .orderBy('id', 'desc')
      .limit(filter.limit + 1)
      .execute()
  }
}

export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    organization_id: row.organization_id,
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    request_id: row.request_id,
    details: row.details,
    created_at: toIso(row.created_at),
  }
}
