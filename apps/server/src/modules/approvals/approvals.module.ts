import { auditModule } from '../audit/audit.module.js'
import { catalogsModule } from '../catalogs/catalogs.module.js'
import { connectionsModule } from '../connections/connections.module.js'
import { datasetsModule } from '../datasets/datasets.module.js'
import { metadataModule } from '../metadata/metadata.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { approvalsRoutes } from './approvals.routes.js'
import { APPROVAL_EXPIRY_TASK, ApprovalsService } from './approvals.service.js'
import { SharedCatalogs } from './shared-catalogs.js'

/**
 * Cross-organization approvals: a project asks another organization for access to one of its
 * datasets (then a read-only catalog of the project) or to be shared with it; that organization's
 * admins decide; pending requests expire through the scheduler.
 */
export const approvalsModule = defineModule({
  name: 'approvals',
  dependsOn: [auditModule, projectsModule, connectionsModule, datasetsModule, catalogsModule, metadataModule],
  create: ({ db, config, scheduler, now, logger }, { audit, projects, connections, datasets, catalogs, metadata }) => {
    const service = new ApprovalsService(db, {
      projects,
      catalogs,
      datasets: datasets.internal,
      audit,
      scheduler,
      now,
      expiryDays: config.approvalExpiryDays,
      accessChanged: (projectId) => metadata.metadata.changed(projectId),
      forgetCatalog: async (trx, organizationId, projectId, catalog) => {
        await metadata.metadata.forgetCatalog(trx, organizationId, projectId, catalog)
        await metadata.categorical.forgetCatalog(trx, organizationId, projectId, catalog)
      },
      logger: logger.child({ module: 'approvals' }),
    })
    catalogs.contribute(new SharedCatalogs(db, datasets.internal, now))
    projects.useGuestAccess((organizationId, projectId) => service.sharedProjectOwner(organizationId, projectId))
    connections.reserveCatalogNames((checked, projectId, name) => service.isCatalogHeld(checked, projectId, name))
    return {
      service,
      routes: approvalsRoutes(service),
      jobs: [service.jobHandler],
      scheduledTasks: [{ name: APPROVAL_EXPIRY_TASK, jobKind: APPROVAL_EXPIRY_TASK }],
    }
  },
})
