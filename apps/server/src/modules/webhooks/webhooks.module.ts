import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { webhooksRoutes } from './webhooks.routes.js'
import { WebhooksService } from './webhooks.service.js'

/** Event webhooks: signed POSTs of what happened (jobs ended, workflows acted), retried, with a delivery log. */
export const webhooksModule = defineModule({
  name: 'webhooks',
  dependsOn: [projectsModule, auditModule],
  create: ({ db, config, jobs, events, outbound, outboundSecrets }, { projects, audit }) => {
    const service = new WebhooksService(db, projects, audit, jobs, outbound, outboundSecrets, {
      timeoutMs: config.outboundTimeoutMs,
    })
    events.subscribe(service.enqueueDeliveries)
    return { service, routes: webhooksRoutes(service), jobs: [service.jobHandler] }
  },
})
