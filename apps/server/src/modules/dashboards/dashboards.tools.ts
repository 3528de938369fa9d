import { Dashboard, DashboardSummary, Id } from '@tributary/contract'
import { z } from 'zod'

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
        'questions query the data itself.',
      input: z.strictObject({ dashboard_id: Id.meta({ description: 'A dashboard from `list_dashboards`' }) }),
      output: Dashboard,
      needs: { use: 'dashboards' },
      // `open` gives the JSON text REST sends as it is; the tool hands the same value to the client.
      run: async ({ ctx, projectId }, { dashboard_id }) =>
        JSON.parse(await dashboards.open(ctx, projectId, dashboard_id)) as Dashboard,
    }),
  ]
}
