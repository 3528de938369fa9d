import { createHmac } from 'node:crypto'

import type { MetadataRefreshJob, StartMetadataRefresh } from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { SourceKeys, SourceSchema, SourceTable } from '../../engine/connectors/source-catalog.js'
import type { JobHandler, JobQueue, JobRunContext, RunningJob } from '../../jobs/queue.js'
import { isTerminal } from '../../jobs/queue.js'
import { quoteIdentifier } from '../../engine/duckdb-sql.js'
import { errors, isAppError } from '../../lib/errors.js'
import { newId } from '../../lib/ids.js'
import type { Logger } from '../../lib/logger.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { JobRow } from '../../metadata/schema.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { ConnectionsService } from '../connections/connections.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { MetadataRepo, type TableKey } from './metadata.repo.js'
import { type LiveCatalog, type MetadataService, tableKeyString } from './metadata.service.js'
import { mergeColumns } from './merge.js'
import { sampleQuery, SAMPLE_VALUES } from './samples.js'

export const METADATA_REFRESH_KIND = 'metadata_refresh'

interface RefreshPayload {
  catalog: string | null
  callback_url: string | null
}

interface RefreshProgress {
  catalogs_total: number
  catalogs_done: number
  tables_total: number
  tables_done: number
  catalog: string | null
}

interface RefreshResult {
  tables: number
  missing_tables: number
  missing_columns: number
  relations: number | null
}

/** A catalog as a refresh read it: its tables and, for sources, keys and row estimates. */
export interface RefreshedCatalog {
  name: string
  kind: LiveCatalog['kind']
  schemas: SourceSchema[]
  keys: SourceKeys | undefined
}

/**
 * Runs after a refresh wrote the tables' metadata (helper E's relations detection): it gets what
 * was read and returns how many relations it keeps, if it counts them.
 */
export type RefreshHook = (input: {
  tenant: TenantContext
  projectId: string
  catalogs: readonly RefreshedCatalog[]
  signal: AbortSignal
}) => Promise<{ relations?: number } | void>

export interface MetadataRefreshOptions {
  /** Signs callbacks: each project's secret is derived from it. */
  callbackKey: Uint8Array
  logger: Logger
  /** Tables per batch: sampled in one query, written in one transaction. */
  batchTables?: number
  /** Attempts to deliver a callback, and the wait before the second one (doubling). */
  callbackAttempts?: number
  callbackRetryMs?: number
}

/** At most this many columns go into one sample query (5 values each: under the result row limit). */
const BATCH_COLUMNS = 1000
const SAMPLE_TIMEOUT_MS = 120_000
const CALLBACK_TIMEOUT_MS = 10_000

/**
 * `POST …/metadata/refresh`: a job on the queue that reads every table's columns, keys, row
 * estimates and sample values, catalog by catalog and batch by batch of tables (so 1,000 tables
 * take bounded memory), keeps what people wrote, marks what vanished, then runs the hooks
 * (relations). Ends with an optional signed callback.
 */
export class MetadataRefresh {
  readonly #hooks: RefreshHook[] = []

  constructor(
    private readonly db: MetadataDb,
    private readonly jobs: JobQueue,
    private readonly deps: {
      projects: ProjectsService
      sql: SqlService
      connections: ConnectionsService
      metadata: MetadataService
    },
    private readonly options: MetadataRefreshOptions,
  ) {}

  /** Runs after every refresh that read its catalogs, in registration order. */
  onRefreshed(hook: RefreshHook): void {
    this.#hooks.push(hook)
  }

  readonly jobHandler: JobHandler<RefreshPayload> = {
    kind: METADATA_REFRESH_KIND,
    // Not retried: a failure is reported once (and called back once) as it happened.
    retryable: false,
    run: async (job, ctx) => {
      try {
        return await this.#run(job, ctx)
      } finally {
        if (job.payload.callback_url) void this.#callBackWhenEnded(job.id, job.projectId, job.payload.callback_url)
      }
    },
    events: {
      succeeded: 'metadata.refreshed',
      failed: 'metadata.failed',
      data: (job) => ({ refresh_id: job.id, catalog: job.payload.catalog }),
    },
  }

  async start(ctx: RequestContext, projectId: string, input: StartMetadataRefresh): Promise<MetadataRefreshJob> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: 'metadata' })
    if (input.catalog !== undefined) {
      const live = await this.deps.metadata.liveCatalogs(tenant, projectId, input.catalog)
      if (live.length === 0) throw errors.notFound('catalog', input.catalog)
    }
    const payload: RefreshPayload = { catalog: input.catalog ?? null, callback_url: input.callback_url ?? null }
    const row = await this.jobs.enqueue(this.db, {
      id: newId(),
      kind: METADATA_REFRESH_KIND,
      organizationId: tenant.principal.organizationId,
      projectId,
      payload,
      caller: ctx,
    })
    return toRefreshJob(row)
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<MetadataRefreshJob> {
    const tenant = await this.deps.projects.require(ctx, projectId, 'read')
    const row = await this.jobs.find(tenant.principal.organizationId, projectId, id, METADATA_REFRESH_KIND)
    if (!row) throw errors.notFound('metadata refresh', id)
    return toRefreshJob(row)
  }

  async callbackSecret(ctx: RequestContext, projectId: string) {
    await this.deps.projects.require(ctx, projectId, { write: 'metadata' })
    return { secret: this.secretOf(projectId), header: 'X-Tributary-Signature' as const, algorithm: 'sha256' as const }
  }

  /** A project's callback secret: HMAC of its id under the instance's callback key; stable, never stored. */
  secretOf(projectId: string): string {
    return createHmac('sha256', this.options.callbackKey).update(`metadata-callback:${projectId}`).digest('hex')
  }

  async #run(job: RunningJob<RefreshPayload>, ctx: JobRunContext): Promise<Record<string, unknown>> {
    if (!job.caller) throw new Error(`metadata refresh ${job.id} has no caller to run as`)
    const caller = job.caller
    const projectId = job.projectId
    const tenant = await this.deps.projects.require(caller, projectId, { write: 'metadata' })
    // Taken before the sources are listed: a table written since then is newer than this listing.
    const stamp = new Date()
    const live = await this.deps.metadata.liveCatalogs(tenant, projectId, job.payload.catalog ?? undefined, {
      fresh: true,
    })
    if (job.payload.catalog !== null && live.length === 0) throw errors.notFound('catalog', job.payload.catalog)

    // Every source is read before anything is written: one that is down fails the job and leaves
    // the stored metadata as it was.
    const refreshed: RefreshedCatalog[] = []
    for (const catalog of live) {
      ctx.signal.throwIfAborted()
      refreshed.push(await this.#read(tenant, projectId, catalog, caller))
    }

    const progress: RefreshProgress = {
      catalogs_total: refreshed.length,
      catalogs_done: 0,
      tables_total: refreshed.reduce((sum, c) => sum + c.schemas.reduce((n, s) => n + s.tables.length, 0), 0),
      tables_done: 0,
      catalog: null,
    }
    await ctx.progress({ ...progress })
    // Sample values read data: only for callers who may run queries.
    const maySample = await this.deps.projects.require(caller, projectId, { use: 'query' }).then(
      () => true,
      () => false,
    )
    const result: RefreshResult = { tables: 0, missing_tables: 0, missing_columns: 0, relations: null }
    for (const catalog of refreshed) {
      progress.catalog = catalog.name
      const primaryKeys = new Map((catalog.keys?.primaryKeys ?? []).map((key) => [keyOf(key), new Set(key.columns)]))
      const estimates = new Map((catalog.keys?.rowEstimates ?? []).map((estimate) => [keyOf(estimate), estimate.rows]))
      for (const batch of batches(catalog, this.options.batchTables ?? 50)) {
        ctx.signal.throwIfAborted()
        const samples = maySample ? await this.#samples(caller, projectId, catalog.name, batch, ctx.signal) : undefined
        const written = await this.#write(tenant, projectId, catalog, batch, stamp, {
          primaryKeys: catalog.keys ? primaryKeys : undefined,
          estimates,
          samples,
        })
        result.tables += batch.length
        result.missing_columns += written.missingColumns
        progress.tables_done += batch.length
        await ctx.progress({ ...progress })
      }
      result.missing_tables += await new MetadataRepo(this.db).markMissing(
        tenant.principal.organizationId,
        projectId,
        catalog.name,
        stamp,
      )
      progress.catalogs_done += 1
      await ctx.progress({ ...progress })
    }
    this.deps.metadata.changed(projectId)

    for (const hook of this.#hooks) {
      const outcome = await hook({ tenant, projectId, catalogs: refreshed, signal: ctx.signal })
      if (outcome && outcome.relations !== undefined) result.relations = (result.relations ?? 0) + outcome.relations
    }
    if (this.#hooks.length) this.deps.metadata.changed(projectId)
    return { ...result }
  }

  async #read(
    tenant: TenantContext,
    projectId: string,
    catalog: LiveCatalog,
    caller: RequestContext,
  ): Promise<RefreshedCatalog> {
    if (catalog.kind === 'contributed') {
      const schemas = await this.#describeViews(caller, projectId, catalog.name, catalog.schemas ?? [])
      return { name: catalog.name, kind: catalog.kind, schemas, keys: undefined }
    }
    if (catalog.kind !== 'source' || !catalog.opened) {
      return { name: catalog.name, kind: catalog.kind, schemas: catalog.schemas ?? [], keys: undefined }
    }
    const { connections } = this.deps
    const { catalog: listing } = await connections.refreshCatalog(catalog.opened)
    const keys = await connections.describeKeys(catalog.opened)
    return { name: catalog.name, kind: catalog.kind, schemas: listing.schemas, keys }
  }

  /**
   * Views listed without columns (the `queries` catalog: a saved query's columns are known only by
   * planning it) get them from the planner, one view at a time. A view that cannot be planned (a
   * required parameter, a source gone) keeps no columns rather than failing the refresh.
   */
  async #describeViews(
    caller: RequestContext,
    projectId: string,
    catalog: string,
    schemas: readonly SourceSchema[],
  ): Promise<SourceSchema[]> {
    const described: SourceSchema[] = []
    for (const schema of schemas) {
      const tables: SourceTable[] = []
      for (const table of schema.tables) {
        if (table.kind !== 'view' || table.columns.length > 0) {
          tables.push(table)
          continue
        }
        const name = [catalog, schema.name, table.name].map(quoteIdentifier).join('.')
        const columns = await this.deps.sql
          .describeLineage(caller, projectId, `SELECT * FROM ${name}`)
          .catch((error: unknown) => {
            const where = { catalog, schema: schema.name, table: table.name }
            this.options.logger.warn({ err: error, ...where }, 'could not plan a view')
            return []
          })
        tables.push({
          ...table,
          columns: columns.map((column) => ({
            name: column.name,
            type: column.type,
            source_type: column.type,
            nullable: true,
            lineage: column.lineage ? [column.lineage] : [],
          })),
        })
      }
      described.push({ ...schema, tables })
    }
    return described
  }

  /**
   * A few distinct non-null values of every column of a batch of tables, in one query per batch
   * (each table read once, its first rows only). A batch the engine refuses is tried table by table;
   * a table that still fails keeps the samples it had.
   */
  async #samples(
    caller: RequestContext,
    projectId: string,
    catalog: string,
    batch: readonly { schema: string; table: SourceTable }[],
    signal: AbortSignal,
  ): Promise<Map<string, Map<string, string[]>>> {
    const found = new Map<string, Map<string, string[]>>()
    const run = async (tables: readonly { schema: string; table: SourceTable }[]) => {
      const query = sampleQuery(catalog, tables)
      if (!query) return
      const result = await this.deps.sql.run(
        caller,
        projectId,
        { sql: query.sql, limit: 10_000, timeout_ms: SAMPLE_TIMEOUT_MS },
        signal,
      )
      for (const [tableIndex, column, value] of result.rows as [number, string, string][]) {
        const entry = query.tables[Number(tableIndex)]
        if (!entry) continue
        const id = tableKeyString({ catalog, schema: entry.schema, table: entry.table })
        const columns = found.get(id) ?? new Map<string, string[]>()
        const values = columns.get(column) ?? []
        if (values.length < SAMPLE_VALUES) values.push(String(value))
        columns.set(column, values)
        found.set(id, columns)
      }
      // Columns with no value at all (empty tables, all NULL) have none, rather than keeping old ones.
      for (const entry of query.tables) {
        const id = tableKeyString({ catalog, schema: entry.schema, table: entry.table })
        const columns = found.get(id) ?? new Map<string, string[]>()
        for (const column of entry.columns) if (!columns.has(column)) columns.set(column, [])
        found.set(id, columns)
      }
    }
    try {
      await run(batch)
    } catch (error) {
      if (isAppError(error) && error.code === 'connection_error') throw error
      for (const one of batch) {
        try {
          await run([one])
        } catch (inner) {
          if (isAppError(inner) && inner.code === 'connection_error') throw inner
          this.options.logger.warn(
            { err: inner, catalog, schema: one.schema, table: one.table.name },
            'could not read sample values of a table',
          )
        }
      }
    }
    return found
  }

  async #write(
    tenant: TenantContext,
    projectId: string,
    catalog: RefreshedCatalog,
    batch: readonly { schema: string; table: SourceTable }[],
    stamp: Date,
    detected: {
      primaryKeys: Map<string, Set<string>> | undefined
      estimates: Map<string, number | null>
      samples: Map<string, Map<string, string[]>> | undefined
    },
  ): Promise<{ missingColumns: number }> {
    const organizationId = tenant.principal.organizationId
    const keys: TableKey[] = batch.map(({ schema, table }) => ({ catalog: catalog.name, schema, table: table.name }))
    let missingColumns = 0
    await this.db.transaction().execute(async (trx) => {
      const repo = new MetadataRepo(trx)
      const stored = new Map(
        (await repo.rows(organizationId, projectId, keys, { lock: true })).map((row) => [
          tableKeyString({ catalog: row.catalog, schema: row.schema_name, table: row.table_name }),
          row,
        ]),
      )
      const tables =
        catalog.kind === 'contributed' ? await describedByLineage(repo, organizationId, projectId, batch) : batch
      for (const [index, { schema, table }] of tables.entries()) {
        const key = keys[index]!
        const id = tableKeyString(key)
        const previous = stored.get(id)
        const sourceKey = keyOf({ schema, table: table.name })
        const columns = mergeColumns(table.columns, previous?.columns, {
          primaryKey: detected.primaryKeys ? (detected.primaryKeys.get(sourceKey) ?? new Set()) : undefined,
          samples: detected.samples?.get(id),
        })
        missingColumns += columns.filter((column) => column.missing).length
        const estimate = detected.estimates.get(sourceKey)
        await repo.upsert(organizationId, projectId, key, {
          description: previous?.description ?? null,
          description_source: previous?.description_source ?? null,
          use_with_ai: previous?.use_with_ai ?? null,
          row_estimate: estimate === undefined ? (previous?.row_estimate ?? null) : estimate,
          columns,
          status: 'present',
          refreshed_at: stamp,
        })
      }
    })
    return { missingColumns }
  }

  /** Waits for the queue to record how the job ended, then tells `url`, signed. Never throws. */
  async #callBackWhenEnded(jobId: string, projectId: string, url: string): Promise<void> {
    const log = this.options.logger.child({ job_id: jobId, component: 'metadata-callback' })
    try {
      let row: JobRow | undefined
      const deadline = Date.now() + 60_000
      for (;;) {
        row = await this.jobs.get(jobId)
        if (!row || isTerminal(row.status) || row.status === 'queued' || Date.now() > deadline) break
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      // Handed back to the queue (server stopping): the run that finishes it calls back.
      if (!row || !isTerminal(row.status)) return
      const job = toRefreshJob(row)
      const body = JSON.stringify({
        event: 'metadata.refresh',
        job_id: job.id,
        project_id: job.project_id,
        status: job.status,
        ...(job.error ? { error: job.error } : {}),
        ...(job.result ? { result: job.result } : {}),
        ended_at: job.ended_at,
      })
      const signature = `sha256=${createHmac('sha256', this.secretOf(projectId)).update(body).digest('hex')}`
      const attempts = this.options.callbackAttempts ?? 3
      let wait = this.options.callbackRetryMs ?? 1_000
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-tributary-signature': signature },
            body,
            redirect: 'manual',
            signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
          })
          await response.body?.cancel().catch(() => undefined)
          if (response.status < 500) {
            log.info({ status: response.status }, 'metadata refresh callback delivered')
            return
          }
          log.warn({ status: response.status, attempt }, 'metadata refresh callback refused')
        } catch (error) {
          log.warn({ err: error, attempt }, 'metadata refresh callback failed')
        }
        if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, wait))
        wait *= 2
      }
    } catch (error) {
      log.warn({ err: error }, 'metadata refresh callback not sent')
    }
  }
}

const keyOf = (entry: { schema: string; table: string }): string => JSON.stringify([entry.schema, entry.table])

/**
 * A view's columns that pass a table column on unchanged, and say nothing themselves, take that
 * column's description (written by a person or detected): a semantic table explains itself with what
 * is known of the tables below it. Sources are refreshed before the catalogs built on them.
 */
async function describedByLineage(
  repo: MetadataRepo,
  organizationId: string,
  projectId: string,
  batch: readonly { schema: string; table: SourceTable }[],
): Promise<{ schema: string; table: SourceTable }[]> {
  const below = new Map<string, TableKey>()
  for (const { table } of batch) {
    for (const column of table.columns) {
      for (const from of column.lineage ?? []) {
        below.set(tableKeyString(from), { catalog: from.catalog, schema: from.schema, table: from.table })
      }
    }
  }
  if (below.size === 0) return [...batch]
  const columnKey = (table: TableKey, column: string) =>
    JSON.stringify([table.catalog, table.schema, table.table, column])
  const descriptions = new Map<string, string>()
  for (const row of await repo.rows(organizationId, projectId, [...below.values()])) {
    const table = { catalog: row.catalog, schema: row.schema_name, table: row.table_name }
    for (const column of row.columns) {
      if (column.description && !column.missing) descriptions.set(columnKey(table, column.name), column.description)
    }
  }
  return batch.map(({ schema, table }) => ({
    schema,
    table: {
      ...table,
      columns: table.columns.map((column) => {
        const from = column.lineage?.length === 1 ? column.lineage[0]! : undefined
        const description = from && descriptions.get(columnKey(from, from.column))
        return column.description || !description ? column : { ...column, description }
      }),
    },
  }))
}

/** The tables of a catalog in batches of at most `size` tables and BATCH_COLUMNS columns. */
function* batches(catalog: RefreshedCatalog, size: number): Generator<{ schema: string; table: SourceTable }[]> {
  let batch: { schema: string; table: SourceTable }[] = []
  let columns = 0
  for (const schema of catalog.schemas) {
    for (const table of schema.tables) {
      if (batch.length && (batch.length >= size || columns + table.columns.length > BATCH_COLUMNS)) {
        yield batch
        batch = []
        columns = 0
      }
      batch.push({ schema: schema.name, table })
      columns += table.columns.length
    }
  }
  if (batch.length) yield batch
}

export function toRefreshJob(row: JobRow): MetadataRefreshJob {
  const payload = row.payload as unknown as RefreshPayload
  const error = row.status === 'succeeded' ? null : (row.error as { code: string; message: string } | null)
  return {
    id: row.id,
    project_id: row.project_id,
    status: row.status,
    catalog: payload.catalog,
    callback_url: payload.callback_url,
    progress: (row.progress as unknown as RefreshProgress | null) ?? null,
    result: row.status === 'succeeded' ? ((row.result as unknown as RefreshResult | null) ?? null) : null,
    ...(error ? { error } : {}),
    created_at: toIso(row.created_at),
    started_at: toIsoOrNull(row.started_at),
    ended_at: toIsoOrNull(row.ended_at),
  }
}
