import { auditModule } from '../audit/audit.module.js'
import { datasetsModule } from '../datasets/datasets.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { queryJobsModule } from '../query-jobs/query-jobs.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { exportDownloadRoutes, exportRoutes } from './exports.routes.js'
import { ExportsService } from './exports.service.js'

export const exportsModule = defineModule({
  name: 'exports',
  dependsOn: [projectsModule, queryJobsModule, datasetsModule, sqlModule, auditModule],
  create: (
    { db, jobs, platformDuckDB, fileDirs, exportLinkKey, config },
    { projects, queryJobs, datasets, sql, audit },
  ) => {
    const service = new ExportsService(
      db,
      jobs,
      { projects, queryJobs, tables: datasets.tables, sql, audit },
      platformDuckDB,
      {
        exportsDir: fileDirs.exports,
        linkKey: exportLinkKey,
        linkTtlSeconds: config.exportLinkTtlSeconds,
        publicUrl: config.publicUrl,
        duckdb: { memoryLimit: config.queryMemoryLimit, threads: config.queryThreads },
      },
    )
    return {
      service,
      routes: exportRoutes(service),
      // Signed links carry their own authority (a token naming one export and an expiry).
      publicRoutes: exportDownloadRoutes(service),
      jobs: [service.jobHandler],
    }
  },
})
