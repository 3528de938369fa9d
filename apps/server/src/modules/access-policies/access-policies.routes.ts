import { createRoute, z } from '@hono/zod-openapi'
import {
  ColumnTag,
  ColumnTagInput,
  ColumnTagListQuery,
  Id,
  ListQuery,
  listOf,
  PrivacyPolicy,
  PrivacyPolicyInput,
  RowPolicy,
  RowPolicyInput,
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
import type { AccessPoliciesService } from './access-policies.service.js'

const tags = ['Access policies']
const ProjectParams = z.object({ project_id: Id })
const PolicyParams = ProjectParams.extend({ policy_id: Id })
const TagParams = ProjectParams.extend({ tag_id: Id })

const READERS = 'Members of the organization; keys that see the project.'
const MANAGERS =
  'Organization admins, organization keys with the `admin` scope and the project’s keys with the `admin` scope; ' +
  'others get 403. Audited.'
const ENFORCED =
  'Every query of the project obeys it (SQL, query jobs, saved queries, dashboards, questions, MCP, exports), ' +
  'beneath the query’s own text.'
const MASKS =
  'A mask applies to everyone but `except_roles` (`admin`, `editor`, `viewer`, `api_key`) and `except_users` ' +
  '(user or key ids). Several masks on one column: the oldest applicable one wins. The column must exist and ' +
  'suit the mask (`last4`/`first4` on text, `year_only` on a date or timestamp); a `custom` expression must be ' +
  'one scalar expression over the table’s columns with `{col}` for the masked one (422 otherwise).'
const FILTERS =
  'A row policy applies to `applies_to_roles` (empty: everyone); several on one table each narrow the rows ' +
  "(AND). The filter is one boolean expression over the table’s columns and `current_user_props('name')` " +
  '(id, email, name, role, project, or a custom attribute of the user or key, as text; a missing one is NULL, ' +
  'so a caller without it gets no rows). ' +
  'A filter that does not parse, is not boolean, or reads anything else (subqueries, other tables, ' +
  'aggregates, windows) is refused with 422.'

export function accessPoliciesRoutes(policies: AccessPoliciesService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/privacy-policies',
        tags,
        summary: 'Mask a column, or every column with a tag',
        description: `${MANAGERS} ${MASKS} ${ENFORCED}`,
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(PrivacyPolicyInput) },
        responses: {
          201: jsonResponse(PrivacyPolicy, 'The policy'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await policies.createPrivacy(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/privacy-policies',
        tags,
        summary: 'List a project’s privacy policies',
        description: READERS,
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(PrivacyPolicy), 'Privacy policies'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await policies.listPrivacy(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/privacy-policies/{policy_id}',
        tags,
        summary: 'Get a privacy policy',
        description: READERS,
        security: bearerSecurity,
        request: { params: PolicyParams },
        responses: {
          200: jsonResponse(PrivacyPolicy, 'The policy'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, policy_id } = c.req.valid('param')
        return c.json(await policies.getPrivacy(contextOf(c), project_id, policy_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/projects/{project_id}/privacy-policies/{policy_id}',
        tags,
        summary: 'Replace a privacy policy',
        description: `${MANAGERS} The whole policy, checked as a new one is.`,
        security: bearerSecurity,
        request: { params: PolicyParams, body: jsonBody(PrivacyPolicyInput) },
        responses: {
          200: jsonResponse(PrivacyPolicy, 'The policy'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, policy_id } = c.req.valid('param')
        return c.json(await policies.replacePrivacy(contextOf(c), project_id, policy_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/privacy-policies/{policy_id}',
        tags,
        summary: 'Delete a privacy policy',
        description: MANAGERS,
        security: bearerSecurity,
        request: { params: PolicyParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, policy_id } = c.req.valid('param')
        await policies.deletePrivacy(contextOf(c), project_id, policy_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/row-policies',
        tags,
        summary: 'Withhold a table’s rows by a filter',
        description: `${MANAGERS} ${FILTERS} ${ENFORCED}`,
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(RowPolicyInput) },
        responses: {
          201: jsonResponse(RowPolicy, 'The policy'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await policies.createRow(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/row-policies',
        tags,
        summary: 'List a project’s row policies',
        description: READERS,
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(RowPolicy), 'Row policies'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await policies.listRow(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/row-policies/{policy_id}',
        tags,
        summary: 'Get a row policy',
        description: READERS,
        security: bearerSecurity,
        request: { params: PolicyParams },
        responses: {
          200: jsonResponse(RowPolicy, 'The policy'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, policy_id } = c.req.valid('param')
        return c.json(await policies.getRow(contextOf(c), project_id, policy_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/projects/{project_id}/row-policies/{policy_id}',
        tags,
        summary: 'Replace a row policy',
        description: `${MANAGERS} The whole policy, checked as a new one is.`,
        security: bearerSecurity,
        request: { params: PolicyParams, body: jsonBody(RowPolicyInput) },
        responses: {
          200: jsonResponse(RowPolicy, 'The policy'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, policy_id } = c.req.valid('param')
        return c.json(await policies.replaceRow(contextOf(c), project_id, policy_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/row-policies/{policy_id}',
        tags,
        summary: 'Delete a row policy',
        description: MANAGERS,
        security: bearerSecurity,
        request: { params: PolicyParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, policy_id } = c.req.valid('param')
        await policies.deleteRow(contextOf(c), project_id, policy_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/column-tags',
        tags,
        summary: 'Tag a column',
        description:
          `${MANAGERS} A privacy policy on the tag masks the column from then on; each such policy must suit the ` +
          'column (422 naming `tag`). A tag is on a column once (409).',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(ColumnTagInput) },
        responses: {
          201: jsonResponse(ColumnTag, 'The tag on the column'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await policies.createTag(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/column-tags',
        tags,
        summary: 'List the tags on a project’s columns',
        description: `${READERS} \`?tag=\` lists the columns carrying one tag.`,
        security: bearerSecurity,
        request: { params: ProjectParams, query: ColumnTagListQuery },
        responses: {
          200: jsonResponse(listOf(ColumnTag), 'Column tags'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await policies.listTags(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/column-tags/{tag_id}',
        tags,
        summary: 'Remove a tag from a column',
        description: `${MANAGERS} Privacy policies on the tag no longer mask the column.`,
        security: bearerSecurity,
        request: { params: TagParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, tag_id } = c.req.valid('param')
        await policies.deleteTag(contextOf(c), project_id, tag_id)
        return c.body(null, 204)
      },
    )
}
