import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { ColumnTypes } from './column-types.js'
import { datasetRoutes } from './datasets.routes.js'
import { DatasetsService } from './datasets.service.js'
import { InternalCatalogService } from './internal-catalog.service.js'
import { TablesService } from './tables.service.js'

export const datasetsModule = defineModule({
  name: 'datasets',
  dependsOn: [projectsModule, auditModule],
  create: ({ db, tableStore }, { projects, audit }) => {
    const tables = new TablesService(db, tableStore, new ColumnTypes(), projects, audit)
    const datasets = new DatasetsService(db, projects, tables, audit)
    return {
      service: { datasets, tables, internal: new InternalCatalogService(db, tableStore) },
      routes: datasetRoutes(datasets, tables),
    }
  },
})
