import type { DuckDBConnection } from '@duckdb/node-api'

import type { ColumnMask, QueryAccess } from './access-policy.js'
import { USER_PROPS_FUNCTION } from './access-policy.js'
import { quoteIdentifier } from './duckdb-sql.js'
import type { PlannedTable } from './planner.js'
import { guardSql, parseTree, printTree, SqlGuardError, type GuardedQuery } from './sql-guard.js'
import type { BoundSql } from './sql-text.js'
import { baseTables, isObject, type JsonObject } from './views.js'

/**
 * Column masks and row filters, applied in DuckDB's parse tree before anything is planned: each
 * reference to a table under a policy becomes a subquery over it that masks its columns and keeps
 * only the rows its filter allows, under the name the reference had. Whatever the query does with
 * the table (joins, filters, sorts, aggregates, `*`) it does to what the subquery gives, so it can
 * neither see nor probe the values behind a mask or the rows behind a filter. DuckDB's optimizer
 * pushes the row filter into the table's scan (and so to the source); the pushdown sends such a
 * subquery to its source as a filter of the table (see `policyView` in pushdown.ts).
 *
 * A masked column the query never names (and no `*` could expand to) is left out of the subquery
 * instead of masked: it is just as unreachable, and the subquery stays one the sources can be sent.
 */

export interface AppliedAccess {
  bound: BoundSql
  guarded: GuardedQuery
  /** The masks the query's subqueries carry, by table: what column privacy is reported from. */
  masked: { table: PlannedTable; column: string; mask: ColumnMask }[]
  /** The tables whose rows a filter narrowed, with the filter as applied (props written in). */
  filtered: { table: PlannedTable; filter: string }[]
}

export interface AccessContext {
  /** The table a reference names, as the query's tables resolved it. */
  resolve(ref: { catalog: string; schema: string; table: string }): PlannedTable | undefined
  /** The policies for a table's catalog: those of the project the catalog belongs to. */
  accessFor(table: PlannedTable): QueryAccess | undefined
}

/**
 * Applies the policies to the checked query; undefined when no policy touches it and it calls no
 * `current_user_props`. Errors (a `current_user_props` whose name is not a literal) are SqlGuardErrors.
 */
export async function applyAccess(
  connection: DuckDBConnection,
  bound: BoundSql,
  guarded: GuardedQuery,
  context: AccessContext,
  props: Readonly<Record<string, string>>,
): Promise<AppliedAccess | undefined> {
  const executable = guarded.tree
  const result = await policeTree(connection, executable, context, props)
  if (!result.changed) return undefined
  const sql = await printTree(connection, executable)
  let planningSql = sql
  if (bound.planningSql !== bound.sql) {
    const planning = await parseTree(connection, bound.planningSql)
    await policeTree(connection, planning, context, props)
    planningSql = await printTree(connection, planning)
  }
  const rebound: BoundSql = { sql, planningSql, values: bound.values }
  return {
    bound: rebound,
    guarded: await guardSql(connection, rebound),
    masked: result.masked,
    filtered: result.filtered,
  }
}

async function policeTree(
  connection: DuckDBConnection,
  tree: unknown,
  context: AccessContext,
  props: Readonly<Record<string, string>>,
): Promise<{ changed: boolean } & Pick<AppliedAccess, 'masked' | 'filtered'>> {
  const named = namedColumns(tree)
  const masked: AppliedAccess['masked'] = []
  const filtered: AppliedAccess['filtered'] = []
  let changed = false
  for (const { node, replace } of baseTables(tree)) {
    const table = context.resolve({
      catalog: node.catalog_name as string,
      schema: typeof node.schema_name === 'string' && node.schema_name !== '' ? node.schema_name : 'main',
      table: node.table_name as string,
    })
    const scoped = table && context.accessFor(table)
    const access = table && scoped?.table(table)
    if (!table || !scoped || !access || (access.masks.size === 0 && !access.rowFilter)) continue
    const columns: string[] = []
    for (const column of table.columns) {
      const mask = access.masks.get(column.name)
      if (!mask) columns.push(quoteIdentifier(column.name))
      else if (named.all || named.names.has(column.name.toLowerCase())) {
        columns.push(`${mask.expression} AS ${quoteIdentifier(column.name)}`)
        masked.push({ table, column: column.name, mask })
      }
    }
    // Every column masked and none named (count(*)): the rows are still needed, no value is.
    if (columns.length === 0) columns.push('NULL AS "masked"')
    const from = [node.catalog_name, node.schema_name || 'main', node.table_name]
      .map((part) => quoteIdentifier(part as string))
      .join('.')
    const text = `SELECT ${columns.join(', ')} FROM ${from}${access.rowFilter ? ` WHERE (${access.rowFilter})` : ''}`
    const parsed = (await parseTree(connection, text)) as { statements: { node: JsonObject }[] }
    const body = parsed.statements[0]?.node
    // Policies are checked when saved; this makes sure no text in one can change the query's shape.
    if (parsed.statements.length !== 1 || !isPolicyView(body, columns.length)) {
      throw new SqlGuardError(`the policies on ${from} do not form one filter and one column each`)
    }
    if (node.at_clause) (body.from_table as JsonObject).at_clause = node.at_clause
    // The policy's own project says who the caller is there (across organizations, less than at home).
    substituteProps(body, scoped.props)
    if (access.rowFilter) filtered.push({ table, filter: await printExpression(connection, body.where_clause) })
    replace({
      type: 'SUBQUERY',
      alias: typeof node.alias === 'string' && node.alias !== '' ? node.alias : node.table_name,
      sample: node.sample ?? null,
      query_location: node.query_location,
      subquery: { node: body, named_param_map: [] },
      column_name_alias: node.column_name_alias ?? [],
    })
    changed = true
  }
  if (substituteProps(tree, props)) changed = true
  return { changed, masked, filtered }
}

/** The subquery a policy makes: one SELECT of `columns` items from one table, at most a WHERE. */
function isPolicyView(node: JsonObject | undefined, columns: number): node is JsonObject {
  const list = (key: string) => (Array.isArray(node?.[key]) ? (node[key] as unknown[]) : [])
  return (
    node?.type === 'SELECT_NODE' &&
    (node.from_table as JsonObject | undefined)?.type === 'BASE_TABLE' &&
    list('select_list').length === columns &&
    list('modifiers').length === 0 &&
    list('group_expressions').length === 0 &&
    !node.having &&
    !node.qualify &&
    !node.sample &&
    ((node.cte_map as { map?: unknown[] } | undefined)?.map ?? []).length === 0
  )
}

/**
 * The column names the query writes anywhere (lower-cased, the last part of each reference), and
 * whether it could reach columns without naming them (`*`, `COLUMNS(…)`, NATURAL joins).
 */
function namedColumns(tree: unknown): { all: boolean; names: Set<string> } {
  const names = new Set<string>()
  let all = false
  const visit = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(visit)
    if (!isObject(value)) return
    if (value.class === 'STAR' || value.ref_type === 'NATURAL') all = true
    if (value.class === 'COLUMN_REF' && Array.isArray(value.column_names)) {
      const last: unknown = (value.column_names as unknown[]).at(-1)
      if (typeof last === 'string') names.add(last.toLowerCase())
    }
    if (Array.isArray(value.using_columns)) {
      for (const name of value.using_columns) if (typeof name === 'string') names.add(name.toLowerCase())
    }
    Object.values(value).forEach(visit)
  }
  visit(tree)
  return { all, names }
}

/** Writes the caller's props in place of every `current_user_props('name')`; true when there was one. */
function substituteProps(tree: unknown, props: Readonly<Record<string, string>>): boolean {
  let found = false
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => (value[i] = visit(item)))
      return value
    }
    if (!isObject(value)) return value
    if (value.class === 'FUNCTION' && String(value.function_name).toLowerCase() === USER_PROPS_FUNCTION) {
      found = true
      return propConstant(value, props)
    }
    for (const [key, child] of Object.entries(value)) value[key] = visit(child)
    return value
  }
  visit(tree)
  return found
}

function propConstant(call: JsonObject, props: Readonly<Record<string, string>>): JsonObject {
  const args = Array.isArray(call.children) ? (call.children as JsonObject[]) : []
  const argument = args[0]?.value as { type?: { id?: string }; is_null?: boolean; value?: unknown } | undefined
  if (
    args.length !== 1 ||
    args[0]?.class !== 'CONSTANT' ||
    argument?.type?.id !== 'VARCHAR' ||
    argument.is_null ||
    typeof argument.value !== 'string'
  ) {
    throw new SqlGuardError(
      `${USER_PROPS_FUNCTION} takes one quoted attribute name, as in ${USER_PROPS_FUNCTION}('email')`,
      typeof call.query_location === 'number' ? call.query_location : undefined,
    )
  }
  // An attribute the caller lacks is NULL: every comparison with it fails, so a filter fails closed
  // (`<>` as much as `=`), and a cast of it to a number is NULL rather than an error.
  const value = Object.hasOwn(props, argument.value) ? props[argument.value]! : null
  return {
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: typeof call.alias === 'string' ? call.alias : '',
    query_location: call.query_location,
    value:
      value === null
        ? { type: { id: 'VARCHAR', type_info: null }, is_null: true }
        : { type: { id: 'VARCHAR', type_info: null }, is_null: false, value },
  }
}

async function printExpression(connection: DuckDBConnection, expression: unknown): Promise<string> {
  const select = (await parseTree(connection, 'SELECT 1')) as { statements: { node: JsonObject }[] }
  select.statements[0]!.node.select_list = [expression]
  return (await printTree(connection, select)).replace(/^SELECT /, '')
}
