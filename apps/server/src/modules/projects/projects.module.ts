import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { workspacesModule } from '../workspaces/workspaces.module.js'
import { projectRoutes } from './projects.routes.js'
import { ProjectsService } from './projects.service.js'

export const projectsModule = defineModule({
  name: 'projects',
  dependsOn: [workspacesModule, auditModule],
  create: ({ db, authenticator }, { workspaces, audit }) => {
    const service = new ProjectsService(db, authenticator, workspaces, audit)
    return { service, routes: projectRoutes(service) }
  },
})
