import { createRoute, z } from '@hono/zod-openapi'
import { Id, SqlRequest, SqlResult } from '@tributary/contract'

import {
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
} from '../../http/router.js'
import type { SqlService } from './sql.service.js'

export function sqlRoutes(sql: SqlService) {
  return createRouter().openapi(
    createRoute({
      method: 'post',
      path: '/projects/{project_id}/sql',
      tags: ['SQL'],
      summary: 'Run one read-only SQL query across the project’s catalogs',
      description:
        'DuckDB’s SQL dialect with three-part names `catalog.schema.table`; tables from different sources join ' +
        'freely. Each source is read with only the columns, filters and limit the query needs (see ' +
        '`stats.sources[].remote_sql`). Errors: `query_error` (400, with `details.position` for syntax errors), ' +
        '`query_timeout` (408, the source queries are cancelled too), `connection_error` (502), ' +
        '`quota_exceeded` (429, the organization’s query quota is spent; nothing runs).',
      security: bearerSecurity,
      request: { params: z.object({ project_id: Id }), body: jsonBody(SqlRequest) },
      responses: {
        200: jsonResponse(SqlResult, 'The result'),
        ...errorResponses(...WRITE_ERRORS, 400, 404, 408, 502),
      },
    }),
    async (c) =>
      c.json(await sql.run(contextOf(c), c.req.valid('param').project_id, c.req.valid('json'), c.req.raw.signal), 200),
  )
}
