import { createRouter } from '../../http/router.js'
import { aiModule } from '../ai/ai.module.js'
import { auditModule } from '../audit/audit.module.js'
import { catalogsModule } from '../catalogs/catalogs.module.js'
import { connectionsModule } from '../connections/connections.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { categoricalRoutes } from './categorical.routes.js'
import { CATEGORICAL_TASK, CategoricalService } from './categorical.service.js'
import { MetadataRefresh } from './metadata-refresh.js'
import { MetadataSearch } from './metadata-search.js'
import { metadataRoutes } from './metadata.routes.js'
import { MetadataService } from './metadata.service.js'
import { metadataTools } from './metadata.tools.js'
import { relationRoutes } from './relations.routes.js'
import { RelationsService } from './relations.service.js'

export const metadataModule = defineModule({
  name: 'metadata',
  dependsOn: [projectsModule, auditModule, connectionsModule, catalogsModule, sqlModule, aiModule],
  create: ({ db, jobs, scheduler, logger, callbackKey }, { projects, audit, connections, catalogs, sql, ai }) => {
    const log = logger.child({ module: 'metadata' })
    const metadata = new MetadataService(db, { projects, catalogs, connections, audit, sql })
    const refresh = new MetadataRefresh(
      db,
      jobs,
      { projects, sql, connections, metadata },
      { callbackKey, logger: log },
    )
    // The organization's embedding model, when it has one, adds vector similarity to the words.
    const search = new MetadataSearch(
      db,
      projects,
      metadata,
      (tenant, projectId) => ai.embedder(tenant, { projectId, feature: 'search' }),
      log,
      sql,
    )
    const relations = new RelationsService(db, { projects, catalogs, sql, audit }, log)
    const categorical = new CategoricalService(db, { projects, sql, audit, metadata, scheduler })
    // After a refresh wrote the tables: foreign keys become relations, then cross-source proposals.
    refresh.onRefreshed(async ({ tenant, projectId, catalogs: refreshed, signal }) => {
      let count = 0
      for (const catalog of refreshed) {
        if (catalog.keys) count += await relations.detect(tenant, projectId, catalog.name, catalog.keys)
      }
      const inferred = await relations.infer(
        tenant,
        projectId,
        refreshed.map((catalog) => catalog.name),
        signal,
      )
      return { relations: count + inferred.proposed }
    })
    // Relation and categorical paths are registered first: `…/metadata/relations/{id}` must not be
    // read as `…/metadata/{catalog}/{schema}`.
    const routes = createRouter()
      .route('/', relationRoutes(relations))
      .route('/', categoricalRoutes(categorical))
      .route('/', metadataRoutes(metadata, refresh, search))
    return {
      service: { metadata, refresh, search, relations, categorical },
      routes,
      jobs: [refresh.jobHandler, categorical.jobHandler],
      scheduledTasks: [CATEGORICAL_TASK],
      tools: metadataTools(metadata, search),
    }
  },
})
