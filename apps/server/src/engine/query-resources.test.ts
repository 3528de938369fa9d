import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { DuckDBInstance } from '@duckdb/node-api'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

import type { ConnectorContext } from './connectors/connector.js'
import { postgresqlConnector } from './connectors/postgresql/postgresql-connector.js'
import { EngineError, SqlEngine, type CatalogHandle, type EngineExportQuery } from './engine.js'
import { fixedCatalogs } from './engine.test-support.js'

// Every temporary folder this test file's engines make lands here, apart from other processes' ones.
const scratch = mkdtempSync(path.join(tmpdir(), 'tributary-resources-'))
const previousTmpdir = process.env.TMPDIR
process.env.TMPDIR = scratch
afterAll(() => {
  if (previousTmpdir === undefined) delete process.env.TMPDIR
  else process.env.TMPDIR = previousTmpdir
  rmSync(scratch, { recursive: true, force: true })
})

const scanFolders = () => readdirSync(scratch).filter((name) => name.startsWith('tributary-scan-'))
const pipes = () =>
  scanFolders().flatMap((folder) =>
    readdirSync(path.join(scratch, folder)).filter((name) => statSync(path.join(scratch, folder, name)).isFIFO()),
  )

const noCatalogs = (sql: string): EngineExportQuery => ({
  sql,
  timeoutMs: 20_000,
  ...fixedCatalogs(),
})

describe('the statement that runs is the one the guard checked', () => {
  const engine = new SqlEngine({ memoryLimit: '256MB', threads: 1 })
  afterAll(() => engine.close())

  it("reads a backslash-escaped quote in E'…' as DuckDB does, for results and for files", async () => {
    const sql = "SELECT E'\\'; --' AS s; -- the end"
    const result = await engine.execute({ ...noCatalogs(sql), limit: 10 })
    expect(result.rows).toEqual([["'; --"]])

    const directory = path.join(scratch, 'result')
    mkdirSync(directory)
    const output = path.join(directory, 'result.parquet')
    expect((await engine.executeToParquet(noCatalogs(sql), output)).row_count).toBe(1)
    const reader = await (
      await (await DuckDBInstance.create(':memory:')).connect()
    ).runAndReadAll(`SELECT s FROM read_parquet('${output}')`)
    expect(reader.getRows()).toEqual([["'; --"]])
  })

  it.each([
    ["SELECT E'\\'; ATTACH ''x.db'' AS x; --' AS s", [["'; ATTACH 'x.db' AS x; --"]]],
    ["SELECT E'\\\\' AS s; ATTACH 'x.db' AS x", 'only one read-only query is allowed'],
    ["SELECT 'a' AS s /* nested /* ; */ ;*/ ; ", [['a']]],
  ])('%s', async (sql, expected) => {
    const outcome = await engine.execute({ ...noCatalogs(sql), limit: 10 }).then(
      (result) => result.rows,
      (error: unknown) => error,
    )
    if (typeof expected === 'string') {
      expect(outcome).toBeInstanceOf(EngineError)
      expect(outcome).toMatchObject({ kind: 'query', message: expect.stringContaining(expected) })
    } else {
      expect(outcome).toEqual(expected)
    }
  })
})

describe('a query that outgrows the memory limit', () => {
  const engine = new SqlEngine({ memoryLimit: '64MB', threads: 1 })
  afterAll(() => engine.close())

  it.each([
    "select length(string_agg(repeat('x', 1000000))) from range(10000)",
    "with recursive t(s) as (select 'x' union all select s || s from t) select max(length(s)) from t",
  ])('is refused as the caller’s error, naming the limit: %s', async (sql) => {
    const started = performance.now()
    const error = await engine.execute({ ...noCatalogs(sql), limit: 10 }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(EngineError)
    expect(error).toMatchObject({ kind: 'query' })
    expect((error as Error).message).toMatch(
      /^the query needs more memory than TRIBUTARY_QUERY_MEMORY_LIMIT allows \(64MB\): /,
    )
    expect((error as Error).message).not.toContain('SET memory_limit')
    expect(performance.now() - started).toBeLessThan(15_000)
  })
})

describe('temporary folders and pipes', () => {
  it('are removed when the process exits, and what a killed process left by the next one', () => {
    // A process that is gone (killed with SIGKILL, say) left a folder with a pipe; a live one keeps its own.
    const gone = spawnSync('true').pid
    const orphan = path.join(scratch, `tributary-scan-${gone}-orphan`)
    const kept = path.join(scratch, `tributary-scan-${process.pid}-kept`)
    for (const folder of [orphan, kept]) {
      mkdirSync(folder)
      expect(spawnSync('mkfifo', [path.join(folder, 't0')]).status).toBe(0)
    }

    const fifoMaker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fifo-maker.ts')
    // The helper shell never holds the process open, so a timer does while the pipe is made.
    const script = `
      setInterval(() => undefined, 1000)
      const { FifoMaker } = await import(${JSON.stringify(fifoMaker)})
      const fifos = new FifoMaker()
      const directory = await fifos.directory()
      await fifos.make(directory + '/t0')
      console.log(directory)
      process.exit(0)`
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: scratch },
      encoding: 'utf8',
    })
    expect(child.stderr).toBe('')
    const directory = child.stdout.trim()
    expect(path.basename(directory)).toMatch(new RegExp(`^tributary-scan-${child.pid}-`))
    expect(existsSync(directory)).toBe(false)
    expect(existsSync(orphan)).toBe(false)
    expect(existsSync(path.join(kept, 't0'))).toBe(true)
    rmSync(kept, { recursive: true })
  })
})

const postgresUrl = inject('postgresUrl')

describe.skipIf(!postgresUrl)(
  `temporary folders of queries over PostgreSQL${postgresUrl ? '' : ` [skipped: ${inject('postgresSkipReason')}]`}`,
  () => {
    const context: ConnectorContext = { fileRoots: [scratch], connectTimeoutMs: 2000 }
    const engine = new SqlEngine({ memoryLimit: '256MB', threads: 2 })
    let warehouse: CatalogHandle
    let admin: pg.Client
    const query = (sql: string, signal?: AbortSignal) => ({
      sql,
      limit: 10,
      timeoutMs: 20_000,
      signal,
      ...fixedCatalogs(warehouse),
    })

    beforeAll(async () => {
      const url = new URL(postgresUrl!)
      admin = new pg.Client({ connectionString: url.toString() })
      await admin.connect()
      await admin.query(`
        drop schema if exists engine_resources cascade;
        create schema engine_resources;
        create table engine_resources.numbers as select g as n, md5(g::text) as label from generate_series(1, 20000) g;
        -- Fails after some rows have crossed: the pipe is in use when the source breaks.
        create view engine_resources.breaks as
          select n, case when n < 15000 then n else n / (n - n) end as m from engine_resources.numbers;
        create view engine_resources.slow as
          select n, pg_sleep(0.01) is null as slept from engine_resources.numbers where n <= 2000;`)
      const config = {
        host: url.hostname,
        port: Number(url.port || 5432),
        database: url.pathname.slice(1),
        user: decodeURIComponent(url.username) || 'postgres',
        password: decodeURIComponent(url.password),
        ssl: 'disable' as const,
      }
      const session = await postgresqlConnector.connect(config, context)
      const catalog = await session.introspect()
      await session.close()
      // No pushdown dialect: every table is read through a pipe.
      warehouse = { name: 'wh', catalog, openSession: () => postgresqlConnector.connect(config, context) }
    })

    afterAll(async () => {
      engine.close()
      await admin?.query('drop schema if exists engine_resources cascade')
      await admin?.end()
    })

    const settled = () => expect.poll(scanFolders, { timeout: 5_000, interval: 20 }).toEqual([])

    it('after a query that succeeds', async () => {
      const result = await engine.execute(query('select count(*), max(label) from wh.engine_resources.numbers'))
      expect(result.rows[0]![0]).toBe(20000)
      await settled()
    })

    it('after a query whose source fails while sending', async () => {
      await expect(engine.execute(query('select sum(m) from wh.engine_resources.breaks'))).rejects.toMatchObject({
        kind: 'source',
      })
      await settled()
    })

    it('after a query that fails in DuckDB once the rows are in', async () => {
      await expect(
        engine.execute(query("select cast(label || 'x' as int) from wh.engine_resources.numbers")),
      ).rejects.toMatchObject({ kind: 'query' })
      await settled()
    })

    it('after a query that is cancelled while its pipe is open', async () => {
      const controller = new AbortController()
      const pending = engine.execute(query('select count(*) from wh.engine_resources.slow', controller.signal))
      await expect.poll(pipes, { timeout: 10_000, interval: 5 }).not.toEqual([])
      controller.abort()
      await expect(pending).rejects.toMatchObject({ kind: 'cancelled' })
      await settled()
    })

    it('after a query that times out', async () => {
      await expect(
        engine.execute({ ...query('select count(*) from wh.engine_resources.slow'), timeoutMs: 300 }),
      ).rejects.toMatchObject({ kind: 'timeout' })
      await settled()
    })

    it('when the engine closes with a query still running', async () => {
      const closing = new SqlEngine({ memoryLimit: '256MB', threads: 1 })
      const controller = new AbortController()
      const pending = closing.execute(query('select count(*) from wh.engine_resources.slow', controller.signal))
      await expect.poll(pipes, { timeout: 10_000, interval: 5 }).not.toEqual([])
      closing.close()
      expect(scanFolders()).toEqual([])
      controller.abort()
      await expect(pending).rejects.toMatchObject({ kind: 'cancelled' })
      await settled()
    })
  },
)
