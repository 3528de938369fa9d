import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'

import { DuckDBInstance } from '@duckdb/node-api'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../test/harness.js'
import { uploadFile, waitForImport } from './imports.test-support.js'

const TRAPS_CSV = [
  'id,name,amount,big,day,ts,tstz,flag,payload,note',
  '1,"Smith, ""Jo""",12.34,170141183460469231731687303715884105727,2024-02-29,2024-01-01 10:00:00,2024-01-01 10:00:00+02:00,true,"{""a"":[1,2]}","line1',
  'line2"',
  '2,"",-0.01,-9223372036854775809,1970-01-01,1999-12-31 23:59:59.123456,2024-06-30T23:00:00Z,false,null,Ünïcödé ✓ 日本',
  '3,,,,,,,,,',
  '',
].join('\n')

const TRAPS_SCHEMA = [
  { name: 'id', type: 'BIGINT', nullable: false },
  { name: 'name', type: 'VARCHAR' },
  { name: 'amount', type: 'DECIMAL(18,2)' },
  { name: 'big', type: 'HUGEINT' },
  { name: 'day', type: 'DATE' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'tstz', type: 'TIMESTAMPTZ' },
  { name: 'flag', type: 'BOOLEAN' },
  { name: 'payload', type: 'JSON' },
  { name: 'note', type: 'VARCHAR' },
]

const TRAPS_ROWS = [
  [
    1,
    'Smith, "Jo"',
    '12.34',
    '170141183460469231731687303715884105727',
    '2024-02-29',
    '2024-01-01T10:00:00',
    '2024-01-01T08:00:00+00:00',
    true,
    '{"a":[1,2]}',
    'line1\nline2',
  ],
  [
    2,
    '',
    '-0.01',
    '-9223372036854775809',
    '1970-01-01',
    '1999-12-31T23:59:59.123456',
    '2024-06-30T23:00:00+00:00',
    false,
    'null',
    'Ünïcödé ✓ 日本',
  ],
  [3, null, null, null, null, null, null, null, null, null],
]

describe('imports into internal tables', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-imports-'))
  let app: TestApp
  let orgKey: string
  let projectId: string
  let datasetId: string
  let tables: string

  beforeAll(async () => {
    const sqlite = new Database(path.join(root, 'shop.sqlite'))
    sqlite.exec(
      "create table customers (id integer primary key, country text); insert into customers values (1, 'DE'), (2, 'BR')",
    )
    sqlite.close()
    app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: root } })
    orgKey = (await createOrganization(app, 'Imports')).orgKey
    projectId = (await createProject(app, orgKey, 'Loads')).id
    const dataset = await app.request('POST', `${API}/projects/${projectId}/datasets`, {
      key: orgKey,
      body: { name: 'ds' },
    })
    datasetId = dataset.body.id
    tables = `${API}/projects/${projectId}/datasets/${datasetId}/tables`
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'shop', type: 'sqlite', config: { path: 'shop.sqlite' } },
    })
    expect(connection.status).toBe(201)
  })
  afterAll(async () => {
    await app.close()
    rmSync(root, { recursive: true, force: true })
  })

  async function createTable(name: string, schema: unknown[]) {
    const created = await app.request('POST', tables, { key: orgKey, body: { name, schema } })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return `${tables}/${created.body.id}`
  }

  async function importFile(table: string, content: string | Uint8Array, fileName: string, fields = {}) {
    const accepted = await uploadFile(app, orgKey, `${table}/imports`, content, fileName, fields)
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
    return waitForImport(app, orgKey, `${table}/imports/${accepted.body.id}`)
  }

  async function query(sql: string) {
    const response = await app.request('POST', `${API}/projects/${projectId}/sql`, { key: orgKey, body: { sql } })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    return response.body as { columns: { name: string; type: string }[]; rows: unknown[][] }
  }

  it('loads a CSV full of traps and /sql returns exactly its values', async () => {
    const table = await createTable('traps', TRAPS_SCHEMA)
    const job = await importFile(table, TRAPS_CSV, 'traps.csv')
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'succeeded', rows_written: 3, format: 'csv', progress: 1 })
    const result = await query('select * from internal.ds.traps order by id')
    expect(result.columns.map((column) => column.type)).toEqual([
      'BIGINT',
      'VARCHAR',
      'DECIMAL(18,2)',
      'HUGEINT',
      'DATE',
      'TIMESTAMP',
      'TIMESTAMP WITH TIME ZONE',
      'BOOLEAN',
      // The engine reports JSON by its storage type; DuckDB still knows it as JSON.
      'VARCHAR',
      'VARCHAR',
    ])
    expect(result.rows).toEqual(TRAPS_ROWS)
    expect((await query('select distinct typeof(payload) from internal.ds.traps')).rows).toEqual([['JSON']])
  })

  it('loads TSV, headerless CSV, a JSON array, gzipped NDJSON and Parquet', async () => {
    const schema = [
      { name: 'id', type: 'INTEGER', nullable: false },
      { name: 'label', type: 'VARCHAR' },
      { name: 'at', type: 'TIMESTAMPTZ' },
    ]
    const tsv = await createTable('from_tsv', schema)
    expect((await importFile(tsv, 'id\tlabel\tat\n1\ta, b\t2024-01-01 00:00:00+00\n', 'x.tsv')).status).toBe(
      'succeeded',
    )
    const headerless = await createTable('headerless', schema)
    expect(
      (await importFile(headerless, '1;semi;2024-01-01 00:00:00Z\n', 'x.txt', { header: 'false', delimiter: ';' }))
        .status,
    ).toBe('succeeded')
    const json = await createTable('from_json', schema)
    const array = JSON.stringify([{ ID: 1, label: 'a "quoted" word', at: '2024-01-01T00:00:00Z' }, { ID: 2 }])
    expect((await importFile(json, array, 'x.json')).status).toBe('succeeded')
    const ndjson = await createTable('from_ndjson', schema)
    const lines = '{"id": 1, "label": "ü"}\n{"id": 2, "label": null, "at": "2024-01-01 01:00:00+01"}\n'
    const gz = await importFile(ndjson, gzipSync(lines), 'x.ndjson.gz')
    expect(gz.status, JSON.stringify(gz)).toBe('succeeded')

    const parquetPath = path.join(root, 'x.parquet')
    const duck = await DuckDBInstance.create(':memory:')
    const connection = await duck.connect()
    await connection.run(
      `COPY (SELECT 7::INTEGER AS id, 'pq' AS label, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS at) TO '${parquetPath}' (FORMAT parquet)`,
    )
    connection.closeSync()
    duck.closeSync()
    const parquet = await createTable('from_parquet', schema)
    const { readFileSync } = await import('node:fs')
    expect((await importFile(parquet, readFileSync(parquetPath), 'data.bin', { format: 'parquet' })).status).toBe(
      'succeeded',
    )

    const all = await query(`
      select 'tsv' as src, * from internal.ds.from_tsv union all
      select 'headerless', * from internal.ds.headerless union all
      select 'json', * from internal.ds.from_json union all
      select 'ndjson', * from internal.ds.from_ndjson union all
      select 'parquet', * from internal.ds.from_parquet order by 1, 2`)
    expect(all.rows).toEqual([
      ['headerless', 1, 'semi', '2024-01-01T00:00:00+00:00'],
      ['json', 1, 'a "quoted" word', '2024-01-01T00:00:00+00:00'],
      ['json', 2, null, null],
      ['ndjson', 1, 'ü', null],
      ['ndjson', 2, null, '2024-01-01T00:00:00+00:00'],
      ['parquet', 7, 'pq', '2024-01-01T00:00:00+00:00'],
      ['tsv', 1, 'a, b', '2024-01-01T00:00:00+00:00'],
    ])
  })

  it('appends, replaces, and leaves the table exactly as it was when a row does not fit', async () => {
    const table = await createTable('modes', [
      { name: 'id', type: 'BIGINT', nullable: false },
      { name: 'at', type: 'TIMESTAMPTZ' },
    ])
    expect((await importFile(table, 'id\n1\n2\n', 'a.csv')).status).toBe('succeeded')
    expect((await importFile(table, 'id\n3\n', 'b.csv', { mode: 'append' })).status).toBe('succeeded')
    expect((await query("select string_agg(id::varchar, '-' order by id) from internal.ds.modes")).rows).toEqual([
      ['1-2-3'],
    ])
    expect((await importFile(table, 'id\n9\n', 'c.csv', { mode: 'replace' })).status).toBe('succeeded')
    expect((await query("select string_agg(id::varchar, '-' order by id) from internal.ds.modes")).rows).toEqual([
      ['9'],
    ])
    const before = await app.request('GET', table, { key: orgKey })

    // Line 3 is no integer; the value on line 6 (a row after a field spanning two lines) is no timestamp.
    const bad = 'id,at\n1,\nx,\n"2","2024-01-01\n"\n4,not a time\n'
    const failed = await importFile(table, bad, 'bad.csv', { mode: 'replace' })
    expect(failed.status).toBe('failed')
    expect(failed.error?.code).toBe('validation_error')
    expect(failed.error?.rejected_rows[0]).toMatchObject({ line: 3, column: 'id' })

    const badTime = await importFile(table, 'id,at\n1,\n"2",2024-01-01\n3,"not\na time"\n4,never\n', 'bad2.csv')
    expect(badTime.status).toBe('failed')
    expect(badTime.error?.rejected_rows).toEqual([
      { line: 4, row: null, column: 'at', value: 'not\na time', reason: 'cannot be read as TIMESTAMP WITH TIME ZONE' },
      { line: 6, row: null, column: 'at', value: 'never', reason: 'cannot be read as TIMESTAMP WITH TIME ZONE' },
    ])
    const missing = await importFile(table, '[{"id": 1}, {"at": "2024-01-01T00:00:00Z"}]', 'missing.json')
    expect(missing.status).toBe('failed')
    expect(missing.error?.rejected_rows).toEqual([
      { line: null, row: 2, column: 'id', value: null, reason: "column 'id' is NOT NULL but the value is missing" },
    ])

    const after = await app.request('GET', table, { key: orgKey })
    expect(after.body).toEqual(before.body)
    expect((await query("select string_agg(id::varchar, '-' order by id) from internal.ds.modes")).rows).toEqual([
      ['9'],
    ])
    const list = await app.request('GET', `${table}/imports?limit=2`, { key: orgKey })
    expect(list.body.data.map((job: { status: string }) => job.status)).toEqual(['failed', 'failed'])
    expect(list.body.next_cursor).not.toBeNull()
  })

  it('refuses extra and missing columns, and files that are not what they say, keeping nothing', async () => {
    const table = await createTable('strict', [
      { name: 'id', type: 'INTEGER', nullable: false },
      { name: 'label', type: 'VARCHAR' },
    ])
    const send = (content: string | Uint8Array, name: string, fields = {}) =>
      uploadFile(app, orgKey, `${table}/imports`, content, name, fields)
    const extra = await send('id,label,extra\n1,a,b\n', 'x.csv')
    expect(extra.status).toBe(422)
    expect(extra.body.error.details).toEqual({ extra_columns: ['extra'] })
    expect((await send('label\na\n', 'x.csv')).body.error.details).toEqual({ missing_columns: ['id'] })
    const ignored = await send('id,label,extra\n1,a,b\n', 'x.csv', { ignore_extra_columns: 'true' })
    expect(ignored.status).toBe(202)
    expect((await waitForImport(app, orgKey, `${table}/imports/${ignored.body.id}`)).status).toBe('succeeded')

    const lies = [
      { content: 'id,label\n1,a\n', name: 'x.csv', fields: { format: 'parquet' }, message: /not Parquet/ },
      { content: new Uint8Array([0, 1, 2, 255, 254, 0, 7]), name: 'x.csv', fields: {}, message: /binary/ },
      { content: 'id,label\n1,a\n', name: 'x.json', fields: {}, message: /not a JSON array/ },
      { content: new Uint8Array([0x1f, 0x8b, 1, 2, 3]), name: 'x.csv.gz', fields: {}, message: /gzip/ },
      { content: '', name: 'x.csv', fields: {}, message: /empty/ },
      { content: 'id\n1\n', name: 'x.csv', fields: { mode: 'upsert' }, message: /^mode:/ },
    ]
    for (const lie of lies) {
      const refused = await send(lie.content, lie.name, lie.fields)
      expect(refused.status, lie.name).toBe(422)
      expect(refused.body.error.message).toMatch(lie.message)
    }
    const noFile = await app.tributary.app.request(`${table}/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${orgKey}` },
      body: (() => {
        const form = new FormData()
        form.append('mode', 'append')
        return form
      })(),
    })
    expect(noFile.status).toBe(422)
    expect(readdirSync(app.tributary.services.imports.uploadsDir)).toEqual([])
    expect((await query('select count(*) from internal.ds.strict')).rows).toEqual([[1]])
  })

  it('refuses an upload over the limit with 413 and writes nothing', async () => {
    const small = await startTestApp('pglite', { env: { TRIBUTARY_UPLOAD_LIMIT_BYTES: '1000' } })
    try {
      const key = (await createOrganization(small, 'Small')).orgKey
      const project = (await createProject(small, key, 'P')).id
      const dataset = await small.request('POST', `${API}/projects/${project}/datasets`, { key, body: { name: 'd' } })
      const table = await small.request('POST', `${API}/projects/${project}/datasets/${dataset.body.id}/tables`, {
        key,
        body: { name: 't', schema: [{ name: 'v', type: 'VARCHAR' }] },
      })
      const url = `${API}/projects/${project}/datasets/${dataset.body.id}/tables/${table.body.id}/imports`
      const big = `v\n${'x'.repeat(5000)}\n`
      const refused = await uploadFile(small, key, url, big, 'big.csv')
      expect(refused.status).toBe(413)
      expect(refused.body.error.code).toBe('payload_too_large')
      expect(readdirSync(small.tributary.services.imports.uploadsDir)).toEqual([])
      expect((await small.request('GET', url, { key })).body.data).toEqual([])
      // A JSON body elsewhere keeps the ordinary limit and content-type rules.
      expect((await uploadFile(small, key, `${API}/projects/${project}/datasets`, 'x', 'x.csv')).status).toBe(415)
    } finally {
      await small.close()
    }
  })

  it('joins an internal table with SQLite, and imports the result of a query', async () => {
    const orders = await createTable('orders', [
      { name: 'customer_id', type: 'INTEGER' },
      { name: 'total', type: 'DECIMAL(10,2)' },
    ])
    expect((await importFile(orders, 'customer_id,total\n1,10.50\n1,4.50\n2,7.25\n', 'o.csv')).status).toBe('succeeded')
    const sql = `select c.country, sum(o.total) as revenue from internal.ds.orders o
                 join shop.main.customers c on c.id = o.customer_id group by c.country`
    expect((await query(`${sql} order by 1`)).rows).toEqual([
      ['BR', '7.25'],
      ['DE', '15.00'],
    ])

    const summary = await createTable('revenue', [
      { name: 'country', type: 'VARCHAR', nullable: false },
      { name: 'revenue', type: 'DECIMAL(18,2)' },
    ])
    const accepted = await app.request('POST', `${summary}/imports`, { key: orgKey, body: { sql } })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
    expect(accepted.body).toMatchObject({ source: 'sql', sql, status: 'queued' })
    const job = await waitForImport(app, orgKey, `${summary}/imports/${accepted.body.id}`)
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'succeeded', rows_written: 2 })
    expect((await query('select * from internal.ds.revenue order by 1')).rows).toEqual([
      ['BR', '7.25'],
      ['DE', '15.00'],
    ])
    const wrong = await app.request('POST', `${summary}/imports`, { key: orgKey, body: { sql: 'select 1 as nope' } })
    const failed = await waitForImport(app, orgKey, `${summary}/imports/${wrong.body.id}`)
    expect(failed.error).toMatchObject({ code: 'validation_error' })
    expect((await app.request('POST', `${summary}/imports`, { key: orgKey, body: { sql: '' } })).status).toBe(422)
  })

  it('cancels a running import and leaves the table as it was', async () => {
    const table = await createTable('big', [
      { name: 'a', type: 'BIGINT' },
      { name: 'b', type: 'VARCHAR' },
    ])
    expect((await importFile(table, 'a,b\n1,x\n', 'one.csv')).status).toBe('succeeded')
    const before = await app.request('GET', table, { key: orgKey })
    const csv = path.join(root, 'big.csv')
    const duck = await DuckDBInstance.create(':memory:')
    const connection = await duck.connect()
    await connection.run(
      `COPY (SELECT i AS a, md5(i::VARCHAR) || md5((i+1)::VARCHAR) AS b FROM range(3000000) t(i)) TO '${csv}' (HEADER)`,
    )
    connection.closeSync()
    duck.closeSync()
    const { readFileSync } = await import('node:fs')
    const accepted = await uploadFile(app, orgKey, `${table}/imports`, readFileSync(csv), 'big.csv')
    expect(accepted.status).toBe(202)
    const jobPath = `${table}/imports/${accepted.body.id}`
    for (let i = 0; i < 200; i++) {
      const state = await app.request('GET', jobPath, { key: orgKey })
      if (state.body.status === 'running') break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const cancelled = await app.request('POST', `${jobPath}/cancel`, { key: orgKey })
    expect(cancelled.status).toBe(200)
    const job = await waitForImport(app, orgKey, jobPath)
    expect(job.status).toBe('cancelled')
    expect((await app.request('GET', table, { key: orgKey })).body).toEqual(before.body)
    expect((await query('select count(*) from internal.ds.big')).rows).toEqual([[1]])
  })
})
