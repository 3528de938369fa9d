import { z } from 'zod'

import { Id, Name, Text, Timestamp } from './common.js'
import { GoldenSql } from './golden-sql.js'

const Question = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(2000, 'must be at most 2000 characters')
  .pipe(Text)
  .meta({ example: 'top 5 genres by revenue in 2024' })

export const AskRequest = z
  .strictObject({
    question: Question,
    thread_id: Id.optional().meta({
      description: 'Continue this thread: the question is read in the context of its earlier turns',
    }),
    execute: z
      .boolean()
      .default(true)
      .meta({ description: 'Run the SQL and return its rows; false returns the SQL only' }),
    limit: z
      .number()
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(10_000, 'must be at most 10000')
      .default(100)
      .meta({ description: 'Rows returned at most' }),
  })
  .meta({ id: 'AskRequest' })
export type AskRequest = z.infer<typeof AskRequest>

export const ASK_STEP_NAMES = [
  'context',
  'retrieve',
  'golden_sql',
  'generate',
  'validate',
  'execute',
  'answer',
] as const
export const ASK_STEP_STATUSES = ['ok', 'failed', 'skipped'] as const

export const AskStep = z
  .object({
    name: z.enum(ASK_STEP_NAMES),
    status: z.enum(ASK_STEP_STATUSES),
    attempt: z.number().int().nullable().meta({ description: 'The try (1–3) of generate, validate and execute' }),
    input: z.string().nullable().meta({ description: 'What the step was given, summarized' }),
    output: z.string().nullable().meta({ description: 'What it produced or why it failed, summarized' }),
    duration_ms: z.number(),
    input_tokens: z.number().int().nullable(),
    output_tokens: z.number().int().nullable(),
  })
  .meta({ id: 'AskStep' })
export type AskStep = z.infer<typeof AskStep>

export const TokenUsage = z
  .object({ input_tokens: z.number().int(), output_tokens: z.number().int() })
  .meta({ id: 'TokenUsage' })
export type TokenUsage = z.infer<typeof TokenUsage>

export const AskColumn = z.object({ name: z.string(), type: z.string().meta({ description: 'DuckDB type' }) })

export const AskResult = z
  .object({
    thread_id: Id,
    message_id: Id,
    question: z.string(),
    answered: z.boolean(),
    reason: z.string().nullable().meta({ description: 'Why the question was not answered' }),
    sql: z.string().nullable(),
    columns: z.array(AskColumn),
    rows: z.array(z.array(z.unknown())).meta({ description: 'As `POST …/sql` returns them' }),
    row_count: z.number().int(),
    truncated: z.boolean(),
    answer: z.string().nullable().meta({ description: 'A short answer in words' }),
    steps: z.array(AskStep),
    model: z
      .string()
      .meta({ description: '`provider:model` of the language model, or `offline` for the built-in parser' }),
    golden_sql_id: Id.nullable().meta({ description: 'The golden SQL used as it is, when one matched' }),
    usage: TokenUsage,
    execution_time_ms: z.number(),
    created_at: Timestamp,
  })
  .meta({ id: 'AskResult' })
export type AskResult = z.infer<typeof AskResult>

export const MessageFeedback = z
  .object({
    correct: z.boolean(),
    sql: z.string().nullable().meta({ description: 'The SQL a person gave as the right one' }),
    golden_sql_id: Id.nullable(),
    at: Timestamp,
  })
  .meta({ id: 'MessageFeedback' })

export const ThreadMessage = AskResult.omit({ thread_id: true, message_id: true })
  .extend({ id: Id, thread_id: Id, feedback: MessageFeedback.nullable() })
  .meta({ id: 'ThreadMessage' })
export type ThreadMessage = z.infer<typeof ThreadMessage>

export const Thread = z
  .object({
    id: Id,
    project_id: Id,
    title: z.string(),
    message_count: z.number().int(),
    created_by: z.object({ type: z.enum(['api_key', 'user']), id: z.string() }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Thread' })
export type Thread = z.infer<typeof Thread>

export const UpdateThread = z.strictObject({ title: Name }).meta({ id: 'UpdateThread' })
export type UpdateThread = z.infer<typeof UpdateThread>

export const FeedbackRequest = z
  .strictObject({
    correct: z.boolean(),
    sql: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(100_000, 'must be at most 100000 characters')
      .optional()
      .meta({ description: 'The right SQL, when the answer was wrong' }),
    save_as_golden_sql: z
      .boolean()
      .default(false)
      .meta({
        description:
          'Save the question with the confirmed SQL (or the corrected one) as golden SQL, in the same call. ' +
          'Needs the right to write golden SQL.',
      }),
  })
  .superRefine((body, ctx) => {
    if (body.save_as_golden_sql && !body.correct && body.sql === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sql'],
        message: 'give the right SQL to save a wrong answer as golden SQL',
      })
    }
  })
  .meta({ id: 'FeedbackRequest' })
export type FeedbackRequest = z.infer<typeof FeedbackRequest>

export const FeedbackResult = z
  .object({ message: ThreadMessage, golden_sql: GoldenSql.nullable() })
  .meta({ id: 'FeedbackResult' })
export type FeedbackResult = z.infer<typeof FeedbackResult>

export const SuggestQuery = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(50, 'must be at most 50')
    .default(10),
})
export type SuggestQuery = z.infer<typeof SuggestQuery>

export const SuggestedQuestion = z
  .object({
    question: z.string(),
    sql: z.string(),
    source: z.enum(['golden_sql', 'semantic_layer', 'model']),
    row_count: z.number().int().meta({ description: 'Rows the SQL returned when it was checked' }),
  })
  .meta({ id: 'SuggestedQuestion' })
export type SuggestedQuestion = z.infer<typeof SuggestedQuestion>

export const GeneratedDescriptions = z
  .object({
    table: z.object({ description: z.string().nullable(), written: z.boolean() }),
    columns: z.array(z.object({ name: z.string(), description: z.string().nullable(), written: z.boolean() })),
    model: z.string(),
    usage: TokenUsage,
  })
  .meta({
    id: 'GeneratedDescriptions',
    description: '`written: false` where a person’s description was kept',
  })
export type GeneratedDescriptions = z.infer<typeof GeneratedDescriptions>
