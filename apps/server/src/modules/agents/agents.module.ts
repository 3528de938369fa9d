import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { AgentGateway } from './agent-gateway.js'
import { AgentProtocols } from './agent-protocols.js'
import { agentsRoutes } from './agents.routes.js'
import { AgentsService } from './agents.service.js'

export const agentsModule = defineModule({
  name: 'agents',
  dependsOn: [projectsModule, auditModule],
  create: ({ db, config, logger, agentSecrets, outbound, now }, { projects, audit }) => {
    const protocols = new AgentProtocols(outbound)
    const service = new AgentsService(db, projects, audit, agentSecrets, outbound.policy, protocols, {
      publicUrl: config.publicUrl,
      timeoutMs: config.agents.timeoutMs,
    })
    const gateway = new AgentGateway(db, service, projects, audit, protocols, {
      ...config.agents,
      logger: logger.child({ component: 'agent-gateway' }),
      now: () => now().getTime(),
    })
    return {
      service,
      routes: agentsRoutes(service, gateway, logger.child({ component: 'agents' })),
      // On close: the audit entries of the last calls are written.
      background: [{ name: 'agent gateway', start: () => undefined, stop: () => gateway.flush() }],
    }
  },
})
