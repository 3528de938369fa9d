import { aiModule } from '../ai/ai.module.js'
import { auditModule } from '../audit/audit.module.js'
import { goldenSqlModule } from '../golden-sql/golden-sql.module.js'
import { metadataModule } from '../metadata/metadata.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { sqlModule } from '../sql/sql.module.js'
import { AskAssist } from './ask-assist.js'
import { askRoutes } from './ask.routes.js'
import { AskService } from './ask.service.js'
import { askTools } from './ask.tools.js'

export const askModule = defineModule({
  name: 'ask',
  dependsOn: [projectsModule, auditModule, sqlModule, metadataModule, goldenSqlModule, aiModule],
  create: ({ db, logger, now }, { projects, audit, sql, metadata, goldenSql, ai }) => {
    const deps = { projects, sql, metadata: metadata.metadata, goldenSql, models: ai, now }
    const ask = new AskService(db, { ...deps, audit, search: metadata.search })
    const assist = new AskAssist(deps)
    return {
      service: { ask, assist },
      routes: askRoutes(ask, assist, logger.child({ module: 'ask' })),
      tools: askTools(ask),
    }
  },
})
