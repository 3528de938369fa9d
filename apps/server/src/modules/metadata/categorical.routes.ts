import { createRoute, z } from '@hono/zod-openapi'
import { CategoricalColumn, Id, SetCategorical } from '@tributary/contract'

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
import type { CategoricalService } from './categorical.service.js'

const tags = ['Metadata']
const PathName = z.string().min(1).max(1000)
const ColumnParams = z.object({
  project_id: Id,
  catalog: PathName,
  schema: PathName,
  table: PathName,
  column: PathName,
})
const path = '/projects/{project_id}/metadata/{catalog}/{schema}/{table}/columns/{column}/categorical'

export function categoricalRoutes(categorical: CategoricalService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'put',
        path,
        tags,
        summary: 'Make a column categorical',
        description:
          'Marks the column categorical and computes its `limit` most frequent values now, with a `GROUP BY` ' +
          'pushed down to the source; they appear in the table’s metadata as `categorical_values` and take part ' +
          'in metadata search. `refresh` recomputes them on a schedule: an ISO-8601 duration (`P1D`, `PT6H`, at ' +
          'least `PT1M`) or a five-field cron expression in UTC (`0 3 * * *`). Computing needs the right to run ' +
          'queries; scheduled runs act as the caller who set the schedule.',
        security: bearerSecurity,
        request: { params: ColumnParams, body: jsonBody(SetCategorical) },
        responses: {
          200: jsonResponse(CategoricalColumn, 'The values computed now and the schedule'),
          ...errorResponses(...WRITE_ERRORS, 400, 404, 408, 502),
        },
      }),
      async (c) => {
        const { project_id, ...key } = c.req.valid('param')
        return c.json(await categorical.set(contextOf(c), project_id, key, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path,
        tags,
        summary: 'Make a column no longer categorical',
        description: 'Removes its categorical values and its refresh schedule.',
        security: bearerSecurity,
        request: { params: ColumnParams },
        responses: { 204: { description: 'Unmarked' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, ...key } = c.req.valid('param')
        await categorical.unset(contextOf(c), project_id, key)
        return c.body(null, 204)
      },
    )
}
