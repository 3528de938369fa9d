import { MetadataSearchHit, MetadataSearchQuery, TableMetadata } from '@tributary/contract'
import { z } from 'zod'

import { defineTool } from '../../mcp/tool.js'
import type { MetadataSearch } from './metadata-search.js'
import type { MetadataService } from './metadata.service.js'

const SqlName = z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters')

export function metadataTools(metadata: MetadataService, search: MetadataSearch) {
  return [
    defineTool({
      name: 'describe_table',
      title: 'Describe a table',
      description:
        'A table’s semantic metadata: its description, columns (types, descriptions, primary keys, sample values, ' +
        'and the values of categorical columns), its relations to other tables, and whether AI may use it.',
      input: z.strictObject({ catalog: SqlName, schema: SqlName, table: SqlName }),
      output: TableMetadata,
      needs: 'read',
      run: ({ ctx, projectId }, key) => metadata.get(ctx, projectId, key),
    }),
    defineTool({
      name: 'search_metadata',
      title: 'Search the semantic layer',
      description:
        'Finds the tables that answer a question: full-text search over table and column names, descriptions and ' +
        'categorical values of the tables AI may use, best first, each with what matched.',
      input: z.strictObject({
        query: MetadataSearchQuery.shape.q.meta({ description: 'A question or a few words' }),
        limit: z.number().int().min(1).max(100).default(10),
      }),
      output: z.object({ hits: z.array(MetadataSearchHit) }),
      needs: 'read',
      run: async ({ ctx, projectId }, { query, limit }) => ({
        hits: await search.search(ctx, projectId, query, limit),
      }),
    }),
  ]
}
