import {
  CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Compilable,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from 'kysely'

import type { Database } from './schema.js'

// `database.ts` builds on this file: naming its `MetadataDb` here would be an import cycle.
type MetadataDb = Kysely<Database>

/**
 * Hot queries, built and compiled once instead of on every request, and run on PostgreSQL as named
 * prepared statements: Postgres then parses and plans them once per connection, not per call
 * (about 80 µs of its CPU less per lookup). PGlite prepares every data statement anyway (see
 * pglite-dialect.ts).
 *
 * A prepared query must name its columns rather than select `*`: a statement prepared before
 * another version of the server adds a column would otherwise fail ("cached plan must not change
 * result type") until this process restarts.
 */
export interface PreparedQuery<Row, Params extends unknown[]> {
  readonly sql: string
  execute(db: MetadataDb, ...params: Params): Promise<Row[]>
  executeTakeFirst(db: MetadataDb, ...params: Params): Promise<Row | undefined>
}

/** Compiles queries, never runs them: both stores speak PostgreSQL's dialect. */
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
})

/** Statement name by SQL text, for the PostgreSQL pool. */
const statementNames = new Map<string, string>()

/**
 * `build` runs once, with stand-ins for the parameters: it must use each of them as a value only
 * (in `where`, `values`, `set`...), which is where Kysely turns them into `$n` placeholders.
 */
export function prepareQuery<Row, Params extends unknown[]>(
  name: string,
  build: (db: Kysely<Database>, ...params: Params) => Compilable<Row>,
): PreparedQuery<Row, Params> {
  if (build.length < 1) throw new Error(`prepared query ${name}: build takes (db, ...params)`)
  const markers = Array.from({ length: build.length - 1 }, (_, i) => `\u0000${name}:param${i}`)
  const compiled = build(compiler, ...(markers as Params)).compile()
  // Where each placeholder's value comes from: the caller's parameter at that index, or (-1) the query's own constant.
  const slots = compiled.parameters.map((value) => markers.indexOf(value as string))
  const unused = markers.filter((marker) => !compiled.parameters.includes(marker))
  if (unused.length > 0) throw new Error(`prepared query ${name}: a parameter is not used as a value`)

  const statementName = `tributary_${name}`
  const known = [...statementNames].find(([, existing]) => existing === statementName)
  if (known && known[0] !== compiled.sql) throw new Error(`prepared query ${name} is defined twice`)
  statementNames.set(compiled.sql, statementName)

  const compile = (params: Params) =>
    CompiledQuery.raw(
      compiled.sql,
      slots.map((slot, i) => (slot >= 0 ? params[slot] : compiled.parameters[i])),
    )
  return {
    sql: compiled.sql,
    async execute(db, ...params) {
      return (await db.executeQuery<Row>(compile(params))).rows
    },
    async executeTakeFirst(db, ...params) {
      return (await db.executeQuery<Row>(compile(params))).rows[0]
    },
  }
}

/**
 * A pool for Kysely's PostgreSQL dialect that runs prepared queries as named statements. The pg
 * driver parses a named statement once per connection and afterwards only binds and executes it.
 */
export function namingPool(pool: PostgresPool): PostgresPool {
  const wrapped = new WeakMap<PostgresPoolClient, PostgresPoolClient>()
  return {
    async connect() {
      const client = await pool.connect()
      let naming = wrapped.get(client)
      if (!naming) {
        naming = namingClient(client)
        wrapped.set(client, naming)
      }
      return naming
    },
    end: () => pool.end(),
  }
}

/** The subset of pg's `Client.query` this needs: the query-config form with a statement name. */
interface NamedQueryClient {
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<PostgresQueryResult<R>>
}

function namingClient(client: PostgresPoolClient): PostgresPoolClient {
  const named = client as unknown as NamedQueryClient
  const query = <R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> => {
    const name = statementNames.get(sql)
    return name ? named.query<R>({ name, text: sql, values: [...parameters] }) : client.query<R>(sql, parameters)
  }
  // Kysely hands `query` a cursor only when its dialect is configured with one, and this store's is not.
  return { query: query as PostgresPoolClient['query'], release: () => client.release() }
}
