import { Id, Workflow, WorkflowRun } from '@tributary/contract'
import { z } from 'zod'

import { defineTool, PageInput } from '../../mcp/tool.js'
import type { WorkflowsService } from './workflows.service.js'

const WorkflowId = Id.meta({ description: 'A workflow from `list_workflows`' })

export function workflowTools(workflows: WorkflowsService) {
  return [
    defineTool({
      name: 'list_workflows',
      title: 'List workflows',
      description:
        'The project’s workflows with their definitions: steps (SQL, saved queries or questions), conditions, ' +
        'actions (webhooks, e-mails), trigger (manual or a schedule, with `next_run_at`) and whether they are ' +
        'active. Use it to find a workflow before reading its runs or running it.',
      input: z.strictObject(PageInput),
      output: z.object({ workflows: z.array(Workflow), next_cursor: z.string().nullable() }),
      needs: { use: 'workflows' },
      run: async ({ ctx, projectId }, query) => {
        const page = await workflows.list(ctx, projectId, query)
        return { workflows: page.data, next_cursor: page.next_cursor }
      },
    }),
    defineTool({
      name: 'list_workflow_runs',
      title: 'List a workflow’s runs',
      description:
        'A workflow’s runs, newest first, each with its status (pending, running, succeeded, partial_success, ' +
        'condition_not_met, failed, timed_out), trigger, timings, step results and action attempts. Use it to see ' +
        'whether and when a workflow last ran and what happened.',
      input: z.strictObject({ workflow_id: WorkflowId, ...PageInput }),
      output: z.object({ runs: z.array(WorkflowRun), next_cursor: z.string().nullable() }),
      needs: { use: 'workflows' },
      run: async ({ ctx, projectId }, { workflow_id, ...query }) => {
        const page = await workflows.runs(ctx, projectId, workflow_id, query)
        return { runs: page.data, next_cursor: page.next_cursor }
      },
    }),
    defineTool({
      name: 'get_workflow_run',
      title: 'Get a workflow run',
      description:
        'One run of a workflow: its status, each step’s rows (the first 100), timing and condition outcome, each ' +
        'action’s attempts, and the error when it failed. Use it to follow a run started with `run_workflow` ' +
        'until its status is no longer `pending` or `running`.',
      input: z.strictObject({ workflow_id: WorkflowId, run_id: Id }),
      output: WorkflowRun,
      needs: { use: 'workflows' },
      run: ({ ctx, projectId }, { workflow_id, run_id }) => workflows.getRun(ctx, projectId, workflow_id, run_id),
    }),
    defineTool({
      name: 'run_workflow',
      title: 'Run a workflow',
      description:
        'Starts a run of a workflow now, in the background, and returns it `pending`: its steps run as you and, ' +
        'when its conditions hold, its actions really send their webhooks and e-mails. Only run a workflow when ' +
        'asked to; follow the run with `get_workflow_run`. An inactive workflow runs too (inactive only pauses ' +
        'its schedule).',
      input: z.strictObject({ workflow_id: WorkflowId }),
      output: WorkflowRun,
      needs: { write: 'workflows' },
      reachesOutside: true,
      run: ({ ctx, projectId }, { workflow_id }) => workflows.run(ctx, projectId, workflow_id),
    }),
  ]
}
