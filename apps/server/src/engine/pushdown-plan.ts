import type { DuckDBConnection } from '@duckdb/node-api'

import type { SourceColumn } from './connectors/connector.js'
import { castDoubleConstants, parseDuckJson, stringifyDuckJson } from './duckdb-json.js'
import { quoteIdentifier } from './duckdb-sql.js'
import type { CatalogHandle } from './catalog-handle.js'
import type { PlannedTable } from './planner.js'
import { findPushdowns, type ParsedStatement, type QueryNode } from './pushdown.js'
import type { BoundSql } from './sql-text.js'

/** Where pushed results land: a name no project catalog can take (those start with a letter). */
const PUSHDOWN_CATALOG = '__pushdown'

export interface PushedQuery {
  catalog: string
  /** The tables it joins, for the stats. */
  tables: string
  remoteSql: string
  /** The DuckDB table that receives the rows. */
  target: string
  /** Output columns as the source names them (`c0`, …), with the DuckDB types they parse as. */
  columns: SourceColumn[]
  /** The same columns as the target table names them. */
  targetColumns: string[]
}

export interface PushdownPlan {
  pushed: PushedQuery[]
  /** The tables the rewritten query still reads through scans. */
  stillRead: Set<PlannedTable>
  planningSql: string
  executableSql: string
  values: Record<string, string | null>
}

/**
 * Sends what it can to the sources whole (see pushdown.ts) and rewrites the query to read those
 * results instead. The stand-in tables must exist: each pushed subquery is bound against them to
 * learn its output columns, and one that does not bind as expected stays in DuckDB.
 */
export async function pushDown(
  connection: DuckDBConnection,
  executableTree: ParsedStatement,
  bound: BoundSql,
  tables: PlannedTable[],
  catalogs: ReadonlyMap<string, CatalogHandle>,
  /** Names of subqueries that are inlined views (see views.ts). */
  viewAliases: ReadonlySet<string> = new Set(),
): Promise<PushdownPlan> {
  const unchanged: PushdownPlan = {
    pushed: [],
    stillRead: new Set(tables),
    planningSql: bound.planningSql,
    executableSql: bound.sql,
    values: bound.values,
  }
  if (![...catalogs.values()].some((handle) => handle.pushdownDialect)) return unchanged
  const executable = structuredClone(executableTree)
  const planning =
    bound.planningSql === bound.sql ? structuredClone(executableTree) : await parse(connection, bound.planningSql)
  if (!planning) return unchanged

  const candidates = findPushdowns(planning, executable, {
    // A table read from local files (a cached copy) is no source table: what names it is not sent to the source.
    resolve: (ref) => {
      const table = findTable(tables, ref)
      return table && !catalogs.get(table.catalog)?.localTables?.(table.schema, table.table) ? table : undefined
    },
    dialectOf: (catalog) => catalogs.get(catalog)?.pushdownDialect,
    isView: (alias) => viewAliases.has(alias.toLowerCase()),
  })
  const pushed: PushedQuery[] = []
  for (const candidate of candidates) {
    const columns = await outputColumns(connection, candidate.duckSelect)
    if (!columns) continue
    if (pushed.length === 0) await connection.run(`ATTACH ':memory:' AS ${quoteIdentifier(PUSHDOWN_CATALOG)}`)
    const name = `q${pushed.length}`
    const target = `${quoteIdentifier(PUSHDOWN_CATALOG)}.main.${quoteIdentifier(name)}`
    await connection.run(
      `CREATE TABLE ${target} (${columns.map((column) => `${quoteIdentifier(column.name)} ${column.type}`).join(', ')})`,
    )
    candidate.replace({ catalog: PUSHDOWN_CATALOG, name })
    pushed.push({
      catalog: candidate.catalog,
      tables: [...new Set(candidate.tables.map((table) => `${table.schema}.${table.table}`))].join(', '),
      remoteSql: candidate.remoteSql,
      target,
      columns: columns.map((column, i) => ({ name: `c${i}`, type: column.type, source_type: '', nullable: true })),
      targetColumns: columns.map((column) => column.name),
    })
  }
  if (pushed.length === 0) return unchanged

  const executableJson = stringifyDuckJson(executable)
  const stillNamed = tableRefs(executable)
  return {
    pushed,
    stillRead: new Set(tables.filter((table) => stillNamed.some((ref) => findTable([table], ref)))),
    planningSql: await deserialize(connection, planning),
    executableSql: await print(connection, executableJson),
    // Parameters used only inside pushed subqueries went to the source as literals.
    values: Object.fromEntries(
      Object.entries(bound.values).filter(([name]) => executableJson.includes(`"identifier":${JSON.stringify(name)}`)),
    ),
  }
}

function findTable(
  tables: PlannedTable[],
  ref: { catalog: string; schema: string; table: string },
): PlannedTable | undefined {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()
  return tables.find(
    (table) => same(table.catalog, ref.catalog) && same(table.schema, ref.schema) && same(table.table, ref.table),
  )
}

/** Every BASE_TABLE the tree still names. */
function tableRefs(tree: unknown): { catalog: string; schema: string; table: string }[] {
  const found: { catalog: string; schema: string; table: string }[] = []
  const visit = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(visit)
    if (typeof value !== 'object' || value === null) return
    const node = value as Record<string, unknown>
    if (node['type'] === 'BASE_TABLE' && typeof node['table_name'] === 'string') {
      found.push({
        catalog: typeof node['catalog_name'] === 'string' ? node['catalog_name'] : '',
        schema: typeof node['schema_name'] === 'string' && node['schema_name'] !== '' ? node['schema_name'] : 'main',
        table: node['table_name'],
      })
    }
    Object.values(node).forEach(visit)
  }
  visit(tree)
  return found
}

/** The subquery's output columns as DuckDB binds them over the stand-ins; undefined when unusable. */
async function outputColumns(
  connection: DuckDBConnection,
  node: QueryNode,
): Promise<{ name: string; type: string }[] | undefined> {
  try {
    const sql = await deserialize(connection, { error: false, statements: [{ node, named_param_map: [] }] })
    const prepared = await connection.prepare(sql)
    const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({
      name: prepared.columnName(i),
      type: prepared.columnType(i).toString(),
    }))
    prepared.destroySync()
    const names = new Set(columns.map((column) => column.name.toLowerCase()))
    return names.size === columns.length ? columns : undefined
  } catch {
    return undefined
  }
}

async function parse(connection: DuckDBConnection, sql: string): Promise<ParsedStatement | undefined> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])
  const tree = parseDuckJson(String(reader.getRows()[0]?.[0])) as ParsedStatement
  if (tree.error) return undefined
  // It may be printed back (planningSql), as sql-guard prints the executable tree.
  castDoubleConstants(tree)
  return tree
}

function deserialize(connection: DuckDBConnection, tree: ParsedStatement): Promise<string> {
  return print(connection, stringifyDuckJson(tree))
}

async function print(connection: DuckDBConnection, json: string): Promise<string> {
  const reader = await connection.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [json])
  return String(reader.getRows()[0]?.[0])
}
