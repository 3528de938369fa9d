import { z } from 'zod'

import { Description, Email, Id, Name, Text, Timestamp } from './common.js'
import { hasControlCharacter, reservedHeaderProblem } from './credentials.js'
import { ParameterValue } from './saved-queries.js'
import { Schedule } from './schedules.js'

/** Most steps, and most actions, one workflow may have. */
export const MAX_WORKFLOW_STEPS = 5
export const MAX_WORKFLOW_ACTIONS = 10
/** Most retries of a webhook action after its first attempt. */
export const MAX_WEBHOOK_RETRIES = 5

const TimeoutSeconds = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .max(3600, 'must be at most 3600')
  .meta({ description: 'A run (steps and actions) still going after this long stops as `timed_out`' })

const StepName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be an identifier: a letter or _, then letters, digits or _')
  .meta({ description: 'How conditions and templates name the step: `steps.<name>.rows`', example: 'revenue' })

/** An expression or template source: bounded, storable text. */
const Source = (max: number) => z.string().max(max, `must be at most ${max} characters`).pipe(Text)

export const WorkflowStepInput = z
  .strictObject({
    name: StepName,
    query_id: Id.optional().meta({ description: 'A saved query of the project, run with `parameters`' }),
    sql: z.string().trim().min(1, 'must not be empty').max(100_000).pipe(Text).optional(),
    question: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(2000)
      .pipe(Text)
      .optional()
      .meta({ description: 'Turned into SQL once, when the workflow is saved (`resolved_sql`); runs rerun that SQL' }),
    parameters: z
      .record(z.string(), ParameterValue, { error: 'must be an object of parameter values' })
      .optional()
      .meta({ description: 'Values of the saved query’s parameters (`query_id` steps only)' }),
    stop_if_empty: z
      .boolean()
      .default(false)
      .meta({ description: 'No rows: the run stops as `condition_not_met`, no action runs' }),
    condition: Source(2000)
      .optional()
      .meta({
        description:
          'An expression evaluated after the step over its own and earlier steps’ results, e.g. ' +
          '`steps.revenue.rows[0].total < 0.8 * steps.average.rows[0].total`; false stops the run as `condition_not_met`',
      }),
  })
  .superRefine((step, ctx) => {
    const given = [step.query_id, step.sql, step.question].filter((value) => value !== undefined).length
    if (given !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of query_id, sql or question', path: [] })
    }
    if (step.parameters !== undefined && step.query_id === undefined) {
      ctx.addIssue({ code: 'custom', message: 'only a query_id step takes parameters', path: ['parameters'] })
    }
  })
  .meta({ id: 'WorkflowStepInput' })
export type WorkflowStepInput = z.input<typeof WorkflowStepInput>

const HeaderName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name')

const ActionUrl = z
  .string()
  .trim()
  .max(2000, 'must be at most 2000 characters')
  .pipe(Text)
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL')

export const WebhookAction = z
  .strictObject({
    type: z.literal('webhook'),
    url: ActionUrl.meta({
      description:
        'Private, loopback and link-local addresses are refused unless the operator allows them (`TRIBUTARY_OUTBOUND_ALLOW`)',
      example: 'https://hooks.example.com/revenue',
    }),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    headers: z
      .record(
        HeaderName,
        Source(2000).refine((value) => !hasControlCharacter(value), 'must not contain control characters'),
      )
      .superRefine((headers, ctx) => {
        if (Object.keys(headers).length > 20) ctx.addIssue({ code: 'custom', message: 'must have at most 20 headers' })
        // The signature, the framing and the routing are the platform's; a credential's header replaces a same-named one.
        for (const name of Object.keys(headers)) {
          const problem = reservedHeaderProblem(name)
          if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem })
        }
      })
      .optional()
      .meta({ description: 'Values are text templates (`{{run.id}}`)' }),
    body: z
      .unknown()
      .optional()
      .meta({
        description:
          'A JSON template: a string that is exactly `{{expression}}` becomes its value (`"{{steps.revenue.rows}}"`), ' +
          'other strings interpolate. Default: `{workflow, run, steps}`',
      }),
    credential_id: Id.optional().meta({ description: 'An outbound credential of the project, for the URL’s host' }),
    retries: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(0, 'must be at least 0')
      .max(MAX_WEBHOOK_RETRIES, `must be at most ${MAX_WEBHOOK_RETRIES}`)
      .default(3)
      .meta({ description: 'Retries after a failed attempt (no answer, 408, 429, 5xx), with exponential backoff' }),
  })
  .meta({ id: 'WebhookAction' })

export const EmailAction = z
  .strictObject({
    type: z.literal('email'),
    to: z.array(Email).min(1, 'must name at least one address').max(50, 'must name at most 50 addresses'),
    cc: z.array(Email).max(50, 'must name at most 50 addresses').optional(),
    subject: Source(500).meta({
      description: 'A text template',
      example: 'Revenue down: {{steps.revenue.rows[0].total}}',
    }),
    body: Source(20_000).meta({ description: 'A text template (plain text)' }),
    attach_csv: z
      .union([StepName, z.literal(false)])
      .optional()
      .meta({ description: 'The step whose rows are attached as CSV (default: the last step); false attaches none' }),
  })
  .meta({ id: 'EmailAction' })

export const WorkflowAction = z
  .discriminatedUnion('type', [WebhookAction, EmailAction], { error: "type: must be 'webhook' or 'email'" })
  .meta({ id: 'WorkflowAction' })
export type WorkflowAction = z.output<typeof WorkflowAction>
export type WebhookAction = z.output<typeof WebhookAction>
export type EmailAction = z.output<typeof EmailAction>

export const WorkflowTrigger = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('manual') }),
      z.strictObject({
        type: z.literal('schedule'),
        schedule: Schedule.refine(
          (schedule) => schedule.type !== 'none',
          'a scheduled trigger needs a cron or interval',
        ),
      }),
    ],
    { error: "type: must be 'manual' or 'schedule'" },
  )
  .meta({ id: 'WorkflowTrigger', description: '`manual`: runs only when asked; `schedule`: also on its schedule' })
export type WorkflowTrigger = z.output<typeof WorkflowTrigger>

const Steps = z
  .array(WorkflowStepInput)
  .min(1, 'must have at least one step')
  .max(MAX_WORKFLOW_STEPS, `must have at most ${MAX_WORKFLOW_STEPS} steps`)
const Actions = z.array(WorkflowAction).max(MAX_WORKFLOW_ACTIONS, `must have at most ${MAX_WORKFLOW_ACTIONS} actions`)

export const CreateWorkflow = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    trigger: WorkflowTrigger.default({ type: 'manual' }),
    steps: Steps,
    actions: Actions.default([]),
    is_active: z.boolean().default(true).meta({ description: 'An inactive workflow is not run on its schedule' }),
    timeout_seconds: TimeoutSeconds.default(300),
  })
  .meta({ id: 'CreateWorkflow' })
export type CreateWorkflow = z.input<typeof CreateWorkflow>
export type CreateWorkflowParsed = z.output<typeof CreateWorkflow>

export const UpdateWorkflow = z
  .strictObject({
    revision: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .meta({ description: 'The revision this change is based on: another one is a 409 `conflict`' }),
    name: Name.optional(),
    description: Description.nullable().optional(),
    trigger: WorkflowTrigger.optional(),
    steps: Steps.optional(),
    actions: Actions.optional(),
    is_active: z.boolean().optional(),
    timeout_seconds: TimeoutSeconds.optional(),
  })
  .refine((body) => Object.keys(body).length > 1, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateWorkflow' })
export type UpdateWorkflow = z.output<typeof UpdateWorkflow>

export const WorkflowStep = z
  .object({
    name: z.string(),
    query_id: Id.nullable(),
    sql: z.string().nullable(),
    question: z.string().nullable(),
    resolved_sql: z.string().nullable().meta({ description: 'The SQL the question was turned into when saved' }),
    parameters: z.record(z.string(), ParameterValue).nullable(),
    stop_if_empty: z.boolean(),
    condition: z.string().nullable(),
  })
  .meta({ id: 'WorkflowStep' })
export type WorkflowStep = z.infer<typeof WorkflowStep>

export const Workflow = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    name: z.string(),
    description: z.string().nullable(),
    trigger: WorkflowTrigger,
    steps: z.array(WorkflowStep),
    actions: z.array(WorkflowAction),
    is_active: z.boolean(),
    timeout_seconds: z.number().int(),
    revision: z.number().int().meta({ description: 'Starts at 1; each change adds one' }),
    next_run_at: Timestamp.nullable().meta({ description: 'The next scheduled run, if any' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Workflow' })
export type Workflow = z.infer<typeof Workflow>

export const CreatedWorkflow = Workflow.extend({
  signing_secret: z.string().meta({
    description:
      'Shown only here: webhook actions are signed with it (`X-Tributary-Signature: t=<unix seconds>,v1=<hex ' +
      'HMAC-SHA256 of "<t>.<body>">`)',
  }),
}).meta({ id: 'CreatedWorkflow' })
export type CreatedWorkflow = z.infer<typeof CreatedWorkflow>

export const WORKFLOW_RUN_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'partial_success',
  'condition_not_met',
  'failed',
  'timed_out',
] as const
export const WorkflowRunStatus = z.enum(WORKFLOW_RUN_STATUSES).meta({
  id: 'WorkflowRunStatus',
  description:
    '`partial_success`: some action failed; `condition_not_met`: a step was empty with `stop_if_empty` or its ' +
    'condition was false, so no action ran; `failed`: a step failed; `timed_out`: the run went over its time limit',
})
export type WorkflowRunStatus = z.infer<typeof WorkflowRunStatus>

const RunError = z.object({ code: z.string(), message: z.string() })

export const ActionAttempt = z
  .object({
    status: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'HTTP status, or SMTP reply code; null without an answer' }),
    ok: z.boolean(),
    response: z.string().meta({ description: 'The start of the answer' }),
    error: z.string().nullable(),
    duration_ms: z.number(),
    at: Timestamp,
  })
  .meta({ id: 'WorkflowActionAttempt' })
export type ActionAttempt = z.infer<typeof ActionAttempt>

export const WorkflowActionResult = z
  .object({
    index: z.number().int(),
    type: z.enum(['webhook', 'email']),
    status: z.enum(['succeeded', 'failed']),
    error: z.string().nullable(),
    attempts: z.array(ActionAttempt),
  })
  .meta({ id: 'WorkflowActionResult' })
export type WorkflowActionResult = z.infer<typeof WorkflowActionResult>

export const WorkflowStepResult = z
  .object({
    name: z.string(),
    row_count: z.number().int().nullable(),
    truncated: z.boolean().meta({ description: 'More rows matched than the run keeps (1000)' }),
    duration_ms: z.number().nullable(),
    columns: z.array(z.string()),
    rows: z.array(z.record(z.string(), z.unknown())).meta({ description: 'The first 100 rows' }),
    condition_value: z.unknown().optional().meta({ description: 'What the step’s condition evaluated to' }),
    error: RunError.nullable(),
  })
  .meta({ id: 'WorkflowStepResult' })
export type WorkflowStepResult = z.infer<typeof WorkflowStepResult>

export const WorkflowRun = z
  .object({
    id: Id,
    workflow_id: Id,
    workflow_revision: z.number().int(),
    trigger: z.enum(['manual', 'schedule']),
    status: WorkflowRunStatus,
    job_id: Id.nullable(),
    scheduled_for: Timestamp.nullable(),
    started_at: Timestamp.nullable(),
    ended_at: Timestamp.nullable(),
    steps: z.array(WorkflowStepResult),
    actions: z.array(WorkflowActionResult),
    error: RunError.nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'WorkflowRun' })
export type WorkflowRun = z.infer<typeof WorkflowRun>

export const WorkflowActionPreview = z
  .object({
    index: z.number().int(),
    type: z.enum(['webhook', 'email']),
    webhook: z
      .object({
        method: z.string(),
        url: z.string(),
        headers: z.record(z.string(), z.string()).meta({ description: 'Secrets (credential, signature) redacted' }),
        body: z.string(),
      })
      .optional(),
    email: z
      .object({
        from: z.string(),
        to: z.array(z.string()),
        cc: z.array(z.string()),
        subject: z.string(),
        body: z.string(),
        attachment: z.object({ filename: z.string(), size_bytes: z.number().int(), rows: z.number().int() }).nullable(),
      })
      .optional(),
    problem: z.string().nullable().meta({ description: 'Why sending would fail, when that is known now' }),
  })
  .meta({ id: 'WorkflowActionPreview' })
export type WorkflowActionPreview = z.infer<typeof WorkflowActionPreview>

export const WorkflowPreview = z
  .object({
    status: WorkflowRunStatus.meta({
      description: 'How a run would end its steps; actions run only after `succeeded`',
    }),
    steps: z.array(WorkflowStepResult),
    error: RunError.nullable(),
    actions: z.array(WorkflowActionPreview).meta({ description: 'What each action would send; nothing is sent' }),
  })
  .meta({ id: 'WorkflowPreview' })
export type WorkflowPreview = z.infer<typeof WorkflowPreview>
