import { createRoute, z } from '@hono/zod-openapi'
import {
  CreateSemanticCatalog,
  Id,
  PublishSemanticTable,
  SemanticCatalog,
  SemanticCatalogDetail,
  SemanticCatalogShare,
  SemanticTable,
  ShareSemanticCatalog,
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
import type { SemanticCatalogsService } from './semantic-catalogs.service.js'

const tags = ['Semantic catalogs']
const ProjectParams = z.object({ project_id: Id })
const CatalogParams = ProjectParams.extend({ catalog: z.string().min(1).max(255) })
const TableParams = CatalogParams.extend({ table_id: Id })
const ShareParams = CatalogParams.extend({ target_project_id: Id })
const dataOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item) })

export function semanticCatalogRoutes(semantic: SemanticCatalogsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/semantic-catalogs',
        tags,
        summary: 'Create a semantic catalog',
        description:
          'A catalog whose tables are saved queries, published by name: `<catalog>.<schema>.<table>` in SQL. ' +
          'Its name must be free among the project’s catalogs (connections, `internal`, `queries`, shared ones).',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateSemanticCatalog) },
        responses: {
          201: jsonResponse(SemanticCatalog, 'The catalog'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await semantic.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/semantic-catalogs',
        tags,
        summary: 'List the project’s semantic catalogs, and those other projects share with it (read-only)',
        security: bearerSecurity,
        request: { params: ProjectParams },
        responses: {
          200: jsonResponse(dataOf(SemanticCatalog), 'Semantic catalogs'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json({ data: await semantic.listCatalogs(contextOf(c), c.req.valid('param').project_id) }, 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/semantic-catalogs/{catalog}',
        tags,
        summary: 'Get a semantic catalog with its tables',
        security: bearerSecurity,
        request: { params: CatalogParams },
        responses: {
          200: jsonResponse(SemanticCatalogDetail, 'The catalog'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, catalog } = c.req.valid('param')
        return c.json(await semantic.get(contextOf(c), project_id, catalog), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/semantic-catalogs/{catalog}',
        tags,
        summary: 'Delete a semantic catalog, its tables and its shares',
        description: 'The saved queries behind its tables stay.',
        security: bearerSecurity,
        request: { params: CatalogParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, catalog } = c.req.valid('param')
        await semantic.remove(contextOf(c), project_id, catalog)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/semantic-catalogs/{catalog}/tables',
        tags,
        summary: 'Publish a saved query as a table',
        description:
          'No data is copied: SQL naming the table runs the query in its place, so filters on it still reach ' +
          'the sources. Its columns, their types and lineage come from planning the query now. Every parameter ' +
          'of the query needs a default (an optional one without a default is NULL): 422 otherwise.',
        security: bearerSecurity,
        request: { params: CatalogParams, body: jsonBody(PublishSemanticTable) },
        responses: {
          201: jsonResponse(SemanticTable, 'The table'),
          ...errorResponses(...WRITE_ERRORS, 404, 409, 502),
        },
      }),
      async (c) => {
        const { project_id, catalog } = c.req.valid('param')
        return c.json(await semantic.publish(contextOf(c), project_id, catalog, c.req.valid('json')), 201)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/semantic-catalogs/{catalog}/tables',
        tags,
        summary: 'List a semantic catalog’s tables',
        security: bearerSecurity,
        request: { params: CatalogParams },
        responses: {
          200: jsonResponse(dataOf(SemanticTable), 'Tables'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, catalog } = c.req.valid('param')
        return c.json({ data: await semantic.listTables(contextOf(c), project_id, catalog) }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/semantic-catalogs/{catalog}/tables/{table_id}',
        tags,
        summary: 'Unpublish a table (the saved query stays)',
        security: bearerSecurity,
        request: { params: TableParams },
        responses: { 204: { description: 'Unpublished' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, catalog, table_id } = c.req.valid('param')
        await semantic.unpublish(contextOf(c), project_id, catalog, table_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/semantic-catalogs/{catalog}/share',
        tags,
        summary: 'Share a semantic catalog with another project of the organization',
        description:
          'The project then lists it among its catalogs, read-only, and its SQL reads the tables as the owner ' +
          'project defines them, over the owner’s sources. A project of another organization is 404; a project ' +
          'that already has a catalog of that name is 409. Sharing twice is harmless.',
        security: bearerSecurity,
        request: { params: CatalogParams, body: jsonBody(ShareSemanticCatalog) },
        responses: {
          200: jsonResponse(SemanticCatalogShare, 'The share'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, catalog } = c.req.valid('param')
        return c.json(await semantic.share(contextOf(c), project_id, catalog, c.req.valid('json').project_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/semantic-catalogs/{catalog}/share/{target_project_id}',
        tags,
        summary: 'Stop sharing a semantic catalog with a project',
        security: bearerSecurity,
        request: { params: ShareParams },
        responses: { 204: { description: 'Revoked' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, catalog, target_project_id } = c.req.valid('param')
        await semantic.unshare(contextOf(c), project_id, catalog, target_project_id)
        return c.body(null, 204)
      },
    )
}
