import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ScanRequest, type SourceCatalog, SourceError, type SourceSession } from '../connector.js'
import { filesConnector } from './files-connector.js'

describe('files connector: nativeReader', () => {
  let dir: string
  let duckdb: DuckDBConnection
  let instance: DuckDBInstance
  let session: SourceSession
  let catalog: SourceCatalog

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'files-scan-'))
    instance = await DuckDBInstance.create(':memory:')
    duckdb = await instance.connect()
    const rows = `SELECT i AS id, 'name ' || i AS "Name, with ""quotes""", ((i % 7) / 4)::DECIMAL(10,2) AS amount,
        DATE '2024-01-01' + i::INTEGER AS day, i % 2 = 0 AS even, CASE WHEN i % 5 = 0 THEN NULL ELSE 'x' END AS maybe,
        [i, i + 1] AS pair
      FROM range(1, 100001) t(i)`
    await duckdb.run(`COPY (${rows}) TO '${dir}/orders.parquet' (FORMAT parquet, ROW_GROUP_SIZE 10000)`)
    await duckdb.run(
      `COPY (SELECT * EXCLUDE (pair) FROM (${rows}) WHERE id <= 1000) TO '${dir}/orders_small.csv' (HEADER)`,
    )
    await duckdb.run(`COPY (SELECT * FROM (${rows}) WHERE id <= 1000) TO '${dir}/orders_json.ndjson' (FORMAT json)`)
    session = await filesConnector.connect({ path: dir }, { fileRoots: [dir], connectTimeoutMs: 1_000 })
    catalog = await session.introspect()
  })

  afterAll(async () => {
    await session?.close()
    duckdb?.closeSync()
    instance?.closeSync()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const request = (table: string, change: Partial<ScanRequest> & { columnNames?: string[] } = {}): ScanRequest => {
    const { columnNames, ...rest } = change
    const found = catalog.schemas[0]!.tables.find((t) => t.name === table)!
    const columns = found.columns.filter((c) => !columnNames || columnNames.includes(c.name))
    return { schema: 'main', table, columns, filters: [], ...rest }
  }
  const run = async (sql: string) => (await duckdb.runAndReadAll(sql)).getRowObjectsJS()

  it('reads the requested columns of a table, in order', async () => {
    const req = request('orders', { columnNames: ['id', 'amount'] })
    req.columns.reverse()
    const sql = session.nativeReader!(req)
    expect(sql).toBe(`SELECT "amount", "id" FROM read_parquet('${dir}/orders.parquet')`)
    const [summary] = await run(
      `SELECT count(*)::int AS n, sum(id)::int8 AS ids, sum(amount)::varchar AS total FROM (${sql})`,
    )
    const [direct] = await run(
      `SELECT count(*)::int AS n, sum(id)::int8 AS ids, sum(amount)::varchar AS total FROM '${dir}/orders.parquet'`,
    )
    expect(summary).toEqual(direct)
    expect(summary).toMatchObject({ n: 100000, ids: 5000050000n })
  })

  it('applies every filter and the limit, on every format', async () => {
    for (const table of ['orders', 'orders_small', 'orders_json']) {
      const req = request(table, {
        columnNames: ['id', 'Name, with "quotes"', 'amount', 'day', 'even', 'maybe'],
        filters: [
          { column: 'id', op: '<=', value: 500 },
          { column: 'amount', op: '>', value: '0.25' },
          { column: 'day', op: '<', value: '2024-06-01' },
          { column: 'even', op: '=', value: true },
          { column: 'maybe', op: 'is_not_null' },
          { column: 'Name, with "quotes"', op: 'in', values: ["name 2' OR 1=1 --", 'name 2', 'name 4', 'name 6'] },
        ],
      })
      const sql = session.nativeReader!(req)
      expect(sql, table).toContain(` WHERE "id" <= 500 AND "amount" > CAST('0.25' AS `)
      expect(sql, table).toContain(
        `AND "day" < CAST('2024-06-01' AS DATE) AND "even" = true AND "maybe" IS NOT NULL` +
          ` AND "Name, with ""quotes""" IN ('name 2'' OR 1=1 --', 'name 2', 'name 4', 'name 6')`,
      )
      expect(await run(`SELECT id::int AS id FROM (${sql}) ORDER BY id`), table).toEqual([
        { id: 2 },
        { id: 4 },
        { id: 6 },
      ])
      const limited = session.nativeReader!({ ...req, filters: [], limit: 7 })
      expect(limited).toMatch(/ LIMIT 7$/)
      expect(await run(`SELECT count(*)::int AS n FROM (${limited})`)).toEqual([{ n: 7 }])
    }
  })

  it('lets DuckDB skip Parquet row groups by the filter', async () => {
    const sql = session.nativeReader!(request('orders', { filters: [{ column: 'id', op: '=', value: 99999 }] }))
    const plan = (await run(`EXPLAIN ${sql}`)).map((row) => row.explain_value as string).join('\n')
    expect(plan).toMatch(/READ_PARQUET|PARQUET_SCAN/)
    expect(plan).toMatch(/Filters:[\s\S]*id=99999/)
    expect(await run(`SELECT "Name, with ""quotes""" AS name FROM (${sql})`)).toEqual([{ name: 'name 99999' }])
  })

  it('leaves filters on nested columns out', () => {
    const sql = session.nativeReader!(
      request('orders', { columnNames: ['id', 'pair'], filters: [{ column: 'pair', op: '=', value: '[1, 2]' }] }),
    )
    expect(sql).not.toContain('WHERE')
  })

  it('refuses a table it does not have', () => {
    expect(() => session.nativeReader!({ ...request('orders'), table: 'nope' })).toThrow(SourceError)
    expect(() => session.nativeReader!({ ...request('orders'), schema: 'other' })).toThrow(SourceError)
  })
})
