import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'

import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../../test/fixtures/chinook.js'
import { type ConnectorContext, type SourceCatalog, SourceError, type SourceTable } from '../connector.js'
import { type MysqlConfig, mysqlConnector, openMysqlConnection } from './mysql-connector.js'

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
      c_time: 'TIME',
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
