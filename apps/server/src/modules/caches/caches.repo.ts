import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { CacheProgress, CacheRow, CacheRunRow, CacheStatus, StoredSchedule } from '../../metadata/schema.js'

export interface NewCache {
  organization_id: string
  project_id: string
  connection_id: string
  catalog: string
  schema_name: string
  table_name: string
  incremental: { cursor_column: string; primary_key: string[] | null; soft_delete_column: string | null } | null
  full_refresh_schedule: StoredSchedule
  incremental_schedule: StoredSchedule
}

/** What a completed refresh makes current. */
export interface CompletedVersion {
  version_id: string
  row_count: number
  columns: string[]
  cursor_value: string | null
  progress: CacheProgress
}

export type RunEnd = Exclude<CacheStatus, 'NOT_INITIALIZED' | 'RUNNING'>

/** A refresh still holds a cache while its job is queued or running. */
const jobActive = (jobId: ReturnType<typeof sql.ref>) =>
  sql<boolean>`exists (select 1 from jobs where jobs.id = ${jobId} and jobs.status in ('queued', 'running'))`

export class CachesRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewCache): Promise<CacheRow> {
    return this.db
      .insertInto('caches')
      .values({
        id: newId(),
        ...values,
        incremental: values.incremental && JSON.stringify(values.incremental),
        full_refresh_schedule: JSON.stringify(values.full_refresh_schedule),
        incremental_schedule: JSON.stringify(values.incremental_schedule),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async find(organizationId: string, projectId: string, id: string): Promise<CacheRow | undefined> {
    return this.#ofProject(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  async list(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    let query = this.#ofProject(organizationId, projectId).selectAll()
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async summary(organizationId: string, projectId: string, filter: { catalog?: string; schema?: string }) {
    let query = this.#ofProject(organizationId, projectId).selectAll()
    if (filter.catalog !== undefined) query = query.where('catalog', '=', filter.catalog)
    if (filter.schema !== undefined) query = query.where('schema_name', '=', filter.schema)
    return query.orderBy('catalog').orderBy('schema_name').orderBy('table_name').execute()
  }

  /** The caches of some catalogs of a project that have a readable copy. */
  async readable(projectId: string, catalogs: readonly string[]): Promise<CacheRow[]> {
    if (catalogs.length === 0) return []
    return this.db
      .selectFrom('caches')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('catalog', 'in', catalogs)
      .where('version_id', 'is not', null)
      .execute()
  }

  async setSchedules(
    id: string,
    schedules: { full_refresh_schedule?: StoredSchedule; incremental_schedule?: StoredSchedule },
  ): Promise<CacheRow | undefined> {
    return this.db
      .updateTable('caches')
      .set({
        ...(schedules.full_refresh_schedule
          ? { full_refresh_schedule: JSON.stringify(schedules.full_refresh_schedule) }
          : {}),
        ...(schedules.incremental_schedule
          ? { incremental_schedule: JSON.stringify(schedules.incremental_schedule) }
          : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('caches').where('id', '=', id).execute()
  }

  /** The caches made of one connection, in any state. */
  async ofConnection(connectionId: string): Promise<CacheRow[]> {
    return this.db.selectFrom('caches').selectAll().where('connection_id', '=', connectionId).execute()
  }

  /**
   * Makes `jobId` the cache's refresh unless another refresh's job is still queued or running: at
   * most one refresh writes a cache at a time. False when another one holds it (or the cache is gone).
   * A refresh lets go when it records its end, before the queue records its job's: a cache that reads
   * COMPLETED, FAILED or CANCELLED takes a new refresh at once.
   */
  async claim(id: string, jobId: string): Promise<boolean> {
    const claimed = await this.db
      .updateTable('caches')
      .set({ status: 'RUNNING', job_id: jobId, updated_at: sql`now()` })
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb('status', '<>', 'RUNNING'),
          eb('job_id', 'is', null),
          eb('job_id', '=', jobId),
          eb.not(jobActive(sql.ref('caches.job_id'))),
        ]),
      )
      .returning('id')
      .executeTakeFirst()
    return claimed !== undefined
  }

  /**
   * Switches readers to the new version, if the refresh still owns the cache and no one asked to
   * cancel it; returns the version it replaced. Call it in a transaction: the job's row stays locked
   * until the switch commits, so a cancel recorded before is seen here and one recorded after comes too late.
   */
  async complete(
    id: string,
    jobId: string,
    version: CompletedVersion,
  ): Promise<{ replaced: string | null } | 'cancelled' | undefined> {
    const job = await this.db
      .selectFrom('jobs')
      .select('cancel_requested_at')
      .where('id', '=', jobId)
      .forUpdate()
      .executeTakeFirst()
    if (job?.cancel_requested_at) return 'cancelled'
    const previous = await this.db
      .selectFrom('caches')
      .select('version_id')
      .where('id', '=', id)
      .where('job_id', '=', jobId)
      .forUpdate()
      .executeTakeFirst()
    if (!previous) return undefined
    await this.db
      .updateTable('caches')
      .set({
        status: 'COMPLETED',
        version_id: version.version_id,
        row_count: version.row_count,
        columns: JSON.stringify(version.columns),
        cursor_value: version.cursor_value,
        progress: JSON.stringify(version.progress),
        refreshed_at: sql`now()`,
        consecutive_failures: 0,
        error: null,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .execute()
    return { replaced: previous.version_id }
  }

  async progress(id: string, jobId: string, progress: CacheProgress): Promise<void> {
    await this.db
      .updateTable('caches')
      .set({ progress: JSON.stringify(progress), updated_at: sql`now()` })
      .where('id', '=', id)
      .where('job_id', '=', jobId)
      .execute()
  }

  /** A refresh that ended without a new version: the current one stays readable. */
  async ended(id: string, jobId: string, status: RunEnd, error: { code: string; message: string } | null) {
    await this.db
      .updateTable('caches')
      .set({
        status,
        error: error && JSON.stringify(error),
        ...(status === 'FAILED' ? { consecutive_failures: sql`consecutive_failures + 1` } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .where('job_id', '=', jobId)
      .execute()
  }

  /** The run of a job: a retried job goes on with the run it started. */
  async startRun(values: {
    cache_id: string
    job_id: string
    mode: 'full' | 'incremental'
    trigger: 'manual' | 'schedule'
    scheduled_for: string | null
  }): Promise<string> {
    const existing = await this.db
      .selectFrom('cache_runs')
      .select('id')
      .where('job_id', '=', values.job_id)
      .executeTakeFirst()
    const startedAt = new Date()
    if (existing) {
      await this.db
        .updateTable('cache_runs')
        .set({ status: 'RUNNING', started_at: startedAt, ended_at: null, error: null })
        .where('id', '=', existing.id)
        .execute()
      return existing.id
    }
    const id = newId()
    await this.db
      .insertInto('cache_runs')
      .values({ id, ...values, status: 'RUNNING', started_at: startedAt })
      .execute()
    return id
  }

  async endRun(
    id: string,
    values: {
      status: RunEnd
      counts?: Omit<CacheProgress, 'mode'> | undefined
      row_count?: number | null
      cursor_value?: string | null
      error?: { code: string; message: string } | null
    },
  ): Promise<void> {
    await this.db
      .updateTable('cache_runs')
      .set({
        status: values.status,
        ended_at: sql`now()`,
        ...(values.counts
          ? {
              rows_inserted: values.counts.rows_inserted,
              rows_updated: values.counts.rows_updated,
              rows_deleted: values.counts.rows_deleted,
            }
          : {}),
        row_count: values.row_count ?? null,
        cursor_value: values.cursor_value ?? null,
        error: values.error ? JSON.stringify(values.error) : null,
      })
      .where('id', '=', id)
      .execute()
  }

  async runs(cacheId: string, limit: number): Promise<(CacheRunRow & { job_status: string | null })[]> {
    return this.db
      .selectFrom('cache_runs')
      .leftJoin('jobs', 'jobs.id', 'cache_runs.job_id')
      .selectAll('cache_runs')
      .select('jobs.status as job_status')
      .where('cache_runs.cache_id', '=', cacheId)
      .orderBy('cache_runs.started_at', 'desc')
      .limit(limit)
      .execute()
  }

  #ofProject(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('caches')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
  }
}
