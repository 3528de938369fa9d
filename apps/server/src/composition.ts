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
import { SnapshotStore } from './internal-store/snapshot-store.js'
import { TableStore } from './internal-store/table-store.js'
import { type JobFileDirs, sweepJobLeftovers } from './jobs/leftovers.js'
import { EventPublisher } from './events/event-publisher.js'
import { JobQueue } from './jobs/queue.js'
import type { Logger } from './lib/logger.js'
import { mcpHandler } from './mcp/mcp-http.js'
import { McpService, type ProjectTables } from './mcp/mcp-server.js'
import { AddressPolicy } from './lib/outbound/address-policy.js'
import { OutboundClient } from './lib/outbound/guarded-fetch.js'
import { deriveKey, SecretBox } from './lib/secret-box.js'
import { openMetadataStore, type MetadataStore } from './metadata/database.js'
import { Scheduler } from './scheduler/scheduler.js'
import { ApiKeysRepo } from './modules/api-keys/api-keys.repo.js'
import { accessPoliciesModule } from './modules/access-policies/access-policies.module.js'
import { apiKeysModule } from './modules/api-keys/api-keys.module.js'
import { agentsModule } from './modules/agents/agents.module.js'
import { approvalsModule } from './modules/approvals/approvals.module.js'
import { credentialsModule } from './modules/credentials/credentials.module.js'
import { webhooksModule } from './modules/webhooks/webhooks.module.js'
import { askModule } from './modules/ask/ask.module.js'
import { auditModule } from './modules/audit/audit.module.js'
import { cachesModule } from './modules/caches/caches.module.js'
import { catalogsModule } from './modules/catalogs/catalogs.module.js'
import { connectionsModule } from './modules/connections/connections.module.js'
import { dashboardsModule } from './modules/dashboards/dashboards.module.js'
import { datasetsModule } from './modules/datasets/datasets.module.js'
import { exportsModule } from './modules/exports/exports.module.js'
import { goldenSqlModule } from './modules/golden-sql/golden-sql.module.js'
import { healthModule } from './modules/health/health.module.js'
import { importsModule } from './modules/imports/imports.module.js'
import { materializedQueriesModule } from './modules/materialized-queries/materialized-queries.module.js'
import { metadataModule } from './modules/metadata/metadata.module.js'
import { buildModules, type Platform, type ServicesOf } from './modules/module.js'
import { aiModule } from './modules/ai/ai.module.js'
import { type LanguageModelProvider, providerLanguageModels } from './modules/ai/language-models.js'
import { organizationsModule } from './modules/organizations/organizations.module.js'
import { projectsModule } from './modules/projects/projects.module.js'
import { queryJobsModule } from './modules/query-jobs/query-jobs.module.js'
import { quotasModule } from './modules/quotas/quotas.module.js'
import { savedQueriesModule } from './modules/saved-queries/saved-queries.module.js'
import { semanticCatalogsModule } from './modules/semantic-catalogs/semantic-catalogs.module.js'
import { sqlModule } from './modules/sql/sql.module.js'
import { UsersRepo } from './modules/users/users.repo.js'
import { usersModule } from './modules/users/users.module.js'
import { workflowsModule } from './modules/workflows/workflows.module.js'
import { workspacesModule } from './modules/workspaces/workspaces.module.js'

/**
 * Every feature of the platform, in build order: a module comes after the modules it depends on.
 * Adding a feature is its folder and one line here.
 */
const MODULES = [
  healthModule,
  auditModule,
  workspacesModule,
  usersModule,
  organizationsModule,
  projectsModule,
  apiKeysModule,
  connectionsModule,
  datasetsModule,
  catalogsModule,
  sqlModule,
  cachesModule,
  aiModule,
  metadataModule,
  importsModule,
  savedQueriesModule,
  materializedQueriesModule,
  semanticCatalogsModule,
  goldenSqlModule,
  askModule,
  queryJobsModule,
  quotasModule,
  approvalsModule,
  accessPoliciesModule,
  exportsModule,
  agentsModule,
  credentialsModule,
  workflowsModule,
  dashboardsModule,
  webhooksModule,
] as const

export type Services = ServicesOf<typeof MODULES>

/** Idle source sessions kept per connection between queries, and for how long. */
const SOURCE_SESSIONS_KEPT = 4
const SOURCE_SESSION_IDLE_MS = 30_000
/** How often expired results and what crashed jobs left are removed. */
const SWEEP_INTERVAL_MS = 60 * 60 * 1000
/** How late a scheduled run may start: cron has minute resolution, so well under a minute. */
const SCHEDULER_TICK_MS = 10_000
const SERVER_VERSION = '0.1.0'

export interface Tributary {
  app: App
  store: MetadataStore
  /** What the modules offer, by module name. */
  services: Services
  /** The infrastructure the modules share (job queue, engine, …). */
  platform: Platform
  close(): Promise<void>
}

export interface TributaryOptions {
  /** Tests: PGlite in memory, started from this snapshot, instead of the data directory. */
  inMemoryMetadata?: { snapshot?: Blob | undefined }
  /** Run queued jobs in this process (default true); queue tests drive their own `JobQueue`. */
  startJobs?: boolean
  /** Tests: the AI SDK models to use (mock models) instead of the real providers. */
  languageModels?: LanguageModelProvider
  /** "Now" for what reads the calendar (relative dates in questions); tests and the evaluation fix it. */
  now?: () => Date
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
  const duckdbLimits = { memoryLimit: config.queryMemoryLimit, threads: config.queryThreads }
  const now = options.now ?? (() => new Date())
  const events = new EventPublisher(now)
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
    events,
  })
  const platform: Platform = {
    config,
    logger,
    store,
    db,
    authenticator,
    sessions,
    connectionSecrets: new SecretBox(deriveKey(secret, 'connection-secrets')),
    aiSecrets: new SecretBox(deriveKey(secret, 'ai-secrets')),
    agentSecrets: new SecretBox(deriveKey(secret, 'agent-secrets')),
    outboundSecrets: new SecretBox(deriveKey(secret, 'outbound-secrets')),
    outbound: new OutboundClient(new AddressPolicy(config.outboundAllow)),
    events,
    languageModels: options.languageModels ?? providerLanguageModels,
    exportLinkKey: deriveKey(secret, 'exports'),
    callbackKey: deriveKey(secret, 'callbacks'),
    jobs,
    scheduler: new Scheduler(db, jobs, {
      queue: config.jobQueue,
      tickMs: SCHEDULER_TICK_MS,
      logger: logger.child({ component: 'scheduler' }),
    }),
    engine: new SqlEngine(duckdbLimits),
    platformDuckDB: new PlatformDuckDB(duckdbLimits),
    sourceSessions: new SessionPool({ maxIdlePerKey: SOURCE_SESSIONS_KEPT, idleMs: SOURCE_SESSION_IDLE_MS }),
    tableStore: new TableStore({ root: path.join(config.dataDir, 'internal'), ...duckdbLimits }),
    snapshotStore: new SnapshotStore({ root: config.dataDir, ...duckdbLimits }),
    connectors: CONNECTORS,
    connectorContext: { fileRoots: config.fileRoots, connectTimeoutMs: config.connectTimeoutMs },
    fileDirs: jobFileDirs(config),
    now,
  }
  const { services, offers } = buildModules(platform, MODULES)
  const backgroundTasks = offers.flatMap((offer) => offer.background ?? [])
  for (const offer of offers) for (const handler of offer.jobs ?? []) platform.jobs.register(handler)
  for (const offer of offers) for (const task of offer.scheduledTasks ?? []) platform.scheduler.register(task)
  const mcp = new McpService({
    tools: offers.flatMap((offer) => offer.tools ?? []),
    tables: projectTables(services),
    logger: logger.child({ component: 'mcp' }),
    version: SERVER_VERSION,
  })
  const app = createApp({
    logger,
    store,
    authenticator,
    modules: offers,
    rateLimitPerMinute: config.rateLimitPerMinute,
    bodyLimitBytes: config.bodyLimitBytes,
    mcp: mcpHandler(mcp),
  })
  const sweep = () =>
    sweepJobLeftovers(
      platform.fileDirs,
      (ids) => platform.jobs.endings(ids),
      logger,
      config.resultRetentionHours * 3_600_000,
    ).catch((error: unknown) => logger.warn({ err: error }, 'could not sweep the files of ended jobs'))
  let sweeper: NodeJS.Timeout | undefined
  if (options.startJobs !== false) {
    // Before this server claims any job: what a crash left is removed, what another server runs is not.
    await sweep()
    platform.jobs.start()
    for (const task of backgroundTasks) task.start()
    platform.scheduler.start()
    sweeper = setInterval(() => void sweep(), SWEEP_INTERVAL_MS)
    sweeper.unref()
  }
  return {
    app,
    store,
    services,
    platform,
    close: async () => {
      clearInterval(sweeper)
      await platform.scheduler.stop()
      for (const task of backgroundTasks) await task.stop()
      // Running jobs are handed back to the queue before the store they write to goes away.
      await platform.jobs.stop()
      platform.outbound.close()
      platform.engine.close()
      await platform.sourceSessions.close()
      await platform.platformDuckDB.close()
      await store.close()
    },
  }
}

/** What MCP resources and prompts read: project listings and table metadata, through the owners' services. */
export function projectTables(services: Services): ProjectTables {
  const { metadata } = services.metadata
  return {
    projects: async (ctx, limit) => (await services.projects.list(ctx, { limit })).data,
    tables: (ctx, projectId, page) => metadata.list(ctx, projectId, page),
    table: (ctx, projectId, key) => metadata.get(ctx, projectId, key),
  }
}

function jobFileDirs(config: Config): JobFileDirs {
  return {
    results: path.join(config.dataDir, 'results'),
    exports: path.join(config.dataDir, 'exports'),
    uploads: path.join(config.dataDir, 'uploads'),
  }
}
