/**
 * Ask benchmark (issue 12): the evaluation set of bench/ask/questions.ts through the real ask pipeline.
 *
 *   npm run bench:ask
 *
 * Makes its own data: the SQLite Chinook of the test fixtures, copied to a temporary directory. Runs the app in
 * process (PGlite metadata in a fresh temporary data directory; requests through the HTTP handler, no sockets;
 * "now" fixed at 2026-12-05 for relative dates), and over the API: creates an organization, a key and a project,
 * registers the copy as the SQLite connection `chinook`, refreshes the project's metadata and marks the
 * columns a person would mark categorical (countries, cities, genres, artists…: see CATEGORICAL). Then:
 *
 *   1. runs every gold SQL through `POST …/sql`; any error ends the run (status 1) before anything is asked;
 *   2. asks the first BENCH_ASK_WARMUP questions once, unmeasured; then sends every question to
 *      `POST …/ask {question, limit: 10000}`, one at a time, each in a new thread, and compares the rows with
 *      the gold rows: the same number of columns (names are ignored, columns are compared by position), the
 *      same rows in any order unless the question asks for an order, numbers equal within a relative 1e-6,
 *      decimals given as strings read as numbers, a timestamp at midnight equal to its date;
 *   3. prints a markdown table (also written to bench/.out/ask-<time>.md, with every answer in ask-<time>.json):
 *      accuracy by difficulty, coverage (answered / total) and precision (correct / answered), how many wrong
 *      answers would be right without their extra columns, latency per question, the pipeline's overhead
 *      around the model, and tokens.
 *
 * With no TRIBUTARY_AI_* variables the server has no language model and this measures the offline engine.
 * With TRIBUTARY_AI_PROVIDER, TRIBUTARY_AI_MODEL (and TRIBUTARY_AI_BASE_URL / TRIBUTARY_AI_API_KEY) set, the
 * same command measures that model: the variables are passed to the server's config as they are.
 *
 * Settings (env):
 *   BENCH_ASK_ONLY         comma-separated question ids or difficulties to run (default all)
 *   BENCH_ASK_GOLD_ONLY    1: validate the gold SQL, print each gold result's size and tie warnings, and stop
 *   BENCH_ASK_VERBOSE      1: list every question that was not answered right, not only the wrong answers
 *   BENCH_ASK_CATEGORICAL  0: do not mark categorical columns (the offline engine then knows no values)
 *   BENCH_ASK_WARMUP       questions asked once, unmeasured, before the run (default 3: the first ones)
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { createTributary, type Tributary, type TributaryOptions } from '../../apps/server/src/composition.js'
import { loadConfig } from '../../apps/server/src/config/config.js'
import { createLogger } from '../../apps/server/src/lib/logger.js'
import { generateToken } from '../../apps/server/src/lib/secrets.js'
import { type BenchQuestion, type Difficulty, DIFFICULTIES, NOW, QUESTIONS } from './questions.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const API = '/api/v1'
const FIXTURE = path.join(ROOT, 'apps/server/test/fixtures/chinook/Chinook_Sqlite.sqlite')
const OUT_DIR = path.join(ROOT, 'bench/.out')

/** Rows asked for, from the gold SQL and from ask (both endpoints' maximum). */
const ROW_LIMIT = 10_000
/** Relative tolerance on numbers. */
const TOLERANCE = 1e-6

/** Columns marked categorical before asking, with how many values to keep: what a person would mark. */
const CATEGORICAL: [table: string, column: string, limit: number][] = [
  ['Customer', 'Country', 50],
  ['Customer', 'City', 100],
  ['Customer', 'State', 50],
  ['Invoice', 'BillingCountry', 50],
  ['Invoice', 'BillingCity', 100],
  ['Invoice', 'BillingState', 50],
  ['Employee', 'Title', 50],
  ['Employee', 'City', 50],
  ['Genre', 'Name', 50],
  ['MediaType', 'Name', 50],
  ['Playlist', 'Name', 50],
  ['Artist', 'Name', 1000],
  ['Album', 'Title', 1000],
  ['Track', 'Composer', 1000],
]

const ONLY = (process.env.BENCH_ASK_ONLY ?? '')
  .split(',')
  .map((part) => part.trim())
  .filter(Boolean)
const GOLD_ONLY = process.env.BENCH_ASK_GOLD_ONLY === '1'
const VERBOSE = process.env.BENCH_ASK_VERBOSE === '1'
const MARK_CATEGORICAL = process.env.BENCH_ASK_CATEGORICAL !== '0'
const WARMUP = Number(process.env.BENCH_ASK_WARMUP ?? 3)
if (!Number.isInteger(WARMUP) || WARMUP < 0) throw new Error('BENCH_ASK_WARMUP must be a whole number')

type Json = any

interface Result {
  columns: { name: string; type: string }[]
  rows: unknown[][]
  truncated: boolean
}

type Verdict =
  | { kind: 'correct' }
  | { kind: 'wrong'; why: string; /** Right once the answer's extra columns are dropped. */ extraColumns?: true }
  | { kind: 'unanswered'; why: string }
  | { kind: 'error'; why: string }

interface Outcome {
  question: BenchQuestion
  verdict: Verdict
  /** Wall time of the POST …/ask call, in this process. */
  ms: number
  sql: string | null
  model: string | null
  steps: { name: string; duration_ms: number; input_tokens?: number | null; output_tokens?: number | null }[]
  usage: { input_tokens: number; output_tokens: number }
  executionMs: number | null
}

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
  const questions = QUESTIONS.filter((q) => ONLY.length === 0 || ONLY.includes(q.id) || ONLY.includes(q.difficulty))
  if (questions.length === 0) throw new Error(`BENCH_ASK_ONLY=${ONLY.join(',')} selects no question`)

  // The source: a private copy of the fixture (the copy keeps the fixture's read-only mode).
  const sourceDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-ask-source-'))
  cleanups.push(() => rmSync(sourceDir, { recursive: true, force: true }))
  const sqlitePath = path.join(sourceDir, 'chinook.sqlite')
  copyFileSync(FIXTURE, sqlitePath)
  chmodSync(sqlitePath, 0o644)

  // The app, in process. TRIBUTARY_AI_* go to the server's config as they are.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-ask-'))
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
  const aiEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('TRIBUTARY_AI_')))
  const config = loadConfig({
    TRIBUTARY_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    TRIBUTARY_SECRET_KEY: generateToken('bench-secret-'),
    TRIBUTARY_RATE_LIMIT_PER_MINUTE: '100000000',
    TRIBUTARY_JOB_POLL_INTERVAL_MS: '50',
    TRIBUTARY_FILE_ROOTS: sourceDir,
    ...aiEnv,
  })
  // A fixed "now" for the relative-date questions.
  const options: TributaryOptions = { now: () => new Date(NOW) }
  const tributary = await createTributary(config, createLogger('warn'), options)
  cleanups.push(() => tributary.close())
  const api = client(tributary)

  const platformKey = generateToken()
  await tributary.services.apiKeys.bootstrapPlatformKey(platformKey)
  const org = await api.ok('POST', `${API}/organizations`, platformKey, { name: 'Ask bench' })
  const key: string = (await api.ok('POST', `${API}/organizations/${org.id}/api-keys`, platformKey, { name: 'bench' }))
    .key
  const projectId: string = (await api.ok('POST', `${API}/projects`, key, { name: 'Ask bench' })).id
  const base = `${API}/projects/${projectId}`
  await api.ok('POST', `${base}/connections`, key, {
    name: 'chinook',
    type: 'sqlite',
    catalog: 'chinook',
    config: { path: path.basename(sqlitePath) },
  })
  const setupStarted = performance.now()
  const job = await api.ok('POST', `${base}/metadata/refresh`, key, { catalog: 'chinook' })
  for (;;) {
    const state = await api.ok('GET', `${base}/metadata/refresh/${job.id}`, key)
    if (state.status === 'succeeded') break
    if (state.status === 'failed' || state.status === 'cancelled') {
      throw new Error(`metadata refresh ${state.status}: ${JSON.stringify(state.error ?? state)}`)
    }
    await sleep(25)
  }
  if (MARK_CATEGORICAL) {
    for (const [table, column, limit] of CATEGORICAL) {
      await api.ok('PUT', `${base}/metadata/chinook/main/${table}/columns/${column}/categorical`, key, { limit })
    }
  }
  console.error(`setup: Chinook registered, metadata refreshed in ${ms(performance.now() - setupStarted)}`)

  // 1. Every gold SQL must run.
  const gold = new Map<string, Result>()
  const goldErrors: string[] = []
  for (const question of questions) {
    const response = await api.request('POST', `${base}/sql`, key, { sql: question.sql, limit: ROW_LIMIT })
    if (response.status !== 200) {
      goldErrors.push(`${question.id} (${question.question}): ${response.status} ${JSON.stringify(response.body)}`)
      continue
    }
    if (response.body.truncated) goldErrors.push(`${question.id}: more than ${ROW_LIMIT} rows`)
    if (response.body.rows.length === 0) goldErrors.push(`${question.id}: no rows (a gold answer must say something)`)
    gold.set(question.id, response.body as Result)
  }
  if (goldErrors.length > 0) {
    throw new Error(
      `gold SQL failed for ${goldErrors.length} of ${questions.length} questions:\n  ${goldErrors.join('\n  ')}`,
    )
  }
  console.error(`gold SQL: all ${questions.length} queries ran (${describeCounts(questions)})`)

  if (GOLD_ONLY) {
    for (const warning of await tieWarnings(questions, gold, (sql) => api.ok('POST', `${base}/sql`, key, { sql })))
      console.error(`warning: ${warning}`)
    for (const question of questions) {
      const result = gold.get(question.id)!
      const first = result.rows[0]?.map((value) => JSON.stringify(value)).join(', ')
      console.log(`${question.id}  ${result.rows.length} × ${result.columns.length}  ${question.question}  → ${first}`)
    }
    return
  }

  // 2. The questions, after a few unmeasured ones (the first calls compile and load what later ones reuse).
  for (const question of questions.slice(0, WARMUP)) {
    const response = await api.request('POST', `${base}/ask`, key, { question: question.question, limit: ROW_LIMIT })
    if (response.status === 404 && JSON.stringify(response.body).includes('route POST')) break
  }
  const outcomes: Outcome[] = []
  for (const [index, question] of questions.entries()) {
    const started = performance.now()
    const response = await api.request('POST', `${base}/ask`, key, { question: question.question, limit: ROW_LIMIT })
    const elapsed = performance.now() - started
    if (response.status === 404 && JSON.stringify(response.body).includes('route POST')) {
      console.log(
        `\nPOST ${base}/ask answered 404 (${JSON.stringify(response.body)}): the ask endpoint is not in this ` +
          `build yet. The gold SQL of all ${questions.length} questions ran; nothing was measured.`,
      )
      return
    }
    outcomes.push(outcome(question, gold.get(question.id)!, response, elapsed))
    if ((index + 1) % 20 === 0) console.error(`asked ${index + 1} of ${questions.length}`)
  }

  // 3. The report.
  const report = render(outcomes, config)
  console.log(`\n${report}\n`)
  mkdirSync(OUT_DIR, { recursive: true })
  const stamp = new Date().toISOString().replaceAll(':', '-')
  writeFileSync(path.join(OUT_DIR, `ask-${stamp}.md`), `${report}\n`)
  writeFileSync(
    path.join(OUT_DIR, `ask-${stamp}.json`),
    JSON.stringify(
      outcomes.map((o) => ({
        id: o.question.id,
        difficulty: o.question.difficulty,
        question: o.question.question,
        verdict: o.verdict,
        gold_sql: o.question.sql,
        sql: o.sql,
        model: o.model,
        ms: Number(o.ms.toFixed(2)),
        steps: o.steps,
        usage: o.usage,
      })),
      null,
      1,
    ),
  )
  console.error(`written: bench/.out/ask-${stamp}.md and .json`)
}

function client(tributary: Tributary) {
  const request = async (method: string, url: string, key?: string, body?: unknown) => {
    const headers: Record<string, string> = {}
    if (key) headers.authorization = `Bearer ${key}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await tributary.app.request(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    let parsed: Json = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, body: parsed }
  }
  const ok = async (method: string, url: string, key?: string, body?: unknown): Promise<Json> => {
    const response = await request(method, url, key, body)
    if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(response.body)}`)
    return response.body
  }
  return { request, ok }
}

// ---------------------------------------------------------------------------------------------------------
// Judging one answer.

function outcome(
  question: BenchQuestion,
  gold: Result,
  response: { status: number; body: Json },
  elapsed: number,
): Outcome {
  const body = response.body ?? {}
  const base = {
    question,
    ms: elapsed,
    sql: typeof body.sql === 'string' ? body.sql : null,
    model: typeof body.model === 'string' ? body.model : null,
    steps: Array.isArray(body.steps) ? body.steps : [],
    usage: {
      input_tokens: Number(body.usage?.input_tokens ?? 0),
      output_tokens: Number(body.usage?.output_tokens ?? 0),
    },
    executionMs: typeof body.execution_time_ms === 'number' ? body.execution_time_ms : null,
  }
  if (response.status !== 200) {
    const message = body?.error?.message ?? body?.message ?? JSON.stringify(body)
    return { ...base, verdict: { kind: 'error', why: `${response.status}: ${String(message).slice(0, 200)}` } }
  }
  if (!body.answered) return { ...base, verdict: { kind: 'unanswered', why: String(body.reason ?? 'no reason given') } }
  const verdict = compare(gold, body as Result, question.ordered)
  if (verdict.kind === 'wrong' && withoutExtraColumns(gold, body as Result, question.ordered))
    verdict.extraColumns = true
  return { ...base, verdict }
}

/**
 * Whether some of `got`'s columns, one for each gold column, hold the gold rows: an answer that says more than
 * asked ("which artist has the most albums" → the name and the count). Reported apart; the verdict stays wrong.
 */
function withoutExtraColumns(gold: Result, got: Result, ordered: boolean): boolean {
  const width = gold.columns.length
  const gotWidth = got.columns?.length ?? got.rows[0]?.length ?? 0
  if (gotWidth <= width || got.truncated || got.rows.length !== gold.rows.length) return false
  const values = (rows: unknown[][], i: number) => rows.map((row) => [normalize(row[i])]).sort(byKey)
  const goldColumns = Array.from({ length: width }, (_, j) => values(gold.rows, j))
  const gotColumns = Array.from({ length: gotWidth }, (_, k) => values(got.rows, k))
  const candidates = goldColumns.map((column) =>
    gotColumns.flatMap((other, k) => (column.every((cell, i) => sameRow(cell, other[i]!)) ? [k] : [])),
  )
  let tries = 0
  const pick = (j: number, chosen: number[]): boolean => {
    if (j === width) {
      tries += 1
      const projected = { ...got, columns: gold.columns, rows: got.rows.map((row) => chosen.map((k) => row[k])) }
      return compare(gold, projected, ordered).kind === 'correct'
    }
    return candidates[j]!.some((k) => !chosen.includes(k) && tries < 1000 && pick(j + 1, [...chosen, k]))
  }
  return pick(0, [])
}

/** Whether `got` holds the gold rows: same column count, same rows (in order when `ordered`), numbers within tolerance. */
function compare(gold: Result, got: Result, ordered: boolean): Verdict {
  if (got.truncated) return { kind: 'wrong', why: `truncated at ${got.rows.length} rows` }
  const goldWidth = gold.columns.length
  const gotWidth = got.columns?.length ?? got.rows[0]?.length ?? 0
  if (goldWidth !== gotWidth) return { kind: 'wrong', why: `${gotWidth} columns, gold has ${goldWidth}` }
  if (gold.rows.length !== got.rows.length)
    return { kind: 'wrong', why: `${got.rows.length} rows, gold has ${gold.rows.length}` }
  const expected = gold.rows.map(normalizeRow)
  const actual = got.rows.map(normalizeRow)
  if (ordered) {
    const at = expected.findIndex((row, i) => !sameRow(row, actual[i]!))
    return at === -1 ? { kind: 'correct' } : { kind: 'wrong', why: `row ${at + 1} differs (in order)` }
  }
  const sortedExpected = [...expected].sort(byKey)
  const sortedActual = [...actual].sort(byKey)
  if (sortedExpected.every((row, i) => sameRow(row, sortedActual[i]!))) return { kind: 'correct' }
  // Sorting can separate values that are equal within the tolerance: match greedily before calling it wrong.
  const left = [...actual]
  for (const row of expected) {
    const at = left.findIndex((candidate) => sameRow(row, candidate))
    if (at === -1) return { kind: 'wrong', why: `gold row ${JSON.stringify(row)} is missing` }
    left.splice(at, 1)
  }
  return { kind: 'correct' }
}

type Cell = string | number | null

function normalizeRow(row: unknown[]): Cell[] {
  return row.map(normalize)
}

function normalize(value: unknown): Cell {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'string') {
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) return Number(value)
    const midnight = /^(\d{4}-\d{2}-\d{2})[T ]00:00:00(\.0+)?(Z|[+-]00(:?00)?)?$/.exec(value)
    if (midnight) return midnight[1]!
    return value.replace(/^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.0+)?(Z)?$/, '$1T$2')
  }
  return JSON.stringify(value)
}

function sameCell(a: Cell, b: Cell): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.abs(a - b) <= TOLERANCE * Math.max(Math.abs(a), Math.abs(b)) || Math.abs(a - b) < 1e-12
  }
  return a === b
}

const sameRow = (a: Cell[], b: Cell[]) => a.length === b.length && a.every((cell, i) => sameCell(cell, b[i]!))

function cellKey(cell: Cell): string {
  if (cell === null) return '\u0000'
  if (typeof cell === 'number') return `n${cell.toPrecision(12)}`
  return `s${cell}`
}

const byKey = (a: Cell[], b: Cell[]) => {
  const x = a.map(cellKey).join('\u0001')
  const y = b.map(cellKey).join('\u0001')
  return x < y ? -1 : x > y ? 1 : 0
}

// ---------------------------------------------------------------------------------------------------------
// Gold checks (BENCH_ASK_GOLD_ONLY=1): an ordered question is only fair when its order has no ties.

async function tieWarnings(
  questions: readonly BenchQuestion[],
  gold: Map<string, Result>,
  sql: (text: string) => Promise<Json>,
): Promise<string[]> {
  const warnings: string[] = []
  const numbers = (row: unknown[]) => normalizeRow(row).filter((cell) => typeof cell === 'number')
  const tied = (a: unknown[], b: unknown[]) => {
    const x = numbers(a)
    const y = numbers(b)
    return x.length > 0 && sameRow(x, y)
  }
  for (const question of questions) {
    const rows = gold.get(question.id)!.rows
    if (question.ordered) {
      for (let i = 1; i < rows.length; i += 1) {
        if (tied(rows[i - 1]!, rows[i]!)) warnings.push(`${question.id}: rows ${i} and ${i + 1} tie on their numbers`)
      }
    }
    // A top N: the row after the cut must not tie with the last one kept.
    const limit = /\sLIMIT (\d+)$/i.exec(question.sql)
    if (limit) {
      const n = Number(limit[1])
      const wider = await sql(question.sql.replace(/\sLIMIT \d+$/i, ` LIMIT ${n + 1}`))
      if (wider.rows.length > n && tied(wider.rows[n - 1], wider.rows[n])) {
        warnings.push(`${question.id}: row ${n + 1} ties with row ${n} at the LIMIT`)
      }
    }
  }
  return warnings
}

// ---------------------------------------------------------------------------------------------------------
// The report.

function render(outcomes: Outcome[], config: { ai?: { provider?: string | undefined; model?: string | undefined } }) {
  const models = [...new Set(outcomes.map((o) => o.model).filter((m): m is string => m !== null))]
  const offline = models.length > 0 && models.every((m) => m === 'offline')
  const lines: string[] = []
  lines.push(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ` +
      `${process.version}. Model: ${models.join(', ') || 'none answered'}` +
      `${config.ai?.provider ? ` (config: ${config.ai.provider} ${config.ai.model ?? ''})` : ''}. ` +
      `${outcomes.length} questions over Chinook (SQLite), now = ${NOW.slice(0, 10)}.`,
    '',
    '| difficulty | questions | answered | correct | wrong | errors | accuracy (correct / questions) | coverage (answered / questions) | precision (correct / answered) | wrong only by extra columns |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  )
  const row = (label: string, group: Outcome[]) => {
    const count = (kind: Verdict['kind']) => group.filter((o) => o.verdict.kind === kind).length
    const correct = count('correct')
    const wrong = count('wrong')
    const answered = correct + wrong
    lines.push(
      `| ${label} | ${group.length} | ${answered} | ${correct} | ${wrong} | ${count('error')} | ` +
        `${percent(correct, group.length)} | ${percent(answered, group.length)} | ${percent(correct, answered)} | ` +
        `${group.filter((o) => o.verdict.kind === 'wrong' && o.verdict.extraColumns).length} |`,
    )
  }
  for (const difficulty of DIFFICULTIES) {
    const group = outcomes.filter((o) => o.question.difficulty === difficulty)
    if (group.length > 0) row(difficulty, group)
  }
  row('**all**', outcomes)
  const relative = outcomes.filter((o) => o.question.relative)
  if (relative.length > 0) row('(relative dates)', relative)

  const answered = outcomes.filter((o) => o.verdict.kind === 'correct' || o.verdict.kind === 'wrong')
  const precision =
    answered.length === 0 ? 0 : answered.filter((o) => o.verdict.kind === 'correct').length / answered.length
  const coverage = answered.length / outcomes.length

  // Latency: the whole call; the steps; the overhead around the model (steps that used no tokens).
  const wall = sorted(outcomes.map((o) => o.ms))
  const isModelStep = (step: Outcome['steps'][number]) => step.input_tokens != null || step.output_tokens != null
  const overhead = sorted(
    outcomes
      .filter((o) => o.steps.length > 0)
      .map((o) => o.steps.reduce((sum, step) => sum + (isModelStep(step) ? 0 : Number(step.duration_ms) || 0), 0)),
  )
  const modelTime = sorted(
    outcomes
      .filter((o) => o.steps.some(isModelStep))
      .map((o) => o.steps.reduce((sum, step) => sum + (isModelStep(step) ? Number(step.duration_ms) || 0 : 0), 0)),
  )
  const generate = sorted(
    outcomes.flatMap((o) => o.steps.filter((s) => s.name === 'generate').map((s) => Number(s.duration_ms) || 0)),
  )
  const inputTokens = outcomes.reduce((sum, o) => sum + o.usage.input_tokens, 0)
  const outputTokens = outcomes.reduce((sum, o) => sum + o.usage.output_tokens, 0)

  lines.push(
    '',
    '| measurement | figure | target |',
    '| --- | --- | --- |',
    `| latency per question (POST …/ask, in process) | ${pct(wall)}, max ${ms(wall.at(-1) ?? 0)} | – |`,
    `| pipeline overhead around the model (sum of the steps that used no tokens) | ${overhead.length ? pct(overhead) : 'no steps reported'} | p99 < 100 ms ${verdict(overhead, 100)} |`,
  )
  if (modelTime.length > 0) lines.push(`| model time (steps that used tokens) | ${pct(modelTime)} | – |`)
  const stepNames = [...new Set(outcomes.flatMap((o) => o.steps.map((s) => s.name)))]
  if (stepNames.length > 0) {
    const perStep = stepNames.map((name) => {
      // One figure per question: a step tried three times counts its three durations.
      const times = sorted(
        outcomes
          .filter((o) => o.steps.some((s) => s.name === name))
          .map((o) => o.steps.filter((s) => s.name === name).reduce((sum, s) => sum + (Number(s.duration_ms) || 0), 0)),
      )
      return `${name} ${ms(q(times, 0.5))} / ${ms(q(times, 0.99))}`
    })
    lines.push(`| steps, per question that ran them (p50 / p99) | ${perStep.join('; ')} | – |`)
  }
  if (generate.length > 0) {
    lines.push(
      `| ${offline ? 'offline engine (the generate step)' : 'generate step (all tries)'} | ${pct(generate)} | ` +
        `${offline ? `p99 < 50 ms ${verdict(generate, 50)}` : '–'} |`,
    )
  }
  if (offline) {
    lines.push(
      `| offline engine coverage (answered / questions) | ${percent(answered.length, outcomes.length)} | ≥ 50 % ${coverage >= 0.5 ? 'met' : 'missed'} |`,
      `| offline engine precision (correct / answered) | ${percent(answered.length - answered.filter((o) => o.verdict.kind === 'wrong').length, answered.length)} | ≥ 95 % ${precision >= 0.95 ? 'met' : 'missed'} |`,
    )
  }
  lines.push(
    `| tokens | ${fmt(inputTokens)} in, ${fmt(outputTokens)} out; per question ${fmt(Math.round(inputTokens / outcomes.length))} in, ` +
      `${fmt(Math.round(outputTokens / outcomes.length))} out | – |`,
  )

  const listed = outcomes.filter(
    (o) => o.verdict.kind === 'wrong' || o.verdict.kind === 'error' || (VERBOSE && o.verdict.kind === 'unanswered'),
  )
  if (listed.length > 0) {
    lines.push(
      '',
      VERBOSE ? 'Not answered right:' : 'Wrong answers and errors (BENCH_ASK_VERBOSE=1 lists the unanswered too):',
      '',
    )
    for (const o of listed) {
      const why =
        'why' in o.verdict
          ? `${o.verdict.why}${o.verdict.kind === 'wrong' && o.verdict.extraColumns ? ' (right without the extra columns)' : ''}`
          : ''
      lines.push(
        `- ${o.question.id} (${o.verdict.kind}) "${o.question.question}": ${why}${o.sql ? ` — \`${o.sql.replace(/\s+/g, ' ')}\`` : ''}`,
      )
    }
  }
  return lines.join('\n')
}

function describeCounts(questions: readonly BenchQuestion[]): string {
  const counts = new Map<Difficulty, number>()
  for (const q of questions) counts.set(q.difficulty, (counts.get(q.difficulty) ?? 0) + 1)
  return DIFFICULTIES.filter((d) => counts.has(d))
    .map((d) => `${counts.get(d)} ${d}`)
    .join(', ')
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b)
const q = (values: number[], quantile: number) =>
  values.length === 0 ? 0 : values[Math.min(values.length - 1, Math.ceil(quantile * values.length) - 1)]!
const pct = (values: number[]) => `p50 ${ms(q(values, 0.5))}, p99 ${ms(q(values, 0.99))}`
const verdict = (values: number[], limit: number) =>
  values.length === 0 ? '–' : q(values, 0.99) < limit ? 'met' : 'missed'
const percent = (part: number, whole: number) => (whole === 0 ? '–' : `${((100 * part) / whole).toFixed(1)} %`)
const ms = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(2)} ms`)
const fmt = (value: number) => value.toLocaleString('en-US')
const sleep = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait))

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
