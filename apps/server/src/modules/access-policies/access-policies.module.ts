import { auditModule } from '../audit/audit.module.js'
import { catalogsModule } from '../catalogs/catalogs.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { accessPoliciesRoutes } from './access-policies.routes.js'
import { AccessPoliciesService } from './access-policies.service.js'

/** Column masks, row filters and column tags: every query of a project obeys them (the engine applies them). */
export const accessPoliciesModule = defineModule({
  name: 'accessPolicies',
  dependsOn: [projectsModule, auditModule, sqlModule, catalogsModule],
  create: ({ db }, { projects, audit, sql, catalogs }) => {
    const service = new AccessPoliciesService(db, { projects, audit, sql, catalogs })
    sql.useAccessPolicies(service)
    return { service, routes: accessPoliciesRoutes(service) }
  },
})
