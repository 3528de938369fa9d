import path from 'node:path'

import { Authenticator } from './auth/authenticator.js'
import { SessionTokens } from './auth/session-tokens.js'
import type { Config } from './config/config.js'
import { loadInstanceSecret } from './config/instance-secret.js'
import { CONNECTORS } from './engine/connectors/registry.js'
import { SessionPool } from './engine/connectors/session-pool.js'
import { SqlEngine } from './engine/engine.js'
import { PlatformDuckDB } from './engine/platform-duckdb.js'
import { createApp, type App } from './http/app.js'
import { TableStore } from './internal-store/table-store.js'
import { type JobFileDirs, sweepJobLeftovers } from './jobs/leftovers.js'
import { JobQueue } from './jobs/queue.js'
import type { Logger } from './lib/logger.js'
import { deriveKey, SecretBox } from './lib/secret-box.js'
import { openMetadataStore, type MetadataStore } from './metadata/database.js'
import { ApiKeysRepo } from './modules/api-keys/api-keys.repo.js'
import { ApiKeysService } from './modules/api-keys/api-keys.service.js'
import { AuditService } from './modules/audit/audit.service.js'
import { CatalogsService } from './modules/catalogs/catalogs.service.js'
import { ConnectionsService } from './modules/connections/connections.service.js'
import { ColumnTypes } from './modules/datasets/column-types.js'
import { DatasetsService } from './modules/datasets/datasets.service.js'
import { ImportsService } from './modules/datasets/imports.service.js'
import { OrganizationsService } from './modules/organizations/organizations.service.js'
import { ProjectsService } from './modules/projects/projects.service.js'
import { QueryJobsService } from './modules/query-jobs/query-jobs.service.js'
import { SavedQueriesService } from './modules/saved-queries/saved-queries.service.js'
import { ExportsService } from './modules/exports/exports.service.js'
import { SqlService } from './modules/sql/sql.service.js'
import { UsersRepo } from './modules/users/users.repo.js'
import { UsersService } from './modules/users/users.service.js'
import { WorkspacesService } from './modules/workspaces/workspaces.service.js'

/** Idle source sessions kept per connection between queries, and for how long. */
const SOURCE_SESSIONS_KEPT = 4
const SOURCE_SESSION_IDLE_MS = 30_000
/** How often expired results and what crashed jobs left are removed. */
const SWEEP_INTERVAL_MS = 60 * 60 * 1000

export interface Tributary {
  app: App
  store: MetadataStore
  services: ReturnType<typeof createServices>
  close(): Promise<void>
}

export interface TributaryOptions {
  /** Tests: PGlite in memory, started from this snapshot, instead of the data directory. */
  inMemoryMetadata?: { snapshot?: Blob | undefined }
  /** Run queued jobs in this process (default true); queue tests drive their own `JobQueue`. */
  startJobs?: boolean
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
  const services = createServices(
    store,
    authenticator,
    sessions,
    secretBox,
    config,
    logger,
    deriveKey(secret, 'exports'),
  )
  const app = createApp({
    logger,
    store,
    authenticator,
    services,
    rateLimitPerMinute: config.rateLimitPerMinute,
    bodyLimitBytes: config.bodyLimitBytes,
  })
  const sweep = () =>
    sweepJobLeftovers(
      jobFileDirs(config),
      (ids) => services.jobs.endings(ids),
      logger,
      config.resultRetentionHours * 3_600_000,
    ).catch((error: unknown) => logger.warn({ err: error }, 'could not sweep the files of ended jobs'))
  let sweeper: NodeJS.Timeout | undefined
  if (options.startJobs !== false) {
    // Before this server claims any job: what a crash left is removed, what another server runs is not.
    await sweep()
    services.jobs.start()
    sweeper = setInterval(() => void sweep(), SWEEP_INTERVAL_MS)
    sweeper.unref()
  }
  return {
    app,
    store,
    services,
    close: async () => {
      clearInterval(sweeper)
      // Running jobs are handed back to the queue before the store they write to goes away.
      await services.jobs.stop()
      services.engine.close()
      await services.sourceSessions.close()
      await services.platformDuckDB.close()
      await store.close()
    },
  }
}

function createServices(
  store: MetadataStore,
  authenticator: Authenticator,
  sessions: SessionTokens,
  secrets: SecretBox,
  config: Config,
  logger: Logger,
  exportLinkKey: Uint8Array,
) {
  const { db } = store
  const connectorContext = { fileRoots: config.fileRoots, connectTimeoutMs: config.connectTimeoutMs }
  const connections = new ConnectionsService(db, { connectors: CONNECTORS, secrets, context: connectorContext })
  const tableStore = new TableStore({
    root: path.join(config.dataDir, 'internal'),
    memoryLimit: config.queryMemoryLimit,
    threads: config.queryThreads,
  })
  const datasets = new DatasetsService(db, tableStore, new ColumnTypes())
  const catalogs = new CatalogsService(db, connections, datasets)
  const engine = new SqlEngine({ memoryLimit: config.queryMemoryLimit, threads: config.queryThreads })
  const platformDuckDB = new PlatformDuckDB({ memoryLimit: config.queryMemoryLimit, threads: config.queryThreads })
  const jobs = new JobQueue(db, {
    queue: config.jobQueue,
    concurrency: config.jobConcurrency,
    pollIntervalMs: config.jobPollIntervalMs,
    leaseMs: config.jobLeaseMs,
    // Heartbeats also carry cancellations asked for on another process: keep them frequent.
    heartbeatMs: Math.min(2_000, Math.floor(config.jobLeaseMs / 3)),
    retryBaseDelayMs: config.jobRetryDelayMs,
    singleProcess: store.kind === 'pglite',
    logger: logger.child({ component: 'jobs' }),
  })
  const sourceSessions = new SessionPool({ maxIdlePerKey: SOURCE_SESSIONS_KEPT, idleMs: SOURCE_SESSION_IDLE_MS })
  const sql = new SqlService(connections, catalogs, engine, connectorContext, sourceSessions)
  const imports = new ImportsService(db, jobs, datasets, tableStore, platformDuckDB, sql, {
    uploadsDir: jobFileDirs(config).uploads,
    uploadLimitBytes: config.uploadLimitBytes,
  })
  const savedQueries = new SavedQueriesService(db)
  const queryJobs = new QueryJobsService(db, jobs, sql, platformDuckDB, {
    resultsDir: jobFileDirs(config).results,
    // `{query_id, parameters}` runs resolve through saved queries (a function: each module needs the other).
    savedQueries: () => savedQueries,
  })
  const exports = new ExportsService(db, jobs, queryJobs, datasets, platformDuckDB, {
    exportsDir: jobFileDirs(config).exports,
    linkKey: exportLinkKey,
    linkTtlSeconds: config.exportLinkTtlSeconds,
    publicUrl: config.publicUrl,
    duckdb: { memoryLimit: config.queryMemoryLimit, threads: config.queryThreads },
  })
  return {
    exports,
    queryJobs,
    savedQueries,
    jobs,
    platformDuckDB,
    engine,
    sourceSessions,
    datasets,
    imports,
    connections,
    catalogs,
    sql,
    organizations: new OrganizationsService(db, authenticator),
    workspaces: new WorkspacesService(db),
    projects: new ProjectsService(db, authenticator),
    apiKeys: new ApiKeysService(db, authenticator),
    users: new UsersService(db, sessions, authenticator, { inviteTtlHours: config.inviteTtlHours }),
    audit: new AuditService(db),
  }
}

function jobFileDirs(config: Config): JobFileDirs {
  return {
    results: path.join(config.dataDir, 'results'),
    exports: path.join(config.dataDir, 'exports'),
    uploads: path.join(config.dataDir, 'uploads'),
  }
}
