import { z } from 'zod'

import { Description, Id, Name, Text, Timestamp } from './common.js'
import { JobStatus } from './jobs.js'
import { parseIsoDuration, Schedule } from './schedules.js'

const atLeastOneField = (body: object) => Object.keys(body).length > 0

/**
 * The types a saved query's parameter can take, and how a value is written in JSON:
 * `string` any string; `integer` a whole number, or a string of digits beyond 2^53;
 * `number` a finite number; `boolean` true or false; `date` `YYYY-MM-DD`;
 * `timestamp` ISO 8601 with an optional offset (none means UTC); `decimal` a number or a
 * string such as `"-12.50"` (up to 28 digits before the point and 10 after).
 */
export const PARAMETER_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'timestamp', 'decimal'] as const
export const ParameterType = z.enum(PARAMETER_TYPES).meta({ id: 'ParameterType' })
export type ParameterType = z.infer<typeof ParameterType>

/** The SQL type names people write for a parameter, by the parameter type each one means. */
const SQL_TYPE_NAMES: Record<ParameterType, readonly string[]> = {
  string: ['VARCHAR', 'TEXT', 'STRING', 'CHAR', 'CHARACTER', 'CHARACTER VARYING', 'BPCHAR', 'NVARCHAR'],
  integer: ['BIGINT', 'INTEGER', 'INT', 'SMALLINT', 'TINYINT', 'INT8', 'INT4', 'INT2', 'INT64', 'INT32', 'LONG'],
  number: ['DOUBLE', 'DOUBLE PRECISION', 'FLOAT', 'FLOAT8', 'FLOAT4', 'FLOAT64', 'REAL'],
  boolean: ['BOOLEAN', 'BOOL', 'LOGICAL'],
  date: ['DATE'],
  timestamp: ['TIMESTAMP', 'TIMESTAMPTZ', 'DATETIME', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP WITHOUT TIME ZONE'],
  decimal: ['DECIMAL', 'NUMERIC', 'DEC'],
}

const TYPE_BY_NAME = new Map<string, ParameterType>(
  PARAMETER_TYPES.flatMap((type) => [
    [type.toUpperCase(), type] as const,
    ...SQL_TYPE_NAMES[type].map((name) => [name, type] as const),
  ]),
)

/** A trailing length, precision or scale, as in `VARCHAR(255)` or `DECIMAL(10, 2)`. */
const TYPE_MODIFIERS = /\s*\(\s*\d{1,4}\s*(,\s*\d{1,4}\s*)?\)$/

/**
 * The parameter type a written type name means, in any case: one of `PARAMETER_TYPES` or an SQL
 * name for one. Lengths, precisions and scales are accepted and not kept.
 */
export function parameterTypeOf(name: string): ParameterType | undefined {
  const bare = name.trim().replace(TYPE_MODIFIERS, '').replace(/\s+/g, ' ').toUpperCase()
  return TYPE_BY_NAME.get(bare)
}

/**
 * A parameter's type as a definition may write it. Answers always give the canonical type, so that a
 * client handles seven names, whatever was written.
 */
export const ParameterTypeName = z
  .string()
  .max(64, 'must be at most 64 characters')
  .transform((name, ctx) => {
    const type = parameterTypeOf(name)
    if (type) return type
    ctx.addIssue({
      code: 'custom',
      input: name,
      message:
        `'${name}' is not a parameter type: write one of ${PARAMETER_TYPES.join(', ')}, or an SQL name for one ` +
        '(VARCHAR, TEXT, BIGINT, INTEGER, DOUBLE, FLOAT, DECIMAL, NUMERIC, BOOLEAN, DATE, TIMESTAMP, …)',
    })
    return z.NEVER
  })
  .meta({
    description:
      `One of ${PARAMETER_TYPES.map((type) => `\`${type}\``).join(', ')}, or an SQL type name for one, in any case: ` +
      Object.entries(SQL_TYPE_NAMES)
        .map(([type, names]) => `${names.map((name) => `\`${name}\``).join(', ')} → \`${type}\``)
        .join('; ') +
      '. A length, precision or scale (`VARCHAR(255)`, `DECIMAL(10, 2)`) is accepted and not kept. Answers give ' +
      'the type it maps to.',
    examples: ['integer', 'VARCHAR', 'DECIMAL(10, 2)'],
  })

/** Written `{{name}}` in the SQL: an identifier, so that it can never be mistaken for SQL. */
export const ParameterName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be an identifier: letters, digits and _, not starting with a digit')

/** A parameter's value as JSON carries it; checked against the parameter's type when the query runs. */
export const ParameterValue = z.union([z.string().pipe(Text), z.number(), z.boolean(), z.null()])
export type ParameterValue = z.infer<typeof ParameterValue>

export const QueryParameterDefinition = z
  .strictObject({
    name: ParameterName,
    type: ParameterTypeName,
    required: z.boolean().default(false).meta({ description: 'A run without a value for it is refused' }),
    default: ParameterValue.optional().meta({
      description: 'Used when a run gives no value; an optional parameter without one is NULL',
    }),
    description: Description.optional(),
  })
  .meta({ id: 'QueryParameterDefinition' })
export type QueryParameterDefinition = z.infer<typeof QueryParameterDefinition>

export const QuerySql = z
  .string()
  .min(1, 'must not be empty')
  .max(100_000, 'must be at most 100000 characters')
  .pipe(Text)
  .meta({ description: 'DuckDB SQL over the project’s catalogs; parameters are written `{{name}}`' })

export const ParameterList = z.array(QueryParameterDefinition).max(50, 'must have at most 50 parameters')

/** The schema of the `queries` catalog a saved query is read from in SQL: `queries.<schema>.<display_name>`. */
export const SavedQuerySchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be an identifier: letters, digits and _, not starting with a digit')
  .refine((schema) => schema.toLowerCase() !== 'materialized', {
    message: '`materialized` holds the stored results of materialized queries: choose another schema',
  })
  .meta({
    description:
      'Schema of the `queries` catalog the query is readable from in SQL, as `queries.<schema>."<display_name>"` ' +
      '(names match case-insensitively); `main` when absent',
  })

export const QUERY_TYPES = ['STANDARD', 'MATERIALIZED'] as const
export const QueryType = z.enum(QUERY_TYPES).meta({
  id: 'QueryType',
  description:
    '`MATERIALIZED`: the result is stored when the query is saved and again on its `schedule`, and read as ' +
    '`queries.materialized."<display_name>"`',
})
export type QueryType = z.infer<typeof QueryType>

/** Peaka's `{expression}`: an ISO-8601 duration is an interval, anything else a cron expression read in UTC. */
function expressionSchedule(expression: string): Schedule {
  return parseIsoDuration(expression)
    ? { type: 'interval', every: expression.toUpperCase() }
    : { type: 'cron', cron: expression, timezone: 'UTC' }
}

// The expression is checked by a refinement, not in a transform: a union reports the issues of the one
// form that recognized the body, and a failing transform would hide them behind "Invalid input".
const ExpressionSchedule = z.strictObject({
  expression: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .superRefine((expression, ctx) => {
      if (expression.length === 0 || expression.length > 200) return
      const checked = Schedule.safeParse(expressionSchedule(expression))
      if (!checked.success)
        for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', message: issue.message })
    })
    .meta({ description: 'A cron expression (read in UTC) or an ISO-8601 duration', example: '0 3 * * *' }),
})

/**
 * A materialized query's schedule: the platform's `Schedule`, or Peaka's older `{expression}` form (a cron
 * expression read in UTC, or an ISO-8601 duration), which is stored as the equivalent `Schedule`.
 */
export const QuerySchedule = z
  .union([Schedule, ExpressionSchedule])
  .meta({ id: 'QuerySchedule' })
  .transform((written): Schedule =>
    'expression' in written ? Schedule.parse(expressionSchedule(written.expression)) : written,
  )

export const SavedQuery = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    display_name: z.string(),
    description: z.string().nullable(),
    sql: z.string(),
    schema: z.string().meta({ description: 'In SQL the query is `queries.<schema>."<display_name>"`' }),
    parameters: z.array(
      z.object({
        name: z.string(),
        type: ParameterType,
        required: z.boolean(),
        default: ParameterValue.optional(),
        description: z.string().optional(),
      }),
    ),
    query_type: QueryType,
    schedule: Schedule.nullable().meta({ description: 'When a materialized query is computed again; null otherwise' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'SavedQuery' })
export type SavedQuery = z.infer<typeof SavedQuery>

export const CreateSavedQuery = z
  .strictObject({
    display_name: Name,
    sql: QuerySql,
    description: Description.optional(),
    schema: SavedQuerySchema.optional(),
    parameters: ParameterList.default([]),
    query_type: QueryType.default('STANDARD'),
    schedule: QuerySchedule.optional().meta({
      description: 'Materialized queries only; `{type: "none"}` (computed when saved and on demand) when left out',
    }),
  })
  .superRefine((query, ctx) => {
    if (query.schedule && query.query_type !== 'MATERIALIZED') {
      ctx.addIssue({ code: 'custom', message: 'only a MATERIALIZED query has a schedule', path: ['schedule'] })
    }
  })
  .meta({ id: 'CreateSavedQuery' })
export type CreateSavedQuery = z.infer<typeof CreateSavedQuery>

export const UpdateSavedQuery = z
  .strictObject({
    display_name: Name.optional(),
    sql: QuerySql.optional(),
    description: Description.nullable().optional(),
    schema: SavedQuerySchema.optional(),
    parameters: ParameterList.optional().meta({ description: 'Replaces the whole list' }),
    query_type: QueryType.optional().meta({ description: 'STANDARD drops the stored result and its schedule' }),
    schedule: QuerySchedule.optional(),
  })
  .refine(atLeastOneField, { message: 'provide at least one field to change' })
  .superRefine((query, ctx) => {
    if (query.schedule && query.query_type === 'STANDARD') {
      ctx.addIssue({ code: 'custom', message: 'only a MATERIALIZED query has a schedule', path: ['schedule'] })
    }
  })
  .meta({ id: 'UpdateSavedQuery' })
export type UpdateSavedQuery = z.infer<typeof UpdateSavedQuery>

export const RunSavedQuery = z
  .strictObject({
    parameters: z
      .record(z.string(), ParameterValue, { error: 'must be an object of parameter values' })
      .default({})
      .meta({ description: 'A value for each parameter, by name; optional ones may be left out' }),
    timeout_ms: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(86_400_000, 'must be at most 86400000')
      .optional()
      .meta({
        description: 'The query is stopped and the job fails with `query_timeout` after this long (default 1 h)',
      }),
  })
  .meta({ id: 'RunSavedQuery' })
export type RunSavedQuery = z.infer<typeof RunSavedQuery>

export const MATERIALIZATION_STATUSES = ['NOT_INITIALIZED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const

export const MaterializedQueryStatus = z
  .object({
    query_id: Id,
    display_name: z.string(),
    status: z.enum(MATERIALIZATION_STATUSES).meta({
      description:
        'RUNNING while a computation runs; otherwise how the last one ended (NOT_INITIALIZED: none has yet). ' +
        'A FAILED or CANCELLED run leaves the last completed result readable.',
    }),
    row_count: z.number().int().nullable().meta({ description: 'Rows of the stored result; null until one exists' }),
    computed_at: Timestamp.nullable().meta({ description: 'When the stored result was computed' }),
    last_execution_start_time: Timestamp.nullable(),
    last_execution_end_time: Timestamp.nullable(),
    next_execution_start_time: Timestamp.nullable().meta({ description: 'Next scheduled run; null without one' }),
    consecutive_failures: z.number().int(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    job_id: Id.nullable().meta({ description: 'The latest computation’s job' }),
    job_status: JobStatus.nullable(),
    schedule: Schedule,
  })
  .meta({ id: 'MaterializedQueryStatus' })
export type MaterializedQueryStatus = z.infer<typeof MaterializedQueryStatus>
