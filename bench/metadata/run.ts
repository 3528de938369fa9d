/**
 * Metadata benchmark (issue 10): a project's metadata over a PostgreSQL source of many tables.
 *
 *   npm run bench:metadata
 *
 * Makes its own source: a throwaway PostgreSQL database (`tributary_bench_meta_<time>_<random>`, dropped at
 * the end) holding BENCH_TABLES tables of BENCH_COLUMNS columns each, spread over a few schemas, with a
 * primary key, up to two foreign keys to earlier tables and BENCH_ROWS rows per table, created in batches
 * of multi-statement scripts (one round trip per batch) and ANALYZEd. Runs the app in process (PGlite
 * metadata in a fresh temporary data directory, or PostgreSQL with BENCH_STORE=postgres; jobs on its own
 * queue; requests through the HTTP handler, no sockets), connects the source over the API, then measures,
 * each against a reference measured in the same run:
 *
 *   - full metadata refresh (`POST …/metadata/refresh {catalog}`, polled at `GET …/metadata/refresh/{job_id}`
 *     until it ends) against the raw catalog refresh (`POST …/catalogs/{catalog}/refresh`: the source's
 *     columns read in one round trip and stored); the process's peak RSS during each;
 *   - the metadata read of one table p50/p99 (`GET …/metadata?catalog=&schema=&table=`), target p99 < 5 ms,
 *     each call interleaved with the catalogs read of the same table
 *     (`GET …/catalogs/{catalog}/schemas/{schema}/tables/{table}`) and `GET /api/v1/health`;
 *   - search latency p50/p99 over BENCH_QUESTIONS generated questions (`GET …/metadata/search?q=`), target
 *     p99 < 20 ms, each interleaved with `GET /api/v1/health`; the first search after the refresh, which
 *     builds the index, is reported apart.
 *
 * Requests are sequential (one at a time): these are latencies, not throughput.
 *
 * Every answer is checked (status, the table read has its columns and primary key, the refresh saw every
 * table); a failure ends the run with status 1. Prints a markdown table and writes it to
 * bench/.out/metadata-<time>.md.
 *
 * Settings (env):
 *   BENCH_TABLES        tables in the source (default 1000)
 *   BENCH_COLUMNS       columns per table, at least 4 (default 20)
 *   BENCH_ROWS          rows per table (default 5)
 *   BENCH_SCHEMAS       schemas the tables are spread over (default 5)
 *   BENCH_QUESTIONS     search questions (default 200)
 *   BENCH_READS         metadata reads of one table (default 200)
 *   BENCH_STORE         pglite (default) or postgres: the app's metadata store
 *   BENCH_POSTGRES_URL  admin URL where the throwaway databases are made (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_KEEP_SOURCE   1 to leave the source database in place (its name is printed)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import pg from 'pg'

import { createTributary, type Tributary } from '../../apps/server/src/composition.js'
import { loadConfig } from '../../apps/server/src/config/config.js'
import { createLogger } from '../../apps/server/src/lib/logger.js'
import { generateToken } from '../../apps/server/src/lib/secrets.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const API = '/api/v1'

const TABLES = positive('BENCH_TABLES', 1000)
const COLUMNS = Math.max(4, positive('BENCH_COLUMNS', 20))
const ROWS = positive('BENCH_ROWS', 5)
const SCHEMA_COUNT = positive('BENCH_SCHEMAS', 5)
const QUESTIONS = positive('BENCH_QUESTIONS', 200)
const READS = positive('BENCH_READS', 200)
const STORE = process.env.BENCH_STORE ?? 'pglite'
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
const KEEP_SOURCE = process.env.BENCH_KEEP_SOURCE === '1'

/** Tables created per multi-statement script (one round trip, one transaction). */
const DDL_BATCH = 100

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}

// ---------------------------------------------------------------------------------------------------------
// The source's shape: names a person would recognise, so the generated questions have something to find.

const SCHEMAS = ['sales', 'finance', 'people', 'operations', 'support', 'marketing', 'logistics', 'catalog']
const ENTITIES = [
  'customer',
  'order',
  'invoice',
  'product',
  'employee',
  'shipment',
  'payment',
  'supplier',
  'warehouse',
  'ticket',
  'campaign',
  'lead',
  'contract',
  'refund',
  'subscription',
  'account',
  'vendor',
  'store',
  'region',
  'category',
  'review',
  'coupon',
  'delivery',
  'return',
  'budget',
  'expense',
  'asset',
  'department',
  'project',
  'task',
  'timesheet',
  'payroll',
  'stock',
  'purchase',
  'quote',
  'opportunity',
  'partner',
  'device',
  'visit',
  'event',
]
const QUALIFIERS = [
  'daily',
  'monthly',
  'archived',
  'staging',
  'online',
  'retail',
  'wholesale',
  'regional',
  'global',
  'internal',
  'external',
  'legacy',
  'pending',
  'active',
  'historic',
  'weekly',
  'yearly',
  'draft',
  'approved',
  'europe',
  'america',
  'asia',
  'mobile',
  'web',
  'partner',
]

/** Column name, PostgreSQL type, and the value of row `g` (an SQL expression over `g`). */
const COLUMN_POOL: [string, string, string][] = [
  ['name', 'text', `'name ' || g`],
  ['email', 'text', `'user' || g || '@example.com'`],
  ['country', 'text', `(array['Portugal','France','Germany','Brazil','Japan','Canada','India','Kenya'])[1 + g % 8]`],
  ['city', 'text', `(array['Lisbon','Paris','Berlin','Recife','Osaka','Toronto','Pune','Nairobi'])[1 + g % 8]`],
  ['status', 'text', `(array['open','closed','pending','cancelled'])[1 + g % 4]`],
  ['amount', 'numeric(12,2)', `g * 10.5`],
  ['quantity', 'integer', `g % 7`],
  ['unit_price', 'numeric(10,2)', `g * 1.25`],
  ['created_at', 'timestamptz', `timestamptz '2026-01-01' + g * interval '1 day'`],
  ['updated_at', 'timestamptz', `timestamptz '2026-02-01' + g * interval '1 hour'`],
  ['is_active', 'boolean', `g % 2 = 0`],
  ['description', 'text', `'description of row ' || g`],
  ['phone', 'text', `'+351 21 000 ' || g`],
  ['code', 'text', `'C-' || g`],
  ['total', 'numeric(14,2)', `g * 99.9`],
  ['discount', 'numeric(5,2)', `(g % 5) * 2.5`],
  ['notes', 'text', `null`],
  ['rating', 'smallint', `1 + g % 5`],
  ['currency', 'text', `(array['EUR','USD','BRL','JPY'])[1 + g % 4]`],
  ['due_date', 'date', `date '2026-03-01' + g`],
  ['paid_at', 'timestamp', `timestamp '2026-03-01' + g * interval '1 minute'`],
  ['score', 'double precision', `g / 3.0`],
  ['label', 'text', `'label ' || (g % 3)`],
  ['priority', 'integer', `g % 3`],
  ['postal_code', 'text', `lpad(g::text, 5, '0')`],
  ['channel', 'text', `(array['web','store','phone'])[1 + g % 3]`],
  ['weight_kg', 'real', `g * 0.5`],
  ['birth_date', 'date', `date '1980-01-01' + g * 100`],
  ['segment', 'text', `(array['consumer','corporate','home office'])[1 + g % 3]`],
  ['comment', 'text', `'comment ' || g`],
]

interface Table {
  schema: string
  name: string
  entity: string
  qualifier: string
  columns: { name: string; type: string; value: string }[]
  foreignKeys: { column: string; target: Table }[]
}

function sourceTables(): Table[] {
  const schemas = SCHEMAS.slice(0, Math.min(SCHEMA_COUNT, SCHEMAS.length))
  while (schemas.length < SCHEMA_COUNT) schemas.push(`area_${schemas.length}`)
  const tables: Table[] = []
  const taken = new Set<string>()
  for (let i = 0; i < TABLES; i += 1) {
    const entity = ENTITIES[i % ENTITIES.length]!
    const qualifier = QUALIFIERS[Math.floor(i / ENTITIES.length) % QUALIFIERS.length]!
    const schema = schemas[i % schemas.length]!
    let name = `${qualifier}_${entity}s`
    for (let n = 2; taken.has(`${schema}.${name}`); n += 1) name = `${qualifier}_${entity}s_${n}`
    taken.add(`${schema}.${name}`)
    const table: Table = { schema, name, entity, qualifier, columns: [], foreignKeys: [] }
    table.columns.push({ name: 'id', type: 'bigint', value: 'g' })
    // Up to two foreign keys to earlier tables, on columns named after what they reference.
    for (const step of [1, 7]) {
      if (i < step || table.columns.length >= COLUMNS - 1) continue
      const target = tables[i - step]!
      const column = `${target.entity}_id`
      if (table.columns.some((c) => c.name === column)) continue
      table.columns.push({ name: column, type: 'bigint', value: `1 + (g - 1) % ${ROWS}` })
      table.foreignKeys.push({ column, target })
    }
    for (let k = 0; table.columns.length < COLUMNS; k += 1) {
      const [base, type, value] = COLUMN_POOL[(i * 3 + k) % COLUMN_POOL.length]!
      const name = k < COLUMN_POOL.length ? base : `${base}_${Math.floor(k / COLUMN_POOL.length) + 1}`
      if (table.columns.some((c) => c.name === name)) continue
      table.columns.push({ name, type, value })
    }
    tables.push(table)
  }
  return tables
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`
const qualified = (table: Table) => `${ident(table.schema)}.${ident(table.name)}`

function tableDdl(table: Table): string {
  const columns = table.columns.map((c) => `${ident(c.name)} ${c.type}${c.name === 'id' ? ' primary key' : ''}`)
  for (const fk of table.foreignKeys) {
    columns.push(`foreign key (${ident(fk.column)}) references ${qualified(fk.target)} (id)`)
  }
  return (
    `create table ${qualified(table)} (${columns.join(', ')});\n` +
    `insert into ${qualified(table)} select ${table.columns.map((c) => c.value).join(', ')} ` +
    `from generate_series(1, ${ROWS}) g;\n`
  )
}

// ---------------------------------------------------------------------------------------------------------
// Questions: templates over the entities, qualifiers, columns and values the source holds.

/** A generated question and the entity whose tables answer it. */
interface Question {
  text: string
  entity: string
}

/** `QUESTIONS` distinct questions, walking the tables with a stride so every entity and qualifier comes up. */
function questions(tables: Table[]): Question[] {
  const templates = [
    (t: Table) => `which ${t.entity}s have the highest amount`,
    (t: Table) => `${t.qualifier} ${t.entity}s by country`,
    (t: Table) => `how many ${t.qualifier} ${t.entity}s were created last month`,
    (t: Table) => `total of ${t.entity}s per status in Portugal`,
    (t: Table) => `list ${t.qualifier} ${t.entity}s with their ${t.foreignKeys[0]?.target.entity ?? 'region'}`,
    (t: Table) => `average unit price of ${t.qualifier} ${t.entity}s in EUR`,
    (t: Table) => `${t.entity} ${t.columns[3]?.name.replaceAll('_', ' ') ?? 'name'} for ${t.qualifier} records`,
    (t: Table) => `show me ${t.entity}s paid after March in France`,
  ]
  const seen = new Set<string>()
  const list: Question[] = []
  for (let i = 0; list.length < QUESTIONS && i < QUESTIONS * 20; i += 1) {
    const table = tables[(i * 37) % tables.length]!
    const text = templates[i % templates.length]!(table)
    if (seen.has(text)) continue
    seen.add(text)
    list.push({ text, entity: table.entity })
  }
  return list
}

// ---------------------------------------------------------------------------------------------------------

type Json = any

async function main() {
  const cleanups: (() => Promise<void> | void)[] = []
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined)
  }
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130))
  })
  try {
    await run(cleanups)
  } finally {
    await cleanup()
  }
}

async function run(cleanups: (() => Promise<void> | void)[]) {
  const loadAtStart = loadavg()[0]!.toFixed(2)
  const stamp = `${Date.now()}_${Math.random().toString(16).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect().catch((error: Error) => {
    throw new Error(`PostgreSQL at ${POSTGRES_URL} is not reachable (${error.message}); set BENCH_POSTGRES_URL`)
  })
  cleanups.push(() => admin.end())

  // 1. The source.
  const database = `tributary_bench_meta_${stamp}`
  await admin.query(`create database ${database}`)
  if (!KEEP_SOURCE) cleanups.push(() => dropDatabase(admin, database))
  else console.log(`source database: ${database} (kept)`)
  const sourceUrl = new URL(POSTGRES_URL)
  sourceUrl.pathname = `/${database}`
  const tables = sourceTables()
  const started = performance.now()
  {
    const source = new pg.Client({ connectionString: sourceUrl.toString() })
    await source.connect()
    try {
      const schemas = [...new Set(tables.map((t) => t.schema))]
      await source.query(schemas.map((s) => `create schema ${ident(s)};`).join('\n'))
      for (let i = 0; i < tables.length; i += DDL_BATCH) {
        await source.query(
          `begin;\n${tables
            .slice(i, i + DDL_BATCH)
            .map(tableDdl)
            .join('')}commit;`,
        )
      }
      await source.query('analyze')
    } finally {
      await source.end()
    }
  }
  const foreignKeys = tables.reduce((sum, t) => sum + t.foreignKeys.length, 0)
  const generateMs = performance.now() - started
  console.log(
    `source: ${fmt(TABLES)} tables × ${COLUMNS} columns, ${fmt(foreignKeys)} foreign keys, ${ROWS} rows each, ` +
      `made in ${ms(generateMs)}`,
  )

  // 2. The app, in process.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-metadata-'))
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
  let storeUrl: string | undefined
  if (STORE === 'postgres') {
    const store = `tributary_bench_meta_store_${stamp}`
    await admin.query(`create database ${store}`)
    cleanups.push(() => dropDatabase(admin, store))
    const url = new URL(POSTGRES_URL)
    url.pathname = `/${store}`
    storeUrl = url.toString()
  } else if (STORE !== 'pglite') {
    throw new Error(`BENCH_STORE must be pglite or postgres, not ${STORE}`)
  }
  const config = loadConfig({
    TRIBUTARY_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    TRIBUTARY_SECRET_KEY: generateToken('bench-secret-'),
    TRIBUTARY_RATE_LIMIT_PER_MINUTE: '100000000',
    TRIBUTARY_JOB_POLL_INTERVAL_MS: '50',
    ...(storeUrl ? { DATABASE_URL: storeUrl } : {}),
  })
  const tributary = await createTributary(config, createLogger('warn'))
  cleanups.push(() => tributary.close())

  const failures: string[] = []
  const results = await measure(tributary, tables, sourceUrl, failures)

  const rssBase = results.rssBefore
  const lines = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, ` +
      `Node ${process.version}; metadata store ${STORE === 'postgres' ? 'PostgreSQL' : 'PGlite'}; source ` +
      `PostgreSQL ${results.serverVersion}, ${fmt(TABLES)} tables × ${COLUMNS} columns in ${SCHEMA_COUNT} schemas, ` +
      `${fmt(foreignKeys)} foreign keys, ${ROWS} rows per table. RSS before the refreshes: ${mb(rssBase)}; ` +
      `load average at the start ${loadAtStart}.`,
    '',
    '| measurement | figure | reference (same run) | ratio | target |',
    '| --- | --- | --- | --- | --- |',
    ...results.rows.map((row) => `| ${row.join(' | ')} |`),
  ]
  if (failures.length > 0) lines.push('', '**FAILED**:', ...failures.map((f) => `- ${f}`))
  const table = lines.join('\n')
  console.log(`\n${table}\n`)
  const out = path.join(ROOT, 'bench/.out')
  mkdirSync(out, { recursive: true })
  writeFileSync(path.join(out, `metadata-${new Date().toISOString().replaceAll(':', '-')}.md`), `${table}\n`)
  if (failures.length > 0) process.exitCode = 1
}

async function measure(tributary: Tributary, tables: Table[], sourceUrl: URL, failures: string[]) {
  const request = async (method: string, url: string, key?: string, body?: unknown) => {
    const headers: Record<string, string> = {}
    if (key) headers.authorization = `Bearer ${key}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await tributary.app.request(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: response.status, body: (await response.json()) as Json }
  }
  const ok = async (method: string, url: string, key?: string, body?: unknown): Promise<Json> => {
    const response = await request(method, url, key, body)
    if (response.status >= 300) {
      throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(response.body)}`)
    }
    return response.body
  }

  const platformKey = generateToken()
  await tributary.services.apiKeys.bootstrapPlatformKey(platformKey)
  const org = await ok('POST', `${API}/organizations`, platformKey, { name: 'Metadata bench' })
  const key = (await ok('POST', `${API}/organizations/${org.id}/api-keys`, platformKey, { name: 'bench' })).key
  const project = (await ok('POST', `${API}/projects`, key, { name: 'Metadata bench' })).id
  const base = `${API}/projects/${project}`
  const connection = await ok('POST', `${base}/connections`, key, {
    name: 'Bench source',
    type: 'postgresql',
    catalog: 'bench',
    config: {
      host: sourceUrl.hostname,
      port: Number(sourceUrl.port || 5432),
      database: sourceUrl.pathname.slice(1),
      user: decodeURIComponent(sourceUrl.username || 'postgres'),
      password: decodeURIComponent(sourceUrl.password),
      ssl: 'disable',
    },
  })
  const catalog: string = connection.catalog
  const rows: string[][] = []
  const rssBefore = process.memoryUsage().rss

  // 1. Refresh: the raw catalog refresh (reference), then the full metadata refresh.
  const reference = await peakRss(async () => {
    const refreshed = await ok('POST', `${base}/catalogs/${catalog}/refresh`, key)
    return refreshed
  })
  const refresh = await peakRss(async () => {
    const job = await ok('POST', `${base}/metadata/refresh`, key, { catalog })
    for (;;) {
      const state = await ok('GET', `${base}/metadata/refresh/${job.id}`, key)
      if (state.status === 'succeeded') return state
      if (state.status === 'failed' || state.status === 'cancelled') {
        throw new Error(`metadata refresh ${state.status}: ${JSON.stringify(state.error ?? state)}`)
      }
      await sleep(25)
    }
  })
  const refreshed = refresh.value.result?.tables
  if (refreshed !== undefined && refreshed < tables.length) {
    failures.push(`the metadata refresh saw ${refreshed} tables, not ${tables.length}`)
  }
  rows.push([
    `metadata refresh, ${fmt(tables.length)} tables (POST → succeeded)`,
    ms(refresh.ms),
    `catalog refresh ${ms(reference.ms)}`,
    ratio(refresh.ms, reference.ms),
    '–',
  ])
  rows.push([
    'peak RSS during the refresh',
    `${mb(refresh.peak)} (+${mb(refresh.peak - rssBefore)})`,
    `catalog refresh ${mb(reference.peak)} (+${mb(reference.peak - rssBefore)})`,
    '–',
    'bounded (batches)',
  ])

  // 2. The metadata read of one table, each call interleaved with its references (the catalogs read of the
  // same table, and health), so that the machine's noise falls on all three alike.
  const picks = Array.from({ length: READS }, (_, i) => tables[(i * 131 + 17) % tables.length]!)
  const health = async () => {
    await ok('GET', `${API}/health`)
  }
  const catalogRead = async (i: number) => {
    const t = picks[i]!
    const body = await ok('GET', `${base}/catalogs/${catalog}/schemas/${enc(t.schema)}/tables/${enc(t.name)}`, key)
    if (body.columns?.length !== COLUMNS) failures.push(`catalog read of ${t.schema}.${t.name}: unexpected body`)
  }
  const metadataRead = async (i: number) => {
    const t = picks[i]!
    const body = await ok(
      'GET',
      `${base}/metadata?catalog=${enc(catalog)}&schema=${enc(t.schema)}&table=${enc(t.name)}`,
      key,
    )
    const found = body.data?.[0]
    if (body.data?.length !== 1 || found?.columns?.length !== COLUMNS) {
      failures.push(`metadata read of ${t.schema}.${t.name}: ${body.data?.length} tables`)
    } else if (!found.columns.some((c: Json) => c.name === 'id' && c.is_primary)) {
      failures.push(`metadata read of ${t.schema}.${t.name}: id is not marked primary`)
    }
  }
  const [reads, catalogReads, readHealth] = await interleaved(READS, [metadataRead, catalogRead, health])
  rows.push([
    `GET /metadata of one table, ${fmt(READS)} reads`,
    pct(reads),
    `catalogs table read ${pct(catalogReads)}; health ${pct(readHealth)}`,
    `${ratio(q(reads, 0.99), q(catalogReads, 0.99))} p99`,
    `p99 < 5 ms ${q(reads, 0.99) < 5 ? 'met' : 'missed'}`,
  ])

  // 3. Search, interleaved with health.
  const asked = questions(tables)
  const search = async (question: Question) => {
    const body = await ok('GET', `${base}/metadata/search?q=${enc(question.text)}&limit=10`, key)
    if (!Array.isArray(body.data)) failures.push(`search '${question.text}': no data array`)
    return (body.data ?? []) as { table: string }[]
  }
  const first = performance.now()
  await search(asked[0]!)
  const firstMs = performance.now() - first
  const [searches, searchHealth] = await interleaved(asked.length, [(i) => search(asked[i]!).then(() => {}), health])
  // Retrieval quality, untimed: whether a table of the question's entity ranks in the top 3.
  let withHits = 0
  let entityInTop3 = 0
  for (const question of asked) {
    const hits = await search(question)
    if (hits.length > 0) withHits += 1
    if (hits.slice(0, 3).some((hit) => hit.table.includes(`${question.entity}s`))) entityInTop3 += 1
  }
  rows.push([
    `GET /metadata/search, ${fmt(asked.length)} distinct questions (${fmt(withHits)} with hits, ` +
      `${fmt(entityInTop3)} with a table of the right entity in the top 3)`,
    pct(searches),
    `health ${pct(searchHealth)}`,
    `${ratio(q(searches, 0.99), q(searchHealth, 0.99))} p99`,
    `p99 < 20 ms ${q(searches, 0.99) < 20 ? 'met' : 'missed'}`,
  ])
  rows.push(['first search after the refresh (builds the index)', ms(firstMs), '–', '–', '–'])

  const version = readServerVersion(sourceUrl)
  return { rows, rssBefore, serverVersion: await version }
}

async function readServerVersion(url: URL): Promise<string> {
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    return (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v
  } finally {
    await client.end()
  }
}

/** Runs `work` while sampling RSS every 10 ms; with Linux's VmHWM reset first, the peak is exact. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; peak: number }> {
  const exact = resetPeak()
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 10)
  const started = performance.now()
  try {
    const value = await work()
    const elapsed = performance.now() - started
    peak = Math.max(peak, process.memoryUsage().rss, exact ? highWaterMark() : 0)
    return { value, ms: elapsed, peak }
  } finally {
    clearInterval(timer)
  }
}

/** Resets the kernel's peak-RSS counter of this process (Linux: `echo 5 > /proc/self/clear_refs`). */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}

function highWaterMark(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/**
 * `count` rounds, each making one call of every function in turn (after 5 unmeasured rounds): the latencies
 * of each function in ms, sorted.
 */
async function interleaved<T extends ((i: number) => Promise<void>)[]>(
  count: number,
  calls: [...T],
): Promise<{ [K in keyof T]: number[] }> {
  for (let i = 0; i < Math.min(5, count); i += 1) for (const call of calls) await call(i)
  const times = calls.map(() => [] as number[])
  for (let i = 0; i < count; i += 1) {
    for (const [j, call] of calls.entries()) {
      const started = performance.now()
      await call(i)
      times[j]!.push(performance.now() - started)
    }
  }
  return times.map((list) => list.sort((a, b) => a - b)) as { [K in keyof T]: number[] }
}

async function dropDatabase(admin: pg.Client, database: string) {
  await admin.query(`drop database if exists ${database} with (force)`)
}

const q = (sorted: number[], quantile: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)]!
const pct = (sorted: number[]) => `p50 ${q(sorted, 0.5).toFixed(2)} ms, p99 ${q(sorted, 0.99).toFixed(2)} ms`
const ratio = (value: number, reference: number) => `${(value / reference).toFixed(2)}×`
const ms = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`)
const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`
const fmt = (value: number) => value.toLocaleString('en-US')
const enc = encodeURIComponent
const sleep = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait))

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
