import { CreateGoldenSql, GoldenSql, GoldenSqlSearchHit, GoldenSqlSearchQuery } from '@tributary/contract'
import { z } from 'zod'

import { defineTool } from '../../mcp/tool.js'
import type { GoldenSqlService } from './golden-sql.service.js'

/** Saving golden SQL curates the semantic layer: the scope its routes check. */
const WRITE_SCOPE = 'metadata'

export function goldenSqlTools(goldenSql: GoldenSqlService) {
  return [
    defineTool({
      name: 'search_golden_sql',
      title: 'Search golden SQL',
      description:
        'Known-good SQL for questions like this one, best first: a close match is the best start for a query.',
      input: z.strictObject({
        question: GoldenSqlSearchQuery.shape.q.meta({ description: 'The question, in plain words' }),
        limit: z.number().int().min(1).max(50).default(5),
      }),
      output: z.object({ hits: z.array(GoldenSqlSearchHit) }),
      needs: 'read',
      run: async ({ ctx, projectId }, { question, limit }) => ({
        hits: await goldenSql.search(ctx, projectId, { q: question, limit }),
      }),
    }),
    defineTool({
      name: 'save_golden_sql',
      title: 'Save golden SQL',
      description:
        'Saves a question with SQL known to answer it, so that later questions like it are answered the same way. ' +
        'The SQL is checked against the project’s catalogs (without reading data) before it is saved.',
      input: CreateGoldenSql,
      output: GoldenSql,
      needs: { write: WRITE_SCOPE },
      run: ({ ctx, projectId }, input) => goldenSql.create(ctx, projectId, input),
    }),
  ]
}
