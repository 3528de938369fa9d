import { createRoute, z } from '@hono/zod-openapi'
import { CreateProject, Id, ListQuery, listOf, Project, UpdateProject } from '@tributary/contract'

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
import type { ProjectsService } from './projects.service.js'

const tags = ['Projects']
const ProjectParams = z.object({ project_id: Id })
const ProjectListQuery = ListQuery.extend({ workspace_id: Id.optional() })

export function projectRoutes(projects: ProjectsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects',
        tags,
        summary: 'Create a project (editors and admins)',
        description: 'Goes into `workspace_id`, or the organization’s default workspace.',
        security: bearerSecurity,
        request: { body: jsonBody(CreateProject) },
        responses: { 201: jsonResponse(Project, 'The new project'), ...errorResponses(...WRITE_ERRORS, 409) },
      }),
      async (c) => c.json(await projects.create(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects',
        tags,
        summary: 'List projects',
        description: 'A project key lists only its own project.',
        security: bearerSecurity,
        request: { query: ProjectListQuery },
        responses: { 200: jsonResponse(listOf(Project), 'Projects'), ...errorResponses(...AUTHENTICATED_ERRORS) },
      }),
      async (c) => c.json(await projects.list(contextOf(c), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}',
        tags,
        summary: 'Get a project',
        security: bearerSecurity,
        request: { params: ProjectParams },
        responses: { 200: jsonResponse(Project, 'The project'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => c.json(await projects.get(contextOf(c), c.req.valid('param').project_id), 200),
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/projects/{project_id}',
        tags,
        summary: 'Update a project',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(UpdateProject) },
        responses: {
          200: jsonResponse(Project, 'The updated project'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await projects.update(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}',
        tags,
        summary: 'Delete (archive) a project',
        description: 'Its project keys stop working at once.',
        security: bearerSecurity,
        request: { params: ProjectParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        await projects.archive(contextOf(c), c.req.valid('param').project_id)
        return c.body(null, 204)
      },
    )
}
