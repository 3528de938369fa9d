import path from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../../../test/fixtures/chinook.js'
import {
  type ConnectorContext,
  type PushedFilter,
  type ScanRequest,
  type SourceCatalog,
  SourceError,
  type SourceSession,
  type SourceTable,
} from '../connector.js'
import { discardingSink, duckdbCondition, loadScan } from '../testing/duckdb-load.js'
import { sqliteConnector } from './sqlite-connector.js'
import { sqliteScanSql } from './sqlite-scan.js'

const TEXTS = [
  'carriage\rreturn and crlf\r\n',
  '',
  'plain',
  'with, comma',
  'with "quotes"',
  'line\nfeed',
  '  spaces  ',
  'ünïcödé 漢字 😀',
  'back\\slash',
  "O'Reilly",
  '\\N',
  'NULL',
]

const CHINOOK_TABLES = [
  'Album',
  'Artist',
  'Customer',
  'Employee',
  'Genre',
  'Invoice',
  'InvoiceLine',
  'MediaType',
  'Playlist',
  'PlaylistTrack',
  'Track',
]

describe('sqlite connector: scan', () => {
  let sources: ChinookSources
  let context: ConnectorContext
  let session: SourceSession
  let catalog: SourceCatalog
  let source: Database.Database

  beforeAll(async () => {
    sources = await loadChinook([])
    context = { fileRoots: [path.dirname(sources.sqlitePath)], connectTimeoutMs: 2_000 }
    const writer = new Database(sources.sqlitePath)
    writer.exec(`
      CREATE TABLE texts (id INTEGER PRIMARY KEY, s TEXT);
      CREATE TABLE types (
        id INTEGER PRIMARY KEY, c_int INTEGER, c_real REAL, c_decimal NUMERIC(10,2), c_bool BOOLEAN, c_date DATE,
        c_datetime DATETIME, c_blob BLOB, c_nocase TEXT COLLATE NOCASE, c_text TEXT, c_any
      );
      CREATE TABLE strict_texts (id INTEGER PRIMARY KEY, s TEXT) STRICT;
      CREATE TABLE bad_ints (id INTEGER PRIMARY KEY, n INTEGER);
      CREATE VIEW endless AS
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000)
        SELECT i AS id, 'some filler text' AS filler FROM n;
    `)
    const insertText = writer.prepare('INSERT INTO texts VALUES (?, ?)')
    TEXTS.forEach((s, i) => insertText.run(i + 1, s))
    insertText.run(100, null)
    writer.prepare('INSERT INTO strict_texts VALUES (?, ?)').run(1, 'Germany')
    const insertType = writer.prepare('INSERT INTO types VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    insertType.run(
      1,
      9007199254740993n,
      0.1,
      1.005,
      1,
      '2024-02-29',
      '2024-02-29 12:34:56.789',
      Buffer.from('00ff10', 'hex'),
      'Germany',
      'abc',
      42,
    )
    insertType.run(
      2,
      -9223372036854775808n,
      1e300,
      12,
      0,
      '0044-03-15',
      '2024-02-29T01:02:03',
      Buffer.alloc(0),
      'germany',
      Buffer.from('blob text'),
      'text',
    )
    insertType.run(3, 9223372036854775807n, -0.0, -0.015, 'true', null, null, null, null, '', 1.5)
    insertType.run(4, null, null, null, null, null, null, null, null, null, Buffer.from([1, 2]))
    writer.prepare('INSERT INTO bad_ints VALUES (?, ?)').run(1, 5)
    writer.prepare('INSERT INTO bad_ints VALUES (?, ?)').run(2, 'five')
    writer.close()
    source = new Database(sources.sqlitePath, { readonly: true })
    session = await sqliteConnector.connect({ path: sources.sqlitePath }, context)
    catalog = await session.introspect()
  })

  afterAll(async () => {
    await session?.close()
    source?.close()
    await sources?.cleanup()
  })

  const table = (name: string): SourceTable => {
    const found = catalog.schemas[0]!.tables.find((t) => t.name === name)
    if (!found) throw new Error(`${name} is not in the catalog`)
    return found
  }
  const request = (name: string, change: Partial<ScanRequest> & { columnNames?: string[] } = {}): ScanRequest => {
    const { columnNames, ...rest } = change
    const columns = table(name).columns.filter((c) => !columnNames || columnNames.includes(c.name))
    return { schema: 'main', table: name, columns, filters: [], ...rest }
  }
  const scan = (req: ScanRequest, signal = new AbortController().signal) =>
    loadScan(req.columns, (sink) => session.scan!(req, sink, signal))

  it('reads every Chinook table whole, with the same rows as the source', async () => {
    for (const name of CHINOOK_TABLES) {
      const key = table(name).columns[0]!.name
      const loaded = await scan(request(name))
      try {
        const expected = source.prepare(`SELECT count(*) AS n, sum("${key}") AS k FROM "${name}"`).get()
        const [read] = await loaded.rows(`SELECT count(*)::int AS n, sum("${key}")::int AS k FROM scan`)
        expect({ name, ...read }).toEqual({ name, ...(expected as object) })
        expect(loaded.result.rows).toBe((expected as { n: number }).n)
      } finally {
        loaded.close()
      }
    }
  })

  it('reads Invoice with the right types and values, its DATETIME text as TIMESTAMP', async () => {
    const loaded = await scan(request('Invoice'))
    try {
      expect((await loaded.rows('describe scan')).map((row) => [row.column_name, row.column_type])).toEqual(
        table('Invoice').columns.map((c) => [c.name, c.type]),
      )
      expect(table('Invoice').columns.find((c) => c.name === 'InvoiceDate')?.type).toBe('TIMESTAMP')
      const expected = source
        .prepare(
          `SELECT sum(CAST(round(Total * 100) AS INTEGER)) AS cents,
            group_concat(BillingCountry, '|') AS countries,
            group_concat(coalesce(BillingState, '<null>'), '|') AS states,
            group_concat(InvoiceDate, '|') AS dates
          FROM (SELECT * FROM Invoice ORDER BY InvoiceId)`,
        )
        .get()
      const [read] = await loaded.rows(`
        SELECT (sum(Total) * 100)::int AS cents, string_agg(BillingCountry, '|' ORDER BY InvoiceId) AS countries,
          string_agg(coalesce(BillingState, '<null>'), '|' ORDER BY InvoiceId) AS states,
          string_agg(strftime(InvoiceDate, '%Y-%m-%d %H:%M:%S'), '|' ORDER BY InvoiceId) AS dates
        FROM scan`)
      expect(read).toEqual(expected)
      expect(loaded.result.remoteSql).toBe(
        'SELECT "InvoiceId", "CustomerId", "InvoiceDate", "BillingAddress", "BillingCity", "BillingState", ' +
          '"BillingCountry", "BillingPostalCode", "Total" FROM "main"."Invoice"',
      )
    } finally {
      loaded.close()
    }
  })

  it('pushes a selective text filter in byte order, and reads only matching rows', async () => {
    const loaded = await scan(
      request('Invoice', { filters: [{ column: 'BillingCountry', op: '=', value: 'Germany' }] }),
    )
    try {
      expect(loaded.result.remoteSql).toContain(
        `WHERE ("BillingCountry" COLLATE BINARY = 'Germany' OR typeof("BillingCountry") = 'blob')`,
      )
      const expected = source.prepare(`SELECT count(*) AS n FROM Invoice WHERE BillingCountry = 'Germany'`).get()
      expect(loaded.result.rows).toBe((expected as { n: number }).n)
      expect(loaded.result.rows).toBeGreaterThan(0)
      expect(await loaded.rows('SELECT DISTINCT BillingCountry FROM scan')).toEqual([{ BillingCountry: 'Germany' }])
    } finally {
      loaded.close()
    }
  })

  it('pushes integer, decimal and text filters, and never dates or booleans', async () => {
    const filters: PushedFilter[] = [
      { column: 'InvoiceId', op: '>', value: 10 },
      { column: 'CustomerId', op: 'in', values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 40, 41] },
      { column: 'Total', op: '>=', value: 1.98 },
      { column: 'Total', op: '<', value: '13.86' },
      { column: 'BillingCountry', op: '>', value: 'C' },
      { column: 'BillingCity', op: '<>', value: 'Oslo' },
      { column: 'BillingState', op: 'is_null' },
      { column: 'InvoiceDate', op: '>=', value: '2022-01-01 00:00:00' },
    ]
    const loaded = await scan(request('Invoice', { filters }))
    try {
      expect(loaded.result.remoteSql).toContain(
        ' WHERE "InvoiceId" > 10 AND "CustomerId" IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 40, 41)' +
          ' AND "Total" >= 1.98 - 0.01 AND "Total" <= 13.86 + 0.01' +
          ` AND "BillingCountry" COLLATE BINARY > 'C' AND "BillingCity" COLLATE BINARY <> 'Oslo'` +
          ' AND "BillingState" IS NULL',
      )
      expect(loaded.result.remoteSql).not.toContain('InvoiceDate" >=')
      const expected = source
        .prepare(
          `SELECT count(*) AS n, sum(InvoiceId) AS ids FROM Invoice WHERE InvoiceId > 10
           AND CustomerId IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 40, 41) AND Total >= 1.98 AND Total < 13.86
           AND BillingCountry > 'C' AND BillingCity <> 'Oslo' AND BillingState IS NULL AND InvoiceDate >= '2022-01-01'`,
        )
        .get() as { n: number; ids: number }
      expect(expected.n).toBeGreaterThan(0)
      // DuckDB applies every filter again over what the source sent.
      const [read] = await loaded.rows(`SELECT count(*)::int AS n, sum(InvoiceId)::int AS ids FROM scan
        WHERE InvoiceId > 10 AND CustomerId IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 40, 41) AND Total >= 1.98
          AND Total < 13.86 AND BillingCountry > 'C' AND BillingCity <> 'Oslo' AND BillingState IS NULL
          AND InvoiceDate >= '2022-01-01'`)
      expect(read).toEqual(expected)
    } finally {
      loaded.close()
    }
  })

  it('selects only the requested columns, and applies a limit', async () => {
    const req = request('Track', { columnNames: ['TrackId', 'Name'], limit: 5 })
    req.columns.reverse()
    const loaded = await scan(req)
    try {
      expect(loaded.result.remoteSql).toBe('SELECT "Name", "TrackId" FROM "main"."Track" LIMIT 5')
      expect(loaded.result.rows).toBe(5)
      expect((await loaded.rows('describe scan')).map((row) => row.column_name)).toEqual(['Name', 'TrackId'])
    } finally {
      loaded.close()
    }
  })

  it('round-trips text: quotes, commas, line breaks, unicode, and the empty string apart from NULL', async () => {
    const loaded = await scan(request('texts'))
    try {
      expect(await loaded.rows('SELECT id::int AS id, s FROM scan ORDER BY id')).toEqual([
        ...TEXTS.map((s, i) => ({ id: i + 1, s })),
        { id: 100, s: null },
      ])
      for (const value of TEXTS) {
        const filtered = await scan(request('texts', { filters: [{ column: 's', op: '=', value }] }))
        try {
          expect(await filtered.rows('SELECT id::int AS id FROM scan'), value).toEqual([
            { id: TEXTS.indexOf(value) + 1 },
          ])
        } finally {
          filtered.close()
        }
      }
    } finally {
      loaded.close()
    }
  })

  it('round-trips every type, reading each stored value as its column’s DuckDB type', async () => {
    const loaded = await scan(request('types'))
    try {
      expect(
        Object.fromEntries((await loaded.rows('describe scan')).map((r) => [r.column_name, r.column_type])),
      ).toEqual({
        id: 'BIGINT',
        c_int: 'BIGINT',
        c_real: 'DOUBLE',
        c_decimal: 'DECIMAL(10,2)',
        c_bool: 'BOOLEAN',
        c_date: 'DATE',
        c_datetime: 'TIMESTAMP',
        c_blob: 'BLOB',
        c_nocase: 'VARCHAR',
        c_text: 'VARCHAR',
        c_any: 'VARCHAR',
      })
      const names = table('types').columns.map((c) => c.name)
      const rows = (await loaded.text()).map((row) => Object.fromEntries(row.map((v, i) => [names[i], v])))
      expect(rows).toEqual([
        {
          id: '1',
          c_int: '9007199254740993',
          c_real: '0.1',
          c_decimal: '1.01',
          c_bool: 'true',
          c_date: '2024-02-29',
          c_datetime: '2024-02-29 12:34:56.789',
          c_blob: '00FF10',
          c_nocase: 'Germany',
          c_text: 'abc',
          c_any: '42',
        },
        {
          id: '2',
          c_int: '-9223372036854775808',
          c_real: '1e+300',
          c_decimal: '12.00',
          c_bool: 'false',
          c_date: '0044-03-15',
          c_datetime: '2024-02-29 01:02:03',
          c_blob: '',
          c_nocase: 'germany',
          c_text: 'blob text',
          c_any: 'text',
        },
        {
          id: '3',
          c_int: '9223372036854775807',
          // SQLite itself stores -0.0 as 0.
          c_real: '0.0',
          c_decimal: '-0.02',
          c_bool: 'true',
          c_date: null,
          c_datetime: null,
          c_blob: null,
          c_nocase: null,
          c_text: '',
          c_any: '1.5',
        },
        {
          id: '4',
          c_int: null,
          c_real: null,
          c_decimal: null,
          c_bool: null,
          c_date: null,
          c_datetime: null,
          c_blob: null,
          c_nocase: null,
          c_text: null,
          c_any: '\u0001\u0002',
        },
      ])
    } finally {
      loaded.close()
    }
  })

  it('filters so that no row DuckDB would keep is lost', async () => {
    const cases: [PushedFilter, number[]][] = [
      [{ column: 'c_int', op: '=', value: 9007199254740993n }, [1]],
      [{ column: 'c_real', op: '=', value: 0.1 }, [1]],
      [{ column: 'c_real', op: '>', value: 1e299 }, [2]],
      // 1.005 is stored as 1.00499999999999989…, which DuckDB reads as 1.01 at scale 2.
      [{ column: 'c_decimal', op: '=', value: 1.01 }, [1]],
      [{ column: 'c_decimal', op: '<', value: -0.015 }, [3]],
      // A NOCASE column compares in byte order, as DuckDB does.
      [{ column: 'c_nocase', op: '=', value: 'Germany' }, [1]],
      [{ column: 'c_nocase', op: '>', value: 'H' }, [2]],
      // A blob in a TEXT column reads as its text, and must not be dropped by the source.
      [{ column: 'c_text', op: '=', value: 'blob text' }, [2]],
      [{ column: 'c_text', op: 'in', values: ['abc', 'blob text'] }, [1, 2]],
      [{ column: 'c_text', op: 'is_null' }, [4]],
    ]
    for (const [filter, ids] of cases) {
      const label = JSON.stringify(filter, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
      const loaded = await scan(request('types', { filters: [filter] }))
      try {
        expect(loaded.result.remoteSql, label).toContain(' WHERE ')
        const read = await loaded.rows(`SELECT id::int AS id FROM scan WHERE ${duckdbCondition(filter)} ORDER BY id`)
        expect(
          read.map((row) => row.id),
          label,
        ).toEqual(ids)
      } finally {
        loaded.close()
      }
    }
  })

  it('leaves out filters it cannot apply exactly', () => {
    const facts = { strict: false, utf8: true }
    const sql = sqliteScanSql(
      request('types', {
        filters: [
          { column: 'c_bool', op: '=', value: true },
          { column: 'c_date', op: '=', value: '2024-02-29' },
          { column: 'c_datetime', op: '>', value: '2024-02-29 00:00:00' },
          { column: 'c_blob', op: '=', value: 'x' },
          { column: 'c_any', op: '=', value: '42' },
          { column: 'c_int', op: '=', value: 2 ** 53 + 2 },
          { column: 'c_real', op: '=', value: 5n },
          { column: 'c_decimal', op: '<>', value: 1 },
          { column: 'c_text', op: '=', value: 'nul\0inside' },
        ],
      }),
      facts,
    )
    expect(sql).not.toContain('WHERE')
    // In a STRICT table a TEXT column holds only text.
    expect(
      sqliteScanSql(request('strict_texts', { filters: [{ column: 's', op: '=', value: 'x' }] }), {
        strict: true,
        utf8: true,
      }),
    ).toBe(`SELECT "id", "s" FROM "main"."strict_texts" WHERE "s" COLLATE BINARY = 'x'`)
    // UTF-16 orders text differently from UTF-8: equality only.
    const utf16 = sqliteScanSql(
      request('texts', {
        filters: [
          { column: 's', op: '<', value: 'x' },
          { column: 's', op: '<>', value: 'y' },
        ],
      }),
      { strict: true, utf8: false },
    )
    expect(utf16).toMatch(/WHERE "s" COLLATE BINARY <> 'y'$/)
  })

  it('fails with a message naming a value its column cannot hold', async () => {
    const error: unknown = await scan(request('bad_ints')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SourceError)
    expect((error as Error).message).toBe('column "n" of table "bad_ints" holds the text "five", which is not a BIGINT')
    // A filter that leaves the bad row out makes the rest readable.
    const loaded = await scan(request('bad_ints', { filters: [{ column: 'n', op: '<', value: 10 }] }))
    try {
      expect(loaded.result.rows).toBe(1)
    } finally {
      loaded.close()
    }
  })

  it('stops reading when aborted', async () => {
    const controller = new AbortController()
    let writes = 0
    const scanning = session.scan!(
      request('endless'),
      discardingSink(async () => {
        if (++writes === 3) controller.abort()
      }),
      controller.signal,
    )
    await expect(scanning).rejects.toMatchObject({ name: 'AbortError' })
    expect(writes).toBe(3)
  })

  it('runs overlapping scans of one session side by side', async () => {
    let releaseFirst!: () => void
    const firstMayGoOn = new Promise<void>((resolve) => (releaseFirst = resolve))
    const first = session.scan!(
      request('Genre'),
      discardingSink(() => firstMayGoOn),
      new AbortController().signal,
    )
    const second = await scan(request('MediaType'))
    try {
      expect(second.result.rows).toBe(5)
    } finally {
      second.close()
    }
    releaseFirst()
    expect((await first).rows).toBe(25)
  })
})
