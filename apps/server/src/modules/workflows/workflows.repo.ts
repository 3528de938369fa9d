import type {
  WorkflowAction,
  WorkflowActionResult,
  WorkflowStep,
  WorkflowStepResult,
  WorkflowTrigger,
} from '@tributary/contract'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { WorkflowRow, WorkflowRunRow, WorkflowRunsTable } from '../../metadata/workflows-schema.js'

/** A workflow's definition as stored: what create writes and an update replaces. */
export interface WorkflowDefinition {
  name: string
  description: string | null
  trigger: WorkflowTrigger
  steps: WorkflowStep[]
  actions: WorkflowAction[]
  is_active: boolean
  timeout_seconds: number
}

export interface NewWorkflow extends WorkflowDefinition {
  organization_id: string
  project_id: string
  signing_secret: string
}

export interface RunEnd {
  status: WorkflowRunsTable['status']
  steps: WorkflowStepResult[]
  actions: WorkflowActionResult[]
  error: { code: string; message: string } | null
}

const definitionColumns = (definition: WorkflowDefinition) => ({
  name: definition.name,
  description: definition.description,
  trigger: JSON.stringify(definition.trigger),
  steps: JSON.stringify(definition.steps),
  actions: JSON.stringify(definition.actions),
  is_active: definition.is_active,
  timeout_seconds: definition.timeout_seconds,
})

export class WorkflowsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewWorkflow): Promise<WorkflowRow> {
    return this.db
      .insertInto('workflows')
      .values({
        id: newId(),
        organization_id: values.organization_id,
        project_id: values.project_id,
        signing_secret: values.signing_secret,
        ...definitionColumns(values),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async find(organizationId: string, projectId: string, id: string): Promise<WorkflowRow | undefined> {
    return this.#live(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** For a job: the live workflow by id alone (the job's tenant was checked when it was queued). */
  async findById(id: string): Promise<WorkflowRow | undefined> {
    return this.db
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
  }

  async list(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    let query = this.#live(organizationId, projectId).selectAll()
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  /** Replaces the definition when `revision` is still the current one; undefined otherwise. */
  async update(id: string, revision: number, definition: WorkflowDefinition): Promise<WorkflowRow | undefined> {
    return this.db
      .updateTable('workflows')
      .set({ ...definitionColumns(definition), revision: revision + 1, updated_at: new Date() })
      .where('id', '=', id)
      .where('revision', '=', revision)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  async archive(id: string): Promise<boolean> {
    const row = await this.db
      .updateTable('workflows')
      .set({ archived_at: new Date(), updated_at: new Date() })
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returning('id')
      .executeTakeFirst()
    return row !== undefined
  }

  async insertRun(values: {
    id?: string
    workflow: WorkflowRow
    trigger: WorkflowRunsTable['trigger']
    status: 'pending' | 'running'
    job_id: string | null
    scheduled_for: string | null
  }): Promise<WorkflowRunRow> {
    const { workflow } = values
    return this.db
      .insertInto('workflow_runs')
      .values({
        id: values.id ?? newId(),
        workflow_id: workflow.id,
        organization_id: workflow.organization_id,
        project_id: workflow.project_id,
        workflow_revision: workflow.revision,
        trigger: values.trigger,
        status: values.status,
        job_id: values.job_id,
        scheduled_for: values.scheduled_for,
        started_at: values.status === 'running' ? new Date() : null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findRun(workflowId: string, runId: string): Promise<WorkflowRunRow | undefined> {
    return this.db
      .selectFrom('workflow_runs')
      .selectAll()
      .where('workflow_id', '=', workflowId)
      .where('id', '=', runId)
      .executeTakeFirst()
  }

  async findRunById(runId: string): Promise<WorkflowRunRow | undefined> {
    return this.db.selectFrom('workflow_runs').selectAll().where('id', '=', runId).executeTakeFirst()
  }

  async findRunByJob(jobId: string): Promise<WorkflowRunRow | undefined> {
    return this.db.selectFrom('workflow_runs').selectAll().where('job_id', '=', jobId).executeTakeFirst()
  }

  /** Newest first; `before` is the last id of the previous page. */
  async runs(workflowId: string, before: string | undefined, limit: number): Promise<WorkflowRunRow[]> {
    let query = this.db.selectFrom('workflow_runs').selectAll().where('workflow_id', '=', workflowId)
    if (before) query = query.where('id', '<', before)
    return query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute()
  }

  /** Marks a run started (again, after an interrupted attempt); false when it has already ended. */
  async start(runId: string, jobId: string): Promise<boolean> {
    const row = await this.db
      .updateTable('workflow_runs')
      .set({ status: 'running', started_at: new Date(), job_id: jobId })
      .where('id', '=', runId)
      .where('status', 'in', ['pending', 'running'])
      .returning('id')
      .executeTakeFirst()
    return row !== undefined
  }

  async end(runId: string, end: RunEnd): Promise<WorkflowRunRow> {
    return this.db
      .updateTable('workflow_runs')
      .set({
        status: end.status,
        steps: JSON.stringify(end.steps),
        actions: JSON.stringify(end.actions),
        error: end.error ? JSON.stringify(end.error) : null,
        ended_at: new Date(),
      })
      .where('id', '=', runId)
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  #live(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('workflows')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('archived_at', 'is', null)
  }
}
