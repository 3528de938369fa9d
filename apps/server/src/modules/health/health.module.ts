import { defineModule } from '../module.js'
import { healthRoutes } from './health.routes.js'

export const healthModule = defineModule({
  name: 'health',
  dependsOn: [],
  create: ({ store }) => ({ service: undefined, publicRoutes: healthRoutes(store) }),
})
