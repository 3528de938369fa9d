import { Authenticator } from './auth/authenticator.js'
import { SessionTokens } from './auth/session-tokens.js'
import type { Config } from './config/config.js'
import { loadInstanceSecret } from './config/instance-secret.js'
import { CONNECTORS } from './engine/connectors/registry.js'
import { SqlEngine } from './engine/engine.js'
import { createApp, type App } from './http/app.js'
import type { Logger } from './lib/logger.js'
import { deriveKey, SecretBox } from './lib/secret-box.js'
import { openMetadataStore, type MetadataStore } from './metadata/database.js'
import { ApiKeysRepo } from './modules/api-keys/api-keys.repo.js'
import { ApiKeysService } from './modules/api-keys/api-keys.service.js'
import { AuditService } from './modules/audit/audit.service.js'
import { CatalogsService } from './modules/catalogs/catalogs.service.js'
import { ConnectionsService } from './modules/connections/connections.service.js'
import { OrganizationsService } from './modules/organizations/organizations.service.js'
import { ProjectsService } from './modules/projects/projects.service.js'
import { SqlService } from './modules/sql/sql.service.js'
import { UsersRepo } from './modules/users/users.repo.js'
import { UsersService } from './modules/users/users.service.js'
import { WorkspacesService } from './modules/workspaces/workspaces.service.js'

export interface Tributary {
  app: App
  store: MetadataStore
  services: ReturnType<typeof createServices>
  close(): Promise<void>
}

export interface TributaryOptions {
  /** Tests: PGlite in memory, started from this snapshot, instead of the data directory. */
  inMemoryMetadata?: { snapshot?: Blob | undefined }
}

/** Builds every dependency from config, in one place. `main.ts` and the tests both start here. */
export async function createTributary(
  config: Config,
  logger: Logger,
  options: TributaryOptions = {},
): Promise<Tributary> {
  const store = await openMetadataStore({
    databaseUrl: config.databaseUrl,
    dataDir: options.inMemoryMetadata ? undefined : config.dataDir,
    poolSize: config.databasePoolSize,
    pgliteSnapshot: options.inMemoryMetadata?.snapshot,
  })
  const secret = await loadInstanceSecret(config)
  const sessions = new SessionTokens(deriveKey(secret, 'sessions'), config.sessionTtlSeconds)
  const secretBox = new SecretBox(deriveKey(secret, 'connection-secrets'))
  const { db } = store
  const authenticator = new Authenticator(
    {
      findActiveKeyByHash: (hash) => new ApiKeysRepo(db).findActiveByHash(hash),
      findActiveUser: (userId, organizationId) => new UsersRepo(db).findSessionUser(organizationId, userId),
      touchKey: (keyId) => new ApiKeysRepo(db).touch(keyId),
    },
    sessions,
    config.authCacheTtlMs,
  )
  const services = createServices(store, authenticator, sessions, secretBox, config)
  const app = createApp({
    logger,
    store,
    authenticator,
    services,
    rateLimitPerMinute: config.rateLimitPerMinute,
    bodyLimitBytes: config.bodyLimitBytes,
  })
  return { app, store, services, close: () => store.close() }
}

function createServices(
  store: MetadataStore,
  authenticator: Authenticator,
  sessions: SessionTokens,
  secrets: SecretBox,
  config: Config,
) {
  const { db } = store
  const connectorContext = { fileRoots: config.fileRoots, connectTimeoutMs: config.connectTimeoutMs }
  const connections = new ConnectionsService(db, { connectors: CONNECTORS, secrets, context: connectorContext })
  const catalogs = new CatalogsService(db, connections)
  const engine = new SqlEngine({ memoryLimit: config.queryMemoryLimit, threads: config.queryThreads })
  return {
    connections,
    catalogs,
    sql: new SqlService(connections, catalogs, engine, connectorContext),
    organizations: new OrganizationsService(db, authenticator),
    workspaces: new WorkspacesService(db),
    projects: new ProjectsService(db, authenticator),
    apiKeys: new ApiKeysService(db, authenticator),
    users: new UsersService(db, sessions, authenticator, { inviteTtlHours: config.inviteTtlHours }),
    audit: new AuditService(db),
  }
}
