import { createRoute, z } from '@hono/zod-openapi'
import { Catalog, CatalogRefresh, CatalogSchema, CatalogTable, Id, TableDetail } from '@tributary/contract'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonResponse,
} from '../../http/router.js'
import type { CatalogsService } from './catalogs.service.js'

const tags = ['Catalogs']
const SqlName = z.string().min(1).max(255)
const ProjectParams = z.object({ project_id: Id })
const CatalogParams = ProjectParams.extend({ catalog: SqlName })
const SchemaParams = CatalogParams.extend({ schema: SqlName })
const TableParams = SchemaParams.extend({ table: SqlName })
const SOURCE_ERRORS = [...AUTHENTICATED_ERRORS, 404, 502] as const
const dataOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item) })

export function catalogRoutes(catalogs: CatalogsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/catalogs',
        tags,
        summary: 'List the catalogs SQL can name: `internal` and one per connection',
        security: bearerSecurity,
        request: { params: ProjectParams },
        responses: { 200: jsonResponse(dataOf(Catalog), 'Catalogs'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => c.json({ data: await catalogs.list(contextOf(c), c.req.valid('param').project_id) }, 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/catalogs/{catalog}/schemas',
        tags,
        summary: 'List a catalog’s schemas',
        description: 'Served from the stored catalog metadata; read from the source the first time.',
        security: bearerSecurity,
        request: { params: CatalogParams },
        responses: { 200: jsonResponse(dataOf(CatalogSchema), 'Schemas'), ...errorResponses(...SOURCE_ERRORS) },
      }),
      async (c) => {
        const { project_id, catalog } = c.req.valid('param')
        return c.json({ data: await catalogs.schemas(contextOf(c), project_id, catalog) }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/catalogs/{catalog}/schemas/{schema}/tables',
        tags,
        summary: 'List a schema’s tables and views',
        security: bearerSecurity,
        request: { params: SchemaParams },
        responses: { 200: jsonResponse(dataOf(CatalogTable), 'Tables'), ...errorResponses(...SOURCE_ERRORS) },
      }),
      async (c) => {
        const { project_id, catalog, schema } = c.req.valid('param')
        return c.json({ data: await catalogs.tables(contextOf(c), project_id, catalog, schema) }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/catalogs/{catalog}/schemas/{schema}/tables/{table}',
        tags,
        summary: 'Describe a table: its columns with DuckDB and source types',
        security: bearerSecurity,
        request: { params: TableParams },
        responses: { 200: jsonResponse(TableDetail, 'The table'), ...errorResponses(...SOURCE_ERRORS) },
      }),
      async (c) => {
        const { project_id, catalog, schema, table } = c.req.valid('param')
        return c.json(await catalogs.table(contextOf(c), project_id, catalog, schema, table), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/catalogs/{catalog}/refresh',
        tags,
        summary: 'Read a catalog’s metadata from its source again',
        security: bearerSecurity,
        request: { params: CatalogParams },
        responses: { 200: jsonResponse(CatalogRefresh, 'Refreshed'), ...errorResponses(...SOURCE_ERRORS) },
      }),
      async (c) => {
        const { project_id, catalog } = c.req.valid('param')
        return c.json(await catalogs.refresh(contextOf(c), project_id, catalog), 200)
      },
    )
}
