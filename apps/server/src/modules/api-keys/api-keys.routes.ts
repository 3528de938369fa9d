import { createRoute, z } from '@hono/zod-openapi'
import { ApiKey, CreateApiKey, CreatedApiKey, Id, ListQuery, listOf } from '@tributary/contract'

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
import type { ApiKeysService } from './api-keys.service.js'

const OrganizationParams = z.object({ organization_id: Id })
const OrganizationKeyParams = OrganizationParams.extend({ key_id: Id })
const ProjectParams = z.object({ project_id: Id })
const ProjectKeyParams = ProjectParams.extend({ key_id: Id })

/** Keys live under what they belong to: `/organizations/{id}/api-keys` and `/projects/{id}/api-keys`. */
export function apiKeyRoutes(apiKeys: ApiKeysService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/organizations/{organization_id}/api-keys',
        tags: ['Organizations'],
        summary: 'Create an organization key (platform key)',
        description: 'The secret is in `key`, returned only in this response.',
        security: bearerSecurity,
        request: { params: OrganizationParams, body: jsonBody(CreateApiKey) },
        responses: {
          201: jsonResponse(CreatedApiKey, 'The new key, with its secret'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(
          await apiKeys.createForOrganization(contextOf(c), c.req.valid('param').organization_id, c.req.valid('json')),
          201,
        ),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/organizations/{organization_id}/api-keys',
        tags: ['Organizations'],
        summary: 'List organization keys (platform key)',
        security: bearerSecurity,
        request: { params: OrganizationParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(ApiKey), 'Live keys, without secrets'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(
          await apiKeys.listForOrganization(contextOf(c), c.req.valid('param').organization_id, c.req.valid('query')),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/organizations/{organization_id}/api-keys/{key_id}',
        tags: ['Organizations'],
        summary: 'Revoke an organization key (platform key)',
        security: bearerSecurity,
        request: { params: OrganizationKeyParams },
        responses: { 204: { description: 'Revoked' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { organization_id, key_id } = c.req.valid('param')
        await apiKeys.revokeForOrganization(contextOf(c), organization_id, key_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/api-keys',
        tags: ['Projects'],
        summary: 'Create a project key',
        description: 'The key reaches only this project. The secret is in `key`, returned only in this response.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateApiKey) },
        responses: {
          201: jsonResponse(CreatedApiKey, 'The new key, with its secret'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await apiKeys.createForProject(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/api-keys',
        tags: ['Projects'],
        summary: 'List project keys',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(ApiKey), 'Live keys, without secrets'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await apiKeys.listForProject(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/api-keys/{key_id}',
        tags: ['Projects'],
        summary: 'Revoke a project key',
        security: bearerSecurity,
        request: { params: ProjectKeyParams },
        responses: { 204: { description: 'Revoked' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, key_id } = c.req.valid('param')
        await apiKeys.revokeForProject(contextOf(c), project_id, key_id)
        return c.body(null, 204)
      },
    )
}
