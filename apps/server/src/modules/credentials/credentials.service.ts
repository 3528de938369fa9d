import type { CreateCredential, Credential, ListQuery, Page, UpdateCredential } from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { SecretBox } from '../../lib/secret-box.js'
import type { CredentialRow } from '../../metadata/credentials-schema.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso, transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { isAllowedHost } from './allowed-hosts.js'
import { credentialErrors } from './credentials.errors.js'
import { type CredentialChanges, CredentialsRepo } from './credentials.repo.js'

/** Outbound credentials are a part of workflows: the same scope reads and changes them. */
const SCOPE = 'workflows'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/

/**
 * A project's outbound credentials (issue 14): secrets that workflow actions send, each only to
 * the hosts it lists. The secret is sealed at rest and write-only: no response, audit entry or
 * error message carries any of it; it is opened only in `headersFor`, for one request.
 */
export class CredentialsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
    private readonly secrets: SecretBox,
  ) {}

  async create(ctx: RequestContext, projectId: string, input: CreateCredential): Promise<Credential> {
    const tenant = await this.projects.require(ctx, projectId, { write: SCOPE })
    const { principal } = tenant
    return transactionOrConflict(
      this.db,
      () => credentialErrors.nameTaken(input.name),
      async (trx) => {
        const row = await new CredentialsRepo(trx).insert({
          organization_id: principal.organizationId,
          project_id: projectId,
          name: input.name,
          description: input.description ?? null,
          type: input.type,
          header_name: input.header_name ?? null,
          username: input.username ?? null,
          secret: this.secrets.seal(input.secret),
          allowed_hosts: input.allowed_hosts,
        })
        await this.audit.recordTenantWrite(trx, ctx, principal, 'credential', {
          action: 'credential.create',
          id: row.id,
          details: { project_id: projectId, name: row.name, type: row.type, allowed_hosts: row.allowed_hosts },
        })
        return toCredential(row)
      },
    )
  }

  async list(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<Credential>> {
    const { principal } = await this.projects.require(ctx, projectId, { use: SCOPE })
    const rows = await new CredentialsRepo(this.db).list(
      principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, toCredential)
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<Credential> {
    const tenant = await this.projects.require(ctx, projectId, { use: SCOPE })
    return toCredential(await this.#find(tenant, projectId, id))
  }

  /** Changes the name, description or allowed hosts, or rotates the secret (with a new type, if asked). */
  async update(ctx: RequestContext, projectId: string, id: string, input: UpdateCredential): Promise<Credential> {
    const tenant = await this.projects.require(ctx, projectId, { write: SCOPE })
    const current = await this.#find(tenant, projectId, id)
    const changes: CredentialChanges = {
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.allowed_hosts === undefined ? {} : { allowed_hosts: input.allowed_hosts }),
      ...(input.secret === undefined ? {} : { secret: this.secrets.seal(input.secret) }),
      ...this.#typeChanges(current, input),
    }
    const { principal } = tenant
    return transactionOrConflict(
      this.db,
      () => credentialErrors.nameTaken(input.name ?? current.name),
      async (trx) => {
        const row = await new CredentialsRepo(trx).update(principal.organizationId, projectId, id, changes)
        if (!row) throw credentialErrors.notFound(id)
        await this.audit.recordTenantWrite(trx, ctx, principal, 'credential', {
          action: input.secret === undefined ? 'credential.update' : 'credential.rotate',
          id,
          // Field names only: the values of `secret` (and its neighbours) stay out of the log.
          details: { project_id: projectId, fields: Object.keys(input), allowed_hosts: row.allowed_hosts },
        })
        return toCredential(row)
      },
    )
  }

  async delete(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const { principal } = await this.projects.require(ctx, projectId, { write: SCOPE })
    await this.db.transaction().execute(async (trx) => {
      const row = await new CredentialsRepo(trx).delete(principal.organizationId, projectId, id)
      if (!row) throw credentialErrors.notFound(id)
      await this.audit.recordTenantWrite(trx, ctx, principal, 'credential', {
        action: 'credential.delete',
        id,
        details: { project_id: projectId, name: row.name },
      })
    })
  }

  /** Headers to send to `url` with this credential; 422 (field `field`) if the credential is missing in this project or `url`'s host is not one of its allowed hosts. */
  async headersFor(
    ctx: RequestContext,
    projectId: string,
    credentialId: string,
    url: string,
    field: string,
  ): Promise<{ origin: string; headers: Record<string, string> }> {
    const { row, target } = await this.#usable(ctx, projectId, credentialId, url, field)
    let secret: string
    try {
      secret = this.secrets.open(row.secret)
    } catch {
      // Sealed under another instance secret (TRIBUTARY_SECRET_KEY changed) or altered at rest.
      throw credentialErrors.unreadable(field, row.name)
    }
    let headers: Record<string, string>
    switch (row.type) {
      case 'bearer':
        headers = { authorization: `Bearer ${secret}` }
        break
      case 'basic':
        headers = { authorization: `Basic ${Buffer.from(`${row.username ?? ''}:${secret}`).toString('base64')}` }
        break
      case 'header':
        headers = { [(row.header_name ?? '').toLowerCase()]: secret }
        break
    }
    return { origin: target.origin, headers }
  }

  /** Checks, without the secret, that the credential exists in the project and allows the url's host (used when a workflow is saved). */
  async checkUsable(
    ctx: RequestContext,
    projectId: string,
    credentialId: string,
    url: string,
    field: string,
  ): Promise<void> {
    await this.#usable(ctx, projectId, credentialId, url, field)
  }

  async #usable(ctx: RequestContext, projectId: string, credentialId: string, url: string, field: string) {
    const { principal } = await this.projects.require(ctx, projectId, { use: SCOPE })
    const row = UUID.test(credentialId)
      ? await new CredentialsRepo(this.db).find(principal.organizationId, projectId, credentialId)
      : undefined
    if (!row) throw credentialErrors.missing(field, credentialId)
    let target: URL
    try {
      target = new URL(url)
    } catch {
      throw credentialErrors.notHttp(field, url)
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw credentialErrors.notHttp(field, url)
    if (!isAllowedHost(row.allowed_hosts, target)) {
      throw credentialErrors.hostNotAllowed(field, row.name, target.host, row.allowed_hosts)
    }
    return { row, target }
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<CredentialRow> {
    const row = await new CredentialsRepo(this.db).find(tenant.principal.organizationId, projectId, id)
    if (!row) throw credentialErrors.notFound(id)
    return row
  }

  /**
   * A new type comes with its own field (the schema checks that); without one, `header_name` and
   * `username` must belong to the stored type, and a new secret must suit it.
   */
  #typeChanges(current: CredentialRow, input: UpdateCredential): CredentialChanges {
    if (input.type !== undefined) {
      return {
        type: input.type,
        header_name: input.type === 'header' ? (input.header_name ?? null) : null,
        username: input.type === 'basic' ? (input.username ?? null) : null,
      }
    }
    if (input.header_name !== undefined && current.type !== 'header') {
      throw credentialErrors.wrongTypeField('header_name', current.type)
    }
    if (input.username !== undefined && current.type !== 'basic') {
      throw credentialErrors.wrongTypeField('username', current.type)
    }
    if (input.secret !== undefined && current.type !== 'basic' && !PRINTABLE_ASCII.test(input.secret)) {
      throw credentialErrors.secretNotAscii()
    }
    return {
      ...(input.header_name === undefined ? {} : { header_name: input.header_name }),
      ...(input.username === undefined ? {} : { username: input.username }),
    }
  }
}

function toCredential(row: CredentialRow): Credential {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    name: row.name,
    description: row.description,
    type: row.type,
    header_name: row.header_name,
    username: row.username,
    allowed_hosts: row.allowed_hosts,
    secret_updated_at: toIso(row.secret_updated_at),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
