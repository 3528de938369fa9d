import { createRoute, z } from '@hono/zod-openapi'
import {
  AskRequest,
  AskResult,
  FeedbackRequest,
  FeedbackResult,
  GeneratedDescriptions,
  Id,
  ListQuery,
  listOf,
  SuggestedQuestion,
  SuggestQuery,
  Thread,
  ThreadMessage,
  UpdateThread,
} from '@tributary/contract'
import { streamSSE } from 'hono/streaming'

import { errorEnvelope } from '../../http/error-handler.js'
import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
} from '../../http/router.js'
import type { Logger } from '../../lib/logger.js'
import type { AskEvent } from './ask-pipeline.js'
import type { AskAssist } from './ask-assist.js'
import type { AskService } from './ask.service.js'

const tags = ['Ask']
const ProjectParams = z.object({ project_id: Id })
const ThreadParams = ProjectParams.extend({ thread_id: Id })
const MessageParams = ThreadParams.extend({ message_id: Id })
const TableParams = ProjectParams.extend({
  catalog: z.string().min(1).max(200),
  schema: z.string().min(1).max(200),
  table: z.string().min(1).max(200),
})

const ASK_ERRORS = [...WRITE_ERRORS, 404, 502] as const

const PIPELINE =
  'Golden SQL whose question matches (exactly, or as a template whose `{{parameters}}` take values from the ' +
  'question) is used as it is. Otherwise the organization’s language model writes SQL from the tables AI may use ' +
  '(the semantic layer’s search, their relations and categorical values, the closest golden SQL and the ' +
  'thread’s earlier turns); the engine’s guard and planner check it and it runs read-only with a row limit; an ' +
  'error goes back to the model, three tries at most. With no model configured, the built-in offline engine ' +
  'answers what it can answer with certainty from the semantic layer, and says what it did not understand ' +
  '(`answered: false`, `reason`). Every step is recorded in `steps`. A provider that fails answers ' +
  '`502 connection_error` naming it; a spent monthly token budget `429 quota_exceeded`.'

export function askRoutes(ask: AskService, assist: AskAssist, logger: Logger) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/ask',
        tags,
        summary: 'Ask a question in plain language',
        description: PIPELINE,
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(AskRequest) },
        responses: {
          200: jsonResponse(AskResult, 'The SQL, the rows and the answer, or why there is none'),
          ...errorResponses(...ASK_ERRORS),
        },
      }),
      async (c) =>
        c.json(
          await ask.ask(contextOf(c), c.req.valid('param').project_id, c.req.valid('json'), c.req.raw.signal),
          200,
        ),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/ask/stream',
        tags,
        summary: 'Ask a question, with each step streamed as it ends',
        description:
          'The same pipeline as `POST …/ask`, as server-sent events: `step` (an AskStep) as each step ends, ' +
          '`sql` ({sql}) once a query passed the guard and planner, `rows` ({columns, rows, row_count, ' +
          'truncated}), `answer` ({answer}), then `done` (the whole AskResult) or `error` (the error ' +
          'envelope). Errors found before any work starts (access, thread, budget) are ordinary JSON ' +
          'responses. When the client goes away, the work stops (the model call and the query included) ' +
          'and nothing is kept.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(AskRequest) },
        responses: {
          200: {
            description: 'Server-sent events',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          ...errorResponses(...ASK_ERRORS),
        },
      }),
      async (c) => {
        const requestId = c.get('requestId')
        const prepared = await ask.prepare(contextOf(c), c.req.valid('param').project_id, c.req.valid('json'))
        return streamSSE(c, async (stream) => {
          const controller = new AbortController()
          stream.onAbort(() => controller.abort(new Error('the client closed the stream')))
          // Events are written in the order they happen, each after the one before.
          let written: Promise<unknown> = Promise.resolve()
          const send = (event: string, data: unknown) => {
            written = written.then(() => stream.writeSSE({ event, data: JSON.stringify(data) }))
          }
          try {
            const result = await ask.run(prepared, {
              signal: controller.signal,
              onEvent: (event) => send(event.type, eventData(event)),
            })
            send('done', result)
          } catch (error) {
            if (!controller.signal.aborted) send('error', errorEnvelope(error, requestId, logger))
          }
          await written
        })
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/threads',
        tags,
        summary: 'List the caller’s threads in a project, newest first',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(Thread), 'Threads'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await ask.listThreads(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/threads/{thread_id}',
        tags,
        summary: 'Get a thread',
        description: 'Threads belong to whoever started them: another caller’s thread is a 404.',
        security: bearerSecurity,
        request: { params: ThreadParams },
        responses: {
          200: jsonResponse(Thread, 'The thread'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, thread_id } = c.req.valid('param')
        return c.json(await ask.getThread(contextOf(c), project_id, thread_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/projects/{project_id}/threads/{thread_id}',
        tags,
        summary: 'Rename a thread',
        security: bearerSecurity,
        request: { params: ThreadParams, body: jsonBody(UpdateThread) },
        responses: {
          200: jsonResponse(Thread, 'The thread'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, thread_id } = c.req.valid('param')
        return c.json(await ask.updateThread(contextOf(c), project_id, thread_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/threads/{thread_id}',
        tags,
        summary: 'Delete a thread',
        security: bearerSecurity,
        request: { params: ThreadParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, thread_id } = c.req.valid('param')
        await ask.deleteThread(contextOf(c), project_id, thread_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/threads/{thread_id}/messages',
        tags,
        summary: 'The questions of a thread and their answers, oldest first',
        security: bearerSecurity,
        request: { params: ThreadParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(ThreadMessage), 'Messages'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, thread_id } = c.req.valid('param')
        return c.json(await ask.messages(contextOf(c), project_id, thread_id, c.req.valid('query')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/threads/{thread_id}/messages/{message_id}/feedback',
        tags,
        summary: 'Say whether an answer was right, and keep it as golden SQL',
        description:
          'With `save_as_golden_sql: true`, the question and the confirmed SQL (or the corrected `sql`) are ' +
          'saved as golden SQL, checked by the planner as any golden SQL is; that needs the right to write ' +
          'golden SQL (editors, keys with `metadata`).',
        security: bearerSecurity,
        request: { params: MessageParams, body: jsonBody(FeedbackRequest) },
        responses: {
          200: jsonResponse(FeedbackResult, 'The message with its feedback, and the golden SQL saved'),
          ...errorResponses(...WRITE_ERRORS, 404, 502),
        },
      }),
      async (c) => {
        const { project_id, thread_id, message_id } = c.req.valid('param')
        return c.json(await ask.feedback(contextOf(c), project_id, thread_id, message_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/metadata/{catalog}/{schema}/{table}/generate',
        tags,
        summary: 'Write descriptions of a table and its columns with the language model',
        description:
          'Descriptions are written from the table’s columns, types and (unless the project’s policy says ' +
          '`share_values: false`) sample and categorical values, marked `generated`. A description a person ' +
          'wrote is never replaced. Needs a configured language model (else `409 conflict`).',
        security: bearerSecurity,
        request: { params: TableParams },
        responses: {
          200: jsonResponse(GeneratedDescriptions, 'What was written'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409, 502),
        },
      }),
      async (c) => {
        const { project_id, ...key } = c.req.valid('param')
        return c.json(await assist.generateDescriptions(contextOf(c), project_id, key), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/questions/suggest',
        tags,
        summary: 'Questions the project can answer',
        description:
          'From golden SQL, from the semantic layer (questions the offline engine answers with certainty over ' +
          'the tables AI may use) and, with a language model, from the model. Each one is checked by running ' +
          'its SQL: only those that run and return rows are proposed.',
        security: bearerSecurity,
        request: { params: ProjectParams, query: SuggestQuery },
        responses: {
          200: jsonResponse(z.object({ data: z.array(SuggestedQuestion) }), 'Suggestions'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404, 502),
        },
      }),
      async (c) => {
        const data = await assist.suggest(contextOf(c), c.req.valid('param').project_id, c.req.valid('query'))
        return c.json({ data }, 200)
      },
    )
}

function eventData(event: AskEvent): unknown {
  switch (event.type) {
    case 'step':
      return event.step
    case 'sql':
      return { sql: event.sql }
    case 'answer':
      return { answer: event.answer }
    case 'rows':
      return { columns: event.columns, rows: event.rows, row_count: event.row_count, truncated: event.truncated }
  }
}
