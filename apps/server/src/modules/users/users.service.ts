import type {
  AcceptInvite,
  CreatedUser,
  CreateUser,
  Invitation,
  InviteUser,
  ListQuery,
  Login,
  Page,
  SessionToken,
  UpdateRole,
  UpdateUser,
  User,
} from '@tributary/contract'

import { requirePermission, requireTenant } from '../../auth/access.js'
import type { AccessCache } from '../../auth/authenticator.js'
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../../auth/passwords.js'
import type { RequestContext, TenantPrincipal } from '../../auth/principal.js'
import type { SessionTokens } from '../../auth/session-tokens.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import { generateToken, sha256 } from '../../lib/secrets.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { UserRow } from '../../metadata/schema.js'
import { transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import { userErrors } from './users.errors.js'
import { toUser, UsersRepo } from './users.repo.js'

const INVITE_TOKEN_PREFIX = 'trbinv_'

export interface UsersServiceOptions {
  inviteTtlHours: number
}

export class UsersService {
  constructor(
    private readonly db: MetadataDb,
    private readonly sessions: SessionTokens,
    private readonly access: AccessCache,
    private readonly audit: AuditService,
    private readonly options: UsersServiceOptions,
  ) {}

  /** Every user of an organization that is going away, inside its transaction (`trx`): their e-mails are free again. */
  async archiveAllOf(trx: MetadataDb, organizationId: string): Promise<void> {
    await new UsersRepo(trx).archiveAll(organizationId)
  }

  /**
   * With a password the user is active at once. Without one (`{email, name, role}`, as DataCovey
   * sends it) the user is created as an invitation is, and the response carries its one-time token.
   */
  async create(ctx: RequestContext, input: CreateUser): Promise<CreatedUser> {
    const { principal } = requirePermission(ctx, 'organization:admin')
    if (input.password === undefined) {
      const invited = await this.#insertInvited(ctx, principal, input, 'user.create')
      return { ...invited.user, setup_token: invited.invitation_token, setup_token_expires_at: invited.expires_at }
    }
    const passwordHash = await hashPassword(input.password)
    return this.#insertUser(ctx, principal, input.email, 'user.create', {
      organization_id: principal.organizationId,
      email: input.email,
      name: input.name ?? null,
      role: input.role,
      password_hash: passwordHash,
      status: 'active',
      invite_token_hash: null,
      invite_expires_at: null,
    }).then(toUser)
  }

  async invite(ctx: RequestContext, input: InviteUser): Promise<Invitation> {
    const { principal } = requirePermission(ctx, 'organization:admin')
    return this.#insertInvited(ctx, principal, input, 'user.invite')
  }

  /** Creates the user as `invited` and returns a one-time token; delivering it is the caller's business. */
  async #insertInvited(
    ctx: RequestContext,
    principal: TenantPrincipal,
    input: InviteUser,
    action: 'user.invite' | 'user.create',
  ): Promise<Invitation> {
    const token = generateToken(INVITE_TOKEN_PREFIX)
    const expiresAt = new Date(Date.now() + this.options.inviteTtlHours * 3_600_000)
    const row = await this.#insertUser(ctx, principal, input.email, action, {
      organization_id: principal.organizationId,
      email: input.email,
      name: input.name ?? null,
      role: input.role,
      password_hash: null,
      status: 'invited',
      invite_token_hash: sha256(token),
      invite_expires_at: expiresAt,
    })
    return { user: toUser(row), invitation_token: token, expires_at: expiresAt.toISOString() }
  }

  async list(ctx: RequestContext, query: ListQuery): Promise<Page<User>> {
    const { principal } = requirePermission(ctx, 'organization:read')
    const rows = await new UsersRepo(this.db).list(principal.organizationId, decodeCursor(query.cursor), query.limit)
    return toPage(rows, query.limit, toUser)
  }

  async get(ctx: RequestContext, id: string): Promise<User> {
    const { principal } = requirePermission(ctx, 'organization:read')
    return toUser(await this.#find(this.db, principal.organizationId, id))
  }

  async me(ctx: RequestContext): Promise<User> {
    const { principal } = requireTenant(ctx)
    if (principal.kind !== 'user') throw userErrors.notAUser()
    return toUser(await this.#find(this.db, principal.organizationId, principal.userId))
  }

  /**
   * Admins change anyone; every user may change their own name and password. Custom attributes
   * (what row filters read through `current_user_props`) are for admins only, their own included.
   */
  async update(ctx: RequestContext, id: string, input: UpdateUser): Promise<User> {
    const tenant = requireTenant(ctx)
    const isSelf = tenant.principal.kind === 'user' && tenant.principal.userId === id
    const { principal } = isSelf ? tenant : requirePermission(ctx, 'organization:read')
    await this.#find(this.db, principal.organizationId, id)
    if (!isSelf || input.attributes !== undefined) requirePermission(ctx, 'organization:admin')
    const passwordHash = input.password === undefined ? undefined : await hashPassword(input.password)
    const row = await this.db.transaction().execute(async (trx) => {
      const updated = await new UsersRepo(trx).update(principal.organizationId, id, {
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(passwordHash === undefined ? {} : { password_hash: passwordHash, sessions_valid_after: new Date() }),
        ...(input.attributes === undefined ? {} : { attributes: JSON.stringify(input.attributes) }),
      })
      if (!updated) throw errors.notFound('user', id)
      await this.audit.recordTenantWrite(trx, ctx, principal, 'user', {
        action: 'user.update',
        id,
        details: {
          fields: Object.keys(input),
          ...(input.attributes === undefined ? {} : { attributes: Object.keys(input.attributes) }),
        },
      })
      return updated
    })
    // A new password ends every session signed in with the old one.
    if (passwordHash !== undefined) this.access.forget((p) => p.kind === 'user' && p.userId === id)
    return toUser(row)
  }

  async setRole(ctx: RequestContext, id: string, input: UpdateRole): Promise<User> {
    const { principal } = requirePermission(ctx, 'organization:read')
    await this.#find(this.db, principal.organizationId, id)
    requirePermission(ctx, 'organization:admin')
    const row = await this.db.transaction().execute(async (trx) => {
      const users = new UsersRepo(trx)
      const current = await this.#find(trx, principal.organizationId, id)
      if (current.role === 'admin' && input.role !== 'admin') await this.#keepAnAdmin(users, principal, current)
      const updated = await users.update(principal.organizationId, id, { role: input.role })
      if (!updated) throw errors.notFound('user', id)
      await this.audit.recordTenantWrite(trx, ctx, principal, 'user', {
        action: 'user.role_change',
        id,
        details: { from: current.role, to: input.role },
      })
      return updated
    })
    this.access.forget((p) => p.kind === 'user' && p.userId === id)
    return toUser(row)
  }

  async archive(ctx: RequestContext, id: string): Promise<void> {
    const { principal } = requirePermission(ctx, 'organization:read')
    await this.#find(this.db, principal.organizationId, id)
    requirePermission(ctx, 'organization:admin')
    await this.db.transaction().execute(async (trx) => {
      const users = new UsersRepo(trx)
      const current = await this.#find(trx, principal.organizationId, id)
      if (current.role === 'admin') await this.#keepAnAdmin(users, principal, current)
      await users.archive(principal.organizationId, id)
      await this.audit.recordTenantWrite(trx, ctx, principal, 'user', {
        action: 'user.delete',
        id,
        details: { email: current.email },
      })
    })
    this.access.forget((p) => p.kind === 'user' && p.userId === id)
  }

  async acceptInvite(requestId: string, input: AcceptInvite): Promise<SessionToken> {
    const users = new UsersRepo(this.db)
    const invited = await users.findByInviteToken(sha256(input.token))
    if (!invited || !invited.invite_expires_at || invited.invite_expires_at.getTime() <= Date.now()) {
      throw userErrors.invalidInvitation()
    }
    const passwordHash = await hashPassword(input.password)
    const row = await this.db.transaction().execute(async (trx) => {
      const updated = await new UsersRepo(trx).update(invited.organization_id, invited.id, {
        password_hash: passwordHash,
        status: 'active',
        invite_token_hash: null,
        invite_expires_at: null,
      })
      if (!updated) throw userErrors.invalidInvitation()
      const ctx: RequestContext = {
        principal: { kind: 'user', userId: updated.id, organizationId: updated.organization_id, role: updated.role },
        requestId,
      }
      await this.audit.recordTenantWrite(trx, ctx, ctx.principal as TenantPrincipal, 'user', {
        action: 'user.accept_invite',
        id: updated.id,
      })
      return updated
    })
    return this.#session(row)
  }

  async login(input: Login): Promise<SessionToken> {
    const user = await new UsersRepo(this.db).findLoginCandidate(input.email)
    const hashToCheck = user?.status === 'active' && user.password_hash ? user.password_hash : DUMMY_PASSWORD_HASH
    const passwordMatches = await verifyPassword(hashToCheck, input.password)
    if (!user || hashToCheck === DUMMY_PASSWORD_HASH || !passwordMatches) throw userErrors.invalidCredentials()
    return this.#session(user)
  }

  async #session(row: UserRow): Promise<SessionToken> {
    const { token, expiresAt } = await this.sessions.issue({ userId: row.id, organizationId: row.organization_id })
    return { token, expires_at: expiresAt.toISOString(), user: toUser(row) }
  }

  async #insertUser(
    ctx: RequestContext,
    principal: TenantPrincipal,
    email: string,
    action: string,
    values: Parameters<UsersRepo['insert']>[0],
  ): Promise<UserRow> {
    return transactionOrConflict(
      this.db,
      () => userErrors.emailTaken(email),
      async (trx) => {
        const row = await new UsersRepo(trx).insert(values)
        await this.audit.recordTenantWrite(trx, ctx, principal, 'user', {
          action,
          id: row.id,
          details: { email, role: row.role },
        })
        return row
      },
    )
  }

  async #find(db: MetadataDb, organizationId: string, id: string): Promise<UserRow> {
    const row = await new UsersRepo(db).findActive(organizationId, id)
    if (!row) throw errors.notFound('user', id)
    return row
  }

  /** Two admins demoting each other at once must not leave the organization without one. */
  async #keepAnAdmin(users: UsersRepo, principal: TenantPrincipal, target: UserRow): Promise<void> {
    if (target.status !== 'active') return
    await users.lockOrganization(principal.organizationId)
    if ((await users.countActiveAdmins(principal.organizationId)) <= 1) throw userErrors.lastAdmin()
  }
}
