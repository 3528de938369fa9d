import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { savedQueryRoutes } from './saved-queries.routes.js'
import { SavedQueriesService } from './saved-queries.service.js'
import { savedQueryTools } from './saved-queries.tools.js'

export const savedQueriesModule = defineModule({
  name: 'savedQueries',
  dependsOn: [projectsModule, auditModule],
  create: ({ db }, { projects, audit }) => {
    const service = new SavedQueriesService(db, projects, audit)
    return { service, routes: savedQueryRoutes(service), tools: savedQueryTools(service) }
  },
})
