/**
 * Caches benchmark: a cache of a 6 M-row TPC-H-like `lineitem` in PostgreSQL, refreshed fully and
 * incrementally through Tributary's API, and read through `POST /sql`, each against a reference
 * measured in the same run.
 *
 *   npm run bench:caches
 *
 * It makes the table once in a database of its own (`tributary_bench_caches`; the federation
 * generator plus a cursor column `l_updated_at`), starts Tributary in this process on a free port with
 * a fresh data directory, adds a `postgresql` connection (catalog `pg`) and caches `pg.public.lineitem`
 * with `incremental: {cursor_column: 'l_updated_at', primary_key: ['l_orderkey', 'l_linenumber']}`.
 * Then, round by round after a warm-up round:
 *
 *   (1) the transfer floor (COPY of every column to nowhere), then a full refresh;
 *   (2) about 1 % of the rows changed at the source (0.9 % updated with a newer cursor value, spread
 *       over the whole table, 0.1 % inserted), then an incremental refresh;
 *   (3) the Q1-like aggregate through /sql (read from the cache), and in DuckDB with the same rows
 *       already in memory (a separate process, loaded from the cache's current file, same threads).
 *
 * A refresh is timed from the request to the cache showing COMPLETED (polled every 20 ms); the run's
 * own start and end, from its history, are shown beside. After each incremental refresh the cache is
 * checked against PostgreSQL (counts, sums, the largest cursor value and the Q1 answer); a mismatch
 * fails the run. Results go to stdout, bench/.out/ and the `## Caches` section of bench/README.md.
 *
 * Settings (env):
 *   BENCH_LINEITEM_ROWS    rows of lineitem (default 6,000,000)
 *   BENCH_RUNS             measured rounds (default 3); medians are reported
 *   BENCH_WARMUP           warm-up rounds, not measured (default 1)
 *   BENCH_CHANGE_PERCENT   rows changed before each incremental refresh, in % (default 1)
 *   BENCH_Q1_RUNS          Q1 runs per round and method (default 3)
 *   BENCH_REGENERATE       1 to regenerate the table even when it is there
 *   BENCH_DATABASE         PostgreSQL database (default tributary_bench_caches)
 *   BENCH_POSTGRES_URL     admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_QUIET_WAIT       seconds to wait before each round for other work on the machine to stop (default 30)
 *   BENCH_WRITE_README     0 to leave bench/README.md alone
 *   TRIBUTARY_QUERY_THREADS, TRIBUTARY_QUERY_MEMORY_LIMIT   passed to Tributary, as in production
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

import type pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'

import { createTributary, type Tributary } from '../../apps/server/src/composition.js'
import { loadConfig } from '../../apps/server/src/config/config.js'
import { createLogger } from '../../apps/server/src/lib/logger.js'
import { generateToken } from '../../apps/server/src/lib/secrets.js'
import { DuckDbWorker } from '../federation/duckdb-client.js'
import { changeRows, COLUMNS, connect, ensureSource, type SourceTable } from './data.js'
import { apiClient, serveOnLoopback } from '../support/http.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const OUT_DIR = path.join(ROOT, 'bench/.out')
const README = path.join(ROOT, 'bench/README.md')

interface Settings {
  rows: number
  runs: number
  warmup: number
  changePercent: number
  q1Runs: number
  regenerate: boolean
  database: string
  postgresAdminUrl: string
  quietWaitSeconds: number
  writeReadme: boolean
  threads: number
  memoryLimit: string
}

function readSettings(env: NodeJS.ProcessEnv): Settings {
  const number = (name: string, fallback: number, min: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got '${raw}'`)
    return value
  }
  const database = env.BENCH_DATABASE || 'tributary_bench_caches'
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error('BENCH_DATABASE must be a lowercase identifier')
  const config = loadConfig({
    TRIBUTARY_QUERY_THREADS: env.TRIBUTARY_QUERY_THREADS,
    TRIBUTARY_QUERY_MEMORY_LIMIT: env.TRIBUTARY_QUERY_MEMORY_LIMIT,
  })
  return {
    rows: Math.round(number('BENCH_LINEITEM_ROWS', 6_000_000, 10_000)),
    runs: Math.round(number('BENCH_RUNS', 3, 1)),
    warmup: Math.round(number('BENCH_WARMUP', 1, 0)),
    changePercent: number('BENCH_CHANGE_PERCENT', 1, 0.01),
    q1Runs: Math.round(number('BENCH_Q1_RUNS', 3, 1)),
    regenerate: env.BENCH_REGENERATE === '1',
    database,
    postgresAdminUrl: env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    quietWaitSeconds: number('BENCH_QUIET_WAIT', 30, 0),
    writeReadme: env.BENCH_WRITE_README !== '0',
    threads: config.queryThreads,
    memoryLimit: config.queryMemoryLimit,
  }
}

// ---------------------------------------------------------------------------------------------------
// Cleanup: everything opened registers its teardown here; it runs in reverse order, also on Ctrl-C.

const teardowns: { name: string; run: () => Promise<void> | void }[] = []
const onCleanup = (name: string, run: () => Promise<void> | void) => teardowns.push({ name, run })

async function cleanup(): Promise<void> {
  while (teardowns.length > 0) {
    const { name, run } = teardowns.pop()!
    try {
      await run()
    } catch (error) {
      console.error(`cleanup '${name}' failed: ${message(error)}`)
    }
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

// ---------------------------------------------------------------------------------------------------
// Load on the machine: this is a shared machine, and every figure says how busy it was.

const CLOCK_TICKS = 100

/** CPU seconds: the whole machine, this process and its DuckDB worker, PostgreSQL. */
interface CpuSample {
  at: number
  machine: number
  ours: number
  postgres: number
}

const helperPids: number[] = []

function ticksOf(stat: string, withChildren: boolean): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const own = Number(fields[11]) + Number(fields[12])
  return (withChildren ? own + Number(fields[13]) + Number(fields[14]) : own) / CLOCK_TICKS
}

function sampleCpu(): CpuSample {
  const usage = process.cpuUsage()
  let ours = (usage.user + usage.system) / 1e6
  for (const pid of helperPids) {
    try {
      ours += ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'), false)
    } catch {
      // Gone.
    }
  }
  let postgres = 0
  for (const entry of execFileSync('ls', ['/proc'], { encoding: 'utf8' }).split('\n')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      // Reaped backends move their time into the postmaster's children counters.
      if (comm === 'postgres' || comm === 'postmaster') postgres += ticksOf(stat, true)
    } catch {
      // Gone.
    }
  }
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
  const machine = (values.reduce((sum, value) => sum + value, 0) - values[3]! - values[4]!) / CLOCK_TICKS
  return { at: performance.now(), machine, ours, postgres }
}

/** Cores used by others (not this process, its worker or PostgreSQL) between two samples. */
function otherCores(before: CpuSample, after: CpuSample): number {
  const wall = (after.at - before.at) / 1000
  const other = after.machine - before.machine - (after.ours - before.ours) - (after.postgres - before.postgres)
  return Math.max(0, other) / wall
}

/** From this many cores used by other work a figure is flagged. */
const NOISE_LIMIT = 0.25

async function waitForQuiet(maxSeconds: number): Promise<void> {
  if (maxSeconds <= 0) return
  const deadline = Date.now() + maxSeconds * 1000
  let quietFor = 0
  let warned = false
  while (quietFor < 3) {
    const before = sampleCpu()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const after = sampleCpu()
    const busy = (after.machine - before.machine) / ((after.at - before.at) / 1000)
    if (busy < NOISE_LIMIT) {
      quietFor += 1
      continue
    }
    quietFor = 0
    if (!warned) {
      console.log(`  machine busy (${busy.toFixed(2)} cores); waiting up to ${maxSeconds} s …`)
      warned = true
    }
    if (Date.now() > deadline) {
      console.log(`  still busy after ${maxSeconds} s; measuring anyway (see "other work")`)
      return
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Tributary, in this process, over HTTP.

interface SqlAnswer {
  rows: unknown[][]
  stats: { elapsed_ms: number; sources: { catalog: string; table: string; cached?: boolean; rows: number }[] }
}

interface CacheBody {
  id: string
  status: string
  row_count: number | null
  error: { code: string; message: string } | null
  progress: { mode: string; rows_inserted: number; rows_updated: number; rows_deleted: number } | null
}

interface CacheRunBody {
  mode: string
  status: string
  started_at: string
  ended_at: string | null
}

interface RunningTributary {
  tributary: Tributary
  projectId: string
  sql(sql: string): Promise<SqlAnswer>
  call<T>(method: string, url: string, body?: unknown): Promise<T>
}

async function startTributary(settings: Settings, source: SourceTable): Promise<RunningTributary> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-caches-'))
  onCleanup(`data dir ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }))
  const config = loadConfig({
    TRIBUTARY_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    TRIBUTARY_SECRET_KEY: generateToken('bench-secret-'),
    TRIBUTARY_RATE_LIMIT_PER_MINUTE: '1000000',
    TRIBUTARY_QUERY_THREADS: String(settings.threads),
    TRIBUTARY_QUERY_MEMORY_LIMIT: settings.memoryLimit,
  })
  const tributary = await createTributary(config, createLogger('warn'))
  onCleanup('tributary', () => tributary.close())
  const platformKey = generateToken()
  await tributary.services.apiKeys.bootstrapPlatformKey(platformKey)
  const server = await serveOnLoopback(tributary.app.fetch)
  onCleanup('http server', () => server.close())

  const request = apiClient(server.baseUrl)
  const organization = await request<{ id: string }>('POST', '/organizations', platformKey, { name: 'Bench Org' })
  const { key } = await request<{ key: string }>('POST', `/organizations/${organization.id}/api-keys`, platformKey, {
    name: 'bench key',
  })
  const project = await request<{ id: string }>('POST', '/projects', key, { name: 'caches bench' })
  const postgres = new URL(source.url)
  await request('POST', `/projects/${project.id}/connections`, key, {
    name: 'lineitem source',
    type: 'postgresql',
    catalog: 'pg',
    config: {
      host: postgres.hostname,
      port: Number(postgres.port || 5432),
      database: settings.database,
      user: decodeURIComponent(postgres.username || 'postgres'),
      password: decodeURIComponent(postgres.password),
    },
  })
  return {
    tributary,
    projectId: project.id,
    call: (method, url, body) => request(method, `/projects/${project.id}${url}`, key, body),
    sql: (sql) =>
      request<SqlAnswer>('POST', `/projects/${project.id}/sql`, key, { sql, limit: 10_000, timeout_ms: 600_000 }),
  }
}

interface Refreshed {
  /** From the request to the cache showing COMPLETED. */
  wall: number
  /** The run's own start to end, from its history. */
  run: number
  cache: CacheBody
  otherCores: number
}

async function refresh(tributary: RunningTributary, cacheId: string, mode: 'full' | 'incremental'): Promise<Refreshed> {
  const before = sampleCpu()
  const started = performance.now()
  await tributary.call('POST', `/caches/${cacheId}/refresh`, { mode })
  let cache: CacheBody
  for (;;) {
    cache = await tributary.call<CacheBody>('GET', `/caches/${cacheId}`)
    if (cache.status !== 'RUNNING') break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const wall = (performance.now() - started) / 1000
  const after = sampleCpu()
  if (cache.status !== 'COMPLETED') throw new Error(`${mode} refresh ended ${cache.status}: ${cache.error?.message}`)
  const {
    data: [last],
  } = await tributary.call<{ data: CacheRunBody[] }>('GET', `/caches/${cacheId}/history?limit=1`)
  if (!last?.ended_at || last.mode !== mode) throw new Error(`the last run is not the ${mode} refresh just made`)
  const run = (Date.parse(last.ended_at) - Date.parse(last.started_at)) / 1000
  return { wall, run, cache, otherCores: otherCores(before, after) }
}

// ---------------------------------------------------------------------------------------------------
// The references: the transfer floor, and DuckDB with the rows already in memory.

async function drain(stream: Readable): Promise<void> {
  for await (const chunk of stream) void chunk
}

/** COPY of every column of the table to nowhere, through the driver Tributary's PostgreSQL connector uses. */
async function transferFloor(client: pg.Client): Promise<{ seconds: number; otherCores: number }> {
  const before = sampleCpu()
  const started = performance.now()
  await drain(client.query(copyTo(`COPY (SELECT ${COLUMNS.join(', ')} FROM lineitem) TO STDOUT WITH (FORMAT csv)`)))
  const seconds = (performance.now() - started) / 1000
  return { seconds, otherCores: otherCores(before, sampleCpu()) }
}

// ---------------------------------------------------------------------------------------------------
// Queries and answers

const Q1 = (table: string) => `
SELECT l_returnflag, l_linestatus,
       sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
       avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc,
       count(*) AS count_order
FROM ${table}
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus`

/** What must be the same in the cache and at the source after a refresh: every changed column shows. */
const CHECK = (table: string) => `
SELECT count(*) AS line_items, count(DISTINCT l_orderkey) AS orders, sum(l_quantity) AS quantity,
       sum(length(l_comment)) AS comment_chars, max(l_updated_at)::VARCHAR AS last_update,
       sum(CASE WHEN l_comment LIKE 'changed in round%' THEN 1 ELSE 0 END) AS changed
FROM ${table}`

function normalise(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'number') return value
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).trim()
  return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text) ? Number(text) : text.replace('T', ' ').replace(/(\.\d*?)0+$/, '$1')
}

function sameRows(expected: unknown[][], actual: unknown[][]): string | undefined {
  if (expected.length !== actual.length) return `${actual.length} rows instead of ${expected.length}`
  for (let r = 0; r < expected.length; r++) {
    const want = expected[r]!.map(normalise)
    const got = actual[r]!.map(normalise)
    for (let c = 0; c < want.length; c++) {
      const a = want[c]
      const b = got[c]
      const equal =
        typeof a === 'number' && typeof b === 'number'
          ? Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
          : a === b
      if (!equal) return `row ${r} column ${c}: ${JSON.stringify(b)} instead of ${JSON.stringify(a)}`
    }
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------
// Measuring

interface Round {
  floor: { seconds: number; otherCores: number }
  full: Refreshed
  change: { updated: number; inserted: number }
  incremental: Refreshed
  q1Tributary: number[]
  q1DuckDb: number[]
  q1OtherCores: number
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

async function measureRound(
  index: number,
  settings: Settings,
  source: SourceTable,
  tributary: RunningTributary,
  client: pg.Client,
  duckdb: DuckDbWorker,
  cacheId: string,
  problems: string[],
): Promise<Round> {
  const floor = await transferFloor(client)
  const full = await refresh(tributary, cacheId, 'full')
  const change = await changeRows(client, source.rows, settings.changePercent, Date.now() % 1_000_000)
  const incremental = await refresh(tributary, cacheId, 'incremental')
  const counts = incremental.cache.progress
  if (counts && (counts.rows_updated !== change.updated || counts.rows_inserted !== change.inserted)) {
    problems.push(
      `round ${index}: the incremental refresh counted ${counts.rows_updated} updated and ${counts.rows_inserted} ` +
        `inserted rows; ${change.updated} and ${change.inserted} were changed`,
    )
  }
  // The cache holds what the source holds.
  for (const [name, sql] of [
    ['check', CHECK],
    ['Q1', Q1],
  ] as const) {
    const atSource = (await client.query({ text: sql('lineitem'), rowMode: 'array' })).rows as unknown[][]
    const cached = await tributary.sql(sql('pg.public.lineitem'))
    if (!cached.stats.sources.every((used) => used.cached))
      problems.push(`round ${index}: ${name} did not read the cache`)
    const mismatch = sameRows(atSource, cached.rows)
    if (mismatch) problems.push(`round ${index}: ${name} on the cache differs from PostgreSQL: ${mismatch}`)
  }
  // DuckDB holds the same rows in memory: the cache's current file, loaded before timing.
  const [current] = (await tributary.tributary.services.caches.cachedTables(tributary.projectId, ['pg'])).values()
  await duckdb.init(current!.segments[0]!, settings.threads, { lineitem: 'data' })
  const q1Tributary: number[] = []
  const q1DuckDb: number[] = []
  const before = sampleCpu()
  let reference: unknown[][] | undefined
  for (let run = 0; run < settings.q1Runs; run++) {
    let started = performance.now()
    const answer = await tributary.sql(Q1('pg.public.lineitem'))
    q1Tributary.push((performance.now() - started) / 1000)
    started = performance.now()
    const rows = await duckdb.rows(Q1('lineitem'))
    q1DuckDb.push((performance.now() - started) / 1000)
    reference ??= rows
    const mismatch = sameRows(reference, answer.rows)
    if (mismatch) problems.push(`round ${index}: Q1 through /sql differs from DuckDB's: ${mismatch}`)
  }
  return { floor, full, change, incremental, q1Tributary, q1DuckDb, q1OtherCores: otherCores(before, sampleCpu()) }
}

// ---------------------------------------------------------------------------------------------------
// Report

const seconds = (value: number) => (value < 0.1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1))
const count = (value: number) => value.toLocaleString('en-US')

function markdownTable(header: string[], align: ('l' | 'r')[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length), 3))
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')} |`
  const rule = `| ${widths.map((width, i) => (align[i] === 'r' ? '-'.repeat(width - 1) + ':' : '-'.repeat(width))).join(' | ')} |`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

interface ReportContext {
  settings: Settings
  source: SourceTable
  rounds: Round[]
  problems: string[]
  command: string
  code: string
  startedAt: Date
  totalSeconds: number
  versions: string
  load: string
}

function report(context: ReportContext): string {
  const { settings, rounds } = context
  const of = (pick: (round: Round) => number) => median(rounds.map(pick))
  const floor = of((round) => round.floor.seconds)
  const full = of((round) => round.full.wall)
  const fullRun = of((round) => round.full.run)
  const incremental = of((round) => round.incremental.wall)
  const incrementalRun = of((round) => round.incremental.run)
  // Per round, then the median: the load on a shared machine drifts between rounds.
  const incrementalShare = of((round) => round.incremental.wall / round.full.wall)
  const q1 = median(rounds.flatMap((round) => round.q1Tributary))
  const q1DuckDb = median(rounds.flatMap((round) => round.q1DuckDb))
  const changed = of((round) => round.change.updated + round.change.inserted)
  const failed = context.problems.length > 0
  const verdict = (value: number, target: number) => (failed ? '**FAILED**' : value <= target ? 'met' : '**missed**')
  const main = markdownTable(
    ['measure', 'Tributary', 'reference', 'ratio', 'target', 'verdict'],
    ['l', 'r', 'r', 'r', 'r', 'l'],
    [
      [
        '(1) full cache of lineitem vs the transfer floor',
        `${seconds(full)} s (run ${seconds(fullRun)} s)`,
        `${seconds(floor)} s`,
        `${(full / floor).toFixed(2)}×`,
        '≤ 1.3×',
        verdict(full / floor, 1.3),
      ],
      [
        `(2) incremental refresh, ${count(changed)} rows changed, vs a full refresh`,
        `${seconds(incremental)} s (run ${seconds(incrementalRun)} s)`,
        `${seconds(full)} s`,
        `${(incrementalShare * 100).toFixed(1)} %`,
        '≤ 5 %',
        verdict(incrementalShare, 0.05),
      ],
      [
        '(3) Q1-like aggregate through /sql on the cache vs DuckDB preloaded',
        `${seconds(q1)} s`,
        `${seconds(q1DuckDb)} s`,
        `${(q1 / q1DuckDb).toFixed(2)}×`,
        '≤ 1.5×',
        verdict(q1 / q1DuckDb, 1.5),
      ],
    ],
  )
  const flag = (cores: number) => `${cores.toFixed(2)}${cores >= NOISE_LIMIT ? ' ⚠' : ''}`
  const perRound = markdownTable(
    [
      'round',
      'floor s',
      'full s (run)',
      'updated + inserted',
      'incremental s (run)',
      'Q1 /sql s',
      'Q1 DuckDB s',
      'other work, cores',
    ],
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rounds.map((round, index) => [
      String(index + 1),
      seconds(round.floor.seconds),
      `${seconds(round.full.wall)} (${seconds(round.full.run)})`,
      `${count(round.change.updated)} + ${count(round.change.inserted)}`,
      `${seconds(round.incremental.wall)} (${seconds(round.incremental.run)})`,
      round.q1Tributary.map(seconds).join(', '),
      round.q1DuckDb.map(seconds).join(', '),
      [round.floor.otherCores, round.full.otherCores, round.incremental.otherCores, round.q1OtherCores]
        .map(flag)
        .join(' / '),
    ]),
  )
  return [
    `### Results (${context.startedAt.toISOString().slice(0, 10)})`,
    '',
    '```',
    context.command,
    '```',
    '',
    `Scale: lineitem ${count(context.source.rows)} rows (17 columns) in PostgreSQL. Median of ${settings.runs} ` +
      `round(s) after ${settings.warmup} warm-up round(s); Q1 ${settings.q1Runs} times per round and method. ` +
      `Tributary and DuckDB with ${settings.threads} thread(s), memory limit ${settings.memoryLimit}. ` +
      'A refresh is timed from its request to the cache showing COMPLETED; "run" is the refresh job\'s own ' +
      "start to end from the cache's history.",
    '',
    `Machine: 2 cores shared by the bench, PostgreSQL and other work (${cpus().length} × ` +
      `${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM); ${context.load}. ` +
      `${context.versions}. Code: ${context.code}. Whole run ${Math.round(context.totalSeconds)} s.`,
    '',
    main,
    '',
    'The incremental ratio is the median of the per-round ratios. ' +
      'Each round: "other work" is the cores used by everything but this process, its DuckDB worker and ' +
      'PostgreSQL, during the floor / full / incremental / Q1 measurements (⚠ from 0.25).',
    '',
    perRound,
    ...(failed ? ['', '**Problems:**', '', ...context.problems.map((problem) => `- ${problem}`)] : []),
  ].join('\n')
}

const RESULTS_START = '<!-- bench:caches results start -->'
const RESULTS_END = '<!-- bench:caches results end -->'

/** Replaces the results between the markers (the rest of the section is written by hand), or appends them. */
function writeReadme(results: string): void {
  const block = `${RESULTS_START}\n\n${results}\n\n${RESULTS_END}`
  const text = readFileSync(README, 'utf8')
  const start = text.indexOf(RESULTS_START)
  const end = text.indexOf(RESULTS_END)
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + block + text.slice(end + RESULTS_END.length)
      : `${text.trimEnd()}\n\n## Caches benchmark (\`npm run bench:caches\`)\n\n${block}\n`
  writeFileSync(README, next)
}

function describeCode(): string {
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim()
    const changed = git(['status', '--porcelain', '--', 'apps', 'packages']).split('\n').filter(Boolean).length
    return `working tree at ${git(['rev-parse', '--short', 'HEAD'])}${changed > 0 ? ` + ${changed} uncommitted change(s) in apps/ and packages/` : ''}`
  } catch {
    return 'working tree (not a git checkout)'
  }
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date()
  const started = performance.now()
  const settings = readSettings(process.env)
  const log = (line: string) => console.log(line)
  const loadAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const source = await ensureSource(
    settings.postgresAdminUrl,
    settings.database,
    settings.rows,
    settings.regenerate,
    log,
  )
  const client = await connect(source.url)
  onCleanup('postgres client', () => client.end())
  const duckdb = new DuckDbWorker()
  onCleanup('duckdb worker', () => duckdb.close())
  if (duckdb.pid !== undefined) helperPids.push(duckdb.pid)
  const tributary = await startTributary(settings, source)
  const cache = await tributary.call<CacheBody>('POST', '/caches', {
    catalog: 'pg',
    schema: 'public',
    table: 'lineitem',
    incremental: { cursor_column: 'l_updated_at', primary_key: ['l_orderkey', 'l_linenumber'] },
  })
  const versions = [
    `Node ${process.version}`,
    `PostgreSQL ${String((await client.query('show server_version')).rows[0].server_version).split(' ')[0]}`,
    `DuckDB ${String((await duckdb.rows('SELECT version()'))[0]![0])}`,
  ].join(', ')

  const problems: string[] = []
  const rounds: Round[] = []
  for (let index = 0; index < settings.warmup + settings.runs; index++) {
    const measured = index >= settings.warmup
    await waitForQuiet(settings.quietWaitSeconds)
    const round = await measureRound(index, settings, source, tributary, client, duckdb, cache.id, problems)
    console.log(
      `${measured ? 'round' : 'warm-up'} ${index + 1}: floor ${seconds(round.floor.seconds)} s, ` +
        `full ${seconds(round.full.wall)} s (run ${seconds(round.full.run)} s), ` +
        `${count(round.change.updated)} updated + ${count(round.change.inserted)} inserted, ` +
        `incremental ${seconds(round.incremental.wall)} s (run ${seconds(round.incremental.run)} s), ` +
        `Q1 /sql ${round.q1Tributary.map(seconds).join(' ')} s, DuckDB ${round.q1DuckDb.map(seconds).join(' ')} s`,
    )
    if (measured) rounds.push(round)
  }

  const passthrough = Object.keys(process.env)
    .filter((name) => /^BENCH_|^TRIBUTARY_QUERY_/.test(name) && name !== 'BENCH_WRITE_README' && process.env[name])
    .sort()
    .map((name) => `${name}=${process.env[name]}`)
  const loadAtEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const text = report({
    settings,
    source,
    rounds,
    problems,
    command: `cd /work/main && ${[...passthrough, 'npm run bench:caches'].join(' ')}`,
    code: describeCode(),
    startedAt,
    totalSeconds: (performance.now() - started) / 1000,
    versions,
    load: `load average ${loadAtStart} at the start, ${loadAtEnd} at the end`,
  })
  console.log(`\n${text}\n`)
  mkdirSync(OUT_DIR, { recursive: true })
  const outFile = path.join(OUT_DIR, `caches-${startedAt.toISOString().replace(/[:.]/g, '-')}.md`)
  writeFileSync(outFile, `${text}\n`)
  console.log(`written to ${path.relative(ROOT, outFile)}`)
  if (settings.writeReadme) {
    writeReadme(text)
    console.log('and to the Caches section of bench/README.md')
  }
  if (problems.length > 0) process.exitCode = 1
}

let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  console.error('\ninterrupted; cleaning up (Ctrl-C again to quit at once)')
  void cleanup().then(() => process.exit(130))
})

try {
  await main()
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  await cleanup()
}
// The metadata store or a driver may keep a handle open; everything has been closed above.
process.exit()
