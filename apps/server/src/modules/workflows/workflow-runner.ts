import type {
  SqlResult,
  WorkflowActionResult,
  WorkflowRunStatus,
  WorkflowStep,
  WorkflowStepResult,
} from '@tributary/contract'

import type { RequestContext } from '../../auth/principal.js'
import { ExpressionError, isTruthy } from '../../lib/expressions/expressions.js'
import { isAppError } from '../../lib/errors.js'
import type { OutboundClient } from '../../lib/outbound/guarded-fetch.js'
import type { WorkflowRow } from '../../metadata/workflows-schema.js'
import type { CredentialsService } from '../credentials/credentials.service.js'
import type { SavedQueriesService } from '../saved-queries/saved-queries.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { deliverEmail, deliverWebhook, renderEmail, renderWebhook } from './workflow-actions.js'
import { compileCondition, type StepData, type TemplateScope } from './workflow-definition.js'

/** Rows of a step that conditions and templates see (and a CSV attachment holds). */
const KEPT_ROWS = 1_000
/** Rows of a step kept in the run record. */
const STORED_ROWS = 100

export interface RunnerDependencies {
  sql: SqlService
  savedQueries: SavedQueriesService
  credentials: CredentialsService
  outbound: OutboundClient
  smtp: { url: string | undefined; from: string }
  outboundTimeoutMs: number
  retryDelayMs: number
  /** What templates see as `now` (the platform's clock, fixed by tests). */
  now: () => Date
}

export interface StepsOutcome {
  /** `succeeded` here means the actions may run. */
  status: Extract<WorkflowRunStatus, 'succeeded' | 'condition_not_met' | 'failed' | 'timed_out'>
  steps: WorkflowStepResult[]
  scope: TemplateScope
  error: { code: string; message: string } | null
}

export interface RunLimits {
  /** Aborted when the run must stop (cancel, shutdown, or its time limit). */
  signal: AbortSignal
  /** The run's own time limit: when this one fired, the run `timed_out`. */
  timeout: AbortSignal
  deadline: number
}

/**
 * Runs a workflow's steps and conditions for one run, a preview or an action test. `sample` (action
 * tests) runs every step whatever the conditions say, and a failed step gives no rows instead of
 * stopping: the action is then sent with what could be had.
 */
export class WorkflowRunner {
  constructor(private readonly deps: RunnerDependencies) {}

  async steps(
    ctx: RequestContext,
    workflow: WorkflowRow,
    run: TemplateScope['run'],
    limits: RunLimits,
    mode: 'run' | 'sample' = 'run',
  ): Promise<StepsOutcome> {
    const scope: TemplateScope = {
      steps: {},
      workflow: { id: workflow.id, name: workflow.name },
      run,
      now: this.deps.now().toISOString(),
    }
    const results: WorkflowStepResult[] = []
    const end = (status: StepsOutcome['status'], error: StepsOutcome['error'] = null): StepsOutcome => ({
      status,
      steps: results,
      scope,
      error,
    })
    for (const [index, step] of workflow.steps.entries()) {
      const started = performance.now()
      const elapsed = () => Math.round((performance.now() - started) * 100) / 100
      let data: StepData
      let truncated = false
      try {
        const result = await this.#query(ctx, workflow.project_id, step, limits)
        data = toStepData(result)
        truncated = result.truncated
      } catch (error) {
        if (limits.timeout.aborted) {
          results.push(failedStep(step, elapsed(), { code: 'timed_out', message: 'the run went over its time limit' }))
          return end('timed_out', {
            code: 'timed_out',
            message: `the run went over its time limit at step ${step.name}`,
          })
        }
        if (limits.signal.aborted) throw error
        const reason = reasonOf(error)
        results.push(failedStep(step, elapsed(), reason))
        if (mode === 'sample') {
          scope.steps[step.name] = { rows: [], columns: [], row_count: 0 }
          continue
        }
        return end('failed', { code: reason.code, message: `step ${index} (${step.name}): ${reason.message}` })
      }
      scope.steps[step.name] = data
      const kept: WorkflowStepResult = {
        name: step.name,
        row_count: data.row_count,
        truncated,
        duration_ms: elapsed(),
        columns: data.columns,
        rows: data.rows.slice(0, STORED_ROWS),
        error: null,
      }
      results.push(kept)
      if (mode === 'sample') continue
      if (step.stop_if_empty && data.row_count === 0) return end('condition_not_met')
      if (step.condition) {
        let value: unknown
        try {
          value = compileCondition(step.condition).evaluate(scope)
        } catch (error) {
          if (!(error instanceof ExpressionError)) throw error
          kept.error = { code: 'condition_error', message: error.message }
          return end('failed', { code: 'condition_error', message: `steps.${index}.condition: ${error.message}` })
        }
        kept.condition_value = value ?? null
        if (!isTruthy(value)) return end('condition_not_met')
      }
    }
    return end('succeeded')
  }

  /** Runs every action in order; one that fails does not stop the next. */
  async actions(
    ctx: RequestContext,
    workflow: WorkflowRow,
    signingSecret: string,
    scope: TemplateScope,
    signal: AbortSignal,
    only?: number,
  ): Promise<WorkflowActionResult[]> {
    const results: WorkflowActionResult[] = []
    for (const [index, action] of workflow.actions.entries()) {
      if (only !== undefined && index !== only) continue
      try {
        if (action.type === 'webhook') {
          const request = renderWebhook(action, scope)
          const credentials = action.credential_id
            ? await this.deps.credentials.headersFor(
                ctx,
                workflow.project_id,
                action.credential_id,
                action.url,
                `actions.${index}.credential_id`,
              )
            : undefined
          results.push(
            await deliverWebhook(index, request, action.retries, {
              client: this.deps.outbound,
              signingSecret,
              credentials,
              timeoutMs: this.deps.outboundTimeoutMs,
              retryDelayMs: this.deps.retryDelayMs,
              signal,
            }),
          )
        } else {
          const email = renderEmail(action, scope, this.deps.smtp.from)
          results.push(
            await deliverEmail(index, email, { url: this.deps.smtp.url, timeoutMs: this.deps.outboundTimeoutMs }),
          )
        }
      } catch (error) {
        if (signal.aborted) {
          // The run is being stopped: what was done so far is still the run's record.
          results.push({ index, type: action.type, status: 'failed', error: 'the run was stopped', attempts: [] })
          break
        }
        // A template that cannot render with this run's data, or a credential gone since saving.
        results.push({ index, type: action.type, status: 'failed', error: reasonOf(error).message, attempts: [] })
      }
    }
    return results
  }

  async #query(ctx: RequestContext, projectId: string, step: WorkflowStep, limits: RunLimits): Promise<SqlResult> {
    const timeout_ms = Math.max(1, Math.min(600_000, limits.deadline - Date.now()))
    if (step.query_id) {
      const resolved = await this.deps.savedQueries.resolveRun(ctx, projectId, step.query_id, step.parameters ?? {})
      return this.deps.sql.run(ctx, projectId, { sql: resolved.sql, limit: KEPT_ROWS, timeout_ms }, limits.signal, {
        parameters: resolved.parameters,
      })
    }
    const sql = step.sql ?? step.resolved_sql
    if (!sql) throw new Error(`step ${step.name} has no SQL`)
    return this.deps.sql.run(ctx, projectId, { sql, limit: KEPT_ROWS, timeout_ms }, limits.signal)
  }
}

/** Rows as objects by column name: what `steps.x.rows[0].total` reads. */
function toStepData(result: SqlResult): StepData {
  const columns = result.columns.map((column) => column.name)
  const rows = result.rows.map((values) => Object.fromEntries(columns.map((name, i) => [name, values[i]])))
  return { rows, columns, row_count: rows.length }
}

function failedStep(
  step: WorkflowStep,
  duration: number,
  error: { code: string; message: string },
): WorkflowStepResult {
  return { name: step.name, row_count: null, truncated: false, duration_ms: duration, columns: [], rows: [], error }
}

export function reasonOf(error: unknown): { code: string; message: string } {
  if (isAppError(error)) return { code: error.code, message: error.message }
  if (error instanceof ExpressionError) return { code: 'expression_error', message: error.message }
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error) }
}
