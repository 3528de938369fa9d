import type { GoldenSql, MetadataRelation, TableMetadata } from '@tributary/contract'
import { generateText, type ModelMessage } from 'ai'

import type { TenantContext } from '../../auth/principal.js'
import { quoteLiteral } from '../../engine/duckdb-sql.js'
import type { QueryParameter } from '../../engine/sql-text.js'
import { isAppError } from '../../lib/errors.js'
import type { AskStepRecord } from '../../metadata/schema.js'
import { tablesNamed } from '../golden-sql/tables-named.js'
import { toBindable } from '../saved-queries/parameters.js'
import { answerMessages, extractSql, localAnswer, retryMessages, type SharePolicy, sqlMessages } from './ask-prompts.js'
import type { AskSchema, GoldenMatch, PreviousTurn } from './ask-schema.js'
import { matchGolden } from './golden-match.js'
import { callModel, type LanguageModels, type ModelTokens, type ResolvedModel } from './model-call.js'
import { answerOffline } from './offline/offline-engine.js'

/** What the pipeline needs of the engine: check a query without reading data, and run it. */
export interface QueryRunner {
  describe(
    sql: string,
    parameters?: Readonly<Record<string, QueryParameter>>,
  ): Promise<{ name: string; type: string }[]>
  run(
    sql: string,
    limit: number,
    signal: AbortSignal,
    parameters?: Readonly<Record<string, QueryParameter>>,
  ): Promise<{ columns: { name: string; type: string }[]; rows: unknown[][]; row_count: number; truncated: boolean }>
}

/** Tables and golden SQL closest to a question, from the semantic layer's search. */
export interface Retriever {
  tables(question: string, limit: number): Promise<{ catalog: string; schema: string; table: string }[]>
  examples(question: string, limit: number): Promise<GoldenSql[]>
}

export type AskEvent =
  | { type: 'step'; step: AskStepRecord }
  | { type: 'sql'; sql: string }
  | {
      type: 'rows'
      columns: { name: string; type: string }[]
      rows: unknown[][]
      row_count: number
      truncated: boolean
    }
  | { type: 'answer'; answer: string }

export interface PipelineInput {
  tenant: TenantContext
  projectId: string
  question: string
  execute: boolean
  limit: number
  history: readonly PreviousTurn[]
  /** Read in the `context` step: the tables, relations and golden SQL the question is answered against. */
  loadSchema: () => Promise<AskSchema>
  resolved: ResolvedModel | null
  policy: SharePolicy
  runner: QueryRunner
  retriever: Retriever
  signal: AbortSignal
  onEvent?: ((event: AskEvent) => void) | undefined
}

export interface PipelineOutcome {
  answered: boolean
  reason: string | null
  sql: string | null
  columns: { name: string; type: string }[]
  rows: unknown[][]
  row_count: number
  truncated: boolean
  answer: string | null
  steps: AskStepRecord[]
  model: string
  golden_sql_id: string | null
  usage: { input_tokens: number; output_tokens: number }
}

/** The model gets this many tries at a query the engine accepts (DESIGN §7). */
export const MAX_TRIES = 3
/** A schema larger than this is narrowed to the tables the search finds closest, and their neighbours. */
const PROMPT_TABLES = 12
const RETRIEVED_TABLES = 8
const EXAMPLES = 3
const HISTORY_TURNS = 3
const SUMMARY_LENGTH = 500

interface Candidate {
  sql: string
  /** What is shown: template parameters written in as literals. */
  display: string
  parameters?: Record<string, QueryParameter>
  explanation: string | null
}

type Attempt =
  | { ok: true; result: Awaited<ReturnType<QueryRunner['run']>> }
  | { ok: false; problem: string; stage: 'validate' | 'execute' }

/**
 * One question, answered: golden SQL when one matches, else the model (or, with none, the offline
 * engine) writes SQL that the guard and planner check and the engine runs, and the answer is written.
 * Every step is recorded, and streamed as it ends.
 */
export class AskPipeline {
  readonly #steps: AskStepRecord[] = []
  readonly #usage = { input_tokens: 0, output_tokens: 0 }
  #schema: AskSchema = { tables: [], relations: [], golden: [], now: new Date(0) }

  constructor(
    private readonly input: PipelineInput,
    private readonly models: LanguageModels,
  ) {}

  async run(): Promise<PipelineOutcome> {
    const { input } = this
    const model = input.resolved ? `${input.resolved.provider}:${input.resolved.modelId}` : 'offline'
    const outcome = (fields: Partial<PipelineOutcome>): PipelineOutcome => ({
      answered: false,
      reason: null,
      sql: null,
      columns: [],
      rows: [],
      row_count: 0,
      truncated: false,
      answer: null,
      golden_sql_id: null,
      ...fields,
      steps: this.#steps,
      model,
      usage: this.#usage,
    })
    const schema = await this.#step(
      'context',
      null,
      `question of ${input.question.length} characters` +
        (input.history.length > 0 ? `, ${input.history.length} earlier turns` : ''),
      input.loadSchema,
      (loaded) =>
        `${loaded.tables.length} tables, ${loaded.relations.length} relations, ${loaded.golden.length} golden SQL`,
    )
    this.#schema = schema

    const match = await this.#step(
      'golden_sql',
      null,
      input.question,
      async () => matchGolden(input.question, this.#schema.golden),
      (found) =>
        found ? `${found.kind} match: golden SQL ${found.golden.id} (“${found.golden.question}”)` : 'no match',
    )
    if (match) {
      const candidate = fromGolden(match)
      const attempt = await this.#attempt(candidate, null)
      if (!attempt.ok)
        return outcome({ reason: `the matching golden SQL failed: ${attempt.problem}`, sql: candidate.display })
      return outcome({ ...(await this.#finish(candidate, attempt.result)), golden_sql_id: match.golden.id })
    }
    return input.resolved ? this.#withModel(input.resolved, outcome) : this.#offline(outcome)
  }

  async #offline(outcome: (fields: Partial<PipelineOutcome>) => PipelineOutcome): Promise<PipelineOutcome> {
    const { input } = this
    this.#record('retrieve', 'skipped', null, null, 'the offline engine reads the whole semantic layer', 0)
    const previous = input.history.at(-1)
    const answer = await this.#step(
      'generate',
      1,
      input.question,
      async () => answerOffline(input.question, this.#schema, previous),
      (result) => (result.answered ? result.sql : `not answered: ${result.reason}`),
    )
    if (!answer.answered) return outcome({ reason: answer.reason })
    const candidate: Candidate = { sql: answer.sql, display: answer.sql, explanation: answer.explanation }
    const attempt = await this.#attempt(candidate, 1)
    if (!attempt.ok) return outcome({ reason: `the offline engine’s SQL failed: ${attempt.problem}`, sql: answer.sql })
    return outcome(await this.#finish(candidate, attempt.result))
  }

  async #withModel(
    resolved: ResolvedModel,
    outcome: (fields: Partial<PipelineOutcome>) => PipelineOutcome,
  ): Promise<PipelineOutcome> {
    const { input } = this
    const context = await this.#step(
      'retrieve',
      null,
      retrievalText(input),
      () => this.#retrieve(),
      (found) =>
        `${found.tables.length} tables (${found.tables.map(tableName).join(', ')}), ${found.relations.length} relations, ${found.examples.length} examples`,
    )
    const prompt = sqlMessages({
      question: input.question,
      tables: context.tables,
      relations: context.relations,
      examples: context.examples,
      history: input.history.slice(-HISTORY_TURNS),
      policy: input.policy,
      today: this.#schema.now,
    })
    const messages: ModelMessage[] = [...prompt.messages]
    let lastProblem = ''
    let lastSql: string | null = null
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      const reply = await this.#step(
        'generate',
        attempt,
        attempt === 1 ? input.question : `retry after: ${lastProblem}`,
        () => this.#generate(resolved, prompt.system, messages),
        (reply) => reply.text,
        (reply) => reply.tokens,
      )
      const extracted = extractSql(reply.text)
      if ('unanswerable' in extracted) return outcome({ reason: extracted.unanswerable })
      if ('problem' in extracted) {
        lastProblem = extracted.problem
        this.#record('validate', 'failed', attempt, summarize(reply.text), extracted.problem, 0)
        messages.push(...retryMessages(null, reply.text, extracted.problem))
        continue
      }
      lastSql = extracted.sql
      const candidate: Candidate = { sql: extracted.sql, display: extracted.sql, explanation: null }
      const result = await this.#attempt(candidate, attempt)
      if (result.ok) return outcome(await this.#finish(candidate, result.result))
      lastProblem = result.problem
      messages.push(...retryMessages(extracted.sql, reply.text, result.problem))
    }
    return outcome({
      reason: `no valid query after ${MAX_TRIES} tries; the last problem: ${lastProblem}`,
      sql: lastSql,
    })
  }

  /**
   * The query is checked, then run read-only with a row limit. Only the tables questions may use are
   * allowed; the engine's guard and planner check the rest: on their own when the query is not to
   * run, else as it runs (planning it twice would double the engine's fixed cost per question).
   */
  async #attempt(candidate: Candidate, attempt: number | null): Promise<Attempt> {
    const { input } = this
    const validated = await this.#step(
      'validate',
      attempt,
      summarize(candidate.display),
      async (): Promise<{ problem: string } | { columns: { name: string; type: string }[] | null }> => {
        const outside = tablesOutside(candidate.sql, this.#schema.tables)
        if (outside.length > 0) {
          return { problem: `it reads ${outside.join(', ')}, which is not among the tables questions may use` }
        }
        if (input.execute) return { columns: null }
        return engineProblem(
          () => input.runner.describe(candidate.sql, candidate.parameters),
          (columns) => ({ columns }),
        )
      },
      (result) =>
        'problem' in result
          ? result.problem
          : result.columns
            ? `accepted by the guard and planner: ${result.columns.length} columns`
            : 'reads only tables questions may use; the guard and planner check it as it runs',
      undefined,
      (result) => 'problem' in result,
    )
    if ('problem' in validated) return { ok: false, problem: validated.problem, stage: 'validate' }
    if (!validated.columns) return this.#execute(candidate, attempt)
    input.onEvent?.({ type: 'sql', sql: candidate.display })
    this.#record('execute', 'skipped', attempt, null, 'execute: false', 0)
    return { ok: true, result: { columns: validated.columns, rows: [], row_count: 0, truncated: false } }
  }

  async #execute(candidate: Candidate, attempt: number | null): Promise<Attempt> {
    const { input } = this
    const executed = await this.#step(
      'execute',
      attempt,
      `limit ${input.limit}`,
      () =>
        engineProblem(
          () => input.runner.run(candidate.sql, input.limit, input.signal, candidate.parameters),
          (result) => result,
          input.signal,
        ),
      (result) => ('problem' in result ? result.problem : `${result.row_count}${result.truncated ? '+' : ''} rows`),
      undefined,
      (result) => 'problem' in result,
    )
    if ('problem' in executed) return { ok: false, problem: executed.problem, stage: 'execute' }
    input.onEvent?.({ type: 'sql', sql: candidate.display })
    input.onEvent?.({ type: 'rows', ...executed })
    return { ok: true, result: executed }
  }

  async #finish(
    candidate: Candidate,
    result: Awaited<ReturnType<QueryRunner['run']>>,
  ): Promise<Partial<PipelineOutcome>> {
    const { input } = this
    let answer: string | null = candidate.explanation
    if (input.execute) {
      const resolved = input.resolved
      const written: string =
        resolved && input.policy.share_rows
          ? await this.#step(
              'answer',
              null,
              `${result.row_count} rows`,
              () => this.#writeAnswer(resolved, candidate, result),
              (written) => written.text,
              (written) => written.tokens,
            ).then((written) => written.text)
          : await this.#step(
              'answer',
              null,
              `${result.row_count} rows`,
              async () =>
                localAnswer(candidate.explanation, result.columns, result.rows, result.row_count, result.truncated),
              (text) => (resolved ? `written here: the project does not share rows with the model. ${text}` : text),
            )
      answer = written
      input.onEvent?.({ type: 'answer', answer })
    }
    return {
      answered: true,
      sql: candidate.display,
      columns: result.columns,
      rows: result.rows,
      row_count: result.row_count,
      truncated: result.truncated,
      answer,
    }
  }

  async #retrieve(): Promise<{ tables: TableMetadata[]; relations: MetadataRelation[]; examples: GoldenSql[] }> {
    const { input } = this
    const schema = this.#schema
    const query = retrievalText(input)
    const examples = await input.retriever.examples(query, EXAMPLES)
    if (schema.tables.length <= PROMPT_TABLES) {
      return { tables: [...schema.tables], relations: [...schema.relations], examples }
    }
    const byName = new Map(schema.tables.map((table) => [tableName(table).toLowerCase(), table]))
    const chosen = new Map<string, TableMetadata>()
    const add = (name: string) => {
      const table = byName.get(name.toLowerCase())
      if (table && chosen.size < PROMPT_TABLES) chosen.set(name.toLowerCase(), table)
    }
    for (const hit of await input.retriever.tables(query, RETRIEVED_TABLES)) add(tableName(hit))
    // The tables the examples and the previous turn read, then the neighbours of what was found.
    for (const example of examples) for (const name of example.tables) add(name)
    for (const turn of input.history) for (const name of tablesNamed(turn.sql)) add(name)
    for (const relation of schema.relations) {
      const from = tableName(relation.from).toLowerCase()
      const to = tableName(relation.to).toLowerCase()
      if (chosen.has(from)) add(to)
      else if (chosen.has(to)) add(from)
    }
    const relations = schema.relations.filter(
      (relation) =>
        chosen.has(tableName(relation.from).toLowerCase()) && chosen.has(tableName(relation.to).toLowerCase()),
    )
    return { tables: [...chosen.values()], relations, examples }
  }

  async #generate(
    resolved: ResolvedModel,
    system: string,
    messages: ModelMessage[],
  ): Promise<{ text: string; tokens: Tokens }> {
    return this.#callModel(resolved, () =>
      generateText({
        model: resolved.model,
        system,
        messages,
        temperature: 0,
        maxRetries: 0,
        abortSignal: this.input.signal,
      }),
    )
  }

  async #writeAnswer(
    resolved: ResolvedModel,
    candidate: Candidate,
    result: Awaited<ReturnType<QueryRunner['run']>>,
  ): Promise<{ text: string; tokens: Tokens }> {
    const prompt = answerMessages({
      question: this.input.question,
      sql: candidate.display,
      columns: result.columns,
      rows: result.rows,
      rowCount: result.row_count,
      truncated: result.truncated,
    })
    return this.#callModel(resolved, () =>
      generateText({
        model: resolved.model,
        system: prompt.system,
        prompt: prompt.prompt,
        temperature: 0,
        maxRetries: 0,
        abortSignal: this.input.signal,
      }),
    )
  }

  /** One call to the model, its tokens added to the question's. */
  async #callModel(
    resolved: ResolvedModel,
    call: () => Promise<{ text: string; usage: { inputTokens: number | undefined; outputTokens: number | undefined } }>,
  ): Promise<{ text: string; tokens: Tokens }> {
    const { input } = this
    const { result, tokens } = await callModel(
      this.models,
      input.tenant,
      { projectId: input.projectId, feature: 'ask', resolved, signal: input.signal },
      call,
    )
    this.#usage.input_tokens += tokens.input
    this.#usage.output_tokens += tokens.output
    return { text: result.text, tokens }
  }

  /** Runs a step, records how long it took and what it gave (or how it failed), and streams it. */
  async #step<T>(
    name: AskStepRecord['name'],
    attempt: number | null,
    inputSummary: string | null,
    work: () => Promise<T>,
    output: (value: T) => string,
    tokens?: (value: T) => Tokens,
    failed?: (value: T) => boolean,
  ): Promise<T> {
    this.input.signal.throwIfAborted()
    const started = performance.now()
    try {
      const value = await work()
      this.#record(
        name,
        failed?.(value) ? 'failed' : 'ok',
        attempt,
        inputSummary,
        output(value),
        performance.now() - started,
        tokens?.(value),
      )
      return value
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      this.#record(name, 'failed', attempt, inputSummary, message, performance.now() - started)
      throw error
    }
  }

  #record(
    name: AskStepRecord['name'],
    status: AskStepRecord['status'],
    attempt: number | null,
    inputSummary: string | null,
    outputSummary: string | null,
    durationMs: number,
    tokens?: Tokens,
  ): void {
    const step: AskStepRecord = {
      name,
      status,
      attempt,
      input: inputSummary === null ? null : summarize(inputSummary),
      output: outputSummary === null ? null : summarize(outputSummary),
      duration_ms: Math.round(durationMs * 100) / 100,
      input_tokens: tokens?.input ?? null,
      output_tokens: tokens?.output ?? null,
    }
    this.#steps.push(step)
    this.input.onEvent?.({ type: 'step', step })
  }
}

type Tokens = ModelTokens

/** A follow-up is searched together with the question it follows. */
function retrievalText(input: PipelineInput): string {
  const previous = input.history.at(-1)
  return previous ? `${previous.question} ${input.question}` : input.question
}

function tableName(table: { catalog: string; schema: string; table: string }): string {
  return `${table.catalog}.${table.schema}.${table.table}`
}

/**
 * The tables a query names that are not among those questions may use (AI-enabled, readable). Names
 * written shorter than catalog.schema.table match the end of an allowed name.
 */
export function tablesOutside(sql: string, tables: readonly TableMetadata[]): string[] {
  const allowed = tables.map((table) => tableName(table).toLowerCase().split('.'))
  return tablesNamed(sql).filter((name) => {
    const parts = name.toLowerCase().split('.')
    return !allowed.some(
      (full) => parts.length <= full.length && parts.every((part, i) => part === full[full.length - parts.length + i]),
    )
  })
}

/**
 * What the engine said about a query it refused or could not finish (what a model can correct), as
 * a problem; anything else (a source down, the client gone) is thrown.
 */
async function engineProblem<T, R>(
  call: () => Promise<T>,
  ok: (value: T) => R,
  signal?: AbortSignal,
): Promise<R | { problem: string }> {
  try {
    return ok(await call())
  } catch (error) {
    if (signal?.aborted) throw error
    if (isAppError(error) && ['query_error', 'query_timeout', 'validation_error'].includes(error.code)) {
      return { problem: error.message }
    }
    throw error
  }
}

/** Golden SQL as it runs: parameters bound with their types, and written in as literals for display. */
function fromGolden(match: GoldenMatch): Candidate {
  const parameters: Record<string, QueryParameter> = {}
  let display = match.golden.sql
  for (const definition of match.golden.parameters) {
    const given = match.parameters[definition.name]
    const raw = given !== undefined ? given : (definition.default ?? null)
    const bindable = toBindable(definition.type, raw)
    const value = bindable.ok ? bindable.value : null
    parameters[definition.name] = { type: definition.type, value }
    display = display.replaceAll(`{{${definition.name}}}`, value === null ? 'NULL' : literal(value))
  }
  return {
    sql: match.golden.sql,
    display,
    parameters,
    explanation: match.golden.description ?? null,
  }
}

function literal(value: string | number | boolean): string {
  return typeof value === 'string' ? quoteLiteral(value) : String(value)
}

function summarize(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > SUMMARY_LENGTH ? `${flat.slice(0, SUMMARY_LENGTH)}…` : flat
}
