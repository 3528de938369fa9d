import { createRoute, z } from '@hono/zod-openapi'
import { CreateWorkspace, Id, ListQuery, listOf, UpdateWorkspace, Workspace } from '@tributary/contract'

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
import type { WorkspacesService } from './workspaces.service.js'

const tags = ['Workspaces']
const WorkspaceParams = z.object({ workspace_id: Id })

export function workspaceRoutes(workspaces: WorkspacesService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/workspaces',
        tags,
        summary: 'Create a workspace (admins)',
        security: bearerSecurity,
        request: { body: jsonBody(CreateWorkspace) },
        responses: { 201: jsonResponse(Workspace, 'The new workspace'), ...errorResponses(...WRITE_ERRORS, 409) },
      }),
      async (c) => c.json(await workspaces.create(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/workspaces',
        tags,
        summary: 'List the organization’s workspaces',
        security: bearerSecurity,
        request: { query: ListQuery },
        responses: { 200: jsonResponse(listOf(Workspace), 'Workspaces'), ...errorResponses(...AUTHENTICATED_ERRORS) },
      }),
      async (c) => c.json(await workspaces.list(contextOf(c), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/workspaces/{workspace_id}',
        tags,
        summary: 'Get a workspace',
        security: bearerSecurity,
        request: { params: WorkspaceParams },
        responses: {
          200: jsonResponse(Workspace, 'The workspace'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await workspaces.get(contextOf(c), c.req.valid('param').workspace_id), 200),
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/workspaces/{workspace_id}',
        tags,
        summary: 'Update a workspace (admins)',
        security: bearerSecurity,
        request: { params: WorkspaceParams, body: jsonBody(UpdateWorkspace) },
        responses: {
          200: jsonResponse(Workspace, 'The updated workspace'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await workspaces.update(contextOf(c), c.req.valid('param').workspace_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/workspaces/{workspace_id}',
        tags,
        summary: 'Delete (archive) a workspace (admins)',
        description: 'Refused with 409 for the default workspace and for a workspace that still holds projects.',
        security: bearerSecurity,
        request: { params: WorkspaceParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) },
      }),
      async (c) => {
        await workspaces.archive(contextOf(c), c.req.valid('param').workspace_id)
        return c.body(null, 204)
      },
    )
}
