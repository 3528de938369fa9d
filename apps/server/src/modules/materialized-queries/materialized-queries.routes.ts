import { createRoute, z } from '@hono/zod-openapi'
import { Id, MaterializedQueryStatus } from '@tributary/contract'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonResponse,
} from '../../http/router.js'
import type { MaterializedQueriesService } from './materialized-queries.service.js'

const tags = ['Materialized queries']
const ProjectParams = z.object({ project_id: Id })
const QueryParams = ProjectParams.extend({ query_id: Id })
const NOT_MATERIALIZED = 'A query that is not MATERIALIZED answers `409 conflict`.'

export function materializedQueryRoutes(materialized: MaterializedQueriesService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/materialized-queries/status',
        tags,
        summary: 'Status of every materialized query of a project',
        security: bearerSecurity,
        request: { params: ProjectParams },
        responses: {
          200: jsonResponse(z.object({ data: z.array(MaterializedQueryStatus) }), 'One status per materialized query'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json({ data: await materialized.statuses(contextOf(c), c.req.valid('param').project_id) }, 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/queries/{query_id}/status',
        tags,
        summary: 'Status of a materialized query',
        description: NOT_MATERIALIZED,
        security: bearerSecurity,
        request: { params: QueryParams },
        responses: {
          200: jsonResponse(MaterializedQueryStatus, 'Its last and next computation'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, query_id } = c.req.valid('param')
        return c.json(await materialized.status(contextOf(c), project_id, query_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/queries/{query_id}/refresh',
        tags,
        summary: 'Compute a materialized query again now',
        description: `Queues a computation (a job); the current result stays readable until the new one is switched in. ${NOT_MATERIALIZED}`,
        security: bearerSecurity,
        request: { params: QueryParams },
        responses: {
          202: jsonResponse(MaterializedQueryStatus, 'The status, with the queued job'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, query_id } = c.req.valid('param')
        return c.json(await materialized.refresh(contextOf(c), project_id, query_id), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/queries/{query_id}/cancel',
        tags,
        summary: 'Stop a materialized query’s running computation',
        description: `The last completed result stays readable. ${NOT_MATERIALIZED}`,
        security: bearerSecurity,
        request: { params: QueryParams },
        responses: {
          200: jsonResponse(MaterializedQueryStatus, 'The status after the cancellation'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, query_id } = c.req.valid('param')
        return c.json(await materialized.cancel(contextOf(c), project_id, query_id), 200)
      },
    )
}
