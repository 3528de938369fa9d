/**
 * Federation benchmark: TPC-H-like data split across PostgreSQL (`lineitem`, `orders`) and MariaDB/MySQL
 * (`customer`, `nation`), queried through Tributary's `POST /sql`, against what the same answer costs
 * without federation.
 *
 *   npm run bench:federation
 *
 * It generates the data inside each server (once; reruns reuse it), starts Tributary in this process on
 * a free port with a fresh data directory, adds a `postgresql` connection (catalog `pg`) and a `mysql`
 * connection (catalog `my`) over HTTP, and times, round by round after a warm-up:
 *
 *   (a)  a TPC-H Q1-like aggregate over all of lineitem
 *   (a') the same plus a median, which no source is sent: all of lineitem's needed columns cross
 *   (b)  a 1 %-selective filter on l_shipdate (no index on it, as in TPC-H), aggregated
 *   (b') the same with a 1 % range of l_orderkey, the leading column of lineitem's primary key
 *   (c)  lineitem ⋈ orders ⋈ customer ⋈ nation, revenue by nation
 *
 * each as: Tributary /sql; the transfer floor (COPY of just the needed columns with the pushed filter,
 * streamed to nowhere; MariaDB tables by a streamed SELECT, discarded; summed over the tables); the
 * query in DuckDB over the same data already in memory (same thread count as Tributary); PostgreSQL
 * running it alone ((a), (b), (b')). Diagnostics: the engine's own remote SQL streamed to nowhere, and
 * DuckDB parsing the transferred CSV from a file. Answers are compared across methods; a mismatch
 * fails the run. Results go to stdout, bench/.out/ and the `## Federation` section of bench/README.md.
 *
 * Settings (env):
 *   BENCH_SCALE            TPC-H-like scale factor: lineitem = 6,000,000 × scale (default 1)
 *   BENCH_LINEITEM_ROWS    exact lineitem rows, instead of BENCH_SCALE
 *   BENCH_RUNS             measured rounds per query (default 3); the median is reported
 *   BENCH_WARMUP           warm-up rounds per query, not measured (default 1)
 *   BENCH_QUERIES          subset of a,a_scan,b,b_idx,c,d (default all)
 *   BENCH_REGENERATE       1 to regenerate the data even when it is there
 *   BENCH_GENERATE_ONLY    1 to make sure the data (and its DuckDB copy) is there, and stop
 *   BENCH_DATABASE         database name on both servers (default tributary_bench_tpch)
 *   BENCH_POSTGRES_URL     admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_MYSQL_URL        (default mysql://root@127.0.0.1:3306)
 *   BENCH_BREAKDOWN        0 to skip the diagnostic columns (engine SQL to nowhere, CSV parse)
 *   BENCH_QUIET_WAIT       seconds to wait before each query for other work on the machine to stop (default 60)
 *   BENCH_PRIORITY         nice value (e.g. -10; needs root) for this process (Tributary, DuckDB, the clients), the
 *                          PostgreSQL backends serving it, and the autogroups of this process and of both database
 *                          servers (restored at the end), on a machine shared with other work (default 0)
 *   BENCH_WRITE_README     0 to leave bench/README.md alone
 *   BENCH_GIT_REF          benchmark a clean `git archive` snapshot of this commit instead of the working tree
 *   TRIBUTARY_QUERY_THREADS, TRIBUTARY_QUERY_MEMORY_LIMIT   passed to Tributary, as in production
 */
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { cpus, setPriority, tmpdir, totalmem } from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { execFileSync } from 'node:child_process'

import { createConnection, type Connection as MysqlConnection } from 'mysql2/promise'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'

import type * as Composition from '../../apps/server/src/composition.js'
import type * as ConfigModule from '../../apps/server/src/config/config.js'
import type * as LoggerModule from '../../apps/server/src/lib/logger.js'
import type * as SecretsModule from '../../apps/server/src/lib/secrets.js'
import {
  type DataInfo,
  type DataLocation,
  ensureData,
  ensureDuckDbCopy,
  LINEITEM,
  ORDERS,
  postgresDatabaseUrl,
  scaleFor,
} from './data.js'
import { DuckDbWorker } from './duckdb-client.js'
import { apiClient, serveOnLoopback } from '../support/http.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const OUT_DIR = path.join(ROOT, 'bench/.out')
const CACHE_DIR = path.join(OUT_DIR, 'federation')
const README = path.join(ROOT, 'bench/README.md')

const QUERY_KEYS = ['a', 'a_scan', 'b', 'b_idx', 'c', 'd'] as const
type QueryKey = (typeof QUERY_KEYS)[number]

interface Settings {
  lineitemRows: number
  runs: number
  warmup: number
  queries: QueryKey[]
  regenerate: boolean
  generateOnly: boolean
  database: string
  postgresAdminUrl: string
  mysqlUrl: string
  breakdown: boolean
  quietWaitSeconds: number
  priority: number
  writeReadme: boolean
  threads: number
  memoryLimit: string
}

function readSettings(env: NodeJS.ProcessEnv, app: AppModules): Settings {
  const number = (name: string, fallback: number, min: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got '${raw}'`)
    return value
  }
  const queries = (env.BENCH_QUERIES ?? QUERY_KEYS.join(','))
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean)
  for (const key of queries) {
    if (!(QUERY_KEYS as readonly string[]).includes(key)) throw new Error(`BENCH_QUERIES: unknown query '${key}'`)
  }
  const scale = number('BENCH_SCALE', 1, 0.001)
  const database = env.BENCH_DATABASE || 'tributary_bench_tpch'
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error('BENCH_DATABASE must be a lowercase identifier')
  // Tributary reads the same two settings; the DuckDB baseline uses the same thread count.
  const config = app.loadConfig({
    TRIBUTARY_QUERY_THREADS: env.TRIBUTARY_QUERY_THREADS,
    TRIBUTARY_QUERY_MEMORY_LIMIT: env.TRIBUTARY_QUERY_MEMORY_LIMIT,
  })
  return {
    lineitemRows: Math.round(number('BENCH_LINEITEM_ROWS', Math.round(6_000_000 * scale), 1000)),
    runs: Math.round(number('BENCH_RUNS', 3, 1)),
    warmup: Math.round(number('BENCH_WARMUP', 1, 0)),
    queries: queries as QueryKey[],
    regenerate: env.BENCH_REGENERATE === '1',
    generateOnly: env.BENCH_GENERATE_ONLY === '1',
    database,
    postgresAdminUrl: env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    mysqlUrl: env.BENCH_MYSQL_URL || 'mysql://root@127.0.0.1:3306',
    breakdown: env.BENCH_BREAKDOWN !== '0',
    quietWaitSeconds: number('BENCH_QUIET_WAIT', 60, 0),
    priority: Math.round(number('BENCH_PRIORITY', 0, -20)),
    writeReadme: env.BENCH_WRITE_README !== '0',
    threads: config.queryThreads,
    memoryLimit: config.queryMemoryLimit,
  }
}

function dataLocation(settings: Settings): DataLocation {
  const mysql = new URL(settings.mysqlUrl)
  return {
    postgresAdminUrl: settings.postgresAdminUrl,
    postgresUrl: postgresDatabaseUrl(settings.postgresAdminUrl, settings.database),
    mysql: {
      host: mysql.hostname,
      port: Number(mysql.port || 3306),
      user: decodeURIComponent(mysql.username || 'root'),
      password: decodeURIComponent(mysql.password),
      database: settings.database,
    },
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
      console.error(`cleanup '${name}' failed: ${(error as Error).message}`)
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting from /proc: who was busy during a run.

const CLOCK_TICKS = 100

interface CpuSample {
  at: number
  /** This process (Tributary's event loop and its DuckDB threads, or the bench's clients) and the DuckDB worker. */
  self: number
  /** This process's main thread: the event loop. */
  main: number
  postgres: number
  mysql: number
  machine: number
}

/**
 * CPU seconds of every process whose command is one of `names`, reaped children included: a backend
 * that ends between two samples moves its time into the postmaster's, so differences stay right.
 */
function processCpu(): { postgres: number; mysql: number } {
  let postgres = 0
  let mysql = 0
  let entries: string[] = []
  try {
    entries = execFileSync('ls', ['/proc'], { encoding: 'utf8' }).split('\n')
  } catch {
    return { postgres, mysql }
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const seconds = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS
    if (comm === 'postgres' || comm === 'postmaster') postgres += seconds
    else if (comm === 'mariadbd' || comm === 'mysqld') mysql += seconds
  }
  return { postgres, mysql }
}

function machineBusy(): number {
  try {
    const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    const total = values.reduce((sum, value) => sum + value, 0)
    return (total - (values[3] ?? 0) - (values[4] ?? 0)) / CLOCK_TICKS
  } catch {
    return 0
  }
}

function mainThreadCpu(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return 0
  }
}

/** Processes of ours besides this one (the DuckDB worker): their CPU counts as "other threads". */
const helperPids: number[] = []

function pidCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return 0
  }
}

function sampleCpu(): CpuSample {
  const usage = process.cpuUsage()
  const main = mainThreadCpu()
  const helpers = helperPids.reduce((sum, pid) => sum + pidCpu(pid), 0)
  const { postgres, mysql } = processCpu()
  return {
    at: performance.now(),
    self: (usage.user + usage.system) / 1e6 + helpers,
    main,
    postgres,
    mysql,
    machine: machineBusy(),
  }
}

/** CPU seconds spent between two samples, by owner. */
interface CpuSpent {
  self: number
  main: number
  postgres: number
  mysql: number
  other: number
  wall: number
}

function cpuSpent(before: CpuSample, after: CpuSample): CpuSpent {
  const self = after.self - before.self
  const postgres = after.postgres - before.postgres
  const mysql = after.mysql - before.mysql
  return {
    self,
    main: after.main - before.main,
    postgres,
    mysql,
    other: Math.max(0, after.machine - before.machine - self - postgres - mysql),
    wall: (after.at - before.at) / 1000,
  }
}

/** Cores used by other work; from this on a figure is flagged. */
const NOISE_LIMIT = 0.25

async function waitForQuiet(maxSeconds: number): Promise<void> {
  if (maxSeconds <= 0) return
  const deadline = Date.now() + maxSeconds * 1000
  let quietFor = 0
  let warned = false
  while (quietFor < 3) {
    const before = sampleCpu()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const spent = cpuSpent(before, sampleCpu())
    const other = (spent.other + spent.postgres + spent.mysql) / spent.wall
    if (other < NOISE_LIMIT) {
      quietFor += 1
      continue
    }
    quietFor = 0
    if (!warned) {
      console.log(`  machine busy with other work (${other.toFixed(2)} cores); waiting up to ${maxSeconds} s …`)
      warned = true
    }
    if (Date.now() > deadline) {
      console.log(`  still busy after ${maxSeconds} s; measuring anyway (see the 'other' CPU column)`)
      return
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Priority on a shared machine: this process, and every PostgreSQL backend working for it.

/** The application names of the sessions this run opens: Tributary's scans and the bench's own clients. */
const OUR_APPLICATIONS = ['tributary', 'tributary-bench-federation']

function renice(pid: number, priority: number): void {
  try {
    setPriority(pid, priority)
  } catch (error) {
    // A backend or thread that ended since it was listed needs no priority.
    if (/ESRCH/.test(message(error))) return
    console.warn(`could not set priority ${priority} on pid ${pid}: ${message(error)}`)
  }
}

/**
 * With autogroup scheduling (Linux's default for desktops, and on here), nice values only rank threads
 * within one session's group; between groups, each group's own nice value counts. So this raises the
 * group of this process and the groups of the PostgreSQL and MariaDB servers (shared with whoever else
 * uses them, for the length of the run; restored at the end), and within them, as they appear, this
 * process's threads and the backends serving our sessions and their parallel workers.
 */
function raiseAutogroups(priority: number): void {
  const groups = new Map<string, { pid: number; nice: number }>()
  const servers = execFileSync('ps', ['-eo', 'pid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, comm]) => comm === 'postgres' || comm === 'mariadbd' || comm === 'mysqld')
    .map(([pid]) => Number(pid))
  for (const pid of [process.pid, ...servers]) {
    try {
      const [name, , nice] = readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim().split(/\s+/)
      if (name && !groups.has(name)) groups.set(name, { pid, nice: Number(nice) })
    } catch {
      // Gone, or no autogroups on this kernel.
    }
  }
  for (const [name, { pid, nice }] of groups) {
    try {
      writeFileSync(`/proc/${pid}/autogroup`, String(priority))
      onCleanup(`autogroup ${name}`, () => {
        try {
          writeFileSync(`/proc/${pid}/autogroup`, String(nice))
        } catch {
          // The process is gone, and its group with it.
        }
      })
    } catch (error) {
      console.warn(`could not set the nice value of ${name} (pid ${pid}): ${message(error)}`)
    }
  }
}

/**
 * Linux sets nice values per thread, and a thread starts with its creator's: DuckDB's and libuv's
 * threads may predate this call, and backends are forked by the postmaster at normal priority.
 */
async function raisePriority(settings: Settings, location: DataLocation): Promise<void> {
  if (settings.priority === 0) return
  raiseAutogroups(settings.priority)
  const watcher = new pg.Client({ connectionString: location.postgresAdminUrl, application_name: 'bench-renicer' })
  watcher.on('error', () => undefined)
  await watcher.connect()
  const seen = new Set<number>()
  const reniceNew = (pid: number) => {
    if (!seen.has(pid)) renice(pid, settings.priority)
    seen.add(pid)
  }
  let busy = false
  const poll = async () => {
    if (busy) return
    busy = true
    try {
      for (const thread of readdirSync('/proc/self/task')) reniceNew(Number(thread))
      const result = await watcher.query<{ pid: number }>(
        `select pid from pg_stat_activity
         where application_name = any($1)
            or leader_pid in (select pid from pg_stat_activity where application_name = any($1))`,
        [OUR_APPLICATIONS],
      )
      for (const { pid } of result.rows) reniceNew(pid)
    } catch {
      // The next poll tries again.
    } finally {
      busy = false
    }
  }
  await poll()
  const timer = setInterval(() => void poll(), 50)
  onCleanup('renicer', async () => {
    clearInterval(timer)
    await watcher.end()
  })
}

// ---------------------------------------------------------------------------------------------------
// The code under test: the working tree (which others may be editing), or a clean snapshot of a commit.

interface AppModules {
  createTributary: typeof Composition.createTributary
  loadConfig: typeof ConfigModule.loadConfig
  createLogger: typeof LoggerModule.createLogger
  generateToken: typeof SecretsModule.generateToken
  description: string
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

async function loadApp(ref: string | undefined): Promise<AppModules> {
  let root = ROOT
  let description: string
  if (ref) {
    const commit = git(['rev-parse', '--short', `${ref}^{commit}`])
    root = mkdtempSync(path.join(tmpdir(), 'tributary-bench-src-'))
    onCleanup(`snapshot ${root}`, () => rmSync(root, { recursive: true, force: true }))
    const archive = execFileSync('git', ['archive', '--format=tar', commit, 'apps', 'packages', 'package.json'], {
      cwd: ROOT,
      maxBuffer: 1 << 30,
    })
    execFileSync('tar', ['-x', '-C', root], { input: archive })
    linkNodeModules(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'))
    description = `clean snapshot of commit ${commit} (BENCH_GIT_REF=${ref})`
  } else {
    try {
      const changed = git(['status', '--porcelain', '--', 'apps', 'packages']).split('\n').filter(Boolean).length
      description =
        `working tree at ${git(['rev-parse', '--short', 'HEAD'])}` +
        (changed > 0 ? ` + ${changed} uncommitted change(s) in apps/ and packages/` : '')
    } catch {
      description = 'working tree (not a git checkout)'
    }
  }
  const load = <T>(file: string) => import(pathToFileURL(path.join(root, 'apps/server/src', file)).href) as Promise<T>
  const [composition, config, logger, secrets] = await Promise.all([
    load<typeof Composition>('composition.ts'),
    load<typeof ConfigModule>('config/config.ts'),
    load<typeof LoggerModule>('lib/logger.ts'),
    load<typeof SecretsModule>('lib/secrets.ts'),
  ])
  return {
    createTributary: composition.createTributary,
    loadConfig: config.loadConfig,
    createLogger: logger.createLogger,
    generateToken: secrets.generateToken,
    description,
  }
}

/**
 * The snapshot uses the installed dependencies, except workspace packages: their links are relative
 * (../../packages/x), so recreated as they are they point into the snapshot, not the working tree.
 */
function linkNodeModules(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    const target = path.join(to, entry.name)
    if (entry.isSymbolicLink()) {
      const link = readlinkSync(source)
      const resolved = path.resolve(path.dirname(source), link)
      const intoWorkspace = !path.isAbsolute(link) && !resolved.startsWith(path.join(ROOT, 'node_modules') + path.sep)
      symlinkSync(intoWorkspace ? link : resolved, target)
    } else if (entry.isDirectory() && entry.name.startsWith('@')) {
      linkNodeModules(source, target)
    } else {
      symlinkSync(source, target)
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Tributary, in this process, over HTTP.

interface SqlAnswer {
  columns: { name: string; type: string }[]
  rows: unknown[][]
  row_count: number
  truncated: boolean
  stats: {
    elapsed_ms: number
    rows_scanned: number
    sources: { catalog: string; table: string; remote_sql: string; rows: number }[]
  }
}

interface RunningTributary {
  sql(sql: string): Promise<SqlAnswer>
  /**
   * The same query in a second project over the same sources, whose key is under a column mask and a
   * row filter (see POLICIES); undefined when the code benchmarked has no policies.
   */
  sqlUnderPolicies: ((sql: string) => Promise<SqlAnswer>) | undefined
}

/**
 * Issue 15's overhead case: one masked column (a hash of l_comment) and one row filter on lineitem that
 * reads the caller's attribute. The filter keeps every row (none shipped before 1990), so answers stay
 * comparable, and is one the sources can apply: it must reach PostgreSQL.
 */
const POLICIES = {
  mask: { catalog: 'pg', schema: 'public', table: 'lineitem', column: 'l_comment', mask: 'hash' },
  rowFilter: {
    catalog: 'pg',
    schema: 'public',
    table: 'lineitem',
    filter: "l_shipdate >= CAST(current_user_props('shipped_since') AS DATE)",
    applies_to_roles: ['api_key'],
  },
  attributes: { shipped_since: '1990-01-01' },
}

/** The queries measured under POLICIES too. */
const POLICY_QUERIES: readonly QueryKey[] = ['a', 'b']

async function startTributary(app: AppModules, settings: Settings, location: DataLocation): Promise<RunningTributary> {
  const { loadConfig, generateToken, createTributary, createLogger } = app
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-federation-'))
  onCleanup(`data dir ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }))
  const config = loadConfig({
    TRIBUTARY_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    TRIBUTARY_SECRET_KEY: generateToken('bench-secret-'),
    TRIBUTARY_RATE_LIMIT_PER_MINUTE: '1000000',
    TRIBUTARY_QUERY_THREADS: String(settings.threads),
    TRIBUTARY_QUERY_MEMORY_LIMIT: settings.memoryLimit,
  })
  const tributary: Composition.Tributary = await createTributary(config, createLogger('warn'))
  onCleanup('tributary', () => tributary.close())
  const platformKey = generateToken()
  await tributary.services.apiKeys.bootstrapPlatformKey(platformKey)
  const server = await serveOnLoopback(tributary.app.fetch)
  onCleanup('http server', () => server.close())

  const call = apiClient(server.baseUrl)

  const organization = await call<{ id: string }>('POST', '/organizations', platformKey, { name: 'Bench Org' })
  const { key } = await call<{ key: string }>('POST', `/organizations/${organization.id}/api-keys`, platformKey, {
    name: 'bench key',
  })
  const postgres = new URL(location.postgresUrl)
  const addProject = async (name: string) => {
    const project = await call<{ id: string }>('POST', '/projects', key, { name })
    await call('POST', `/projects/${project.id}/connections`, key, {
      name: 'TPC-H PostgreSQL',
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
    await call('POST', `/projects/${project.id}/connections`, key, {
      name: 'TPC-H MariaDB',
      type: 'mysql',
      catalog: 'my',
      config: location.mysql,
    })
    return project.id
  }
  const sqlIn = (projectId: string, as: string) => (sql: string) =>
    call<SqlAnswer>('POST', `/projects/${projectId}/sql`, as, { sql, limit: 10_000, timeout_ms: 600_000 })
  const plain = await addProject('federation bench')
  let sqlUnderPolicies: RunningTributary['sqlUnderPolicies']
  try {
    const policed = await addProject('federation bench under policies')
    await call('POST', `/projects/${policed}/privacy-policies`, key, POLICIES.mask)
    await call('POST', `/projects/${policed}/row-policies`, key, POLICIES.rowFilter)
    const viewer = await call<{ key: string }>('POST', `/projects/${policed}/api-keys`, key, {
      name: 'bench key under policies',
      scopes: ['query'],
      attributes: POLICIES.attributes,
    })
    sqlUnderPolicies = sqlIn(policed, viewer.key)
  } catch (error) {
    console.log(`Policies not measured (the code benchmarked has none?): ${message(error)}`)
  }
  return { sql: sqlIn(plain, key), sqlUnderPolicies }
}

// ---------------------------------------------------------------------------------------------------
// The queries, written once with table placeholders.

interface Transfer {
  source: 'postgres' | 'mysql'
  table: string
  /** Just the columns the query needs, in the source's SQL, with the filter the source can apply. */
  sql: string
  /** For the parse diagnostic: the DuckDB types of those columns, in order. */
  columns?: { name: string; duckdb: string }[]
}

interface QueryDef {
  key: QueryKey
  label: string
  /** The question, with {lineitem} etc. for the table names. */
  sql: string
  transfers: Transfer[]
  postgresAlone: boolean
  target: { ratio: number; against: 'floor' | 'postgres' | 'duckdb+floor' }
}

const pick = (columns: { name: string; duckdb: string }[], names: string[]) =>
  names.map((name) => columns.find((column) => column.name === name)!)

function defineQueries(data: DataInfo): QueryDef[] {
  const orders = data.scale.orders
  // 1 % of the orders, in the middle of the key range: 4 line items each, so 1 % of lineitem.
  const keyLow = Math.floor(orders / 2) + 1
  const keyHigh = keyLow + Math.max(1, Math.round(orders / 100)) - 1
  const q1Columns = ['l_returnflag', 'l_linestatus', 'l_quantity', 'l_extendedprice', 'l_discount', 'l_tax']
  const selectiveColumns = ['l_quantity', 'l_extendedprice', 'l_discount']
  const selective = (where: string) => `
SELECT count(*) AS lines, sum(l_quantity) AS sum_qty, sum(l_extendedprice * (1 - l_discount)) AS revenue,
       avg(l_discount) AS avg_disc
FROM {lineitem}
WHERE ${where}`
  // TPC-H dates spread evenly over about 2,400 days of order dates: 24 days of ship dates is 1 %.
  const shipRange = `l_shipdate >= DATE '1995-03-01' AND l_shipdate < DATE '1995-03-25'`
  const keyRange = `l_orderkey BETWEEN ${keyLow} AND ${keyHigh}`
  const q1 = (extra: string) => `
SELECT l_returnflag, l_linestatus,
       sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
       avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc,
       count(*) AS count_order${extra}
FROM {lineitem}
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus`
  const q1Transfer: Transfer = {
    source: 'postgres',
    table: 'lineitem',
    sql: `SELECT ${q1Columns.join(', ')} FROM lineitem`,
    columns: pick(LINEITEM, q1Columns),
  }
  return [
    {
      key: 'a',
      label: '(a) Q1-like aggregate over all of lineitem',
      sql: q1(''),
      transfers: [q1Transfer],
      postgresAlone: true,
      target: { ratio: 1.5, against: 'floor' },
    },
    {
      // An aggregate a source cannot be sent (a median), so the rows themselves must cross: this keeps
      // measuring the scan path that (a) measured before aggregates were pushed to the source.
      key: 'a_scan',
      label: "(a') the same plus a median: every row crosses",
      sql: q1(',\n       percentile_cont(0.5) WITHIN GROUP (ORDER BY l_quantity) AS median_qty'),
      transfers: [q1Transfer],
      postgresAlone: false,
      target: { ratio: 1.5, against: 'floor' },
    },
    {
      key: 'b',
      label: '(b) 1 % filter on l_shipdate (not indexed)',
      sql: selective(shipRange),
      transfers: [
        {
          source: 'postgres',
          table: 'lineitem',
          sql: `SELECT ${selectiveColumns.join(', ')} FROM lineitem WHERE ${shipRange}`,
          columns: pick(LINEITEM, selectiveColumns),
        },
      ],
      postgresAlone: true,
      target: { ratio: 2, against: 'postgres' },
    },
    {
      key: 'b_idx',
      label: "(b') 1 % range of l_orderkey (primary key)",
      sql: selective(keyRange),
      transfers: [
        {
          source: 'postgres',
          table: 'lineitem',
          sql: `SELECT ${selectiveColumns.join(', ')} FROM lineitem WHERE ${keyRange}`,
          columns: pick(LINEITEM, selectiveColumns),
        },
      ],
      postgresAlone: true,
      target: { ratio: 2, against: 'postgres' },
    },
    {
      key: 'c',
      label: '(c) lineitem ⋈ orders ⋈ customer ⋈ nation, by nation',
      sql: `
SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, count(*) AS lines
FROM {lineitem}
JOIN {orders} ON l_orderkey = o_orderkey
JOIN {customer} ON o_custkey = c_custkey
JOIN {nation} ON c_nationkey = n_nationkey
GROUP BY n_name
ORDER BY revenue DESC, n_name`,
      transfers: [
        {
          source: 'postgres',
          table: 'lineitem',
          sql: 'SELECT l_orderkey, l_extendedprice, l_discount FROM lineitem',
          columns: pick(LINEITEM, ['l_orderkey', 'l_extendedprice', 'l_discount']),
        },
        {
          source: 'postgres',
          table: 'orders',
          sql: 'SELECT o_orderkey, o_custkey FROM orders',
          columns: pick(ORDERS, ['o_orderkey', 'o_custkey']),
        },
        { source: 'mysql', table: 'customer', sql: 'SELECT c_custkey, c_nationkey FROM customer' },
        { source: 'mysql', table: 'nation', sql: 'SELECT n_nationkey, n_name FROM nation' },
      ],
      postgresAlone: false,
      target: { ratio: 2, against: 'duckdb+floor' },
    },
    {
      // MariaDB's scan path (rows decoded by the driver, appended to DuckDB as data chunks): a median
      // keeps the rows from being aggregated at the source, so all of customer crosses.
      key: 'd',
      label: '(d) all of customer from MariaDB, with a median',
      sql: `
SELECT c_mktsegment, count(*) AS customers, sum(c_acctbal) AS balance,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY c_acctbal) AS median_balance,
       max(c_name) AS last_name, min(c_phone) AS first_phone
FROM {customer}
GROUP BY c_mktsegment
ORDER BY c_mktsegment`,
      transfers: [
        {
          source: 'mysql',
          table: 'customer',
          sql: 'SELECT c_name, c_phone, c_acctbal, c_mktsegment FROM customer',
        },
      ],
      postgresAlone: false,
      target: { ratio: 1.5, against: 'floor' },
    },
  ]
}

function tableNames(database: string, where: 'tributary' | 'local'): Record<string, string> {
  if (where === 'local') return { lineitem: 'lineitem', orders: 'orders', customer: 'customer', nation: 'nation' }
  return {
    lineitem: 'pg.public.lineitem',
    orders: 'pg.public.orders',
    customer: `my.${database}.customer`,
    nation: `my.${database}.nation`,
  }
}

const render = (sql: string, names: Record<string, string>) =>
  sql.trim().replace(/\{(\w+)\}/g, (_, table: string) => names[table] ?? `{${table}}`)

// ---------------------------------------------------------------------------------------------------
// The ways to get an answer (or the bytes behind it).

interface Outcome {
  rows?: unknown[][]
  answer?: SqlAnswer
}

interface Method {
  key: string
  run(): Promise<Outcome>
}

interface Clients {
  postgres: pg.Client
  mysql: MysqlConnection
  duckdb: DuckDbWorker
}

async function drain(stream: Readable): Promise<number> {
  let bytes = 0
  for await (const chunk of stream) bytes += (chunk as Buffer | unknown[]).length
  return bytes
}

/** COPY … TO STDOUT (csv) from PostgreSQL, every chunk dropped as it arrives. */
async function copyToNowhere(client: pg.Client, select: string): Promise<void> {
  const sql = select.startsWith('COPY') ? select : `COPY (${select}) TO STDOUT WITH (FORMAT csv)`
  await drain(client.query(copyTo(sql)))
}

/** A streamed SELECT from MariaDB/MySQL, rows dropped as they arrive (as the engine reads them, rows as arrays). */
async function mysqlToNowhere(connection: MysqlConnection, sql: string): Promise<void> {
  const core = (connection as unknown as { connection: { query(options: object): { stream(o: object): Readable } } })
    .connection
  await drain(core.query({ sql, rowsAsArray: true }).stream({ highWaterMark: 1000 }))
}

async function transfersToNowhere(clients: Clients, transfers: { source: string; sql: string }[]): Promise<void> {
  // One after the other: the floor is the sum of what each source has to send.
  for (const transfer of transfers) {
    if (transfer.source === 'postgres') await copyToNowhere(clients.postgres, transfer.sql)
    else await mysqlToNowhere(clients.mysql, transfer.sql)
  }
}

/** DuckDB reading a CSV file exactly as the engine reads its FIFO. */
function engineReadCsv(file: string, columns: { name: string; duckdb: string }[]): string {
  return (
    `read_csv('${file}', header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
    `allow_quoted_nulls = false, new_line = '\\n', max_line_size = ${16 * 1024 * 1024}, ` +
    `buffer_size = ${32 * 1024 * 1024}, columns = {${columns.map((c) => `'${c.name}': '${c.duckdb}'`).join(', ')}})`
  )
}

// ---------------------------------------------------------------------------------------------------
// Answers must agree: numbers to 1e-9 relative (exact decimals against doubles), text trimmed (CHAR pads).

function normalise(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'number') return value
  // pg gives numeric and text as strings, DuckDB's JSON rows decimals as strings, Tributary both.
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).trim()
  return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text) ? Number(text) : text
}

function sameRows(expected: unknown[][], actual: unknown[][]): string | undefined {
  if (expected.length !== actual.length) return `${actual.length} rows instead of ${expected.length}`
  for (let r = 0; r < expected.length; r++) {
    const want = expected[r]!.map(normalise)
    const got = actual[r]!.map(normalise)
    if (want.length !== got.length) return `row ${r}: ${got.length} columns instead of ${want.length}`
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

interface Measured {
  seconds: number[]
  cpu: CpuSpent[]
  /** Tributary only: the engine's own elapsed_ms, in seconds. */
  engine: number[]
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

interface QueryResult {
  def: QueryDef
  times: Map<string, Measured>
  /** Tributary's last answer; undefined when it failed. */
  answer: SqlAnswer | undefined
  problems: string[]
  /** Fraction of lineitem rows that matched (b). */
  selectivity?: number
  /** The answer under POLICIES, for the queries measured so. */
  policyAnswer?: SqlAnswer
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

async function measureQuery(
  def: QueryDef,
  settings: Settings,
  tributary: RunningTributary,
  clients: Clients,
  data: DataInfo,
  scratch: string,
): Promise<QueryResult> {
  const problems: string[] = []
  const federated = render(def.sql, tableNames(settings.database, 'tributary'))
  const local = render(def.sql, tableNames(settings.database, 'local'))

  // The first call also fills Tributary's catalog cache; its remote SQL drives the diagnostics. A query
  // Tributary cannot answer is reported, and the other methods are still measured.
  let answer: SqlAnswer | undefined
  try {
    answer = await tributary.sql(federated)
  } catch (error) {
    problems.push(`tributary: ${message(error)}`)
  }
  const methods: Method[] = [
    { key: 'floor', run: async () => (await transfersToNowhere(clients, def.transfers), {}) },
    { key: 'duckdb', run: async () => ({ rows: await clients.duckdb.rows(local) }) },
  ]
  if (answer) methods.unshift({ key: 'tributary', run: async () => ({ answer: await tributary.sql(federated) }) })
  const underPolicies = POLICY_QUERIES.includes(def.key) ? tributary.sqlUnderPolicies : undefined
  let policyAnswer: SqlAnswer | undefined
  if (answer && underPolicies) {
    // Right after the plain run, so that both meet the same machine.
    methods.splice(1, 0, {
      key: 'policies',
      run: async () => {
        policyAnswer = await underPolicies(federated)
        return { answer: policyAnswer }
      },
    })
  }
  if (def.postgresAlone) {
    methods.push({
      key: 'postgres',
      run: async () => ({ rows: (await clients.postgres.query({ text: local, rowMode: 'array' })).rows }),
    })
  }
  if (settings.breakdown) {
    if (answer) {
      const remote = answer.stats.sources.map((source) => ({
        source: source.catalog === 'pg' ? 'postgres' : 'mysql',
        sql: source.remote_sql,
      }))
      methods.push({ key: 'engine_sql', run: async () => (await transfersToNowhere(clients, remote), {}) })
    }
    // The bytes the floor moves, in a file, parsed by DuckDB as the engine parses its FIFO.
    const files: { file: string; columns: { name: string; duckdb: string }[] }[] = []
    for (const [index, transfer] of def.transfers.entries()) {
      if (transfer.source !== 'postgres' || !transfer.columns) continue
      const file = path.join(scratch, `${def.key}-${index}.csv`)
      await pipeline(
        clients.postgres.query(copyTo(`COPY (${transfer.sql}) TO STDOUT WITH (FORMAT csv)`)),
        createWriteStream(file),
      )
      files.push({ file, columns: transfer.columns })
    }
    methods.push({
      key: 'parse',
      run: async () => {
        for (const [index, { file, columns }] of files.entries()) {
          await clients.duckdb.run(
            `CREATE OR REPLACE TEMP TABLE parsed_${index} AS SELECT * FROM ${engineReadCsv(file, columns)}`,
          )
        }
        for (const index of files.keys()) await clients.duckdb.run(`DROP TABLE parsed_${index}`)
        return {}
      },
    })
  }

  const times = new Map<string, Measured>(methods.map((method) => [method.key, { seconds: [], cpu: [], engine: [] }]))
  const reference = await clients.duckdb.rows(local)
  const check = (method: string, outcome: Outcome) => {
    const rows = outcome.answer?.rows ?? outcome.rows
    if (!rows) return
    const mismatch = sameRows(reference, rows)
    if (mismatch && !problems.some((problem) => problem.startsWith(method))) {
      problems.push(`${method}: answer differs from DuckDB's: ${mismatch}`)
    }
    if (outcome.answer?.truncated) problems.push(`${method}: answer truncated`)
  }
  if (answer) check('tributary', { answer })

  const failed = new Set<string>()
  for (let round = 0; round < settings.warmup + settings.runs; round++) {
    const measured = round >= settings.warmup
    for (const method of methods) {
      if (failed.has(method.key)) continue
      const before = sampleCpu()
      // Timed on its own: a CPU sample reads every process's /proc entry, which takes milliseconds.
      const startedAt = performance.now()
      let outcome: Outcome
      try {
        outcome = await method.run()
      } catch (error) {
        problems.push(`${method.key}: ${message(error)}`)
        failed.add(method.key)
        continue
      }
      const wall = (performance.now() - startedAt) / 1000
      const after = sampleCpu()
      check(method.key, outcome)
      if (outcome.answer && method.key === 'tributary') answer = outcome.answer
      if (measured) {
        const spent = { ...cpuSpent(before, after), wall }
        const entry = times.get(method.key)!
        entry.seconds.push(spent.wall)
        entry.cpu.push(spent)
        if (outcome.answer) entry.engine.push(outcome.answer.stats.elapsed_ms / 1000)
      }
    }
    process.stdout.write(measured ? '.' : 'w')
  }
  process.stdout.write('\n')
  const result: QueryResult = { def, times, answer, problems, ...(policyAnswer ? { policyAnswer } : {}) }
  if (def.key === 'b' || def.key === 'b_idx') {
    result.selectivity = Number(normalise(reference[0]?.[0])) / data.scale.lineitem
  }
  return result
}

// ---------------------------------------------------------------------------------------------------
// Report

const seconds = (value: number | undefined) =>
  value === undefined ? '–' : value < 0.1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1)
const ratio = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(2)}×`)
const count = (value: number) => value.toLocaleString('en-US')

function medianOf(result: QueryResult, key: string): number | undefined {
  const measured = result.times.get(key)
  return measured && measured.seconds.length > 0 ? median(measured.seconds) : undefined
}

/** The target's ratio, by wall-clock medians, or (`measure = cpu`) by the CPU all of our processes spent. */
function headline(
  result: QueryResult,
  measure: 'wall' | 'cpu' = 'wall',
): { value: number | undefined; against: string } {
  const of = (key: string) => {
    if (measure === 'wall') return medianOf(result, key)
    const cpu = cores(result, key)
    return cpu && cpu.main + cpu.threads + cpu.postgres + cpu.mysql
  }
  const tributary = of('tributary')
  const floor = of('floor')
  const duckdb = of('duckdb')
  const postgres = of('postgres')
  if (tributary === undefined) return { value: undefined, against: '' }
  switch (result.def.target.against) {
    case 'floor':
      return { value: floor && tributary / floor, against: 'floor' }
    case 'postgres':
      return { value: postgres && tributary / postgres, against: 'PostgreSQL alone' }
    case 'duckdb+floor':
      return {
        value: duckdb !== undefined && floor !== undefined ? tributary / (duckdb + floor) : undefined,
        against: 'DuckDB + floor',
      }
  }
}

/** Mean CPU seconds per run by owner over a method's measured runs, and the cores other work used. */
function cores(result: QueryResult, key: string) {
  const measured = result.times.get(key)
  if (!measured || measured.cpu.length === 0) return undefined
  const sum = (pick: (cpu: CpuSpent) => number) => measured.cpu.reduce((total, cpu) => total + pick(cpu), 0)
  const runs = measured.cpu.length
  return {
    main: sum((cpu) => cpu.main) / runs,
    threads: Math.max(0, sum((cpu) => cpu.self - cpu.main) / runs),
    postgres: sum((cpu) => cpu.postgres) / runs,
    mysql: sum((cpu) => cpu.mysql) / runs,
    other: sum((cpu) => cpu.other) / runs,
    otherCores: sum((cpu) => cpu.other) / sum((cpu) => cpu.wall),
  }
}

function markdownTable(header: string[], align: ('l' | 'r')[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length), 3))
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')} |`
  const rule = `| ${widths.map((width, i) => (align[i] === 'r' ? '-'.repeat(width - 1) + ':' : '-'.repeat(width))).join(' | ')} |`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

interface ReportContext {
  settings: Settings
  data: DataInfo
  results: QueryResult[]
  command: string
  code: string
  startedAt: Date
  totalSeconds: number
  versions: string
}

function report(context: ReportContext): string {
  const { settings, data, results } = context
  const { scale } = data
  const main = markdownTable(
    [
      'query',
      'Tributary /sql',
      'transfer floor',
      'DuckDB preloaded',
      'PostgreSQL alone',
      'ratio',
      'target',
      'verdict',
      'same ratio in CPU s',
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r'],
    results.map((result) => {
      const { value, against } = headline(result)
      const met = value !== undefined && value <= result.def.target.ratio
      return [
        result.def.label,
        seconds(medianOf(result, 'tributary')),
        seconds(medianOf(result, 'floor')),
        seconds(medianOf(result, 'duckdb')),
        seconds(medianOf(result, 'postgres')),
        `${ratio(value)} ${against}`,
        `≤ ${result.def.target.ratio}×`,
        result.problems.length > 0 ? '**FAILED**' : met ? 'met' : '**missed**',
        ratio(headline(result, 'cpu').value),
      ]
    }),
  )
  const policed = results.filter((result) => result.policyAnswer)
  const policies = markdownTable(
    ['query', 'Tributary /sql', 'under a mask and a row filter', 'ratio', 'target', 'verdict', 'filter at the source'],
    ['l', 'r', 'r', 'r', 'r', 'l', 'l'],
    policed.map((result) => {
      const plain = medianOf(result, 'tributary')
      const under = medianOf(result, 'policies')
      const value = plain !== undefined && under !== undefined ? under / plain : undefined
      const reached = result.policyAnswer!.stats.sources.some(
        (source) => source.catalog === 'pg' && source.remote_sql.includes("'1990-01-01'"),
      )
      return [
        result.def.label.split(' ')[0]!,
        seconds(plain),
        seconds(under),
        ratio(value),
        '≤ 1.10×',
        result.problems.length > 0 ? '**FAILED**' : value !== undefined && value <= 1.1 ? 'met' : '**missed**',
        reached ? 'yes' : '**no**',
      ]
    }),
  )
  const labels: Record<string, string> = {
    tributary: 'Tributary /sql',
    policies: 'Tributary /sql under a mask and a row filter',
    floor: 'transfer floor',
    engine_sql: "engine's remote SQL to nowhere",
    parse: "DuckDB parses the floor's CSV (file)",
    duckdb: 'DuckDB preloaded',
    postgres: 'PostgreSQL alone',
  }
  const breakdown = markdownTable(
    ['query', 'method', 'median s', 'JS thread', 'other threads', 'PostgreSQL', 'MariaDB', 'other work'],
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    results.flatMap((result) =>
      Object.keys(labels).flatMap((key) => {
        const cpu = cores(result, key)
        if (!cpu) return []
        const engine = result.times.get(key)!.engine
        const label = engine.length > 0 ? `${labels[key]} (engine ${seconds(median(engine))} s)` : labels[key]!
        return [
          [
            result.def.label.split(' ')[0]!,
            label,
            seconds(medianOf(result, key)),
            cpu.main.toFixed(2),
            cpu.threads.toFixed(2),
            cpu.postgres.toFixed(2),
            cpu.mysql.toFixed(2),
            `${cpu.other.toFixed(2)}${cpu.otherCores >= NOISE_LIMIT ? ' ⚠' : ''}`,
          ],
        ]
      }),
    ),
  )
  const pushed = results
    .map((result) => {
      const sources = (result.answer?.stats.sources ?? [])
        .map(
          (source) => `    ${source.catalog}.${source.table}: ${count(source.rows)} rows\n      ${source.remote_sql}`,
        )
        .join('\n')
      const selectivity =
        result.selectivity === undefined ? '' : ` (${(result.selectivity * 100).toFixed(2)} % of lineitem matched)`
      return `  ${result.def.label}${selectivity}\n${sources}`
    })
    .join('\n')
  const problems = results.flatMap((result) => result.problems.map((problem) => `- ${result.def.key}: ${problem}`))
  return [
    `### Results (${context.startedAt.toISOString().slice(0, 10)})`,
    '',
    '```',
    context.command,
    '```',
    '',
    `Scale: lineitem ${count(scale.lineitem)} rows and orders ${count(scale.orders)} in PostgreSQL; ` +
      `customer ${count(scale.customer)} and nation ${scale.nation} in MariaDB. ` +
      `Median of ${settings.runs} run(s) after ${settings.warmup} warm-up round(s), seconds; ` +
      `Tributary and DuckDB with ${settings.threads} thread(s), memory limit ${settings.memoryLimit}.`,
    '',
    `Machine: 2 cores shared by server, PostgreSQL, MariaDB (${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GB RAM). ${context.versions}. Code: ${context.code}. ` +
      `Whole run ${Math.round(context.totalSeconds)} s. ` +
      `Benchmark process (Tributary's) RSS at the end: ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB.`,
    '',
    main,
    '',
    ...(policed.length > 0
      ? [
          'Under policies (issue 15): the same query in a second project over the same sources, by a key whose ' +
            "row filter `l_shipdate >= CAST(current_user_props('shipped_since') AS DATE)` (keeping every row) and a hash mask " +
            'on `l_comment` apply, measured right after the plain run in each round:',
          '',
          policies,
          '',
        ]
      : []),
    'Where the time goes: CPU seconds per run (mean of the measured runs) by owner. "JS thread" is this ' +
      "process's event loop (Tributary's HTTP, drivers and CSV relay, or the bench's clients); \"other threads\" " +
      'are its DuckDB and libuv threads, and for the DuckDB rows the separate process holding the preloaded ' +
      'tables; "other work" is everything else on the machine (⚠ from 0.25 cores). ' +
      '"engine" is Tributary\'s own stats.elapsed_ms.',
    '',
    breakdown,
    '',
    'What Tributary pushed (stats.sources):',
    '',
    '```',
    pushed,
    '```',
    ...(problems.length > 0 ? ['', '**Problems:**', '', ...problems] : []),
  ].join('\n')
}

const SECTION_HEADING = '## Federation'
const RESULTS_START = '<!-- bench:federation results start -->'
const RESULTS_END = '<!-- bench:federation results end -->'

const SECTION_INTRO = `${SECTION_HEADING} benchmark (\`npm run bench:federation\`)

\`bench/federation/run.ts\` generates TPC-H-like data once (inside each server: \`generate_series\` in
PostgreSQL, the \`seq_1_to_N\` sequence engine in MariaDB; reruns reuse it), starts Tributary in process with
a \`postgresql\` (\`pg\`) and a \`mysql\` (\`my\`) connection, and times each query four ways: through
\`POST /sql\`; the transfer floor (COPY of just the needed columns with the pushed filter to nowhere, the
MariaDB tables by a streamed SELECT, summed); DuckDB over the same data already in memory; PostgreSQL alone.
Answers are compared across methods. Settings are described at the top of the script.`

/** Replaces the results between the markers, or the whole section when it has none, or appends it. */
function writeReadme(results: string): void {
  const block = `${RESULTS_START}\n\n${results}\n\n${RESULTS_END}`
  const text = readFileSync(README, 'utf8')
  const start = text.indexOf(RESULTS_START)
  const end = text.indexOf(RESULTS_END)
  let next: string
  if (start >= 0 && end > start) {
    next = text.slice(0, start) + block + text.slice(end + RESULTS_END.length)
  } else {
    const heading = text.search(/^## Federation\b/m)
    const section = `${SECTION_INTRO}\n\n${block}\n`
    if (heading >= 0) {
      const after = text.slice(heading + SECTION_HEADING.length).search(/^## /m)
      const stop = after >= 0 ? heading + SECTION_HEADING.length + after : text.length
      next = text.slice(0, heading) + section + (after >= 0 ? '\n' + text.slice(stop) : '')
    } else {
      next = `${text.trimEnd()}\n\n${section}`
    }
  }
  writeFileSync(README, next)
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date()
  const started = performance.now()
  const app = await loadApp(process.env.BENCH_GIT_REF || undefined)
  const settings = readSettings(process.env, app)
  const location = dataLocation(settings)
  const scale = scaleFor(settings.lineitemRows)
  const log = (line: string) => console.log(line)
  await raisePriority(settings, location)

  const data = await ensureData(location, scale, { regenerate: settings.regenerate }, log)
  const duckdbFile = await ensureDuckDbCopy(location, data, CACHE_DIR, log)
  if (settings.generateOnly) return

  // The preloaded baseline: the four tables in an in-memory DuckDB, loaded before any timing.
  const duckdb = new DuckDbWorker()
  onCleanup('duckdb worker', () => duckdb.close())
  if (duckdb.pid !== undefined) helperPids.push(duckdb.pid)
  await duckdb.init(duckdbFile, settings.threads)

  const postgres = new pg.Client({
    connectionString: location.postgresUrl,
    application_name: 'tributary-bench-federation',
  })
  postgres.on('error', () => undefined)
  await postgres.connect()
  onCleanup('postgres client', () => postgres.end())
  const mysql = await createConnection({ ...location.mysql })
  mysql.on('error', () => undefined)
  onCleanup('mysql connection', () => mysql.end())
  const versions = [
    `Node ${process.version}`,
    `PostgreSQL ${String((await postgres.query('show server_version')).rows[0].server_version).split(' ')[0]}`,
    `MariaDB/MySQL ${String(((await mysql.query('SELECT VERSION() AS v')) as unknown as [{ v: string }[]])[0][0]!.v)}`,
    `DuckDB ${String((await duckdb.rows('SELECT version()'))[0]![0])}`,
  ].join(', ')

  const tributary = await startTributary(app, settings, location)
  const scratch = mkdtempSync(path.join(tmpdir(), 'tributary-bench-federation-csv-'))
  onCleanup(`scratch ${scratch}`, () => rmSync(scratch, { recursive: true, force: true }))

  const results: QueryResult[] = []
  for (const def of defineQueries(data).filter((query) => settings.queries.includes(query.key))) {
    await waitForQuiet(settings.quietWaitSeconds)
    console.log(`${def.label}:`)
    const result = await measureQuery(def, settings, tributary, { postgres, mysql, duckdb }, data, scratch)
    results.push(result)
    const { value, against } = headline(result)
    console.log(
      `  Tributary ${seconds(medianOf(result, 'tributary'))} s, floor ${seconds(medianOf(result, 'floor'))} s, ` +
        `DuckDB ${seconds(medianOf(result, 'duckdb'))} s, PostgreSQL ${seconds(medianOf(result, 'postgres'))} s → ` +
        `${ratio(value)} ${against}${result.problems.length > 0 ? `  PROBLEMS: ${result.problems.join('; ')}` : ''}`,
    )
  }

  // Every setting that changes what is measured, as given, so the command can be rerun as is.
  const passthrough = Object.keys(process.env)
    .filter((name) => /^BENCH_|^TRIBUTARY_QUERY_/.test(name) && name !== 'BENCH_WRITE_README' && process.env[name])
    .sort()
    .map((name) => `${name}=${process.env[name]}`)
  const command = `cd /work/main && ${[...passthrough, 'npm run bench:federation'].join(' ')}`
  const text = report({
    settings,
    data,
    results,
    command,
    code: app.description,
    startedAt,
    totalSeconds: (performance.now() - started) / 1000,
    versions,
  })
  console.log(`\n${text}\n`)
  mkdirSync(OUT_DIR, { recursive: true })
  const outFile = path.join(OUT_DIR, `federation-${startedAt.toISOString().replace(/[:.]/g, '-')}.md`)
  writeFileSync(outFile, `${text}\n`)
  console.log(`written to ${path.relative(ROOT, outFile)}`)
  if (settings.writeReadme) {
    writeReadme(text)
    console.log('and to the Federation section of bench/README.md')
  }
  if (results.some((result) => result.problems.length > 0)) process.exitCode = 1
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
