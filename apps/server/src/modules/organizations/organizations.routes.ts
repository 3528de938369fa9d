import { createRoute, z } from '@hono/zod-openapi'
import {
  ApiKey,
  CreateApiKey,
  CreatedApiKey,
  CreateOrganization,
  Id,
  ListQuery,
  listOf,
  Organization,
  UpdateOrganization,
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
import type { ApiKeysService } from '../api-keys/api-keys.service.js'
import type { OrganizationsService } from './organizations.service.js'

const tags = ['Organizations']
const OrganizationParams = z.object({ organization_id: Id })
const KeyParams = OrganizationParams.extend({ key_id: Id })

export function organizationRoutes(organizations: OrganizationsService, apiKeys: ApiKeysService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/organizations',
        tags,
        summary: 'Create an organization (platform key)',
        description: 'Creates the organization with its default workspace.',
        security: bearerSecurity,
        request: { body: jsonBody(CreateOrganization) },
        responses: { 201: jsonResponse(Organization, 'The new organization'), ...errorResponses(...WRITE_ERRORS) },
      }),
      async (c) => c.json(await organizations.create(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/organizations',
        tags,
        summary: 'List organizations (platform key)',
        security: bearerSecurity,
        request: { query: ListQuery },
        responses: {
          200: jsonResponse(listOf(Organization), 'Organizations'),
          ...errorResponses(...AUTHENTICATED_ERRORS),
        },
      }),
      async (c) => c.json(await organizations.list(contextOf(c), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/organizations/{organization_id}',
        tags,
        summary: 'Get an organization',
        description: 'The platform key reads any organization; other callers only their own.',
        security: bearerSecurity,
        request: { params: OrganizationParams },
        responses: {
          200: jsonResponse(Organization, 'The organization'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await organizations.get(contextOf(c), c.req.valid('param').organization_id), 200),
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/organizations/{organization_id}',
        tags,
        summary: 'Update an organization (platform key)',
        security: bearerSecurity,
        request: { params: OrganizationParams, body: jsonBody(UpdateOrganization) },
        responses: {
          200: jsonResponse(Organization, 'The updated organization'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(
          await organizations.update(contextOf(c), c.req.valid('param').organization_id, c.req.valid('json')),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/organizations/{organization_id}',
        tags,
        summary: 'Delete (archive) an organization (platform key)',
        description: 'Its keys and user sessions stop working at once.',
        security: bearerSecurity,
        request: { params: OrganizationParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        await organizations.archive(contextOf(c), c.req.valid('param').organization_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/organizations/{organization_id}/api-keys',
        tags,
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
        tags,
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
        tags,
        summary: 'Revoke an organization key (platform key)',
        security: bearerSecurity,
        request: { params: KeyParams },
        responses: { 204: { description: 'Revoked' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { organization_id, key_id } = c.req.valid('param')
        await apiKeys.revokeForOrganization(contextOf(c), organization_id, key_id)
        return c.body(null, 204)
      },
    )
}
