import type { z } from 'zod'

import type { Connection as CoreConnection } from 'mysql2'
import { type Connection, type ConnectionOptions, createConnection, type RowDataPacket } from 'mysql2/promise'

import {
  type Connector,
  type ConnectorContext,
  type LoadSink,
  type QueryRequest,
  type ScanRequest,
  type ScanResult,
  type SourceCatalog,
  type SourceColumn,
  type SourceError,
  type SourceKeys,
  type SourceSession,
  type SourceTable,
} from '../connector.js'
import { isSinkFailure } from '../scan-errors.js'
import { singleQuoted } from '../filter-sql.js'
import { describeNetworkError, errorParts, networkDatabaseConfig, sourceError } from '../network.js'
import { mysqlDialect } from './mysql-dialect.js'
import { type KeyColumnRow, keysFromRows, keysSql, type RowEstimateRow, rowEstimatesSql } from './mysql-keys.js'
import { type MysqlLiteralContext, mysqlScanSql, needsCharsets, streamToSink } from './mysql-scan.js'
import { mysqlTypeToDuckDb } from './mysql-types.js'

/** Long enough for a catalog of tens of thousands of columns; scans lift it while they run. */
const STATEMENT_TIMEOUT_MS = 30_000

/**
 * How long the server may wait on a scan's reader before it drops the connection (MySQL's default is
 * 60 s). DuckDB may leave one table's rows waiting while it reads another's (a join's build side), and
 * the engine stops a scan by its signal, not by this.
 */
const SCAN_WRITE_TIMEOUT_S = 3600

const SYSTEM_DATABASES = ['mysql', 'information_schema', 'performance_schema', 'sys']

// MySQL's limits: 64 characters for database names, 80 for MariaDB's user names.
export const MysqlConfigSchema = networkDatabaseConfig({ defaultPort: 3306, databaseMax: 64, userMax: 80 })

export type MysqlConfig = z.output<typeof MysqlConfigSchema>

function connectionOptions(config: MysqlConfig, context: ConnectorContext): ConnectionOptions {
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    // 'require' encrypts without checking who answers; 'verify-full' checks the chain and the host name.
    ...(config.ssl === 'disable' ? {} : { ssl: { rejectUnauthorized: config.ssl === 'verify-full' } }),
    connectTimeout: context.connectTimeoutMs,
    // Values arrive as text wherever JavaScript numbers or Dates would change them: BIGINT and DECIMAL beyond
    // 2^53, dates outside what Date holds ('0000-00-00', year 9999 in other zones), JSON as written.
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    timezone: 'Z',
    multipleStatements: false,
    // A server may ask the client to upload a local file in answer to any query: never honour that.
    flags: ['-LOCAL_FILES'],
  }
}

/**
 * A connection in a read-only session with the time zone at UTC (so TIMESTAMP columns read as UTC), or a
 * SourceError saying what to fix. Exported so tests can prove what a session may do.
 */
export async function openMysqlConnection(config: MysqlConfig, context: ConnectorContext): Promise<Connection> {
  return (await openSession(config, context)).connection
}

/** The statement that sets (or lifts, with 0) the session's statement timeout, in the server's own spelling. */
function statementTimeout(mariadb: boolean, ms: number): string {
  return mariadb ? `max_statement_time = ${ms / 1000}` : `max_execution_time = ${ms}`
}

async function openSession(
  config: MysqlConfig,
  context: ConnectorContext,
): Promise<{ connection: Connection; mariadb: boolean }> {
  let connection: Connection | undefined
  try {
    connection = await createConnection(connectionOptions(config, context))
    // A fatal error while idle is emitted; without a listener it would crash the process. The failure also
    // surfaces in the next query, which is where it is reported.
    connection.on('error', () => undefined)
    await connection.query('SET SESSION TRANSACTION READ ONLY')
    const [rows] = await connection.query<RowDataPacket[]>('SELECT VERSION() AS version')
    const mariadb = /mariadb/i.test(String(rows[0]?.version ?? ''))
    // Each flavour spells the statement timeout its own way, and fails on the other's.
    await connection.query(
      `SET SESSION time_zone = '+00:00', SESSION ${statementTimeout(mariadb, STATEMENT_TIMEOUT_MS)}`,
    )
    return { connection, mariadb }
  } catch (error) {
    connection?.destroy()
    throw describeMysqlError(error, config, context)
  }
}

interface TableRow extends RowDataPacket {
  schema_name: string | Buffer
  table_name: string | Buffer | null
  table_type: string | Buffer | null
}

interface ColumnRow extends RowDataPacket {
  schema_name: string | Buffer
  table_name: string | Buffer
  column_name: string | Buffer
  is_nullable: string | Buffer
  data_type: string | Buffer
  column_type: string | Buffer
  numeric_precision: string | number | null
  numeric_scale: string | number | null
  json_check: string | number
}

const EXCLUDED = SYSTEM_DATABASES.map((name) => `'${name}'`).join(', ')

/** Every database the user can see, with its tables and views; empty databases come as one row without a table. */
const TABLES_SQL = `
SELECT s.SCHEMA_NAME AS schema_name, t.TABLE_NAME AS table_name, t.TABLE_TYPE AS table_type
FROM information_schema.SCHEMATA s
LEFT JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = s.SCHEMA_NAME AND t.TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')
WHERE s.SCHEMA_NAME NOT IN (${EXCLUDED})
`

/**
 * MariaDB's JSON type is LONGTEXT plus a check named after the column, `json_valid(`column`)`, which only
 * its CHECK_CONSTRAINTS (which has TABLE_NAME, unlike MySQL's) can tell apart from plain text. MySQL has a
 * real JSON type and needs no such join. LEVEL is not used: MariaDB before 10.5.10 lacks it.
 */
function columnsSql(mariadb: boolean): string {
  return `
SELECT c.TABLE_SCHEMA AS schema_name, c.TABLE_NAME AS table_name, c.COLUMN_NAME AS column_name,
  c.IS_NULLABLE AS is_nullable, c.DATA_TYPE AS data_type, c.COLUMN_TYPE AS column_type,
  c.NUMERIC_PRECISION AS numeric_precision, c.NUMERIC_SCALE AS numeric_scale,
  ${mariadb ? 'cc.CONSTRAINT_NAME IS NOT NULL' : '0'} AS json_check
FROM information_schema.COLUMNS c
${
  mariadb
    ? `LEFT JOIN information_schema.CHECK_CONSTRAINTS cc
  ON cc.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND cc.TABLE_NAME = c.TABLE_NAME AND cc.CONSTRAINT_NAME = c.COLUMN_NAME
  AND cc.CHECK_CLAUSE = CONCAT('json_valid(\`', REPLACE(c.COLUMN_NAME, '\`', '\`\`'), '\`)')`
    : ''
}
WHERE c.TABLE_SCHEMA NOT IN (${EXCLUDED})
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
`
}

/** mysql2 hands binary-collated strings over as Buffers; accept both rather than trust every server's collation. */
function text(value: string | Buffer | null): string {
  if (value === null) return ''
  return typeof value === 'string' ? value : value.toString('utf8')
}

function count(value: string | number | null): number | null {
  return value === null ? null : Number(value)
}

/** Code-unit order, the same on every server whatever its collations. */
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

class MysqlSession implements SourceSession {
  private closed = false
  /** Whether a scan holds the session's own connection. */
  private scanning = false
  /** Set when a stopped scan had to cut the session's connection: the next scan reconnects. */
  private connectionCut = false
  /** Connections opened for scans that overlap another. */
  private readonly extraConnections = new Set<Connection>()
  /** Set when anything failed or was stopped: the session is not handed to another query. */
  private failed = false
  /** Whether backslashes are ordinary characters in string literals (sql_mode NO_BACKSLASH_ESCAPES). */
  private plainBackslashes: Promise<boolean> | undefined

  constructor(
    private connection: Connection,
    private readonly mariadb: boolean,
    private readonly config: MysqlConfig,
    private readonly context: ConnectorContext,
  ) {
    this.watch(connection)
  }

  /** A connection the server closed (a restart, wait_timeout) is replaced at the next scan. */
  private watch(connection: Connection): void {
    const lost = () => {
      if (connection === this.connection) this.connectionCut = true
    }
    connection.on('end', lost)
    connection.on('error', lost)
  }

  async introspect(): Promise<SourceCatalog> {
    try {
      const [tableRows] = await this.connection.query<TableRow[]>(TABLES_SQL)
      const [columnRows] = await this.connection.query<ColumnRow[]>(columnsSql(this.mariadb))

      const schemas = new Map<string, Map<string, SourceTable>>()
      for (const row of tableRows) {
        const schemaName = text(row.schema_name)
        let tables = schemas.get(schemaName)
        if (!tables) {
          tables = new Map<string, SourceTable>()
          schemas.set(schemaName, tables)
        }
        if (row.table_name === null) continue
        const tableName = text(row.table_name)
        tables.set(tableName, {
          name: tableName,
          kind: text(row.table_type) === 'VIEW' ? 'view' : 'table',
          columns: [],
        })
      }
      for (const row of columnRows) {
        // Columns of anything not listed above (sequences, say) are skipped.
        const table = schemas.get(text(row.schema_name))?.get(text(row.table_name))
        if (!table) continue
        const column: SourceColumn = {
          name: text(row.column_name),
          type: mysqlTypeToDuckDb({
            dataType: text(row.data_type),
            columnType: text(row.column_type),
            precision: count(row.numeric_precision),
            scale: count(row.numeric_scale),
            jsonCheck: Number(row.json_check) === 1,
          }),
          nullable: text(row.is_nullable) === 'YES',
          source_type: text(row.column_type),
        }
        table.columns.push(column)
      }
      return {
        schemas: [...schemas]
          .map(([name, tables]) => ({ name, tables: [...tables.values()].sort(byName) }))
          .sort(byName),
      }
    } catch (error) {
      this.failed = true
      throw describeMysqlError(error, this.config, this.context)
    }
  }

  /** Two round trips for every database the user can see: the key columns, then the tables' row estimates. */
  async describeKeys(): Promise<SourceKeys> {
    try {
      const [keyRows] = await this.connection.query<KeyColumnRow[]>(keysSql(EXCLUDED))
      const [estimateRows] = await this.connection.query<RowEstimateRow[]>(rowEstimatesSql(EXCLUDED))
      return keysFromRows(keyRows, estimateRows)
    } catch (error) {
      this.failed = true
      throw describeMysqlError(error, this.config, this.context)
    }
  }

  /**
   * Streams `SELECT … FROM db.table WHERE … LIMIT n` into the sink as rows. A scan that overlaps another
   * gets a connection of its own, since one connection runs one query at a time and DuckDB may read the
   * second table before it has drained the first.
   */
  async scan(request: ScanRequest, sink: LoadSink, signal: AbortSignal): Promise<ScanResult> {
    return this.stream(
      (connection) => this.literalContext(connection, request).then((context) => mysqlScanSql(request, context)),
      request.columns,
      sink,
      signal,
    )
  }

  /** A whole subquery the engine wrote in MySQL's dialect (joins, aggregates), its rows read like a scan's. */
  async query(request: QueryRequest, sink: LoadSink, signal: AbortSignal): Promise<ScanResult> {
    return this.stream(() => Promise.resolve(request.sql), request.columns, sink, signal)
  }

  private async stream(
    sqlFor: (connection: Connection) => Promise<string>,
    columns: readonly SourceColumn[],
    sink: LoadSink,
    signal: AbortSignal,
  ): Promise<ScanResult> {
    signal.throwIfAborted()
    const rowSink = await sink.rows()
    const shared = !this.scanning
    let connection = this.connection
    if (shared) {
      this.scanning = true
      if (this.connectionCut && !this.closed) {
        try {
          this.connection = (await openSession(this.config, this.context)).connection
          this.watch(this.connection)
        } catch (error) {
          this.scanning = false
          throw error
        }
        this.connectionCut = false
        connection = this.connection
      }
    } else {
      connection = (await openSession(this.config, this.context)).connection
      this.extraConnections.add(connection)
    }
    try {
      const sql = await sqlFor(connection)
      await connection.query(
        `SET SESSION ${statementTimeout(this.mariadb, 0)}, SESSION net_write_timeout = ${SCAN_WRITE_TIMEOUT_S}`,
      )
      try {
        signal.throwIfAborted()
        // The promise API has no streaming; its connection wraps a callback one that has.
        const core = (connection as unknown as { connection: CoreConnection }).connection
        const stream = core.query({ sql, rowsAsArray: true }).stream({ highWaterMark: 1000 })
        const cut = () => {
          if (shared) this.connectionCut = true
          connection.destroy()
        }
        const rows = await streamToSink(stream, columns, rowSink, signal, () => this.kill(connection), cut)
        return { remoteSql: sql, rows }
      } finally {
        if (shared) {
          await connection
            .query(
              `SET SESSION ${statementTimeout(this.mariadb, STATEMENT_TIMEOUT_MS)}, SESSION net_write_timeout = DEFAULT`,
            )
            .catch(() => undefined)
        }
      }
    } catch (error) {
      this.failed = true
      if ((signal.aborted && error === signal.reason) || isSinkFailure(error) || error instanceof TypeError) throw error
      throw describeMysqlError(error, this.config, this.context)
    } finally {
      if (shared) {
        this.scanning = false
      } else {
        this.extraConnections.delete(connection)
        await connection.end().catch(() => connection.destroy())
      }
    }
  }

  /** Quoting for the session's sql_mode, and the table's character sets when a filter needs them. */
  private async literalContext(connection: Connection, request: ScanRequest): Promise<MysqlLiteralContext> {
    this.plainBackslashes ??= connection
      .query<RowDataPacket[]>('SELECT @@SESSION.sql_mode AS mode')
      .then(([rows]) => /NO_BACKSLASH_ESCAPES/i.test(String(rows[0]?.mode ?? '')))
    const plain = await this.plainBackslashes.catch(() => {
      this.plainBackslashes = undefined
      return false
    })
    const charsets = new Map<string, string>()
    if (needsCharsets(request)) {
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT COLUMN_NAME AS name, CHARACTER_SET_NAME AS charset FROM information_schema.COLUMNS ' +
          'WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [request.schema, request.table],
      )
      for (const row of rows) {
        if (row.charset !== null) charsets.set(text(row.name as string | Buffer), text(row.charset as string | Buffer))
      }
    }
    return {
      // With NO_BACKSLASH_ESCAPES a backslash is an ordinary character and only quotes need doubling;
      // mysql2's escaping would then leave a quote unescaped.
      quote: plain ? singleQuoted : (value) => connection.escape(value),
      charset: (column) => charsets.get(column),
    }
  }

  /** Kills the connection's running query (not the connection) from a second, short-lived connection. */
  private async kill(connection: Connection): Promise<void> {
    const killer = await createConnection(connectionOptions(this.config, this.context))
    try {
      await killer.query(`KILL QUERY ${Number(connection.threadId)}`)
    } finally {
      await killer.end().catch(() => killer.destroy())
    }
  }

  reusable(): boolean {
    return !this.closed && !this.failed && !this.scanning && !this.connectionCut && this.extraConnections.size === 0
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const connection of this.extraConnections) connection.destroy()
    await this.connection.end().catch(() => this.connection.destroy())
  }
}

export const mysqlConnector: Connector<MysqlConfig> = {
  type: 'mysql',
  displayName: 'MySQL / MariaDB',
  pushdownDialect: mysqlDialect,
  category: 'database',
  configSchema: MysqlConfigSchema,
  secretFields: ['password'],
  async connect(config, context) {
    const { connection, mariadb } = await openSession(config, context)
    return new MysqlSession(connection, mariadb, config, context)
  },
}

/** Turns whatever mysql2 or the network threw into a message that says what to fix, without the password. */
function describeMysqlError(error: unknown, config: MysqlConfig, context: ConnectorContext): SourceError {
  const { code, message } = errorParts(error, config)
  const where = `${config.host}:${config.port}`
  const text = (() => {
    const network = describeNetworkError(code, message, config, context)
    if (network) return network
    switch (code) {
      case 'ECONNRESET':
      case 'PROTOCOL_CONNECTION_LOST':
        return `${where} closed the connection — is it a MySQL or MariaDB server, and does it accept this host?`
      case 'ER_ACCESS_DENIED_ERROR':
      case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
        // The server's text names the account as user@host, which matters: MySQL grants are per client host.
        return `password authentication failed for user '${config.user}' — check the user name and password (${message})`
      case 'ER_DBACCESS_DENIED_ERROR':
        return `user '${config.user}' may not use database '${config.database}' — grant it access or pick another database`
      case 'ER_BAD_DB_ERROR':
        return `database '${config.database}' does not exist on ${where}`
      case 'ER_HOST_NOT_PRIVILEGED':
        return `${where} does not accept connections from this server (${message})`
      case 'ER_CON_COUNT_ERROR':
        return `${where} has no free connection slots — try again later or raise max_connections`
      case 'ER_STATEMENT_TIMEOUT':
      case 'ER_QUERY_TIMEOUT':
        return `reading the source took longer than ${STATEMENT_TIMEOUT_MS / 1000} s and was cancelled`
      case 'HANDSHAKE_NO_SSL_SUPPORT':
        return `${where} does not support SSL — set ssl to 'disable', or enable SSL on the server`
    }
    return code?.startsWith('ER_') ? `MySQL error ${code}: ${message}` : message
  })()
  return sourceError(text, config)
}
