import type { DuckDBConnection } from '@duckdb/node-api'

import type { CatalogHandle, ViewDefinition } from './catalog-handle.js'
import { guardSql, parseTree, printTree, SqlGuardError, type GuardedQuery } from './sql-guard.js'
import type { BoundSql } from './sql-text.js'

/**
 * Views: tables of a catalog that are queries (saved queries, semantic tables). Each reference to
 * one is replaced in DuckDB's parse tree by its query as a subquery, under the name or alias the
 * reference had (so `t.col` still binds), before anything is planned; views inside views are
 * inlined the same way. The result is checked by the guard again, and DuckDB's optimizer then pushes
 * the outer query's filters through the subqueries into the scans of the sources below.
 *
 * A view with a `scope` names catalogs of another project (a shared semantic catalog): those are
 * resolved there and renamed to `__s<n>_<name>`, a name a query may not write (see
 * `refuseInternalNames`), so the query reaches them only through the view.
 */

/** Views within views, at most this deep. */
export const MAX_VIEW_DEPTH = 8

const INTERNAL_PREFIX = '__'

/** Resolves catalogs once per name and scope; scoped ones come back under their internal names. */
export class CatalogResolver {
  readonly #byName = new Map<string, Promise<CatalogHandle | undefined>>()
  readonly #scopes = new Map<string, number>()

  constructor(
    private readonly resolve: (names: readonly string[], scope?: string) => Promise<ReadonlyMap<string, CatalogHandle>>,
  ) {}

  /** The handles of `names` (lower-cased) as seen from `scope`, keyed by the name written. */
  async handles(names: readonly string[], scope: string | undefined): Promise<Map<string, CatalogHandle>> {
    const lower = [...new Set(names.map((name) => name.toLowerCase()))]
    const missing = lower.filter((name) => !this.#byName.has(this.#key(name, scope)))
    if (missing.length > 0) {
      const resolved = this.resolve(missing, scope)
      for (const name of missing) {
        this.#byName.set(
          this.#key(name, scope),
          resolved.then((found) => {
            const handle = found.get(name)
            if (!handle || scope === undefined) return handle
            // A catalog of another project: the query names it by a name only views can write.
            return { ...handle, name: this.internalName(name, scope), label: handle.name }
          }),
        )
      }
    }
    const found = new Map<string, CatalogHandle>()
    for (const name of lower) {
      const handle = await this.#byName.get(this.#key(name, scope))!
      if (handle) found.set(name, handle)
    }
    return found
  }

  /** For the final query, whose catalogs are the query's own or internal names handed out here. */
  async resolveFinal(names: readonly string[]): Promise<ReadonlyMap<string, CatalogHandle>> {
    const own = names.filter((name) => !name.startsWith(INTERNAL_PREFIX))
    const found = await this.handles(own, undefined)
    for (const [key, handle] of this.#byName) {
      if (!key.startsWith('\0')) continue
      const resolved = await handle
      if (resolved && names.includes(resolved.name)) found.set(resolved.name, resolved)
    }
    return found
  }

  /** The project an internal catalog name (`internalName`) was handed out for; undefined for the query's own. */
  scopeOf(catalog: string): string | undefined {
    for (const [scope, index] of this.#scopes) {
      if (catalog.startsWith(`${INTERNAL_PREFIX}s${index}_`)) return scope
    }
    return undefined
  }

  internalName(name: string, scope: string): string {
    let index = this.#scopes.get(scope)
    if (index === undefined) {
      index = this.#scopes.size
      this.#scopes.set(scope, index)
    }
    return `${INTERNAL_PREFIX}s${index}_${name.toLowerCase()}`
  }

  #key(name: string, scope: string | undefined): string {
    return scope === undefined ? name : `\0${scope}\0${name}`
  }
}

/** A name the query's author wrote that only the engine may write: refused as if unknown. */
export function refuseInternalNames(tables: GuardedQuery['tables'], label?: string): void {
  for (const table of tables) {
    if (table.catalog?.startsWith(INTERNAL_PREFIX)) {
      const written = [table.catalog, table.schema, table.table].filter(Boolean).join('.')
      throw new SqlGuardError(
        `${label ? `view ${label}: ` : ''}table ${written} is not available: catalog names starting with ${INTERNAL_PREFIX} are reserved`,
      )
    }
  }
}

export type JsonObject = Record<string, unknown>

/** A view being inlined: as the query named it, and its key (scope, catalog, schema, table). */
interface ChainLink {
  label: string
  key: string
}

interface Inlined {
  bound: BoundSql
  guarded: GuardedQuery
  /** The names (lower-cased) the inlined subqueries go by, so the pushdown can tell them apart. */
  viewAliases: Set<string>
}

/**
 * Replaces every view the checked query names by its query; undefined when it names none. Errors
 * (a view that does not parse, a cycle, views nested too deep) are SqlGuardErrors.
 */
export async function inlineViews(
  connection: DuckDBConnection,
  bound: BoundSql,
  guarded: GuardedQuery,
  resolver: CatalogResolver,
): Promise<Inlined | undefined> {
  const inliner = new Inliner(connection, resolver)
  const executable = guarded.tree
  if (!(await inliner.inline(executable, undefined, []))) return undefined
  let planningSql: string
  const sql = await printTree(connection, executable)
  if (bound.planningSql === bound.sql) planningSql = sql
  else {
    const planning = await parseTree(connection, bound.planningSql)
    await inliner.inline(planning, undefined, [])
    planningSql = await printTree(connection, planning)
  }
  const rebound: BoundSql = { sql, planningSql, values: bound.values }
  return { bound: rebound, guarded: await guardSql(connection, rebound), viewAliases: inliner.aliases }
}

class Inliner {
  /** Each view's query, its own views already inlined, by scope and name. */
  readonly #bodies = new Map<string, Promise<JsonObject>>()
  readonly aliases = new Set<string>()

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly resolver: CatalogResolver,
  ) {}

  /**
   * Inlines the views under `tree`, whose catalog names are those of `scope` (renamed to their
   * internal names when it is set). `chain`: the views being inlined around it. True when it changed.
   */
  async inline(tree: unknown, scope: string | undefined, chain: readonly ChainLink[]): Promise<boolean> {
    const refs = baseTables(tree)
    if (refs.length === 0) return false
    const handles = await this.resolver.handles(
      refs.map(({ node }) => node.catalog_name as string),
      scope,
    )
    let changed = false
    for (const { node, replace } of refs) {
      const catalog = (node.catalog_name as string).toLowerCase()
      const handle = handles.get(catalog)
      if (!handle) {
        if (scope === undefined) continue // worded later, with the project's catalogs
        throw new SqlGuardError(`view ${chain.at(-1)?.label}: unknown catalog '${node.catalog_name as string}'`)
      }
      const schema = typeof node.schema_name === 'string' && node.schema_name !== '' ? node.schema_name : 'main'
      const table = node.table_name as string
      const view = handle.views?.(schema, table)
      if (!view) {
        if (scope !== undefined) {
          node.catalog_name = handle.name
          changed = true
        }
        continue
      }
      const label = `${node.catalog_name as string}.${schema}.${table}`
      if (node.at_clause) throw new SqlGuardError(`view ${label} has no versions to read AT`)
      if (view.error !== undefined) throw new SqlGuardError(`view ${label}: ${view.error}`)
      const effective = view.scope ?? scope
      const key = JSON.stringify([effective ?? null, catalog, schema.toLowerCase(), table.toLowerCase()])
      if (chain.some((link) => link.key === key)) {
        const path = [...chain.map((link) => link.label), label].join(' → ')
        throw new SqlGuardError(`view ${label} refers to itself (${path})`)
      }
      if (chain.length >= MAX_VIEW_DEPTH) {
        throw new SqlGuardError(`view ${label} is nested more than ${MAX_VIEW_DEPTH} views deep`)
      }
      let body = this.#bodies.get(key)
      if (!body) {
        body = this.#body(view, effective, [...chain, { label, key }], label)
        this.#bodies.set(key, body)
      }
      const alias = typeof node.alias === 'string' && node.alias !== '' ? node.alias : table
      this.aliases.add(alias.toLowerCase())
      replace({
        type: 'SUBQUERY',
        alias,
        sample: node.sample ?? null,
        query_location: node.query_location,
        subquery: { node: structuredClone(await body), named_param_map: [] },
        column_name_alias: node.column_name_alias ?? [],
      })
      changed = true
    }
    return changed
  }

  async #body(view: ViewDefinition, scope: string | undefined, chain: ChainLink[], label: string): Promise<JsonObject> {
    let guarded: GuardedQuery
    try {
      guarded = await guardSql(this.connection, view.sql)
      refuseInternalNames(guarded.tables)
    } catch (error) {
      if (error instanceof SqlGuardError) throw new SqlGuardError(`view ${label}: ${error.message}`)
      throw error
    }
    const node = (guarded.tree as { statements: { node: JsonObject }[] }).statements[0]!.node
    await this.inline(node, scope, chain)
    return node
  }
}

/** Every catalog-qualified table reference under `tree`, with a way to replace it where it sits. */
export function baseTables(tree: unknown): { node: JsonObject; replace: (by: JsonObject) => void }[] {
  const found: { node: JsonObject; replace: (by: JsonObject) => void }[] = []
  const visit = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(visit)
    if (!isObject(value)) return
    if (value.class === 'CONSTANT') return
    for (const [key, child] of Object.entries(value)) {
      if (isObject(child) && child.class === undefined && child.type === 'BASE_TABLE') {
        if (typeof child.catalog_name === 'string' && child.catalog_name !== '') {
          found.push({ node: child, replace: (by) => (value[key] = by) })
        }
        continue
      }
      visit(child)
    }
  }
  visit(tree)
  return found
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
