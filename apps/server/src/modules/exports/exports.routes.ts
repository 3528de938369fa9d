import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'

import { createRoute, z } from '@hono/zod-openapi'
import { CreateExport, defaultExportCompression, Export, ExportLink, Id, ListQuery, listOf } from '@tributary/contract'
import type { Context } from 'hono'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
  type AppEnv,
} from '../../http/router.js'
import { DOWNLOAD_PATH, type ExportsService } from './exports.service.js'

const tags = ['Exports']
const ProjectParams = z.object({ project_id: Id })
const JobParams = ProjectParams.extend({ job_id: Id })
const TableParams = ProjectParams.extend({ dataset_id: Id, table_id: Id })
const ExportParams = ProjectParams.extend({ export_id: Id })
const ExportListQuery = ListQuery.extend({ query_job_id: Id.optional(), table_id: Id.optional() })

/** An optional body: without one the validator passes `{}` and the schema's defaults do not apply. */
const optionalBody = { ...jsonBody(CreateExport), required: false }
const withDefaults = (body: Partial<CreateExport>): CreateExport => {
  const format = body.format ?? 'CSV'
  return { format, compression: body.compression ?? defaultExportCompression(format) }
}

/** Links are absolute, on the host the caller reached. */
const originOf = (c: Context<AppEnv>) => new URL(c.req.url).origin

export function exportRoutes(exportsService: ExportsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/query-jobs/{job_id}/exports',
        tags,
        summary: 'Export a query job’s result',
        description:
          'Queues an export of the whole result (`format` default `CSV`; `compression` default `GZIP` for CSV and ' +
          'JSON, `DEFLATE` for AVRO, `ZSTD` for PARQUET, and `422` for one the format does not take) and ' +
          'answers at once; `GET …/exports/{export_id}` shows it and, once complete, a signed `download_url`. ' +
          '`409` while the query job has not succeeded, `410` once its result is no longer kept.',
        security: bearerSecurity,
        request: { params: JobParams, body: optionalBody },
        responses: {
          202: jsonResponse(Export, 'The queued export'),
          ...errorResponses(...WRITE_ERRORS, 404, 409, 410),
        },
      }),
      async (c) => {
        const { project_id, job_id } = c.req.valid('param')
        const input = withDefaults(c.req.valid('json'))
        return c.json(await exportsService.exportQueryJob(contextOf(c), project_id, job_id, input), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/exports',
        tags,
        summary: 'Export an internal table',
        description: 'Exports the table as it is when the export runs; otherwise as for query results.',
        security: bearerSecurity,
        request: { params: TableParams, body: optionalBody },
        responses: { 202: jsonResponse(Export, 'The queued export'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dataset_id, table_id } = c.req.valid('param')
        const input = withDefaults(c.req.valid('json'))
        return c.json(await exportsService.exportTable(contextOf(c), project_id, dataset_id, table_id, input), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/exports',
        tags,
        summary: 'List a project’s exports, newest first',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ExportListQuery },
        responses: { 200: jsonResponse(listOf(Export), 'Exports'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) =>
        c.json(
          await exportsService.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query'), originOf(c)),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/exports/{export_id}',
        tags,
        summary: 'Get an export',
        description:
          'Once complete, `download_url` downloads the file without credentials until `expires_at` ' +
          '(the configured time after completion; then `GET …/download` issues a fresh link).',
        security: bearerSecurity,
        request: { params: ExportParams },
        responses: { 200: jsonResponse(Export, 'The export'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, export_id } = c.req.valid('param')
        return c.json(await exportsService.get(contextOf(c), project_id, export_id, originOf(c)), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/exports/{export_id}/download',
        tags,
        summary: 'Issue a fresh download link',
        description: 'A new signed link, valid for the configured time from now. `409` until the export has succeeded.',
        security: bearerSecurity,
        request: { params: ExportParams },
        responses: {
          200: jsonResponse(ExportLink, 'The link'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409, 410),
        },
      }),
      async (c) => {
        const { project_id, export_id } = c.req.valid('param')
        return c.json(await exportsService.link(contextOf(c), project_id, export_id, originOf(c)), 200)
      },
    )
}

/** The signed-link download: public, since the token in the link is the authority. */
export function exportDownloadRoutes(exportsService: ExportsService) {
  return createRouter().openapi(
    createRoute({
      method: 'get',
      path: `${DOWNLOAD_PATH.replace(/^\/api\/v1/, '')}/{export_id}`,
      tags,
      summary: 'Download an export through a signed link',
      description:
        'Needs no API key: the `token` names the export and when the link expires. An expired link is `410` ' +
        '(`gone`); a link that was altered or belongs to another export is `403`.',
      request: {
        params: z.object({ export_id: Id }),
        query: z.object({ token: z.string().min(1, 'must not be empty').max(2000) }),
      },
      responses: {
        200: {
          description: 'The file, with `Content-Disposition: attachment`',
          content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
        },
        ...errorResponses(403, 404, 410, 422),
      },
    }),
    async (c) => {
      const download = await exportsService.download(c.req.valid('param').export_id, c.req.valid('query').token)
      const body = Readable.toWeb(createReadStream(download.path)) as ReadableStream<Uint8Array>
      return c.body(body, 200, {
        'Content-Type': download.contentType,
        'Content-Length': String(download.size),
        'Content-Disposition': `attachment; filename="${download.fileName}"`,
        'Cache-Control': 'private, no-store',
      })
    },
  )
}
