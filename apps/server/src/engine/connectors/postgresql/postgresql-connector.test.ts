import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'

import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../../test/fixtures/chinook.js'
import { type ConnectorContext, type SourceCatalog, SourceError, type SourceTable } from '../connector.js'
import {
  openPostgresqlClient,
  type PostgresqlConfig,
  postgresqlClientConfig,
  postgresqlConnector,
} from './postgresql-connector.js'

const context: ConnectorContext = { fileRoots: [], connectTimeoutMs: 2_000 }
const SECRET = 'Tr1butary-s3cret-PW'

const CHINOOK_TABLES = [
  'album',
  'artist',
  'customer',
  'employee',
  'genre',
  'invoice',
  'invoice_line',
  'media_type',
  'playlist',
  'playlist_track',
  'track',
]

describe('postgresql connector: config', () => {
  const schema = postgresqlConnector.configSchema

  it('describes itself and names its secret', () => {
    expect(postgresqlConnector).toMatchObject({
      type: 'postgresql',
      displayName: 'PostgreSQL',
      category: 'database',
      secretFields: ['password'],
    })
  })

  it('applies defaults', () => {
    expect(schema.parse({ host: 'db.example.com', database: 'shop', user: 'reader' })).toEqual({
      host: 'db.example.com',
      port: 5432,
      database: 'shop',
      user: 'reader',
      password: '',
      ssl: 'disable',
    })
  })

  it.each([
    [{ port: 0 }, 'port', 'must be between 1 and 65535'],
    [{ port: 65536 }, 'port', 'must be between 1 and 65535'],
    [{ port: 54.32 }, 'port', 'must be a whole number'],
    [{ port: '5432' }, 'port', 'must be a number'],
    [{ ssl: 'prefer' }, 'ssl', "must be 'disable', 'require' or 'verify-full'"],
    [{ host: '' }, 'host', 'must not be empty'],
    [{ host: '/var/run/postgresql' }, 'host', 'must be a host name or IP address, without spaces or slashes'],
    [{ database: 'x'.repeat(64) }, 'database', 'must be at most 63 characters'],
    [{ database: undefined }, 'database', 'is required'],
    [{ password: 'x'.repeat(1025) }, 'password', 'must be at most 1024 characters'],
    [{ sslmode: 'require' }, '', 'unknown field(s): sslmode'],
  ])('rejects %j', (change, field, message) => {
    const result = schema.safeParse({ host: 'db', database: 'shop', user: 'reader', ...change })
    expect(result.success).toBe(false)
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([[field, message]])
  })
})

const skipReason = await serviceSkipReason('postgres')

describe.skipIf(skipReason !== null)(
  `postgresql connector: live${skipReason ? ` [skipped: ${skipReason}]` : ''}`,
  () => {
    let sources: ChinookSources
    let config: PostgresqlConfig
    let admin: pg.Client
    let catalog: SourceCatalog
    let hasCitext: boolean
    let hasPostgresFdw: boolean
    const reader = `tributary_reader_${randomBytes(4).toString('hex')}`
    const passworded = `tributary_pw_${randomBytes(4).toString('hex')}`

    beforeAll(async () => {
      sources = await loadChinook(['postgres'])
      config = sources.postgres!
      admin = new pg.Client({ ...config, password: config.password || undefined, ssl: false })
      await admin.connect()
      const available = await admin.query<{ name: string }>(
        `select name from pg_available_extensions where name in ('citext', 'postgres_fdw')`,
      )
      hasCitext = available.rows.some((row) => row.name === 'citext')
      hasPostgresFdw = available.rows.some((row) => row.name === 'postgres_fdw')
      await admin.query(`
        create schema empty_schema;
        create schema types;
        create type types.mood as enum ('sad', 'happy');
        create domain types.price as numeric(12,3) not null;
        create domain types.positive_price as types.price check (value > 0);
        create domain types.label as varchar(20);
        create table types.every_type (
          c_int2 int2 not null, c_int4 int4, c_int8 int8,
          c_numeric_10_2 numeric(10,2), c_numeric_38_4 numeric(38,4), c_numeric_39 numeric(39,0),
          c_numeric numeric, c_numeric_neg numeric(5,-2), c_numeric_small numeric(2,4),
          c_float4 float4, c_float8 float8, c_bool bool,
          c_text text, c_varchar varchar(12), c_char char(3), c_name name,
          c_date date, c_timestamp timestamp(3), c_timestamptz timestamptz, c_time time, c_timetz timetz,
          c_uuid uuid, c_json json, c_jsonb jsonb, c_bytea bytea, c_interval interval, c_money money,
          c_enum types.mood, c_int_array int4[], c_inet inet, c_xml xml, c_bit bit(4),
          c_domain types.price, c_domain_of_domain types.positive_price, c_domain_text types.label
        );
        create view public.invoice_totals as select customer_id, sum(total) as total from invoice group by customer_id;
        create materialized view public.genre_names as select genre_id, name from genre;
        create table public.secret_stuff (id int, hidden text);
        create role ${reader} login;
        grant select on public.artist to ${reader};
        grant select (id) on public.secret_stuff to ${reader};
        create role ${passworded} login password 'right-password';
      `)
      if (hasCitext) await admin.query(`create extension citext; alter table types.every_type add c_citext citext`)
      if (hasPostgresFdw) {
        await admin.query(`
          create extension postgres_fdw;
          create server elsewhere foreign data wrapper postgres_fdw options (dbname 'elsewhere');
          create foreign table public.remote_thing (id int not null, label text) server elsewhere;
        `)
      }
      const session = await postgresqlConnector.connect(config, context)
      try {
        catalog = await session.introspect()
      } finally {
        await session.close()
      }
    })

    afterAll(async () => {
      if (admin) {
        // Roles live across databases, so they must go before the database does.
        await admin.query(`drop owned by ${reader}, ${passworded}`).catch(() => undefined)
        await admin.query(`drop role if exists ${reader}`)
        await admin.query(`drop role if exists ${passworded}`)
        await admin.end()
      }
      await sources?.cleanup()
    })

    const table = (schema: string, name: string): SourceTable => {
      const found = catalog.schemas.find((s) => s.name === schema)?.tables.find((t) => t.name === name)
      if (!found) throw new Error(`${schema}.${name} is not in the catalog`)
      return found
    }
    const column = (schema: string, tableName: string, name: string) =>
      table(schema, tableName).columns.find((c) => c.name === name)

    it('loaded Chinook', async () => {
      const counts = await admin.query(
        `select (select count(*) from invoice) as invoices, (select count(*) from track) as tracks`,
      )
      expect(counts.rows[0]).toEqual({ invoices: '412', tracks: '3503' })
    })

    it('lists user schemas sorted by name, the empty one included, and no system schemas', () => {
      expect(catalog.schemas.map((s) => s.name)).toEqual(['empty_schema', 'public', 'types'])
      expect(catalog.schemas[0]!.tables).toEqual([])
    })

    it('lists every Chinook table, the views and the foreign table, sorted by name', () => {
      const expected = [...CHINOOK_TABLES, 'genre_names', 'invoice_totals', 'secret_stuff']
      if (hasPostgresFdw) expected.push('remote_thing')
      const tables = catalog.schemas.find((s) => s.name === 'public')!.tables
      expect(tables.map((t) => t.name)).toEqual(expected.sort())
      expect(tables.filter((t) => t.kind === 'view').map((t) => t.name)).toEqual(['genre_names', 'invoice_totals'])
      if (hasPostgresFdw) {
        expect(table('public', 'remote_thing')).toMatchObject({
          kind: 'table',
          columns: [
            { name: 'id', type: 'INTEGER', nullable: false },
            { name: 'label', type: 'VARCHAR', nullable: true },
          ],
        })
      }
    })

    it('gives columns in ordinal order with DuckDB types, nullability and the source type', () => {
      expect(table('public', 'invoice').columns).toEqual([
        { name: 'invoice_id', type: 'INTEGER', nullable: false, source_type: 'integer' },
        { name: 'customer_id', type: 'INTEGER', nullable: false, source_type: 'integer' },
        { name: 'invoice_date', type: 'TIMESTAMP', nullable: false, source_type: 'timestamp without time zone' },
        { name: 'billing_address', type: 'VARCHAR', nullable: true, source_type: 'character varying(70)' },
        { name: 'billing_city', type: 'VARCHAR', nullable: true, source_type: 'character varying(40)' },
        { name: 'billing_state', type: 'VARCHAR', nullable: true, source_type: 'character varying(40)' },
        { name: 'billing_country', type: 'VARCHAR', nullable: true, source_type: 'character varying(40)' },
        { name: 'billing_postal_code', type: 'VARCHAR', nullable: true, source_type: 'character varying(10)' },
        { name: 'total', type: 'DECIMAL(10,2)', nullable: false, source_type: 'numeric(10,2)' },
      ])
      expect(table('public', 'track').columns.map((c) => c.name)).toEqual([
        'track_id',
        'name',
        'album_id',
        'media_type_id',
        'genre_id',
        'composer',
        'milliseconds',
        'bytes',
        'unit_price',
      ])
      expect(column('public', 'track', 'milliseconds')).toMatchObject({ type: 'INTEGER', nullable: false })
      expect(column('public', 'track', 'composer')).toMatchObject({ type: 'VARCHAR', nullable: true })
      expect(column('public', 'employee', 'birth_date')).toMatchObject({ type: 'TIMESTAMP', nullable: true })
      expect(table('public', 'invoice_totals').columns).toEqual([
        { name: 'customer_id', type: 'INTEGER', nullable: true, source_type: 'integer' },
        { name: 'total', type: 'DOUBLE', nullable: true, source_type: 'numeric' },
      ])
    })

    it('maps every type as specified, domains through to their base type', () => {
      const types = Object.fromEntries(
        table('types', 'every_type').columns.map((c) => [c.name, `${c.type}${c.nullable ? '' : ' NOT NULL'}`]),
      )
      expect(types).toEqual({
        c_int2: 'SMALLINT NOT NULL',
        c_int4: 'INTEGER',
        c_int8: 'BIGINT',
        c_numeric_10_2: 'DECIMAL(10,2)',
        c_numeric_38_4: 'DECIMAL(38,4)',
        c_numeric_39: 'DOUBLE',
        c_numeric: 'DOUBLE',
        c_numeric_neg: 'DECIMAL(7,0)',
        c_numeric_small: 'DECIMAL(4,4)',
        c_float4: 'FLOAT',
        c_float8: 'DOUBLE',
        c_bool: 'BOOLEAN',
        c_text: 'VARCHAR',
        c_varchar: 'VARCHAR',
        c_char: 'VARCHAR',
        c_name: 'VARCHAR',
        c_date: 'DATE',
        c_timestamp: 'TIMESTAMP',
        c_timestamptz: 'TIMESTAMPTZ',
        c_time: 'TIME',
        c_timetz: 'TIMETZ',
        c_uuid: 'UUID',
        c_json: 'JSON',
        c_jsonb: 'JSON',
        c_bytea: 'BLOB',
        c_interval: 'INTERVAL',
        c_money: 'DECIMAL(19,2)',
        c_enum: 'VARCHAR',
        c_int_array: 'VARCHAR',
        c_inet: 'VARCHAR',
        c_xml: 'VARCHAR',
        c_bit: 'VARCHAR',
        c_domain: 'DECIMAL(12,3) NOT NULL',
        c_domain_of_domain: 'DECIMAL(12,3) NOT NULL',
        c_domain_text: 'VARCHAR',
        ...(hasCitext ? { c_citext: 'VARCHAR' } : {}),
      })
      expect(column('types', 'every_type', 'c_domain_of_domain')?.source_type).toBe('types.positive_price')
      expect(column('types', 'every_type', 'c_timestamp')?.source_type).toBe('timestamp(3) without time zone')
    })

    it('lists only the schemas, tables and columns the user may read', async () => {
      const session = await postgresqlConnector.connect({ ...config, user: reader }, context)
      try {
        const visible = await session.introspect()
        const publicTables = visible.schemas.find((s) => s.name === 'public')?.tables
        expect(publicTables?.map((t) => [t.name, t.columns.map((c) => c.name)])).toEqual([
          ['artist', ['artist_id', 'name']],
          ['secret_stuff', ['id']],
        ])
      } finally {
        await session.close()
      }
    })

    it('opens read-only sessions', async () => {
      expect(postgresqlClientConfig(config, context)).toMatchObject({ application_name: 'tributary' })
      const client = await openPostgresqlClient(config, context)
      try {
        await expect(client.query(`insert into genre (genre_id, name) values (999, 'x')`)).rejects.toMatchObject({
          code: '25006',
        })
        const settings = await client.query(
          `select current_setting('transaction_read_only') as ro, current_setting('statement_timeout') as timeout`,
        )
        expect(settings.rows[0]).toEqual({ ro: 'on', timeout: '30s' })
      } finally {
        await client.end()
      }
    })

    it('closes the session', async () => {
      const session = await postgresqlConnector.connect(config, context)
      const before = await countTributarySessions(admin, config.database)
      await session.close()
      await session.close()
      await expect.poll(() => countTributarySessions(admin, config.database)).toBe(before - 1)
    })

    describe('errors', () => {
      let silent: Server
      const sockets = new Set<Socket>()
      let silentPort: number

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

      async function failure(change: Partial<PostgresqlConfig>, ctx: ConnectorContext = context): Promise<string> {
        const error: unknown = await postgresqlConnector.connect({ ...config, password: SECRET, ...change }, ctx).then(
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

      it('unknown database', async () => {
        expect(await failure({ database: 'no_such_database' })).toBe(
          `database 'no_such_database' does not exist on ${config.host}:${config.port}`,
        )
      })

      it('unknown role', async () => {
        expect(await failure({ user: 'no_such_role' })).toMatch(
          /^the server refused user 'no_such_role' \(.*\) — check the user name and the server's pg_hba.conf$/,
        )
      })

      it('wrong password', async (test) => {
        const probe = new pg.Client({ ...config, user: passworded, password: 'wrong-password', ssl: false })
        const trusted = await probe.connect().then(
          () => true,
          () => false,
        )
        if (trusted) {
          await probe.end()
          test.skip(`the server trusts ${config.host} (pg_hba 'trust'), so any password is accepted`)
        }
        expect(await failure({ user: passworded, password: SECRET })).toBe(
          `password authentication failed for user '${passworded}' — check the user name and password`,
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
        const ssl = await admin.query<{ ssl: string }>(`select current_setting('ssl') as ssl`)
        if (ssl.rows[0]?.ssl === 'on') test.skip('this server supports SSL')
        for (const mode of ['require', 'verify-full'] as const) {
          expect(await failure({ ssl: mode })).toBe(
            `${config.host}:${config.port} does not support SSL — set ssl to 'disable', or enable SSL on the server`,
          )
        }
      })

      it('a password that the message would otherwise carry is scrubbed', async () => {
        // The host name is echoed back in the message; a password equal to it must not leak through it.
        const message = await failure({ host: `${SECRET}.invalid` })
        expect(message).toBe("host '***.invalid' was not found — check the host name")
      })
    })
  },
)

async function countTributarySessions(admin: pg.Client, database: string): Promise<number> {
  const result = await admin.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where application_name = 'tributary' and datname = $1`,
    [database],
  )
  return result.rows[0]!.n
}
