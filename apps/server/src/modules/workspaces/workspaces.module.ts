import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { workspaceRoutes } from './workspaces.routes.js'
import { WorkspacesService } from './workspaces.service.js'

export const workspacesModule = defineModule({
  name: 'workspaces',
  dependsOn: [auditModule],
  create: ({ db }, { audit }) => {
    const service = new WorkspacesService(db, audit)
    return { service, routes: workspaceRoutes(service) }
  },
})
