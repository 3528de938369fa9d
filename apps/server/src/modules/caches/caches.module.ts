import { auditModule } from '../audit/audit.module.js'
import { catalogsModule } from '../catalogs/catalogs.module.js'
import { connectionsModule } from '../connections/connections.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { cachesRoutes } from './caches.routes.js'
import { CACHE_REFRESH_TASK, CachesService } from './caches.service.js'

/** Copies of source tables, refreshed on schedules, that queries read in place of the source. */
export const cachesModule = defineModule({
  name: 'caches',
  dependsOn: [projectsModule, auditModule, catalogsModule, connectionsModule, sqlModule],
  create: ({ db, jobs, scheduler, snapshotStore, logger }, { projects, audit, catalogs, connections, sql }) => {
    const service = new CachesService(
      db,
      { projects, catalogs, sql, audit, jobs, scheduler, snapshots: snapshotStore },
      logger.child({ module: 'caches' }),
    )
    sql.useCachedTables(service)
    connections.onArchive(service.connectionArchived)
    return {
      service,
      routes: cachesRoutes(service),
      jobs: [service.jobHandler],
      scheduledTasks: [{ name: CACHE_REFRESH_TASK, jobKind: CACHE_REFRESH_TASK }],
    }
  },
})
