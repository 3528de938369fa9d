import path from 'node:path'
import { performance } from 'node:perf_hooks'

import type { MetadataRelation, SqlResult, TableMetadata } from '@tributary/contract'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../../../test/fixtures/chinook.js'
import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../../test/harness.js'
import type { AskSchema, OfflineAnswer } from '../ask-schema.js'
import { answerOffline } from './offline-engine.js'
import { CURATION, OFFLINE_QUESTIONS, type OfflineQuestion } from './offline-questions.js'

/**
 * The offline engine on its own Chinook question set, over the semantic layer the product really builds:
 * the SQLite fixture connected, its metadata refreshed (keys, relations from foreign keys), then curated
 * through the API (a few descriptions and categorical columns). Each answer is run through `POST …/sql`
 * and compared with the gold SQL's result.
 */

const NOW = new Date('2025-06-15T12:00:00Z')

interface Outcome {
  question: OfflineQuestion
  answer: OfflineAnswer
  correct: boolean | null
  detail: string
  ms: number
}

describe('offline engine over Chinook', () => {
  let sources: ChinookSources
  let app: TestApp
  let orgKey: string
  let projectId: string
  let schema: AskSchema
  const outcomes: Outcome[] = []

  const run = async (sql: string): Promise<SqlResult | string> => {
    const result = await app.request<SqlResult>('POST', `${API}/projects/${projectId}/sql`, {
      key: orgKey,
      body: { sql, limit: 10_000 },
    })
    return result.status === 200 ? result.body : `${result.status} ${JSON.stringify(result.body)}`
  }

  beforeAll(async () => {
    sources = await loadChinook([])
    app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath) } })
    orgKey = (await createOrganization(app, 'Offline')).orgKey
    projectId = (await createProject(app, orgKey, 'Offline engine')).id
    const base = `${API}/projects/${projectId}/metadata`
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
    const started = await app.request('POST', `${base}/refresh`, { key: orgKey, body: {} })
    expect(started.status, JSON.stringify(started.body)).toBe(202)
    for (const deadline = Date.now() + 60_000; ;) {
      const job = await app.request('GET', `${base}/refresh/${started.body.id}`, { key: orgKey })
      if (job.body.status === 'succeeded') break
      if (job.body.status === 'failed' || Date.now() > deadline) throw new Error(JSON.stringify(job.body))
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    for (const curated of CURATION) {
      const columns = (curated.columns ?? []).filter((column) => column.description)
      const body = {
        ...(curated.description ? { description: curated.description } : {}),
        ...(columns.length > 0 ? { columns: columns.map(({ name, description }) => ({ name, description })) } : {}),
      }
      const put = await app.request('PUT', `${base}/chinook/main/${curated.table}`, { key: orgKey, body })
      expect(put.status, JSON.stringify(put.body)).toBe(200)
      for (const column of curated.columns ?? []) {
        if (!column.categorical) continue
        const categorical = await app.request(
          'PUT',
          `${base}/chinook/main/${curated.table}/columns/${column.name}/categorical`,
          { key: orgKey, body: { limit: column.categorical } },
        )
        expect(categorical.status, JSON.stringify(categorical.body)).toBe(200)
      }
    }
    const tables = await app.request<{ data: TableMetadata[] }>('GET', `${base}?limit=200`, { key: orgKey })
    const relations = await app.request<{ data: MetadataRelation[] }>('GET', `${base}/relations?limit=200`, {
      key: orgKey,
    })
    expect(relations.body.data.length).toBeGreaterThanOrEqual(10)
    schema = { tables: tables.body.data, relations: relations.body.data, golden: [], now: NOW }

    for (const question of OFFLINE_QUESTIONS) outcomes.push(await judge(question))
  }, 240_000)

  afterAll(async () => {
    await app?.close()
    await sources?.cleanup()
  })

  async function judge(question: OfflineQuestion): Promise<Outcome> {
    let previous: { question: string; sql: string } | undefined
    if (question.previous) {
      const first = answerOffline(question.previous, schema)
      if (!first.answered) {
        return { question, answer: first, correct: null, detail: `previous refused: ${first.reason}`, ms: 0 }
      }
      previous = { question: question.previous, sql: first.sql }
    }
    const started = performance.now()
    const answer = answerOffline(question.question, schema, previous)
    const ms = performance.now() - started
    if (!answer.answered) return { question, answer, correct: null, detail: answer.reason, ms }
    if (question.gold === null)
      return { question, answer, correct: false, detail: 'answered a must-refuse question', ms }
    const [got, want] = await Promise.all([run(answer.sql), run(question.gold)])
    if (typeof want === 'string') throw new Error(`gold SQL of "${question.question}" failed: ${want}`)
    if (typeof got === 'string') return { question, answer, correct: false, detail: `the SQL failed: ${got}`, ms }
    const same = sameRows(got, want)
    return { question, answer, correct: same, detail: same ? 'ok' : `got ${preview(got)}, want ${preview(want)}`, ms }
  }

  it('has a question set of at least 80 questions, some of which must be refused', () => {
    expect(OFFLINE_QUESTIONS.length).toBeGreaterThanOrEqual(80)
    expect(OFFLINE_QUESTIONS.filter((question) => question.gold === null).length).toBeGreaterThanOrEqual(15)
    expect(OFFLINE_QUESTIONS.filter((question) => question.previous).length).toBeGreaterThanOrEqual(5)
  })

  it('answers with precision ≥ 95 % and coverage ≥ 50 %, and refuses what it must', () => {
    const answerable = outcomes.filter((outcome) => outcome.question.gold !== null)
    const answered = answerable.filter((outcome) => outcome.answer.answered)
    const correct = answered.filter((outcome) => outcome.correct)
    const precision = correct.length / answered.length
    const coverage = answered.length / answerable.length
    const latencies = outcomes.map((outcome) => outcome.ms).sort((a, b) => a - b)
    const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)]!
    const report = outcomes
      .filter((outcome) => outcome.correct !== true)
      .map(
        (outcome) =>
          `${outcome.correct === false ? 'WRONG' : 'refused'} "${outcome.question.question}": ${outcome.detail}`,
      )
    console.info(
      `offline engine: ${answered.length}/${answerable.length} answered (coverage ${(100 * coverage).toFixed(1)} %), ` +
        `${correct.length} correct (precision ${(100 * precision).toFixed(1)} %), p99 ${p99.toFixed(2)} ms\n` +
        report.join('\n'),
    )
    const wronglyAnswered = outcomes.filter((outcome) => outcome.question.gold === null && outcome.answer.answered)
    expect(wronglyAnswered.map((outcome) => outcome.question.question)).toEqual([])
    expect(precision).toBeGreaterThanOrEqual(0.95)
    expect(coverage).toBeGreaterThanOrEqual(0.5)
  })

  it('answers each question in under 50 ms at p99, and the same way every time', () => {
    const times: number[] = []
    for (const question of OFFLINE_QUESTIONS) {
      const started = performance.now()
      const first = answerOffline(question.question, schema)
      times.push(performance.now() - started)
      expect(answerOffline(question.question, schema)).toEqual(first)
    }
    // A fresh schema object: the lexicon is built again, and that build counts too.
    const started = performance.now()
    answerOffline('How many customers are there?', { ...schema })
    times.push(performance.now() - started)
    times.sort((a, b) => a - b)
    expect(times[Math.ceil(times.length * 0.99) - 1]).toBeLessThan(50)
  })

  it('says what it did not understand', () => {
    expect(answerOffline('How many spaceships are there?', schema)).toEqual({
      answered: false,
      reason: expect.stringContaining('spaceships'),
    })
    expect(answerOffline('What is the average unit price?', schema)).toEqual({
      answered: false,
      reason: expect.stringMatching(
        /Track\.UnitPrice or InvoiceLine\.UnitPrice|InvoiceLine\.UnitPrice or Track\.UnitPrice/,
      ),
    })
    expect(answerOffline('Sum of invoice totals by genre', schema)).toEqual({
      answered: false,
      reason: expect.stringContaining('more than once'),
    })
    expect(answerOffline('Customers in Germany or France', schema)).toEqual({
      answered: false,
      reason: expect.stringContaining('alternatives'),
    })
  })

  it('writes SQL with catalog.schema.table names, quoted identifiers and quoted literals', () => {
    const answer = answerOffline('How many albums does AC/DC have?', schema)
    expect(answer.answered).toBe(true)
    const sql = (answer as { sql: string }).sql
    expect(sql).toContain('"chinook"."main"."Album"')
    expect(sql).toContain(`"Artist"."Name" = 'AC/DC'`)
    expect((answer as { explanation: string }).explanation).toMatch(/AC\/DC/)
  })

  it('changes a previous answer of its own only, and needs one for a follow-up', () => {
    const first = answerOffline('How many customers per country?', schema)
    expect(first.answered).toBe(true)
    const followUp = answerOffline('and in Brazil only?', schema, {
      question: 'How many customers per country?',
      sql: (first as { sql: string }).sql,
    })
    expect(followUp).toMatchObject({ answered: true, sql: expect.stringContaining(`'Brazil'`) })
    expect(
      answerOffline('and in Brazil only?', schema, { question: 'How many customers per country?', sql: 'SELECT 1' }),
    ).toEqual({ answered: false, reason: expect.stringContaining('not written by the offline engine') })
    expect(answerOffline('and in Brazil only?', schema)).toEqual({
      answered: false,
      reason: expect.stringContaining('no previous question'),
    })
  })

  it('ignores tables not to be used with AI', () => {
    const hidden = {
      ...schema,
      tables: schema.tables.map((table) => (table.table === 'Customer' ? { ...table, use_with_ai: false } : table)),
    }
    expect(answerOffline('How many customers are there?', hidden).answered).toBe(false)
  })
})

function normalize(value: unknown): unknown {
  if (typeof value === 'number') return Math.round(value * 1e6) / 1e6
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1e6) / 1e6
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([T ]00:00:00(\.000)?Z?)?$/.test(value)) return value.slice(0, 10)
  return value
}

/** Same rows, as multisets of value tuples (column names aside). */
function sameRows(got: SqlResult, want: SqlResult): boolean {
  if (got.columns.length !== want.columns.length || got.row_count !== want.row_count) return false
  const key = (rows: unknown[][]) => rows.map((row) => JSON.stringify(row.map(normalize))).sort()
  const a = key(got.rows)
  const b = key(want.rows)
  return a.every((row, i) => row === b[i])
}

function preview(result: SqlResult): string {
  return `${result.row_count} rows ${JSON.stringify(result.rows.slice(0, 3))}`
}
