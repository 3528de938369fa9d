import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { savedQueriesModule } from '../saved-queries/saved-queries.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { queryJobRoutes } from './query-jobs.routes.js'
import { QueryJobsService } from './query-jobs.service.js'
import { queryJobTools } from './query-jobs.tools.js'

export const queryJobsModule = defineModule({
  name: 'queryJobs',
  dependsOn: [projectsModule, sqlModule, savedQueriesModule],
  create: ({ config, db, jobs, platformDuckDB, fileDirs }, { projects, sql, savedQueries }) => {
    const service = new QueryJobsService(
      db,
      jobs,
      sql,
      platformDuckDB,
      { projects, savedQueries },
      {
        resultsDir: fileDirs.results,
        prices: config.queryPrices,
      },
    )
    return { service, routes: queryJobRoutes(service), jobs: [service.jobHandler], tools: queryJobTools(service) }
  },
})
