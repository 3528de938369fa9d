import { createRoute, z } from '@hono/zod-openapi'
import {
  Cache,
  CacheHistoryQuery,
  CacheRun,
  CacheStatusQuery,
  CacheStatusSummary,
  CreateCache,
  CreateCacheBatch,
  Id,
  ListQuery,
  listOf,
  RefreshCache,
  UpdateCache,
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
import type { CachesService } from './caches.service.js'

const tags = ['Caches']
const ProjectParams = z.object({ project_id: Id })
const CacheParams = ProjectParams.extend({ cache_id: Id })

const ABOUT =
  'A cache is a copy of a source table kept by Tributary; queries that name the table read the copy ' +
  '(`stats.sources[].cached`), unless they ask for `fresh: true`. A full refresh copies the whole table into ' +
  'a new version and switches readers to it at once; an incremental one reads only rows whose ' +
  '`incremental.cursor_column` is past the largest value cached (the filter runs at the source) and replaces ' +
  'rows by `incremental.primary_key`. Rows deleted at the source leave the copy on a full refresh, or on an ' +
  'incremental one when `incremental.soft_delete_column` marks them. A refresh that fails keeps the last copy.'

export function cachesRoutes(caches: CachesService) {
  return (
    createRouter()
      .openapi(
        createRoute({
          method: 'post',
          path: '/projects/{project_id}/caches',
          tags,
          summary: 'Cache a source table',
          description: `${ABOUT} Nothing is copied until the first refresh (asked for, or scheduled).`,
          security: bearerSecurity,
          request: { params: ProjectParams, body: jsonBody(CreateCache) },
          responses: {
            201: jsonResponse(Cache, 'The cache, NOT_INITIALIZED'),
            ...errorResponses(...WRITE_ERRORS, 404, 409, 502),
          },
        }),
        async (c) =>
          c.json(await caches.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
      )
      .openapi(
        createRoute({
          method: 'post',
          path: '/projects/{project_id}/caches/batch',
          tags,
          summary: 'Cache several source tables',
          description: 'All or none: a refusal names the table by its index (`tables.2.incremental.cursor_column`).',
          security: bearerSecurity,
          request: { params: ProjectParams, body: jsonBody(CreateCacheBatch) },
          responses: {
            201: jsonResponse(z.object({ data: z.array(Cache) }), 'The caches, in the order asked'),
            ...errorResponses(...WRITE_ERRORS, 404, 409, 502),
          },
        }),
        async (c) => {
          const { tables } = c.req.valid('json')
          return c.json({ data: await caches.createMany(contextOf(c), c.req.valid('param').project_id, tables) }, 201)
        },
      )
      .openapi(
        createRoute({
          method: 'get',
          path: '/projects/{project_id}/caches',
          tags,
          summary: 'List a project’s caches',
          security: bearerSecurity,
          request: { params: ProjectParams, query: ListQuery },
          responses: {
            200: jsonResponse(listOf(Cache), 'Caches'),
            ...errorResponses(...AUTHENTICATED_ERRORS, 404),
          },
        }),
        async (c) =>
          c.json(await caches.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
      )
      // Before `/caches/{cache_id}`, which would otherwise take `status` for an id.
      .openapi(
        createRoute({
          method: 'get',
          path: '/projects/{project_id}/caches/status',
          tags,
          summary: 'Summarize the state of a project’s caches',
          description:
            'Counts by status and the caches whose latest refresh failed, optionally of one catalog or schema.',
          security: bearerSecurity,
          request: { params: ProjectParams, query: CacheStatusQuery },
          responses: {
            200: jsonResponse(CacheStatusSummary, 'The summary'),
            ...errorResponses(...AUTHENTICATED_ERRORS, 404),
          },
        }),
        async (c) =>
          c.json(await caches.status(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
      )
      .openapi(
        createRoute({
          method: 'get',
          path: '/projects/{project_id}/caches/{cache_id}',
          tags,
          summary: 'Get a cache, its status and the progress of its latest refresh',
          security: bearerSecurity,
          request: { params: CacheParams },
          responses: { 200: jsonResponse(Cache, 'The cache'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
        }),
        async (c) => {
          const { project_id, cache_id } = c.req.valid('param')
          return c.json(await caches.get(contextOf(c), project_id, cache_id), 200)
        },
      )
      .openapi(
        createRoute({
          method: 'put',
          path: '/projects/{project_id}/caches/{cache_id}',
          tags,
          summary: 'Change a cache’s schedules',
          description: 'Schedules left out stay as they are; `{"type": "none"}` stops one.',
          security: bearerSecurity,
          request: { params: CacheParams, body: jsonBody(UpdateCache) },
          responses: { 200: jsonResponse(Cache, 'The cache'), ...errorResponses(...WRITE_ERRORS, 404) },
        }),
        async (c) => {
          const { project_id, cache_id } = c.req.valid('param')
          return c.json(await caches.update(contextOf(c), project_id, cache_id, c.req.valid('json')), 200)
        },
      )
      .openapi(
        createRoute({
          method: 'delete',
          path: '/projects/{project_id}/caches/{cache_id}',
          tags,
          summary: 'Delete a cache',
          description: 'A refresh under way is cancelled; the copy’s files are removed; queries read the source again.',
          security: bearerSecurity,
          request: { params: CacheParams },
          responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
        }),
        async (c) => {
          const { project_id, cache_id } = c.req.valid('param')
          await caches.delete(contextOf(c), project_id, cache_id)
          return c.body(null, 204)
        },
      )
      .openapi(
        createRoute({
          method: 'post',
          path: '/projects/{project_id}/caches/{cache_id}/refresh',
          tags,
          summary: 'Refresh a cache now',
          description:
            'Queues the refresh as a job (`job_id`); the cache is RUNNING until it ends. An incremental refresh of a ' +
            'cache with no copy yet copies the whole table. 409 while another refresh is queued or running.',
          security: bearerSecurity,
          request: { params: CacheParams, body: jsonBody(RefreshCache) },
          responses: {
            202: jsonResponse(Cache, 'The cache, RUNNING'),
            ...errorResponses(...WRITE_ERRORS, 404, 409),
          },
        }),
        async (c) => {
          const { project_id, cache_id } = c.req.valid('param')
          return c.json(await caches.refresh(contextOf(c), project_id, cache_id, c.req.valid('json').mode), 202)
        },
      )
      .openapi(
        createRoute({
          method: 'post',
          path: '/projects/{project_id}/caches/{cache_id}/cancel',
          tags,
          summary: 'Cancel a cache’s refresh',
          description: 'The last completed copy stays readable.',
          security: bearerSecurity,
          request: { params: CacheParams },
          responses: { 200: jsonResponse(Cache, 'The cache'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
        }),
        async (c) => {
          const { project_id, cache_id } = c.req.valid('param')
          return c.json(await caches.cancel(contextOf(c), project_id, cache_id), 200)
        },
      )
      .openapi(
        createRoute({
          method: 'get',
          path: '/projects/{project_id}/caches/{cache_id}/history',
          tags,
          summary: 'A cache’s refreshes, newest first',
          security: bearerSecurity,
          request: { params: CacheParams, query: CacheHistoryQuery },
          responses: {
            200: jsonResponse(z.object({ data: z.array(CacheRun) }), 'Refreshes'),
            ...errorResponses(...AUTHENTICATED_ERRORS, 404),
          },
        }),
        async (c) => {
          const { project_id, cache_id } = c.req.valid('param')
          return c.json({ data: await caches.history(contextOf(c), project_id, cache_id, c.req.valid('query')) }, 200)
        },
      )
  )
}
