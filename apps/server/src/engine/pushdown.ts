import type { SourceColumn } from './connectors/connector.js'
import type { Dialect, TypeInfo, ValueKind } from './connectors/dialect.js'
import { stringifyDuckJson, valueInteger } from './duckdb-json.js'
import { COMPARISONS, scaledDecimal, type PlannedTable } from './planner.js'

/**
 * Whole-subquery pushdown: a SELECT whose tables all live in one SQL source, and that joins,
 * groups, aggregates or de-duplicates them with only what the source computes exactly as DuckDB
 * would, is sent to that source as one query; DuckDB then reads its (usually much smaller) result
 * in place of the subquery. Works on DuckDB's parse tree (json_serialize_sql), so the rest of the
 * query is left exactly as written.
 *
 * What counts as "exactly as DuckDB would" is kept narrow on purpose; anything else stays in DuckDB:
 * - text is compared, ordered and aggregated in DuckDB's byte order (COLLATE "C" on PostgreSQL, UTF-8
 *   bytes on MySQL), and only for plain text types (char(n) pads and citext folds; json has no equality);
 * - arithmetic is + - * on numbers (DuckDB's `/` divides integers as floats and returns NULL on zero);
 * - aggregates are count, sum, avg, min and max, without FILTER or ORDER BY;
 * - constants are typed literals, temporal ones only in ISO form, and numbers beyond 2^53 only where
 *   the source compares them as DuckDB does (`Dialect.bigLiterals`).
 *
 * This file is the compiler only: what differs between sources is each connector's `Dialect`
 * (connectors/<type>/<type>-dialect.ts).
 */

/** A subquery to send to one source. */
export interface PushdownCandidate {
  catalog: string
  /** The subquery in the source's dialect; its output columns are `c0`, `c1`, … in select order. */
  remoteSql: string
  /** The subquery as DuckDB SQL over the stand-in tables, to learn its output names and types. */
  duckSelect: QueryNode
  /** Replaces the subquery in the planning and the executable trees, pointing at `table`. */
  replace(table: { catalog: string; name: string }): void
  /** The tables it reads, for the stats. */
  tables: PlannedTable[]
}

export interface PushdownContext {
  /** The table a BASE_TABLE reference names, when it is a source table. */
  resolve(ref: { catalog: string; schema: string; table: string }): PlannedTable | undefined
  dialectOf(catalog: string): Dialect | undefined
  /**
   * Whether a subquery of this name is an inlined view. A view that only joins and filters is left
   * to the scans, so that filters the outer query puts on it reach the sources (DuckDB pushes them
   * through the subquery into each scan); one that aggregates is still sent whole.
   */
  isView?(alias: string): boolean
}

/**
 * Finds the outermost pushable SELECTs. `planning` and `executable` are the same statement parsed
 * twice (the first with parameter values as literals, the second with parameters): they have the
 * same shape, and a replacement is made in both.
 */
export function findPushdowns(planning: ParsedStatement, executable: ParsedStatement, context: PushdownContext) {
  const found: PushdownCandidate[] = []
  const viewBodies = new WeakSet<object>()
  const visit = (p: unknown, e: unknown) => {
    if (Array.isArray(p)) {
      p.forEach((item, i) => visit(item, (e as unknown[] | undefined)?.[i]))
      return
    }
    if (!isObject(p)) return
    if (p['type'] === 'SUBQUERY' && typeof p['alias'] === 'string' && context.isView?.(p['alias'])) {
      const body = isObject(p['subquery']) ? p['subquery']['node'] : undefined
      if (isObject(body)) viewBodies.add(body)
    }
    if (p['type'] === 'SELECT_NODE' && isObject(e)) {
      const candidate = compile(p as unknown as QueryNode, e as unknown as QueryNode, context, viewBodies.has(p))
      if (candidate) {
        found.push(candidate)
        return
      }
    }
    for (const key of Object.keys(p)) visit(p[key], isObject(e) ? e[key] : undefined)
  }
  visit(planning.statements, executable.statements)
  return found
}

class Unsupported extends Error {}

function unsupported(): never {
  throw new Unsupported()
}

interface Generated {
  sql: string
  kind: ValueKind
  aggregate: boolean
}

interface Scope {
  byAlias: Map<string, { table: PlannedTable; remoteAlias: string }>
  dialect: Dialect
}

function compile(
  planning: QueryNode,
  executable: QueryNode,
  context: PushdownContext,
  view: boolean,
): PushdownCandidate | undefined {
  try {
    return compileNode(planning, executable, context, view)
  } catch (error) {
    if (error instanceof Unsupported) return undefined
    throw error
  }
}

function compileNode(
  node: QueryNode,
  executable: QueryNode,
  context: PushdownContext,
  view: boolean,
): PushdownCandidate | undefined {
  if ((node.cte_map?.map ?? []).length > 0 || node.sample || node.qualify) return undefined
  if (node.aggregate_handling !== 'STANDARD_HANDLING') return undefined
  const groups = node.group_expressions ?? []
  const sets = node.group_sets ?? []
  if (sets.length > 1 || (sets.length === 1 && sets[0]!.length !== groups.length)) return undefined

  let distinct = false
  let order: OrderModifier | undefined
  let limit: QueryModifier | undefined
  for (const modifier of node.modifiers ?? []) {
    if (modifier.type === 'DISTINCT_MODIFIER' && (modifier.distinct_on_targets ?? []).length === 0) distinct = true
    else if (modifier.type === 'ORDER_MODIFIER' && !order) order = modifier as OrderModifier
    else if (modifier.type === 'LIMIT_MODIFIER' && !limit) limit = modifier
    else return undefined
  }

  if (!node.from_table) return undefined
  const tables: { ref: TableRef; table: PlannedTable; remoteAlias: string; filter?: FilteredTable }[] = []
  const collect = (ref: TableRef) => {
    if (ref.type === 'JOIN') {
      if (!JOIN_TYPES[ref.join_type ?? ''] || ref.ref_type !== 'REGULAR' || !ref.condition) unsupported()
      if ((ref.using_columns ?? []).length > 0) unsupported()
      collect(ref.left!)
      collect(ref.right!)
      return
    }
    const filter = ref.type === 'SUBQUERY' ? filteredTable(ref) : undefined
    const base = filter?.base ?? ref
    if (base.type !== 'BASE_TABLE' || (base.column_name_alias ?? []).length > 0 || base.sample || base.at_clause) {
      unsupported()
    }
    const table = context.resolve({
      catalog: base.catalog_name ?? '',
      schema: base.schema_name || 'main',
      table: base.table_name ?? '',
    })
    if (!table) unsupported()
    tables.push({ ref, table, remoteAlias: `t${tables.length}`, ...(filter ? { filter } : {}) })
  }
  collect(node.from_table)
  const catalogs = new Set(tables.map((entry) => entry.table.catalog))
  const [catalog] = catalogs
  const dialect = catalog === undefined ? undefined : context.dialectOf(catalog)
  if (catalogs.size !== 1 || catalog === undefined || !dialect) return undefined

  const scope: Scope = { byAlias: new Map(), dialect }
  for (const entry of tables) {
    const alias = (entry.ref.alias || entry.ref.table_name || '').toLowerCase()
    if (scope.byAlias.has(alias)) return undefined
    scope.byAlias.set(alias, { table: entry.table, remoteAlias: entry.remoteAlias })
  }
  const fromSql = (ref: TableRef): string => {
    if (ref.type === 'JOIN') {
      const left = fromSql(ref.left!)
      const right = fromSql(ref.right!)
      const condition = booleanSql(expression(ref.condition!, scope, false))
      const join = JOIN_TYPES[ref.join_type!]!
      if (join === 'FULL JOIN' && !dialect.fullJoin) unsupported()
      return `(${left} ${join} ${right} ON ${condition})`
    }
    const entry = tables.find((candidate) => candidate.ref === ref)!
    return `${dialect.quote(entry.table.schema)}.${dialect.quote(entry.table.table)} AS ${entry.remoteAlias}`
  }
  const from = fromSql(node.from_table)

  const outputs = node.select_list.map((item) => expression(item, scope, true))
  const select = outputs.map((output, i) => `${output.sql} AS ${dialect.quote(`c${i}`)}`)
  // A filtered table's own filter names only its columns, as its subquery saw them.
  const wheres = tables.flatMap(({ filter, table, remoteAlias }) => {
    if (!filter?.where) return []
    const alias = (filter.base.alias || filter.base.table_name || '').toLowerCase()
    const own: Scope = { byAlias: new Map([[alias, { table, remoteAlias }]]), dialect }
    return [booleanSql(expression(filter.where, own, false))]
  })
  if (node.where_clause) wheres.push(booleanSql(expression(node.where_clause, scope, false)))
  const where = wheres.length > 0 ? wheres.join(' AND ') : undefined
  const groupBy = groups.map((group) => {
    if (isPositional(group)) return String(group.value!.value)
    const generated = expression(group, scope, false)
    if (
      !['number', 'unsigned', 'text', 'padded', 'date', 'timestamp', 'timestamptz', 'boolean'].includes(generated.kind)
    ) {
      unsupported()
    }
    return generated.sql
  })
  const having = node.having ? booleanSql(expression(node.having, scope, true)) : undefined
  const aggregates = groups.length > 0 || Boolean(node.having) || outputs.some((output) => output.aggregate)
  if (!aggregates && !distinct && (tables.length < 2 || view)) return undefined

  // ORDER BY and LIMIT stay in DuckDB, over the pushed result: each sort key must name an output
  // column, and is rewritten to its position.
  const orders = (order?.orders ?? []).map((item) => ({ ...item, expression: positionOf(item.expression, node) }))

  const remoteSql =
    `SELECT ${distinct ? 'DISTINCT ' : ''}${select.join(', ')} FROM ${from}` +
    (where ? ` WHERE ${where}` : '') +
    (groupBy.length > 0 ? ` GROUP BY ${groupBy.join(', ')}` : '') +
    (having ? ` HAVING ${having}` : '')

  const duckSelect: QueryNode = {
    ...structuredClone(node),
    modifiers: (node.modifiers ?? []).filter((modifier) => modifier.type === 'DISTINCT_MODIFIER'),
  }
  return {
    catalog,
    remoteSql,
    duckSelect,
    tables: tables.map((entry) => entry.table),
    replace(table) {
      const modifiers: (QueryModifier | OrderModifier)[] = []
      if (orders.length > 0) modifiers.push({ ...order!, orders } satisfies OrderModifier)
      for (const [target, original] of [
        [node, node],
        [executable, executable],
      ] as const) {
        const keptLimit = (original.modifiers ?? []).find((modifier) => modifier.type === 'LIMIT_MODIFIER')
        const replacement = selectStarFrom(table, [...modifiers, ...(keptLimit ? [keptLimit] : [])])
        for (const key of Object.keys(target)) delete (target as unknown as Record<string, unknown>)[key]
        Object.assign(target, replacement)
      }
    },
  }
}

/** A subquery that only picks columns of one table, as they are, and filters its rows. */
interface FilteredTable {
  base: TableRef
  where: Expr | undefined
}

/**
 * `(SELECT a, b FROM t WHERE f) AS x` (a table under a row policy, see access-rewrite.ts) is `t AS x`
 * with the filter `f`: undefined for any other subquery.
 */
function filteredTable(ref: TableRef): FilteredTable | undefined {
  const body = ref.subquery?.node
  if (!body || body.type !== 'SELECT_NODE' || (ref.column_name_alias ?? []).length > 0 || ref.sample) return undefined
  if ((body.cte_map?.map ?? []).length > 0 || (body.modifiers ?? []).length > 0 || body.sample || body.qualify) {
    return undefined
  }
  if ((body.group_expressions ?? []).length > 0 || body.having || body.from_table?.type !== 'BASE_TABLE') {
    return undefined
  }
  const plain = body.select_list.every((item) => {
    const names = item.column_names ?? []
    return (
      item.class === 'COLUMN_REF' &&
      names.length === 1 &&
      (!item.alias || item.alias.toLowerCase() === names[0]!.toLowerCase())
    )
  })
  return plain ? { base: body.from_table, where: body.where_clause ?? undefined } : undefined
}

const JOIN_TYPES: Record<string, string> = {
  INNER: 'INNER JOIN',
  LEFT: 'LEFT JOIN',
  RIGHT: 'RIGHT JOIN',
  OUTER: 'FULL JOIN',
  FULL: 'FULL JOIN',
}

const COMPARISON_OPS: Record<string, string> = {
  ...COMPARISONS,
  COMPARE_DISTINCT_FROM: 'IS DISTINCT FROM',
  COMPARE_NOT_DISTINCT_FROM: 'IS NOT DISTINCT FROM',
}

const AGGREGATES = new Set(['count_star', 'count', 'sum', 'avg', 'min', 'max'])

function expression(node: Expr, scope: Scope, aggregatesAllowed: boolean): Generated {
  switch (node.class) {
    case 'COLUMN_REF':
      return columnRef(node, scope)
    case 'CONSTANT':
      return constant(node.value!, scope.dialect)
    case 'CAST':
      return cast(node, scope.dialect)
    case 'COMPARISON': {
      const op = COMPARISON_OPS[node.type]
      if (!op) unsupported()
      const ordering = !['=', '<>', 'IS DISTINCT FROM', 'IS NOT DISTINCT FROM'].includes(op)
      const [left, right] = comparable([node.left!, node.right!], scope, aggregatesAllowed, ordering)
      const distinct = node.type === 'COMPARE_DISTINCT_FROM' || node.type === 'COMPARE_NOT_DISTINCT_FROM'
      return {
        sql: distinct
          ? scope.dialect.distinctFrom(left!.sql, right!.sql, node.type === 'COMPARE_DISTINCT_FROM')
          : `(${left!.sql} ${op} ${right!.sql})`,
        kind: 'boolean',
        aggregate: left!.aggregate || right!.aggregate,
      }
    }
    case 'CONJUNCTION': {
      const op = node.type === 'CONJUNCTION_AND' ? ' AND ' : node.type === 'CONJUNCTION_OR' ? ' OR ' : unsupported()
      const parts = (node.children ?? []).map((child) => expression(child, scope, aggregatesAllowed))
      if (parts.length === 0 || parts.some((part) => part.kind !== 'boolean')) unsupported()
      return {
        sql: `(${parts.map((part) => part.sql).join(op)})`,
        kind: 'boolean',
        aggregate: parts.some((p) => p.aggregate),
      }
    }
    case 'BETWEEN': {
      const parts = comparable([node.input!, node.lower!, node.upper!], scope, aggregatesAllowed, true)
      return {
        sql: `(${parts[0]!.sql} BETWEEN ${parts[1]!.sql} AND ${parts[2]!.sql})`,
        kind: 'boolean',
        aggregate: parts.some((part) => part.aggregate),
      }
    }
    case 'OPERATOR':
      return operator(node, scope, aggregatesAllowed)
    case 'FUNCTION':
      return node.is_operator ? arithmetic(node, scope, aggregatesAllowed) : aggregate(node, scope, aggregatesAllowed)
    default:
      return unsupported()
  }
}

function columnRef(node: Expr, scope: Scope): Generated {
  const names = node.column_names ?? []
  let entry: { table: PlannedTable; remoteAlias: string } | undefined
  let columnName: string
  if (names.length === 2) {
    entry = scope.byAlias.get(names[0]!.toLowerCase())
    columnName = names[1]!
  } else if (names.length === 1) {
    columnName = names[0]!
    const owners = [...scope.byAlias.values()].filter((candidate) => findColumn(candidate.table, columnName))
    if (owners.length !== 1) unsupported()
    entry = owners[0]
  } else {
    return unsupported()
  }
  const column = entry && findColumn(entry.table, columnName)
  if (!entry || !column) return unsupported()
  const { dialect } = scope
  const kind = dialect.columnKind(column)
  const ref = `${entry.remoteAlias}.${dialect.quote(column.name)}`
  return { sql: dialect.column(ref, column, kind), kind, aggregate: false }
}

function findColumn(table: PlannedTable, name: string): SourceColumn | undefined {
  return (
    table.columns.find((column) => column.name === name) ??
    table.columns.find((column) => column.name.toLowerCase() === name.toLowerCase())
  )
}

const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER'])

function constant(value: ConstantValue, dialect: Dialect): Generated {
  if (value.is_null) return { sql: 'NULL', kind: 'null', aggregate: false }
  const id = value.type.id
  const raw = value.value
  if (INTEGER_TYPES.has(id) || id === 'DECIMAL') {
    // A DECIMAL of more than 18 digits is stored as a HUGEINT's halves: it stays in DuckDB.
    const integer = typeof raw === 'object' ? undefined : valueInteger(raw)
    if (integer === undefined || (!dialect.bigLiterals && (integer > MAX_SAFE || integer < -MAX_SAFE))) unsupported()
    if (id !== 'DECIMAL') return { sql: String(integer), kind: 'number', aggregate: false }
    const scale = value.type.type_info?.scale ?? 0
    const width = value.type.type_info?.width ?? 18
    return { sql: dialect.decimal(scaledDecimal(integer, scale), width, scale), kind: 'number', aggregate: false }
  }
  if (id === 'VARCHAR' && typeof raw === 'string' && !raw.includes('\0')) {
    return { sql: dialect.string(raw), kind: 'text', aggregate: false }
  }
  if (id === 'BOOLEAN' && typeof raw === 'boolean') return { sql: String(raw), kind: 'boolean', aggregate: false }
  return unsupported()
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** Casts of text constants: how SQL writes typed literals (DATE '…') and how parameters arrive. */
const CAST_TARGETS: Record<string, { pattern: RegExp; kind: ValueKind }> = {
  DATE: { pattern: /^\d{4}-\d{2}-\d{2}$/, kind: 'date' },
  TIMESTAMP: { pattern: /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$/, kind: 'timestamp' },
  'TIMESTAMP WITH TIME ZONE': {
    pattern: /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/,
    kind: 'timestamptz',
  },
  BIGINT: { pattern: /^-?\d{1,15}$/, kind: 'number' },
  INTEGER: { pattern: /^-?\d{1,9}$/, kind: 'number' },
  DECIMAL: { pattern: /^-?\d{1,20}(\.\d{1,10})?$/, kind: 'number' },
  VARCHAR: { pattern: /^[^\0]*$/, kind: 'text' },
  BOOLEAN: { pattern: /^(true|false)$/, kind: 'boolean' },
}

function cast(node: Expr, dialect: Dialect): Generated {
  const type = node.cast_type?.id ?? ''
  const target = CAST_TARGETS[type]
  const child = node.child
  if (!target || node.try_cast || child?.class !== 'CONSTANT') return unsupported()
  const value = child.value!
  const info = node.cast_type?.type_info ?? null
  if (value.is_null) return { sql: dialect.nullOf(type, info), kind: target.kind, aggregate: false }
  if (value.type.id !== 'VARCHAR' || typeof value.value !== 'string' || !target.pattern.test(value.value)) {
    return unsupported()
  }
  const sql = dialect.typed(value.value, type, info)
  return sql === undefined ? unsupported() : { sql, kind: target.kind, aggregate: false }
}

/** Operands of a comparison: one kind (or NULL), never padded or opaque; text in byte order. */
function comparable(nodes: Expr[], scope: Scope, aggregatesAllowed: boolean, ordering = false): Generated[] {
  const parts = nodes.map((node) => expression(node, scope, aggregatesAllowed))
  const kinds = new Set(
    parts.map((part) => (part.kind === 'unsigned' ? 'number' : part.kind)).filter((kind) => kind !== 'null'),
  )
  if (kinds.size > 1 || kinds.has('padded') || kinds.has('opaque')) unsupported()
  if (ordering && kinds.has('text') && !scope.dialect.textOrdering) unsupported()
  if (kinds.has('text')) return parts.map((part) => ({ ...part, sql: scope.dialect.text(part.sql) }))
  return parts
}

function operator(node: Expr, scope: Scope, aggregatesAllowed: boolean): Generated {
  const children = node.children ?? []
  switch (node.type) {
    case 'OPERATOR_NOT': {
      const inner = expression(children[0]!, scope, aggregatesAllowed)
      if (children.length !== 1 || inner.kind !== 'boolean') unsupported()
      return { sql: `(NOT ${inner.sql})`, kind: 'boolean', aggregate: inner.aggregate }
    }
    case 'OPERATOR_IS_NULL':
    case 'OPERATOR_IS_NOT_NULL': {
      if (children.length !== 1) unsupported()
      const inner = expression(children[0]!, scope, aggregatesAllowed)
      const test = node.type === 'OPERATOR_IS_NULL' ? 'IS NULL' : 'IS NOT NULL'
      return { sql: `(${inner.sql} ${test})`, kind: 'boolean', aggregate: inner.aggregate }
    }
    case 'COMPARE_IN':
    case 'COMPARE_NOT_IN': {
      if (children.length < 2) unsupported()
      const [first, ...rest] = comparable(children, scope, aggregatesAllowed)
      const op = node.type === 'COMPARE_IN' ? 'IN' : 'NOT IN'
      return {
        sql: `(${first!.sql} ${op} (${rest.map((part) => part.sql).join(', ')}))`,
        kind: 'boolean',
        aggregate: [first!, ...rest].some((part) => part.aggregate),
      }
    }
    case 'OPERATOR_COALESCE': {
      const parts = children.map((child) => expression(child, scope, aggregatesAllowed))
      const kinds = new Set(parts.map((part) => part.kind).filter((kind) => kind !== 'null'))
      const [kind] = kinds
      if (kinds.size !== 1 || kind === 'opaque' || kind === 'padded' || kind === 'unsigned') unsupported()
      return {
        sql: `coalesce(${parts.map((part) => part.sql).join(', ')})`,
        kind: kind!,
        aggregate: parts.some((part) => part.aggregate),
      }
    }
    default:
      return unsupported()
  }
}

function arithmetic(node: Expr, scope: Scope, aggregatesAllowed: boolean): Generated {
  const name = node.function_name ?? ''
  const parts = (node.children ?? []).map((child) => expression(child, scope, aggregatesAllowed))
  if (!scope.dialect.arithmetic || !['+', '-', '*'].includes(name) || parts.some((part) => part.kind !== 'number')) {
    unsupported()
  }
  const aggregate = parts.some((part) => part.aggregate)
  if (parts.length === 1 && name === '-') return { sql: `(-${parts[0]!.sql})`, kind: 'number', aggregate }
  if (parts.length !== 2) unsupported()
  return { sql: `(${parts[0]!.sql} ${name} ${parts[1]!.sql})`, kind: 'number', aggregate }
}

function aggregate(node: Expr, scope: Scope, aggregatesAllowed: boolean): Generated {
  const name = node.function_name ?? ''
  if (!aggregatesAllowed || !AGGREGATES.has(name) || node.filter || (node.order_bys?.orders ?? []).length > 0) {
    unsupported()
  }
  if (node.export_state || (node.schema ?? '') !== '' || (node.catalog ?? '') !== '') unsupported()
  if (name === 'count_star') return { sql: 'count(*)', kind: 'number', aggregate: true }
  const children = node.children ?? []
  if (children.length !== 1) unsupported()
  const argument = expression(children[0]!, scope, false)
  if (argument.aggregate) unsupported()
  const distinct = node.distinct ? 'DISTINCT ' : ''
  switch (name) {
    case 'count':
      if (node.distinct && (argument.kind === 'opaque' || argument.kind === 'null')) unsupported()
      return { sql: `count(${distinct}${argument.sql})`, kind: 'number', aggregate: true }
    case 'sum':
    case 'avg':
      if (argument.kind !== 'number' && argument.kind !== 'unsigned') unsupported()
      return {
        sql: name === 'avg' ? scope.dialect.avg(argument.sql, distinct) : `sum(${distinct}${argument.sql})`,
        kind: 'number',
        aggregate: true,
      }
    default: {
      // min and max
      const ordered = ['number', 'unsigned', 'date', 'timestamp', 'timestamptz', 'text'].includes(argument.kind)
      if (!ordered || (argument.kind === 'text' && !scope.dialect.textOrdering)) unsupported()
      const sql = argument.kind === 'text' ? scope.dialect.text(argument.sql) : argument.sql
      return { sql: `${name}(${distinct}${sql})`, kind: argument.kind, aggregate: true }
    }
  }
}

function booleanSql(generated: Generated): string {
  if (generated.kind !== 'boolean') unsupported()
  return generated.sql
}

function isPositional(node: Expr): boolean {
  return node.class === 'CONSTANT' && INTEGER_TYPES.has(node.value?.type.id ?? '') && !node.value?.is_null
}

/** A sort key as the position of the output column it names: by alias, or by being that select item. */
function positionOf(key: Expr, node: QueryNode): Expr {
  if (isPositional(key)) return key
  const strip = (expr: Expr) => stringifyDuckJson(expr, { omit: IGNORED_KEYS })
  const wanted = strip(key)
  const names =
    key.class === 'COLUMN_REF' && key.column_names?.length === 1 ? key.column_names[0]!.toLowerCase() : undefined
  const index = node.select_list.findIndex(
    (item) => (names !== undefined && item.alias.toLowerCase() === names) || strip(item) === wanted,
  )
  if (index < 0) unsupported()
  return {
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: '',
    query_location: key.query_location,
    value: { type: { id: 'INTEGER', type_info: null }, is_null: false, value: index + 1 },
  }
}

const IGNORED_KEYS = new Set(['query_location', 'alias'])

function selectStarFrom(table: { catalog: string; name: string }, modifiers: QueryModifier[]): QueryNode {
  return {
    type: 'SELECT_NODE',
    modifiers,
    cte_map: { map: [] },
    select_list: [
      {
        class: 'STAR',
        type: 'STAR',
        alias: '',
        relation_name: '',
        exclude_list: [],
        replace_list: [],
        columns: false,
        expr: null,
        qualified_exclude_list: [],
        rename_list: [],
      } as unknown as Expr,
    ],
    from_table: {
      type: 'BASE_TABLE',
      alias: '',
      sample: null,
      schema_name: 'main',
      table_name: table.name,
      column_name_alias: [],
      catalog_name: table.catalog,
      at_clause: null,
    },
    where_clause: null,
    group_expressions: [],
    group_sets: [],
    aggregate_handling: 'STANDARD_HANDLING',
    having: null,
    sample: null,
    qualify: null,
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

// ---------------------------------------------------------------------------------------------------
// The parts of json_serialize_sql's tree that pushdown reads.

export interface ParsedStatement {
  error: boolean
  statements: { node: QueryNode; named_param_map?: unknown[] }[]
}

interface ConstantValue {
  type: { id: string; type_info: TypeInfo | null }
  is_null: boolean
  value?: unknown
}

interface Expr {
  class: string
  type: string
  alias: string
  /** A bigint when unknown (UINT64_MAX). */
  query_location?: number | bigint
  column_names?: string[]
  value?: ConstantValue
  left?: Expr
  right?: Expr
  input?: Expr
  lower?: Expr
  upper?: Expr
  child?: Expr
  children?: Expr[]
  cast_type?: { id: string; type_info: TypeInfo | null }
  try_cast?: boolean
  function_name?: string
  schema?: string
  catalog?: string
  is_operator?: boolean
  distinct?: boolean
  filter?: Expr | null
  order_bys?: { orders?: unknown[] }
  export_state?: boolean
}

interface TableRef {
  type: string
  alias?: string
  sample?: unknown
  schema_name?: string
  table_name?: string
  catalog_name?: string
  column_name_alias?: string[]
  at_clause?: unknown
  left?: TableRef
  right?: TableRef
  condition?: Expr | null
  join_type?: string
  ref_type?: string
  using_columns?: string[]
  subquery?: { node?: QueryNode }
}

interface QueryModifier {
  type: string
  distinct_on_targets?: unknown[]
}

interface OrderModifier extends QueryModifier {
  orders: { type: string; null_order: string; expression: Expr }[]
}

export interface QueryNode {
  type: string
  modifiers?: QueryModifier[]
  cte_map?: { map: unknown[] }
  select_list: Expr[]
  from_table?: TableRef
  where_clause?: Expr | null
  group_expressions?: Expr[]
  group_sets?: number[][]
  aggregate_handling?: string
  having?: Expr | null
  sample?: unknown
  qualify?: unknown
}
