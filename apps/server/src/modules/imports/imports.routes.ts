import { createRoute, z } from '@hono/zod-openapi'
import { Id, ImportJob, ListQuery, listOf, SqlImport, UploadImportOptions } from '@tributary/contract'

import { errors } from '../../lib/errors.js'
import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonResponse,
  validationFailure,
  WRITE_ERRORS,
} from '../../http/router.js'
import type { ImportsService } from './imports.service.js'
import { isUploadRequest } from './upload.js'

const tags = ['Datasets']
const TableParams = z.object({ project_id: Id, dataset_id: Id, table_id: Id })
const JobParams = TableParams.extend({ job_id: Id })
const IMPORTS = '/projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/imports'

// Documented, not validated by the router: the handler streams the upload itself.
const uploadSchema = {
  type: 'object' as const,
  required: ['file'],
  properties: {
    file: { type: 'string' as const, format: 'binary', description: 'The file; gzip is recognised by its content' },
    ...(z.toJSONSchema(UploadImportOptions, { io: 'input' }) as { properties: Record<string, object> }).properties,
  },
}

export function importRoutes(imports: ImportsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: IMPORTS,
        tags,
        summary: 'Import a file or a query result into a table',
        description:
          'A multipart upload (`file` plus option fields: `format` csv|tsv|json|ndjson|parquet, `header`, `delimiter`, ' +
          '`quote`, `escape`, `null_string`, `mode` append|replace, `ignore_extra_columns`), or a JSON body `{sql, mode}` ' +
          'that loads the result of a query over any of the project’s catalogs. File columns are matched to table ' +
          'columns by name, ignoring case (by position for CSV without a header); table columns the file lacks are ' +
          'NULL; a NOT NULL column the file lacks, or a file column the table lacks, is a 422. The file is checked ' +
          'before the job is queued: a file that is not what it says is a 422, one over the upload limit a 413, and ' +
          'nothing is kept. The import is atomic: rows that do not fit fail it, with up to 10 of them and their line ' +
          'numbers in the job’s `error.rejected_rows`, and the table stays exactly as it was.',
        security: bearerSecurity,
        request: {
          params: TableParams,
          body: {
            required: false,
            content: {
              'application/json': { schema: SqlImport },
              'multipart/form-data': { schema: uploadSchema },
            },
          },
        },
        responses: {
          202: jsonResponse(ImportJob, 'The import job'),
          ...errorResponses(...WRITE_ERRORS, 400, 404),
        },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id } = c.req.valid('param')
        if (isUploadRequest(c)) {
          return c.json(await imports.createFromUpload(contextOf(c), project_id, dataset_id, table_id, c.req.raw), 202)
        }
        if (!c.req.header('content-type')) {
          throw errors.validation("body: send a multipart upload with a 'file' field, or a JSON body {sql, mode}")
        }
        const body = SqlImport.safeParse(await c.req.json())
        if (!body.success) throw validationFailure(body.error, 'json')
        return c.json(await imports.createFromSql(contextOf(c), project_id, dataset_id, table_id, body.data), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: IMPORTS,
        tags,
        summary: 'List a table’s imports, newest first',
        security: bearerSecurity,
        request: { params: TableParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(ImportJob), 'Imports'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id } = c.req.valid('param')
        return c.json(await imports.list(contextOf(c), project_id, dataset_id, table_id, c.req.valid('query')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: `${IMPORTS}/{job_id}`,
        tags,
        summary: 'Get an import: status, progress, rows written, and why it failed',
        security: bearerSecurity,
        request: { params: JobParams },
        responses: { 200: jsonResponse(ImportJob, 'The import job'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id, job_id } = c.req.valid('param')
        return c.json(await imports.get(contextOf(c), project_id, dataset_id, table_id, job_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: `${IMPORTS}/{job_id}/cancel`,
        tags,
        summary: 'Cancel an import; the table stays as it was',
        security: bearerSecurity,
        request: { params: JobParams },
        responses: { 200: jsonResponse(ImportJob, 'The import job'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id, job_id } = c.req.valid('param')
        return c.json(await imports.cancel(contextOf(c), project_id, dataset_id, table_id, job_id), 200)
      },
    )
}
