import { createRoute, z } from '@hono/zod-openapi'
import { AuditEntry, Id, ListQuery, listOf } from '@tributary/contract'

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
  action: z.string().max(100).optional(),
  resource_type: z.string().max(100).optional(),
  resource_id: z.string().max(100).optional(),
  actor_id: z.string().max(100).optional(),
  organization_id: Id.optional().meta({ description: 'Platform key only: one organization’s entries' }),
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
