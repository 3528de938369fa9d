import { createRoute, z } from '@hono/zod-openapi'
import {
  Connection,
  ConnectionTestResult,
  ConnectionType,
  CreateConnection,
  Id,
  ListQuery,
  listOf,
  UpdateConnection,
} from '@tributary/contract'

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
import type { ConnectionsService } from './connections.service.js'

const tags = ['Connections']
const ProjectParams = z.object({ project_id: Id })
const ConnectionParams = ProjectParams.extend({ connection_id: Id })

export function connectionRoutes(connections: ConnectionsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/connection-types',
        tags,
        summary: 'List connection types with the JSON Schema of their config',
        security: bearerSecurity,
        responses: {
          200: jsonResponse(z.object({ data: z.array(ConnectionType) }), 'Connection types'),
          ...errorResponses(401, 429),
        },
      }),
      (c) => c.json({ data: connections.types() }, 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/connections',
        tags,
        summary: 'Add a connection to a source',
        description:
          'Validates `config` against the type’s schema. Secret fields are encrypted at rest and never returned. ' +
          'The connection becomes the catalog `catalog` in SQL.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateConnection) },
        responses: { 201: jsonResponse(Connection, 'The connection'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) =>
        c.json(await connections.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/connections',
        tags,
        summary: 'List a project’s connections',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(Connection), 'Connections'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await connections.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/connections/{connection_id}',
        tags,
        summary: 'Get a connection',
        security: bearerSecurity,
        request: { params: ConnectionParams },
        responses: { 200: jsonResponse(Connection, 'The connection'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, connection_id } = c.req.valid('param')
        return c.json(await connections.get(contextOf(c), project_id, connection_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/projects/{project_id}/connections/{connection_id}',
        tags,
        summary: 'Update a connection',
        description: 'Config fields left out, secrets included, keep their values.',
        security: bearerSecurity,
        request: { params: ConnectionParams, body: jsonBody(UpdateConnection) },
        responses: {
          200: jsonResponse(Connection, 'The updated connection'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, connection_id } = c.req.valid('param')
        return c.json(await connections.update(contextOf(c), project_id, connection_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/connections/{connection_id}',
        tags,
        summary: 'Delete (archive) a connection',
        security: bearerSecurity,
        request: { params: ConnectionParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, connection_id } = c.req.valid('param')
        await connections.archive(contextOf(c), project_id, connection_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/connections/{connection_id}/test',
        tags,
        summary: 'Test a connection',
        description:
          'Connects and reads the source’s catalog (which also refreshes it). A source that refuses is ' +
          '`{"ok": false, "error": {"code": "connection_error", "message": …}}` with a message saying what to fix.',
        security: bearerSecurity,
        request: { params: ConnectionParams },
        responses: {
          200: jsonResponse(ConnectionTestResult, 'The outcome'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, connection_id } = c.req.valid('param')
        return c.json(await connections.test(contextOf(c), project_id, connection_id), 200)
      },
    )
}
