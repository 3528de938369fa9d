import { connectionsModule } from '../connections/connections.module.js'
import { datasetsModule } from '../datasets/datasets.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { catalogRoutes } from './catalogs.routes.js'
import { CatalogsService } from './catalogs.service.js'
import { catalogTools } from './catalogs.tools.js'

export const catalogsModule = defineModule({
  name: 'catalogs',
  dependsOn: [projectsModule, connectionsModule, datasetsModule],
  create: (_platform, { projects, connections, datasets }) => {
    const service = new CatalogsService(projects, connections, datasets.internal)
    return { service, routes: catalogRoutes(service), tools: catalogTools(service) }
  },
})
