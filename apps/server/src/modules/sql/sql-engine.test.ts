import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import { createServer, Socket, type Server } from 'node:net'
import { PassThrough } from 'node:stream'

import { serve } from '@hono/node-server'
import pg from 'pg'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../test/harness.js'

const SECRET = 'pg-pass-never-logged'

/** A TCP proxy in front of PostgreSQL that the test can cut, like a source going down mid-query. */
async function startProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>()
  let bytesFromSource = 0
  const server: Server = createServer((client) => {
    const upstream = new Socket()
    upstream.connect(target.port, target.host)
    upstream.on('data', (chunk: Buffer) => (bytesFromSource += chunk.length))
    client.pipe(upstream).pipe(client)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => undefined)
      socket.on('close', () => sockets.delete(socket))
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as { port: number }).port,
    bytesFromSource: () => bytesFromSource,
    cut() {
      for (const socket of sockets) socket.destroy()
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const postgresUrl = inject('postgresUrl')

// The metadata store is PGlite; the source is the run's PostgreSQL (global setup fails the run when
// REQUIRE_SERVICES=1 and it is missing).
describe.skipIf(!postgresUrl)(
  `federated SQL failure paths${postgresUrl ? '' : ` [skipped: ${inject('postgresSkipReason')}]`}`,
  () => {
    let app: TestApp
    let admin: pg.Client
    let orgKey: string
    let projectId: string
    let proxy: Awaited<ReturnType<typeof startProxy>>
    const logs: string[] = []
    const sql = (body: Record<string, unknown>) =>
      app.request('POST', `${API}/projects/${projectId}/sql`, { key: orgKey, body })

    beforeAll(async () => {
      const url = new URL(postgresUrl!)
      admin = new pg.Client({ connectionString: url.toString() })
      await admin.connect()
      await admin.query(`
      drop schema if exists engine_test cascade;
      create schema engine_test;
      create table engine_test.big as select g as id, md5(g::text) as label from generate_series(1, 300000) g;
      create view engine_test.slow as select id, pg_sleep(0.02) is null as slept from engine_test.big where id <= 1000;
      create table engine_test.people (id int primary key, name text, country text);
      insert into engine_test.people values (1, 'Ann', 'DE'), (2, 'Bo', 'SE'), (3, 'Cy', null);
    `)
      proxy = await startProxy({ host: url.hostname, port: Number(url.port || 5432) })
      const stream = new PassThrough()
      stream.on('data', (chunk: Buffer) => logs.push(chunk.toString()))
      app = await startTestApp('pglite', { logger: pino({ level: 'debug' }, stream) })
      orgKey = (await createOrganization(app, 'Engine')).orgKey
      projectId = (await createProject(app, orgKey, 'Engine')).id
      for (const [catalog, port] of [
        ['src', Number(url.port || 5432)],
        ['flaky', proxy.port],
      ] as const) {
        const created = await app.request('POST', `${API}/projects/${projectId}/connections`, {
          key: orgKey,
          body: {
            name: catalog,
            type: 'postgresql',
            config: {
              host: url.hostname,
              port,
              database: url.pathname.slice(1),
              user: url.username || 'postgres',
              password: SECRET,
            },
          },
        })
        expect(created.status).toBe(201)
      }
    })
    afterAll(async () => {
      await app?.close()
      await proxy?.close()
      await admin?.query('drop schema if exists engine_test cascade')
      await admin?.end()
    })

    it('answers a query over PostgreSQL with typed, JSON-safe values', async () => {
      const response = await sql({ sql: 'select id, name, country from src.engine_test.people order by id' })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      expect(response.body.rows).toEqual([
        [1, 'Ann', 'DE'],
        [2, 'Bo', 'SE'],
        [3, 'Cy', null],
      ])
    })

    it.each([
      ['select * from nope.public.t', "unknown catalog 'nope'"],
      ['select * from src.nope.t', "unknown schema 'nope'"],
      ['select * from src.engine_test.nope', "unknown table 'nope'"],
      ['select nope from src.engine_test.people', 'nope'],
      ['select * from people', 'catalog.schema.table'],
      ["select * from read_csv('/etc/passwd')", 'read_csv'],
      ['delete from src.engine_test.people', 'DELETE'],
    ])('refuses %s with 400 query_error naming the problem', async (statement, fragment) => {
      const response = await sql({ sql: statement })
      expect(response.status).toBe(400)
      expect(response.body.error.code).toBe('query_error')
      expect(response.body.error.message).toContain(fragment)
    })

    it('points at the position of a syntax error', async () => {
      const response = await sql({ sql: 'select id frm src.engine_test.people' })
      expect(response.status).toBe(400)
      expect(response.body.error.details.position).toBeGreaterThan(5)
    })

    it('stops at the timeout with 408 and cancels the query in the source', async () => {
      const started = Date.now()
      const response = await sql({ sql: 'select count(*) from src.engine_test.slow', timeout_ms: 500 })
      expect(response.status).toBe(408)
      expect(response.body.error.code).toBe('query_timeout')
      expect(Date.now() - started).toBeLessThan(5_000)
      await expect
        .poll(
          async () =>
            (
              await admin.query(
                "select count(*)::int as n from pg_stat_activity where application_name = 'tributary' and state = 'active' and datname = current_database()",
              )
            ).rows[0].n,
          { timeout: 3_000 },
        )
        .toBe(0)
    })

    it('answers 502 when the source goes away mid-query, and recovers afterwards', async () => {
      const before = proxy.bytesFromSource()
      // md5() is not pushed down, so the rows themselves must cross.
      const pending = sql({ sql: 'select count(*), max(md5(label)) from flaky.engine_test.big' })
      // Cut once the scan is well under way: a megabyte of rows has crossed, about a tenth of them.
      await expect
        .poll(() => proxy.bytesFromSource() - before, { timeout: 10_000, interval: 5 })
        .toBeGreaterThan(1_000_000)
      proxy.cut()
      const response = await pending
      expect(response.status, JSON.stringify(response.body)).toBe(502)
      expect(response.body.error.code).toBe('connection_error')
      const again = await sql({ sql: 'select count(*) as n from flaky.engine_test.people' })
      expect(again.body.rows).toEqual([[3]])
    })

    it('stops the source query when the client goes away', async () => {
      const server = serve({ fetch: app.tributary.app.fetch, port: 0, hostname: '127.0.0.1' })
      await once(server, 'listening')
      const { port } = server.address() as { port: number }
      const active = async () =>
        (
          await admin.query(
            "select count(*)::int as n from pg_stat_activity where application_name = 'tributary' and state = 'active' and datname = current_database() and query like '%engine_test%'",
          )
        ).rows[0].n as number
      try {
        const request = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `${API}/projects/${projectId}/sql`,
          headers: { authorization: `Bearer ${orgKey}`, 'content-type': 'application/json' },
        })
        request.on('error', () => undefined)
        request.end(JSON.stringify({ sql: 'select count(*) from src.engine_test.slow', timeout_ms: 60_000 }))
        // The source is busy with the query (about 20 s of pg_sleep) ...
        await expect.poll(active, { timeout: 10_000 }).toBeGreaterThan(0)
        // ... until the client hangs up.
        request.destroy()
        await expect.poll(active, { timeout: 5_000 }).toBe(0)
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    })

    it('never writes the source password into a response or a log line', () => {
      expect(logs.length).toBeGreaterThan(0)
      expect(logs.join('\n')).not.toContain(SECRET)
    })
  },
)
