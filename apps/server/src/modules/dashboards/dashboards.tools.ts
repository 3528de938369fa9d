import { Dashboard, DashboardSummary, Id } from '@tributary/contract'
import { z } from 'zod'

import { errors } from '../../lib/errors.js'
import { defineTool, PageInput } from '../../mcp/tool.js'
import type { DashboardsService } from './dashboards.service.js'

export function dashboardTools(dashboards: DashboardsService) {
  return [
    defineTool({
      name: 'list_dashboards',
      title: 'List dashboards',
      description:
        'The project’s dashboards: name, description, refresh schedule and number of widgets, without their data. ' +
        'Use it to find the dashboard someone means, then read it with `get_dashboard`.',
      input: z.strictObject(PageInput),
      output: z.object({ dashboards: z.array(DashboardSummary), next_cursor: z.string().nullable() }),
      needs: { use: 'dashboards' },
      run: async ({ ctx, projectId }, query) => {
        const page = await dashboards.list(ctx, projectId, query)
        return { dashboards: page.data, next_cursor: page.next_cursor }
      },
    }),
    defineTool({
      name: 'get_dashboard',
      title: 'Read a dashboard',
      description:
        'A dashboard with every widget’s data, exactly as people see it: for each widget its `title`, `type` ' +
        '(metric, table, bar, line, area, pie, scatter, text), `config` (which columns it shows and how) and ' +
        '`data` (`columns`, `rows` as arrays in column order, `truncated`, `computed_at`, and `error` when its query ' +
        'failed). Data is the cached result of the last refresh, so check `computed_at`; text widgets have no data, ' +
        'their markdown is `config.content`. Use it to answer questions about what a dashboard shows; for other ' +
        'questions query the data itself. A large dashboard reads smaller with `widget_ids`.',
      input: z.strictObject({
        dashboard_id: Id.meta({ description: 'A dashboard from `list_dashboards`' }),
        widget_ids: z
          .array(Id)
          .min(1, 'must name at least one widget')
          .max(50, 'must name at most 50 widgets')
          .optional()
          .meta({ description: 'Only these widgets (ids from a first read); all of them when left out' }),
      }),
      output: Dashboard,
      needs: { use: 'dashboards' },
      // `open` gives the JSON text REST sends as it is; the tool hands the same value to the client.
      run: async ({ ctx, projectId }, { dashboard_id, widget_ids }) => {
        const dashboard = JSON.parse(await dashboards.open(ctx, projectId, dashboard_id)) as Dashboard
        if (!widget_ids) return dashboard
        const known = new Set(dashboard.widgets.map((widget) => widget.id))
        const missing = widget_ids.find((id) => !known.has(id))
        if (missing) throw errors.notFound('widget', missing)
        return { ...dashboard, widgets: dashboard.widgets.filter((widget) => widget_ids.includes(widget.id)) }
      },
    }),
  ]
}
