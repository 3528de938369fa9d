import { createRoute, z } from '@hono/zod-openapi'
import { CreateCredential, Credential, Id, ListQuery, listOf, UpdateCredential } from '@tributary/contract'

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
import type { CredentialsService } from './credentials.service.js'

const tags = ['Credentials']
const ProjectParams = z.object({ project_id: Id })
const CredentialParams = ProjectParams.extend({ credential_id: Id })

const READERS = 'Members of the organization; keys with the `workflows` scope.'
const WRITERS = 'Editors and admins; keys with the `workflows` scope. Audited.'
const WRITE_ONLY = 'The secret is stored encrypted and never returned, in whole or in part.'

export function credentialsRoutes(credentials: CredentialsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/credentials',
        tags,
        summary: 'Store an outbound credential',
        description:
          `${WRITERS} ${WRITE_ONLY} Workflow webhooks name it by id (\`credential_id\`); it is sent only to ` +
          'URLs whose host is one of `allowed_hosts` (a workflow pointing elsewhere is refused when saved). ' +
          'Names are unique in the project (409).',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateCredential) },
        responses: {
          201: jsonResponse(Credential, 'The credential, without its secret'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await credentials.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/credentials',
        tags,
        summary: 'List a project’s outbound credentials',
        description: `${READERS} ${WRITE_ONLY}`,
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(Credential), 'Credentials, without their secrets'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await credentials.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/credentials/{credential_id}',
        tags,
        summary: 'Get an outbound credential',
        description: `${READERS} ${WRITE_ONLY}`,
        security: bearerSecurity,
        request: { params: CredentialParams },
        responses: {
          200: jsonResponse(Credential, 'The credential, without its secret'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, credential_id } = c.req.valid('param')
        return c.json(await credentials.get(contextOf(c), project_id, credential_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/projects/{project_id}/credentials/{credential_id}',
        tags,
        summary: 'Change or rotate an outbound credential',
        description:
          `${WRITERS} \`secret\` rotates the secret (the next request sends the new one); \`allowed_hosts\` ` +
          'replaces the list. A new `type` needs a new `secret` and the type’s own field (`header_name`, `username`).',
        security: bearerSecurity,
        request: { params: CredentialParams, body: jsonBody(UpdateCredential) },
        responses: {
          200: jsonResponse(Credential, 'The credential, without its secret'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, credential_id } = c.req.valid('param')
        return c.json(await credentials.update(contextOf(c), project_id, credential_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/credentials/{credential_id}',
        tags,
        summary: 'Delete an outbound credential',
        description:
          `${WRITERS} The sealed secret is removed, not archived. Workflows that still name the credential fail ` +
          'their webhook action with a 422 naming `credential_id` until they are changed.',
        security: bearerSecurity,
        request: { params: CredentialParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, credential_id } = c.req.valid('param')
        await credentials.delete(contextOf(c), project_id, credential_id)
        return c.body(null, 204)
      },
    )
}
