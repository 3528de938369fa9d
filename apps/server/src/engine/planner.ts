import type { DuckDBConnection } from '@duckdb/node-api'

import type { FilterValue, PushedFilter, ScanOrder, ScanRequest, SourceColumn } from './connectors/connector.js'
import { parseDuckJson, stringifyDuckJson, valueInteger } from './duckdb-json.js'
import { quoteIdentifier, quoteLiteral } from './duckdb-sql.js'

/** A remote table the query reads, with every column the source has. */
export interface PlannedTable {
  catalog: string
  schema: string
  table: string
  columns: SourceColumn[]
}

export interface QueryPlanError {
  message: string
  position: number | undefined
}

// Without these, DuckDB's optimizer sees that the stub tables are empty and plans an empty result
// instead of the scans (research/engine.md §3).
// Late materialization would split a top-N's table into two scans joined by rowid, hiding its filters.
const STUB_SAFE_OPTIMIZERS =
  "SET disabled_optimizers = 'statistics_propagation,compressed_materialization,build_side_probe_side,late_materialization'"

/**
 * Lets DuckDB's own optimizer decide what each remote table must deliver: over empty stand-in
 * tables it reports per scan the columns read, the filters it pushed into the scan and, for a
 * plain `LIMIT` over one table, the limit. Binder errors (unknown columns, bad types) surface here,
 * before any source is touched.
 */
export async function planScans(
  connection: DuckDBConnection,
  sql: string,
  tables: PlannedTable[],
): Promise<{ scans: Map<PlannedTable, ScanRequest>; joins: JoinKeyEdge[] } | { error: QueryPlanError }> {
  await connection.run(STUB_SAFE_OPTIMIZERS)
  let serialized: string
  try {
    const result = await connection.runAndReadAll(
      `select json_serialize_plan(${quoteLiteral(sql)}, optimize := true) as plan`,
    )
    const plan = result.getRowObjectsJS()[0]?.plan
    if (typeof plan !== 'string') throw new Error('json_serialize_plan returned no plan')
    serialized = plan
  } finally {
    await connection.run('RESET disabled_optimizers')
  }
  const plan = parseDuckJson(serialized) as PlanResult
  if ('error' in plan && plan.error) {
    // Some valid queries (a CTE reused across sources) trip DuckDB's plan serialisation over stubs.
    // When the query itself binds, read its tables whole rather than refuse it.
    if (await binds(connection, sql)) {
      return { scans: new Map(tables.map((table) => [table, fullScan(table)])), joins: [] }
    }
    const position = Number(plan.position)
    return {
      error: {
        message: plan.error_message ?? 'invalid query',
        position: Number.isFinite(position) ? position : undefined,
      },
    }
  }

  const gets = new Map<PlannedTable, ScanShape[]>()
  const tableOf = (node: PlanNode) => (node.type === 'LOGICAL_GET' ? findTable(tables, node) : undefined)
  const walk = (node: PlanNode, limitAbove: TopN | undefined) => {
    const table = tableOf(node)
    if (table) gets.set(table, [...(gets.get(table) ?? []), scanShape(node, table, limitAbove)])
    // A limit reaches a scan only through projections: any filter, join or aggregate in between
    // needs more rows than the limit.
    const passes =
      node.type === 'LOGICAL_PROJECTION'
        ? limitAbove
        : node.type === 'LOGICAL_LIMIT'
          ? plainLimit(node)
          : node.type === 'LOGICAL_TOP_N'
            ? topN(node, tableOf)
            : undefined
    for (const child of node.children ?? []) walk(child, passes)
  }
  for (const root of 'plans' in plan ? plan.plans : []) walk(root, undefined)

  const scans = new Map<PlannedTable, ScanRequest>()
  for (const table of tables) {
    const shapes = gets.get(table) ?? []
    scans.set(table, mergeShapes(table, shapes))
  }
  const readOnce = (table: PlannedTable) => (gets.get(table) ?? []).length === 1
  return { scans, joins: joinKeys('plans' in plan ? plan.plans : [], tableOf, readOnce) }
}

/**
 * Which table column each output column of the query is, where the query passes it through
 * unchanged (lineage); undefined for computed columns, and for all of them when DuckDB cannot
 * serialise the plan. The stand-in tables must exist.
 */
export async function resultOrigins(
  connection: DuckDBConnection,
  sql: string,
  tables: PlannedTable[],
): Promise<(JoinColumn | undefined)[] | undefined> {
  const plans = await serializedPlans(connection, sql)
  if (plans?.length !== 1) return undefined
  // Sorting and limiting keep each row as it is.
  const passing = new Set(['LOGICAL_ORDER_BY', 'LOGICAL_LIMIT', 'LOGICAL_TOP_N'])
  let root: PlanNode | undefined = plans[0]
  const maps: number[][] = []
  while (root && passing.has(root.type) && root.children?.length === 1) {
    if (root.projection_map?.length) maps.unshift(root.projection_map)
    root = root.children[0]
  }
  if (!root) return undefined
  const tableOf = (node: PlanNode) => (node.type === 'LOGICAL_GET' ? findTable(tables, node) : undefined)
  let origins = originsOf(root, tableOf)
  for (const map of maps.reverse()) origins = map.map((i) => origins[i])
  return origins
}

/**
 * The table columns each output column of the query is computed from (through any expression,
 * join, aggregate, window or set operation); undefined where the plan has a step this does not
 * follow, and for all of them when DuckDB cannot serialise the plan. The stand-in tables must exist.
 */
export async function resultDependencies(
  connection: DuckDBConnection,
  sql: string,
  tables: PlannedTable[],
): Promise<(JoinColumn[] | undefined)[] | undefined> {
  const plans = await serializedPlans(connection, sql)
  if (plans?.length !== 1) return undefined
  const tableOf = (node: PlanNode) => (node.type === 'LOGICAL_GET' ? findTable(tables, node) : undefined)
  return dependenciesOf(plans[0]!, tableOf)
}

async function serializedPlans(connection: DuckDBConnection, sql: string): Promise<PlanNode[] | undefined> {
  await connection.run(STUB_SAFE_OPTIMIZERS)
  let serialized: unknown
  try {
    const result = await connection.runAndReadAll(
      `select json_serialize_plan(${quoteLiteral(sql)}, optimize := true) as plan`,
    )
    serialized = result.getRowObjectsJS()[0]?.plan
  } finally {
    await connection.run('RESET disabled_optimizers')
  }
  if (typeof serialized !== 'string') return undefined
  const plan = parseDuckJson(serialized) as PlanResult
  return 'plans' in plan ? plan.plans : undefined
}

type Dependencies = (JoinColumn[] | undefined)[]

const PASSING_STEPS = new Set([
  'LOGICAL_FILTER',
  'LOGICAL_ORDER_BY',
  'LOGICAL_LIMIT',
  'LOGICAL_TOP_N',
  'LOGICAL_DISTINCT',
])
const SET_OPERATIONS = new Set(['LOGICAL_UNION', 'LOGICAL_EXCEPT', 'LOGICAL_INTERSECT'])
const JOINS = new Set(['LOGICAL_COMPARISON_JOIN', 'LOGICAL_DELIM_JOIN', 'LOGICAL_ANY_JOIN', 'LOGICAL_CROSS_PRODUCT'])

function dependenciesOf(node: PlanNode, tableOf: (node: PlanNode) => PlannedTable | undefined): Dependencies {
  const children = (node.children ?? []).map((child) => dependenciesOf(child, tableOf))
  const child = children[0] ?? []
  // An expression depends on every input column it reads; on none it cannot follow, if any.
  const readBy = (expression: unknown): JoinColumn[] | undefined => {
    const found: JoinColumn[] = []
    let known = true
    const visit = (value: unknown) => {
      if (Array.isArray(value)) return value.forEach(visit)
      if (typeof value !== 'object' || value === null) return
      const item = value as { type?: unknown; index?: unknown }
      if (item.type === 'BOUND_REF' && typeof item.index === 'number') {
        const columns = child[item.index]
        if (columns) found.push(...columns)
        else known = false
        return
      }
      Object.values(value).forEach(visit)
    }
    visit(expression)
    return known ? found : undefined
  }
  const mapped = (all: Dependencies, map: number[] | undefined) => (map?.length ? map.map((i) => all[i]) : all)
  switch (node.type) {
    case 'LOGICAL_GET': {
      const table = tableOf(node)
      if (!table) return []
      const read = (node.column_indexes ?? []).map((column) =>
        typeof column.index === 'number' && table.columns[column.index]
          ? [{ table, column: table.columns[column.index]! }]
          : undefined,
      )
      return node.projection_ids?.length ? node.projection_ids.map((id) => read[id]) : read
    }
    case 'LOGICAL_PROJECTION':
      return (node.expressions ?? []).map(readBy)
    case 'LOGICAL_AGGREGATE_AND_GROUP_BY':
      return [...(node.groups ?? []), ...(node.expressions ?? [])].map(readBy)
    case 'LOGICAL_WINDOW':
      return [...child, ...(node.expressions ?? []).map(readBy)]
    default:
      if (PASSING_STEPS.has(node.type)) return mapped(child, node.projection_map)
      if (SET_OPERATIONS.has(node.type)) {
        const [left = [], right = []] = children
        return left.map((columns, i) => (columns && right[i] ? [...columns, ...right[i]] : undefined))
      }
      if (JOINS.has(node.type)) {
        const [left = [], right = []] = children
        const kept = mapped(left, node.left_projection_map)
        if (node.join_type === 'SEMI' || node.join_type === 'ANTI') return kept
        if (node.join_type === 'MARK') return [...kept, undefined]
        return [...kept, ...mapped(right, node.right_projection_map)]
      }
      return [undefined]
  }
}

function findTable(tables: PlannedTable[], node: PlanNode): PlannedTable | undefined {
  return tables.find(
    (candidate) =>
      candidate.catalog === node.function_data?.catalog &&
      candidate.schema === node.function_data.schema &&
      candidate.table === node.function_data.table,
  )
}

/** A column of a remote table, where a join compares it unchanged. */
export interface JoinColumn {
  table: PlannedTable
  column: SourceColumn
}

/**
 * An equality join between two remote tables that lets the rows of `filtered` be narrowed to the
 * key values `by` actually has: a row of `filtered` whose key no row of `by` holds cannot reach the
 * query's result through this join (inner joins either way, the inner side of an outer join).
 */
export interface JoinKeyEdge {
  by: JoinColumn
  filtered: JoinColumn
}

const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|HUGEINT)$/

/** The input column a join key is: itself, or widened from one integer type to another (same values). */
function keyIndex(expression: BoundExpression): number | undefined {
  if (expression.type === 'BOUND_REF') return expression.index
  const child = expression.child
  if (
    expression.type === 'OPERATOR_CAST' &&
    child?.type === 'BOUND_REF' &&
    INTEGER_TYPES.test(expression.return_type?.id ?? '') &&
    INTEGER_TYPES.test(child.return_type?.id ?? '')
  ) {
    return child.index
  }
  return undefined
}

/** What each output column of a plan node is, when it is a remote table's column passed through unchanged. */
type Origins = (JoinColumn | undefined)[]

function joinKeys(
  plans: PlanNode[],
  tableOf: (node: PlanNode) => PlannedTable | undefined,
  readOnce: (table: PlannedTable) => boolean,
): JoinKeyEdge[] {
  const edges: JoinKeyEdge[] = []
  const collect = (join: PlanNode, left: Origins, right: Origins) => {
    // Which side may be narrowed by the other's keys: never the side whose rows an outer join keeps.
    const narrowLeft = join.join_type === 'INNER' || join.join_type === 'RIGHT' || join.join_type === 'SEMI'
    const narrowRight = join.join_type === 'INNER' || join.join_type === 'LEFT' || join.join_type === 'SEMI'
    for (const condition of join.conditions ?? []) {
      if (condition.comparison !== 'COMPARE_EQUAL') continue
      const l = keyIndex(condition.left) === undefined ? undefined : left[keyIndex(condition.left)!]
      const r = keyIndex(condition.right) === undefined ? undefined : right[keyIndex(condition.right)!]
      if (!l || !r || l.table === r.table) continue
      if (narrowLeft && readOnce(l.table)) edges.push({ by: r, filtered: l })
      if (narrowRight && readOnce(r.table)) edges.push({ by: l, filtered: r })
    }
  }
  for (const plan of plans) originsOf(plan, tableOf, collect)
  return edges
}

/**
 * What each output column of a plan node is, where it is a remote table's column passed through
 * unchanged; `onJoin` sees every comparison join with the origins of both its inputs.
 */
function originsOf(
  node: PlanNode,
  tableOf: (node: PlanNode) => PlannedTable | undefined,
  onJoin?: (join: PlanNode, left: Origins, right: Origins) => void,
): Origins {
  const recurse = (child: PlanNode) => originsOf(child, tableOf, onJoin)
  switch (node.type) {
    case 'LOGICAL_GET': {
      const table = tableOf(node)
      const read = (node.column_indexes ?? []).map((column) =>
        table && typeof column.index === 'number' ? table.columns[column.index] : undefined,
      )
      const projected = node.projection_ids?.length ? node.projection_ids.map((id) => read[id]) : read
      return projected.map((column) => (table && column ? { table, column } : undefined))
    }
    case 'LOGICAL_FILTER': {
      const child = recurse(node.children![0]!)
      return node.projection_map?.length ? node.projection_map.map((i) => child[i]) : child
    }
    case 'LOGICAL_PROJECTION': {
      const child = recurse(node.children![0]!)
      return (node.expressions ?? []).map((expression) =>
        expression.type === 'BOUND_REF' && expression.index !== undefined ? child[expression.index] : undefined,
      )
    }
    case 'LOGICAL_COMPARISON_JOIN': {
      const left = recurse(node.children![0]!)
      const right = recurse(node.children![1]!)
      onJoin?.(node, left, right)
      if (node.join_type === 'SEMI' || node.join_type === 'ANTI' || node.join_type === 'MARK') return []
      const pick = (all: Origins, map: number[] | undefined) => (map?.length ? map.map((i) => all[i]) : all)
      return [...pick(left, node.left_projection_map), ...pick(right, node.right_projection_map)]
    }
    default:
      for (const child of node.children ?? []) recurse(child)
      return []
  }
}

async function binds(connection: DuckDBConnection, sql: string): Promise<boolean> {
  try {
    await connection.prepare(sql)
    return true
  } catch {
    return false
  }
}

function fullScan(table: PlannedTable): ScanRequest {
  return { schema: table.schema, table: table.table, columns: table.columns, filters: [] }
}

interface ScanShape {
  columnIndexes: Set<number>
  filters: PushedFilter[]
  /** Every filter DuckDB put on this scan could be pushed exactly. */
  complete: boolean
  limit: TopN | undefined
}

/** The first `limit` rows a scan must deliver, in `order` when given. */
interface TopN {
  limit: number
  order?: ScanOrder[]
  /** For a top-N: the scan it sorts, found under its projections. */
  get?: PlanNode
}

function scanShape(node: PlanNode, table: PlannedTable, limitAbove: TopN | undefined): ScanShape {
  const columnIndexes = new Set(
    (node.column_indexes ?? [])
      .map((column) => column.index)
      .filter((index): index is number => typeof index === 'number' && index < table.columns.length),
  )
  const filters: PushedFilter[] = []
  let complete = true
  for (const filter of node.table_filters?.filters ?? []) {
    const column = table.columns[filter.key]
    if (!column) continue
    columnIndexes.add(filter.key)
    complete = collectFilters(filter.value, column.name, filters) && complete
  }
  // A top-N applies only to the scan it was resolved to.
  const limit = complete && (!limitAbove?.get || limitAbove.get === node) ? limitAbove : undefined
  if (limit?.order) {
    for (const order of limit.order) columnIndexes.add(table.columns.findIndex((c) => c.name === order.column))
  }
  return { columnIndexes, filters, complete, limit }
}

/** A table read by several scans (a self-join) gets the union of their columns and only their common filters. */
function mergeShapes(table: PlannedTable, shapes: ScanShape[]): ScanRequest {
  const indexes = new Set(shapes.flatMap((shape) => [...shape.columnIndexes]))
  // count(*) reads no column, but the rows still have to arrive.
  if (indexes.size === 0) indexes.add(0)
  const [first, ...rest] = shapes
  const filters = (first?.filters ?? []).filter((filter) =>
    rest.every((shape) => shape.filters.some((other) => stringifyDuckJson(other) === stringifyDuckJson(filter))),
  )
  const limit = shapes.length === 1 ? first?.limit : undefined
  return {
    schema: table.schema,
    table: table.table,
    columns: table.columns.filter((_, index) => indexes.has(index)),
    filters,
    ...(limit === undefined ? {} : { limit: limit.limit }),
    ...(limit?.order ? { order: limit.order } : {}),
  }
}

export const COMPARISONS: Record<string, '=' | '<>' | '<' | '<=' | '>' | '>='> = {
  COMPARE_EQUAL: '=',
  COMPARE_NOTEQUAL: '<>',
  COMPARE_LESSTHAN: '<',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHAN: '>',
  COMPARE_GREATERTHANOREQUALTO: '>=',
}

/** Adds what can be pushed exactly; returns false when something had to stay behind. */
function collectFilters(filter: TableFilter, column: string, into: PushedFilter[]): boolean {
  switch (filter.filter_type) {
    case 'CONSTANT_COMPARISON': {
      const op = COMPARISONS[filter.comparison_type ?? '']
      const value = filter.constant && decodeConstant(filter.constant)
      if (!op || value === undefined) return false
      into.push({ column, op, value })
      return true
    }
    case 'IN_FILTER': {
      const values = (filter.values ?? []).map(decodeConstant)
      if (values.length === 0 || values.some((value) => value === undefined)) return false
      into.push({ column, op: 'in', values: values as FilterValue[] })
      return true
    }
    case 'IS_NULL':
      into.push({ column, op: 'is_null' })
      return true
    case 'IS_NOT_NULL':
      into.push({ column, op: 'is_not_null' })
      return true
    case 'CONJUNCTION_AND': {
      let complete = true
      for (const child of filter.child_filters ?? []) complete = collectFilters(child, column, into) && complete
      return complete
    }
    case 'EXPRESSION_FILTER': {
      // DuckDB 1.5 states IS [NOT] NULL on one column as an expression over that column.
      const op = { OPERATOR_IS_NULL: 'is_null', OPERATOR_IS_NOT_NULL: 'is_not_null' }[filter.expr?.type ?? '']
      const onlyTheColumn =
        filter.expr?.children?.length === 1 && filter.expr.children[0]?.expression_class === 'BOUND_REF'
      if (filter.expr?.expression_class !== 'BOUND_OPERATOR' || !op || !onlyTheColumn) return false
      into.push({ column, op: op as 'is_null' | 'is_not_null' })
      return true
    }
    case 'OPTIONAL_FILTER':
      // A top-N's own running bound: it only skips rows the top-N would drop anyway.
      if (containsDynamicFilter(filter)) return true
      // DuckDB marks it optional because it keeps the exact filter above the scan; pushing it is
      // still safe, since every pushed filter is applied again, but the scan is not complete.
      if (filter.child_filter) collectFilters(filter.child_filter, column, into)
      return false
    default:
      return false
  }
}

/** A plan constant as a literal a source can compare with; undefined where it has no exact one. */
export function decodeConstant(constant: PlanConstant): FilterValue | undefined {
  if (constant.is_null) return undefined
  const { id } = constant.type
  const value = constant.value
  switch (id) {
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : undefined
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT':
      return typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)) ? value : undefined
    case 'DOUBLE':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined
    case 'DECIMAL': {
      const scale = constant.type.type_info?.scale ?? 0
      const unscaled = valueInteger(value)
      return unscaled === undefined ? undefined : scaledDecimal(unscaled, scale)
    }
    case 'VARCHAR':
      return typeof value === 'string' ? value : undefined
    case 'DATE':
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? new Date(value * 86_400_000).toISOString().slice(0, 10)
        : undefined
    case 'TIMESTAMP':
      return typeof value === 'number' && Number.isSafeInteger(value) ? microsToIso(value) : undefined
    case 'TIMESTAMP WITH TIME ZONE':
      return typeof value === 'number' && Number.isSafeInteger(value) ? `${microsToIso(value)}+00:00` : undefined
    default:
      return undefined
  }
}

/** A DECIMAL's unscaled integer as its decimal text: 12345 at scale 2 → `123.45`. */
export function scaledDecimal(value: number | bigint, scale: number): string {
  const text = String(value)
  if (scale === 0) return text
  const negative = text.startsWith('-')
  const digits = (negative ? text.slice(1) : text).padStart(scale + 1, '0')
  return `${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

/** `YYYY-MM-DD HH:MM:SS.ffffff`, exact to the microsecond. */
function microsToIso(micros: number): string {
  const millis = Math.floor(micros / 1000)
  const rest = micros - millis * 1000
  const base = new Date(millis).toISOString().slice(0, 23).replace('T', ' ')
  return `${base}${String(rest).padStart(3, '0')}`
}

function containsDynamicFilter(filter: TableFilter): boolean {
  return (
    filter.filter_type === 'DYNAMIC_FILTER' ||
    (filter.child_filter !== undefined && containsDynamicFilter(filter.child_filter)) ||
    (filter.child_filters ?? []).some(containsDynamicFilter)
  )
}

function plainLimit(node: PlanNode): TopN | undefined {
  const limit = node.limit_val
  const offset = node.offset_val
  if (limit?.type !== 'CONSTANT_VALUE' || typeof limit.constant_integer !== 'number') return undefined
  const skipped =
    offset?.type === 'CONSTANT_VALUE' ? (offset.constant_integer ?? 0) : offset?.type === 'UNSET' ? 0 : undefined
  // Beyond 2^53 (a bigint) the sum would not be exact.
  if (typeof skipped !== 'number' || !Number.isSafeInteger(limit.constant_integer + skipped)) return undefined
  return { limit: limit.constant_integer + skipped }
}

const SORT_DIRECTIONS: Record<string, boolean> = { ASCENDING: false, DESCENDING: true }
const NULL_ORDERS: Record<string, boolean> = { 'NULLS FIRST': true, 'NULLS LAST': false }

/**
 * `ORDER BY … LIMIT n` over one table, reached through projections only, sorting by its columns
 * as they are: the source can return just the first n rows in that order.
 */
function topN(node: PlanNode, tableOf: (node: PlanNode) => PlannedTable | undefined): TopN | undefined {
  const limit = node.limit
  const offset = node.offset ?? 0
  if (typeof limit !== 'number' || typeof offset !== 'number' || !Number.isSafeInteger(limit + offset)) return undefined
  let get = node.children?.[0]
  while (get?.type === 'LOGICAL_PROJECTION') get = get.children?.[0]
  if (!get || !tableOf(get)) return undefined
  const columns = originsOf(node.children![0]!, tableOf)
  const order: ScanOrder[] = []
  for (const key of node.orders ?? []) {
    const column = key.expression.type === 'BOUND_REF' ? columns[key.expression.index ?? -1] : undefined
    const descending = SORT_DIRECTIONS[key.type]
    const nullsFirst = NULL_ORDERS[key.null_order]
    if (!column || descending === undefined || nullsFirst === undefined) return undefined
    order.push({ column: column.column.name, descending, nullsFirst })
  }
  return { limit: limit + offset, order, get }
}

/** The stand-in for a remote table: its full shape, no rows. */
export function stubTableSql(table: PlannedTable): string {
  const columns = table.columns.map((column) => `${quoteIdentifier(column.name)} ${column.type}`).join(', ')
  return `CREATE TABLE ${quoteIdentifier(table.catalog)}.${quoteIdentifier(table.schema)}.${quoteIdentifier(table.table)} (${columns})`
}

interface PlanConstant {
  type: { id: string; type_info?: { scale?: number } | null }
  is_null: boolean
  value: unknown
}

interface TableFilter {
  filter_type: string
  comparison_type?: string
  constant?: PlanConstant
  values?: PlanConstant[]
  child_filters?: TableFilter[]
  child_filter?: TableFilter
  expr?: { expression_class?: string; type?: string; children?: { expression_class?: string }[] }
}

interface LimitValue {
  type: string
  constant_integer?: number | bigint
}

interface BoundExpression {
  type: string
  index?: number
  child?: BoundExpression
  return_type?: { id: string }
}

interface PlanNode {
  type: string
  children?: PlanNode[]
  /** LOGICAL_TOP_N */
  limit?: number | bigint
  offset?: number | bigint
  orders?: { type: string; null_order: string; expression: BoundExpression }[]
  projection_ids?: number[]
  projection_map?: number[]
  expressions?: BoundExpression[]
  /** LOGICAL_AGGREGATE_AND_GROUP_BY */
  groups?: BoundExpression[]
  join_type?: string
  left_projection_map?: number[]
  right_projection_map?: number[]
  conditions?: { left: BoundExpression; right: BoundExpression; comparison: string }[]
  function_data?: { catalog?: string; schema?: string; table?: string }
  /** The row id's index is UINT64_MAX, a bigint. */
  column_indexes?: { index: number | bigint }[]
  table_filters?: { filters: { key: number; value: TableFilter }[] }
  limit_val?: LimitValue
  offset_val?: LimitValue
}

type PlanResult = { error: true; error_message?: string; position?: string } | { error?: false; plans: PlanNode[] }
