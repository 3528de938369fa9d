/**
 * The source table of the caches benchmark: the federation benchmark's TPC-H-like `lineitem` (same
 * generator, same values) plus a cursor column `l_updated_at`, in a PostgreSQL database of its own,
 * because the benchmark changes it. Generated once inside PostgreSQL (never row by row through JS);
 * a marker row written last lets reruns reuse it. Each run first removes the line items earlier runs
 * inserted, so the table starts at the requested size; rows earlier runs updated stay updated (the
 * benchmark checks the cache against PostgreSQL's own answer, not against fixed values).
 */
import { randomUUID } from 'node:crypto'

import pg from 'pg'

import { HASH_FUNCTION, LINEITEM, lineitemInsert, postgresDatabaseUrl, scaleFor } from '../federation/data.js'

/** Bump when the generated data changes: older data is then regenerated. */
const GENERATOR_VERSION = 'caches-lineitem-2'

/** The cursor value every generated row starts with; changed rows get the time of their change. */
export const BASE_UPDATED_AT = '2026-01-01 00:00:00'

/** The columns of the table, in order, as DuckDB reads them (what the cache holds). */
export const COLUMNS = [...LINEITEM.map((column) => column.name), 'l_updated_at']

export type Log = (line: string) => void

export interface SourceTable {
  /** The benchmark database, as a URL. */
  url: string
  rows: number
  /** Orders at generation: line items of later orders were inserted by a run. */
  orders: number
  generatedSeconds: number
}

export const connect = async (url: string, application = 'tributary-bench-caches'): Promise<pg.Client> => {
  const client = new pg.Client({ connectionString: url, application_name: application })
  client.on('error', () => undefined)
  await client.connect()
  return client
}

/** Makes sure the database holds `rows` generated line items and nothing a run added. */
export async function ensureSource(
  adminUrl: string,
  database: string,
  rows: number,
  regenerate: boolean,
  log: Log,
): Promise<SourceTable> {
  const admin = await connect(adminUrl)
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [database])
    if (found.rowCount === 0) await admin.query(`create database "${database}"`)
  } finally {
    await admin.end()
  }
  const url = postgresDatabaseUrl(adminUrl, database)
  const scale = scaleFor(rows)
  const client = await connect(url)
  try {
    const marker = await readMarker(client)
    if (!regenerate && marker?.version === GENERATOR_VERSION && marker.rows === rows) {
      const removed = await client.query('delete from lineitem where l_orderkey > $1', [scale.orders])
      if ((removed.rowCount ?? 0) > 0) await client.query('vacuum (analyze) lineitem')
      log(
        `PostgreSQL: reusing lineitem (generation ${marker.generation.slice(0, 8)}` +
          `${removed.rowCount ? `; removed ${removed.rowCount} line items an earlier run inserted` : ''})`,
      )
      return { url, rows, orders: scale.orders, generatedSeconds: 0 }
    }
    log(`PostgreSQL: generating lineitem, ${rows.toLocaleString('en-US')} rows …`)
    const started = performance.now()
    await client.query('drop table if exists bench_meta, lineitem')
    await client.query(HASH_FUNCTION)
    const definitions = LINEITEM.map((column) => `${column.name} ${column.source} not null`)
    await client.query(
      `create table lineitem (${definitions.join(', ')},
         l_updated_at timestamp not null default timestamp '${BASE_UPDATED_AT}')`,
    )
    await client.query(`set work_mem = '512MB'`)
    await client.query(`set maintenance_work_mem = '1GB'`)
    // The federation generator fills the first sixteen columns; the cursor takes its default.
    await client.query(lineitemInsert(scale))
    await client.query('alter table lineitem add primary key (l_orderkey, l_linenumber)')
    // As any table synced incrementally: the source finds the rows past the cursor by an index.
    await client.query('create index lineitem_updated_at on lineitem (l_updated_at)')
    await client.query('vacuum (freeze, analyze) lineitem')
    const generation = randomUUID()
    await client.query('create table bench_meta (key text primary key, value text not null)')
    await client.query(`insert into bench_meta values ('marker', $1)`, [
      JSON.stringify({ version: GENERATOR_VERSION, rows, generation } satisfies Marker),
    ])
    const seconds = (performance.now() - started) / 1000
    log(`  generated in ${seconds.toFixed(1)} s`)
    return { url, rows, orders: scale.orders, generatedSeconds: seconds }
  } finally {
    await client.end()
  }
}

interface Marker {
  version: string
  rows: number
  generation: string
}

async function readMarker(client: pg.Client): Promise<Marker | undefined> {
  const exists = await client.query(`select to_regclass('public.bench_meta') is not null as ok`)
  if (!exists.rows[0].ok) return undefined
  const result = await client.query(`select value from bench_meta where key = 'marker'`)
  return result.rows[0] ? (JSON.parse(result.rows[0].value as string) as Marker) : undefined
}

export interface Change {
  updated: number
  inserted: number
}

/**
 * Changes about `percent` % of the rows as an application would: nine tenths of them updated in
 * place (new quantity and comment, and a newer `l_updated_at`), spread over the whole table, and one
 * tenth inserted as new orders of four line items. `round` picks which rows: a different 1 % each time.
 */
export async function changeRows(client: pg.Client, rows: number, percent: number, round: number): Promise<Change> {
  const insertedOrders = Math.max(1, Math.round((rows * percent) / 100 / 10 / 4))
  // bench_h(x, seed, 1,000,000) < n picks n in a million of the rows.
  const perMillion = Math.round(percent * 10_000 * 0.9)
  const seed = 1000 + round
  const updated = await client.query(
    `update lineitem
        set l_quantity = 1 + (l_quantity::int % 50), l_comment = 'changed in round ${round}',
            l_updated_at = localtimestamp
      where bench_h(l_orderkey * 8 + l_linenumber, ${seed}, 1000000) < ${perMillion}`,
  )
  const top = await client.query('select max(l_orderkey)::int8 as top from lineitem')
  const offset = Number(top.rows[0].top)
  // Copies of the first orders under new keys past the largest: whole orders, found by the primary key.
  const inserted = await client.query(
    `insert into lineitem
     select l_orderkey + ${offset}, ${COLUMNS.slice(1, -1).join(', ')}, localtimestamp
       from lineitem where l_orderkey <= ${insertedOrders}`,
  )
  // Dead row versions would make the next full read slower than the first: clean up, as autovacuum would.
  await client.query('vacuum (analyze) lineitem')
  return { updated: updated.rowCount ?? 0, inserted: inserted.rowCount ?? 0 }
}
