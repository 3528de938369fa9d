import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { DuckDBInstance } from '@duckdb/node-api'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

import type { ConnectorContext } from './connectors/connector.js'
import { postgresqlConnector } from './connectors/postgresql/postgresql-connector.js'
import { sqliteConnector } from './connectors/sqlite/sqlite-connector.js'
import { SqlEngine, type CatalogHandle, type EngineExportQuery } from './engine.js'
import { fixedCatalogs } from './engine.test-support.js'

const root = mkdtempSync(path.join(tmpdir(), 'tributary-engine-'))
const context: ConnectorContext = { fileRoots: [root], connectTimeoutMs: 2000 }
const engine = new SqlEngine({ memoryLimit: '1GB', threads: 2 })
let handle: CatalogHandle

beforeAll(async () => {
  const file = path.join(root, 'shop.sqlite')
  const db = new Database(file)
  db.exec(`
    create table customers (id integer primary key, name text, note text);
    insert into customers values (1, 'Ann', 'vip'), (2, 'O''Brien', null), (3, '; DROP TABLE customers; --', 'x');
  `)
  db.close()
  const session = await sqliteConnector.connect({ path: file }, context)
  const catalog = await session.introspect()
  await session.close()
  handle = { name: 'shop', catalog, openSession: () => sqliteConnector.connect({ path: file }, context) }
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

const query = (sql: string, parameters?: EngineExportQuery['parameters']): EngineExportQuery => ({
  sql,
  timeoutMs: 10_000,
  ...fixedCatalogs(handle),
  parameters,
})

describe('parameters', () => {
  it('binds values as typed values, so text that looks like SQL stays text', async () => {
    const hostile = '; DROP TABLE customers; --'
    const result = await engine.execute({
      ...query('SELECT id, name FROM shop.main.customers WHERE name = {{name}} OR id = {{id}} ORDER BY id', {
        name: { type: 'string', value: hostile },
        id: { type: 'integer', value: 2 },
      }),
      limit: 10,
    })
    expect(result.rows).toEqual([
      [2, "O'Brien"],
      [3, hostile],
    ])
    const again = await engine.execute({ ...query('SELECT count(*) AS n FROM shop.main.customers'), limit: 1 })
    expect(again.rows).toEqual([[3]])
  })

  it('pushes a bound value to the source as a filter', async () => {
    const result = await engine.execute({
      ...query('SELECT name FROM shop.main.customers WHERE id = {{id}}', { id: { type: 'integer', value: 1 } }),
      limit: 10,
    })
    expect(result.rows).toEqual([['Ann']])
    expect(result.stats.sources[0]!.rows).toBe(1)
  })

  it('leaves placeholders inside strings, quoted names and comments alone', async () => {
    const result = await engine.execute({
      ...query(`SELECT '{{id}}' AS "{{id}}", {{id}} AS v -- {{nope}}\n/* {{nope}} */`, {
        id: { type: 'date', value: '2024-02-29' },
      }),
      limit: 1,
    })
    expect(result.columns).toEqual([
      { name: '{{id}}', type: 'VARCHAR' },
      { name: 'v', type: 'DATE' },
    ])
    expect(result.rows).toEqual([['{{id}}', '2024-02-29']])
  })

  it('binds NULL and refuses a placeholder without a value', async () => {
    const result = await engine.execute({
      ...query('SELECT {{n}} IS NULL AS missing', { n: { type: 'decimal', value: null } }),
      limit: 1,
    })
    expect(result.rows).toEqual([[true]])
    await expect(engine.execute({ ...query('SELECT {{n}} AS x', {}), limit: 1 })).rejects.toMatchObject({
      kind: 'query',
      message: expect.stringContaining('{{n}}'),
    })
  })
})

describe('executeToParquet', () => {
  it('writes the whole result, 128-bit integers as text and repeated names apart, and only there', async () => {
    const directory = path.join(root, 'result-1')
    mkdirSync(directory)
    const output = path.join(directory, 'result.parquet')
    const written = await engine.executeToParquet(
      query(
        `SELECT c.id, c.name, c.id, 170141183460469231731687303715884105727::HUGEINT AS big
         FROM shop.main.customers c WHERE c.id >= {{from}} ORDER BY c.id;  -- trailing`,
        { from: { type: 'integer', value: 2 } },
      ),
      output,
    )
    expect(written.row_count).toBe(2)
    expect(written.columns).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'name', type: 'VARCHAR' },
      { name: 'id', type: 'BIGINT' },
      { name: 'big', type: 'HUGEINT' },
    ])
    const reader = await (
      await (await DuckDBInstance.create(':memory:')).connect()
    ).runAndReadAll(`SELECT * FROM read_parquet('${output}')`)
    expect(reader.columnNames()).toEqual(['id', 'name', 'id_1', 'big'])
    expect(reader.getRowsJson()).toEqual([
      ['2', "O'Brien", '2', '170141183460469231731687303715884105727'],
      ['3', '; DROP TABLE customers; --', '3', '170141183460469231731687303715884105727'],
    ])
  })

  it('still keeps the query away from every other file', async () => {
    const directory = path.join(root, 'result-2')
    mkdirSync(directory)
    await expect(
      engine.executeToParquet(
        query(`SELECT * FROM '${path.join(root, 'shop.sqlite')}'`),
        path.join(directory, 'r.parquet'),
      ),
    ).rejects.toMatchObject({ kind: 'query' })
  })
})

describe('executeInto', () => {
  it('writes the whole result into a table of a DuckDB file, types kept and names apart', async () => {
    const directory = path.join(root, 'into-1')
    mkdirSync(directory)
    const file = path.join(directory, 'copy.duckdb')
    const written = await engine.executeInto(
      query(
        `SELECT c.id, c.name, c.id, 170141183460469231731687303715884105727::HUGEINT AS big
         FROM shop.main.customers c WHERE c.id >= {{from}}`,
        { from: { type: 'integer', value: 2 } },
      ),
      { file, table: 'data' },
    )
    expect(written.row_count).toBe(2)
    expect(written.columns.map((column) => column.name)).toEqual(['id', 'name', 'id_1', 'big'])
    expect(written.stats.sources[0]!.remote_sql).toContain('"id" >= 2')
    const reader = await (
      await (await DuckDBInstance.create(':memory:')).connect()
    ).runAndReadAll(`ATTACH '${file}' AS f (READ_ONLY); SELECT typeof(big), * FROM f.data ORDER BY id`)
    expect(reader.getRowsJson()).toEqual([
      ['HUGEINT', '2', "O'Brien", '2', '170141183460469231731687303715884105727'],
      ['HUGEINT', '3', '; DROP TABLE customers; --', '3', '170141183460469231731687303715884105727'],
    ])
  })

  it('stops writing when the caller aborts', async () => {
    const directory = path.join(root, 'into-3')
    mkdirSync(directory)
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 200)
    const started = Date.now()
    await expect(
      engine.executeInto(
        { ...query('SELECT sum(i) AS s FROM range(10000000000) t(i)'), signal: controller.signal },
        { file: path.join(directory, 'copy.duckdb'), table: 'data' },
      ),
    ).rejects.toMatchObject({ kind: 'cancelled' })
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it('stops a query cancelled before it reached the engine, or while it was being prepared', async () => {
    const directory = path.join(root, 'into-4')
    mkdirSync(directory)
    const before = new AbortController()
    before.abort()
    const early = path.join(directory, 'early.duckdb')
    await expect(
      engine.executeInto(
        { ...query('SELECT id FROM shop.main.customers'), signal: before.signal },
        { file: early, table: 'data' },
      ),
    ).rejects.toMatchObject({ kind: 'cancelled' })

    // Aborted as its catalogs are resolved: no listener is in place yet, and nothing may start after.
    const during = new AbortController()
    const catalogs = fixedCatalogs(handle)
    const late = path.join(directory, 'late.duckdb')
    await expect(
      engine.executeInto(
        {
          ...query('SELECT id FROM shop.main.customers'),
          resolveCatalogs: async (names, scope) => {
            during.abort()
            return catalogs.resolveCatalogs(names, scope)
          },
          signal: during.signal,
        },
        { file: late, table: 'data' },
      ),
    ).rejects.toMatchObject({ kind: 'cancelled' })
    // The query did not go on in the background: it would have made the file it writes into.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect([existsSync(early), existsSync(late)]).toEqual([false, false])
  })

  it('reads a table from its local copy when the catalog has one, and says so in the stats', async () => {
    const directory = path.join(root, 'into-2')
    mkdirSync(directory)
    const file = path.join(directory, 'copy.duckdb')
    await engine.executeInto(query(`SELECT id, upper(name) AS name, note FROM shop.main.customers`), {
      file,
      table: 'data',
    })
    const cachedAt = new Date(Date.now() - 5_000)
    const cached: CatalogHandle = {
      ...handle,
      localTables: (schema, table) =>
        schema === 'main' && table === 'customers' ? { segments: [file], rows: 3, cachedAt } : undefined,
    }
    const result = await engine.execute({
      sql: 'SELECT name FROM shop.main.customers WHERE id = 1',
      timeoutMs: 10_000,
      limit: 10,
      ...fixedCatalogs(cached),
    })
    expect(result.rows).toEqual([['ANN']])
    expect(result.stats.sources[0]).toMatchObject({ cached: true, cached_age_seconds: 5 })
  })
})

describe('describe', () => {
  it('returns the result columns without reading the source', async () => {
    let opened = 0
    const counting: CatalogHandle = {
      ...handle,
      openSession: () => {
        opened += 1
        return handle.openSession!()
      },
    }
    const columns = await engine.describe({
      sql: 'SELECT id, upper(name) AS shout, count(*) OVER () AS n, {{d}} AS d FROM shop.main.customers WHERE id > {{min}}',
      parameters: { d: { type: 'date', value: '2024-01-01' }, min: { type: 'integer', value: 1 } },
      ...fixedCatalogs(counting),
    })
    expect(columns).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'shout', type: 'VARCHAR' },
      { name: 'n', type: 'BIGINT' },
      { name: 'd', type: 'DATE' },
    ])
    expect(opened).toBe(0)
  })

  it('refuses what execute refuses: bad SQL, unknown tables and columns, writes', async () => {
    const describe = (sql: string) => engine.describe({ sql, ...fixedCatalogs(handle) })
    await expect(describe('SELEC 1')).rejects.toMatchObject({ kind: 'query' })
    await expect(describe('SELECT * FROM shop.main.nope')).rejects.toMatchObject({
      kind: 'query',
      message: expect.stringContaining("unknown table 'nope'"),
    })
    await expect(describe('SELECT missing FROM shop.main.customers')).rejects.toMatchObject({
      kind: 'query',
      message: expect.stringContaining('missing'),
    })
    await expect(describe('DELETE FROM shop.main.customers')).rejects.toMatchObject({ kind: 'query' })
    await expect(describe('SELECT * FROM elsewhere.main.t')).rejects.toMatchObject({
      kind: 'query',
      message: expect.stringContaining("unknown catalog 'elsewhere'"),
    })
  })
})

describe('views', () => {
  const views: Record<string, string> = {
    'main.vips': "SELECT id, name FROM shop.main.customers WHERE note = 'vip'",
    'main.vip_names': 'SELECT name FROM q.main.vips',
    'main.a': 'SELECT * FROM q.main.b',
    'main.b': 'SELECT * FROM q.main.a',
    'main.sneaky': 'SELECT * FROM __s0_shop.main.customers',
  }
  const viewCatalog = (name: string, scope?: string): CatalogHandle => ({
    name,
    catalog: { schemas: [{ name: 'main', tables: [] }] },
    views: (schema, table) => {
      const sql = views[`${schema}.${table}`.toLowerCase()]
      return sql === undefined ? undefined : { sql, ...(scope && { scope }) }
    },
  })
  const run = (sql: string, ...handles: CatalogHandle[]) =>
    engine.execute({ sql, limit: 100, timeoutMs: 10_000, ...fixedCatalogs(handle, viewCatalog('q'), ...handles) })

  it('inlines a view under its alias, and the outer filter still reaches the source', async () => {
    const result = await run('SELECT v.name FROM q.main.vips v WHERE v.id < 2')
    expect(result.rows).toEqual([['Ann']])
    expect(result.stats.sources).toHaveLength(1)
    expect(result.stats.sources[0]!.remote_sql).toMatch(/"id" < 2/)
    expect(result.stats.sources[0]!.remote_sql).toMatch(/'vip'/)
  })

  it('inlines views inside views, joins them with tables, and describes them', async () => {
    expect((await run('SELECT * FROM q.main.vip_names ORDER BY name')).rows).toEqual([['Ann']])
    const joined = await run(
      'SELECT vips.name, c.note FROM q.main.VIPS JOIN shop.main.customers c ON c.id = vips.id ORDER BY 1',
    )
    expect(joined.rows).toEqual([['Ann', 'vip']])
    expect(
      await engine.describe({ sql: 'SELECT * FROM q.main.vips', ...fixedCatalogs(handle, viewCatalog('q')) }),
    ).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'name', type: 'VARCHAR' },
    ])
  })

  it('refuses a cycle, naming the views, and internal catalog names written by anyone', async () => {
    await expect(run('SELECT * FROM q.main.a')).rejects.toMatchObject({
      kind: 'query',
      message: expect.stringContaining('q.main.a → q.main.b → q.main.a'),
    })
    await expect(run('SELECT * FROM q.main.sneaky')).rejects.toMatchObject({
      kind: 'query',
      message: expect.stringContaining('reserved'),
    })
    await expect(run('SELECT * FROM __s0_shop.main.customers')).rejects.toMatchObject({
      kind: 'query',
      message: expect.stringContaining('reserved'),
    })
  })

  it("resolves a scoped view's catalogs in its scope, under names the query cannot write", async () => {
    const scopes: (string | undefined)[] = []
    const shared = viewCatalog('shared', 'owner')
    const result = await engine.execute({
      sql: 'SELECT id FROM shared.main.vips WHERE id = 1',
      limit: 10,
      timeoutMs: 10_000,
      catalogNames: async () => ['shop', 'shared'],
      resolveCatalogs: async (names, scope) => {
        scopes.push(scope)
        const all = scope === 'owner' ? [handle] : [shared]
        return new Map(all.filter((h) => names.includes(h.name)).map((h) => [h.name, h]))
      },
    })
    expect(result.rows).toEqual([[1]])
    expect(scopes).toEqual([undefined, 'owner'])
    // The stats name the source as its owner does, not by the engine's internal name.
    expect(result.stats.sources[0]).toMatchObject({ catalog: 'shop', remote_sql: expect.stringMatching(/= 1/) })
  })
})

const postgresUrl = inject('postgresUrl')

describe.skipIf(!postgresUrl)(
  `parameters inside a subquery pushed to PostgreSQL${postgresUrl ? '' : ` [skipped: ${inject('postgresSkipReason')}]`}`,
  () => {
    let warehouse: CatalogHandle
    beforeAll(async () => {
      const url = new URL(postgresUrl!)
      const admin = new pg.Client({ connectionString: url.toString() })
      await admin.connect()
      await admin.query(`
        drop schema if exists engine_params cascade;
        create schema engine_params;
        create table engine_params.sales (id int, region text, amount numeric(10,2));
        insert into engine_params.sales select g, case when g % 3 = 0 then 'north' else 'south' end, g * 1.5
        from generate_series(1, 300) g;`)
      await admin.end()
      const config = {
        host: url.hostname,
        port: Number(url.port || 5432),
        database: url.pathname.slice(1),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        ssl: 'disable' as const,
      }
      const session = await postgresqlConnector.connect(config, context)
      const catalog = await session.introspect()
      await session.close()
      warehouse = {
        name: 'wh',
        catalog,
        openSession: () => postgresqlConnector.connect(config, context),
        pushdownDialect: postgresqlConnector.pushdownDialect,
      }
    })

    it('sends the values to the source with the subquery, and binds the rest in DuckDB', async () => {
      const result = await engine.execute({
        sql: `SELECT region, n, total, {{label}} AS label FROM (
                SELECT region, count(*) AS n, sum(amount) AS total FROM wh.engine_params.sales
                WHERE id <= {{up_to}} AND region <> {{skip}} GROUP BY region) t ORDER BY region`,
        limit: 10,
        timeoutMs: 10_000,
        ...fixedCatalogs(warehouse),
        parameters: {
          up_to: { type: 'integer', value: 30 },
          skip: { type: 'string', value: "x' OR '1'='1" },
          label: { type: 'string', value: "it's" },
        },
      })
      expect(result.rows).toEqual([
        ['north', 10, '247.50', "it's"],
        ['south', 20, '450.00', "it's"],
      ])
      const [source] = result.stats.sources
      expect(source!.remote_sql).toMatch(/GROUP BY/)
      expect(source!.remote_sql).toContain("'x'' OR ''1''=''1'")
      expect(source!.rows).toBe(2)
    })
  },
)
