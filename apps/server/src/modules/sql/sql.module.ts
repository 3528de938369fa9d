import { catalogsModule } from '../catalogs/catalogs.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { sqlRoutes } from './sql.routes.js'
import { SqlService } from './sql.service.js'
import { sqlTools } from './sql.tools.js'

export const sqlModule = defineModule({
  name: 'sql',
  dependsOn: [projectsModule, catalogsModule],
  create: ({ engine, connectorContext, sourceSessions }, { projects, catalogs }) => {
    const service = new SqlService(catalogs, engine, connectorContext, sourceSessions, projects)
    return { service, routes: sqlRoutes(service), tools: sqlTools(service) }
  },
})
