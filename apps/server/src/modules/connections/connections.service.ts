import {
  CatalogName,
  type Connection,
  type ConnectionTestResult,
  type ConnectionType,
  type CreateConnection,
  type ListQuery,
  type Page,
  type UpdateConnection,
} from '@tributary/contract'
import { z } from 'zod'

import { requireProjectContentWrite } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import {
  SourceError,
  type Connector,
  type ConnectorContext,
  type SourceCatalog,
  type SourceKeys,
} from '../../engine/connectors/connector.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { SecretBox } from '../../lib/secret-box.js'
import { validationError } from '../../lib/validation.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { ConnectionRow } from '../../metadata/schema.js'
import { toIso, transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { connectionErrors } from './connections.errors.js'
import { ConnectionsRepo } from './connections.repo.js'

export interface ConnectionsServiceOptions {
  connectors: readonly Connector<unknown>[]
  secrets: SecretBox
  context: ConnectorContext
  projects: ProjectsService
  audit: AuditService
}

/** A connection's full config, secrets included: only ever in memory, on the way to a source. */
export interface OpenedConnection {
  row: ConnectionRow
  connector: Connector<unknown>
  config: unknown
}

/** A source's metadata as last read, and when. */
export interface StoredCatalog {
  catalog: SourceCatalog
  refreshedAt: Date
}

/** A connection opened for a catalog, with what was last read of its source, if anything has been. */
export interface OpenedCatalog {
  opened: OpenedConnection
  stored: StoredCatalog | undefined
}

/** Whether a module built later already uses `catalog` as a catalog name in the project. */
export type CatalogNameCheck = (checked: TenantContext, projectId: string, catalog: string) => Promise<boolean>

/** A connection being deleted, as a module built later that keeps something of its source sees it. */
export interface ConnectionArchive {
  /** The transaction that archives the connection: what the listener writes commits or fails with it. */
  trx: MetadataDb
  ctx: RequestContext
  tenant: TenantContext
  projectId: string
  connectionId: string
}

/** Runs in the archiving transaction; what it returns runs once that committed (files, running jobs). */
export type ConnectionArchiveListener = (archive: ConnectionArchive) => Promise<(() => Promise<void>) | undefined>

export class ConnectionsService {
  readonly #connectors: ReadonlyMap<string, Connector<unknown>>
  readonly #nameChecks: CatalogNameCheck[] = []
  readonly #archiveListeners: ConnectionArchiveListener[] = []

  constructor(
    private readonly db: MetadataDb,
    private readonly options: ConnectionsServiceOptions,
  ) {
    this.#connectors = new Map(options.connectors.map((connector) => [connector.type, connector]))
  }

  types(): ConnectionType[] {
    return [...this.#connectors.values()].map((connector) => ({
      type: connector.type,
      display_name: connector.displayName,
      category: connector.category,
      config_schema: z.toJSONSchema(connector.configSchema, { io: 'input', unrepresentable: 'any' }),
      secret_fields: [...connector.secretFields],
    }))
  }

  /** Keeps the catalog names a module built later uses (semantic catalogs) from connections: 409. */
  reserveCatalogNames(check: CatalogNameCheck): void {
    this.#nameChecks.push(check)
  }

  /** For modules built later that keep copies of a source (caches): they go with the connection. */
  onArchive(listener: ConnectionArchiveListener): void {
    this.#archiveListeners.push(listener)
  }

  async #refuseReserved(checked: TenantContext, projectId: string, catalog: string): Promise<void> {
    for (const check of this.#nameChecks) {
      if (await check(checked, projectId, catalog)) throw connectionErrors.catalogTaken(catalog)
    }
  }

  async create(ctx: RequestContext, projectId: string, input: CreateConnection): Promise<Connection> {
    const tenant = await this.options.projects.require(ctx, projectId, { write: 'connections' })
    const connector = this.#connector(input.type)
    const config = await this.#validConfig(connector, input.config)
    const catalog = input.catalog ?? catalogNameFrom(input.name)
    await this.#refuseReserved(tenant, projectId, catalog)
    const { plain, sealed } = this.#split(connector, config)
    return transactionOrConflict(
      this.db,
      () => connectionErrors.catalogTaken(catalog),
      async (trx) => {
        const row = await new ConnectionsRepo(trx).insert({
          organization_id: tenant.principal.organizationId,
          project_id: projectId,
          name: input.name,
          type: connector.type,
          catalog,
          config: plain,
          secrets: sealed,
        })
        await this.options.audit.recordTenantWrite(trx, ctx, tenant.principal, 'connection', {
          action: 'connection.create',
          id: row.id,
          details: { name: row.name, type: row.type, catalog: row.catalog, project_id: projectId },
        })
        return this.#toConnection(row)
      },
    )
  }

  async list(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<Connection>> {
    const tenant = await this.options.projects.require(ctx, projectId, 'read')
    const rows = await new ConnectionsRepo(this.db).list(
      tenant.principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, (row) => this.#toConnection(row))
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<Connection> {
    const tenant = await this.options.projects.require(ctx, projectId, 'read')
    return this.#toConnection(await this.#find(tenant, projectId, id))
  }

  /** Changed config fields replace the stored ones; fields left out, secrets included, stay as they were. */
  async update(ctx: RequestContext, projectId: string, id: string, input: UpdateConnection): Promise<Connection> {
    const tenant = await this.options.projects.require(ctx, projectId, 'read')
    const current = await this.#find(tenant, projectId, id)
    requireProjectContentWrite(ctx, projectId, 'connections')
    const connector = this.#connector(current.type)
    let sealedChanges: { config?: Record<string, unknown>; secrets?: string | null } = {}
    if (input.config) {
      const merged = { ...this.#fullConfig(current), ...input.config }
      const { plain, sealed } = this.#split(connector, await this.#validConfig(connector, merged))
      sealedChanges = { config: plain, secrets: sealed }
    }
    const catalog = input.catalog ?? current.catalog
    if (input.catalog !== undefined && input.catalog !== current.catalog) {
      await this.#refuseReserved(tenant, projectId, input.catalog)
    }
    return transactionOrConflict(
      this.db,
      () => connectionErrors.catalogTaken(catalog),
      async (trx) => {
        const repo = new ConnectionsRepo(trx)
        const row = await repo.update(tenant.principal.organizationId, projectId, id, {
          ...(input.name === undefined ? {} : { name: input.name }),
          ...(input.catalog === undefined ? {} : { catalog: input.catalog }),
          ...sealedChanges,
        })
        if (!row) throw errors.notFound('connection', id)
        // New settings may point at another source: what was read from the old one is stale.
        if (input.config) await repo.deleteSnapshot(id)
        await this.options.audit.recordTenantWrite(trx, ctx, tenant.principal, 'connection', {
          action: 'connection.update',
          id,
          details: { fields: Object.keys(input), config_fields: Object.keys(input.config ?? {}) },
        })
        return this.#toConnection(row)
      },
    )
  }

  async archive(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.options.projects.require(ctx, projectId, 'read')
    await this.#find(tenant, projectId, id)
    requireProjectContentWrite(ctx, projectId, 'connections')
    const afterwards = await this.db.transaction().execute(async (trx) => {
      const repo = new ConnectionsRepo(trx)
      if (!(await repo.archive(tenant.principal.organizationId, projectId, id))) throw errors.notFound('connection', id)
      await repo.deleteSnapshot(id)
      await this.options.audit.recordTenantWrite(trx, ctx, tenant.principal, 'connection', {
        action: 'connection.delete',
        id,
      })
      const then: (() => Promise<void>)[] = []
      for (const listener of this.#archiveListeners) {
        const after = await listener({ trx, ctx, tenant, projectId, connectionId: id })
        if (after) then.push(after)
      }
      return then
    })
    for (const after of afterwards) await after()
  }

  /** Connects, reads the source's catalog and keeps it; a refusal is a result, not an error. */
  async test(ctx: RequestContext, projectId: string, id: string): Promise<ConnectionTestResult> {
    const tenant = await this.options.projects.require(ctx, projectId, 'read')
    const opened = this.#open(await this.#find(tenant, projectId, id))
    const started = performance.now()
    try {
      const catalog = await this.introspect(opened)
      await new ConnectionsRepo(this.db).writeSnapshot(id, catalog)
      return {
        ok: true,
        latency_ms: elapsed(started),
        schema_count: catalog.schemas.length,
        table_count: catalog.schemas.reduce((sum, schema) => sum + schema.tables.length, 0),
      }
    } catch (error) {
      if (error instanceof SourceError) {
        return { ok: false, latency_ms: elapsed(started), error: { code: 'connection_error', message: error.message } }
      }
      throw error
    }
  }

  /**
   * The connections behind the named catalogs of a project, with their secrets opened and what
   * was last read of each source, in one read. For a caller already checked for the project
   * (`ProjectsService.require`); names that are no catalog of the project are left out.
   */
  async openCatalogs(checked: TenantContext, projectId: string, catalogs: readonly string[]): Promise<OpenedCatalog[]> {
    const rows = await new ConnectionsRepo(this.db).findByCatalogs(
      checked.principal.organizationId,
      projectId,
      catalogs,
    )
    return rows.map(({ snapshot, refreshed_at: refreshedAt, ...row }) => ({
      opened: this.#open(row),
      stored: refreshedAt ? { catalog: snapshot as SourceCatalog, refreshedAt } : undefined,
    }))
  }

  /** A project's connections in catalog order, for a caller already checked for the project. */
  async listCatalogConnections(checked: TenantContext, projectId: string): Promise<ConnectionRow[]> {
    return new ConnectionsRepo(this.db).listAll(checked.principal.organizationId, projectId)
  }

  /** Reads a source's catalog again and keeps it; a source failure is a `connection_error` (502). */
  async refreshCatalog(opened: OpenedConnection): Promise<StoredCatalog> {
    let catalog: SourceCatalog
    try {
      catalog = await this.introspect(opened)
    } catch (error) {
      if (error instanceof SourceError) {
        throw connectionErrors.source(`catalog '${opened.row.catalog}': ${error.message}`, error)
      }
      throw error
    }
    const refreshedAt = await new ConnectionsRepo(this.db).writeSnapshot(opened.row.id, catalog)
    return { catalog, refreshedAt }
  }

  /** Reads a source's catalog; a source failure becomes `connection_error` (502). */
  async introspect(opened: OpenedConnection): Promise<SourceCatalog> {
    let session
    try {
      session = await opened.connector.connect(opened.config, this.options.context)
      return await session.introspect()
    } finally {
      await session?.close().catch(() => undefined)
    }
  }

  /**
   * Reads a source's primary and foreign keys and row estimates in a session of its own; a source failure
   * is a `connection_error` (502), a source without keys (files) has none.
   */
  async describeKeys(opened: OpenedConnection): Promise<SourceKeys> {
    let session
    try {
      session = await opened.connector.connect(opened.config, this.options.context)
      if (!session.describeKeys) return { primaryKeys: [], foreignKeys: [], rowEstimates: [] }
      return await session.describeKeys()
    } catch (error) {
      if (error instanceof SourceError) {
        throw connectionErrors.source(`catalog '${opened.row.catalog}': ${error.message}`, error)
      }
      throw error
    } finally {
      await session?.close().catch(() => undefined)
    }
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<ConnectionRow> {
    const row = await new ConnectionsRepo(this.db).findActive(tenant.principal.organizationId, projectId, id)
    if (!row) throw errors.notFound('connection', id)
    return row
  }

  #connector(type: string): Connector<unknown> {
    const connector = this.#connectors.get(type)
    if (!connector) throw connectionErrors.unknownType(type, [...this.#connectors.keys()])
    return connector
  }

  async #validConfig(connector: Connector<unknown>, config: unknown): Promise<Record<string, unknown>> {
    const parsed = connector.configSchema.safeParse(config)
    if (!parsed.success) throw validationError(parsed.error, 'body', ['config'])
    try {
      await connector.checkConfig?.(parsed.data, this.options.context)
    } catch (error) {
      if (error instanceof SourceError) throw connectionErrors.invalidConfig(error.message)
      throw error
    }
    return parsed.data as Record<string, unknown>
  }

  #split(connector: Connector<unknown>, config: Record<string, unknown>) {
    const plain: Record<string, unknown> = {}
    const secret: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(config)) {
      if (!connector.secretFields.includes(key)) plain[key] = value
      else if (value !== undefined && value !== '') secret[key] = value
    }
    return { plain, sealed: Object.keys(secret).length ? this.options.secrets.seal(JSON.stringify(secret)) : null }
  }

  /** Only secrets with a value are sealed (see #split), so every key here is a field that is set. */
  #secrets(row: ConnectionRow): Record<string, unknown> {
    return row.secrets ? (JSON.parse(this.options.secrets.open(row.secrets)) as Record<string, unknown>) : {}
  }

  #fullConfig(row: ConnectionRow): Record<string, unknown> {
    return { ...row.config, ...this.#secrets(row) }
  }

  #toConnection(row: ConnectionRow): Connection {
    return toConnection(row, Object.keys(this.#secrets(row)))
  }

  #open(row: ConnectionRow): OpenedConnection {
    const connector = this.#connector(row.type)
    return { row, connector, config: this.#fullConfig(row) }
  }
}

function toConnection(row: ConnectionRow, secretFieldsSet: string[]): Connection {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    name: row.name,
    type: row.type,
    catalog: row.catalog,
    config: row.config,
    secret_fields_set: secretFieldsSet,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

/** `Shop DB (prod)` → `shop_db_prod`; a name that is not an identifier or is reserved gets a suffix or prefix. */
export function catalogNameFrom(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 55)
  if (!base) return 'connection'
  const candidate = /^[a-z_]/.test(base) ? base : `c_${base}`
  return CatalogName.safeParse(candidate).success ? candidate : `${candidate}_source`
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10
