import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { QUERY_JOB_KIND } from '../query-jobs/query-jobs.service.js'
import { queryJobsModule } from '../query-jobs/query-jobs.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { quotasRoutes } from './quotas.routes.js'
import { QuotasService } from './quotas.service.js'

/** Query cost quotas: each query job's cost is recorded, and every query door asks before it starts one. */
export const quotasModule = defineModule({
  name: 'quotas',
  dependsOn: [auditModule, sqlModule, queryJobsModule],
  create: ({ db, now }, { audit, sql, queryJobs }) => {
    const service = new QuotasService(db, { audit, now, queryJobKind: QUERY_JOB_KIND })
    sql.useAdmission(service)
    queryJobs.useCostLedger(service)
    return { service, routes: quotasRoutes(service) }
  },
})
