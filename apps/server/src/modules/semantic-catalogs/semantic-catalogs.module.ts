import type { TenantContext } from '../../auth/principal.js'
import { auditModule } from '../audit/audit.module.js'
import { catalogsModule } from '../catalogs/catalogs.module.js'
import { connectionsModule } from '../connections/connections.module.js'
import { materializedQueriesModule } from '../materialized-queries/materialized-queries.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { savedQueriesModule } from '../saved-queries/saved-queries.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { QueriesCatalog } from './queries-catalog.js'
import { semanticCatalogRoutes } from './semantic-catalogs.routes.js'
import { SemanticCatalogsService } from './semantic-catalogs.service.js'

/** Semantic catalogs, and the `queries` catalog of saved queries by name: catalogs whose tables are queries. */
export const semanticCatalogsModule = defineModule({
  name: 'semanticCatalogs',
  dependsOn: [
    projectsModule,
    auditModule,
    connectionsModule,
    catalogsModule,
    sqlModule,
    savedQueriesModule,
    materializedQueriesModule,
  ],
  create: ({ db }, { projects, audit, connections, catalogs, sql, savedQueries, materializedQueries }) => {
    const service = new SemanticCatalogsService(db, projects, catalogs, sql, savedQueries, audit)
    const policed = async (checked: TenantContext, projectId: string) =>
      (await sql.accessKey(checked, projectId)) !== ''
    catalogs.contribute(new QueriesCatalog(savedQueries, materializedQueries, policed))
    catalogs.contribute(service)
    connections.reserveCatalogNames((checked, projectId, name) => service.isTaken(checked, projectId, name))
    savedQueries.beforeArchive((checked, projectId, id) => service.checkQueryUnused(checked, projectId, id))
    return { service, routes: semanticCatalogRoutes(service) }
  },
})
