import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'

import {
  UploadImportOptions,
  type ImportFormat,
  type ImportJob,
  type ImportMode,
  type ListQuery,
  type Page,
  type RejectedRow,
  type SqlImport,
} from '@tributary/contract'

import { requireProjectUse } from '../../auth/access.js'
import type { RequestContext } from '../../auth/principal.js'
import type { PlatformDuckDB } from '../../engine/platform-duckdb.js'
import type { TableStore } from '../../internal-store/table-store.js'
import type { JobHandler, JobQueue, JobRow, JobRunContext, RunningJob } from '../../jobs/queue.js'
import { AppError, errors, isAppError } from '../../lib/errors.js'
import { newId } from '../../lib/ids.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import { validationError } from '../../lib/validation.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { StoredColumn } from '../../metadata/schema.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { TablesService } from '../datasets/tables.service.js'
import type { SqlService } from '../sql/sql.service.js'
import {
  checkContent,
  csvRejects,
  detectFormat,
  diagnose,
  firstLine,
  isDuckDBError,
  pairColumns,
  probeFile,
  readHead,
  readerSql,
  type FileSpec,
} from './import-formats.js'
import { receiveUpload } from './upload.js'

export const IMPORT_JOB = 'import'

/** What an import job carries: everything needed to run it again after a restart. */
interface ImportPayload {
  dataset_id: string
  table_id: string
  mode: ImportMode
  source: 'upload' | 'sql'
  ignore_extra_columns: boolean
  /** Uploads: the file as probed when it arrived. */
  file?: FileSpec
  file_name?: string | null
  size_bytes?: number
  sql?: string
  timeout_ms?: number
  /** The table's columns when the import was accepted: a column change meanwhile fails the import. */
  columns: StoredColumn[]
}

export interface ImportsOptions {
  /** `<data dir>/uploads`: uploaded files wait here for their job. */
  uploadsDir: string
  uploadLimitBytes: number
}

const MAX_REJECTED_SHOWN = 10

/**
 * Imports into internal tables: an upload, or the result of a query, loaded as one new segment and
 * switched in atomically (see `DatasetsService.commitSegment`). Runs on the durable job queue.
 */
export class ImportsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly queue: JobQueue,
    private readonly tables: TablesService,
    private readonly store: TableStore,
    private readonly platform: PlatformDuckDB,
    private readonly sqlService: SqlService,
    private readonly audit: AuditService,
    private readonly options: ImportsOptions,
  ) {}

  /** Runs import jobs, on whichever server claims them. */
  readonly jobHandler: JobHandler<ImportPayload> = {
    kind: IMPORT_JOB,
    // Safe: a run that already switched the table in is recognised by its segment and not repeated.
    retryable: true,
    maxAttempts: 2,
    run: (job, ctx) => this.#run(job, ctx),
    events: {
      succeeded: 'import.succeeded',
      failed: 'import.failed',
      data: (job) => ({ import_id: job.id, dataset_id: job.payload.dataset_id, table_id: job.payload.table_id }),
    },
  }

  /** Where uploads wait for their job. */
  get uploadsDir(): string {
    return this.options.uploadsDir
  }

  /** A multipart upload: streamed to disk, checked, probed, then queued. */
  async createFromUpload(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    request: Request,
  ): Promise<ImportJob> {
    const { tenant, table } = await this.tables.writableTable(ctx, projectId, datasetId, tableId)
    const id = newId()
    await mkdir(this.options.uploadsDir, { recursive: true })
    const upload = await receiveUpload(
      request,
      path.join(this.options.uploadsDir, `${id}.upload`),
      this.options.uploadLimitBytes,
    )
    try {
      const parsed = UploadImportOptions.safeParse(upload.fields)
      if (!parsed.success) throw validationError(parsed.error, 'body')
      const options = parsed.data
      const head = await readHead(upload.path)
      const format: ImportFormat = detectFormat(options.format, upload.fileName, head.head)
      checkContent(format, head)
      const file = await this.platform.withConnection((connection) =>
        probeFile(connection, upload.path, format, head.gzip, options),
      )
      pairColumns(file, table.columns, options.ignore_extra_columns)
      return await this.#enqueue(ctx, tenant.principal.organizationId, projectId, id, {
        dataset_id: datasetId,
        table_id: tableId,
        mode: options.mode,
        source: 'upload',
        ignore_extra_columns: options.ignore_extra_columns,
        file,
        file_name: upload.fileName,
        size_bytes: upload.sizeBytes,
        columns: table.columns,
      })
    } catch (error) {
      await rm(upload.path, { force: true })
      throw error
    }
  }

  /** Loads the result of a query over any of the project's catalogs. */
  async createFromSql(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    input: SqlImport,
  ): Promise<ImportJob> {
    const { tenant, table } = await this.tables.writableTable(ctx, projectId, datasetId, tableId)
    requireProjectUse(ctx, projectId, 'query')
    return this.#enqueue(ctx, tenant.principal.organizationId, projectId, newId(), {
      dataset_id: datasetId,
      table_id: tableId,
      mode: input.mode,
      source: 'sql',
      ignore_extra_columns: input.ignore_extra_columns,
      sql: input.sql,
      timeout_ms: input.timeout_ms,
      columns: table.columns,
    })
  }

  async get(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    id: string,
  ): Promise<ImportJob> {
    const { tenant } = await this.tables.readableTable(ctx, projectId, datasetId, tableId)
    const row = await this.queue.find(tenant.principal.organizationId, projectId, id, IMPORT_JOB)
    if (!row || (row.payload as unknown as ImportPayload).table_id !== tableId) throw errors.notFound('import', id)
    return toImportJob(row)
  }

  async list(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    query: ListQuery,
  ): Promise<Page<ImportJob>> {
    const { tenant } = await this.tables.readableTable(ctx, projectId, datasetId, tableId)
    // Newest first: the import someone just started is the one they look for.
    const found = await this.queue.list(
      tenant.principal.organizationId,
      projectId,
      IMPORT_JOB,
      { payload: { table_id: tableId }, before: decodeCursor(query.cursor) },
      query.limit,
    )
    return toPage(found, query.limit, toImportJob)
  }

  async cancel(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    id: string,
  ): Promise<ImportJob> {
    await this.tables.writableTable(ctx, projectId, datasetId, tableId)
    await this.get(ctx, projectId, datasetId, tableId, id)
    const cancelled = await this.queue.cancel(id)
    if (!cancelled) throw errors.notFound('import', id)
    return toImportJob(cancelled.job)
  }

  async #enqueue(
    ctx: RequestContext,
    organizationId: string,
    projectId: string,
    id: string,
    payload: ImportPayload,
  ): Promise<ImportJob> {
    const row = await this.db.transaction().execute(async (trx) => {
      const job = await this.queue.enqueue(trx, {
        id,
        kind: IMPORT_JOB,
        organizationId,
        projectId,
        payload,
        caller: ctx,
      })
      await this.audit.record(trx, ctx, {
        action: 'dataset_table.import',
        resourceType: 'dataset_table',
        resourceId: payload.table_id,
        organizationId,
        details: { job_id: id, source: payload.source, mode: payload.mode, format: payload.file?.format ?? null },
      })
      return job
    })
    this.queue.wake()
    return toImportJob(row)
  }

  async #run(job: RunningJob<ImportPayload>, context: JobRunContext): Promise<Record<string, unknown>> {
    const { signal } = context
    const progress = (value: Record<string, unknown>) => context.progress(value)
    const payload = job.payload
    const location = { projectId: job.projectId, tableId: payload.table_id }
    const table = await this.tables.findTableById(payload.table_id)
    if (!table || table.archived_at || table.project_id !== job.projectId) {
      await this.#dropUpload(payload)
      throw errors.notFound('table', payload.table_id)
    }
    // A previous attempt got as far as switching the table in: that is the outcome.
    const done = table.segments.find((segment) => segment.id === job.id)
    if (done) {
      await this.#dropUpload(payload)
      return { rows_written: done.rows }
    }

    let resultDir: string | undefined
    let keepUpload = false
    try {
      let file: FileSpec
      if (payload.source === 'sql') {
        if (!job.caller) throw errors.authorization('the import has no caller to run its query as')
        resultDir = path.join(this.options.uploadsDir, `${job.id}.sql`)
        await rm(resultDir, { recursive: true, force: true })
        await mkdir(resultDir, { recursive: true })
        const output = path.join(resultDir, 'result.parquet')
        await progress({ fraction: 0, phase: 'querying' })
        const result = await this.sqlService.runToParquet(
          job.caller,
          job.projectId,
          { sql: payload.sql!, timeoutMs: payload.timeout_ms ?? 600_000 },
          output,
          signal,
        )
        file = { path: output, format: 'parquet', gzip: false, columns: result.columns.map((column) => column.name) }
      } else {
        file = payload.file!
      }
      const pairs = pairColumns(file, payload.columns, payload.ignore_extra_columns)
      await progress({ fraction: 0.05, phase: 'loading' })

      const staged = await this.store.writeSegment(
        location,
        payload.columns,
        async (connection, target) => {
          const ticker = setInterval(() => {
            const percentage = connection.progress.percentage
            if (percentage >= 0)
              void progress({ fraction: 0.05 + 0.85 * (percentage / 100), phase: 'loading' }).catch(() => undefined)
          }, 1_000)
          ticker.unref()
          const columnList = pairs.map((pair) => quoteName(pair.column.name)).join(', ')
          let loadError: unknown
          try {
            await connection.run(`INSERT INTO ${target} (${columnList}) ${readerSql(file, pairs)}`)
          } catch (error) {
            loadError = error
          } finally {
            clearInterval(ticker)
          }
          if (signal.aborted) throw signal.reason as Error
          let rejected: RejectedRow[] = file.csv ? await csvRejects(connection, MAX_REJECTED_SHOWN) : []
          if (loadError !== undefined) {
            if (!isDuckDBError(loadError)) throw loadError as Error
            if (rejected.length === 0)
              rejected = await diagnose(connection, file, pairs, MAX_REJECTED_SHOWN).catch(() => [])
            throw rejectedError(rejected, firstLine(loadError))
          }
          if (rejected.length > 0) throw rejectedError(rejected)
        },
        signal,
        // Named after the job, so a retry can tell the switch already happened.
        job.id,
      )
      await progress({ fraction: 0.95, phase: 'committing' })
      const committed = await this.tables.commitSegment(
        payload.table_id,
        job.projectId,
        staged,
        payload.columns,
        payload.mode,
      )
      await progress({ fraction: 1, phase: 'done' })
      return { rows_written: staged.rows, table_rows: Number(committed.row_count) }
    } catch (error) {
      if (signal.aborted) throw signal.reason
      // Kept only for a retry, which only an unexpected failure gets.
      keepUpload = !isAppError(error) && job.attempt < job.maxAttempts
      if (error instanceof AppError) throw error
      if (isDuckDBError(error)) throw new AppError('validation_error', `the import failed: ${firstLine(error)}`)
      throw error
    } finally {
      if (resultDir) await rm(resultDir, { recursive: true, force: true })
      if (!keepUpload) await this.#dropUpload(payload)
    }
  }

  async #dropUpload(payload: ImportPayload): Promise<void> {
    if (payload.source === 'upload' && payload.file) await rm(payload.file.path, { force: true })
  }
}

const quoteName = (name: string) => `"${name.replaceAll('"', '""')}"`

function rejectedError(rejected: RejectedRow[], cause?: string): AppError {
  const where = rejected[0]
    ? ` (first at ${rejected[0].line !== null ? `line ${rejected[0].line}` : `row ${rejected[0].row}`}` +
      `${rejected[0].column ? `, column '${rejected[0].column}'` : ''}: ${rejected[0].reason})`
    : cause
      ? `: ${cause}`
      : ''
  return new AppError(
    'validation_error',
    `rows of the file do not fit the table's schema${where}; nothing was imported`,
    {
      rejected_rows: rejected,
    },
  )
}

function toImportJob(row: JobRow): ImportJob {
  const payload = row.payload as unknown as ImportPayload
  const result = row.result as { rows_written?: number } | null
  const progress = row.progress as { fraction?: number } | null
  const error = row.error as { code?: string; message?: string; details?: { rejected_rows?: RejectedRow[] } } | null
  const failed = row.status === 'failed' || row.status === 'cancelled'
  return {
    id: row.id,
    project_id: row.project_id,
    dataset_id: payload.dataset_id,
    table_id: payload.table_id,
    status: row.status,
    source: payload.source,
    mode: payload.mode,
    format: payload.source === 'upload' ? (payload.file?.format ?? null) : null,
    file_name: payload.file_name ?? null,
    size_bytes: payload.size_bytes ?? null,
    sql: payload.sql ?? null,
    progress: row.status === 'succeeded' ? 1 : Math.min(1, Math.max(0, progress?.fraction ?? 0)),
    rows_written: row.status === 'succeeded' ? (result?.rows_written ?? 0) : null,
    error:
      failed && (error || row.status === 'cancelled')
        ? {
            code: error?.code ?? 'cancelled',
            message: error?.message ?? 'the import was cancelled; the table is as it was',
            rejected_rows: error?.details?.rejected_rows ?? [],
          }
        : null,
    created_at: toIso(row.created_at),
    started_at: toIsoOrNull(row.started_at),
    ended_at: toIsoOrNull(row.ended_at),
  }
}
