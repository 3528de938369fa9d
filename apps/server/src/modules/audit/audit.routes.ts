import { createRoute } from '@hono/zod-openapi'
import { AuditEntry, FilterText, Id, ListQuery, listOf } from '@tributary/contract'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonResponse,
} from '../../http/router.js'
import type { AuditService } from './audit.service.js'

const AuditQuery = ListQuery.extend({
  action: FilterText.optional(),
  resource_type: FilterText.optional(),
  resource_id: FilterText.optional(),
  actor_id: FilterText.optional(),
  organization_id: Id.optional().meta({ description: 'One organization’s entries (the platform key may name any)' }),
})

export function auditRoutes(audit: AuditService) {
  return createRouter().openapi(
    createRoute({
      method: 'get',
      path: '/audit-log',
      tags: ['Audit'],
      summary: 'List audit entries, newest first',
      description: 'Every write, with who did it, what, when and the request id. Organization admins only.',
      security: bearerSecurity,
      request: { query: AuditQuery },
      responses: { 200: jsonResponse(listOf(AuditEntry), 'Audit entries'), ...errorResponses(...AUTHENTICATED_ERRORS) },
    }),
    async (c) => c.json(await audit.list(contextOf(c), c.req.valid('query')), 200),
  )
}
