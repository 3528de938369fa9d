import { createRoute, z } from '@hono/zod-openapi'
import {
  CreateDashboard,
  Dashboard,
  DashboardSummary,
  Id,
  ListQuery,
  listOf,
  UpdateDashboard,
  WidgetDataQuery,
  WidgetDataResponse,
} from '@tributary/contract'

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
import type { DashboardsService } from './dashboards.service.js'

const tags = ['Dashboards']
const ProjectParams = z.object({ project_id: Id })
const DashboardParams = ProjectParams.extend({ dashboard_id: Id })
const WidgetParams = DashboardParams.extend({ widget_id: Id })

const ACCESS =
  'Reading needs the `dashboards` scope (keys); writing, editors and admins or keys with `dashboards` write. ' +
  'Widgets compute as the caller of the last save, so everyone who opens a dashboard sees the same data.'

const SAVING =
  'Every widget is checked before anything is stored: its result columns are found without reading data and ' +
  '`config` must name only those (numbers where it measures); a question is turned into SQL now ' +
  '(`resolved_sql`), and refreshes rerun that SQL. A refusal is a 422 naming the place: `widgets.2.config.y`, ' +
  '`widgets.0.sql` (the engine’s message), `widgets.1.parameters.country`.'

export function dashboardsRoutes(dashboards: DashboardsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/dashboards',
        tags,
        summary: 'Create a dashboard',
        description: `${SAVING} Widget ids are generated when left out. Widgets' \`data\` is null until the dashboard is first opened. ${ACCESS}`,
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateDashboard) },
        responses: {
          201: jsonResponse(Dashboard, 'The dashboard'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await dashboards.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/dashboards',
        tags,
        summary: 'List a project’s dashboards',
        security: bearerSecurity,
        request: { params: ProjectParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(DashboardSummary), 'Dashboards, without their widgets'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await dashboards.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/dashboards/{dashboard_id}',
        tags,
        summary: 'Open a dashboard: its configuration and every widget’s data',
        description:
          'Each widget’s data comes from its cached result (`computed_at` says when it was computed); one without ' +
          'a result is computed now. Rows are capped per type (metric 1, pie 50, table 1000, charts 5000; ' +
          '`truncated` says more matched). A widget that fails has `error` set; the others still have their data.',
        security: bearerSecurity,
        request: { params: DashboardParams },
        responses: { 200: jsonResponse(Dashboard, 'The dashboard'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dashboard_id } = c.req.valid('param')
        const body = await dashboards.open(contextOf(c), project_id, dashboard_id)
        // Already the JSON text of a `Dashboard` (see `open`), sent as it is; the typed router only knows `c.json`.
        return c.body(body, 200, { 'content-type': 'application/json' }) as never
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/projects/{project_id}/dashboards/{dashboard_id}',
        tags,
        summary: 'Change a dashboard',
        description: `Fields left out stay as they are; \`widgets\` replaces the whole list, keeping the ids given (results of unchanged widgets stay cached). ${SAVING}`,
        security: bearerSecurity,
        request: { params: DashboardParams, body: jsonBody(UpdateDashboard) },
        responses: { 200: jsonResponse(Dashboard, 'The dashboard'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dashboard_id } = c.req.valid('param')
        return c.json(await dashboards.update(contextOf(c), project_id, dashboard_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/dashboards/{dashboard_id}',
        tags,
        summary: 'Delete a dashboard',
        description: 'Its refresh schedule and cached results go with it.',
        security: bearerSecurity,
        request: { params: DashboardParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dashboard_id } = c.req.valid('param')
        await dashboards.delete(contextOf(c), project_id, dashboard_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/dashboards/{dashboard_id}/refresh',
        tags,
        summary: 'Recompute every widget now',
        description:
          'Synchronous: the widgets are recomputed (a few at a time) and the dashboard is returned with the new ' +
          'data. Reading access is enough, as for `?refresh=true`. Scheduled refreshes (`refresh`) run as jobs.',
        security: bearerSecurity,
        request: { params: DashboardParams },
        responses: { 200: jsonResponse(Dashboard, 'The dashboard'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, dashboard_id } = c.req.valid('param')
        return c.json(await dashboards.refresh(contextOf(c), project_id, dashboard_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/dashboards/{dashboard_id}/widgets/{widget_id}/data',
        tags,
        summary: 'One widget’s data',
        description:
          'The cached result, computed when missing; `refresh=true` recomputes it now. A text widget has no data (422).',
        security: bearerSecurity,
        request: { params: WidgetParams, query: WidgetDataQuery },
        responses: {
          200: jsonResponse(WidgetDataResponse, 'The widget’s data'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, dashboard_id, widget_id } = c.req.valid('param')
        const { refresh } = c.req.valid('query')
        return c.json(await dashboards.widgetData(contextOf(c), project_id, dashboard_id, widget_id, refresh), 200)
      },
    )
}
