import type { CreateOrganization, ListQuery, Organization, Page, UpdateOrganization } from '@tributary/contract'

import { requirePlatform } from '../../auth/access.js'
import type { AccessCache } from '../../auth/authenticator.js'
import type { RequestContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AuditService } from '../audit/audit.service.js'
import type { UsersService } from '../users/users.service.js'
import type { WorkspacesService } from '../workspaces/workspaces.service.js'
import { OrganizationsRepo, toOrganization } from './organizations.repo.js'

export class OrganizationsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly access: AccessCache,
    private readonly dependencies: { workspaces: WorkspacesService; users: UsersService; audit: AuditService },
  ) {}

  /** An organization always comes with its default workspace. */
  async create(ctx: RequestContext, input: CreateOrganization): Promise<Organization> {
    requirePlatform(ctx)
    return this.db.transaction().execute(async (trx) => {
      const row = await new OrganizationsRepo(trx).insert({
        name: input.name,
        description: input.description ?? null,
      })
      await this.dependencies.audit.record(trx, ctx, {
        action: 'organization.create',
        resourceType: 'organization',
        resourceId: row.id,
        organizationId: row.id,
        details: { name: row.name },
      })
      await this.dependencies.workspaces.createDefault(trx, ctx, row.id)
      return toOrganization(row)
    })
  }

  async list(ctx: RequestContext, query: ListQuery): Promise<Page<Organization>> {
    requirePlatform(ctx)
    const rows = await new OrganizationsRepo(this.db).list(decodeCursor(query.cursor), query.limit)
    return toPage(rows, query.limit, toOrganization)
  }

  /** The platform key reads any organization; everyone else only their own. */
  async get(ctx: RequestContext, id: string): Promise<Organization> {
    this.#assertVisible(ctx, id)
    const row = await new OrganizationsRepo(this.db).findActive(id)
    if (!row) throw errors.notFound('organization', id)
    return toOrganization(row)
  }

  async update(ctx: RequestContext, id: string, input: UpdateOrganization): Promise<Organization> {
    this.#assertVisible(ctx, id)
    requirePlatform(ctx)
    return this.db.transaction().execute(async (trx) => {
      const row = await new OrganizationsRepo(trx).update(id, input)
      if (!row) throw errors.notFound('organization', id)
      await this.dependencies.audit.record(trx, ctx, {
        action: 'organization.update',
        resourceType: 'organization',
        resourceId: id,
        organizationId: id,
        details: { fields: Object.keys(input) },
      })
      return toOrganization(row)
    })
  }

  /** Soft delete: the organization, its keys and its users stop working at once. */
  async archive(ctx: RequestContext, id: string): Promise<void> {
    this.#assertVisible(ctx, id)
    requirePlatform(ctx)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new OrganizationsRepo(trx).archive(id))) throw errors.notFound('organization', id)
      await this.dependencies.users.archiveAllOf(trx, id)
      await this.dependencies.audit.record(trx, ctx, {
        action: 'organization.delete',
        resourceType: 'organization',
        resourceId: id,
        organizationId: id,
      })
    })
    this.access.forget((principal) => principal.kind !== 'platform' && principal.organizationId === id)
  }

  /** A `404` unless the organization exists and is live; read inside the caller's transaction (`trx`) when given. */
  async requireActive(id: string, trx: MetadataDb = this.db): Promise<void> {
    if (!(await new OrganizationsRepo(trx).findActive(id))) throw errors.notFound('organization', id)
  }

  /** Another tenant's organization is reported missing, never forbidden. */
  #assertVisible(ctx: RequestContext, id: string): void {
    const { principal } = ctx
    if (principal.kind !== 'platform' && principal.organizationId !== id) throw errors.notFound('organization', id)
  }
}
