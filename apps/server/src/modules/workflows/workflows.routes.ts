import { createRoute, z } from '@hono/zod-openapi'
import {
  CreatedWorkflow,
  CreateWorkflow,
  Id,
  ListQuery,
  listOf,
  MAX_WORKFLOW_ACTIONS,
  UpdateWorkflow,
  Workflow,
  WorkflowActionResult,
  WorkflowPreview,
  WorkflowRun,
} from '@tributary/contract'

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
import type { WorkflowsService } from './workflows.service.js'

const tags = ['Workflows']
const ProjectParams = z.object({ project_id: Id })
const WorkflowParams = ProjectParams.extend({ workflow_id: Id })
const RunParams = WorkflowParams.extend({ run_id: Id })
const ActionParams = WorkflowParams.extend({
  index: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be at least 0')
    .max(MAX_WORKFLOW_ACTIONS - 1, `must be at most ${MAX_WORKFLOW_ACTIONS - 1}`)
    .meta({ description: 'The action’s position in `actions`, from 0' }),
})

const ACCESS =
  'Reading needs the `workflows` scope (members by role); changing, running and testing need content-write on ' +
  '`workflows` (editors and admins; keys with `workflows`). Steps run with the rights of whoever last saved ' +
  '(scheduled runs) or asked for the run, so they also need `query`.'

const ABOUT =
  'A workflow runs up to 5 steps in order (a saved query with `parameters`, SQL, or a question turned into SQL ' +
  'when saved), checks each step’s `condition` (an expression over its own and earlier steps: ' +
  '`steps.revenue.rows[0].total < 0.8 * steps.average.rows[0].total`) and `stop_if_empty`, then runs up to 10 ' +
  'actions: webhooks (a JSON body template such as `{"rows": "{{steps.revenue.rows}}"}`, signed with the ' +
  'workflow’s secret in `X-Tributary-Signature`, retried with backoff on no answer, 408, 429 or 5xx) and e-mails ' +
  '(text templates, the rows of a step attached as CSV). Templates and conditions see the first 1000 rows of each step.'

export function workflowsRoutes(workflows: WorkflowsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/workflows',
        tags,
        summary: 'Create a workflow',
        description:
          `${ABOUT} A condition that does not parse or names a later step, a template naming a missing step, a ` +
          'webhook URL the address policy refuses: 422 naming the place (`steps.1.condition`, `actions.0.url`). ' +
          `The signing secret is returned once, here. ${ACCESS}`,
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateWorkflow) },
        responses: {
          201: jsonResponse(CreatedWorkflow, 'The workflow, with its signing secret'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await workflows.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/workflows',
        tags,
        summary: 'List a project’s workflows',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(Workflow), 'Workflows'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await workflows.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/workflows/{workflow_id}',
        tags,
        summary: 'Get a workflow',
        security: bearerSecurity,
        request: { params: WorkflowParams },
        responses: { 200: jsonResponse(Workflow, 'The workflow'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, workflow_id } = c.req.valid('param')
        return c.json(await workflows.get(contextOf(c), project_id, workflow_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/projects/{project_id}/workflows/{workflow_id}',
        tags,
        summary: 'Change a workflow',
        description:
          'Carries the `revision` the change is based on: when the workflow has changed since, 409 `conflict` ' +
          '(read it again). Given fields replace the stored ones whole; the definition is checked again as on ' +
          'create. Deactivating it, or making it manual, removes its schedule.',
        security: bearerSecurity,
        request: { params: WorkflowParams, body: jsonBody(UpdateWorkflow) },
        responses: {
          200: jsonResponse(Workflow, 'The workflow at its new revision'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, workflow_id } = c.req.valid('param')
        return c.json(await workflows.update(contextOf(c), project_id, workflow_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/workflows/{workflow_id}',
        tags,
        summary: 'Delete a workflow',
        description: 'Its schedule goes with it; a run already queued ends as `failed` without acting.',
        security: bearerSecurity,
        request: { params: WorkflowParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, workflow_id } = c.req.valid('param')
        await workflows.delete(contextOf(c), project_id, workflow_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/workflows/{workflow_id}/run',
        tags,
        summary: 'Run a workflow now',
        description:
          'Queues a run (a durable job) and returns it `pending`; follow it with `GET …/runs/{run_id}`. It ends ' +
          '`succeeded`, `partial_success` (an action failed), `condition_not_met`, `failed` (a step failed) or ' +
          '`timed_out` (over its `timeout_seconds`, default 300), and publishes `workflow.run.completed`. An inactive workflow runs too: ' +
          '`is_active` only pauses its schedule.',
        security: bearerSecurity,
        request: { params: WorkflowParams },
        responses: {
          202: jsonResponse(WorkflowRun, 'The run, pending'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, workflow_id } = c.req.valid('param')
        return c.json(await workflows.run(contextOf(c), project_id, workflow_id), 202)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/workflows/{workflow_id}/preview',
        tags,
        summary: 'Preview a workflow: run its steps, send nothing',
        description:
          'Runs the steps and conditions now and returns what each action would send: the webhook’s method, URL, ' +
          'headers (credential and signature redacted) and body; the e-mail’s addresses, subject, body and ' +
          'attachment name and size. `problem` says when sending would fail (no SMTP server, a refused address). ' +
          'Actions are shown only when the conditions hold (`status: succeeded`).',
        security: bearerSecurity,
        request: { params: WorkflowParams },
        responses: {
          200: jsonResponse(WorkflowPreview, 'What a run would do'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, workflow_id } = c.req.valid('param')
        return c.json(await workflows.preview(contextOf(c), project_id, workflow_id, c.req.raw.signal), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/workflows/{workflow_id}/actions/{index}/test',
        tags,
        summary: 'Send one action now with sample data',
        description:
          'Runs every step (conditions aside; a failing step gives no rows) and sends the action with their ' +
          'results as a run would: signed, with its retries. A failed send is still a 200: see `status` and `attempts`.',
        security: bearerSecurity,
        request: { params: ActionParams },
        responses: {
          200: jsonResponse(WorkflowActionResult, 'What sending did'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, workflow_id, index } = c.req.valid('param')
        return c.json(await workflows.testAction(contextOf(c), project_id, workflow_id, index, c.req.raw.signal), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/workflows/{workflow_id}/runs',
        tags,
        summary: 'List a workflow’s runs, newest first',
        security: bearerSecurity,
        request: { params: WorkflowParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(WorkflowRun), 'Runs'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, workflow_id } = c.req.valid('param')
        return c.json(await workflows.runs(contextOf(c), project_id, workflow_id, c.req.valid('query')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/workflows/{workflow_id}/runs/{run_id}',
        tags,
        summary: 'Get a run: each step’s rows, timing and condition; each action’s attempts',
        security: bearerSecurity,
        request: { params: RunParams },
        responses: { 200: jsonResponse(WorkflowRun, 'The run'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, workflow_id, run_id } = c.req.valid('param')
        return c.json(await workflows.getRun(contextOf(c), project_id, workflow_id, run_id), 200)
      },
    )
}
