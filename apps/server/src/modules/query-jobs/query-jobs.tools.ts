import { setTimeout as sleep } from 'node:timers/promises'

import { Id, QueryJob, ResultPage, RunSavedQuery } from '@tributary/contract'
import { z } from 'zod'

import type { RequestContext } from '../../auth/principal.js'
import { defineTool } from '../../mcp/tool.js'
import type { QueryJobsService } from './query-jobs.service.js'

const PageSize = z.number().int().min(1).max(200)
/** How often a waiting `run_saved_query` looks at its job: a quick query ends within a few polls. */
const POLL_MS = 50
const ENDED = new Set<QueryJob['status']>(['succeeded', 'failed', 'cancelled'])

export function queryJobTools(queryJobs: QueryJobsService) {
  return [
    defineTool({
      name: 'run_saved_query',
      title: 'Run a saved query',
      description:
        'Runs a saved query as a job with values for its parameters, waits up to `wait_ms` for it to end and ' +
        'returns the job with the first page of its result. A job still running after that is returned as it is: ' +
        'follow it with `get_job` and `get_job_results`.',
      input: z.strictObject({
        query_id: Id.meta({ description: 'A saved query from `list_saved_queries`' }),
        parameters: RunSavedQuery.shape.parameters,
        wait_ms: z.number().int().min(0).max(60_000).default(10_000),
        page_size: PageSize.default(50),
      }),
      output: z.object({ job: QueryJob, results: ResultPage.nullable() }),
      needs: { use: 'query' },
      run: async ({ ctx, projectId, signal }, input) => {
        const queued = await queryJobs.runSaved(ctx, projectId, input.query_id, { parameters: input.parameters })
        const job = await waitForEnd(queryJobs, ctx, projectId, queued, input.wait_ms, signal)
        const results =
          job.status === 'succeeded'
            ? await queryJobs.results(ctx, projectId, job.id, { page: 1, page_size: input.page_size })
            : null
        return { job, results }
      },
    }),
    defineTool({
      name: 'get_job',
      title: 'Get a query job',
      description: 'A query job’s status, timings, row count and error, if it failed.',
      input: z.strictObject({ job_id: Id }),
      output: QueryJob,
      needs: { use: 'query' },
      run: ({ ctx, projectId }, { job_id }) => queryJobs.get(ctx, projectId, job_id),
    }),
    defineTool({
      name: 'get_job_results',
      title: 'Read a query job’s result',
      description: 'One page of a succeeded query job’s result; pages are numbered from 1.',
      input: z.strictObject({
        job_id: Id,
        page: z.number().int().min(1, 'must be at least 1').default(1),
        page_size: PageSize.default(50),
      }),
      output: ResultPage,
      needs: { use: 'query' },
      run: ({ ctx, projectId }, { job_id, page, page_size }) =>
        queryJobs.results(ctx, projectId, job_id, { page, page_size }),
    }),
  ]
}

async function waitForEnd(
  queryJobs: QueryJobsService,
  ctx: RequestContext,
  projectId: string,
  queued: QueryJob,
  waitMs: number,
  signal: AbortSignal,
): Promise<QueryJob> {
  const deadline = Date.now() + waitMs
  let job = queued
  while (!ENDED.has(job.status) && Date.now() < deadline && !signal.aborted) {
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())))
    job = await queryJobs.get(ctx, projectId, job.id)
  }
  return job
}
