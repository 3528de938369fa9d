import { createRoute, z } from '@hono/zod-openapi'
import {
  CreateQueryJob,
  Id,
  listOf,
  QueryJob,
  QueryJobListQuery,
  ResultPage,
  ResultPageQuery,
  RunSavedQuery,
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
import type { QueryJobsService } from './query-jobs.service.js'

const tags = ['Query jobs']
const ProjectParams = z.object({ project_id: Id })
const JobParams = ProjectParams.extend({ job_id: Id })
const SavedQueryParams = ProjectParams.extend({ query_id: Id })

const RunAccepted = QueryJob.extend({ job_id: Id.meta({ description: 'The same as `id`' }) }).meta({
  id: 'SavedQueryRun',
})

export function queryJobRoutes(queryJobs: QueryJobsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/query-jobs',
        tags,
        summary: 'Run a query as a job',
        description:
          'Queues the query (`sql`, or a saved query by `query_id` with its `parameters`) and answers at once with ' +
          'the job. The job survives restarts of the server; its whole result is stored and read by page from ' +
          '`/results`. Errors in the SQL, and sources that fail, show in the job’s `error`. Once it ends the job ' +
          'shows its `usage` (bytes and rows read per source, CPU time, cost); an organization whose query quota ' +
          'is spent is refused with `429 quota_exceeded` before anything is queued.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateQueryJob) },
        responses: { 202: jsonResponse(QueryJob, 'The queued job'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) =>
        c.json(await queryJobs.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 202),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/query-jobs',
        tags,
        summary: 'List a project’s query jobs, newest first',
        security: bearerSecurity,
        request: { params: ProjectParams, query: QueryJobListQuery },
        responses: {
          200: jsonResponse(listOf(QueryJob), 'Query jobs'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await queryJobs.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/query-jobs/{job_id}',
        tags,
        summary: 'Get a query job',
        security: bearerSecurity,
        request: { params: JobParams },
        responses: { 200: jsonResponse(QueryJob, 'The job'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, job_id } = c.req.valid('param')
        return c.json(await queryJobs.get(contextOf(c), project_id, job_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/query-jobs/{job_id}/cancel',
        tags,
        summary: 'Cancel a query job',
        description:
          'A queued job is cancelled at once. A running job has its query stopped, the queries it sent to ' +
          'sources included; the answer comes once it has stopped (or, if that takes more than a few seconds, ' +
          'still `running`: it stops shortly after). Cancelling a cancelled job is harmless; a job that has ' +
          'already succeeded or failed answers `409`.',
        security: bearerSecurity,
        request: { params: JobParams },
        responses: {
          200: jsonResponse(QueryJob, 'The job'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, job_id } = c.req.valid('param')
        return c.json(await queryJobs.cancel(contextOf(c), project_id, job_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/query-jobs/{job_id}/results',
        tags,
        summary: 'Read a page of a query job’s result',
        description:
          'Pages are numbered from 1; any page comes back equally fast. A page past the end has no rows and the ' +
          'right totals. A job that has not succeeded has no result: `409`. A result is kept for ' +
          '`TRIBUTARY_RESULT_RETENTION_HOURS` after its job ended, then `410`.',
        security: bearerSecurity,
        request: { params: JobParams, query: ResultPageQuery },
        responses: {
          200: jsonResponse(ResultPage, 'One page of rows'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409, 410),
        },
      }),
      async (c) => {
        const { project_id, job_id } = c.req.valid('param')
        return c.json(await queryJobs.results(contextOf(c), project_id, job_id, c.req.valid('query')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/queries/{query_id}/run',
        tags: ['Saved queries'],
        summary: 'Run a saved query as a job',
        description:
          'Checks the values against the declared parameters (a missing required, unknown or wrongly typed value is ' +
          'a `422` naming `parameters.<name>`), fills defaults, and queues a query job; follow it at ' +
          '`/query-jobs/{job_id}`. An organization whose query quota is spent gets `429 quota_exceeded`.',
        security: bearerSecurity,
        request: { params: SavedQueryParams, body: { ...jsonBody(RunSavedQuery), required: false } },
        responses: { 202: jsonResponse(RunAccepted, 'The queued job'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, query_id } = c.req.valid('param')
        // The body is optional: without one the validator passes `{}` and its defaults do not apply.
        const body: Partial<RunSavedQuery> = c.req.valid('json')
        const job = await queryJobs.runSaved(contextOf(c), project_id, query_id, {
          parameters: body.parameters,
          timeoutMs: body.timeout_ms,
        })
        return c.json({ job_id: job.id, ...job }, 202)
      },
    )
}
