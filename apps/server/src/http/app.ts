import type { Context } from 'hono'
import { requestId } from 'hono/request-id'

import type { Authenticator } from '../auth/authenticator.js'
import { errors } from '../lib/errors.js'
import type { Logger } from '../lib/logger.js'
import type { MetadataStore } from '../metadata/database.js'
import { auditRoutes } from '../modules/audit/audit.routes.js'
import { catalogRoutes } from '../modules/catalogs/catalogs.routes.js'
import type { CatalogsService } from '../modules/catalogs/catalogs.service.js'
import { connectionRoutes } from '../modules/connections/connections.routes.js'
import { datasetRoutes } from '../modules/datasets/datasets.routes.js'
import type { DatasetsService } from '../modules/datasets/datasets.service.js'
import { importRoutes } from '../modules/datasets/imports.routes.js'
import type { ImportsService } from '../modules/datasets/imports.service.js'
import { exceptUploads } from '../modules/datasets/upload.js'
import type { ConnectionsService } from '../modules/connections/connections.service.js'
import type { AuditService } from '../modules/audit/audit.service.js'
import type { ApiKeysService } from '../modules/api-keys/api-keys.service.js'
import { healthRoutes } from '../modules/health/health.routes.js'
import { organizationRoutes } from '../modules/organizations/organizations.routes.js'
import type { OrganizationsService } from '../modules/organizations/organizations.service.js'
import { projectRoutes } from '../modules/projects/projects.routes.js'
import type { ProjectsService } from '../modules/projects/projects.service.js'
import { queryJobRoutes } from '../modules/query-jobs/query-jobs.routes.js'
import type { QueryJobsService } from '../modules/query-jobs/query-jobs.service.js'
import { savedQueryRoutes } from '../modules/saved-queries/saved-queries.routes.js'
import { exportDownloadRoutes, exportRoutes } from '../modules/exports/exports.routes.js'
import type { ExportsService } from '../modules/exports/exports.service.js'
import type { SavedQueriesService } from '../modules/saved-queries/saved-queries.service.js'
import { sqlRoutes } from '../modules/sql/sql.routes.js'
import type { SqlService } from '../modules/sql/sql.service.js'
import { authRoutes, userRoutes } from '../modules/users/users.routes.js'
import type { UsersService } from '../modules/users/users.service.js'
import { workspaceRoutes } from '../modules/workspaces/workspaces.routes.js'
import type { WorkspacesService } from '../modules/workspaces/workspaces.service.js'
import { docsRoutes } from './docs.js'
import { createErrorHandler, sendError } from './error-handler.js'
import { authenticate } from './middleware/authenticate.js'
import { limitBody, requireJsonBody } from './middleware/json-body.js'
import { rateLimit, RateLimiter } from './middleware/rate-limit.js'
import { requestLog } from './middleware/request-log.js'
import { createRouter, type AppEnv } from './router.js'

export const API_BASE = '/api/v1'
const OPENAPI_PATH = `${API_BASE}/openapi.json`

export interface Services {
  datasets: DatasetsService
  imports: ImportsService
  organizations: OrganizationsService
  workspaces: WorkspacesService
  projects: ProjectsService
  apiKeys: ApiKeysService
  users: UsersService
  audit: AuditService
  connections: ConnectionsService
  catalogs: CatalogsService
  sql: SqlService
  queryJobs: QueryJobsService
  savedQueries: SavedQueriesService
  exports: ExportsService
}

export interface AppDependencies {
  logger: Logger
  store: Pick<MetadataStore, 'ping'>
  authenticator: Authenticator
  services: Services
  rateLimitPerMinute: number
  bodyLimitBytes: number
}

export function createApp(deps: AppDependencies) {
  const { services } = deps
  const limiter = new RateLimiter(deps.rateLimitPerMinute)

  const byAddress = (c: Context<AppEnv>) => `ip:${clientAddress(c)}`

  const publicApi = createRouter()
    .route('/', healthRoutes(deps.store))
    .use('/auth/*', rateLimit(limiter, byAddress))
    .route('/', authRoutes(services.users))
    // Signed links carry their own authority (a token naming one export and an expiry).
    .route('/', exportDownloadRoutes(services.exports))

  const api = createRouter()
    .use('*', authenticate(deps.authenticator, { limiter, keyOf: byAddress }))
    .use('*', rateLimit(limiter, principalKey))
    .route('/', organizationRoutes(services.organizations, services.apiKeys))
    .route('/', workspaceRoutes(services.workspaces))
    .route('/', projectRoutes(services.projects, services.apiKeys))
    .route('/', userRoutes(services.users))
    .route('/', auditRoutes(services.audit))
    .route('/', connectionRoutes(services.connections))
    .route('/', catalogRoutes(services.catalogs))
    .route('/', datasetRoutes(services.datasets))
    .route('/', importRoutes(services.imports))
    .route('/', sqlRoutes(services.sql))
    .route('/', queryJobRoutes(services.queryJobs))
    .route('/', savedQueryRoutes(services.savedQueries, services.queryJobs))
    .route('/', exportRoutes(services.exports))

  const app = createRouter()
  app.use('*', requestId({ headerName: 'X-Request-Id' }))
  app.use('*', requestLog(deps.logger))
  // Only requests that carry a body pay for the size check: wrapping every GET costs ~15% of a read.
  for (const method of ['POST', 'PUT', 'PATCH'] as const) {
    // Import uploads stream their multipart body to disk under their own, larger limit.
    app.on(method, `${API_BASE}/*`, exceptUploads(limitBody(deps.bodyLimitBytes)), exceptUploads(requireJsonBody()))
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`trb_…`) or a session token from `/auth/login`.',
  })
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'Tributary API',
      version: '0.1.0',
      description:
        'Self-hosted, multi-tenant AI data platform. Errors share one envelope: ' +
        '`{"error": {"code", "message", "details"?, "request_id"}}`. Lists take `limit` and `cursor` ' +
        'and answer `{"data": [...], "next_cursor"}`.',
    },
  })
  // The OpenAPI route is registered before the authenticated API so it stays public.
  app.route(API_BASE, publicApi)
  app.route(API_BASE, api)
  app.route('/docs', docsRoutes(OPENAPI_PATH))
  app.get('/', (c) => c.redirect('/docs'))

  app.notFound((c) => sendError(c, errors.notFound(`route ${c.req.method} ${c.req.path}`), c.get('requestId')))
  app.onError(createErrorHandler(deps.logger))
  return app
}

export type App = ReturnType<typeof createApp>

function principalKey(c: Context<AppEnv>): string {
  const principal = c.get('principal')
  return principal.kind === 'user' ? `user:${principal.userId}` : `key:${principal.keyId}`
}

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } }
}

function clientAddress(c: Context<AppEnv>): string {
  return (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress ?? 'local'
}
