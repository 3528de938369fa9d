import { askModule } from '../ask/ask.module.js'
import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { savedQueriesModule } from '../saved-queries/saved-queries.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { dashboardsRoutes } from './dashboards.routes.js'
import { DashboardsService } from './dashboards.service.js'
import { dashboardTools } from './dashboards.tools.js'
import { DASHBOARD_REFRESH_TASK } from './widgets.js'

/** Dashboards of widgets drawn from saved queries, SQL and questions, cached and refreshed on schedules. */
export const dashboardsModule = defineModule({
  name: 'dashboards',
  dependsOn: [projectsModule, auditModule, sqlModule, savedQueriesModule, askModule],
  create: ({ db, scheduler, logger }, { projects, audit, sql, savedQueries, ask }) => {
    const service = new DashboardsService(
      db,
      { projects, audit, sql, savedQueries, ask: ask.ask, scheduler },
      logger.child({ module: 'dashboards' }),
    )
    return {
      service,
      routes: dashboardsRoutes(service),
      tools: dashboardTools(service),
      jobs: [service.jobHandler],
      scheduledTasks: [{ name: DASHBOARD_REFRESH_TASK, jobKind: DASHBOARD_REFRESH_TASK }],
    }
  },
})
