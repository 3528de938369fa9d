import type {
  CreatedWorkflow,
  CreateWorkflowParsed,
  ListQuery,
  Page,
  UpdateWorkflow,
  Workflow,
  WorkflowAction,
  WorkflowActionPreview,
  WorkflowActionResult,
  WorkflowPreview,
  WorkflowRun,
  WorkflowRunStatus,
  WorkflowStep,
  WorkflowStepInput,
} from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { EventPublisher } from '../../events/event-publisher.js'
import { JobAbortedError, type JobHandler, type JobQueue, type RunningJob } from '../../jobs/queue.js'
import { errors, isAppError } from '../../lib/errors.js'
import { newId } from '../../lib/ids.js'
import type { AddressPolicy } from '../../lib/outbound/address-policy.js'
import { SIGNATURE_HEADER } from '../../lib/outbound/signed-request.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import { generateToken } from '../../lib/secrets.js'
import type { SecretBox } from '../../lib/secret-box.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso, toIsoOrNull, transactionOrConflict } from '../../metadata/store-errors.js'
import type { WorkflowRow, WorkflowRunRow } from '../../metadata/workflows-schema.js'
import type { ScheduledPayload, Scheduler } from '../../scheduler/scheduler.js'
import type { AskService } from '../ask/ask.service.js'
import type { AuditService } from '../audit/audit.service.js'
import type { CredentialsService } from '../credentials/credentials.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SavedQueriesService } from '../saved-queries/saved-queries.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { NO_SMTP, renderEmail, renderWebhook } from './workflow-actions.js'
import { checkDefinition, type TemplateScope } from './workflow-definition.js'
import { reasonOf, type RunLimits, type WorkflowRunner } from './workflow-runner.js'
import { workflowErrors } from './workflows.errors.js'
import { type RunEnd, WorkflowsRepo, type WorkflowDefinition } from './workflows.repo.js'

/** The job kind of every run, asked for or scheduled, and the scheduled task that queues them. */
export const WORKFLOW_RUN_JOB = 'workflow.run'

const SCOPE = 'workflows'

interface RunPayload extends Partial<ScheduledPayload> {
  workflow_id: string
  /** Set for runs asked for: the run row exists (`pending`) before the job starts. */
  run_id?: string
}

export interface WorkflowsDependencies {
  projects: ProjectsService
  audit: AuditService
  ask: AskService
  savedQueries: SavedQueriesService
  sql: Pick<SqlService, 'describe'>
  credentials: CredentialsService
  jobs: JobQueue
  scheduler: Scheduler
  events: EventPublisher
  secrets: SecretBox
  runner: WorkflowRunner
  policy: Pick<AddressPolicy, 'resolve' | 'refusalOf'>
  smtp: { url: string | undefined; from: string }
}

/**
 * Workflows (issue 14): up to five queries run in order, conditions over their results, then
 * actions (signed webhooks, e-mails with the rows as CSV). Runs are durable jobs, asked for or on
 * the workflow's schedule, and each keeps what it saw and did. Edits name the revision they are
 * based on, so two editors cannot silently overwrite each other.
 */
export class WorkflowsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly deps: WorkflowsDependencies,
  ) {}

  readonly jobHandler: JobHandler<RunPayload> = {
    kind: WORKFLOW_RUN_JOB,
    // A run that died half-way may have sent some of its actions: running it again could send them twice.
    retryable: false,
    run: (job, ctx) => this.#execute(job, ctx.signal),
  }

  async create(ctx: RequestContext, projectId: string, input: CreateWorkflowParsed): Promise<CreatedWorkflow> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: SCOPE })
    const definition = await this.#prepare(ctx, projectId, {
      name: input.name,
      description: input.description ?? null,
      trigger: input.trigger,
      steps: input.steps,
      actions: input.actions,
      is_active: input.is_active,
      timeout_seconds: input.timeout_seconds,
    })
    const signingSecret = generateToken('wfsec_')
    const row = await transactionOrConflict(
      this.db,
      () => workflowErrors.nameTaken(input.name),
      async (trx) => {
        const created = await new WorkflowsRepo(trx).insert({
          organization_id: tenant.principal.organizationId,
          project_id: projectId,
          signing_secret: this.deps.secrets.seal(signingSecret),
          ...definition,
        })
        await this.#putSchedule(trx, ctx, created)
        await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'workflow', {
          action: 'workflow.create',
          id: created.id,
          details: { project_id: projectId, name: created.name, trigger: created.trigger.type },
        })
        return created
      },
    )
    return { ...(await this.#toWorkflow(row)), signing_secret: signingSecret }
  }

  async list(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<Workflow>> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: SCOPE })
    const rows = await new WorkflowsRepo(this.db).list(
      tenant.principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    const page = toPage(rows, query.limit, (row) => row)
    return { data: await Promise.all(page.data.map((row) => this.#toWorkflow(row))), next_cursor: page.next_cursor }
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<Workflow> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: SCOPE })
    return this.#toWorkflow(await this.#find(tenant, projectId, id))
  }

  async update(ctx: RequestContext, projectId: string, id: string, input: UpdateWorkflow): Promise<Workflow> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: SCOPE })
    const current = await this.#find(tenant, projectId, id)
    if (current.revision !== input.revision) throw workflowErrors.staleRevision(id, input.revision, current.revision)
    const definition = await this.#prepare(
      ctx,
      projectId,
      {
        name: input.name ?? current.name,
        description: input.description === undefined ? current.description : input.description,
        trigger: input.trigger ?? current.trigger,
        steps: input.steps ?? current.steps.map(toStepInput),
        actions: input.actions ?? current.actions,
        is_active: input.is_active ?? current.is_active,
        timeout_seconds: input.timeout_seconds ?? current.timeout_seconds,
      },
      current.steps,
    )
    const row = await transactionOrConflict(
      this.db,
      () => workflowErrors.nameTaken(definition.name),
      async (trx) => {
        const changed = await new WorkflowsRepo(trx).update(id, input.revision, definition)
        if (!changed) {
          const now = await new WorkflowsRepo(trx).find(tenant.principal.organizationId, projectId, id)
          if (!now) throw errors.notFound('workflow', id)
          throw workflowErrors.staleRevision(id, input.revision, now.revision)
        }
        await this.#putSchedule(trx, ctx, changed)
        await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'workflow', {
          action: 'workflow.update',
          id,
          details: { fields: Object.keys(input).filter((field) => field !== 'revision'), revision: changed.revision },
        })
        return changed
      },
    )
    return this.#toWorkflow(row)
  }

  /** Archives it and removes its schedule; runs already queued find it gone and end as failed. */
  async delete(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: SCOPE })
    await this.#find(tenant, projectId, id)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new WorkflowsRepo(trx).archive(id))) throw errors.notFound('workflow', id)
      await this.deps.scheduler.remove(trx, WORKFLOW_RUN_JOB, id)
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'workflow', {
        action: 'workflow.delete',
        id,
        details: { project_id: projectId },
      })
    })
  }

  /** Queues a run now; the run is `pending` until a worker starts it. */
  async run(ctx: RequestContext, projectId: string, id: string): Promise<WorkflowRun> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: SCOPE })
    const workflow = await this.#find(tenant, projectId, id)
    const run = await this.db.transaction().execute(async (trx) => {
      const runId = newId()
      const job = await this.deps.jobs.enqueue(trx, {
        kind: WORKFLOW_RUN_JOB,
        organizationId: tenant.principal.organizationId,
        projectId,
        payload: { workflow_id: id, run_id: runId } satisfies RunPayload,
        caller: ctx,
      })
      const row = await new WorkflowsRepo(trx).insertRun({
        id: runId,
        workflow,
        trigger: 'manual',
        status: 'pending',
        job_id: job.id,
        scheduled_for: null,
      })
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'workflow', {
        action: 'workflow.run',
        id,
        details: { run_id: runId, job_id: job.id },
      })
      return row
    })
    this.deps.jobs.wake()
    return this.#toRun(run)
  }

  /** Runs the steps and conditions now and shows what each action would send; sends nothing. */
  async preview(ctx: RequestContext, projectId: string, id: string, signal?: AbortSignal): Promise<WorkflowPreview> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: SCOPE })
    const workflow = await this.#find(tenant, projectId, id)
    const outcome = await this.deps.runner.steps(ctx, workflow, sampleRun(), limitsFor(workflow, signal))
    const actions =
      outcome.status === 'succeeded'
        ? await Promise.all(
            workflow.actions.map((action, index) => this.#previewAction(ctx, workflow, action, index, outcome.scope)),
          )
        : []
    return { status: outcome.status, steps: outcome.steps, error: outcome.error, actions }
  }

  /**
   * Sends one action now with the steps' real results (every step runs, conditions aside; a step
   * that fails gives no rows), as a run would: signed, with its retries.
   */
  async testAction(
    ctx: RequestContext,
    projectId: string,
    id: string,
    index: number,
    signal?: AbortSignal,
  ): Promise<WorkflowActionResult> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: SCOPE })
    const workflow = await this.#find(tenant, projectId, id)
    if (index >= workflow.actions.length) throw errors.notFound('action', String(index))
    const limits = limitsFor(workflow, signal)
    const outcome = await this.deps.runner.steps(ctx, workflow, sampleRun(), limits, 'sample')
    const secret = this.deps.secrets.open(workflow.signing_secret)
    const [result] = await this.deps.runner.actions(ctx, workflow, secret, outcome.scope, limits.signal, index)
    await this.db.transaction().execute((trx) =>
      this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'workflow', {
        action: 'workflow.action_test',
        id,
        details: { index, type: result!.type, status: result!.status },
      }),
    )
    return result!
  }

  async runs(ctx: RequestContext, projectId: string, id: string, query: ListQuery): Promise<Page<WorkflowRun>> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: SCOPE })
    await this.#find(tenant, projectId, id)
    const rows = await new WorkflowsRepo(this.db).runs(id, decodeCursor(query.cursor), query.limit)
    const page = toPage(rows, query.limit, (row) => row)
    return { data: await Promise.all(page.data.map((row) => this.#toRun(row))), next_cursor: page.next_cursor }
  }

  async getRun(ctx: RequestContext, projectId: string, id: string, runId: string): Promise<WorkflowRun> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: SCOPE })
    await this.#find(tenant, projectId, id)
    const row = await new WorkflowsRepo(this.db).findRun(id, runId)
    if (!row) throw errors.notFound('run', runId)
    return this.#toRun(row)
  }

  async #execute(job: RunningJob<RunPayload>, jobSignal: AbortSignal): Promise<Record<string, unknown>> {
    const repo = new WorkflowsRepo(this.db)
    const { workflow_id: workflowId, run_id: runId } = job.payload
    const workflow = await repo.findById(workflowId)
    // A job given back by a shutdown starts its run again from the first step.
    let run = runId ? await repo.findRunById(runId) : await repo.findRunByJob(job.id)
    if (run) {
      if (!(await repo.start(run.id, job.id))) return { skipped: 'the run has already ended' }
    } else if (!runId && workflow?.is_active && workflow.trigger.type === 'schedule') {
      run = await repo.insertRun({
        workflow,
        trigger: 'schedule',
        status: 'running',
        job_id: job.id,
        scheduled_for: job.payload.scheduled_for ?? null,
      })
    }
    if (!run) return { skipped: 'the workflow was deleted, deactivated or made manual' }
    const finish = (status: WorkflowRunStatus, outcome: Partial<RunEnd> = {}) =>
      this.#finish(run, { status, steps: [], actions: [], error: null, ...outcome })
    if (!workflow) return finish('failed', { error: { code: 'not_found', message: 'the workflow was deleted' } })
    if (!job.caller) {
      return finish('failed', { error: { code: 'authorization_error', message: 'the run has no caller to act as' } })
    }
    const limits = limitsFor(workflow, jobSignal)
    try {
      const steps = await this.deps.runner.steps(
        job.caller,
        workflow,
        { id: run.id, started_at: toIso(run.started_at ?? new Date()) },
        limits,
      )
      const actions =
        steps.status === 'succeeded'
          ? await this.deps.runner.actions(
              job.caller,
              workflow,
              this.deps.secrets.open(workflow.signing_secret),
              steps.scope,
              limits.signal,
            )
          : []
      if (jobSignal.aborted) throw jobSignal.reason
      let status: WorkflowRunStatus = steps.status
      let error = steps.error
      if (limits.timeout.aborted) {
        status = 'timed_out'
        error ??= { code: 'timed_out', message: `the run went over its time limit (${workflow.timeout_seconds} s)` }
      } else if (status === 'succeeded' && actions.some((action) => action.status === 'failed')) {
        status = 'partial_success'
      }
      return await finish(status, { steps: steps.steps, actions, error })
    } catch (error) {
      // A shutdown gives the job back to the queue, which starts this run again; a cancel ends it.
      const stopped = jobSignal.aborted ? (jobSignal.reason as unknown) : error
      if (stopped instanceof JobAbortedError && stopped.reason !== 'cancel') throw error
      await finish('failed', {
        error:
          stopped instanceof JobAbortedError
            ? { code: 'cancelled', message: 'the run was cancelled' }
            : reasonOf(error),
      })
      throw error
    }
  }

  /** Records the end of a run and publishes it, in one transaction. */
  async #finish(run: WorkflowRunRow, end: RunEnd): Promise<Record<string, unknown>> {
    await this.db.transaction().execute(async (trx) => {
      await new WorkflowsRepo(trx).end(run.id, end)
      await this.deps.events.publish(trx, {
        type: 'workflow.run.completed',
        organizationId: run.organization_id,
        projectId: run.project_id,
        data: { workflow_id: run.workflow_id, run_id: run.id, status: end.status },
      })
    })
    return { run_id: run.id, status: end.status }
  }

  async #previewAction(
    ctx: RequestContext,
    workflow: WorkflowRow,
    action: WorkflowAction,
    index: number,
    scope: TemplateScope,
  ): Promise<WorkflowActionPreview> {
    const preview: WorkflowActionPreview = { index, type: action.type, problem: null }
    try {
      if (action.type === 'email') {
        const email = renderEmail(action, scope, this.deps.smtp.from)
        const { attachment } = email
        preview.email = {
          ...email,
          attachment: attachment && {
            filename: attachment.filename,
            size_bytes: Buffer.byteLength(attachment.content),
            rows: attachment.rows,
          },
        }
        if (!this.deps.smtp.url) preview.problem = NO_SMTP
        return preview
      }
      const request = renderWebhook(action, scope)
      const headers: Record<string, string> = { 'content-type': 'application/json', ...request.headers }
      headers[SIGNATURE_HEADER] = 't=<unix seconds>,v1=<HMAC-SHA256 with the signing secret>'
      preview.webhook = { ...request, headers }
      await this.deps.policy.resolve(action.url)
      if (action.credential_id) {
        const field = `actions.${index}.credential_id`
        const credential = await this.deps.credentials.headersFor(
          ctx,
          workflow.project_id,
          action.credential_id,
          action.url,
          field,
        )
        for (const name of Object.keys(credential.headers)) headers[name.toLowerCase()] = '[credential]'
      }
    } catch (error) {
      preview.problem = reasonOf(error).message
    }
    return preview
  }

  /**
   * Checks a definition beyond its schema and pins what a run needs: each question's SQL (asked
   * again only when the question changed), each saved query and its parameters, each webhook target
   * against the address policy, each credential toward its URL.
   */
  async #prepare(
    ctx: RequestContext,
    projectId: string,
    input: Omit<WorkflowDefinition, 'steps'> & { steps: readonly WorkflowStepInput[] },
    before: readonly WorkflowStep[] = [],
  ): Promise<WorkflowDefinition> {
    const steps: WorkflowStep[] = input.steps.map((step) => ({
      name: step.name,
      query_id: step.query_id ?? null,
      sql: step.sql ?? null,
      question: step.question ?? null,
      resolved_sql: null,
      parameters: step.parameters ?? null,
      stop_if_empty: step.stop_if_empty ?? false,
      condition: step.condition ?? null,
    }))
    checkDefinition(steps, input.actions)
    for (const [index, step] of steps.entries()) {
      const field = `steps.${index}`
      if (step.question !== null) {
        const pinned = before.find((old) => old.question === step.question && old.resolved_sql)
        step.resolved_sql =
          pinned?.resolved_sql ?? (await this.deps.ask.translate(ctx, projectId, step.question, `${field}.question`))
      } else if (step.query_id !== null) {
        await this.#checkSavedQuery(ctx, projectId, step.query_id, step.parameters ?? {}, field)
      } else if (step.sql !== null) {
        await this.#checkSql(ctx, projectId, step.sql, `${field}.sql`)
      }
    }
    for (const [index, action] of input.actions.entries()) {
      if (action.type !== 'webhook') continue
      const field = `actions.${index}`
      const refusal = await this.deps.policy.refusalOf(action.url)
      if (refusal) throw errors.invalidField(`${field}.url`, refusal)
      if (action.credential_id) {
        await this.deps.credentials.checkUsable(
          ctx,
          projectId,
          action.credential_id,
          action.url,
          `${field}.credential_id`,
        )
      }
    }
    return { ...input, steps }
  }

  /** SQL that is not one read-only query, or does not bind (an unknown table), is refused now rather than at every run. */
  async #checkSql(ctx: RequestContext, projectId: string, sql: string, field: string): Promise<void> {
    try {
      await this.deps.sql.describe(ctx, projectId, sql)
    } catch (error) {
      if (isAppError(error, 'query_error')) throw errors.invalidField(field, error.message)
      // A source that is down or slow today may answer at run time: the run records it then.
      if (isAppError(error, 'connection_error') || isAppError(error, 'query_timeout')) return
      throw error
    }
  }

  async #checkSavedQuery(
    ctx: RequestContext,
    projectId: string,
    queryId: string,
    parameters: Readonly<Record<string, unknown>>,
    field: string,
  ): Promise<void> {
    try {
      await this.deps.savedQueries.resolveRun(ctx, projectId, queryId, parameters)
    } catch (error) {
      if (isAppError(error, 'not_found')) {
        throw errors.invalidField(`${field}.query_id`, `no saved query ${queryId} in this project`)
      }
      if (isAppError(error, 'validation_error')) {
        const issue = (error.details as { issues?: { field: string; message: string }[] } | undefined)?.issues?.[0]
        if (issue) throw errors.invalidField(`${field}.${issue.field}`, issue.message)
      }
      throw error
    }
  }

  async #putSchedule(trx: MetadataDb, ctx: RequestContext, row: WorkflowRow): Promise<void> {
    if (!row.is_active || row.trigger.type !== 'schedule') {
      await this.deps.scheduler.remove(trx, WORKFLOW_RUN_JOB, row.id)
      return
    }
    await this.deps.scheduler.put(trx, {
      organizationId: row.organization_id,
      projectId: row.project_id,
      task: WORKFLOW_RUN_JOB,
      key: row.id,
      schedule: row.trigger.schedule,
      payload: { workflow_id: row.id } satisfies RunPayload,
      caller: ctx,
    })
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<WorkflowRow> {
    const row = await new WorkflowsRepo(this.db).find(tenant.principal.organizationId, projectId, id)
    if (!row) throw errors.notFound('workflow', id)
    return row
  }

  /**
   * A run as stored, unless its job ended without the run recording it: cancelled while queued, or
   * failed by the queue after its server died.
   */
  async #toRun(row: WorkflowRunRow): Promise<WorkflowRun> {
    const run = toRun(row)
    if ((row.status !== 'pending' && row.status !== 'running') || !row.job_id) return run
    const job = await this.deps.jobs.get(row.job_id)
    if (job?.status === 'cancelled') {
      return { ...run, status: 'failed', error: { code: 'cancelled', message: 'the run was cancelled' } }
    }
    if (job?.status === 'failed') {
      const error = job.error as { code: string; message: string } | null
      return { ...run, status: 'failed', error: error && { code: error.code, message: error.message } }
    }
    return run
  }

  async #toWorkflow(row: WorkflowRow): Promise<Workflow> {
    const schedule = await this.deps.scheduler.get(WORKFLOW_RUN_JOB, row.id)
    return {
      id: row.id,
      organization_id: row.organization_id,
      project_id: row.project_id,
      name: row.name,
      description: row.description,
      trigger: row.trigger,
      steps: row.steps,
      actions: row.actions,
      is_active: row.is_active,
      timeout_seconds: row.timeout_seconds,
      revision: row.revision,
      next_run_at: schedule?.next_run_at ?? null,
      created_at: toIso(row.created_at),
      updated_at: toIso(row.updated_at),
    }
  }
}

/** A stored step as the input it came from, to check it again beside changed actions. */
function toStepInput(step: WorkflowStep): WorkflowStepInput {
  return {
    name: step.name,
    ...(step.query_id === null ? {} : { query_id: step.query_id }),
    ...(step.sql === null ? {} : { sql: step.sql }),
    ...(step.question === null ? {} : { question: step.question }),
    ...(step.parameters === null ? {} : { parameters: step.parameters }),
    stop_if_empty: step.stop_if_empty,
    ...(step.condition === null ? {} : { condition: step.condition }),
  }
}

function toRun(row: WorkflowRunRow): WorkflowRun {
  return {
    id: row.id,
    workflow_id: row.workflow_id,
    workflow_revision: row.workflow_revision,
    trigger: row.trigger,
    status: row.status,
    job_id: row.job_id,
    scheduled_for: toIsoOrNull(row.scheduled_for),
    started_at: toIsoOrNull(row.started_at),
    ended_at: toIsoOrNull(row.ended_at),
    steps: row.steps,
    actions: row.actions,
    error: row.error,
    created_at: toIso(row.created_at),
  }
}

/** Previews and action tests are no run: templates see `run.id` as null. */
const sampleRun = (): TemplateScope['run'] => ({ id: null, started_at: new Date().toISOString() })

/** A run, preview or action test stops at the workflow's time limit, or earlier when `signal` says so. */
function limitsFor(workflow: WorkflowRow, signal: AbortSignal | undefined): RunLimits {
  const ms = workflow.timeout_seconds * 1000
  const timeout = AbortSignal.timeout(ms)
  return { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, timeout, deadline: Date.now() + ms }
}
