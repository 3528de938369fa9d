import { createRoute, z } from '@hono/zod-openapi'
import {
  Id,
  listOf,
  MetadataCallbackSecret,
  MetadataListQuery,
  MetadataRefreshJob,
  MetadataScope,
  MetadataSearchHit,
  MetadataSearchQuery,
  StartMetadataRefresh,
  TableMetadata,
  UpdateMetadataScope,
  UpdateTableMetadata,
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
import type { MetadataRefresh } from './metadata-refresh.js'
import type { MetadataSearch } from './metadata-search.js'
import type { MetadataService } from './metadata.service.js'

const tags = ['Metadata']
const SqlName = z.string().min(1).max(255)
const ProjectParams = z.object({ project_id: Id })
const CatalogParams = ProjectParams.extend({ catalog: SqlName })
const SchemaParams = CatalogParams.extend({ schema: SqlName })
const TableParams = SchemaParams.extend({ table: SqlName })
const JobParams = ProjectParams.extend({ job_id: Id })
const READ_ERRORS = [...AUTHENTICATED_ERRORS, 404] as const

/** Static paths (`search`, `refresh`, `callback-secret`) are registered before the ones with a catalog. */
export function metadataRoutes(metadata: MetadataService, refresh: MetadataRefresh, search: MetadataSearch) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/metadata/search',
        tags,
        summary: 'Find the tables that answer a question',
        description:
          'Full-text search (BM25, stemming, synonyms, identifiers split into words) over the tables AI may use ' +
          '(`use_with_ai`): their names, schema and catalog, descriptions, column names and descriptions, and ' +
          'categorical values. Each hit says what matched.',
        security: bearerSecurity,
        request: { params: ProjectParams, query: MetadataSearchQuery },
        responses: {
          200: jsonResponse(z.object({ data: z.array(MetadataSearchHit) }), 'Tables, best first'),
          ...errorResponses(...READ_ERRORS),
        },
      }),
      async (c) => {
        const { q, limit } = c.req.valid('query')
        return c.json({ data: await search.search(contextOf(c), c.req.valid('param').project_id, q, limit) }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/metadata/refresh',
        tags,
        summary: 'Refresh the metadata of every catalog, or of one',
        description:
          'A job that reads every table’s columns, primary and foreign keys, row estimates and a few sample values ' +
          'per column (sample values only when the caller may run queries), in batches of tables, then proposes ' +
          'relations. What people wrote is kept; columns and tables gone from a source are kept, marked `missing`. ' +
          'A source that cannot be read fails the job with `connection_error` before anything is written.\n\n' +
          'With `callback_url`, a POST with JSON `{event: "metadata.refresh", job_id, project_id, status, error?, ' +
          'result?, ended_at}` is sent when the job ends, signed in the header `X-Tributary-Signature: ' +
          'sha256=<hex HMAC-SHA256 of the raw body>` with the project’s callback secret, which project writers read ' +
          'at `GET /projects/{project_id}/metadata/callback-secret` (derived from the instance secret: it is the same ' +
          'for every refresh of the project). Delivery is tried up to 3 times.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(StartMetadataRefresh) },
        responses: {
          202: jsonResponse(MetadataRefreshJob, 'The queued job'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) => c.json(await refresh.start(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 202),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/metadata/refresh/{job_id}',
        tags,
        summary: 'Status and progress of a metadata refresh',
        security: bearerSecurity,
        request: { params: JobParams },
        responses: { 200: jsonResponse(MetadataRefreshJob, 'The job'), ...errorResponses(...READ_ERRORS) },
      }),
      async (c) => {
        const { project_id, job_id } = c.req.valid('param')
        return c.json(await refresh.get(contextOf(c), project_id, job_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/metadata/callback-secret',
        tags,
        summary: 'The key that signs this project’s refresh callbacks',
        description:
          'Check a callback by computing HMAC-SHA256 of the raw request body with this secret (as UTF-8 text) and ' +
          'comparing its hex digest with the `X-Tributary-Signature` header after `sha256=`. Project writers only.',
        security: bearerSecurity,
        request: { params: ProjectParams },
        responses: {
          200: jsonResponse(MetadataCallbackSecret, 'The secret'),
          ...errorResponses(...READ_ERRORS),
        },
      }),
      async (c) => c.json(await refresh.callbackSecret(contextOf(c), c.req.valid('param').project_id), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/metadata',
        tags,
        summary: 'Describe the tables of a project',
        description:
          'Every table of every catalog (sources, `internal`, semantic catalogs), in catalog, schema and table order, ' +
          'optionally narrowed to one catalog, schema or table (exact names; an unknown one is a 404 naming it). ' +
          'Tables never refreshed show their columns from the catalog listing. `source` fields say who wrote a ' +
          'value: `user`, `detected` or `generated`.',
        security: bearerSecurity,
        request: { params: ProjectParams, query: MetadataListQuery },
        responses: { 200: jsonResponse(listOf(TableMetadata), 'Tables'), ...errorResponses(...READ_ERRORS, 502) },
      }),
      async (c) =>
        c.json(await metadata.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/metadata/{catalog}/{schema}/{table}',
        tags,
        summary: 'Describe one table',
        security: bearerSecurity,
        request: { params: TableParams },
        responses: { 200: jsonResponse(TableMetadata, 'The table'), ...errorResponses(...READ_ERRORS) },
      }),
      async (c) => {
        const { project_id, catalog, schema, table } = c.req.valid('param')
        return c.json(await metadata.get(contextOf(c), project_id, { catalog, schema, table }), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/projects/{project_id}/metadata/{catalog}/{schema}/{table}',
        tags,
        summary: 'Edit a table’s metadata',
        description:
          'Changes only what it names: the description, `use_with_ai` (null: inherit), and per named column its ' +
          'description, `is_primary` and `is_categorical`. What it omits is kept. Edits survive refreshes. ' +
          'An unknown column is a 404 naming it.',
        security: bearerSecurity,
        request: { params: TableParams, body: jsonBody(UpdateTableMetadata) },
        responses: { 200: jsonResponse(TableMetadata, 'The table'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, catalog, schema, table } = c.req.valid('param')
        return c.json(
          await metadata.update(contextOf(c), project_id, { catalog, schema, table }, c.req.valid('json')),
          200,
        )
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/projects/{project_id}/metadata/{catalog}/{schema}',
        tags,
        summary: 'Set `use_with_ai` for every table of a schema',
        description: 'A table’s own setting wins; null removes the schema’s setting (the catalog’s applies).',
        security: bearerSecurity,
        request: { params: SchemaParams, body: jsonBody(UpdateMetadataScope) },
        responses: { 200: jsonResponse(MetadataScope, 'The setting'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, catalog, schema } = c.req.valid('param')
        return c.json(await metadata.setScope(contextOf(c), project_id, catalog, schema, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/projects/{project_id}/metadata/{catalog}',
        tags,
        summary: 'Set `use_with_ai` for every table of a catalog',
        description: 'Schema and table settings win; null removes the catalog’s setting (default: true).',
        security: bearerSecurity,
        request: { params: CatalogParams, body: jsonBody(UpdateMetadataScope) },
        responses: { 200: jsonResponse(MetadataScope, 'The setting'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, catalog } = c.req.valid('param')
        return c.json(await metadata.setScope(contextOf(c), project_id, catalog, undefined, c.req.valid('json')), 200)
      },
    )
}
