import { defineModule } from '../module.js'
import { auditRoutes } from './audit.routes.js'
import { AuditService } from './audit.service.js'

export const auditModule = defineModule({
  name: 'audit',
  dependsOn: [],
  create: ({ db }) => {
    const service = new AuditService(db)
    return { service, routes: auditRoutes(service) }
  },
})
