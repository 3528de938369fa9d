import { createRoute, z } from '@hono/zod-openapi'
import {
  CreateGoldenSql,
  GoldenSql,
  GoldenSqlSearchHit,
  GoldenSqlSearchQuery,
  Id,
  ListQuery,
  listOf,
  UpdateGoldenSql,
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
import type { GoldenSqlService } from './golden-sql.service.js'

const tags = ['Golden SQL']
const ProjectParams = z.object({ project_id: Id })
const GoldenSqlParams = ProjectParams.extend({ golden_sql_id: Id })

const CHECKED =
  'The SQL is checked as a query of the project would be (it must parse and name real catalogs, tables and ' +
  'columns), without reading any data: a refusal is a 422 `validation_error` carrying the engine’s message. ' +
  'Parameters are written `{{name}}` and declared in `parameters` as for saved queries; they are checked with ' +
  'their defaults, or a value of their type.'

export function goldenSqlRoutes(goldenSql: GoldenSqlService) {
  return (
    createRouter()
      // Before `/golden-sql/{golden_sql_id}`, which would otherwise take `search` for an id.
      .openapi(
        createRoute({
          method: 'get',
          path: '/projects/{project_id}/golden-sql/search',
          tags,
          summary: 'Find the golden SQL closest to a question',
          description:
            'Full-text search (stemming, everyday-word synonyms, BM25+ ranking) over the questions, descriptions ' +
            'and the tables the SQL names, best first.',
          security: bearerSecurity,
          request: { params: ProjectParams, query: GoldenSqlSearchQuery },
          responses: {
            200: jsonResponse(z.object({ data: z.array(GoldenSqlSearchHit) }), 'The closest pairs'),
            ...errorResponses(...AUTHENTICATED_ERRORS, 404),
          },
        }),
        async (c) => {
          const data = await goldenSql.search(contextOf(c), c.req.valid('param').project_id, c.req.valid('query'))
          return c.json({ data }, 200)
        },
      )
      .openapi(
        createRoute({
          method: 'post',
          path: '/projects/{project_id}/golden-sql',
          tags,
          summary: 'Save a known-good question and its SQL',
          description: CHECKED,
          security: bearerSecurity,
          request: { params: ProjectParams, body: jsonBody(CreateGoldenSql) },
          responses: {
            201: jsonResponse(GoldenSql, 'The saved pair'),
            ...errorResponses(...WRITE_ERRORS, 404, 502),
          },
        }),
        async (c) =>
          c.json(await goldenSql.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
      )
      .openapi(
        createRoute({
          method: 'get',
          path: '/projects/{project_id}/golden-sql',
          tags,
          summary: 'List a project’s golden SQL',
          security: bearerSecurity,
          request: { params: ProjectParams, query: ListQuery },
          responses: {
            200: jsonResponse(listOf(GoldenSql), 'Golden SQL'),
            ...errorResponses(...AUTHENTICATED_ERRORS, 404),
          },
        }),
        async (c) =>
          c.json(await goldenSql.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
      )
      .openapi(
        createRoute({
          method: 'get',
          path: '/projects/{project_id}/golden-sql/{golden_sql_id}',
          tags,
          summary: 'Get a golden SQL pair',
          security: bearerSecurity,
          request: { params: GoldenSqlParams },
          responses: {
            200: jsonResponse(GoldenSql, 'The pair'),
            ...errorResponses(...AUTHENTICATED_ERRORS, 404),
          },
        }),
        async (c) => {
          const { project_id, golden_sql_id } = c.req.valid('param')
          return c.json(await goldenSql.get(contextOf(c), project_id, golden_sql_id), 200)
        },
      )
      .openapi(
        createRoute({
          method: 'put',
          path: '/projects/{project_id}/golden-sql/{golden_sql_id}',
          tags,
          summary: 'Change a golden SQL pair',
          description: `Fields left out keep their value; \`parameters\`, when given, replaces the whole list. ${CHECKED}`,
          security: bearerSecurity,
          request: { params: GoldenSqlParams, body: jsonBody(UpdateGoldenSql) },
          responses: {
            200: jsonResponse(GoldenSql, 'The changed pair'),
            ...errorResponses(...WRITE_ERRORS, 404, 502),
          },
        }),
        async (c) => {
          const { project_id, golden_sql_id } = c.req.valid('param')
          return c.json(await goldenSql.update(contextOf(c), project_id, golden_sql_id, c.req.valid('json')), 200)
        },
      )
      .openapi(
        createRoute({
          method: 'delete',
          path: '/projects/{project_id}/golden-sql/{golden_sql_id}',
          tags,
          summary: 'Delete (archive) a golden SQL pair',
          security: bearerSecurity,
          request: { params: GoldenSqlParams },
          responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
        }),
        async (c) => {
          const { project_id, golden_sql_id } = c.req.valid('param')
          await goldenSql.archive(contextOf(c), project_id, golden_sql_id)
          return c.body(null, 204)
        },
      )
  )
}
