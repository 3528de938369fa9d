import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { authRoutes, userRoutes } from './users.routes.js'
import { UsersService } from './users.service.js'

export const usersModule = defineModule({
  name: 'users',
  dependsOn: [auditModule],
  create: ({ db, sessions, authenticator, config }, { audit }) => {
    const service = new UsersService(db, sessions, authenticator, audit, { inviteTtlHours: config.inviteTtlHours })
    return { service, routes: userRoutes(service), publicRoutes: authRoutes(service) }
  },
})
