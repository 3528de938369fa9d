import { createRoute, z } from '@hono/zod-openapi'
import { CreateSavedQuery, Id, ListQuery, listOf, SavedQuery, UpdateSavedQuery } from '@tributary/contract'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
} from '../../http/router.js'
import type { SavedQueriesService } from './saved-queries.service.js'

const tags = ['Saved queries']
const ProjectParams = z.object({ project_id: Id })
const QueryParams = ProjectParams.extend({ query_id: Id })

export function savedQueryRoutes(savedQueries: SavedQueriesService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/queries',
        tags,
        summary: 'Save a query',
        description:
          'Parameters are written `{{name}}` in the SQL and bound as typed values when the query runs, never ' +
          'pasted into it as text. Every `{{name}}` must be declared in `parameters` and every declared one used.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateSavedQuery) },
        responses: { 201: jsonResponse(SavedQuery, 'The saved query'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) =>
        c.json(await savedQueries.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/queries',
        tags,
        summary: 'List a project’s saved queries',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(SavedQuery), 'Saved queries'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await savedQueries.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/queries/{query_id}',
        tags,
        summary: 'Get a saved query',
        security: bearerSecurity,
        request: { params: QueryParams },
        responses: {
          200: jsonResponse(SavedQuery, 'The saved query'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, query_id } = c.req.valid('param')
        return c.json(await savedQueries.get(contextOf(c), project_id, query_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/projects/{project_id}/queries/{query_id}',
        tags,
        summary: 'Update a saved query',
        description: '`parameters`, when given, replaces the whole list; SQL and parameters are checked together.',
        security: bearerSecurity,
        request: { params: QueryParams, body: jsonBody(UpdateSavedQuery) },
        responses: { 200: jsonResponse(SavedQuery, 'The updated query'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, query_id } = c.req.valid('param')
        return c.json(await savedQueries.update(contextOf(c), project_id, query_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/queries/{query_id}',
        tags,
        summary: 'Delete (archive) a saved query',
        description: 'Jobs that already ran it keep their results.',
        security: bearerSecurity,
        request: { params: QueryParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, query_id } = c.req.valid('param')
        await savedQueries.archive(contextOf(c), project_id, query_id)
        return c.body(null, 204)
      },
    )
}
