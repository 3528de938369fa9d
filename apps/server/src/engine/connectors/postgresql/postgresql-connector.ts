import type { z } from 'zod'

import pg from 'pg'
import {
  type Connector,
  type ConnectorContext,
  type LoadSink,
  type QueryRequest,
  type ScanRequest,
  type ScanResult,
  type SourceCatalog,
  type SourceKeys,
  type SourceSchema,
  type SourceSession,
} from '../connector.js'
import { isSinkFailure } from '../scan-errors.js'
import { describeNetworkError, errorParts, networkDatabaseConfig, sourceError, timedOut } from '../network.js'
import { postgresqlDialect } from './postgresql-dialect.js'
import { KEYS_SQL, type KeyRow, keysFromRows, ROW_ESTIMATES_SQL, type RowEstimateRow } from './postgresql-keys.js'
import { copyToSink, postgresqlQuerySql, postgresqlScanSql } from './postgresql-scan.js'
import { postgresqlTypeToDuckDb } from './postgresql-types.js'

/** Long enough for a catalog of tens of thousands of columns; scans lift it for their own transaction. */
const STATEMENT_TIMEOUT_MS = 30_000

export const PostgresqlConfigSchema = networkDatabaseConfig({ defaultPort: 5432, databaseMax: 63, userMax: 63 })

export type PostgresqlConfig = z.output<typeof PostgresqlConfigSchema>

/** The options every session is opened with; exported so tests can prove what a session may do. */
export function postgresqlClientConfig(config: PostgresqlConfig, context: ConnectorContext): pg.ClientConfig {
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    // pg falls back to PGPASSWORD and ~/.pgpass when the password is empty: a tenant's connection must never
    // borrow the platform's own credentials, so the password is always given, even when it is ''.
    password: () => config.password,
    // Given explicitly, for the same reason: otherwise PGSSLMODE from the platform's environment applies.
    ssl:
      config.ssl === 'disable'
        ? false
        : // 'require' encrypts without checking who answers, like libpq's sslmode=require.
          { rejectUnauthorized: config.ssl === 'verify-full' },
    connectionTimeoutMillis: context.connectTimeoutMs,
    application_name: 'tributary',
    // Set at startup rather than by a later SET, so no statement ever runs before the session is read-only.
    options: `-c default_transaction_read_only=on -c statement_timeout=${STATEMENT_TIMEOUT_MS}`,
  }
}

/** A connected client in a read-only session, or a SourceError saying what to fix. */
export async function openPostgresqlClient(config: PostgresqlConfig, context: ConnectorContext): Promise<pg.Client> {
  const client = new pg.Client(postgresqlClientConfig(config, context))
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  // The failure also surfaces in the next query, which is where it is reported.
  client.on('error', () => undefined)
  try {
    await client.connect()
  } catch (error) {
    throw describePostgresqlError(error, config, context)
  }
  return client
}

/**
 * One round trip for the whole catalog. Domains are followed down to their base type (through domains of
 * domains), keeping any NOT NULL a domain adds. Only what the user may read is listed (schemas with USAGE,
 * tables and columns with SELECT), as MySQL's information_schema does by itself: anything else would fail
 * the moment it is queried. Empty schemas come through as one row without a table. `name` sorts in byte
 * order, so schemas and tables arrive sorted by name whatever the database's collation.
 */
const INTROSPECT_SQL = `
with recursive domain_chain(domain_oid, base_oid, base_typmod, not_null) as (
  select t.oid, t.typbasetype, t.typtypmod, t.typnotnull
  from pg_catalog.pg_type t
  where t.typtype = 'd'
  union all
  select d.domain_oid, b.typbasetype, b.typtypmod, d.not_null or b.typnotnull
  from domain_chain d
  join pg_catalog.pg_type b on b.oid = d.base_oid and b.typtype = 'd'
),
domain_base as (
  select d.domain_oid, d.base_oid, d.base_typmod, d.not_null
  from domain_chain d
  join pg_catalog.pg_type b on b.oid = d.base_oid and b.typtype <> 'd'
)
select
  n.nspname as schema_name,
  c.relname as table_name,
  c.relkind as relkind,
  a.attname as column_name,
  not (a.attnotnull or coalesce(db.not_null, false)) as nullable,
  pg_catalog.format_type(a.atttypid, a.atttypmod) as source_type,
  bt.typname as base_name,
  bn.nspname as base_schema,
  case when db.domain_oid is null then a.atttypmod else db.base_typmod end as base_typmod,
  (select pg_catalog.scale(0::money::numeric)) as money_scale
from pg_catalog.pg_namespace n
left join pg_catalog.pg_class c
  on c.relnamespace = n.oid
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and pg_catalog.has_any_column_privilege(c.oid, 'SELECT')
left join pg_catalog.pg_attribute a
  on a.attrelid = c.oid
  and a.attnum > 0
  and not a.attisdropped
  and pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT')
left join domain_base db on db.domain_oid = a.atttypid
left join pg_catalog.pg_type bt on bt.oid = coalesce(db.base_oid, a.atttypid)
left join pg_catalog.pg_namespace bn on bn.oid = bt.typnamespace
where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
  and n.nspname !~ '^pg_(toast_)?temp_'
  and pg_catalog.has_schema_privilege(n.oid, 'USAGE')
order by n.nspname, c.relname, a.attnum
`

interface IntrospectRow {
  schema_name: string
  table_name: string | null
  relkind: string | null
  column_name: string | null
  nullable: boolean | null
  source_type: string | null
  base_name: string | null
  base_schema: string | null
  base_typmod: number | null
  money_scale: number
}

function catalogFromRows(rows: readonly IntrospectRow[]): SourceCatalog {
  const schemas: SourceSchema[] = []
  for (const row of rows) {
    let schema = schemas.at(-1)
    if (schema?.name !== row.schema_name) {
      schema = { name: row.schema_name, tables: [] }
      schemas.push(schema)
    }
    if (row.table_name === null) continue
    let table = schema.tables.at(-1)
    if (table?.name !== row.table_name) {
      // Materialized views hold data, but like views they are derived and cannot be written.
      table = { name: row.table_name, kind: row.relkind === 'v' || row.relkind === 'm' ? 'view' : 'table', columns: [] }
      schema.tables.push(table)
    }
    if (row.column_name === null) continue
    table.columns.push({
      name: row.column_name,
      type: postgresqlTypeToDuckDb({
        name: row.base_name ?? '',
        schema: row.base_schema ?? '',
        typmod: row.base_typmod ?? -1,
        moneyScale: row.money_scale,
      }),
      nullable: row.nullable ?? true,
      source_type: row.source_type ?? '',
    })
  }
  return { schemas }
}

class PostgresqlSession implements SourceSession {
  private closed = false
  /** The error that broke the connection while idle, to explain the next failure with. */
  private broken: unknown
  /** Whether a scan holds the session's own client. */
  private scanning = false
  /** Set when the session's client was cut (a stopped scan whose server would not stop): the next scan reconnects. */
  private clientEnded = false
  /** Clients opened for scans that overlap another. */
  private readonly extraClients = new Set<pg.Client>()
  /** Set when anything failed or was stopped: the session is not handed to another query. */
  private failed = false

  constructor(
    private client: pg.Client,
    private readonly config: PostgresqlConfig,
    private readonly context: ConnectorContext,
  ) {
    this.watch(client)
  }

  private watch(client: pg.Client): void {
    client.on('error', (error) => {
      if (client === this.client) this.broken = error
    })
    client.on('end', () => {
      if (client === this.client) this.clientEnded = true
    })
  }

  async introspect(): Promise<SourceCatalog> {
    try {
      const result = await this.client.query<IntrospectRow>(INTROSPECT_SQL)
      return catalogFromRows(result.rows)
    } catch (error) {
      this.failed = true
      throw describePostgresqlError(this.broken ?? error, this.config, this.context)
    }
  }

  /** Two round trips for the whole database: the keys, then the row estimates. */
  async describeKeys(): Promise<SourceKeys> {
    try {
      const keys = await this.client.query<KeyRow>(KEYS_SQL)
      const estimates = await this.client.query<RowEstimateRow>(ROW_ESTIMATES_SQL)
      return keysFromRows(keys.rows, estimates.rows)
    } catch (error) {
      this.failed = true
      throw describePostgresqlError(this.broken ?? error, this.config, this.context)
    }
  }

  /**
   * COPY (SELECT …) TO STDOUT in CSV, straight into the sink. A scan that overlaps another gets a
   * connection of its own: the engine may read two tables of one source in one query (a join), and
   * DuckDB may read the second before it has drained the first, so queueing the second COPY behind
   * the first on one connection would wait forever.
   */
  async scan(request: ScanRequest, sink: LoadSink, signal: AbortSignal): Promise<ScanResult> {
    return this.copy(postgresqlScanSql(request), sink, signal, `the scan of ${request.schema}.${request.table}`)
  }

  /** A whole subquery the engine handed over (joins, aggregates), its result read like a scan. */
  async query(request: QueryRequest, sink: LoadSink, signal: AbortSignal): Promise<ScanResult> {
    return this.copy(postgresqlQuerySql(request), sink, signal, 'a pushed-down query')
  }

  private async copy(sql: string, sink: LoadSink, signal: AbortSignal, what: string): Promise<ScanResult> {
    signal.throwIfAborted()
    const csv = await sink.csv()
    const shared = !this.scanning
    let client: pg.Client
    if (shared) {
      this.scanning = true
      if (this.clientEnded && !this.closed) {
        try {
          this.client = await openPostgresqlClient(this.config, this.context)
        } catch (error) {
          this.scanning = false
          throw error
        }
        this.clientEnded = false
        this.broken = undefined
        this.watch(this.client)
      }
      client = this.client
    } else {
      client = await openPostgresqlClient(this.config, this.context)
      this.extraClients.add(client)
    }
    try {
      const rows = await copyToSink(client, sql, csv, signal, () => this.cancelBackend(client))
      return { remoteSql: sql, rows }
    } catch (error) {
      this.failed = true
      // An abort, or the sink's own failure (DuckDB stopped reading), is the engine's to explain.
      if ((signal.aborted && error === signal.reason) || isSinkFailure(error)) throw error
      if (errorParts(error, this.config).code === '57014') {
        throw sourceError(`the source cancelled ${what}`, this.config)
      }
      throw describePostgresqlError(error, this.config, this.context)
    } finally {
      if (shared) {
        this.scanning = false
      } else {
        this.extraClients.delete(client)
        await client.end().catch(() => undefined)
      }
    }
  }

  /**
   * Cancels whatever the client is running, from a second short-lived connection: pg_cancel_backend
   * needs no more rights than the session's own user has over its own backends.
   */
  private async cancelBackend(client: pg.Client): Promise<void> {
    // pg keeps the backend's process id from the startup handshake; its types do not declare it.
    const pid = (client as unknown as { processID: number | null }).processID
    if (pid === null) return
    const canceller = await openPostgresqlClient(this.config, this.context)
    try {
      await canceller.query('select pg_catalog.pg_cancel_backend($1)', [pid])
    } finally {
      await canceller.end().catch(() => undefined)
    }
  }

  reusable(): boolean {
    return (
      !this.closed &&
      !this.failed &&
      !this.scanning &&
      !this.clientEnded &&
      this.broken === undefined &&
      this.extraClients.size === 0
    )
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([...this.extraClients].map((client) => client.end().catch(() => undefined)))
    await this.client.end().catch(() => undefined)
  }
}

export const postgresqlConnector: Connector<PostgresqlConfig> = {
  type: 'postgresql',
  displayName: 'PostgreSQL',
  category: 'database',
  configSchema: PostgresqlConfigSchema,
  secretFields: ['password'],
  pushdownDialect: postgresqlDialect,
  async connect(config, context) {
    const client = await openPostgresqlClient(config, context)
    return new PostgresqlSession(client, config, context)
  },
}

/** Turns whatever pg or the network threw into a message that says what to fix, without the password. */
function describePostgresqlError(error: unknown, config: PostgresqlConfig, context: ConnectorContext) {
  const { code, message } = errorParts(error, config)
  const where = `${config.host}:${config.port}`
  const text = (() => {
    const network = describeNetworkError(code, message, config, context)
    if (network) return network
    switch (code) {
      case 'ECONNRESET':
        return `${where} reset the connection — is it a PostgreSQL server, and does it expect SSL as configured?`
      case '28P01':
        return `password authentication failed for user '${config.user}' — check the user name and password`
      case '28000':
        return `the server refused user '${config.user}' (${message}) — check the user name and the server's pg_hba.conf`
      case '3D000':
        return `database '${config.database}' does not exist on ${where}`
      case '57014':
        return `reading the source took longer than ${STATEMENT_TIMEOUT_MS / 1000} s and was cancelled`
      case '53300':
        return `${where} has no free connection slots (${message}) — try again later or raise max_connections`
    }
    if (message === 'timeout expired') return timedOut(config, context)
    if (message === 'The server does not support SSL connections') {
      return `${where} does not support SSL — set ssl to 'disable', or enable SSL on the server`
    }
    if (message.includes('client password must be a non-empty string')) {
      return `the server asks for a password for user '${config.user}', and none is set`
    }
    if (message === 'Connection terminated unexpectedly') {
      return `${where} closed the connection — is it a PostgreSQL server, and does it expect SSL as configured?`
    }
    return code && /^[0-9A-Z]{5}$/.test(code) ? `PostgreSQL error ${code}: ${message}` : message
  })()
  return sourceError(text, config)
}
