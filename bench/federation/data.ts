/**
 * TPC-H-like data for the federation benchmark: `lineitem` and `orders` in PostgreSQL, `customer` and
 * `nation` in MariaDB/MySQL, each generated inside its server (never row by row through JS), and an
 * identical copy in a DuckDB file for the "DuckDB over data already loaded" baseline.
 *
 * Shapes follow TPC-H (column names, types, value ranges, the Q1 flags' dependence on the dates), with
 * two simplifications: every order has exactly four line items (so `lineitem` has exactly the requested
 * number of rows, and orders = lineitem / 4), and keys are dense. Customers are orders / 10, nations 25.
 * Values come from hashes of the row number, so the same scale always yields the same data.
 *
 * Generation runs once: a marker row (generator version, row counts, a generation id) is written last,
 * and a rerun whose marker and row counts match reuses the data.
 */
import { randomUUID } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'

import { DuckDBInstance } from '@duckdb/node-api'
import { createConnection, type Connection as MysqlConnection, type RowDataPacket } from 'mysql2/promise'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'

/** Bump when the generated data changes: older data is then regenerated. */
const GENERATOR_VERSION = 'tpch-like-1'

/** TPC-H's reference date: line items received by then are returned (R/A) or not (N); shipped after it, open (O). */
const CURRENT_DATE = '1995-06-17'

export interface Scale {
  lineitem: number
  orders: number
  customer: number
  nation: number
}

export function scaleFor(lineitemRows: number): Scale {
  const orders = Math.ceil(lineitemRows / 4)
  return { lineitem: lineitemRows, orders, customer: Math.ceil(orders / 10), nation: 25 }
}

export interface DataLocation {
  /** The benchmark database on PostgreSQL, as a URL. */
  postgresUrl: string
  /** The admin URL it is created from. */
  postgresAdminUrl: string
  mysql: { host: string; port: number; user: string; password: string; database: string }
}

export interface DataInfo {
  scale: Scale
  /** Changes whenever a side is regenerated: names the DuckDB copy. */
  postgresGeneration: string
  mysqlGeneration: string
  /** Seconds spent generating this run (0 when reused). */
  generatedSeconds: { postgres: number; mysql: number }
}

export type Log = (line: string) => void

// ---------------------------------------------------------------------------------------------------
// Table shapes, shared by the generators and the DuckDB copy.

interface ColumnSpec {
  name: string
  /** The source's type. */
  source: string
  /** The type DuckDB reads it as (what Tributary's catalog maps it to). */
  duckdb: string
}

const DECIMAL = 'DECIMAL(15,2)'

export const LINEITEM: ColumnSpec[] = [
  { name: 'l_orderkey', source: 'bigint', duckdb: 'BIGINT' },
  { name: 'l_partkey', source: 'integer', duckdb: 'INTEGER' },
  { name: 'l_suppkey', source: 'integer', duckdb: 'INTEGER' },
  { name: 'l_linenumber', source: 'integer', duckdb: 'INTEGER' },
  { name: 'l_quantity', source: 'numeric(15,2)', duckdb: DECIMAL },
  { name: 'l_extendedprice', source: 'numeric(15,2)', duckdb: DECIMAL },
  { name: 'l_discount', source: 'numeric(15,2)', duckdb: DECIMAL },
  { name: 'l_tax', source: 'numeric(15,2)', duckdb: DECIMAL },
  { name: 'l_returnflag', source: 'char(1)', duckdb: 'VARCHAR' },
  { name: 'l_linestatus', source: 'char(1)', duckdb: 'VARCHAR' },
  { name: 'l_shipdate', source: 'date', duckdb: 'DATE' },
  { name: 'l_commitdate', source: 'date', duckdb: 'DATE' },
  { name: 'l_receiptdate', source: 'date', duckdb: 'DATE' },
  { name: 'l_shipinstruct', source: 'char(25)', duckdb: 'VARCHAR' },
  { name: 'l_shipmode', source: 'char(10)', duckdb: 'VARCHAR' },
  { name: 'l_comment', source: 'varchar(44)', duckdb: 'VARCHAR' },
]

export const ORDERS: ColumnSpec[] = [
  { name: 'o_orderkey', source: 'bigint', duckdb: 'BIGINT' },
  { name: 'o_custkey', source: 'integer', duckdb: 'INTEGER' },
  { name: 'o_orderstatus', source: 'char(1)', duckdb: 'VARCHAR' },
  { name: 'o_totalprice', source: 'numeric(15,2)', duckdb: DECIMAL },
  { name: 'o_orderdate', source: 'date', duckdb: 'DATE' },
  { name: 'o_orderpriority', source: 'char(15)', duckdb: 'VARCHAR' },
  { name: 'o_clerk', source: 'char(15)', duckdb: 'VARCHAR' },
  { name: 'o_shippriority', source: 'integer', duckdb: 'INTEGER' },
  { name: 'o_comment', source: 'varchar(79)', duckdb: 'VARCHAR' },
]

export const CUSTOMER: ColumnSpec[] = [
  { name: 'c_custkey', source: 'INT', duckdb: 'INTEGER' },
  { name: 'c_name', source: 'VARCHAR(25)', duckdb: 'VARCHAR' },
  { name: 'c_address', source: 'VARCHAR(40)', duckdb: 'VARCHAR' },
  { name: 'c_nationkey', source: 'INT', duckdb: 'INTEGER' },
  { name: 'c_phone', source: 'CHAR(15)', duckdb: 'VARCHAR' },
  { name: 'c_acctbal', source: 'DECIMAL(15,2)', duckdb: DECIMAL },
  { name: 'c_mktsegment', source: 'CHAR(10)', duckdb: 'VARCHAR' },
  { name: 'c_comment', source: 'VARCHAR(117)', duckdb: 'VARCHAR' },
]

export const NATION: ColumnSpec[] = [
  { name: 'n_nationkey', source: 'INT', duckdb: 'INTEGER' },
  { name: 'n_name', source: 'CHAR(25)', duckdb: 'VARCHAR' },
  { name: 'n_regionkey', source: 'INT', duckdb: 'INTEGER' },
  { name: 'n_comment', source: 'VARCHAR(152)', duckdb: 'VARCHAR' },
]

/** TPC-H's 25 nations with their regions. */
const NATIONS: [string, number][] = [
  ['ALGERIA', 0],
  ['ARGENTINA', 1],
  ['BRAZIL', 1],
  ['CANADA', 1],
  ['EGYPT', 4],
  ['ETHIOPIA', 0],
  ['FRANCE', 3],
  ['GERMANY', 3],
  ['INDIA', 2],
  ['INDONESIA', 2],
  ['IRAN', 4],
  ['IRAQ', 4],
  ['JAPAN', 2],
  ['JORDAN', 4],
  ['KENYA', 0],
  ['MOROCCO', 0],
  ['MOZAMBIQUE', 0],
  ['PERU', 1],
  ['CHINA', 2],
  ['ROMANIA', 3],
  ['SAUDI ARABIA', 4],
  ['VIETNAM', 2],
  ['RUSSIA', 3],
  ['UNITED KINGDOM', 3],
  ['UNITED STATES', 1],
]

const columnsDdl = (columns: ColumnSpec[], type: (column: ColumnSpec) => string) =>
  columns.map((column) => `${column.name} ${type(column)} NOT NULL`).join(', ')

// ---------------------------------------------------------------------------------------------------
// Markers

interface Marker {
  version: string
  rows: Record<string, number>
  generation: string
}

function markerMatches(marker: Marker | undefined, rows: Record<string, number>): marker is Marker {
  return (
    marker !== undefined &&
    marker.version === GENERATOR_VERSION &&
    Object.entries(rows).every(([table, count]) => marker.rows[table] === count)
  )
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL: lineitem and orders

export function postgresDatabaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  return url.toString()
}

async function connectPostgres(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'tributary-bench-federation' })
  client.on('error', () => undefined)
  await client.connect()
  return client
}

async function ensurePostgresDatabase(location: DataLocation, database: string): Promise<void> {
  const admin = await connectPostgres(location.postgresAdminUrl)
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [database])
    if (found.rowCount === 0) await admin.query(`create database "${database}"`)
  } finally {
    await admin.end()
  }
}

async function readPostgresMarker(client: pg.Client): Promise<Marker | undefined> {
  const exists = await client.query(`select to_regclass('public.bench_meta') is not null as ok`)
  if (!exists.rows[0].ok) return undefined
  const result = await client.query(`select value from bench_meta where key = 'marker'`)
  return result.rows[0] ? (JSON.parse(result.rows[0].value as string) as Marker) : undefined
}

async function postgresRowsMatch(client: pg.Client, scale: Scale): Promise<boolean> {
  try {
    const result = await client.query(
      'select (select count(*) from lineitem)::int8 as lineitem, (select count(*) from orders)::int8 as orders',
    )
    return Number(result.rows[0].lineitem) === scale.lineitem && Number(result.rows[0].orders) === scale.orders
  } catch {
    return false
  }
}

/**
 * A deterministic pseudo-random integer in [0, m) from a row number and a per-column seed. A simple SQL
 * function: the planner inlines it, so it costs one hash per value.
 */
export const HASH_FUNCTION = `
create or replace function bench_h(x bigint, seed bigint, m bigint) returns bigint
language sql immutable parallel safe
as $$ select (hashint8extended(x, seed) & 4611686018427387903) % m $$`

export function lineitemInsert(scale: Scale): string {
  // TPC-H: 200,000 parts and 10,000 suppliers per 6,000,000 line items.
  const parts = Math.max(1000, Math.round(scale.lineitem / 30))
  const suppliers = Math.max(100, Math.round(scale.lineitem / 600))
  return `
insert into lineitem
select k.ok, k.p, 1 + bench_h(i, 25, ${suppliers}), k.ln,
  k.q, round(k.q * (90000 + ((k.p / 10) % 20001) + 100 * (k.p % 1000)) / 100.0, 2),
  bench_h(i, 27, 11) / 100.0, bench_h(i, 28, 9) / 100.0,
  case when r.rc <= date '${CURRENT_DATE}' then (case when bench_h(i, 29, 2) = 0 then 'R' else 'A' end) else 'N' end,
  case when s.sd > date '${CURRENT_DATE}' then 'O' else 'F' end,
  s.sd, o.od + 30 + bench_h(i, 22, 61)::int, r.rc,
  (array['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[1 + bench_h(i, 30, 4)],
  (array['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'])[1 + bench_h(i, 31, 7)],
  substr(md5(i::text), 1, 10 + bench_h(i, 32, 23)::int)
from generate_series(1::bigint, ${scale.lineitem}::bigint) i,
  lateral (select (i - 1) / 4 + 1 as ok, ((i - 1) % 4 + 1)::int as ln,
                  1 + bench_h(i, 26, 50) as q, 1 + bench_h(i, 24, ${parts}) as p) k,
  -- The order date is a function of the order key, so orders can be derived without a join.
  lateral (select date '1992-01-01' + bench_h(k.ok, 11, 2406)::int as od) o,
  lateral (select o.od + 1 + bench_h(i, 21, 121)::int as sd) s,
  lateral (select s.sd + 1 + bench_h(i, 23, 30)::int as rc) r`
}

function ordersInsert(scale: Scale): string {
  return `
insert into orders
select l_orderkey,
  1 + bench_h(l_orderkey, 12, ${scale.customer}),
  case when bool_and(l_linestatus = 'F') then 'F' when bool_and(l_linestatus = 'O') then 'O' else 'P' end,
  round(sum(l_extendedprice * (1 + l_tax) * (1 - l_discount)), 2),
  date '1992-01-01' + bench_h(l_orderkey, 11, 2406)::int,
  (array['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'])[1 + bench_h(l_orderkey, 13, 5)],
  'Clerk#' || lpad((1 + bench_h(l_orderkey, 14, ${Math.max(10, Math.round(scale.orders / 1500))}))::text, 9, '0'),
  0,
  substr(md5(l_orderkey::text) || md5((-l_orderkey)::text), 1, 19 + bench_h(l_orderkey, 15, 60)::int)
from lineitem
group by l_orderkey
order by l_orderkey`
}

async function generatePostgres(client: pg.Client, scale: Scale, log: Log): Promise<string> {
  const step = async (label: string, sql: string) => {
    const started = performance.now()
    await client.query(sql)
    log(`  PostgreSQL: ${label} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
  }
  await client.query('drop table if exists bench_meta, lineitem, orders')
  await client.query(HASH_FUNCTION)
  await client.query(`create table lineitem (${columnsDdl(LINEITEM, (column) => column.source)})`)
  await client.query(`create table orders (${columnsDdl(ORDERS, (column) => column.source)})`)
  // Enough memory to aggregate the orders in one pass and to build the indexes without spilling.
  await client.query(`set work_mem = '512MB'`)
  await client.query(`set maintenance_work_mem = '1GB'`)
  await step(`lineitem, ${scale.lineitem.toLocaleString('en-US')} rows`, lineitemInsert(scale))
  await step(`orders, ${scale.orders.toLocaleString('en-US')} rows`, ordersInsert(scale))
  // TPC-H allows primary keys; l_shipdate gets no index, as in the benchmark.
  await step('primary keys', 'alter table lineitem add primary key (l_orderkey, l_linenumber)')
  await client.query('alter table orders add primary key (o_orderkey)')
  // Freezing now sets hint bits and the visibility map, so no timed read is the first to write pages.
  await step('vacuum (freeze, analyze)', 'vacuum (freeze, analyze) lineitem, orders')
  const generation = randomUUID()
  const marker: Marker = {
    version: GENERATOR_VERSION,
    rows: { lineitem: scale.lineitem, orders: scale.orders },
    generation,
  }
  await client.query('create table bench_meta (key text primary key, value text not null)')
  await client.query(`insert into bench_meta values ('marker', $1)`, [JSON.stringify(marker)])
  return generation
}

// ---------------------------------------------------------------------------------------------------
// MariaDB/MySQL: customer and nation

async function connectMysql(location: DataLocation, database?: string): Promise<MysqlConnection> {
  const { host, port, user, password } = location.mysql
  const connection = await createConnection({ host, port, user, password, ...(database ? { database } : {}) })
  connection.on('error', () => undefined)
  return connection
}

async function readMysqlMarker(connection: MysqlConnection): Promise<Marker | undefined> {
  try {
    const [rows] = await connection.query<RowDataPacket[]>(`SELECT value FROM bench_meta WHERE \`key\` = 'marker'`)
    return rows[0] ? (JSON.parse(String(rows[0].value)) as Marker) : undefined
  } catch {
    return undefined
  }
}

async function mysqlRowsMatch(connection: MysqlConnection, scale: Scale): Promise<boolean> {
  try {
    const [rows] = await connection.query<RowDataPacket[]>(
      'SELECT (SELECT COUNT(*) FROM customer) AS customer, (SELECT COUNT(*) FROM nation) AS nation',
    )
    return Number(rows[0]!.customer) === scale.customer && Number(rows[0]!.nation) === scale.nation
  } catch {
    return false
  }
}

async function generateMysql(connection: MysqlConnection, scale: Scale, log: Log): Promise<string> {
  const started = performance.now()
  await connection.query('DROP TABLE IF EXISTS bench_meta, customer, nation')
  await connection.query(
    `CREATE TABLE nation (${columnsDdl(NATION, (column) => column.source)}, PRIMARY KEY (n_nationkey)) ENGINE=InnoDB`,
  )
  await connection.query(
    `CREATE TABLE customer (${columnsDdl(CUSTOMER, (column) => column.source)}, PRIMARY KEY (c_custkey)) ENGINE=InnoDB`,
  )
  await connection.query('INSERT INTO nation VALUES ?', [
    NATIONS.map(([name, region], key) => [key, name, region, `nation ${name.toLowerCase()} of region ${region}`]),
  ])
  const sequence = await hasSequenceEngine(connection)
  // MariaDB's SEQUENCE engine gives seq_1_to_N for free; MySQL gets the same rows from a recursive CTE.
  const numbers = sequence
    ? `seq_1_to_${scale.customer} AS s`
    : `(WITH RECURSIVE n (seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < ${scale.customer}) SELECT seq FROM n) AS s`
  if (!sequence) await connection.query(`SET SESSION cte_max_recursion_depth = ${scale.customer + 1}`)
  await connection.query(`
INSERT INTO customer
SELECT s.seq,
  CONCAT('Customer#', LPAD(s.seq, 9, '0')),
  SUBSTR(MD5(CONCAT('a', s.seq)), 1, 10 + s.seq % 23),
  CRC32(CONCAT('n', s.seq)) % 25,
  CONCAT(10 + CRC32(CONCAT('n', s.seq)) % 25, '-', 100 + CRC32(CONCAT('p1', s.seq)) % 900, '-',
         100 + CRC32(CONCAT('p2', s.seq)) % 900, '-', 1000 + CRC32(CONCAT('p3', s.seq)) % 9000),
  (CAST(CRC32(CONCAT('b', s.seq)) % 1099999 AS SIGNED) - 99999) / 100,
  ELT(1 + CRC32(CONCAT('m', s.seq)) % 5, 'AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY'),
  SUBSTR(CONCAT(SHA1(s.seq), SHA1(-s.seq), SHA1(s.seq * 7)), 1, 29 + s.seq % 88)
FROM ${numbers}`)
  await connection.query('ANALYZE TABLE customer, nation')
  const generation = randomUUID()
  const marker: Marker = {
    version: GENERATOR_VERSION,
    rows: { customer: scale.customer, nation: scale.nation },
    generation,
  }
  await connection.query('CREATE TABLE bench_meta (`key` VARCHAR(32) PRIMARY KEY, value TEXT NOT NULL)')
  await connection.query(`INSERT INTO bench_meta VALUES ('marker', ?)`, [JSON.stringify(marker)])
  log(
    `  MariaDB: customer ${scale.customer.toLocaleString('en-US')} rows, nation 25 ` +
      `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
  )
  return generation
}

async function hasSequenceEngine(connection: MysqlConnection): Promise<boolean> {
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM information_schema.ENGINES WHERE ENGINE = 'SEQUENCE' AND SUPPORT IN ('YES', 'DEFAULT')`,
  )
  return Number(rows[0]!.n) > 0
}

// ---------------------------------------------------------------------------------------------------

/** Makes sure both sources hold data of this scale, generating a side only when its marker or counts differ. */
export async function ensureData(
  location: DataLocation,
  scale: Scale,
  options: { regenerate: boolean },
  log: Log,
): Promise<DataInfo> {
  const database = location.mysql.database
  await ensurePostgresDatabase(location, new URL(location.postgresUrl).pathname.slice(1))
  const admin = await connectMysql(location)
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``)
  } finally {
    await admin.end()
  }

  const postgres = async (): Promise<[string, number]> => {
    const client = await connectPostgres(location.postgresUrl)
    try {
      const marker = await readPostgresMarker(client)
      if (
        !options.regenerate &&
        markerMatches(marker, { lineitem: scale.lineitem, orders: scale.orders }) &&
        (await postgresRowsMatch(client, scale))
      ) {
        log(`PostgreSQL: reusing lineitem and orders (generation ${marker.generation.slice(0, 8)})`)
        return [marker.generation, 0]
      }
      log('PostgreSQL: generating lineitem and orders …')
      const started = performance.now()
      return [await generatePostgres(client, scale, log), (performance.now() - started) / 1000]
    } finally {
      await client.end()
    }
  }
  const mysql = async (): Promise<[string, number]> => {
    const connection = await connectMysql(location, database)
    try {
      const marker = await readMysqlMarker(connection)
      if (
        !options.regenerate &&
        markerMatches(marker, { customer: scale.customer, nation: scale.nation }) &&
        (await mysqlRowsMatch(connection, scale))
      ) {
        log(`MariaDB: reusing customer and nation (generation ${marker.generation.slice(0, 8)})`)
        return [marker.generation, 0]
      }
      log('MariaDB: generating customer and nation …')
      const started = performance.now()
      return [await generateMysql(connection, scale, log), (performance.now() - started) / 1000]
    } finally {
      await connection.end()
    }
  }
  // Each side on its own server: they run side by side.
  const [[postgresGeneration, postgresSeconds], [mysqlGeneration, mysqlSeconds]] = await Promise.all([
    postgres(),
    mysql(),
  ])
  return {
    scale,
    postgresGeneration,
    mysqlGeneration,
    generatedSeconds: { postgres: postgresSeconds, mysql: mysqlSeconds },
  }
}

// ---------------------------------------------------------------------------------------------------
// The DuckDB copy

/** CSV field for DuckDB's reader: quoted when it must be, `""` for the empty string. */
function csvField(value: string | number | null): string {
  if (value === null) return ''
  const text = String(value)
  if (text === '') return '""'
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

const readCsv = (file: string, columns: ColumnSpec[]) =>
  `read_csv('${file.replaceAll("'", "''")}', header = false, auto_detect = false, allow_quoted_nulls = false, ` +
  `columns = {${columns.map((column) => `'${column.name}': '${column.duckdb}'`).join(', ')}})`

/**
 * A DuckDB file holding the four tables exactly as the sources hold them, built once per pair of
 * generations (PostgreSQL tables through COPY, MariaDB tables through a plain read) and reused after.
 * Returns its path.
 */
export async function ensureDuckDbCopy(location: DataLocation, data: DataInfo, cacheDir: string, log: Log) {
  // One copy per database name; a copy of older data in the same name is replaced.
  const prefix = `tpch-${location.mysql.database}-`
  const file = path.join(
    cacheDir,
    `${prefix}${data.scale.lineitem}-${data.postgresGeneration.slice(0, 8)}-${data.mysqlGeneration.slice(0, 8)}.duckdb`,
  )
  if (existsSync(file)) return file
  mkdirSync(cacheDir, { recursive: true })
  for (const old of readdirSync(cacheDir)) {
    if (old.startsWith(prefix)) rmSync(path.join(cacheDir, old), { force: true })
  }
  log('DuckDB: building the preloaded copy (once per generation) …')
  const started = performance.now()
  const building = `${file}.tmp`
  const staging = path.join(cacheDir, 'staging')
  mkdirSync(staging, { recursive: true })
  const instance = await DuckDBInstance.create(building)
  const connection = await instance.connect()
  try {
    const client = await connectPostgres(location.postgresUrl)
    try {
      for (const [table, columns] of [
        ['lineitem', LINEITEM],
        ['orders', ORDERS],
      ] as const) {
        const csv = path.join(staging, `${table}.csv`)
        const names = columns.map((column) => column.name).join(', ')
        await pipeline(
          client.query(copyTo(`COPY (SELECT ${names} FROM ${table}) TO STDOUT WITH (FORMAT csv)`)),
          createWriteStream(csv),
        )
        await connection.run(`CREATE TABLE ${table} AS SELECT * FROM ${readCsv(csv, columns)}`)
        rmSync(csv)
      }
    } finally {
      await client.end()
    }
    const mysql = await connectMysql(location, location.mysql.database)
    try {
      for (const [table, columns] of [
        ['customer', CUSTOMER],
        ['nation', NATION],
      ] as const) {
        const names = columns.map((column) => column.name).join(', ')
        const [rows] = await mysql.query<RowDataPacket[]>({
          sql: `SELECT ${names} FROM ${table}`,
          rowsAsArray: true,
        })
        const csv = path.join(staging, `${table}.csv`)
        writeFileSync(
          csv,
          rows.map((row) => (row as unknown as (string | number | null)[]).map(csvField).join(',')).join('\n') + '\n',
        )
        await connection.run(`CREATE TABLE ${table} AS SELECT * FROM ${readCsv(csv, columns)}`)
        rmSync(csv)
      }
    } finally {
      await mysql.end()
    }
    await connection.run('CHECKPOINT')
  } finally {
    connection.closeSync()
    instance.closeSync()
    rmSync(staging, { recursive: true, force: true })
  }
  renameSync(building, file)
  log(`DuckDB: copy built in ${((performance.now() - started) / 1000).toFixed(1)} s (${path.basename(file)})`)
  return file
}
