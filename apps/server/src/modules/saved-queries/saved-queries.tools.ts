import { CreateSavedQuery, ListQuery, SavedQuery } from '@tributary/contract'
import { z } from 'zod'

import { defineTool } from '../../mcp/tool.js'
import type { SavedQueriesService } from './saved-queries.service.js'

const { display_name, sql, description, schema, parameters } = CreateSavedQuery.shape

export function savedQueryTools(savedQueries: SavedQueriesService) {
  return [
    defineTool({
      name: 'list_saved_queries',
      title: 'List saved queries',
      description:
        'The project’s saved queries with their SQL and parameters. Run one with `run_saved_query`, or read it in ' +
        'SQL as `queries.<schema>."<display_name>"`.',
      input: z.strictObject({ limit: z.number().int().min(1).max(200).default(50), cursor: ListQuery.shape.cursor }),
      output: z.object({ queries: z.array(SavedQuery), next_cursor: z.string().nullable() }),
      needs: 'read',
      run: async ({ ctx, projectId }, query) => {
        const page = await savedQueries.list(ctx, projectId, query)
        return { queries: page.data, next_cursor: page.next_cursor }
      },
    }),
    defineTool({
      name: 'save_query',
      title: 'Save a query',
      description:
        'Saves SQL under a name for the project. Parameters are written `{{name}}` in the SQL and declared in ' +
        '`parameters`; they are bound as typed values when the query runs.',
      input: z.strictObject({ display_name, sql, description, schema, parameters }),
      output: SavedQuery,
      needs: { write: 'query' },
      run: ({ ctx, projectId }, input) => savedQueries.create(ctx, projectId, { ...input, query_type: 'STANDARD' }),
    }),
  ]
}
