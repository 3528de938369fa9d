import { createRoute, z } from '@hono/zod-openapi'
import { CreateOrganization, Id, ListQuery, listOf, Organization, UpdateOrganization } from '@tributary/contract'

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
import type { OrganizationsService } from './organizations.service.js'

const tags = ['Organizations']
const OrganizationParams = z.object({ organization_id: Id })

export function organizationRoutes(organizations: OrganizationsService) {
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
}
