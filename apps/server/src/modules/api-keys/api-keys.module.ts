import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { organizationsModule } from '../organizations/organizations.module.js'
import { projectsModule } from '../projects/projects.module.js'
import { apiKeyRoutes } from './api-keys.routes.js'
import { ApiKeysService } from './api-keys.service.js'

export const apiKeysModule = defineModule({
  name: 'apiKeys',
  dependsOn: [organizationsModule, projectsModule, auditModule],
  create: ({ db, authenticator }, dependencies) => {
    const service = new ApiKeysService(db, authenticator, dependencies)
    return { service, routes: apiKeyRoutes(service) }
  },
})
