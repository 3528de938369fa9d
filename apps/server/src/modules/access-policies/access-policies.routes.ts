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

/**
 * The five routes of one kind of policy (`privacy-policies`, `row-policies`): create, list, get,
 * replace and delete, told apart by their path, names and schemas.
 */
function policyRoutes<Input extends z.ZodType, Output extends z.ZodType>(kind: {
  path: string
  one: string
  many: string
  input: Input
  output: Output
  create: { summary: string; description: string }
}) {
  const collection = `/projects/{project_id}/${kind.path}`
  const item = `${collection}/{policy_id}`
  return {
    create: createRoute({
      method: 'post',
      path: collection,
      tags,
      ...kind.create,
      security: bearerSecurity,
      request: { params: ProjectParams, body: jsonBody(kind.input) },
      responses: { 201: jsonResponse(kind.output, 'The policy'), ...errorResponses(...WRITE_ERRORS, 404) },
    }),
    list: createRoute({
      method: 'get',
      path: collection,
      tags,
      summary: `List a project’s ${kind.many}`,
      description: READERS,
      security: bearerSecurity,
      request: { params: ProjectParams, query: ListQuery },
      responses: {
        200: jsonResponse(listOf(kind.output), `${kind.many[0]!.toUpperCase()}${kind.many.slice(1)}`),
        ...errorResponses(...AUTHENTICATED_ERRORS, 404),
      },
    }),
    get: createRoute({
      method: 'get',
      path: item,
      tags,
      summary: `Get a ${kind.one}`,
      description: READERS,
      security: bearerSecurity,
      request: { params: PolicyParams },
      responses: { 200: jsonResponse(kind.output, 'The policy'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
    }),
    replace: createRoute({
      method: 'put',
      path: item,
      tags,
      summary: `Replace a ${kind.one}`,
      description: `${MANAGERS} The whole policy, checked as a new one is.`,
      security: bearerSecurity,
      request: { params: PolicyParams, body: jsonBody(kind.input) },
      responses: { 200: jsonResponse(kind.output, 'The policy'), ...errorResponses(...WRITE_ERRORS, 404) },
    }),
    delete: createRoute({
      method: 'delete',
      path: item,
      tags,
      summary: `Delete a ${kind.one}`,
      description: MANAGERS,
      security: bearerSecurity,
      request: { params: PolicyParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
    }),
  }
}

const privacyRoutes = policyRoutes({
  path: 'privacy-policies',
  one: 'privacy policy',
  many: 'privacy policies',
  input: PrivacyPolicyInput,
  output: PrivacyPolicy,
  create: { summary: 'Mask a column, or every column with a tag', description: `${MANAGERS} ${MASKS} ${ENFORCED}` },
})

const rowRoutes = policyRoutes({
  path: 'row-policies',
  one: 'row policy',
  many: 'row policies',
  input: RowPolicyInput,
  output: RowPolicy,
  create: { summary: 'Withhold a table’s rows by a filter', description: `${MANAGERS} ${FILTERS} ${ENFORCED}` },
})

export function accessPoliciesRoutes(policies: AccessPoliciesService) {
  return createRouter()
    .openapi(privacyRoutes.create, async (c) =>
      c.json(await policies.createPrivacy(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(privacyRoutes.list, async (c) =>
      c.json(await policies.listPrivacy(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(privacyRoutes.get, async (c) => {
      const { project_id, policy_id } = c.req.valid('param')
      return c.json(await policies.getPrivacy(contextOf(c), project_id, policy_id), 200)
    })
    .openapi(privacyRoutes.replace, async (c) => {
      const { project_id, policy_id } = c.req.valid('param')
      return c.json(await policies.replacePrivacy(contextOf(c), project_id, policy_id, c.req.valid('json')), 200)
    })
    .openapi(privacyRoutes.delete, async (c) => {
      const { project_id, policy_id } = c.req.valid('param')
      await policies.deletePrivacy(contextOf(c), project_id, policy_id)
      return c.body(null, 204)
    })
    .openapi(rowRoutes.create, async (c) =>
      c.json(await policies.createRow(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(rowRoutes.list, async (c) =>
      c.json(await policies.listRow(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(rowRoutes.get, async (c) => {
      const { project_id, policy_id } = c.req.valid('param')
      return c.json(await policies.getRow(contextOf(c), project_id, policy_id), 200)
    })
    .openapi(rowRoutes.replace, async (c) => {
      const { project_id, policy_id } = c.req.valid('param')
      return c.json(await policies.replaceRow(contextOf(c), project_id, policy_id, c.req.valid('json')), 200)
    })
    .openapi(rowRoutes.delete, async (c) => {
      const { project_id, policy_id } = c.req.valid('param')
      await policies.deleteRow(contextOf(c), project_id, policy_id)
      return c.body(null, 204)
    })
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
