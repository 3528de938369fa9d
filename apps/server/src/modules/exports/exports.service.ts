import { mkdir, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'

import { DuckDBInstance } from '@duckdb/node-api'
import type { CreateExport, Export, ExportLink, JobError, ListQuery, Page } from '@tributary/contract'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import { quoteLiteral } from '../../engine/duckdb-sql.js'
import { INTERNAL_CATALOG } from '../../engine/local-tables.js'
import type { PlatformDuckDB } from '../../engine/platform-duckdb.js'
import { attachSegments } from '../../internal-store/table-store.js'
import type { JobHandler, JobQueue, RunningJob } from '../../jobs/queue.js'
import { errors } from '../../lib/errors.js'
import { fileExists } from '../../lib/files.js'
import { newId } from '../../lib/ids.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { TablesService } from '../datasets/tables.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { QueryJobsService } from '../query-jobs/query-jobs.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { exportContentType, exportFileName, writeExport, type ExportSource } from './export-writer.js'
import { exportErrors } from './exports.errors.js'
import { ExportsRepo, type ExportWithJob } from './exports.repo.js'

export const EXPORT_JOB_KIND = 'export'

/** Where signed links point; the download route lives outside the authenticated API. */
export const DOWNLOAD_PATH = '/api/v1/export-downloads'

type ExportPayload =
  | { source: 'query_job'; query_job_id: string; format: Export['format']; compression: Export['compression'] }
  | {
      source: 'table'
      dataset_id: string
      table_id: string
      format: Export['format']
      compression: Export['compression']
    }

export interface ExportsOptions {
  /** `<data dir>/exports`: one directory per export, holding the file once it is complete. */
  exportsDir: string
  /** Signs download links (derived from the instance secret for this purpose only). */
  linkKey: Uint8Array
  linkTtlSeconds: number
  /** Links start with this when set (a proxy's address), else with the request's own origin. */
  publicUrl?: string | undefined
  /** DuckDB settings for the private instance a table export reads its files with. */
  duckdb: { memoryLimit: string; threads: number }
}

/** A file ready to stream to whoever holds a valid link. */
export interface Download {
  path: string
  fileName: string
  contentType: string
  size: number
}

const ISSUER = 'tributary'
const AUDIENCE = 'tributary-export-download'
const HUGE_INTEGER = /^U?HUGEINT$/

/** Exports of query results and internal tables (issue 4 item 6), written by jobs of kind `export`. */
export class ExportsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly jobs: JobQueue,
    private readonly dependencies: {
      projects: ProjectsService
      queryJobs: QueryJobsService
      tables: TablesService
      sql: SqlService
      audit: AuditService
    },
    private readonly platform: PlatformDuckDB,
    private readonly options: ExportsOptions,
  ) {}

  /** Runs export jobs, on whichever server claims them. */
  readonly jobHandler: JobHandler<ExportPayload> = {
    kind: EXPORT_JOB_KIND,
    // A run starts from scratch in its own directory and publishes the file by rename: safe to repeat.
    retryable: true,
    maxAttempts: 3,
    run: (job, ctx) => this.#run(job, ctx.signal),
    events: {
      succeeded: 'export.succeeded',
      failed: 'export.failed',
      data: (job) => ({ export_id: job.id, source: job.payload.source }),
    },
  }

  /** `409` unless the job has succeeded: there is nothing to export before. */
  async exportQueryJob(ctx: RequestContext, projectId: string, jobId: string, input: CreateExport): Promise<Export> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    await this.dependencies.queryJobs.storedResult(ctx, projectId, jobId)
    return this.#enqueue(ctx, tenant, projectId, { source: 'query_job', query_job_id: jobId, ...input })
  }

  async exportTable(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    input: CreateExport,
  ): Promise<Export> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    const source = await this.dependencies.tables.tableSource(ctx, projectId, datasetId, tableId)
    // The file is copied as it is: what masks or filters would hide from the caller must go through a query.
    const policed = await this.dependencies.sql.isPoliced(tenant, projectId, {
      catalog: INTERNAL_CATALOG,
      schema: source.schema,
      table: source.table,
      columns: source.columns,
    })
    if (policed) throw exportErrors.policedTable(`${INTERNAL_CATALOG}.${source.schema}.${source.table}`)
    return this.#enqueue(ctx, tenant, projectId, {
      source: 'table',
      dataset_id: datasetId,
      table_id: tableId,
      ...input,
    })
  }

  async list(
    ctx: RequestContext,
    projectId: string,
    query: ListQuery & { query_job_id?: string | undefined; table_id?: string | undefined },
    origin: string,
  ): Promise<Page<Export>> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    const rows = await new ExportsRepo(this.db).list(
      tenant.principal.organizationId,
      projectId,
      { queryJobId: query.query_job_id, tableId: query.table_id, before: decodeCursor(query.cursor) },
      query.limit,
    )
    const page = toPage(rows, query.limit, (row) => row)
    return { ...page, data: await Promise.all(page.data.map((row) => this.#toExport(row, origin))) }
  }

  async get(ctx: RequestContext, projectId: string, id: string, origin: string): Promise<Export> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    return this.#toExport(await this.#find(tenant, projectId, id), origin)
  }

  /** A fresh signed link, valid for the configured time from now. */
  async link(ctx: RequestContext, projectId: string, id: string, origin: string): Promise<ExportLink> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { use: 'query' })
    const row = await this.#find(tenant, projectId, id)
    if (!row.completed_at || row.status !== 'succeeded') throw exportErrors.notReady(id, row.status)
    if (row.file_name && !(await fileExists(path.join(this.#directory(id), row.file_name))))
      throw exportErrors.fileGone(id)
    const expiresAt = new Date(Date.now() + this.options.linkTtlSeconds * 1000)
    return { download_url: await this.#signedUrl(row, expiresAt, origin), expires_at: toIso(expiresAt) }
  }

  /**
   * What a signed link downloads. The token names one export and an expiry: another export's id
   * in the path, a changed byte or a token of another purpose is refused; an expired one is `410`.
   */
  async download(exportId: string, token: string): Promise<Download> {
    let subject: string | undefined
    try {
      const { payload } = await jwtVerify(token, this.options.linkKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      })
      subject = payload.sub
    } catch (error) {
      // jose checks the signature before the claims: an expired token is one we really issued.
      if (error instanceof joseErrors.JWTExpired && error.payload.sub === exportId && error.payload.exp) {
        throw exportErrors.linkExpired(new Date(error.payload.exp * 1000), String(error.payload.prj), exportId)
      }
      throw exportErrors.linkInvalid()
    }
    if (subject !== exportId) throw exportErrors.linkInvalid()
    const row = await new ExportsRepo(this.db).findById(exportId)
    if (!row?.completed_at || !row.file_name) throw errors.notFound('export', exportId)
    const file = path.join(this.#directory(exportId), row.file_name)
    const size = await stat(file).then(
      (stats) => stats.size,
      () => undefined,
    )
    if (size === undefined) throw exportErrors.fileGone(exportId)
    return { path: file, fileName: row.file_name, contentType: exportContentType(row.format, row.compression), size }
  }

  async #enqueue(
    ctx: RequestContext,
    tenant: TenantContext,
    projectId: string,
    payload: ExportPayload,
  ): Promise<Export> {
    const id = newId()
    await this.db.transaction().execute(async (trx) => {
      await this.jobs.enqueue(trx, {
        id,
        kind: EXPORT_JOB_KIND,
        organizationId: tenant.principal.organizationId,
        projectId,
        payload,
        caller: ctx,
      })
      await new ExportsRepo(trx).insert({
        id,
        organization_id: tenant.principal.organizationId,
        project_id: projectId,
        source: payload.source,
        query_job_id: payload.source === 'query_job' ? payload.query_job_id : null,
        dataset_id: payload.source === 'table' ? payload.dataset_id : null,
        table_id: payload.source === 'table' ? payload.table_id : null,
        format: payload.format,
        compression: payload.compression,
      })
      await this.dependencies.audit.recordTenantWrite(trx, ctx, tenant.principal, 'export', {
        action: 'export.create',
        id,
        details: { ...payload, project_id: projectId },
      })
    })
    this.jobs.wake()
    return this.#toExport(await this.#find(tenant, projectId, id), '')
  }

  async #run(job: RunningJob<ExportPayload>, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (!job.caller) throw new Error(`export ${job.id} has no caller to run as`)
    const caller = job.caller
    const { payload } = job
    const directory = this.#directory(job.id)
    // Written under partial/ and renamed into place: a file is visible only once it is whole.
    const partial = path.join(directory, 'partial')
    await rm(partial, { recursive: true, force: true })
    await mkdir(partial, { recursive: true })
    try {
      const base = payload.source === 'query_job' ? `query-job-${payload.query_job_id}` : `table-${payload.table_id}`
      const fileName = exportFileName(base, payload.format, payload.compression)
      const target = {
        format: payload.format,
        compression: payload.compression,
        path: path.join(partial, fileName),
        scratchPath: path.join(partial, 'uncompressed'),
      }
      let rows: number
      if (payload.source === 'query_job') {
        const stored = await this.dependencies.queryJobs.storedResult(caller, job.projectId, payload.query_job_id)
        const source: ExportSource = {
          from: `read_parquet(${quoteLiteral(stored.path)})`,
          declaredTypes: new Map(
            stored.columns
              .filter((column) => HUGE_INTEGER.test(column.type))
              .map((column) => [column.name, column.type]),
          ),
        }
        rows = await this.platform.withConnection((connection) => writeExport(connection, source, target, signal))
      } else {
        const table = await this.dependencies.tables.tableSource(
          caller,
          job.projectId,
          payload.dataset_id,
          payload.table_id,
        )
        // Attached databases are shared by every connection of an instance: a private one avoids name clashes.
        const instance = await DuckDBInstance.create(':memory:', {
          threads: String(this.options.duckdb.threads),
          memory_limit: this.options.duckdb.memoryLimit,
        })
        try {
          const connection = await instance.connect()
          await connection.run("SET TimeZone = 'UTC'")
          const from = await attachSegments(connection, table.files, table.columns)
          rows = await writeExport(connection, { from }, target, signal)
          connection.closeSync()
        } finally {
          instance.closeSync()
        }
      }
      const final = path.join(directory, fileName)
      await rename(target.path, final)
      const bytes = (await stat(final)).size
      await new ExportsRepo(this.db).complete(job.id, { fileName, rows, bytes })
      return { file_name: fileName, row_count: rows, size_bytes: bytes }
    } finally {
      await rm(partial, { recursive: true, force: true })
    }
  }

  #directory(exportId: string): string {
    return path.join(this.options.exportsDir, exportId)
  }

  async #signedUrl(row: ExportWithJob, expiresAt: Date, origin: string): Promise<string> {
    // No `iat`: the link for one expiry is the same however often the export is read.
    const token = await new SignJWT({ prj: row.project_id })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(row.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.options.linkKey)
    return `${this.options.publicUrl ?? origin}${DOWNLOAD_PATH}/${row.id}?token=${token}`
  }

  /** The link shown with the export is valid for the configured time after it completed. */
  async #toExport(row: ExportWithJob, origin: string): Promise<Export> {
    const ready = row.status === 'succeeded' && row.completed_at !== null
    const expiresAt = ready ? linkExpiry(row.completed_at!, this.options.linkTtlSeconds) : null
    const live = expiresAt !== null && expiresAt.getTime() > Date.now() + 1000
    const error = row.status === 'succeeded' ? null : (row.error as JobError | null)
    return {
      id: row.id,
      project_id: row.project_id,
      status: row.status,
      source: row.source,
      query_job_id: row.query_job_id,
      dataset_id: row.dataset_id,
      table_id: row.table_id,
      format: row.format,
      compression: row.compression,
      file_name: ready ? row.file_name : null,
      row_count: ready && row.row_count !== null ? Number(row.row_count) : null,
      size_bytes: ready && row.size_bytes !== null ? Number(row.size_bytes) : null,
      download_url:
        live && (this.options.publicUrl ?? origin) !== '' ? await this.#signedUrl(row, expiresAt, origin) : null,
      expires_at: toIsoOrNull(expiresAt),
      created_at: toIso(row.created_at),
      completed_at: ready ? toIsoOrNull(row.completed_at) : null,
      ...(error ? { error } : {}),
    }
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<ExportWithJob> {
    const row = await new ExportsRepo(this.db).find(tenant.principal.organizationId, projectId, id)
    if (!row) throw errors.notFound('export', id)
    return row
  }
}

/** Whole seconds, as the token carries it. */
function linkExpiry(completedAt: Date, ttlSeconds: number): Date {
  return new Date(Math.floor(completedAt.getTime() / 1000 + ttlSeconds) * 1000)
}
