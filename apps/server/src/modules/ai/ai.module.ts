import { auditModule } from '../audit/audit.module.js'
import { defineModule } from '../module.js'
import { projectsModule } from '../projects/projects.module.js'
import { aiRoutes } from './ai.routes.js'
import { AiService } from './ai.service.js'

export const aiModule = defineModule({
  name: 'ai',
  dependsOn: [projectsModule, auditModule],
  create: ({ db, config, aiSecrets, languageModels }, { projects, audit }) => {
    const service = new AiService(db, { config: config.ai, secrets: aiSecrets, languageModels, projects, audit })
    return { service, routes: aiRoutes(service) }
  },
})
