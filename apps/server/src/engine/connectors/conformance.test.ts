import path from 'node:path'

import { DuckDBInstance } from '@duckdb/node-api'
import type { SourceType } from '@tributary/contract'
import Database from 'better-sqlite3'
import { createConnection, type RowDataPacket } from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../test/fixtures/chinook.js'
import { quoteIdentifier, quoteLiteral } from '../duckdb-sql.js'
import { type CatalogHandle, type EngineResult, SqlEngine } from '../engine.js'
import { fixedCatalogs } from '../engine.test-support.js'
import { columnConverter } from '../values.js'
import type { ConnectorContext, SourceCatalog, SourceColumn, SourceSession, SourceTable } from './connector.js'
import type { Dialect } from './dialect.js'
import { mysqlConnector } from './mysql/mysql-connector.js'
import { postgresqlConnector } from './postgresql/postgresql-connector.js'
import { sqliteConnector } from './sqlite/sqlite-connector.js'

/*
 * One suite for every SQL source, as Kysely runs its tests `for (const dialect of DIALECTS)`: the same
 * tables are created in each source, and the same queries run over them through the engine. Each
 * answer is compared with what DuckDB computes over the same rows held locally (catalog `ref`), and
 * where it says something, with the SQL the source was sent. A source type added to the contract
 * that answers SQL gets a compile error here until it is in SOURCES.
 */

type SqlSourceType = Exclude<SourceType, 'files'>
type Value = number | bigint | string | boolean | null

/** A source ready for the suite: its tables created and filled. */
interface OpenedSource {
  /** The schema holding the suite's tables. */
  schema: string
  connect(): Promise<SourceSession>
  /** Queries the platform is running on the source; undefined where there is no server to ask. */
  running?(): Promise<number>
  close(): Promise<void>
}

interface SqlSource {
  /** Null when the source is reachable; the reason it is not otherwise (an error with REQUIRE_SERVICES=1). */
  skipReason(): Promise<string | null>
  dialect: Dialect
  /** The DuckDB type each column of `items` must read as. */
  itemTypes: Record<(typeof ITEM_COLUMNS)[number], string>
  open(): Promise<OpenedSource>
}

const ITEM_COLUMNS = ['id', 'category_id', 'qty', 'price', 'ratio', 'name', 'sold_on', 'sold_at', 'flag'] as const

/** Text that breaks naive encoders: case, accents both precomposed and combining, emoji, quotes, breaks. */
const NAMES = {
  plain: 'apple',
  upper: 'Apple',
  trailingSpace: 'apple ',
  unicode: 'ünïcödé 漢字 😀',
  combining: 'e\u0301',
  precomposed: '\u00e9',
  stacked: 'a\u0301\u0302 Zalgo',
  emoji: '👩‍👩‍👧 🇩🇪 🦓',
  quotes: `O'Reilly \\ "quoted", comma`,
  breaks: 'line\nfeed\ttab\r\n',
  empty: '',
  nullWord: 'NULL',
  backslashN: '\\N',
  b: 'b',
}

// id, category_id, qty, price, ratio, name, sold_on, sold_at, flag
const ITEMS: Value[][] = [
  [1, 1, 5, '12.50', 0.1, NAMES.plain, '2024-02-29', '2024-02-29 12:34:56.123456', true],
  [2, 1, 7, '0.99', -2.5, NAMES.upper, '2023-12-31', '2023-12-31 23:59:59', false],
  [3, 2, 1, '100.00', 1e300, NAMES.unicode, '1969-07-20', '1969-07-20 20:17:40', true],
  [4, 2, 5, '-3.25', 0, NAMES.combining, '2000-01-01', '2000-01-01 00:00:00', false],
  [5, 3, 9007199254740993n, '7.00', 2.5, NAMES.precomposed, '2024-01-01', '2024-01-01 08:00:00.5', null],
  [6, null, null, null, null, null, null, null, null],
  [7, 3, 0, '0.00', -0.5, NAMES.empty, '2024-03-01', '2024-03-01 00:00:00', true],
  [8, 1, 12, '12.50', 0.1, NAMES.quotes, '2024-02-29', '2024-02-29 00:00:00', false],
  [9, 4, -4, '5.05', 3.75, NAMES.trailingSpace, '1999-12-31', '1999-12-31 23:59:59.999999', true],
  [10, 2, 3, '99999999.99', 1e-300, NAMES.emoji, '2038-01-19', '2038-01-19 03:14:08', false],
  [11, 1, 5, '12.50', 0.1, NAMES.b, '2024-02-29', '2024-02-29 12:34:56.123456', true],
  [12, 3, 2, '1.00', 1.5, NAMES.breaks, '2024-06-30', '2024-06-30 12:00:00', true],
  [13, 2, 8, '2.00', -1.25, NAMES.nullWord, '2024-07-01', '2024-07-01 00:00:00.000001', false],
  [14, 1, 9, '3.00', 7, NAMES.backslashN, '2024-07-02', '2024-07-02 00:00:00', true],
  [15, 2, 4, '4.00', 8, NAMES.stacked, '2024-07-03', '2024-07-03 00:00:00', true],
]

// Category 4 is missing (a LEFT JOIN keeps its item with a NULL label) and 5 has no items; two share a label.
const CATEGORIES: Value[][] = [
  [1, 'fruit'],
  [2, 'Ünïcode 😀'],
  [3, 'fruit'],
  [5, null],
]

/** 10^9 rows made by crossing a ten-row table nine times: rows stream out long before the end. */
const endlessView = (from: (table: string) => string) =>
  `SELECT ${[...'abcdefghi'].map((alias, i) => `${alias}.d * ${10 ** i}`).join(' + ')} AS id ` +
  `FROM ${[...'abcdefghi'].map((alias) => `${from('digits')} ${alias}`).join(', ')}`

const postgresql: SqlSource = {
  skipReason: () => serviceSkipReason('postgres'),
  dialect: postgresqlConnector.pushdownDialect!,
  itemTypes: {
    id: 'INTEGER',
    category_id: 'INTEGER',
    qty: 'BIGINT',
    price: 'DECIMAL(10,2)',
    ratio: 'DOUBLE',
    name: 'VARCHAR',
    sold_on: 'DATE',
    sold_at: 'TIMESTAMP',
    flag: 'BOOLEAN',
  },
  async open() {
    const sources = await loadChinook(['postgres'])
    const config = sources.postgres!
    const admin = new pg.Client({ ...config, password: config.password || undefined, ssl: false })
    await admin.connect()
    const schema = 'conformance'
    const at = (table: string) => `${schema}.${table}`
    await admin.query(`
      create schema ${schema};
      create table ${at('items')} (id int primary key, category_id int, qty bigint, price numeric(10,2),
        ratio float8, name text, sold_on date, sold_at timestamp, flag boolean);
      create table ${at('categories')} (id int primary key, label text);
      create table ${at('digits')} (d int);
      insert into ${at('digits')} select generate_series(0, 9);
      create view ${at('endless')} as ${endlessView(at)};
    `)
    for (const [table, rows] of [
      ['items', ITEMS],
      ['categories', CATEGORIES],
    ] as const) {
      for (const row of rows) {
        const values = row.map((value) => (typeof value === 'bigint' ? String(value) : value))
        await admin.query(`insert into ${at(table)} values (${row.map((_, i) => `$${i + 1}`).join(', ')})`, values)
      }
    }
    return {
      schema,
      connect: () => postgresqlConnector.connect(config, CONTEXT),
      running: async () => {
        const result = await admin.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity
           where application_name = 'tributary' and datname = $1 and state = 'active'`,
          [config.database],
        )
        return result.rows[0]!.n
      },
      close: async () => {
        await admin.end()
        await sources.cleanup()
      },
    }
  },
}

const mysql: SqlSource = {
  skipReason: () => serviceSkipReason('mysql'),
  dialect: mysqlConnector.pushdownDialect!,
  itemTypes: {
    id: 'INTEGER',
    category_id: 'INTEGER',
    qty: 'BIGINT',
    price: 'DECIMAL(10,2)',
    ratio: 'DOUBLE',
    name: 'VARCHAR',
    sold_on: 'DATE',
    sold_at: 'TIMESTAMP',
    // MySQL's BOOLEAN is TINYINT(1), which holds any small integer.
    flag: 'TINYINT',
  },
  async open() {
    const sources = await loadChinook(['mysql'])
    const config = sources.mysql!
    const admin = await createConnection({
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password,
      database: config.database,
      multipleStatements: true,
      charset: 'utf8mb4_general_ci',
    })
    // The default collation folds case and pads spaces: what the connector must not let change an answer.
    await admin.query(`
      CREATE TABLE items (id INT PRIMARY KEY, category_id INT, qty BIGINT, price DECIMAL(10,2), ratio DOUBLE,
        name VARCHAR(100), sold_on DATE, sold_at DATETIME(6), flag BOOLEAN) CHARACTER SET utf8mb4;
      CREATE TABLE categories (id INT PRIMARY KEY, label VARCHAR(100)) CHARACTER SET utf8mb4;
      CREATE TABLE digits (d INT);
      INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);
      CREATE VIEW endless AS ${endlessView((table) => table)};
    `)
    const bind = (row: Value[]) => row.map((value) => (typeof value === 'bigint' ? String(value) : value))
    await admin.query('INSERT INTO items VALUES ?', [ITEMS.map(bind)])
    await admin.query('INSERT INTO categories VALUES ?', [CATEGORIES.map(bind)])
    return {
      schema: config.database,
      connect: () => mysqlConnector.connect(config, CONTEXT),
      running: async () => {
        const [rows] = await admin.query<RowDataPacket[]>(
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
           WHERE ID <> CONNECTION_ID() AND DB = ? AND COMMAND = 'Query'`,
          [config.database],
        )
        return Number(rows[0]!.n)
      },
      close: async () => {
        await admin.end()
        await sources.cleanup()
      },
    }
  },
}

const sqlite: SqlSource = {
  skipReason: async () => null,
  dialect: sqliteConnector.pushdownDialect!,
  itemTypes: {
    id: 'BIGINT',
    category_id: 'BIGINT',
    qty: 'BIGINT',
    price: 'DECIMAL(10,2)',
    ratio: 'DOUBLE',
    name: 'VARCHAR',
    sold_on: 'DATE',
    sold_at: 'TIMESTAMP',
    flag: 'BOOLEAN',
  },
  async open() {
    const sources: ChinookSources = await loadChinook([])
    const writer = new Database(sources.sqlitePath)
    try {
      writer.exec(`
        CREATE TABLE items (id INTEGER PRIMARY KEY, category_id INTEGER, qty INTEGER, price NUMERIC(10,2),
          ratio REAL, name TEXT, sold_on DATE, sold_at DATETIME, flag BOOLEAN);
        CREATE TABLE categories (id INTEGER PRIMARY KEY, label TEXT);
        CREATE TABLE digits (d INTEGER);
        INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);
        CREATE VIEW endless AS ${endlessView((table) => table)};
      `)
      const bind = (row: Value[]) => row.map((value) => (typeof value === 'boolean' ? Number(value) : value))
      const insertItem = writer.prepare(`INSERT INTO items VALUES (${ITEM_COLUMNS.map(() => '?').join(', ')})`)
      for (const row of ITEMS) insertItem.run(bind(row))
      const insertCategory = writer.prepare('INSERT INTO categories VALUES (?, ?)')
      for (const row of CATEGORIES) insertCategory.run(bind(row))
    } finally {
      writer.close()
    }
    const context = { ...CONTEXT, fileRoots: [path.dirname(sources.sqlitePath)] }
    return {
      schema: 'main',
      connect: () => sqliteConnector.connect({ path: sources.sqlitePath }, context),
      close: () => sources.cleanup(),
    }
  },
}

const SOURCES: Record<SqlSourceType, SqlSource> = { postgresql, mysql, sqlite }

const CONTEXT: ConnectorContext = { fileRoots: [], connectTimeoutMs: 2_000 }

/** Where a condition is sent to the source: on every source but those named. */
const everywhere =
  (...but: SqlSourceType[]) =>
  (type: SqlSourceType) =>
    !but.includes(type)
const nowhere = () => false

/**
 * One WHERE condition over `items`, read two ways: as a filter on a scan (`SELECT id … WHERE`), and
 * inside a grouped subquery that may go to the source whole. A pushed scan filter may let a superset
 * through (DuckDB filters again); a pushed subquery must compute exactly what DuckDB would.
 */
interface FilterCase {
  where: string
  scan: (type: SqlSourceType) => boolean
  subquery: (type: SqlSourceType) => boolean
}

const FILTERS: FilterCase[] = [
  { where: 'qty = 5', scan: everywhere(), subquery: everywhere() },
  { where: 'qty <> 5', scan: everywhere(), subquery: everywhere() },
  { where: 'qty < 5', scan: everywhere(), subquery: everywhere() },
  { where: 'qty <= 5', scan: everywhere(), subquery: everywhere() },
  { where: 'qty > 5', scan: everywhere(), subquery: everywhere() },
  { where: 'qty >= 5', scan: everywhere(), subquery: everywhere() },
  { where: 'id IN (1, 3, 5, 42)', scan: everywhere(), subquery: everywhere() },
  { where: 'ratio > 0.1', scan: everywhere(), subquery: everywhere() },
  // SQLite may store a NUMERIC column's value as text or REAL: compared remotely only as a widened range.
  { where: 'price BETWEEN 1.00 AND 12.50', scan: everywhere(), subquery: everywhere('sqlite') },
  // SQLite stores dates and timestamps as text in any format: never compared remotely.
  {
    where: "sold_on BETWEEN DATE '2000-01-01' AND DATE '2024-01-01'",
    scan: everywhere('sqlite'),
    subquery: everywhere('sqlite'),
  },
  { where: "sold_at >= TIMESTAMP '2024-01-01 08:00:00.5'", scan: everywhere('sqlite'), subquery: everywhere('sqlite') },
  { where: 'name IS NULL', scan: everywhere(), subquery: everywhere() },
  { where: 'name IS NOT NULL', scan: everywhere(), subquery: everywhere() },
  // DuckDB reads a prefix LIKE as a range of text, which goes where text ranges go.
  { where: "name LIKE 'a%'", scan: everywhere('mysql'), subquery: nowhere },
  { where: "name LIKE '%é%'", scan: nowhere, subquery: nowhere },
  { where: 'qty > 1 AND ratio < 1', scan: everywhere(), subquery: everywhere() },
  // A scan takes conjuncts only: DuckDB keeps an OR above it.
  { where: 'qty = 1 OR qty = 7', scan: nowhere, subquery: everywhere() },
  { where: "qty = 1 OR name = 'b'", scan: nowhere, subquery: everywhere() },
  // MySQL's collations may call different strings equal: only = and IN go to a scan there, as a superset.
  { where: "name = 'apple'", scan: everywhere(), subquery: everywhere() },
  { where: "name <> 'apple'", scan: everywhere('mysql'), subquery: everywhere() },
  // SQLite orders text by its encoding's bytes: a scan checks the file is UTF-8 (DuckDB's order), a
  // pushed subquery does not, so there text is compared for equality only.
  { where: "name < 'b'", scan: everywhere('mysql'), subquery: everywhere('sqlite') },
  { where: "name >= 'Z'", scan: everywhere('mysql'), subquery: everywhere('sqlite') },
  { where: `name IN ('apple', ${quoteLiteral(NAMES.unicode)})`, scan: everywhere(), subquery: everywhere() },
  // Integers beyond 2^53 are compared exactly, not as the doubles JavaScript would read them as.
  // SQLite would compare one exactly with a REAL column too, where DuckDB compares doubles: its
  // subqueries with such a literal stay in DuckDB.
  { where: 'qty = 9007199254740993', scan: everywhere(), subquery: everywhere('sqlite') },
  { where: 'qty IN (9007199254740992, 9007199254740994)', scan: everywhere(), subquery: everywhere('sqlite') },
  { where: 'qty > 9007199254740992', scan: everywhere(), subquery: everywhere('sqlite') },
]

/** Whole subqueries over the source's tables only, with the sources that run them whole. */
const SUBQUERIES: { name: string; sql: string; pushed: (type: SqlSourceType) => boolean; shape: RegExp }[] = [
  {
    name: 'a join grouped, counted, summed, with min and max',
    sql: `SELECT c.id AS category, count(*) AS n, sum(i.qty) AS qty, min(i.ratio) AS low, max(i.ratio) AS high
      FROM {items} i JOIN {categories} c ON i.category_id = c.id
      WHERE i.id <> 2 GROUP BY c.id ORDER BY c.id`,
    pushed: everywhere(),
    shape: /JOIN[\s\S]* WHERE [\s\S]* GROUP BY /,
  },
  {
    name: 'a join grouped by text, with min and max of text',
    sql: `SELECT c.label, count(*) AS n, min(i.name) AS first_name, max(i.name) AS last_name
      FROM {items} i JOIN {categories} c ON i.category_id = c.id GROUP BY c.label ORDER BY c.label`,
    pushed: everywhere('sqlite'),
    shape: /JOIN[\s\S]* GROUP BY /,
  },
  {
    name: 'a left join that keeps an item without its category',
    sql: `SELECT i.id, i.name, c.label FROM {items} i LEFT JOIN {categories} c ON i.category_id = c.id ORDER BY i.id`,
    pushed: everywhere(),
    shape: /LEFT JOIN/,
  },
  {
    name: 'distinct values, NULL among them',
    sql: 'SELECT DISTINCT category_id FROM {items} ORDER BY category_id NULLS FIRST',
    pushed: everywhere(),
    shape: /SELECT DISTINCT /,
  },
  {
    name: 'decimal sums and averages per group, with HAVING',
    sql: `SELECT category_id, sum(price) AS total, avg(price) AS mean, count(price) AS priced FROM {items}
      GROUP BY category_id HAVING count(*) > 1 ORDER BY category_id NULLS FIRST`,
    pushed: everywhere('sqlite'),
    shape: / GROUP BY [\s\S]* HAVING /,
  },
  {
    name: 'counts that skip NULLs',
    sql: `SELECT count(*) AS n, count(category_id) AS categories, count(qty) AS qty, count(price) AS prices,
      count(name) AS names, count(sold_on) AS days, count(flag) AS flags FROM {items}`,
    pushed: everywhere(),
    shape: /count\(\*\)/,
  },
  {
    name: 'a self-join grouped, under literals JavaScript numbers cannot hold',
    sql: `SELECT x.category_id, x.n, 9007199254740993 AS big, -9007199254740993 AS negative,
        18446744073709551615 AS huge, 12345678901234567890.123 AS wide, 1.0e10 AS double, -0.0e0 AS minus_zero
      FROM (SELECT a.category_id, count(*) AS n FROM {items} a JOIN {items} b ON a.id = b.id GROUP BY a.category_id) x
      ORDER BY x.category_id NULLS FIRST`,
    pushed: everywhere(),
    shape: /JOIN[\s\S]* GROUP BY /,
  },
]

for (const [type, source] of Object.entries(SOURCES) as [SqlSourceType, SqlSource][]) {
  const skipReason = await source.skipReason()

  describe.skipIf(skipReason !== null)(`${type} conformance${skipReason ? ` [skipped: ${skipReason}]` : ''}`, () => {
    const engine = new SqlEngine({ memoryLimit: '1GB', threads: 2 })
    let opened: OpenedSource
    let catalog: SourceCatalog
    let handle: CatalogHandle
    let reference: Reference

    beforeAll(async () => {
      opened = await source.open()
      const session = await opened.connect()
      try {
        catalog = await session.introspect()
      } finally {
        await session.close()
      }
      handle = { name: 'src', catalog, openSession: () => opened.connect(), pushdownDialect: source.dialect }
      reference = await openReference([table('items'), table('categories')])
    })

    afterAll(async () => {
      engine.close()
      await opened?.close()
      reference?.close()
    })

    const table = (name: string): SourceTable => {
      const found = catalog.schemas.find((s) => s.name === opened.schema)?.tables.find((t) => t.name === name)
      if (!found) throw new Error(`${opened.schema}.${name} is not in the catalog`)
      return found
    }

    /** `{items}` and `{categories}` name the source's tables, or their copies in DuckDB. */
    const over = (sql: string, catalogName: 'src' | 'ref') =>
      sql.replace(/\{(\w+)\}/g, (_, name: string) =>
        catalogName === 'src' ? `src.${quoteIdentifier(opened.schema)}.${name}` : `ref.main.${name}`,
      )

    const run = (sql: string, signal?: AbortSignal) =>
      engine.execute({
        sql,
        limit: 1_000,
        timeoutMs: 60_000,
        signal,
        ...fixedCatalogs(handle),
      })

    /** Runs the query over the source and in DuckDB over its copy: the answers must be the same. */
    const conforms = async (sql: string): Promise<EngineResult> => {
      const actual = await run(over(sql, 'src'))
      expect({ columns: actual.columns, rows: actual.rows }, sql).toEqual(await reference.answer(over(sql, 'ref')))
      return actual
    }

    /** The SQL the source ran, when the query needed one source query. */
    const sentTo = (result: EngineResult) => {
      expect(result.stats.sources, 'one source query').toHaveLength(1)
      return result.stats.sources[0]!.remote_sql
    }

    it('reads every column as its DuckDB type', () => {
      expect(Object.fromEntries(table('items').columns.map((column) => [column.name, column.type]))).toEqual(
        source.itemTypes,
      )
    })

    it('round-trips every value, NULLs included', async () => {
      const result = await conforms('SELECT * FROM {items} ORDER BY id')
      expect(result.columns).toEqual(ITEM_COLUMNS.map((name) => ({ name, type: source.itemTypes[name] })))
      expect(result.rows).toHaveLength(ITEMS.length)
      const byId = new Map(result.rows.map((row) => [row[0], row]))
      // Beyond 2^53 an integer is text; decimals keep their scale; timestamps their fraction.
      expect(byId.get(5)).toEqual([
        5,
        3,
        '9007199254740993',
        '7.00',
        2.5,
        NAMES.precomposed,
        '2024-01-01',
        '2024-01-01T08:00:00.5',
        null,
      ])
      expect(byId.get(3)?.slice(3, 8)).toEqual(['100.00', 1e300, NAMES.unicode, '1969-07-20', '1969-07-20T20:17:40'])
      expect(byId.get(6)).toEqual([6, null, null, null, null, null, null, null, null])
      expect(byId.get(1)?.[8]).toBe(type === 'mysql' ? 1 : true)
    })

    it('round-trips text: unicode, emoji, combining characters, quotes, line breaks, and empty apart from NULL', async () => {
      const result = await conforms(
        'SELECT id, name, length(name) AS chars, strlen(name) AS bytes FROM {items} ORDER BY id',
      )
      expect(result.rows.map((row) => row[1])).toEqual(ITEMS.map((row) => row[5]))
      const ids = (where: string) =>
        run(over(`SELECT id FROM {items} WHERE ${where} ORDER BY id`, 'src')).then((r) => r.rows.map((row) => row[0]))
      expect(await ids(`name = ''`)).toEqual([7])
      expect(await ids('name IS NULL')).toEqual([6])
      expect(await ids(`name = 'NULL'`)).toEqual([13])
    })

    it('finds each text by equality, on a scan and in a pushed subquery, and nothing that only looks alike', async () => {
      for (const value of Object.values(NAMES)) {
        const expected = ITEMS.filter((row) => row[5] === value).map((row) => row[0])
        const scan = await conforms(`SELECT id FROM {items} WHERE name = ${quoteLiteral(value)} ORDER BY id`)
        expect(
          scan.rows.map((row) => row[0]),
          JSON.stringify(value),
        ).toEqual(expected)
        expect(sentTo(scan), JSON.stringify(value)).toContain(' WHERE ')
        const pushed = await conforms(
          `SELECT id, count(*) AS n FROM {items} WHERE name = ${quoteLiteral(value)} GROUP BY id ORDER BY id`,
        )
        expect(
          pushed.rows.map((row) => row[0]),
          JSON.stringify(value),
        ).toEqual(expected)
        expect(sentTo(pushed), JSON.stringify(value)).toMatch(/ WHERE [\s\S]* GROUP BY /)
      }
    })

    it('finds an integer beyond 2^53 exactly, and not its neighbours, in a scan and in a pushed join', async () => {
      for (const [qty, expected] of [
        ['9007199254740992', []],
        ['9007199254740993', [5]],
        ['9007199254740994', []],
      ] as const) {
        const scan = await conforms(`SELECT id FROM {items} WHERE qty = ${qty} ORDER BY id`)
        expect(scan.rows.map((row) => row[0])).toEqual(expected)
        expect(sentTo(scan)).toContain(`= ${qty}`)
        const joined = await conforms(
          `SELECT id, label, n, ${qty} AS qty FROM (SELECT i.id, c.label, count(*) AS n FROM {items} i
            JOIN {categories} c ON i.category_id = c.id WHERE i.qty = ${qty} GROUP BY i.id, c.label) t ORDER BY id`,
        )
        expect(joined.rows).toEqual(expected.map((id) => [id, 'fruit', 1, qty]))
        if (type === 'sqlite') {
          for (const sent of joined.stats.sources) expect(sent.remote_sql).not.toMatch(/JOIN|GROUP BY/)
        } else {
          expect(sentTo(joined)).toMatch(/JOIN[\s\S]* WHERE [\s\S]* GROUP BY /)
          expect(sentTo(joined)).toContain(`= ${qty}`)
        }
      }
    })

    describe('each filter, on a scan', () => {
      for (const filter of FILTERS) {
        it(filter.where, async () => {
          const result = await conforms(`SELECT id FROM {items} WHERE ${filter.where} ORDER BY id`)
          const sql = sentTo(result)
          expect(sql).not.toMatch(/GROUP BY/)
          if (filter.scan(type)) expect(sql).toMatch(/ WHERE /)
          else expect(sql).not.toMatch(/ WHERE /)
        })
      }
    })

    describe('each filter, in a subquery sent whole', () => {
      for (const filter of FILTERS) {
        it(filter.where, async () => {
          const result = await conforms(
            `SELECT id, count(*) AS n FROM {items} WHERE ${filter.where} GROUP BY id ORDER BY id`,
          )
          const sql = sentTo(result)
          if (filter.subquery(type)) expect(sql).toMatch(/ WHERE [\s\S]* GROUP BY /)
          else expect(sql).not.toMatch(/GROUP BY/)
        })
      }
    })

    describe('whole subqueries', () => {
      for (const subquery of SUBQUERIES) {
        it(subquery.name, async () => {
          const result = await conforms(subquery.sql)
          if (subquery.pushed(type)) {
            expect(sentTo(result)).toMatch(subquery.shape)
            expect(result.stats.sources[0]!.rows).toBe(result.rows.length)
          } else {
            // Each table is scanned, and DuckDB does the rest.
            for (const sent of result.stats.sources) expect(sent.remote_sql).not.toMatch(/GROUP BY|JOIN|DISTINCT/)
          }
        })
      }
    })

    it('stops a long scan when the query is cancelled, and the source with it', async () => {
      // A function keeps the aggregate out of pushdown: the source streams every row of the view.
      const controller = new AbortController()
      const running = run(over('SELECT max(length(CAST(id AS VARCHAR))) AS s FROM {endless}', 'src'), controller.signal)
      running.catch(() => undefined)
      if (opened.running) await expect.poll(() => opened.running!(), { timeout: 10_000 }).toBe(1)
      else await new Promise((resolve) => setTimeout(resolve, 300))
      controller.abort()
      const abortedAt = Date.now()
      await expect(running).rejects.toMatchObject({ name: 'EngineError', kind: 'cancelled' })
      expect(Date.now() - abortedAt).toBeLessThan(1_000)
      if (opened.running) await expect.poll(() => opened.running!(), { timeout: 5_000, interval: 50 }).toBe(0)
      // The source still answers.
      await conforms('SELECT count(*) AS n FROM {categories}')
    })

    // SQLite reads on the event loop between chunks of rows: a scan that finds no row never yields.
    it.skipIf(type === 'sqlite')('stops a source that is still looking for its first row', async () => {
      const controller = new AbortController()
      const running = run(over('SELECT id FROM {endless} WHERE id < 0', 'src'), controller.signal)
      running.catch(() => undefined)
      await expect.poll(() => opened.running!(), { timeout: 10_000 }).toBe(1)
      controller.abort()
      await expect(running).rejects.toMatchObject({ kind: 'cancelled' })
      await expect.poll(() => opened.running!(), { timeout: 5_000, interval: 50 }).toBe(0)
    })
  })
}

interface Reference {
  /** The query's columns and rows, JSON-safe as the engine gives them (values.ts). */
  answer(sql: string): Promise<Pick<EngineResult, 'columns' | 'rows'>>
  close(): void
}

/**
 * The same tables in DuckDB (catalog `ref`), filled from the fixtures directly: each column typed as
 * the source's column reads, each value cast to that type.
 */
async function openReference(tables: SourceTable[]): Promise<Reference> {
  const instance = await DuckDBInstance.create(':memory:')
  const connection = await instance.connect()
  await connection.run(`ATTACH ':memory:' AS ref`)
  for (const table of tables) {
    const rows = table.name === 'items' ? ITEMS : CATEGORIES
    const name = `ref.main.${quoteIdentifier(table.name)}`
    const columns = table.columns.map((column) => `${quoteIdentifier(column.name)} ${column.type}`)
    await connection.run(`CREATE TABLE ${name} (${columns.join(', ')})`)
    const values = rows.map((row) => `(${row.map((value, i) => duckdbValue(value, table.columns[i]!)).join(', ')})`)
    await connection.run(`INSERT INTO ${name} VALUES ${values.join(', ')}`)
  }
  return {
    async answer(sql) {
      const reader = await connection.runAndReadAll(sql)
      const types = reader.columnTypes()
      const converters = types.map(columnConverter)
      return {
        columns: reader.columnNames().map((name, i) => ({ name, type: types[i]!.toString() })),
        rows: reader.getRowsJson().map((row) => row.map((value, i) => converters[i]!(value))),
      }
    },
    close() {
      connection.closeSync()
      instance.closeSync()
    },
  }
}

function duckdbValue(value: Value, column: SourceColumn): string {
  if (value === null) return 'NULL'
  const literal = typeof value === 'string' ? quoteLiteral(value) : String(value).toUpperCase()
  return `CAST(${literal} AS ${column.type})`
}
