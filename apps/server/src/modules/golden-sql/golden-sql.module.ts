import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { goldenSqlRoutes } from './golden-sql.routes.js'
import { GoldenSqlService } from './golden-sql.service.js'
import { goldenSqlTools } from './golden-sql.tools.js'

export const goldenSqlModule = defineModule({
  name: 'goldenSql',
  dependsOn: [projectsModule, auditModule, sqlModule],
  create: ({ db }, { projects, audit, sql }) => {
    const service = new GoldenSqlService(db, projects, audit, sql)
    return { service, routes: goldenSqlRoutes(service), tools: goldenSqlTools(service) }
  },
})
