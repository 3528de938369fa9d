import type {
  AskRequest,
  AskResult,
  FeedbackRequest,
  FeedbackResult,
  GoldenSql,
  ListQuery,
  Page,
  Thread,
  ThreadMessage,
  UpdateThread,
} from '@tributary/contract'

import { actorOf, type RequestContext, type TenantContext } from '../../auth/principal.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AskMessageRow, AskThreadRow } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { GoldenSqlService } from '../golden-sql/golden-sql.service.js'
import type { MetadataSearch } from '../metadata/metadata-search.js'
import type { MetadataService } from '../metadata/metadata.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { AskPipeline, type AskEvent, type QueryRunner, type Retriever } from './ask-pipeline.js'
import type { SharePolicy } from './ask-prompts.js'
import { AskSchemaCache, type PreviousTurn } from './ask-schema.js'
import type { LanguageModels, ResolvedModel } from './model-call.js'
import { ThreadsRepo, type ThreadOwner } from './threads.repo.js'

export interface AskDependencies {
  projects: ProjectsService
  audit: AuditService
  sql: SqlService
  metadata: MetadataService
  search: MetadataSearch
  goldenSql: GoldenSqlService
  models: LanguageModels
  /** "Now" for relative dates; a clock that tests and the evaluation can fix. */
  now?: () => Date
}

/** A question checked and ready to run: who asks, in which thread, with which model. */
export interface PreparedAsk {
  ctx: RequestContext
  tenant: TenantContext
  projectId: string
  request: AskRequest
  thread: AskThreadRow | null
  history: PreviousTurn[]
  resolved: ResolvedModel | null
  policy: SharePolicy
}

/** The SQL of a question runs for this long at most. */
const QUERY_TIMEOUT_MS = 30_000
const TITLE_LENGTH = 100
const HISTORY_TURNS = 3

/**
 * Questions in plain language (issue 12): threads of questions, each answered by the pipeline, and
 * feedback that turns a confirmed answer into golden SQL. Every door (REST, streaming, MCP) calls this.
 */
export class AskService {
  readonly #schemas: AskSchemaCache

  constructor(
    private readonly db: MetadataDb,
    private readonly deps: AskDependencies,
  ) {
    this.#schemas = new AskSchemaCache(db, deps)
  }

  /**
   * Checks access, the thread, the model and the budget: what can fail before any work starts, so
   * that a stream opens only for a question that will be worked on.
   */
  async prepare(ctx: RequestContext, projectId: string, request: AskRequest): Promise<PreparedAsk> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'ask' })
    const thread = request.thread_id ? await this.#thread(tenant, projectId, request.thread_id) : null
    const history = thread
      ? (await new ThreadsRepo(this.db).recentAnswered(thread, HISTORY_TURNS))
          .reverse()
          .map((message) => ({ question: message.question, sql: message.sql! }))
      : []
    const resolved = await this.deps.models.languageModel(tenant)
    if (resolved) await this.deps.models.assertBudget(tenant)
    const policy = await this.deps.models.policy(tenant, projectId)
    return { ctx, tenant, projectId, request, thread, history, resolved, policy }
  }

  /** Answers a prepared question and keeps it in its thread (a new one unless it continues one). */
  async run(
    prepared: PreparedAsk,
    options: { signal?: AbortSignal | undefined; onEvent?: ((event: AskEvent) => void) | undefined } = {},
  ): Promise<AskResult> {
    const { ctx, tenant, projectId, request } = prepared
    const started = performance.now()
    const signal = options.signal ?? new AbortController().signal
    const outcome = await new AskPipeline(
      {
        tenant,
        projectId,
        question: request.question,
        execute: request.execute,
        limit: request.limit,
        history: prepared.history,
        loadSchema: () => this.#schemas.load(tenant, projectId, this.deps.now?.() ?? new Date()),
        resolved: prepared.resolved,
        policy: prepared.policy,
        runner: this.#runner(ctx, projectId),
        retriever: this.#retriever(ctx, projectId),
        signal,
        onEvent: options.onEvent,
      },
      this.deps.models,
    ).run()
    signal.throwIfAborted()
    const repo = new ThreadsRepo(this.db)
    const thread = prepared.thread ?? (await repo.create(ownerOf(tenant, projectId), titleOf(request.question)))
    const message = await repo.addMessage(thread, {
      question: request.question,
      answered: outcome.answered,
      reason: outcome.reason,
      sql: outcome.sql,
      columns: outcome.columns,
      rows: outcome.rows,
      row_count: outcome.row_count,
      truncated: outcome.truncated,
      answer: outcome.answer,
      steps: outcome.steps,
      model: outcome.model,
      golden_sql_id: outcome.golden_sql_id,
      input_tokens: outcome.usage.input_tokens,
      output_tokens: outcome.usage.output_tokens,
      execution_time_ms: round(performance.now() - started),
    })
    return toAskResult(message)
  }

  /**
   * The SQL a question is answered with, without running it or keeping a thread: dashboards and
   * workflows pin it when they are saved, so that a refresh reruns the same SQL instead of asking
   * the model again. Throws AppError `validation_error` (422) at `field` when it cannot be answered.
   */
  async translate(ctx: RequestContext, projectId: string, question: string, field: string): Promise<string> {
    const prepared = await this.prepare(ctx, projectId, { question, execute: false, limit: 1 })
    const outcome = await new AskPipeline(
      {
        tenant: prepared.tenant,
        projectId,
        question,
        execute: false,
        limit: 1,
        history: [],
        loadSchema: () => this.#schemas.load(prepared.tenant, projectId, this.deps.now?.() ?? new Date()),
        resolved: prepared.resolved,
        policy: prepared.policy,
        runner: this.#runner(ctx, projectId),
        retriever: this.#retriever(ctx, projectId),
        signal: new AbortController().signal,
        onEvent: undefined,
      },
      this.deps.models,
    ).run()
    if (!outcome.answered || !outcome.sql) {
      throw errors.invalidField(field, `could not be answered: ${outcome.reason ?? 'no SQL was found'}`)
    }
    return outcome.sql
  }

  async ask(ctx: RequestContext, projectId: string, request: AskRequest, signal?: AbortSignal): Promise<AskResult> {
    return this.run(await this.prepare(ctx, projectId, request), { signal })
  }

  async listThreads(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<Thread>> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'ask' })
    const rows = await new ThreadsRepo(this.db).list(
      ownerOf(tenant, projectId),
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, toThread)
  }

  async getThread(ctx: RequestContext, projectId: string, threadId: string): Promise<Thread> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'ask' })
    return toThread(await this.#thread(tenant, projectId, threadId))
  }

  async updateThread(ctx: RequestContext, projectId: string, threadId: string, input: UpdateThread): Promise<Thread> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'ask' })
    const row = await new ThreadsRepo(this.db).rename(ownerOf(tenant, projectId), threadId, input.title)
    if (!row) throw errors.notFound('thread', threadId)
    return toThread(row)
  }

  async deleteThread(ctx: RequestContext, projectId: string, threadId: string): Promise<void> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'ask' })
    if (!(await new ThreadsRepo(this.db).archive(ownerOf(tenant, projectId), threadId))) {
      throw errors.notFound('thread', threadId)
    }
  }

  async messages(
    ctx: RequestContext,
    projectId: string,
    threadId: string,
    query: ListQuery,
  ): Promise<Page<ThreadMessage>> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'ask' })
    const thread = await this.#thread(tenant, projectId, threadId)
    const rows = await new ThreadsRepo(this.db).messages(thread, decodeCursor(query.cursor), query.limit)
    return toPage(rows, query.limit, toThreadMessage)
  }

  /**
   * Says whether an answer was right. A confirmed answer, or a corrected one with its SQL, becomes
   * golden SQL in the same call when asked (checked by the planner as any golden SQL is).
   */
  async feedback(
    ctx: RequestContext,
    projectId: string,
    threadId: string,
    messageId: string,
    input: FeedbackRequest,
  ): Promise<FeedbackResult> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'ask' })
    const thread = await this.#thread(tenant, projectId, threadId)
    const repo = new ThreadsRepo(this.db)
    const message = await repo.message(thread, messageId)
    if (!message) throw errors.notFound('message', messageId)
    const sql = input.sql ?? (input.correct ? message.sql : null)
    let golden: GoldenSql | null = null
    if (input.save_as_golden_sql) {
      if (!sql) throw errors.validation('this answer has no SQL to save: give the right one in `sql`', { field: 'sql' })
      golden = await this.deps.goldenSql.create(ctx, projectId, {
        question: message.question,
        sql,
        description: message.answer ? message.answer.slice(0, 2000) : undefined,
        parameters: [],
      })
    }
    const updated = await repo.setFeedback(message.id, {
      correct: input.correct,
      sql: input.sql ?? null,
      golden_sql_id: golden?.id ?? null,
      at: new Date().toISOString(),
    })
    return { message: toThreadMessage(updated), golden_sql: golden }
  }

  async #thread(tenant: TenantContext, projectId: string, threadId: string): Promise<AskThreadRow> {
    const thread = await new ThreadsRepo(this.db).find(ownerOf(tenant, projectId), threadId)
    if (!thread) throw errors.notFound('thread', threadId)
    return thread
  }

  /** Queries of a question run under the `ask` scope: asking does not need the right to write SQL. */
  #runner(ctx: RequestContext, projectId: string): QueryRunner {
    const { sql } = this.deps
    return {
      describe: (text, parameters) => sql.describe(ctx, projectId, text, parameters),
      run: (text, limit, signal, parameters) =>
        sql.run(ctx, projectId, { sql: text, limit, timeout_ms: QUERY_TIMEOUT_MS }, signal, {
          use: 'ask',
          parameters,
        }),
    }
  }

  #retriever(ctx: RequestContext, projectId: string): Retriever {
    const { search, goldenSql } = this.deps
    return {
      tables: (question, limit) => search.search(ctx, projectId, question.slice(0, 1000), limit),
      examples: async (question, limit) =>
        (await goldenSql.search(ctx, projectId, { q: question.slice(0, 1000), limit })).map((hit) => hit.golden_sql),
    }
  }
}

function ownerOf(tenant: TenantContext, projectId: string): ThreadOwner {
  const actor = actorOf(tenant.principal)
  return {
    organizationId: tenant.principal.organizationId,
    projectId,
    type: actor.actor_type,
    id: actor.actor_id,
  }
}

function titleOf(question: string): string {
  const flat = question.replace(/\s+/g, ' ').trim()
  return flat.length > TITLE_LENGTH ? `${flat.slice(0, TITLE_LENGTH - 1)}…` : flat
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

function toThread(row: AskThreadRow): Thread {
  return {
    id: row.id,
    project_id: row.project_id,
    title: row.title,
    message_count: row.message_count,
    created_by: { type: row.created_by_type, id: row.created_by_id },
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

function messageFields(row: AskMessageRow) {
  return {
    question: row.question,
    answered: row.answered,
    reason: row.reason,
    sql: row.sql,
    columns: row.columns,
    rows: row.rows,
    row_count: row.row_count,
    truncated: row.truncated,
    answer: row.answer,
    steps: row.steps,
    model: row.model,
    golden_sql_id: row.golden_sql_id,
    usage: { input_tokens: row.input_tokens, output_tokens: row.output_tokens },
    execution_time_ms: row.execution_time_ms,
    created_at: toIso(row.created_at),
  }
}

function toAskResult(row: AskMessageRow): AskResult {
  return { thread_id: row.thread_id, message_id: row.id, ...messageFields(row) }
}

function toThreadMessage(row: AskMessageRow): ThreadMessage {
  return { id: row.id, thread_id: row.thread_id, ...messageFields(row), feedback: row.feedback }
}
