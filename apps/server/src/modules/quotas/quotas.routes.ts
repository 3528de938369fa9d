import { createRoute } from '@hono/zod-openapi'
import { QueryCostListQuery, QueryCostPage, QueryQuota, UpdateQueryQuota } from '@tributary/contract'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
} from '../../http/router.js'
import type { QuotasService } from './quotas.service.js'

const tags = ['Query quota']

const ADMINS =
  'Organization admins only (users with role `admin`, organization keys with the `admin` scope); others get 403.'
const PRICING =
  'A query job costs bytes_scanned / 10^12 × `TRIBUTARY_PRICE_PER_TB_SCANNED` + cpu_seconds × ' +
  '`TRIBUTARY_PRICE_PER_CPU_SECOND` (both 0 unless the operator sets them); bytes are estimated from the rows and ' +
  'column types read from each source. Days and months are UTC; a job counts when it ends.'

export function quotasRoutes(quotas: QuotasService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/query-quota',
        tags,
        summary: 'Get the organization’s query quota and what is used of it',
        description: `${ADMINS} ${PRICING}`,
        security: bearerSecurity,
        responses: { 200: jsonResponse(QueryQuota, 'The quota'), ...errorResponses(...AUTHENTICATED_ERRORS) },
      }),
      async (c) => c.json(await quotas.get(contextOf(c)), 200),
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/query-quota',
        tags,
        summary: 'Set the organization’s daily and monthly query cost limits',
        description:
          `${ADMINS} Limits are in the currency of the prices; null is unlimited, 0 stops every query. Once a ` +
          'limit is reached, new queries (SQL runs, query jobs, saved-query runs) are refused with ' +
          '`429 quota_exceeded` until the next UTC day or month; jobs already queued still run. Audited.',
        security: bearerSecurity,
        request: { body: jsonBody(UpdateQueryQuota) },
        responses: { 200: jsonResponse(QueryQuota, 'The quota'), ...errorResponses(...WRITE_ERRORS) },
      }),
      async (c) => c.json(await quotas.update(contextOf(c), c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/query-costs',
        tags,
        summary: 'List what past query jobs cost',
        description: `${ADMINS} Ended query jobs of every project, newest first. ${PRICING}`,
        security: bearerSecurity,
        request: { query: QueryCostListQuery },
        responses: { 200: jsonResponse(QueryCostPage, 'A page of costs'), ...errorResponses(...AUTHENTICATED_ERRORS) },
      }),
      async (c) => c.json(await quotas.costs(contextOf(c), c.req.valid('query')), 200),
    )
}
