import { existsSync } from 'node:fs'

import { createConnection } from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  createUserSession,
  STORE_KINDS,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'

/**
 * Caches of tables of PostgreSQL (`pg`) and MariaDB (`my`): full and incremental refreshes with
 * inserts, updates and deletes at the source between them, reading the copy (and `fresh`), readers
 * during a refresh, schedules, cancel and delete mid-refresh, and the refusals.
 */

interface CacheBody {
  id: string
  status: string
  row_count: number | null
  cursor_value: string | null
  progress: { mode: string; rows_inserted: number; rows_updated: number; rows_deleted: number } | null
  consecutive_failures: number
  error: { code: string; message: string } | null
  job_id: string | null
  next_full_refresh_at: string | null
}

const skipReason = (await serviceSkipReason('postgres')) ?? (await serviceSkipReason('mysql'))

for (const kind of STORE_KINDS) {
  const storeSkip = kind === 'postgres' ? inject('postgresSkipReason') : null
  const why = skipReason ?? storeSkip
  describe.skipIf(why !== null)(
    `caches of PostgreSQL and MariaDB tables [metadata in ${kind}]${why ? ` [skipped: ${why}]` : ''}`,
    () => {
      let sources: ChinookSources
      let app: TestApp
      let orgKey: string
      let projectId: string
      let pgClient: pg.Client
      let my: Awaited<ReturnType<typeof createConnection>>
      const base = () => `${API}/projects/${projectId}/caches`
      /** Where each source keeps the test's tables. */
      const schemaOf = (catalog: string) => (catalog === 'pg' ? 'public' : sources.mysql!.database)
      /** Runs the same statement at either source (both accept this SQL). */
      const atSource = async (catalog: string, statement: string) => {
        if (catalog === 'pg') await pgClient.query(statement)
        else await my.query(statement)
      }

      const sql = async (text: string, extra: Record<string, unknown> = {}) => {
        const result = await app.request('POST', `${API}/projects/${projectId}/sql`, {
          key: orgKey,
          body: { sql: text, limit: 10_000, ...extra },
        })
        expect(result.status, JSON.stringify(result.body)).toBe(200)
        return result.body as {
          rows: unknown[][]
          stats: { sources: { remote_sql: string; cached?: boolean; cached_age_seconds?: number }[] }
        }
      }

      const create = async (body: Record<string, unknown>): Promise<CacheBody> => {
        const created = await app.request('POST', base(), { key: orgKey, body })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        return created.body as CacheBody
      }

      const settle = async (id: string): Promise<CacheBody> => {
        const deadline = Date.now() + 60_000
        for (;;) {
          const found = await app.request('GET', `${base()}/${id}`, { key: orgKey })
          expect(found.status, JSON.stringify(found.body)).toBe(200)
          if (found.body.status !== 'RUNNING') return found.body as CacheBody
          if (Date.now() > deadline) throw new Error(`cache ${id} still refreshing: ${JSON.stringify(found.body)}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }

      const refresh = async (id: string, mode: 'full' | 'incremental'): Promise<CacheBody> => {
        const started = await app.request('POST', `${base()}/${id}/refresh`, { key: orgKey, body: { mode } })
        expect(started.status, JSON.stringify(started.body)).toBe(202)
        expect(started.body.status).toBe('RUNNING')
        return settle(id)
      }

      beforeAll(async () => {
        sources = await loadChinook()
        if (!sources.postgres || !sources.mysql) {
          throw new Error(`Chinook could not be loaded: ${sources.skipReasons.join('; ')}`)
        }
        pgClient = new pg.Client({ ...sources.postgres, ssl: false })
        await pgClient.connect()
        my = await createConnection({ ...sources.mysql, ssl: undefined, multipleStatements: true })
        for (const catalog of ['pg', 'my']) {
          await atSource(
            catalog,
            'create table items (id int primary key, name varchar(50), updated_at int not null, deleted boolean not null)',
          )
          await atSource(
            catalog,
            "insert into items values (1, 'one', 1, false), (2, 'two', 1, false), (3, 'three', 1, false)",
          )
          await atSource(catalog, 'create table bulk (id int primary key, batch int not null)')
          await atSource(catalog, 'insert into bulk select n, 0 from (select 1 as n) one')
        }
        // Each row takes a while to read: a refresh of this view lasts seconds.
        await pgClient.query(`
        create function slow_id(i int) returns int language sql as $$ select pg_sleep(0.2); select i $$;
        create view slow_rows as select slow_id(n) as id from generate_series(1, 100) n`)
        app = await startTestApp(kind, { env: { TRIBUTARY_JOB_POLL_INTERVAL_MS: '50' } })
        orgKey = (await createOrganization(app, 'Caches')).orgKey
        projectId = (await createProject(app, orgKey, 'Cached')).id
        const connections = [
          { name: 'PostgreSQL', type: 'postgresql', config: sources.postgres, catalog: 'pg' },
          { name: 'MariaDB', type: 'mysql', config: sources.mysql, catalog: 'my' },
        ]
        for (const body of connections) {
          const created = await app.request('POST', `${API}/projects/${projectId}/connections`, { key: orgKey, body })
          expect(created.status, JSON.stringify(created.body)).toBe(201)
        }
      }, 120_000)

      afterAll(async () => {
        await app?.close()
        await pgClient?.end()
        await my?.end()
        await sources?.cleanup()
      })

      for (const catalog of ['pg', 'my']) {
        it(`${catalog}: full and incremental refreshes follow inserts, updates and deletes`, async () => {
          const schema = schemaOf(catalog)
          const items = `${catalog}."${schema}".items`
          const cache = await create({
            catalog,
            schema,
            table: 'items',
            incremental: { cursor_column: 'updated_at', primary_key: 'id', soft_delete_column: 'deleted' },
          })
          expect(cache.status).toBe('NOT_INITIALIZED')
          // Never completed: not used.
          expect((await sql(`SELECT count(*) FROM ${items}`)).stats.sources[0]!.cached).toBeUndefined()

          const full = await refresh(cache.id, 'full')
          expect(full).toMatchObject({ status: 'COMPLETED', row_count: 3, cursor_value: '1', consecutive_failures: 0 })
          const read = await sql(`SELECT id, name FROM ${items} ORDER BY id`)
          expect(read.rows).toEqual([
            [1, 'one'],
            [2, 'two'],
            [3, 'three'],
          ])
          expect(read.stats.sources[0]).toMatchObject({ cached: true, cached_age_seconds: expect.any(Number) })

          await atSource(catalog, "insert into items values (4, 'four', 2, false)")
          await atSource(catalog, "update items set name = 'TWO', updated_at = 2 where id = 2")
          await atSource(catalog, 'update items set deleted = true, updated_at = 2 where id = 3')
          await atSource(catalog, 'delete from items where id = 1')
          // The copy until the next refresh; the source with `fresh`.
          expect((await sql(`SELECT count(*) FROM ${items}`)).rows).toEqual([[3]])
          const fresh = await sql(`SELECT id, name FROM ${items} WHERE CAST(deleted AS INTEGER) = 0 ORDER BY id`, {
            fresh: true,
          })
          expect(fresh.rows).toEqual([
            [2, 'TWO'],
            [4, 'four'],
          ])
          expect(fresh.stats.sources[0]!.cached).toBeUndefined()

          const incremental = await refresh(cache.id, 'incremental')
          expect(incremental).toMatchObject({
            status: 'COMPLETED',
            cursor_value: '2',
            progress: { mode: 'incremental', rows_inserted: 1, rows_updated: 1, rows_deleted: 1 },
          })
          // The hard-deleted row 1 stays until a full refresh; the soft-deleted row 3 is gone.
          expect((await sql(`SELECT id, name FROM ${items} ORDER BY id`)).rows).toEqual([
            [1, 'one'],
            [2, 'TWO'],
            [4, 'four'],
          ])
          const history = await app.request('GET', `${base()}/${cache.id}/history`, { key: orgKey })
          expect(history.status).toBe(200)
          expect(history.body.data.map((run: { mode: string; trigger: string }) => [run.mode, run.trigger])).toEqual([
            ['incremental', 'manual'],
            ['full', 'manual'],
          ])
          const job = await app.tributary.platform.jobs.get(incremental.job_id!)
          // The cursor filter ran at the source.
          expect(JSON.stringify(job!.result)).toMatch(/updated_at.{0,4} > 1/)

          const again = await refresh(cache.id, 'full')
          expect(again.row_count).toBe(3)
          expect((await sql(`SELECT id FROM ${items} WHERE CAST(deleted AS INTEGER) = 0 ORDER BY id`)).rows).toEqual([
            [2],
            [4],
          ])
        })
      }

      it('pushes the cursor filter down to the source', async () => {
        const cache = await create({
          catalog: 'pg',
          schema: 'public',
          table: 'bulk',
          incremental: { cursor_column: 'id', primary_key: ['id'] },
        })
        await refresh(cache.id, 'full')
        await pgClient.query('insert into bulk values (2, 1), (3, 1)')
        const done = await refresh(cache.id, 'incremental')
        expect(done.progress).toMatchObject({ rows_inserted: 2, rows_updated: 0 })
        // The cache reads refreshed before the queue has stored the job's result: wait for the job.
        const job = await waitForJob(done.job_id!, 'succeeded')
        expect((job.result as { remote_sql: string[] }).remote_sql[0]).toMatch(/WHERE.*"id" > 1/)

        // A refresh records its end before the queue records its job's: in between, a new refresh is taken.
        const jobs = app.tributary.platform.db.updateTable('jobs').where('id', '=', job.id)
        await jobs.set({ status: 'running' }).execute()
        try {
          expect(await refresh(cache.id, 'incremental')).toMatchObject({ status: 'COMPLETED' })
        } finally {
          await jobs.set({ status: 'succeeded' }).execute()
        }
        await app.request('DELETE', `${base()}/${cache.id}`, { key: orgKey })
      })

      it('answers queries the same before and after caching', async () => {
        const query = `SELECT a."Name", count(*) AS albums FROM my."${sources.mysql!.database}"."Artist" a
        JOIN my."${sources.mysql!.database}"."Album" b ON a."ArtistId" = b."ArtistId"
        GROUP BY a."Name" ORDER BY albums DESC, a."Name" LIMIT 20`
        const before = await sql(query)
        const artist = await create({ catalog: 'my', schema: sources.mysql!.database, table: 'Artist' })
        await refresh(artist.id, 'full')
        const after = await sql(query)
        expect(after.rows).toEqual(before.rows)
        expect(after.stats.sources.some((source) => source.cached)).toBe(true)
      })

      it('shows readers the old copy or the new one during a full refresh, never a mix', async () => {
        const cache = await create({ catalog: 'my', schema: sources.mysql!.database, table: 'bulk' })
        await refresh(cache.id, 'full')
        await my.query('insert into bulk select n, 2 from (select seq as n from seq_2_to_20000) s')
        const counts = new Set<string>()
        const started = await app.request('POST', `${base()}/${cache.id}/refresh`, { key: orgKey, body: {} })
        expect(started.status).toBe(202)
        for (;;) {
          const read = await sql(`SELECT count(*), count(DISTINCT batch) FROM my."${sources.mysql!.database}".bulk`)
          counts.add(JSON.stringify(read.rows[0]))
          const now = await app.request('GET', `${base()}/${cache.id}`, { key: orgKey })
          if (now.body.status !== 'RUNNING') break
        }
        const final = await sql(`SELECT count(*), count(DISTINCT batch) FROM my."${sources.mysql!.database}".bulk`)
        counts.add(JSON.stringify(final.rows[0]))
        for (const seen of counts) expect(['[1,1]', '[20000,2]']).toContain(seen)
        expect(counts.has('[20000,2]')).toBe(true)
      })

      it('cancels a refresh, keeping the last copy, and deleting mid-refresh removes the files', async () => {
        const cache = await create({ catalog: 'pg', schema: 'public', table: 'slow_rows' })
        const started = await app.request('POST', `${base()}/${cache.id}/refresh`, { key: orgKey, body: {} })
        expect(started.status).toBe(202)
        // A second refresh waits for none: refused while one is under way.
        const second = await app.request('POST', `${base()}/${cache.id}/refresh`, { key: orgKey, body: {} })
        expect(second.status).toBe(409)
        await waitForJob(started.body.job_id, 'running')
        const cancelled = await app.request('POST', `${base()}/${cache.id}/cancel`, { key: orgKey })
        expect(cancelled.status).toBe(200)
        expect(await settle(cache.id)).toMatchObject({ status: 'CANCELLED', row_count: null })

        const restarted = await app.request('POST', `${base()}/${cache.id}/refresh`, { key: orgKey, body: {} })
        expect(restarted.status).toBe(202)
        await waitForJob(restarted.body.job_id, 'running')
        const store = app.tributary.platform.snapshotStore
        const dir = store.location('caches', projectId, cache.id).dir
        expect(existsSync(dir)).toBe(true)
        // No reader to wait for here: files go as soon as the cache does.
        const grace = store.retireGraceMs
        store.retireGraceMs = 0
        try {
          const deleted = await app.request('DELETE', `${base()}/${cache.id}`, { key: orgKey })
          expect(deleted.status).toBe(204)
          expect((await waitForJob(restarted.body.job_id, 'cancelled')).status).toBe('cancelled')
          await eventually(() => expect(existsSync(dir)).toBe(false))
        } finally {
          store.retireGraceMs = grace
        }
        expect((await app.request('GET', `${base()}/${cache.id}`, { key: orgKey })).status).toBe(404)
      })

      it('runs refreshes on their schedule', async () => {
        const cache = await create({
          catalog: 'pg',
          schema: 'public',
          table: 'artist',
          full_refresh_schedule: { type: 'interval', every: 'PT1H' },
        })
        expect(cache.next_full_refresh_at).not.toBeNull()
        const claimed = await app.tributary.platform.scheduler.tick(new Date(Date.now() + 2 * 3_600_000))
        expect(claimed).toBeGreaterThanOrEqual(1)
        await eventually(async () => {
          const found = await app.request('GET', `${base()}/${cache.id}`, { key: orgKey })
          expect(found.body.status).toBe('COMPLETED')
        })
        const history = await app.request('GET', `${base()}/${cache.id}/history`, { key: orgKey })
        expect(history.body.data[0]).toMatchObject({ mode: 'full', trigger: 'schedule', status: 'COMPLETED' })
        const stopped = await app.request('PUT', `${base()}/${cache.id}`, {
          key: orgKey,
          body: { full_refresh_schedule: { type: 'none' } },
        })
        expect(stopped.status).toBe(200)
        expect(stopped.body.next_full_refresh_at).toBeNull()
      })

      it('keeps the last good copy when refreshes fail, counts failures in a row, and skips a copy missing columns', async () => {
        await pgClient.query("create table fragile (id int primary key, v text); insert into fragile values (1, 'a')")
        const catalogRefresh = () =>
          app.request('POST', `${API}/projects/${projectId}/catalogs/pg/refresh`, { key: orgKey, body: {} })
        expect((await catalogRefresh()).status).toBe(200)
        const cache = await create({ catalog: 'pg', schema: 'public', table: 'fragile' })
        await refresh(cache.id, 'full')
        await pgClient.query('alter table fragile rename to fragile_gone')
        for (const failures of [1, 2, 3]) {
          const failed = await refresh(cache.id, 'full')
          expect(failed).toMatchObject({ status: 'FAILED', consecutive_failures: failures, row_count: 1 })
          expect(failed.error?.message).toMatch(/fragile/)
        }
        const read = await sql('SELECT id, v FROM pg.public.fragile')
        expect(read.rows).toEqual([[1, 'a']])
        expect(read.stats.sources[0]!.cached).toBe(true)
        const summary = await app.request('GET', `${base()}/status?catalog=pg`, { key: orgKey })
        expect(summary.body.failing).toBeGreaterThanOrEqual(1)
        expect(summary.body.by_status.FAILED).toBeGreaterThanOrEqual(1)

        await pgClient.query('alter table fragile_gone rename to fragile; alter table fragile add column w int')
        expect((await catalogRefresh()).status).toBe(200)
        // The copy lacks `w`: the source answers until a refresh copies it.
        const uncached = await sql('SELECT id, w FROM pg.public.fragile')
        expect(uncached.rows).toEqual([[1, null]])
        expect(uncached.stats.sources[0]!.cached).toBeUndefined()
        expect(await refresh(cache.id, 'full')).toMatchObject({ status: 'COMPLETED', consecutive_failures: 0 })
        expect((await sql('SELECT id, w FROM pg.public.fragile')).stats.sources[0]!.cached).toBe(true)
      })

      it("deletes a connection's caches with it, and does not hand a copy to another connection given its name", async () => {
        const connect = async (catalog: string) => {
          const created = await app.request('POST', `${API}/projects/${projectId}/connections`, {
            key: orgKey,
            body: { name: `Again ${Math.random()}`, type: 'postgresql', config: sources.postgres, catalog },
          })
          expect(created.status, JSON.stringify(created.body)).toBe(201)
          return created.body.id as string
        }
        const first = await connect('again')
        const cache = await create({
          catalog: 'again',
          schema: 'public',
          table: 'bulk',
          full_refresh_schedule: { type: 'interval', every: 'PT1H' },
        })
        await refresh(cache.id, 'full')
        expect((await sql('SELECT count(*) FROM again.public.bulk')).stats.sources[0]!.cached).toBe(true)
        const slow = await create({ catalog: 'again', schema: 'public', table: 'slow_rows' })
        const started = await app.request('POST', `${base()}/${slow.id}/refresh`, { key: orgKey, body: {} })
        expect(started.status).toBe(202)
        await waitForJob(started.body.job_id, 'running')
        const store = app.tributary.platform.snapshotStore
        const dir = store.location('caches', projectId, cache.id).dir
        expect(existsSync(dir)).toBe(true)
        const grace = store.retireGraceMs
        store.retireGraceMs = 0
        try {
          const removed = await app.request('DELETE', `${API}/projects/${projectId}/connections/${first}`, {
            key: orgKey,
          })
          expect(removed.status, JSON.stringify(removed.body)).toBe(204)
          // Gone with it: not listed, not found, no schedule, no refresh under way, no files.
          for (const id of [cache.id, slow.id]) {
            expect((await app.request('GET', `${base()}/${id}`, { key: orgKey })).status).toBe(404)
          }
          const listed = await app.request('GET', `${base()}?limit=200`, { key: orgKey })
          expect(listed.body.data.map((entry: { id: string }) => entry.id)).not.toContain(cache.id)
          const summary = await app.request('GET', `${base()}/status?catalog=again`, { key: orgKey })
          expect(summary.body.total).toBe(0)
          expect(await app.tributary.platform.scheduler.get('caches.refresh', `${cache.id}:full`)).toBeUndefined()
          expect((await waitForJob(started.body.job_id, 'cancelled')).status).toBe('cancelled')
          await eventually(() => expect(existsSync(dir)).toBe(false))
        } finally {
          store.retireGraceMs = grace
        }

        // Another connection given the name is another source: it is read, and starts with no cache.
        await connect('again')
        expect((await sql('SELECT count(*) FROM again.public.bulk')).stats.sources[0]!.cached).toBeUndefined()
        const again = await create({ catalog: 'again', schema: 'public', table: 'bulk' })
        expect(again.status).toBe('NOT_INITIALIZED')
      })

      it('refuses to refresh a cache whose catalog name now belongs to another connection', async () => {
        const connect = async (catalog: string) => {
          const created = await app.request('POST', `${API}/projects/${projectId}/connections`, {
            key: orgKey,
            body: { name: `Renamed ${Math.random()}`, type: 'postgresql', config: sources.postgres, catalog },
          })
          expect(created.status, JSON.stringify(created.body)).toBe(201)
          return created.body.id as string
        }
        const first = await connect('moved')
        const cache = await create({ catalog: 'moved', schema: 'public', table: 'bulk' })
        await refresh(cache.id, 'full')
        const renamed = await app.request('PATCH', `${API}/projects/${projectId}/connections/${first}`, {
          key: orgKey,
          body: { catalog: 'moved_away' },
        })
        expect(renamed.status, JSON.stringify(renamed.body)).toBe(200)
        await connect('moved')
        expect((await sql('SELECT count(*) FROM moved.public.bulk')).stats.sources[0]!.cached).toBeUndefined()
        const refused = await refresh(cache.id, 'full')
        expect(refused).toMatchObject({ status: 'FAILED', error: { code: 'conflict' } })
      })

      it('creates a batch all or nothing, and summarizes status', async () => {
        const schema = sources.mysql!.database
        const refused = await app.request('POST', `${base()}/batch`, {
          key: orgKey,
          body: {
            tables: [
              { catalog: 'my', schema, table: 'Genre' },
              { catalog: 'my', schema, table: 'Track', incremental: { cursor_column: 'Nope' } },
            ],
          },
        })
        expect(refused.status).toBe(422)
        expect(refused.body.error.details.issues[0].field).toBe('tables.1.incremental.cursor_column')
        const batch = await app.request('POST', `${base()}/batch`, {
          key: orgKey,
          body: {
            tables: [
              { catalog: 'my', schema, table: 'Genre' },
              { catalog: 'my', schema, table: 'MediaType' },
            ],
          },
        })
        expect(batch.status, JSON.stringify(batch.body)).toBe(201)
        expect(batch.body.data).toHaveLength(2)
        const summary = await app.request('GET', `${base()}/status?catalog=my&schema=${schema}`, { key: orgKey })
        expect(summary.status).toBe(200)
        expect(summary.body.by_status.NOT_INITIALIZED).toBeGreaterThanOrEqual(2)
        expect(summary.body.caches.every((entry: { catalog: string }) => entry.catalog === 'my')).toBe(true)
      })

      it('refuses bad settings with 422 naming the field, and other tenants with 404', async () => {
        const refusals: [Record<string, unknown>, string][] = [
          [{ incremental: { cursor_column: 'deleted' } }, 'incremental.cursor_column'],
          [{ incremental: { cursor_column: 'id', primary_key: ['nope'] } }, 'incremental.primary_key'],
          [{ incremental: { cursor_column: 'id', soft_delete_column: 'nope' } }, 'incremental.soft_delete_column'],
          [{ incremental_schedule: { type: 'interval', every: 'PT1H' } }, 'incremental_schedule'],
          [{ full_refresh_schedule: { type: 'cron', cron: '61 * * * *', timezone: 'UTC' } }, 'full_refresh_schedule'],
          [{ full_refresh_schedule: { type: 'interval', every: 'PT10S' } }, 'full_refresh_schedule'],
          [
            { full_refresh_schedule: { type: 'cron', cron: '0 * * * *', timezone: 'Mars/Base' } },
            'full_refresh_schedule',
          ],
        ]
        for (const [extra, field] of refusals) {
          const refused = await app.request('POST', base(), {
            key: orgKey,
            body: { catalog: 'pg', schema: 'public', table: 'items', ...extra },
          })
          expect(refused.status, JSON.stringify(refused.body)).toBe(422)
          expect(refused.body.error.code).toBe('validation_error')
          expect(refused.body.error.message).toContain(field)
        }
        const internal = await app.request('POST', base(), {
          key: orgKey,
          body: { catalog: 'internal', schema: 'main', table: 'x' },
        })
        expect(internal.status).toBe(422)
        const missing = await app.request('POST', base(), {
          key: orgKey,
          body: { catalog: 'pg', schema: 'public', table: 'nope' },
        })
        expect(missing.status).toBe(404)
        const twice = await app.request('POST', base(), {
          key: orgKey,
          body: { catalog: 'pg', schema: 'public', table: 'items' },
        })
        expect(twice.status).toBe(409)

        const mine = (await app.request('GET', base(), { key: orgKey })).body.data[0].id as string
        const other = await createOrganization(app, 'Other')
        const otherProject = (await createProject(app, other.orgKey, 'Theirs')).id
        for (const [method, url] of [
          ['GET', `${API}/projects/${otherProject}/caches/${mine}`],
          ['GET', `${base()}/${mine}`],
          ['POST', `${API}/projects/${otherProject}/caches/${mine}/cancel`],
          ['DELETE', `${API}/projects/${otherProject}/caches/${mine}`],
        ] as const) {
          expect((await app.request(method, url, { key: other.orgKey })).status).toBe(404)
        }
        // Another project's catalog cannot be named from here.
        const theirs = await app.request('POST', `${API}/projects/${otherProject}/caches`, {
          key: other.orgKey,
          body: { catalog: 'pg', schema: 'public', table: 'items' },
        })
        expect(theirs.status).toBe(404)
        const viewer = (await createUserSession(app, orgKey, 'viewer')).token
        expect((await app.request('GET', base(), { key: viewer })).status).toBe(200)
        expect((await app.request('POST', `${base()}/${mine}/refresh`, { key: viewer, body: {} })).status).toBe(403)
      })

      async function waitForJob(jobId: string, status: string) {
        const deadline = Date.now() + 30_000
        for (;;) {
          const job = await app.tributary.platform.jobs.get(jobId)
          if (job?.status === status) return job
          if (Date.now() > deadline) throw new Error(`job ${jobId} is ${job?.status}, not ${status}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    },
    180_000,
  )
}

async function eventually(check: () => unknown, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}
