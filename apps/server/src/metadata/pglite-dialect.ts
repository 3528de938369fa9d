import { parse, protocol, type PGlite } from '@electric-sql/pglite'
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely'

/**
 * Kysely over PGlite. PGlite is one connection in this process, so the driver hands it out to one
 * user at a time: a transaction must never interleave with another request's statements.
 */
export interface PGliteDialectOptions {
  /** Statements kept prepared at once (default 500); the least recently prepared one is closed beyond this. */
  maxPreparedStatements?: number
}

export class PGliteDialect implements Dialect {
  constructor(
    private readonly pglite: PGlite,
    private readonly options: PGliteDialectOptions = {},
  ) {}

  createAdapter() {
    return new PostgresAdapter()
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pglite, this.options.maxPreparedStatements ?? 500)
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db)
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler()
  }
}

class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection
  #queue: Promise<void> = Promise.resolve()
  #release: (() => void) | undefined

  constructor(
    private readonly pglite: PGlite,
    maxPreparedStatements: number,
  ) {
    this.#connection = new PGliteConnection(pglite, maxPreparedStatements)
  }

  async init(): Promise<void> {
    await this.pglite.waitReady
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#queue
    let release!: () => void
    this.#queue = new Promise<void>((resolve) => (release = resolve))
    await previous
    this.#release = release
    return this.#connection
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release
    this.#release = undefined
    release?.()
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'))
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }

  async destroy(): Promise<void> {
    await this.#queue
    if (!this.pglite.closed) await this.pglite.close()
  }
}

type Message = Awaited<ReturnType<PGlite['execProtocolStream']>>[number]
type RowDescription = Extract<Parameters<typeof parse.parseResults>[0][number], { name: 'rowDescription' }>

interface PreparedStatement {
  name: string
  paramTypes: number[]
  /** The statement's result columns, or none for a statement that returns no rows. */
  rowDescription: Message | undefined
}

/** Only plain data statements are prepared: they are what the API repeats, and they never change the schema. */
const PREPARABLE = /^\s*(?:select|insert|update|delete|with)\b/i
/** Statements that neither read data nor change the schema. */
const TRANSACTION_CONTROL = /^\s*(begin|start|commit|end|rollback|savepoint|release)\b/i

const { serialize } = protocol
const SYNC = serialize.sync()
const EXECUTE = serialize.execute({})

/**
 * One PGlite session. `pglite.query()` runs every statement as six separate protocol round trips
 * into the wasm Postgres (parse, describe, bind, describe, execute, sync), and Postgres parses and
 * plans it each time: ~0.5 ms of CPU for a primary-key lookup. Data statements are therefore
 * prepared once under a name and then run as one bind/execute/sync message, about three times
 * cheaper. Anything else (DDL above all) goes through `query()` and, since it may change what a
 * prepared statement returns, drops every prepared statement.
 */
class PGliteConnection implements DatabaseConnection {
  readonly #prepared = new Map<string, PreparedStatement>()
  #statementCounter = 0
  /** A schema change ran inside the open transaction: rolling it back makes statements prepared since then stale. */
  #schemaChangedInTransaction = false

  constructor(
    private readonly pglite: PGlite,
    private readonly maxPrepared: number,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const { sql } = compiled
    if (!PREPARABLE.test(sql)) return this.#executeUnprepared(sql, compiled.parameters)

    const statement = this.#prepared.get(sql) ?? (await this.#prepare(sql))
    const values = compiled.parameters.map((value, i) => this.#serialize(value, statement.paramTypes[i]))
    let messages: Message[]
    try {
      messages = await this.#exec(concat([serialize.bind({ statement: statement.name, values }), EXECUTE, SYNC]))
    } catch (error) {
      // A statement Postgres no longer knows (26000) must not stay cached; the next call prepares it again.
      if (codeOf(error) === '26000') this.#prepared.delete(sql)
      throw withQuery(error, sql)
    }
    const [result] = parse.parseResults(
      statement.rowDescription ? [statement.rowDescription, ...messages] : messages,
      this.pglite.parsers,
    )
    return {
      rows: (result?.rows ?? []) as R[],
      numAffectedRows: result?.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not stream query results')
  }

  async #prepare(sql: string): Promise<PreparedStatement> {
    const parts: Uint8Array[] = []
    if (this.#prepared.size >= this.maxPrepared) {
      const [oldestSql, oldest] = this.#prepared.entries().next().value!
      this.#prepared.delete(oldestSql)
      parts.push(serialize.close({ type: 'S', name: oldest.name }))
    }
    // Names are never reused, so a statement that failed to close can never clash with a new one.
    const name = `tributary_${++this.#statementCounter}`
    parts.push(serialize.parse({ name, text: sql, types: [] }), serialize.describe({ type: 'S', name }), SYNC)
    let messages: Message[]
    try {
      messages = await this.#exec(concat(parts))
    } catch (error) {
      throw withQuery(error, sql)
    }
    const statement: PreparedStatement = {
      name,
      paramTypes: parse.parseDescribeStatementResults(messages),
      rowDescription: messages.find((message): message is RowDescription => message.name === 'rowDescription'),
    }
    this.#prepared.set(sql, statement)
    return statement
  }

  async #executeUnprepared<R>(sql: string, parameters: readonly unknown[]): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(sql, [...parameters])
    const control = TRANSACTION_CONTROL.exec(sql)?.[1]?.toLowerCase()
    if (control === undefined) {
      // Anything else may have changed the schema (DDL above all), and with it what a prepared statement returns.
      this.#schemaChangedInTransaction = this.pglite.isInTransaction()
      await this.#forgetPrepared()
    } else if (
      this.#schemaChangedInTransaction &&
      (control === 'rollback' || control === 'commit' || control === 'end')
    ) {
      // A rollback undoes the change: statements prepared since then are stale as well.
      this.#schemaChangedInTransaction = this.pglite.isInTransaction()
      await this.#forgetPrepared()
    }
    return {
      rows: result.rows,
      numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    }
  }

  async #forgetPrepared(): Promise<void> {
    if (this.#prepared.size === 0) return
    this.#prepared.clear()
    await this.#exec(serialize.query('deallocate all'))
  }

  /** PGlite's own `query()` takes the same lock and sends the same messages, only one at a time. */
  #exec(message: Uint8Array): Promise<Message[]> {
    return this.pglite.runExclusive(() => this.pglite.execProtocolStream(message, {}))
  }

  /** As `pglite.query()` does: by the type Postgres inferred for the parameter, else as text. */
  #serialize(value: unknown, type: number | undefined): string | null {
    if (value === null || value === undefined) return null
    const serializer = type === undefined ? undefined : this.pglite.serializers[type]
    return serializer ? serializer(value) : (value as { toString(): string }).toString()
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const message = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    message.set(part, offset)
    offset += part.length
  }
  return message
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
}

/** Like `pglite.query()`'s errors, say which statement failed (but not its parameters, which may be secrets). */
function withQuery(error: unknown, sql: string): unknown {
  if (typeof error === 'object' && error !== null && !('query' in error)) Object.assign(error, { query: sql })
  return error
}
