import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { usersModule } from '../users/users.module.js'
import { workspacesModule } from '../workspaces/workspaces.module.js'
import { organizationRoutes } from './organizations.routes.js'
import { OrganizationsService } from './organizations.service.js'

export const organizationsModule = defineModule({
  name: 'organizations',
  dependsOn: [workspacesModule, usersModule, auditModule],
  create: ({ db, authenticator }, dependencies) => {
    const service = new OrganizationsService(db, authenticator, dependencies)
    return { service, routes: organizationRoutes(service) }
  },
})
