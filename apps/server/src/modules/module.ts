import type { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'

import type { Authenticator } from '../auth/authenticator.js'
import type { SessionTokens } from '../auth/session-tokens.js'
import type { Config } from '../config/config.js'
import type { Connector, ConnectorContext } from '../engine/connectors/connector.js'
import type { SessionPool } from '../engine/connectors/session-pool.js'
import type { SqlEngine } from '../engine/engine.js'
import type { PlatformDuckDB } from '../engine/platform-duckdb.js'
import type { AppEnv } from '../http/router.js'
import type { SnapshotStore } from '../internal-store/snapshot-store.js'
import type { TableStore } from '../internal-store/table-store.js'
import type { JobFileDirs } from '../jobs/leftovers.js'
import type { JobHandler, JobQueue } from '../jobs/queue.js'
import type { Logger } from '../lib/logger.js'
import type { EventPublisher } from '../events/event-publisher.js'
import type { OutboundClient } from '../lib/outbound/guarded-fetch.js'
import type { SecretBox } from '../lib/secret-box.js'
import type { Tool } from '../mcp/tool.js'
import type { MetadataDb, MetadataStore } from '../metadata/database.js'
import type { LanguageModelProvider } from './ai/language-models.js'
import type { ScheduledTask, Scheduler } from '../scheduler/scheduler.js'

/**
 * What every module may use: the infrastructure built once from config, before any module.
 * Modules reach each other only through the services their manifests offer, never through this.
 */
export interface Platform {
  config: Config
  logger: Logger
  store: MetadataStore
  db: MetadataDb
  authenticator: Authenticator
  sessions: SessionTokens
  /** Encrypts the secrets of connection settings at rest. */
  connectionSecrets: SecretBox
  /** Encrypts organizations' language model API keys at rest. */
  aiSecrets: SecretBox
  /** Encrypts the credentials of registered agents at rest. */
  agentSecrets: SecretBox
  /** Encrypts outbound credentials and webhook signing secrets at rest. */
  outboundSecrets: SecretBox
  /** Every call to a URL a user gave (agents, webhooks, workflow actions): the address policy, pinned DNS. */
  outbound: OutboundClient
  /** Publishes what happened (a job ended, a workflow acted) to its subscribers, in the caller's transaction. */
  events: EventPublisher
  /** Turns AI settings into AI SDK models; tests inject mock models here. */
  languageModels: LanguageModelProvider
  /** Signs export download links. */
  exportLinkKey: Uint8Array
  /** Signs outbound callbacks (webhooks); per-project secrets are derived from it. */
  callbackKey: Uint8Array
  jobs: JobQueue
  /** Runs modules' scheduled tasks: each due occurrence becomes one job of the queue. */
  scheduler: Scheduler
  engine: SqlEngine
  platformDuckDB: PlatformDuckDB
  sourceSessions: SessionPool
  tableStore: TableStore
  /** Versioned whole-table DuckDB files (caches, materialized results), switched atomically by their owners. */
  snapshotStore: SnapshotStore
  connectors: readonly Connector<unknown>[]
  connectorContext: ConnectorContext
  fileDirs: JobFileDirs
  /** "Now" for what reads the calendar (relative dates in questions); fixed by tests. */
  now: () => Date
}

export type Router = OpenAPIHono<AppEnv>

/** Work a module does in the background while the server runs (timers); started and stopped with the job workers. */
export interface BackgroundTask {
  name: string
  start(): void
  /** Stops it and waits for work in progress; called on close. */
  stop(): Promise<void>
}

/** What a module offers the rest of the platform. */
export interface ModuleOffer<Service> {
  /** The module's public face: the only way other modules reach it. */
  service: Service
  /** Routes behind authentication, mounted under `/api/v1`. */
  routes?: Router
  /** Routes that carry their own authority or none (health, login, signed links), mounted under `/api/v1`. */
  publicRoutes?: Router
  /** Handlers for the job kinds this module queues. */
  jobs?: readonly JobHandler<never>[]
  /** Started with the job workers (not when a process runs no jobs), stopped before them on close. */
  background?: readonly BackgroundTask[]
  /** Tasks the scheduler runs for this module, each as jobs of a kind this module handles. */
  scheduledTasks?: readonly ScheduledTask[]
  /** Requests whose body this module streams under its own limits, so the JSON body checks let them pass. */
  streamsBody?: (c: Context) => boolean
  /** MCP tools, served at `/mcp`: each calls this module's service as its routes do. */
  tools?: readonly Tool[]
}

export interface ModuleDefinition<Name extends string = string, Service = unknown> {
  readonly name: Name
  readonly dependsOn: readonly AnyModule[]
  create(platform: Platform, dependencies: never): ModuleOffer<Service>
}

// `any` lets a list hold modules of every service type; `defineModule` keeps each factory typed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = ModuleDefinition<string, any>

type ServiceOf<M> = M extends ModuleDefinition<string, infer Service> ? Service : never

/** The services of a list of modules, by module name. */
export type ServicesOf<Modules extends readonly AnyModule[]> = {
  [M in Modules[number] as M['name']]: ServiceOf<M>
}

/**
 * A feature's manifest: its name, the modules whose services it uses, and a factory from those to
 * what it offers. The factory receives exactly the services it names, typed.
 *
 * @example
 * export const auditModule = defineModule({
 *   name: 'audit',
 *   dependsOn: [],
 *   create: ({ db }) => ({ service: new AuditService(db), routes: auditRoutes(...) }),
 * })
 */
export function defineModule<
  const Name extends string,
  const Dependencies extends readonly AnyModule[],
  Service,
>(definition: {
  name: Name
  dependsOn: Dependencies
  create(platform: Platform, dependencies: ServicesOf<Dependencies>): ModuleOffer<Service>
}): ModuleDefinition<Name, Service> {
  return definition
}

export interface BuiltModules<Modules extends readonly AnyModule[]> {
  services: ServicesOf<Modules>
  offers: readonly (ModuleOffer<unknown> & { name: string })[]
}

/**
 * Builds modules in list order. Each module's dependencies must come before it in the list, so
 * the order itself is the proof that there is no cycle.
 */
export function buildModules<const Modules extends readonly AnyModule[]>(
  platform: Platform,
  modules: Modules,
): BuiltModules<Modules> {
  const services: Record<string, unknown> = {}
  const offers: (ModuleOffer<unknown> & { name: string })[] = []
  for (const module of modules) {
    if (Object.hasOwn(services, module.name)) throw new Error(`module '${module.name}' is listed twice`)
    const dependencies: Record<string, unknown> = {}
    for (const dependency of module.dependsOn) {
      if (!Object.hasOwn(services, dependency.name)) {
        throw new Error(`module '${module.name}' needs '${dependency.name}', which must come before it in the list`)
      }
      dependencies[dependency.name] = services[dependency.name]
    }
    const offer: ModuleOffer<unknown> = module.create(platform, dependencies as never)
    services[module.name] = offer.service
    offers.push({ ...offer, name: module.name })
  }
  return { services: services as ServicesOf<Modules>, offers }
}
