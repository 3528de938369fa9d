import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { credentialsRoutes } from './credentials.routes.js'
import { CredentialsService } from './credentials.service.js'

export const credentialsModule = defineModule({
  name: 'credentials',
  dependsOn: [projectsModule, auditModule],
  create: ({ db, outboundSecrets }, { projects, audit }) => {
    const service = new CredentialsService(db, projects, audit, outboundSecrets)
    return { service, routes: credentialsRoutes(service) }
  },
})
