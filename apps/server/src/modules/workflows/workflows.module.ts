import { askModule } from '../ask/ask.module.js'
import { auditModule } from '../audit/audit.module.js'
import { credentialsModule } from '../credentials/credentials.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { savedQueriesModule } from '../saved-queries/saved-queries.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { WorkflowRunner } from './workflow-runner.js'
import { workflowsRoutes } from './workflows.routes.js'
import { WORKFLOW_RUN_JOB, WorkflowsService } from './workflows.service.js'
import { workflowTools } from './workflows.tools.js'

/** Workflows: queries, conditions over their results, and actions (signed webhooks, e-mails), run on demand or on schedules. */
export const workflowsModule = defineModule({
  name: 'workflows',
  dependsOn: [projectsModule, auditModule, sqlModule, savedQueriesModule, askModule, credentialsModule],
  create: (platform, { projects, audit, sql, savedQueries, ask, credentials }) => {
    const { config } = platform
    const runner = new WorkflowRunner({
      sql,
      savedQueries,
      credentials,
      outbound: platform.outbound,
      smtp: config.smtp,
      outboundTimeoutMs: config.outboundTimeoutMs,
      retryDelayMs: config.jobRetryDelayMs,
      now: platform.now,
    })
    const service = new WorkflowsService(platform.db, {
      projects,
      audit,
      ask: ask.ask,
      savedQueries,
      sql,
      credentials,
      jobs: platform.jobs,
      scheduler: platform.scheduler,
      events: platform.events,
      secrets: platform.outboundSecrets,
      runner,
      policy: platform.outbound.policy,
      smtp: config.smtp,
    })
    return {
      service,
      routes: workflowsRoutes(service),
      tools: workflowTools(service),
      jobs: [service.jobHandler],
      scheduledTasks: [{ name: WORKFLOW_RUN_JOB, jobKind: WORKFLOW_RUN_JOB }],
    }
  },
})
