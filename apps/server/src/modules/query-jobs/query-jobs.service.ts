import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises'
import path from 'node:path'

import type {
  CreateQueryJob,
  JobError,
  Page,
  QueryJob,
  QueryJobListQuery,
  QueryUsage,
  ResultPage,
  ResultPageQuery,
} from '@tributary/contract'

import { requireTenant } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { Config } from '../../config/config.js'
import type { ColumnPrivacy, EngineColumn, EngineStats } from '../../engine/engine.js'
import type { PlatformDuckDB } from '../../engine/platform-duckdb.js'
import type { QueryParameter } from '../../engine/sql-text.js'
import { isTerminal, type JobHandler, type JobQueue, type JobRow, type RunningJob } from '../../jobs/queue.js'
import { errors } from '../../lib/errors.js'
import { fileExists } from '../../lib/files.js'
import { newId } from '../../lib/ids.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SavedQueriesService } from '../saved-queries/saved-queries.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { queryJobErrors } from './query-jobs.errors.js'
import { readResultRows } from './query-results.js'
import { cpuSince, queryUsage } from './query-usage.js'

export interface SubmitQuery {
  sql: string
  parameters?: Record<string, QueryParameter> | undefined
  queryId?: string | undefined
  timeoutMs?: number | undefined
}

interface QueryJobPayload {
  sql: string
  parameters?: Record<string, QueryParameter>
  query_id?: string
  timeout_ms: number
}

interface QueryJobResult {
  columns: EngineColumn[]
  total_rows: number
  result_bytes: number
  elapsed_ms: number
  rows_scanned: number
  sources: EngineStats['sources']
  usage: QueryUsage
  /** Per column, in order; absent on results from before privacy policies (all public). */
  column_privacy?: ColumnPrivacy[]
  private_row_count?: number | null
  /** The key of the policies the result was computed under (SqlService.accessKey); '' or absent: none. */
  access_key?: string
}

/** Where what each query job read and cost is kept (the quotas module, at composition). */
export interface QueryCostLedger {
  /** Adds one attempt's usage to the job's recorded cost; called as the attempt ends, whether or not it succeeded. */
  record(job: { id: string; organizationId: string; projectId: string }, usage: QueryUsage): Promise<void>
}

/** A finished result: where it is and what it holds, for pages and exports. */
export interface StoredResult {
  jobId: string
  /** One Parquet file; columns in result order (repeated names made unique), 128-bit integers as text. */
  path: string
  columns: EngineColumn[]
  totalRows: number
  columnPrivacy: ColumnPrivacy[] | undefined
  privateRowCount: number | null
}

export interface QueryJobsOptions {
  /** `<data dir>/results`: one directory per job, holding `result.parquet` once complete. */
  resultsDir: string
  prices: Config['queryPrices']
}

/** Query jobs are the `query` jobs of the queue. */
export const QUERY_JOB_KIND = 'query'

const DEFAULT_TIMEOUT_MS = 3_600_000
const RESULT_FILE = 'result.parquet'
/** A cancelled job usually stops within a few hundred ms; the answer waits that long to show it. */
const CANCEL_WAIT_MS = 3_000

/** Queries run as jobs on the durable queue; each result is stored once as Parquet and read by page. */
export class QueryJobsService {
  #ledger: QueryCostLedger | undefined

  constructor(
    private readonly db: MetadataDb,
    private readonly jobs: JobQueue,
    private readonly sql: SqlService,
    private readonly platform: PlatformDuckDB,
    private readonly dependencies: { projects: ProjectsService; savedQueries: SavedQueriesService },
    private readonly options: QueryJobsOptions,
  ) {}

  /** Runs query jobs, on whichever server claims them. */
  readonly jobHandler: JobHandler<QueryJobPayload> = {
    kind: QUERY_JOB_KIND,
    // Queries only read, so running one again after a crash or a source hiccup is harmless.
    retryable: true,
    maxAttempts: 3,
    run: (job, ctx) => this.#run(job, ctx.signal),
    events: {
      succeeded: 'query_job.succeeded',
      failed: 'query_job.failed',
      data: (job) => ({ query_job_id: job.id, query_id: job.payload.query_id ?? null }),
    },
  }

  /** Has each job's usage recorded as it ends (once, at composition, by the quotas module). */
  useCostLedger(ledger: QueryCostLedger): void {
    this.#ledger = ledger
  }

  /** Where results live: `<results dir>/<job id>/result.parquet`. */
  get resultsDir(): string {
    return this.options.resultsDir
  }

  /** `POST /query-jobs`: SQL as given, or a saved query with its parameters. */
  async create(ctx: RequestContext, projectId: string, input: CreateQueryJob): Promise<QueryJob> {
    if (input.query_id === undefined) {
      return this.submit(ctx, projectId, { sql: input.sql!, timeoutMs: input.timeout_ms })
    }
    return this.runSaved(ctx, projectId, input.query_id, { parameters: input.parameters, timeoutMs: input.timeout_ms })
  }

  /**
   * Runs a saved query as a job: the one path for every door (`POST /queries/{id}/run`,
   * `POST /query-jobs {query_id}`, and later schedules, tools and workflows). The saved query's
   * owner checks it exists (404) and the values fit its parameters (422).
   */
  async runSaved(
    ctx: RequestContext,
    projectId: string,
    queryId: string,
    run: { parameters?: Readonly<Record<string, unknown>> | undefined; timeoutMs?: number | undefined },
  ): Promise<QueryJob> {
    const resolved = await this.dependencies.savedQueries.resolveRun(ctx, projectId, queryId, run.parameters ?? {})
    return this.submit(ctx, projectId, {
      sql: resolved.sql,
      parameters: resolved.parameters,
      queryId: resolved.queryId,
      timeoutMs: run.timeoutMs,
    })
  }

  /** Queues a query to run as the caller; also what `POST /queries/{id}/run` uses. */
  async submit(ctx: RequestContext, projectId: string, query: SubmitQuery): Promise<QueryJob> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    await this.sql.admit(tenant)
    const payload: QueryJobPayload = {
      sql: query.sql,
      timeout_ms: query.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(query.parameters ? { parameters: query.parameters } : {}),
      ...(query.queryId ? { query_id: query.queryId } : {}),
    }
    const row = await this.jobs.enqueue(this.db, {
      id: newId(),
      kind: QUERY_JOB_KIND,
      organizationId: tenant.principal.organizationId,
      projectId,
      payload,
      caller: ctx,
    })
    return toQueryJob(row)
  }

  async list(ctx: RequestContext, projectId: string, query: QueryJobListQuery): Promise<Page<QueryJob>> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    const rows = await this.jobs.list(
      tenant.principal.organizationId,
      projectId,
      QUERY_JOB_KIND,
      { payload: { query_id: query.query_id }, status: query.status, before: decodeCursor(query.cursor) },
      query.limit,
    )
    return toPage(rows, query.limit, toQueryJob)
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<QueryJob> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    return toQueryJob(await this.#find(tenant, projectId, id))
  }

  /**
   * Stops the job: a queued one at once; a running one has its engine query and source queries
   * interrupted. Answers once it has stopped, or with `running` if that takes longer than a moment.
   */
  async cancel(ctx: RequestContext, projectId: string, id: string): Promise<QueryJob> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    const current = await this.#find(tenant, projectId, id)
    if (current.status === 'succeeded' || current.status === 'failed') {
      throw queryJobErrors.alreadyEnded(id, current.status)
    }
    const outcome = await this.jobs.cancel(id)
    if (!outcome) throw errors.notFound('query job', id)
    let job = outcome.job
    if (!outcome.changed && (job.status === 'succeeded' || job.status === 'failed')) {
      throw queryJobErrors.alreadyEnded(id, job.status)
    }
    const deadline = Date.now() + CANCEL_WAIT_MS
    while (!isTerminal(job.status) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      job = (await this.jobs.get(id)) ?? job
    }
    return toQueryJob(job)
  }

  async results(ctx: RequestContext, projectId: string, id: string, query: ResultPageQuery): Promise<ResultPage> {
    const stored = await this.storedResult(ctx, projectId, id)
    const { page, page_size: pageSize } = query
    const offset = (page - 1) * pageSize
    const rows = offset >= stored.totalRows ? [] : await this.#read(stored, offset, pageSize)
    return {
      columns: stored.columns,
      rows,
      column_privacy: Object.fromEntries(
        stored.columns.map((column, i) => [column.name, stored.columnPrivacy?.[i] ?? 'public']),
      ),
      private_row_count: stored.privateRowCount,
      total_rows: stored.totalRows,
      page,
      page_size: pageSize,
      total_pages: Math.ceil(stored.totalRows / pageSize),
    }
  }

  async #read(stored: StoredResult, offset: number, pageSize: number): Promise<unknown[][]> {
    try {
      return await this.platform.withConnection((connection) =>
        readResultRows(connection, stored.path, stored.columns, offset, Math.min(pageSize, stored.totalRows - offset)),
      )
    } catch (error) {
      // Removed meanwhile (retention, or by hand): the result is gone, not the server broken.
      if (!(await fileExists(stored.path))) throw queryJobErrors.resultsGone(stored.jobId)
      throw error
    }
  }

  /** The stored result of a job that succeeded (exports read it too); `409` while it has none. */
  async storedResult(ctx: RequestContext, projectId: string, id: string): Promise<StoredResult> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    const row = await this.#find(tenant, projectId, id)
    if (row.status !== 'succeeded') throw queryJobErrors.notFinished(id, row.status)
    const result = row.result as unknown as QueryJobResult
    // Computed under its caller's masks and row filters: shown only to callers under the same ones.
    if ((result.access_key ?? '') !== (await this.sql.accessKey(tenant, projectId))) {
      throw queryJobErrors.otherPolicies(id)
    }
    if (!(await fileExists(this.#resultFile(id)))) throw queryJobErrors.resultsGone(id)
    return {
      jobId: id,
      path: this.#resultFile(id),
      columns: result.columns,
      totalRows: result.total_rows,
      columnPrivacy: result.column_privacy,
      privateRowCount: result.private_row_count ?? null,
    }
  }

  async #run(job: RunningJob<QueryJobPayload>, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (!job.caller) throw new Error(`query job ${job.id} has no caller to run as`)
    const directory = path.dirname(this.#resultFile(job.id))
    // The engine may write only in a directory of this attempt's own: a worker that lost its lease
    // and still runs cannot touch it, and the result appears under its final name whole or not at all.
    const partial = path.join(directory, `partial-${job.attempt}`)
    await mkdir(directory, { recursive: true })
    for (const entry of await readdir(directory)) {
      if (entry.startsWith('partial-')) await rm(path.join(directory, entry), { recursive: true, force: true })
    }
    await mkdir(partial)
    const cpuStart = process.cpuUsage()
    try {
      const written = path.join(partial, RESULT_FILE)
      let outcome: Awaited<ReturnType<SqlService['runToParquet']>>
      try {
        outcome = await this.sql.runToParquet(
          job.caller,
          job.projectId,
          { sql: job.payload.sql, parameters: job.payload.parameters, timeoutMs: job.payload.timeout_ms },
          written,
          signal,
        )
      } catch (error) {
        // A query that fails still took CPU: it counts towards the quota as well.
        await this.#ledger?.record(job, queryUsage(this.options.prices, undefined, cpuSince(cpuStart)))
        throw error
      }
      // The process's CPU time, other work running beside the query included: close enough to price by.
      const usage = queryUsage(this.options.prices, outcome.stats, cpuSince(cpuStart))
      await this.#ledger?.record(job, usage)
      const privateRows =
        outcome.privacy && outcome.privacy.filtered.length > 0
          ? await this.sql.withheldRows(job.caller, job.projectId, outcome.privacy.filtered, signal)
          : null
      await rename(written, this.#resultFile(job.id))
      const result: QueryJobResult = {
        columns: outcome.columns,
        total_rows: outcome.row_count,
        result_bytes: (await stat(this.#resultFile(job.id))).size,
        elapsed_ms: outcome.stats.elapsed_ms,
        rows_scanned: outcome.stats.rows_scanned,
        sources: outcome.stats.sources,
        usage,
        column_privacy: outcome.privacy?.columns ?? outcome.columns.map(() => 'public'),
        private_row_count: privateRows,
        access_key: await this.sql.accessKey(requireTenant(job.caller), job.projectId),
      }
      return { ...result }
    } finally {
      await rm(partial, { recursive: true, force: true })
      // A job that failed or was cancelled leaves nothing behind (rmdir refuses a directory in use).
      await rmdir(directory).catch(() => undefined)
    }
  }

  #resultFile(jobId: string): string {
    return path.join(this.options.resultsDir, jobId, RESULT_FILE)
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<JobRow> {
    const row = await this.jobs.find(tenant.principal.organizationId, projectId, id, QUERY_JOB_KIND)
    if (!row) throw errors.notFound('query job', id)
    return row
  }
}

function toQueryJob(row: JobRow): QueryJob {
  const payload = row.payload as unknown as QueryJobPayload
  const result = row.status === 'succeeded' ? (row.result as unknown as QueryJobResult | null) : null
  const error = row.status === 'succeeded' ? null : (row.error as JobError | null)
  const ran = row.started_at && row.ended_at ? row.ended_at.getTime() - row.started_at.getTime() : null
  return {
    id: row.id,
    project_id: row.project_id,
    status: row.status,
    sql: payload.sql,
    query_id: payload.query_id ?? null,
    created_at: toIso(row.created_at),
    started_at: toIsoOrNull(row.started_at),
    ended_at: toIsoOrNull(row.ended_at),
    attempt: row.attempt,
    total_rows: result?.total_rows ?? null,
    total_bytes_processed: result?.result_bytes ?? null,
    elapsed_ms: result?.elapsed_ms ?? ran,
    rows_scanned: result?.rows_scanned ?? null,
    // Jobs that succeeded before usage was recorded have none.
    usage: result?.usage ?? null,
    private_row_count: result?.private_row_count ?? null,
    ...(error ? { error } : {}),
  }
}
