import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { savedQueriesModule } from '../saved-queries/saved-queries.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { materializedQueryRoutes } from './materialized-queries.routes.js'
import { MATERIALIZE_TASK, MaterializedQueriesService } from './materialized-queries.service.js'

/** Saved queries whose result is stored and computed again on a schedule, read as `queries.materialized.<name>`. */
export const materializedQueriesModule = defineModule({
  name: 'materializedQueries',
  dependsOn: [projectsModule, savedQueriesModule, sqlModule],
  create: ({ db, jobs, scheduler, snapshotStore, logger }, { projects, savedQueries, sql }) => {
    const log = logger.child({ module: 'materialized-queries' })
    const service = new MaterializedQueriesService(
      db,
      { projects, savedQueries, sql, jobs, scheduler, snapshots: snapshotStore },
      log,
    )
    return {
      service,
      routes: materializedQueryRoutes(service),
      jobs: [service.jobHandler],
      scheduledTasks: [{ name: MATERIALIZE_TASK, jobKind: MATERIALIZE_TASK }],
    }
  },
})
