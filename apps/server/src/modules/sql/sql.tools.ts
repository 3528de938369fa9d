import { SqlRequest, SqlResult } from '@tributary/contract'
import { z } from 'zod'

import { defineTool } from '../../mcp/tool.js'
import type { SqlService } from './sql.service.js'

export function sqlTools(sql: SqlService) {
  return [
    defineTool({
      name: 'run_sql',
      title: 'Run SQL',
      description:
        'Runs one read-only query (SELECT, WITH, VALUES, DESCRIBE, EXPLAIN) in DuckDB’s dialect over the project’s ' +
        'catalogs, naming tables `catalog.schema.table`; tables of different sources join freely. Returns the ' +
        'columns, at most `limit` rows (`truncated` says whether there were more) and statistics, including the ' +
        'SQL each source was sent.',
      input: z.strictObject({
        sql: SqlRequest.shape.sql,
        limit: z.number().int().min(1, 'must be at least 1').max(10_000, 'must be at most 10000').default(100),
        timeout_ms: SqlRequest.shape.timeout_ms,
      }),
      output: SqlResult,
      needs: { use: 'query' },
      run: ({ ctx, projectId, signal }, input) => sql.run(ctx, projectId, input, signal),
    }),
  ]
}
