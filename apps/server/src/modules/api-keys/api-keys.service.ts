import type { ApiKey, CreateApiKey, CreatedApiKey, ListQuery, Page } from '@tributary/contract'

import { assertProjectVisible, requirePermission, requirePlatform } from '../../auth/access.js'
import type { AccessCache } from '../../auth/authenticator.js'
import type { RequestContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import { displayPrefix, generateToken, sha256 } from '../../lib/secrets.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AuditService } from '../audit/audit.service.js'
import type { OrganizationsService } from '../organizations/organizations.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { ApiKeysRepo, toApiKey, type KeyOwner, type NewApiKey } from './api-keys.repo.js'

export type BootstrapResult = { created: false } | { created: true; key: string; generated: boolean }

export class ApiKeysService {
  constructor(
    private readonly db: MetadataDb,
    private readonly access: AccessCache,
    private readonly dependencies: {
      organizations: OrganizationsService
      projects: ProjectsService
      audit: AuditService
    },
  ) {}

  /**
   * Makes sure the instance has a platform key. A key given by the operator is always accepted;
   * otherwise one is generated only while the store has none.
   */
  async bootstrapPlatformKey(configuredKey: string | undefined): Promise<BootstrapResult> {
    const repo = new ApiKeysRepo(this.db)
    if (configuredKey) {
      if (await repo.existsByHash(sha256(configuredKey))) return { created: false }
      await repo.insert(platformKey('admin (TRIBUTARY_ADMIN_KEY)', configuredKey))
      return { created: true, key: configuredKey, generated: false }
    }
    if ((await repo.countActivePlatformKeys()) > 0) return { created: false }
    const key = generateToken()
    await repo.insert(platformKey('admin (generated)', key))
    return { created: true, key, generated: true }
  }

  // Organization keys: the platform key's business.

  async createForOrganization(
    ctx: RequestContext,
    organizationId: string,
    input: CreateApiKey,
  ): Promise<CreatedApiKey> {
    this.#assertOrganizationVisible(ctx, organizationId)
    requirePlatform(ctx)
    return this.db.transaction().execute(async (trx) => {
      await this.dependencies.organizations.requireActive(organizationId, trx)
      return this.#create(trx, ctx, { kind: 'organization', organizationId }, input)
    })
  }

  async listForOrganization(ctx: RequestContext, organizationId: string, query: ListQuery): Promise<Page<ApiKey>> {
    this.#assertOrganizationVisible(ctx, organizationId)
    requirePlatform(ctx)
    await this.dependencies.organizations.requireActive(organizationId)
    return this.#list({ kind: 'organization', organizationId }, query)
  }

  async revokeForOrganization(ctx: RequestContext, organizationId: string, keyId: string): Promise<void> {
    this.#assertOrganizationVisible(ctx, organizationId)
    requirePlatform(ctx)
    await this.#revoke(ctx, { kind: 'organization', organizationId }, keyId)
  }

  // Project keys: whoever may change the project, except the project's own keys.

  async createForProject(ctx: RequestContext, projectId: string, input: CreateApiKey): Promise<CreatedApiKey> {
    const owner = await this.#projectOwner(ctx, projectId)
    return this.db.transaction().execute((trx) => this.#create(trx, ctx, owner, input))
  }

  async listForProject(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<ApiKey>> {
    return this.#list(await this.#projectOwner(ctx, projectId), query)
  }

  async revokeForProject(ctx: RequestContext, projectId: string, keyId: string): Promise<void> {
    await this.#revoke(ctx, await this.#projectOwner(ctx, projectId), keyId)
  }

  async #projectOwner(ctx: RequestContext, projectId: string): Promise<KeyOwner> {
    if (ctx.principal.kind !== 'platform') assertProjectVisible(ctx.principal, projectId)
    // A project's own keys may not mint or revoke keys: this needs the organization-level permission.
    const { principal } = requirePermission(ctx, 'projects:write')
    const checked = await this.dependencies.projects.require(ctx, projectId, 'read')
    // A project another organization shares with the caller's is not the caller's to hold keys for.
    if (checked.principal.organizationId !== principal.organizationId) throw errors.notFound('project', projectId)
    return { kind: 'project', organizationId: principal.organizationId, projectId }
  }

  async #create(trx: MetadataDb, ctx: RequestContext, owner: KeyOwner, input: CreateApiKey): Promise<CreatedApiKey> {
    const key = generateToken()
    const row = await new ApiKeysRepo(trx).insert({
      kind: owner.kind,
      organization_id: owner.kind === 'platform' ? null : owner.organizationId,
      project_id: owner.kind === 'project' ? owner.projectId : null,
      name: input.name,
      prefix: displayPrefix(key),
      secret_hash: sha256(key),
      scopes: input.scopes,
      expires_at: input.expires_at ?? null,
      ...(input.attributes === undefined ? {} : { attributes: JSON.stringify(input.attributes) }),
    })
    await this.dependencies.audit.record(trx, ctx, {
      action: 'api_key.create',
      resourceType: 'api_key',
      resourceId: row.id,
      organizationId: row.organization_id,
      details: {
        kind: row.kind,
        name: row.name,
        scopes: row.scopes,
        project_id: row.project_id,
        attributes: Object.keys(row.attributes ?? {}),
      },
    })
    return { ...toApiKey(row), key }
  }

  async #list(owner: KeyOwner, query: ListQuery): Promise<Page<ApiKey>> {
    const rows = await new ApiKeysRepo(this.db).list(owner, decodeCursor(query.cursor), query.limit)
    return toPage(rows, query.limit, toApiKey)
  }

  async #revoke(ctx: RequestContext, owner: KeyOwner, keyId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (!(await new ApiKeysRepo(trx).revoke(owner, keyId))) throw errors.notFound('API key', keyId)
      await this.dependencies.audit.record(trx, ctx, {
        action: 'api_key.revoke',
        resourceType: 'api_key',
        resourceId: keyId,
        organizationId: owner.kind === 'platform' ? null : owner.organizationId,
      })
    })
    this.access.forget((principal) => principal.kind !== 'user' && principal.keyId === keyId)
  }

  #assertOrganizationVisible(ctx: RequestContext, organizationId: string): void {
    const { principal } = ctx
    if (principal.kind !== 'platform' && principal.organizationId !== organizationId) {
      throw errors.notFound('organization', organizationId)
    }
  }
}

function platformKey(name: string, key: string): NewApiKey {
  return {
    kind: 'platform',
    organization_id: null,
    project_id: null,
    name,
    prefix: displayPrefix(key),
    secret_hash: sha256(key),
    scopes: ['*'],
    expires_at: null,
  }
}
