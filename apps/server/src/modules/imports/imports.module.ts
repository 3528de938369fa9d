import { auditModule } from '../audit/audit.module.js'
import { datasetsModule } from '../datasets/datasets.module.js'
import { defineModule } from '../module.js'
import { sqlModule } from '../sql/sql.module.js'
import { importRoutes } from './imports.routes.js'
import { ImportsService } from './imports.service.js'
import { isUploadRequest } from './upload.js'

export const importsModule = defineModule({
  name: 'imports',
  dependsOn: [datasetsModule, sqlModule, auditModule],
  create: ({ db, jobs, tableStore, platformDuckDB, fileDirs, config }, { datasets, sql, audit }) => {
    const service = new ImportsService(db, jobs, datasets.tables, tableStore, platformDuckDB, sql, audit, {
      uploadsDir: fileDirs.uploads,
      uploadLimitBytes: config.uploadLimitBytes,
    })
    return {
      service,
      routes: importRoutes(service),
      jobs: [service.jobHandler],
      streamsBody: isUploadRequest,
    }
  },
})
