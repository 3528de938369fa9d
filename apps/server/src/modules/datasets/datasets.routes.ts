import { createRoute, z } from '@hono/zod-openapi'
import {
  AddColumn,
  CreateDataset,
  CreateDatasetTable,
  Dataset,
  DatasetTable,
  Id,
  ListQuery,
  listOf,
  UpdateColumn,
  UpdateDataset,
  UpdateDatasetTable,
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
import type { DatasetsService } from './datasets.service.js'
import type { TablesService } from './tables.service.js'

const tags = ['Datasets']
const ProjectParams = z.object({ project_id: Id })
const DatasetParams = ProjectParams.extend({ dataset_id: Id })
const TableParams = DatasetParams.extend({ table_id: Id })
const ColumnParams = TableParams.extend({ column_name: z.string().min(1).max(255) })
const TABLES = '/projects/{project_id}/datasets/{dataset_id}/tables'

export function datasetRoutes(datasets: DatasetsService, tables: TablesService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/datasets',
        tags,
        summary: 'Create a dataset',
        description:
          'A dataset is a schema of the `internal` catalog: its tables are `internal.<dataset>.<table>` in SQL.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateDataset) },
        responses: { 201: jsonResponse(Dataset, 'The dataset'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) =>
        c.json(await datasets.createDataset(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/datasets',
        tags,
        summary: 'List a project’s datasets',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: { 200: jsonResponse(listOf(Dataset), 'Datasets'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) =>
        c.json(await datasets.listDatasets(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/datasets/{dataset_id}',
        tags,
        summary: 'Get a dataset',
        security: bearerSecurity,
        request: { params: DatasetParams },
        responses: { 200: jsonResponse(Dataset, 'The dataset'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dataset_id } = c.req.valid('param')
        return c.json(await datasets.getDataset(contextOf(c), project_id, dataset_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/projects/{project_id}/datasets/{dataset_id}',
        tags,
        summary: 'Rename or describe a dataset',
        description: 'Renaming changes the schema name SQL uses for its tables.',
        security: bearerSecurity,
        request: { params: DatasetParams, body: jsonBody(UpdateDataset) },
        responses: { 200: jsonResponse(Dataset, 'The dataset'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) => {
        const { project_id, dataset_id } = c.req.valid('param')
        return c.json(await datasets.updateDataset(contextOf(c), project_id, dataset_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/datasets/{dataset_id}',
        tags,
        summary: 'Delete (archive) a dataset and its tables',
        security: bearerSecurity,
        request: { params: DatasetParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dataset_id } = c.req.valid('param')
        await datasets.archiveDataset(contextOf(c), project_id, dataset_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: TABLES,
        tags,
        summary: 'Create a table',
        description:
          'Columns take DuckDB type names (`BIGINT`, `VARCHAR`, `DECIMAL(18,2)`, `TIMESTAMPTZ`, `JSON`, …), ' +
          'stored in DuckDB’s canonical spelling. The table starts empty; fill it with an import.',
        security: bearerSecurity,
        request: { params: DatasetParams, body: jsonBody(CreateDatasetTable) },
        responses: { 201: jsonResponse(DatasetTable, 'The table'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) => {
        const { project_id, dataset_id } = c.req.valid('param')
        return c.json(await tables.createTable(contextOf(c), project_id, dataset_id, c.req.valid('json')), 201)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: TABLES,
        tags,
        summary: 'List a dataset’s tables',
        security: bearerSecurity,
        request: { params: DatasetParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(DatasetTable), 'Tables'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, dataset_id } = c.req.valid('param')
        return c.json(await tables.listTables(contextOf(c), project_id, dataset_id, c.req.valid('query')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: `${TABLES}/{table_id}`,
        tags,
        summary: 'Get a table with its schema, row count and size',
        security: bearerSecurity,
        request: { params: TableParams },
        responses: { 200: jsonResponse(DatasetTable, 'The table'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id } = c.req.valid('param')
        return c.json(await tables.getTable(contextOf(c), project_id, dataset_id, table_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: `${TABLES}/{table_id}`,
        tags,
        summary: 'Rename or describe a table',
        description: 'Columns change through the `columns` routes.',
        security: bearerSecurity,
        request: { params: TableParams, body: jsonBody(UpdateDatasetTable) },
        responses: { 200: jsonResponse(DatasetTable, 'The table'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id } = c.req.valid('param')
        return c.json(
          await tables.updateTable(contextOf(c), project_id, dataset_id, table_id, c.req.valid('json')),
          200,
        )
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: `${TABLES}/{table_id}`,
        tags,
        summary: 'Delete (archive) a table',
        security: bearerSecurity,
        request: { params: TableParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id } = c.req.valid('param')
        await tables.archiveTable(contextOf(c), project_id, dataset_id, table_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: `${TABLES}/{table_id}/columns`,
        tags,
        summary: 'Add a column',
        description: 'Existing rows get NULL; a NOT NULL column can only be added to an empty table.',
        security: bearerSecurity,
        request: { params: TableParams, body: jsonBody(AddColumn) },
        responses: { 200: jsonResponse(DatasetTable, 'The table'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id } = c.req.valid('param')
        return c.json(await tables.addColumn(contextOf(c), project_id, dataset_id, table_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: `${TABLES}/{table_id}/columns/{column_name}`,
        tags,
        summary: 'Rename, retype or describe a column, or change whether it may be NULL',
        description:
          'A new type casts every stored value; if one cannot be cast, or a NOT NULL column has NULLs, nothing ' +
          'changes and the answer is a 422 naming the column and a sample value.',
        security: bearerSecurity,
        request: { params: ColumnParams, body: jsonBody(UpdateColumn) },
        responses: { 200: jsonResponse(DatasetTable, 'The table'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id, column_name } = c.req.valid('param')
        return c.json(
          await tables.updateColumn(contextOf(c), project_id, dataset_id, table_id, column_name, c.req.valid('json')),
          200,
        )
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: `${TABLES}/{table_id}/columns/{column_name}`,
        tags,
        summary: 'Drop a column',
        security: bearerSecurity,
        request: { params: ColumnParams },
        responses: {
          200: jsonResponse(DatasetTable, 'The table'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id, column_name } = c.req.valid('param')
        return c.json(await tables.dropColumn(contextOf(c), project_id, dataset_id, table_id, column_name), 200)
      },
    )
}
