import { Catalog, CatalogTable } from '@tributary/contract'
import { z } from 'zod'

import { defineTool } from '../../mcp/tool.js'
import type { CatalogsService } from './catalogs.service.js'

const SqlName = z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters')

export function catalogTools(catalogs: CatalogsService) {
  return [
    defineTool({
      name: 'list_catalogs',
      title: 'List catalogs',
      description:
        'The catalogs SQL can name in this project: `internal` (uploaded datasets), one per connection, `queries` ' +
        '(saved queries by name) and semantic catalogs. Tables are named `catalog.schema.table` in SQL.',
      input: z.strictObject({}),
      output: z.object({ catalogs: z.array(Catalog) }),
      needs: 'read',
      run: async ({ ctx, projectId }) => ({ catalogs: await catalogs.list(ctx, projectId) }),
    }),
    defineTool({
      name: 'list_tables',
      title: 'List tables',
      description:
        'The tables and views of a catalog, of one schema or of all its schemas, with their column counts. ' +
        'Use `describe_table` for columns, descriptions, relations and categorical values.',
      input: z.strictObject({
        catalog: SqlName.meta({ description: 'A catalog from `list_catalogs`' }),
        schema: SqlName.optional().meta({ description: 'Only this schema; every schema when left out' }),
      }),
      output: z.object({
        tables: z.array(CatalogTable.extend({ catalog: z.string(), schema: z.string() })),
      }),
      needs: 'read',
      run: async ({ ctx, projectId }, { catalog, schema }) => {
        const schemas =
          schema === undefined ? (await catalogs.schemas(ctx, projectId, catalog)).map((s) => s.name) : [schema]
        const tables = await Promise.all(
          schemas.map(async (name) =>
            (await catalogs.tables(ctx, projectId, catalog, name)).map((table) => ({
              catalog,
              schema: name,
              ...table,
            })),
          ),
        )
        return { tables: tables.flat() }
      },
    }),
  ]
}
