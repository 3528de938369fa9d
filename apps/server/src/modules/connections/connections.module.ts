import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { connectionRoutes } from './connections.routes.js'
import { ConnectionsService } from './connections.service.js'

export const connectionsModule = defineModule({
  name: 'connections',
  dependsOn: [projectsModule, auditModule],
  create: ({ db, connectors, connectionSecrets, connectorContext }, { projects, audit }) => {
    const service = new ConnectionsService(db, {
      connectors,
      secrets: connectionSecrets,
      context: connectorContext,
      projects,
      audit,
    })
    return { service, routes: connectionRoutes(service) }
  },
})
