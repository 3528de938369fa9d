import { createHash } from 'node:crypto'

import type { TableMetadata } from '@tributary/contract'

import type { QueryAccess } from '../../engine/access-policy.js'

/**
 * Stored values read from the data (a column's `sample_values` and `categorical_values`) were read by
 * whoever refreshed them, beneath no mask of the caller's. A caller sees none of a column they see
 * masked, and none of any column of a table they are under a row filter on (the values may come from
 * rows withheld from them). Queries need none of this: the engine applies the policies itself.
 */

/** The columns of a table whose stored values the caller may not see; undefined when none. */
export function hiddenColumns(
  access: QueryAccess,
  table: { catalog: string; schema: string; table: string; columns: readonly { name: string; type: string }[] },
): ReadonlySet<string> | undefined {
  const policy = access.table({
    catalog: table.catalog,
    schema: table.schema,
    table: table.table,
    columns: table.columns.map(({ name, type }) => ({ name, type })),
  })
  if (!policy) return undefined
  if (policy.rowFilter) return new Set(table.columns.map((column) => column.name))
  const hidden = table.columns.filter((column) => policy.masks.has(column.name)).map((column) => column.name)
  return hidden.length > 0 ? new Set(hidden) : undefined
}

/**
 * The tables as the caller may see them: the same array when nothing is hidden from them (no access
 * given, or no policy touching these tables), else copies without the hidden values, nor the
 * descriptions a model generated about them.
 */
export function withoutHiddenValues(
  access: QueryAccess | undefined,
  tables: readonly TableMetadata[],
): readonly TableMetadata[] {
  if (!access) return tables
  let changed = false
  const seen = tables.map((table) => {
    const hidden = hiddenColumns(access, table)
    if (!hidden) return table
    changed = true
    // A description a model wrote from the samples may quote them; a person's is kept.
    const everyColumn = hidden.size === table.columns.length
    return {
      ...table,
      ...(everyColumn && table.source === 'generated' ? { description: null, source: null } : {}),
      columns: table.columns.map((column) =>
        hidden.has(column.name)
          ? {
              ...column,
              sample_values: [],
              categorical_values: [],
              ...(column.description_source === 'generated' ? { description: null, description_source: null } : {}),
            }
          : column,
      ),
    }
  })
  return changed ? seen : tables
}

/**
 * What is hidden from the caller of these tables, as a key: '' when nothing, else the same for every
 * caller from whom the same values are hidden (a search index or prompt schema built for one may
 * serve the others).
 */
export function hiddenKey(access: QueryAccess | undefined, tables: readonly TableMetadata[]): string {
  if (!access) return ''
  const hidden: [string, string, string, string[]][] = []
  for (const table of tables) {
    const columns = hiddenColumns(access, table)
    if (columns) hidden.push([table.catalog, table.schema, table.table, [...columns].sort()])
  }
  return hidden.length === 0 ? '' : createHash('sha256').update(JSON.stringify(hidden)).digest('hex')
}
