import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'

import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../../test/fixtures/chinook.js'
import {
  type ConnectorContext,
  type PushedFilter,
  type ScanRequest,
  type SourceCatalog,
  SourceError,
  type SourceSession,
  type SourceTable,
} from '../connector.js'
import { discardingSink, duckdbCondition, loadScan } from '../testing/duckdb-load.js'
import { type MysqlConfig, mysqlConnector, openMysqlConnection } from './mysql-connector.js'
import { mysqlScanSql } from './mysql-scan.js'

const context: ConnectorContext = { fileRoots: [], connectTimeoutMs: 2_000 }
const SECRET = 'Tr1butary-s3cret-PW'

const CHINOOK_TABLES = [
  'Album',
  'Artist',
  'Customer',
  'Employee',
  'Genre',
  'Invoice',
  'InvoiceLine',
  'MediaType',
  'Playlist',
  'PlaylistTrack',
  'Track',
]

describe('mysql connector: config', () => {
  const schema = mysqlConnector.configSchema

  it('describes itself and names its secret', () => {
    expect(mysqlConnector).toMatchObject({
      type: 'mysql',
      displayName: 'MySQL / MariaDB',
      category: 'database',
      secretFields: ['password'],
    })
  })

  it('applies defaults', () => {
    expect(schema.parse({ host: 'db.example.com', database: 'shop', user: 'reader' })).toEqual({
      host: 'db.example.com',
      port: 3306,
      database: 'shop',
      user: 'reader',
      password: '',
      ssl: 'disable',
    })
  })

  it.each([
    [{ port: 0 }, 'port', 'must be between 1 and 65535'],
    [{ port: 70000 }, 'port', 'must be between 1 and 65535'],
    [{ port: '3306' }, 'port', 'must be a number'],
    [{ ssl: true }, 'ssl', "must be 'disable', 'require' or 'verify-full'"],
    [{ host: 'db host' }, 'host', 'must be a host name or IP address, without spaces or slashes'],
    [{ database: '' }, 'database', 'must not be empty'],
    [{ database: 'x'.repeat(65) }, 'database', 'must be at most 64 characters'],
    [{ user: undefined }, 'user', 'is required'],
    [{ password: 42 }, 'password', 'must be a string'],
    [{ socketPath: '/run/mysqld/mysqld.sock' }, '', 'unknown field(s): socketPath'],
  ])('rejects %j', (change, field, message) => {
    const result = schema.safeParse({ host: 'db', database: 'shop', user: 'reader', ...change })
    expect(result.success).toBe(false)
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([[field, message]])
  })
})

const skipReason = await serviceSkipReason('mysql')

describe.skipIf(skipReason !== null)(`mysql connector: live${skipReason ? ` [skipped: ${skipReason}]` : ''}`, () => {
  let sources: ChinookSources
  let config: MysqlConfig
  let admin: Connection
  let mariadb: boolean
  let catalog: SourceCatalog
  let emptyDb: string
  let typesDb: string
  const reader = `trib_${randomBytes(4).toString('hex')}`

  beforeAll(async () => {
    sources = await loadChinook(['mysql'])
    config = sources.mysql!
    emptyDb = `${config.database}_empty`
    typesDb = `${config.database}_types`
    admin = await createConnection({
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password,
      database: config.database,
      multipleStatements: true,
    })
    const [version] = await admin.query<RowDataPacket[]>('SELECT VERSION() AS version')
    mariadb = /mariadb/i.test(String(version[0]!.version))
    await admin.query(`
      CREATE DATABASE ${emptyDb};
      CREATE DATABASE ${typesDb};
      CREATE TABLE ${typesDb}.every_type (
        c_tinyint TINYINT NOT NULL, c_tinyint_u TINYINT UNSIGNED, c_bool BOOLEAN,
        c_smallint SMALLINT, c_smallint_u SMALLINT UNSIGNED, c_mediumint MEDIUMINT, c_mediumint_u MEDIUMINT UNSIGNED,
        c_int INT, c_int_u INT UNSIGNED, c_bigint BIGINT, c_bigint_u BIGINT UNSIGNED,
        c_decimal DECIMAL(10,2) NOT NULL, c_decimal_38 DECIMAL(38,10), c_decimal_65 DECIMAL(65,4),
        c_float FLOAT, c_double DOUBLE, c_bit BIT(5),
        c_char CHAR(3), c_varchar VARCHAR(20), c_tinytext TINYTEXT, c_text TEXT, c_mediumtext MEDIUMTEXT,
        c_longtext LONGTEXT, c_enum ENUM('a','b'), c_set SET('x','y'),
        c_binary BINARY(4), c_varbinary VARBINARY(8), c_tinyblob TINYBLOB, c_blob BLOB, c_mediumblob MEDIUMBLOB,
        c_longblob LONGBLOB,
        c_date DATE, c_datetime DATETIME(3), c_timestamp TIMESTAMP NULL, c_time TIME, c_year YEAR,
        c_json JSON, c_point POINT
      );
      CREATE VIEW InvoiceTotals AS SELECT CustomerId, SUM(Total) AS Total FROM Invoice GROUP BY CustomerId;
      CREATE USER '${reader}'@'%' IDENTIFIED BY 'right-password';
      GRANT SELECT ON ${config.database}.Artist TO '${reader}'@'%';
      GRANT SELECT (CustomerId, Email) ON ${config.database}.Customer TO '${reader}'@'%';
    `)
    // MariaDB 10.7+ has a UUID type; MySQL has none.
    if (mariadb) await admin.query(`ALTER TABLE ${typesDb}.every_type ADD c_uuid UUID`)
    const session = await mysqlConnector.connect(config, context)
    try {
      catalog = await session.introspect()
    } finally {
      await session.close()
    }
  })

  afterAll(async () => {
    if (admin) {
      await admin.query(`DROP USER IF EXISTS '${reader}'@'%'`)
      await admin.query(`DROP DATABASE IF EXISTS ${emptyDb}`)
      await admin.query(`DROP DATABASE IF EXISTS ${typesDb}`)
      await admin.end()
    }
    await sources?.cleanup()
  })

  const table = (schema: string, name: string): SourceTable => {
    const found = catalog.schemas.find((s) => s.name === schema)?.tables.find((t) => t.name === name)
    if (!found) throw new Error(`${schema}.${name} is not in the catalog`)
    return found
  }

  it('loaded Chinook', async () => {
    const [rows] = await admin.query<RowDataPacket[]>(
      'SELECT (SELECT COUNT(*) FROM Invoice) AS invoices, (SELECT COUNT(*) FROM Track) AS tracks',
    )
    expect(rows[0]).toEqual({ invoices: 412, tracks: 3503 })
  })

  it('shows databases as schemas, sorted, empty ones included, system ones left out', () => {
    const names = catalog.schemas.map((s) => s.name)
    expect(names).toEqual(expect.arrayContaining([config.database, emptyDb, typesDb]))
    expect(names).toEqual([...names].sort())
    for (const system of ['mysql', 'information_schema', 'performance_schema', 'sys']) {
      expect(names).not.toContain(system)
    }
    expect(catalog.schemas.find((s) => s.name === emptyDb)!.tables).toEqual([])
  })

  it('lists every Chinook table and the view, sorted by name', () => {
    const tables = catalog.schemas.find((s) => s.name === config.database)!.tables
    expect(tables.map((t) => t.name)).toEqual([...CHINOOK_TABLES, 'InvoiceTotals'].sort())
    expect(tables.filter((t) => t.kind === 'view').map((t) => t.name)).toEqual(['InvoiceTotals'])
    expect(table(config.database, 'InvoiceTotals').columns).toEqual([
      { name: 'CustomerId', type: 'INTEGER', nullable: false, source_type: expect.stringMatching(/^int(\(11\))?$/) },
      { name: 'Total', type: 'DECIMAL(32,2)', nullable: true, source_type: 'decimal(32,2)' },
    ])
  })

  it('gives columns in ordinal order with DuckDB types, nullability and the source type', () => {
    const int = expect.stringMatching(/^int(\(11\))?$/)
    expect(table(config.database, 'Invoice').columns).toEqual([
      { name: 'InvoiceId', type: 'INTEGER', nullable: false, source_type: int },
      { name: 'CustomerId', type: 'INTEGER', nullable: false, source_type: int },
      { name: 'InvoiceDate', type: 'TIMESTAMP', nullable: false, source_type: 'datetime' },
      { name: 'BillingAddress', type: 'VARCHAR', nullable: true, source_type: 'varchar(70)' },
      { name: 'BillingCity', type: 'VARCHAR', nullable: true, source_type: 'varchar(40)' },
      { name: 'BillingState', type: 'VARCHAR', nullable: true, source_type: 'varchar(40)' },
      { name: 'BillingCountry', type: 'VARCHAR', nullable: true, source_type: 'varchar(40)' },
      { name: 'BillingPostalCode', type: 'VARCHAR', nullable: true, source_type: 'varchar(10)' },
      { name: 'Total', type: 'DECIMAL(10,2)', nullable: false, source_type: 'decimal(10,2)' },
    ])
    expect(table(config.database, 'Track').columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['TrackId', 'INTEGER', false],
      ['Name', 'VARCHAR', false],
      ['AlbumId', 'INTEGER', true],
      ['MediaTypeId', 'INTEGER', false],
      ['GenreId', 'INTEGER', true],
      ['Composer', 'VARCHAR', true],
      ['Milliseconds', 'INTEGER', false],
      ['Bytes', 'INTEGER', true],
      ['UnitPrice', 'DECIMAL(10,2)', false],
    ])
  })

  it('maps every type as specified', () => {
    const types = Object.fromEntries(
      table(typesDb, 'every_type').columns.map((c) => [c.name, `${c.type}${c.nullable ? '' : ' NOT NULL'}`]),
    )
    expect(types).toEqual({
      c_tinyint: 'TINYINT NOT NULL',
      c_tinyint_u: 'UTINYINT',
      c_bool: 'TINYINT',
      c_smallint: 'SMALLINT',
      c_smallint_u: 'USMALLINT',
      c_mediumint: 'INTEGER',
      c_mediumint_u: 'INTEGER',
      c_int: 'INTEGER',
      c_int_u: 'UINTEGER',
      c_bigint: 'BIGINT',
      c_bigint_u: 'UBIGINT',
      c_decimal: 'DECIMAL(10,2) NOT NULL',
      c_decimal_38: 'DECIMAL(38,10)',
      c_decimal_65: 'DOUBLE',
      c_float: 'FLOAT',
      c_double: 'DOUBLE',
      c_bit: 'UBIGINT',
      c_char: 'VARCHAR',
      c_varchar: 'VARCHAR',
      c_tinytext: 'VARCHAR',
      c_text: 'VARCHAR',
      c_mediumtext: 'VARCHAR',
      c_longtext: 'VARCHAR',
      c_enum: 'VARCHAR',
      c_set: 'VARCHAR',
      c_binary: 'BLOB',
      c_varbinary: 'BLOB',
      c_tinyblob: 'BLOB',
      c_blob: 'BLOB',
      c_mediumblob: 'BLOB',
      c_longblob: 'BLOB',
      c_date: 'DATE',
      c_datetime: 'TIMESTAMP',
      c_timestamp: 'TIMESTAMPTZ',
      c_time: 'INTERVAL',
      c_year: 'SMALLINT',
      // MariaDB's JSON is LONGTEXT with a json_valid check; MySQL's is a type of its own.
      c_json: 'JSON',
      c_point: 'VARCHAR',
      ...(mariadb ? { c_uuid: 'UUID' } : {}),
    })
    const sourceTypes = Object.fromEntries(table(typesDb, 'every_type').columns.map((c) => [c.name, c.source_type]))
    expect(sourceTypes).toMatchObject({
      c_tinyint_u: expect.stringMatching(/^tinyint(\(3\))? unsigned$/),
      c_bool: 'tinyint(1)',
      c_bit: 'bit(5)',
      c_enum: "enum('a','b')",
    })
  })

  it('lists only the databases, tables and columns the user may read', async () => {
    const session = await mysqlConnector.connect({ ...config, user: reader, password: 'right-password' }, context)
    try {
      const visible = await session.introspect()
      expect(visible.schemas.map((s) => [s.name, s.tables.map((t) => [t.name, t.columns.map((c) => c.name)])])).toEqual(
        [
          [
            config.database,
            [
              ['Artist', ['ArtistId', 'Name']],
              ['Customer', ['CustomerId', 'Email']],
            ],
          ],
        ],
      )
    } finally {
      await session.close()
    }
  })

  it('opens read-only UTC sessions that read values as text where numbers or dates would change them', async () => {
    const connection = await openMysqlConnection(config, context)
    try {
      await expect(connection.query(`INSERT INTO Genre (GenreId, Name) VALUES (999, 'x')`)).rejects.toMatchObject({
        code: 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION',
      })
      const [settings] = await connection.query<RowDataPacket[]>('SELECT @@time_zone AS tz')
      expect(settings[0]).toEqual({ tz: '+00:00' })
      const [values] = await connection.query<RowDataPacket[]>(
        'SELECT InvoiceDate, Total, CAST(9007199254740993 AS UNSIGNED) AS big FROM Invoice WHERE InvoiceId = 1',
      )
      expect(values[0]).toEqual({ InvoiceDate: '2021-01-01 00:00:00', Total: '1.98', big: '9007199254740993' })
    } finally {
      await connection.end()
    }
  })

  it('closes the session', async () => {
    const session = await mysqlConnector.connect(config, context)
    const [id] = await admin.query<RowDataPacket[]>(
      `SELECT MAX(ID) AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()`,
      [config.database],
    )
    const sessionId = Number(id[0]!.id)
    await session.close()
    await session.close()
    await expect
      .poll(async () => {
        const [rows] = await admin.query<RowDataPacket[]>(
          'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?',
          [sessionId],
        )
        return Number(rows[0]!.n)
      })
      .toBe(0)
  })

  describe('errors', () => {
    let silent: Server
    let silentPort: number
    const sockets = new Set<Socket>()

    beforeAll(async () => {
      // Accepts TCP connections and never answers: what a firewall black hole or a stuck server looks like.
      silent = createServer((socket) => sockets.add(socket))
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
      silentPort = (silent.address() as { port: number }).port
    })
    afterAll(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    })

    async function failure(change: Partial<MysqlConfig>, ctx: ConnectorContext = context): Promise<string> {
      const error: unknown = await mysqlConnector.connect({ ...config, password: SECRET, ...change }, ctx).then(
        async (session) => {
          await session.close()
          return new Error('connected')
        },
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(SourceError)
      const message = (error as SourceError).message
      expect(message).not.toContain(SECRET)
      return message
    }

    it('wrong password', async () => {
      expect(await failure({ user: reader })).toMatch(
        new RegExp(
          `^password authentication failed for user '${reader}' — check the user name and password ` +
            `\\(Access denied for user '${reader}'@'[^']+' \\(using password: YES\\)\\)$`,
        ),
      )
    })

    it('unknown database', async () => {
      expect(await failure({ database: 'no_such_database', password: config.password })).toBe(
        `database 'no_such_database' does not exist on ${config.host}:${config.port}`,
      )
    })

    it('a database the user may not use', async () => {
      expect(await failure({ user: reader, password: 'right-password', database: emptyDb })).toBe(
        `user '${reader}' may not use database '${emptyDb}' — grant it access or pick another database`,
      )
    })

    it('refused port', async () => {
      expect(await failure({ host: '127.0.0.1', port: 1 })).toBe(
        'connection refused by 127.0.0.1:1 — is the server running and accepting TCP connections?',
      )
    })

    it('unknown host', async () => {
      expect(await failure({ host: 'no-such-host.invalid' })).toBe(
        "host 'no-such-host.invalid' was not found — check the host name",
      )
    })

    it('timeout', async () => {
      const started = Date.now()
      expect(await failure({ host: '127.0.0.1', port: silentPort }, { ...context, connectTimeoutMs: 300 })).toBe(
        `no answer from 127.0.0.1:${silentPort} within 300 ms — check the host, the port and any firewall in between`,
      )
      expect(Date.now() - started).toBeLessThan(2_000)
    })

    it('SSL asked of a server without it', async (test) => {
      const [rows] = await admin.query<RowDataPacket[]>(`SHOW VARIABLES LIKE 'have_ssl'`)
      if (rows[0]?.Value === 'YES') test.skip('this server supports SSL')
      for (const mode of ['require', 'verify-full'] as const) {
        expect(await failure({ ssl: mode })).toBe(
          `${config.host}:${config.port} does not support SSL — set ssl to 'disable', or enable SSL on the server`,
        )
      }
    })
  })
})

describe.skipIf(skipReason !== null)(`mysql connector: scan${skipReason ? ` [skipped: ${skipReason}]` : ''}`, () => {
  let sources: ChinookSources
  let config: MysqlConfig
  let admin: Connection
  let session: SourceSession
  let catalog: SourceCatalog
  let db: string

  const TEXTS = [
    'carriage\rreturn and crlf\r\n',
    '',
    'plain',
    'with, comma',
    'with "quotes"',
    'line\nfeed',
    '  spaces  ',
    'ünïcödé 漢字 😀',
    'back\\slash',
    "O'Reilly\\",
    '\\N',
    'NULL',
    'tab\there',
  ]

  beforeAll(async () => {
    sources = await loadChinook(['mysql'])
    config = sources.mysql!
    db = config.database
    admin = await createConnection({
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password,
      database: db,
      multipleStatements: true,
      charset: 'utf8mb4_general_ci',
    })
    await admin.query(`
      CREATE TABLE texts (id INT PRIMARY KEY, s TEXT CHARACTER SET utf8mb4) CHARACTER SET utf8mb4;
      CREATE TABLE types (
        id INT PRIMARY KEY, c_tinyint TINYINT, c_bigint BIGINT, c_bigint_u BIGINT UNSIGNED,
        c_decimal DECIMAL(38,10), c_decimal_65 DECIMAL(65,4), c_float FLOAT, c_double DOUBLE, c_bit BIT(64),
        c_date DATE, c_datetime DATETIME(6), c_timestamp TIMESTAMP(6) NULL, c_time TIME(6), c_year YEAR,
        c_json JSON, c_blob BLOB, c_varbinary VARBINARY(10), c_enum ENUM('a','b'), c_set SET('x','y'),
        c_point POINT, c_latin VARCHAR(20) CHARACTER SET latin1, c_char CHAR(5), c_bool BOOLEAN
      ) CHARACTER SET utf8mb4;
      CREATE VIEW slow AS SELECT 1 AS id FROM DUAL WHERE SLEEP(60) = 0;
      CREATE VIEW endless AS SELECT a.TrackId AS id, REPEAT('x', 100) AS filler FROM Track a, Track b, Track c;
    `)
    await admin.query('INSERT INTO texts VALUES ?', [TEXTS.map((s, i) => [i + 1, s])])
    await admin.query('INSERT INTO texts VALUES (100, NULL)')
    // Zero dates need a permissive sql_mode to get in.
    await admin.query(`SET SESSION sql_mode = '', time_zone = '+00:00'`)
    await admin.query(`
      INSERT INTO types VALUES
      (1, -128, 9007199254740993, 18446744073709551615, 1234567890123456789012345678.0123456789,
       12345678901234567890123456789012345678901234567890123456789.1234, 0.1, 0.1, b'1111111111111111111111111111111111111111111111111111111111111111',
       '2024-02-29', '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.5', '838:59:59.000001', 2024,
       '{"a": [1, "x,\\\\"y\\\\""]}', X'00FF10', X'', 'b', 'x,y', POINT(1, 2), 'café', 'ab', 1),
      (2, 127, -9223372036854775808, 0, -0.0000000001, 0, -3.5, 1e300, b'0',
       '1000-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:01', '-838:59:59', 0,
       '[]', X'', NULL, 'a', '', POINT(-1.5, 0.25), '', '', 0),
      (3, 0, 9223372036854775807, 1, 0, NULL, NULL, -0.0, NULL,
       '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '-00:00:00.5', NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-00-15', NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
    `)
    session = await mysqlConnector.connect(config, context)
    catalog = await session.introspect()
  })

  afterAll(async () => {
    await session?.close()
    await admin?.end()
    await sources?.cleanup()
  })

  const table = (name: string): SourceTable => {
    const found = catalog.schemas.find((s) => s.name === db)?.tables.find((t) => t.name === name)
    if (!found) throw new Error(`${name} is not in the catalog`)
    return found
  }
  const request = (name: string, change: Partial<ScanRequest> & { columnNames?: string[] } = {}): ScanRequest => {
    const { columnNames, ...rest } = change
    const columns = table(name).columns.filter((c) => !columnNames || columnNames.includes(c.name))
    return { schema: db, table: name, columns, filters: [], ...rest }
  }
  const scan = (req: ScanRequest, signal = new AbortController().signal) =>
    loadScan(req.columns, (sink) => session.scan!(req, sink, signal))
  const sourceRows = async (sql: string) => (await admin.query<RowDataPacket[]>(sql))[0] as Record<string, unknown>[]
  const runningScans = async () => {
    const [rows] = await admin.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
       WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE ?`,
      [`% FROM \`${db}\`.%`],
    )
    return Number(rows[0]!.n)
  }

  it('reads every Chinook table whole, with the same rows as the source', async () => {
    for (const name of CHINOOK_TABLES) {
      const key = table(name).columns[0]!.name
      const loaded = await scan(request(name))
      try {
        const [source] = await sourceRows(`SELECT COUNT(*) AS n, CAST(SUM(\`${key}\`) AS SIGNED) AS k FROM \`${name}\``)
        const [read] = await loaded.rows(`SELECT count(*)::int AS n, sum("${key}")::int8 AS k FROM scan`)
        expect({ name, n: read!.n, k: String(read!.k) }).toEqual({ name, n: source!.n, k: String(source!.k) })
        expect(loaded.result.rows).toBe(source!.n)
      } finally {
        loaded.close()
      }
    }
  })

  it('reads Invoice with the right types and values', async () => {
    const loaded = await scan(request('Invoice'))
    try {
      expect((await loaded.rows('describe scan')).map((row) => [row.column_name, row.column_type])).toEqual(
        table('Invoice').columns.map((c) => [c.name, c.type]),
      )
      const [source] = await sourceRows(`
        SELECT CAST(SUM(Total) AS CHAR) AS total,
          GROUP_CONCAT(BillingCountry ORDER BY InvoiceId SEPARATOR '|') AS countries,
          GROUP_CONCAT(COALESCE(BillingState, '<null>') ORDER BY InvoiceId SEPARATOR '|') AS states,
          GROUP_CONCAT(DATE_FORMAT(InvoiceDate, '%Y-%m-%d %H:%i:%s') ORDER BY InvoiceId SEPARATOR '|') AS dates
        FROM Invoice`)
      const [read] = await loaded.rows(`
        SELECT sum(Total)::varchar AS total, string_agg(BillingCountry, '|' ORDER BY InvoiceId) AS countries,
          string_agg(coalesce(BillingState, '<null>'), '|' ORDER BY InvoiceId) AS states,
          string_agg(strftime(InvoiceDate, '%Y-%m-%d %H:%M:%S'), '|' ORDER BY InvoiceId) AS dates
        FROM scan`)
      expect(read).toEqual(source)
      expect(loaded.result.remoteSql).toBe(
        'SELECT `InvoiceId`, `CustomerId`, `InvoiceDate`, `BillingAddress`, `BillingCity`, `BillingState`, ' +
          `\`BillingCountry\`, \`BillingPostalCode\`, \`Total\` FROM \`${db}\`.\`Invoice\``,
      )
    } finally {
      loaded.close()
    }
  })

  it('pushes a selective filter and reads only matching rows', async () => {
    const loaded = await scan(
      request('Invoice', { filters: [{ column: 'BillingCountry', op: '=', value: 'Germany' }] }),
    )
    try {
      expect(loaded.result.remoteSql).toContain("WHERE `BillingCountry` = 'Germany'")
      const [source] = await sourceRows(`SELECT COUNT(*) AS n FROM Invoice WHERE BillingCountry = 'Germany'`)
      expect(source!.n).toBeGreaterThan(0)
      expect(loaded.result.rows).toBe(source!.n)
      expect(await loaded.rows('SELECT DISTINCT BillingCountry FROM scan')).toEqual([{ BillingCountry: 'Germany' }])
    } finally {
      loaded.close()
    }
  })

  it('pushes numbers and dates fully, text only by = and IN', async () => {
    const req = request('Invoice', {
      filters: [
        { column: 'Total', op: '>=', value: 5 },
        { column: 'Total', op: '<', value: '15.86' },
        { column: 'InvoiceDate', op: '>=', value: '2022-01-01 00:00:00' },
        { column: 'InvoiceDate', op: '<', value: '2024-01-01T00:00:00' },
        { column: 'BillingCountry', op: 'in', values: ['USA', 'Canada', 'Brazil'] },
        { column: 'BillingState', op: 'is_not_null' },
        { column: 'CustomerId', op: '<>', value: 16n },
        // Not pushed: ranges and <> on text, under a collation that may not be byte order.
        { column: 'BillingCountry', op: '>', value: 'B' },
        { column: 'BillingCity', op: '<>', value: 'Boston' },
      ],
    })
    const loaded = await scan(req)
    try {
      expect(loaded.result.remoteSql).toContain(
        " WHERE `Total` >= 5 AND `Total` < 15.86 AND `InvoiceDate` >= '2022-01-01 00:00:00'" +
          " AND `InvoiceDate` < '2024-01-01 00:00:00' AND `BillingCountry` IN ('USA', 'Canada', 'Brazil')" +
          ' AND `BillingState` IS NOT NULL AND `CustomerId` <> 16',
      )
      expect(loaded.result.remoteSql).not.toContain('Boston')
      expect(loaded.result.remoteSql).not.toContain("'B'")
      const [source] = await sourceRows(`
        SELECT COUNT(*) AS n, CAST(SUM(InvoiceId) AS SIGNED) AS ids FROM Invoice
        WHERE Total >= 5 AND Total < 15.86 AND InvoiceDate >= '2022-01-01' AND InvoiceDate < '2024-01-01'
          AND BillingCountry IN ('USA', 'Canada', 'Brazil') AND BillingState IS NOT NULL AND CustomerId <> 16`)
      const [read] = await loaded.rows('SELECT count(*)::int AS n, sum(InvoiceId)::int AS ids FROM scan')
      expect(read).toEqual({ n: source!.n, ids: Number(source!.ids) })
    } finally {
      loaded.close()
    }
  })

  it('returns a superset for = on text under a case-insensitive collation, which DuckDB then narrows', async () => {
    const loaded = await scan(
      request('Invoice', { filters: [{ column: 'BillingCountry', op: '=', value: 'GERMANY' }] }),
    )
    try {
      expect(loaded.result.rows).toBeGreaterThan(0)
      expect(await loaded.rows(`SELECT count(*)::int AS n FROM scan WHERE BillingCountry = 'GERMANY'`)).toEqual([
        { n: 0 },
      ])
    } finally {
      loaded.close()
    }
  })

  it('leaves out filters it cannot apply without an error or a lost row', () => {
    const context = { quote: (text: string) => `'${text}'`, charset: () => undefined }
    const sql = mysqlScanSql(
      request('types', {
        filters: [
          { column: 'c_float', op: '=', value: 0.1 },
          { column: 'c_decimal_65', op: '=', value: 1 },
          { column: 'c_bit', op: '=', value: 1 },
          { column: 'c_json', op: '=', value: '[]' },
          { column: 'c_time', op: '=', value: '12:00:00' },
          { column: 'c_date', op: 'is_null' },
          { column: 'c_timestamp', op: '=', value: '2024-01-01 00:00:00+01:00' },
          { column: 'c_bigint', op: '=', value: 2 ** 53 + 2 },
          { column: 'c_decimal', op: '=', value: 1e-7 },
          { column: 'c_latin', op: '=', value: '漢' },
          { column: 'c_enum', op: '<', value: 'b' },
          { column: 'c_point', op: 'is_not_null' },
        ],
      }),
      context,
    )
    expect(sql).toMatch(/ WHERE `c_point` IS NOT NULL$/)
  })

  it('pushes non-ASCII text only where the column’s character set holds it', async () => {
    // Track.Name is NVARCHAR, i.e. utf8mb3: no room for 😀, where MariaDB would fail the query.
    for (const [value, pushed] of [
      ['Für Elise', true],
      ['Snow 😀', false],
    ] as const) {
      const loaded = await scan(request('Track', { filters: [{ column: 'Name', op: '=', value }] }))
      try {
        expect(loaded.result.remoteSql.includes('WHERE'), value).toBe(pushed)
      } finally {
        loaded.close()
      }
    }
    const loaded = await scan(request('types', { filters: [{ column: 'c_latin', op: '=', value: '漢' }] }))
    try {
      expect(loaded.result.remoteSql).not.toContain('WHERE')
      expect(loaded.result.rows).toBe(4)
    } finally {
      loaded.close()
    }
  })

  it('selects only the requested columns, and applies a limit', async () => {
    const req = request('Track', { columnNames: ['TrackId', 'Name'], limit: 5 })
    req.columns.reverse()
    const loaded = await scan(req)
    try {
      expect(loaded.result.remoteSql).toBe(`SELECT \`Name\`, \`TrackId\` FROM \`${db}\`.\`Track\` LIMIT 5`)
      expect(loaded.result.rows).toBe(5)
      expect((await loaded.rows('describe scan')).map((row) => row.column_name)).toEqual(['Name', 'TrackId'])
    } finally {
      loaded.close()
    }
  })

  it('round-trips text: quotes, commas, line breaks, unicode, and the empty string apart from NULL', async () => {
    const loaded = await scan(request('texts'))
    try {
      expect(await loaded.rows('SELECT id, s FROM scan ORDER BY id')).toEqual([
        ...TEXTS.map((s, i) => ({ id: i + 1, s })),
        { id: 100, s: null },
      ])
    } finally {
      loaded.close()
    }
  })

  it('filters text exactly as written, whatever it holds', async () => {
    for (const value of TEXTS.filter((s) => s.trim() !== '' && s === s.trim())) {
      const loaded = await scan(request('texts', { filters: [{ column: 's', op: '=', value }] }))
      try {
        expect(loaded.result.remoteSql, value).toContain('WHERE')
        expect(await loaded.rows('SELECT id FROM scan'), value).toEqual([{ id: TEXTS.indexOf(value) + 1 }])
      } finally {
        loaded.close()
      }
    }
  })

  it('round-trips every type exactly', async () => {
    const loaded = await scan(request('types'))
    try {
      const text = await loaded.text()
      const names = table('types').columns.map((c) => c.name)
      const rows = text.map((row) => Object.fromEntries(row.map((value, i) => [names[i], value])))
      expect(rows[0]).toEqual({
        id: '1',
        c_tinyint: '-128',
        c_bigint: '9007199254740993',
        c_bigint_u: '18446744073709551615',
        c_decimal: '1234567890123456789012345678.0123456789',
        c_decimal_65: '1.2345678901234568e+58',
        c_float: '0.1',
        c_double: '0.1',
        c_bit: '18446744073709551615',
        c_date: '2024-02-29',
        c_datetime: '2024-02-29 12:34:56.123456',
        c_timestamp: '2024-02-29 12:34:56.5+00',
        c_time: '838:59:59.000001',
        c_year: '2024',
        c_json: '{"a": [1, "x,\\"y\\""]}',
        c_blob: '00FF10',
        c_varbinary: '',
        c_enum: 'b',
        c_set: 'x,y',
        c_point: 'POINT(1 2)',
        c_latin: 'café',
        c_char: 'ab',
        c_bool: '1',
      })
      expect(rows[1]).toMatchObject({
        c_tinyint: '127',
        c_bigint: '-9223372036854775808',
        c_decimal: '-0.0000000001',
        c_float: '-3.5',
        c_double: '1e+300',
        c_bit: '0',
        c_date: '1000-01-01',
        c_timestamp: '1970-01-01 00:00:01+00',
        c_time: '-838:59:59',
        c_year: '0',
        c_blob: '',
        c_varbinary: null,
        c_set: '',
        c_point: 'POINT(-1.5 0.25)',
        c_latin: '',
        c_char: '',
      })
      // Zero dates have no calendar date: they read as NULL, as in MySQL's own connectors.
      expect(rows[2]).toMatchObject({ c_date: null, c_datetime: null, c_timestamp: null, c_time: '-00:00:00.5' })
      expect(rows[3]).toMatchObject({ c_date: null })
      const [epoch] = await loaded.rows(`SELECT epoch_us(c_timestamp)::varchar AS us FROM scan WHERE id = 1`)
      expect(epoch).toEqual({ us: '1709210096500000' })
      const [duration] = await loaded.rows(`SELECT to_microseconds(0)::interval < c_time AS positive,
        (datepart('hour', c_time)::int8 * 3600000000 + datepart('minute', c_time) * 60000000
          + datepart('microseconds', c_time))::varchar AS us FROM scan WHERE id = 2`)
      // -(838 h 59 min 59 s)
      expect(duration).toEqual({ positive: false, us: '-3020399000000' })
    } finally {
      loaded.close()
    }
  })

  it('filters the typed columns on the source', async () => {
    const cases: [PushedFilter, number[]][] = [
      [{ column: 'c_bigint', op: '=', value: 9007199254740993n }, [1]],
      [{ column: 'c_bigint_u', op: '>', value: 9223372036854775807n }, [1]],
      [{ column: 'c_decimal', op: '<', value: 0 }, [2]],
      [{ column: 'c_double', op: '=', value: 0.1 }, [1]],
      [{ column: 'c_date', op: '>=', value: '2000-01-01' }, [1]],
      [{ column: 'c_date', op: 'is_not_null' }, [1, 2]],
      [{ column: 'c_datetime', op: '=', value: '2024-02-29 12:34:56.123456' }, [1]],
      [{ column: 'c_timestamp', op: '<', value: '1970-01-01T00:00:02Z' }, [2]],
      [{ column: 'c_enum', op: 'in', values: ['a'] }, [2]],
      [{ column: 'c_latin', op: '=', value: 'CAFE' }, []],
      [{ column: 'c_latin', op: '=', value: 'café' }, [1]],
    ]
    for (const [filter, ids] of cases) {
      const req = request('types', { columnNames: ['id', filter.column], filters: [filter] })
      const loaded = await scan(req)
      try {
        const label = JSON.stringify(filter, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
        expect(loaded.result.remoteSql, label).toContain(' WHERE ')
        const read = await loaded.rows(`SELECT id FROM scan WHERE ${duckdbCondition(filter)} ORDER BY id`)
        expect(
          read.map((row) => row.id),
          label,
        ).toEqual(ids)
      } finally {
        loaded.close()
      }
    }
  })

  it('stops the source query when aborted while the server is still working', async () => {
    const controller = new AbortController()
    const scanning = session.scan!(
      request('slow'),
      discardingSink(async () => undefined),
      controller.signal,
    )
    await expect.poll(runningScans, { timeout: 5_000 }).toBe(1)
    controller.abort()
    await expect(scanning).rejects.toMatchObject({ name: 'AbortError' })
    await expect.poll(runningScans, { timeout: 1_000, interval: 50 }).toBe(0)
  })

  it('stops the source query when aborted while the sink holds it back', async () => {
    const controller = new AbortController()
    let writes = 0
    const stuck = discardingSink(() => (++writes === 1 ? Promise.resolve() : new Promise<void>(() => undefined)))
    const scanning = session.scan!(request('endless'), stuck, controller.signal)
    await expect.poll(() => writes, { timeout: 5_000 }).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await runningScans()).toBe(1)
    controller.abort()
    const abortedAt = Date.now()
    await expect(scanning).rejects.toMatchObject({ name: 'AbortError' })
    expect(Date.now() - abortedAt).toBeLessThan(1_000)
    await expect.poll(runningScans, { timeout: 1_000, interval: 50 }).toBe(0)
    // The session is still good.
    const loaded = await scan(request('Genre'))
    try {
      expect(loaded.result.rows).toBe(25)
    } finally {
      loaded.close()
    }
  })

  it('stops the source query when the sink fails, and passes the sink’s error on', async () => {
    const failure = new Error('reader went away')
    await expect(
      session.scan!(
        request('endless'),
        discardingSink(() => Promise.reject(failure)),
        new AbortController().signal,
      ),
    ).rejects.toBe(failure)
    await expect.poll(runningScans, { timeout: 1_000, interval: 50 }).toBe(0)
  })

  it('runs overlapping scans of one session side by side', async () => {
    let releaseFirst!: () => void
    const firstMayGoOn = new Promise<void>((resolve) => (releaseFirst = resolve))
    const first = session.scan!(
      request('Genre'),
      discardingSink(() => firstMayGoOn),
      new AbortController().signal,
    )
    const second = await scan(request('MediaType'))
    try {
      expect(second.result.rows).toBe(5)
    } finally {
      second.close()
    }
    releaseFirst()
    expect((await first).rows).toBe(25)
  })

  it('reports a missing table as a SourceError', async () => {
    const req: ScanRequest = { ...request('Genre'), table: 'NoSuchTable' }
    const error: unknown = await session.scan!(
      req,
      discardingSink(async () => undefined),
      new AbortController().signal,
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SourceError)
    expect((error as Error).message).toBe(`MySQL error ER_NO_SUCH_TABLE: Table '${db}.NoSuchTable' doesn't exist`)
  })
})
