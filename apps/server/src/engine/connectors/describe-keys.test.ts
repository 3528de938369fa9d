import path from 'node:path'

import Database from 'better-sqlite3'
import { createConnection } from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { loadChinook, serviceSkipReason } from '../../../test/fixtures/chinook.js'
import type { ConnectorContext, SourceKeys, SourceSession } from './connector.js'
import { mysqlConnector } from './mysql/mysql-connector.js'
import { postgresqlConnector } from './postgresql/postgresql-connector.js'
import { sqliteConnector } from './sqlite/sqlite-connector.js'

/*
 * Keys and row estimates read from Chinook in each SQL source. The fixture declares the same primary and
 * foreign keys in all three spellings (Chinook_PostgreSql.sql in snake_case, Chinook_MySql.sql and the
 * SQLite file in PascalCase); the expectations below are written once in PascalCase and spelled per source.
 */

const CONTEXT: ConnectorContext = { fileRoots: [], connectTimeoutMs: 2_000 }

/** Every foreign key Chinook declares: table(columns) → table(columns). */
const CHINOOK_FOREIGN_KEYS: [string, string[], string, string[]][] = [
  ['Album', ['ArtistId'], 'Artist', ['ArtistId']],
  ['Customer', ['SupportRepId'], 'Employee', ['EmployeeId']],
  ['Employee', ['ReportsTo'], 'Employee', ['EmployeeId']],
  ['Invoice', ['CustomerId'], 'Customer', ['CustomerId']],
  ['InvoiceLine', ['InvoiceId'], 'Invoice', ['InvoiceId']],
  ['InvoiceLine', ['TrackId'], 'Track', ['TrackId']],
  ['PlaylistTrack', ['PlaylistId'], 'Playlist', ['PlaylistId']],
  ['PlaylistTrack', ['TrackId'], 'Track', ['TrackId']],
  ['Track', ['AlbumId'], 'Album', ['AlbumId']],
  ['Track', ['GenreId'], 'Genre', ['GenreId']],
  ['Track', ['MediaTypeId'], 'MediaType', ['MediaTypeId']],
]

const CHINOOK_PRIMARY_KEYS: [string, string[]][] = [
  ['Album', ['AlbumId']],
  ['Artist', ['ArtistId']],
  ['Customer', ['CustomerId']],
  ['Employee', ['EmployeeId']],
  ['Genre', ['GenreId']],
  ['Invoice', ['InvoiceId']],
  ['InvoiceLine', ['InvoiceLineId']],
  ['MediaType', ['MediaTypeId']],
  ['Playlist', ['PlaylistId']],
  ['PlaylistTrack', ['PlaylistId', 'TrackId']],
  ['Track', ['TrackId']],
]

/**
 * Added beside Chinook in every source: a composite key declared in another order than its columns, and a
 * foreign key naming them in yet another, so "key order" cannot pass by accident.
 */
const EXTRA_TABLES = `
  CREATE TABLE keyed_parent (x INT NOT NULL, y INT NOT NULL, label VARCHAR(20), PRIMARY KEY (y, x));
  CREATE TABLE keyed_child (a INT, b INT,
    CONSTRAINT keyed_child_parent FOREIGN KEY (b, a) REFERENCES keyed_parent (y, x));
  CREATE VIEW keyed_view AS SELECT x, y FROM keyed_parent;
`

const snake = (name: string) => name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()
const pascal = (name: string) => name

interface OpenedSource {
  schema: string
  spell: (name: string) => string
  /** Foreign keys have names here. */
  namedForeignKeys: boolean
  connect(): Promise<SourceSession>
  /** Lets the source's statistics catch up (ANALYZE). */
  analyze(): Promise<void>
  close(): Promise<void>
}

const SOURCES: { type: string; skipReason: () => Promise<string | null>; open: () => Promise<OpenedSource> }[] = [
  {
    type: 'postgresql',
    skipReason: () => serviceSkipReason('postgres'),
    async open() {
      const sources = await loadChinook(['postgres'])
      const config = sources.postgres!
      const admin = new pg.Client({ ...config, password: config.password || undefined, ssl: false })
      await admin.connect()
      await admin.query(`${EXTRA_TABLES}
        CREATE TABLE measures (id INT, region INT, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
        CREATE TABLE measures_1 PARTITION OF measures FOR VALUES IN (1);
        CREATE TABLE measures_2 PARTITION OF measures FOR VALUES IN (2);
        CREATE TABLE measure_notes (id INT, region INT, note TEXT,
          CONSTRAINT measure_notes_measure FOREIGN KEY (id, region) REFERENCES measures (id, region));
        INSERT INTO measures VALUES (1, 1), (2, 1), (3, 2);
        CREATE SCHEMA other;
        CREATE TABLE other.artist_fans (fan_id INT PRIMARY KEY,
          artist_id INT CONSTRAINT artist_fans_artist REFERENCES public.artist (artist_id));
      `)
      return {
        schema: 'public',
        spell: snake,
        namedForeignKeys: true,
        connect: () => postgresqlConnector.connect(config, CONTEXT),
        analyze: async () => void (await admin.query('ANALYZE')),
        close: async () => {
          await admin.end()
          await sources.cleanup()
        },
      }
    },
  },
  {
    type: 'mysql',
    skipReason: () => serviceSkipReason('mysql'),
    async open() {
      const sources = await loadChinook(['mysql'])
      const config = sources.mysql!
      const admin = await createConnection({
        host: config.host,
        port: config.port,
        user: config.user,
        password: config.password,
        database: config.database,
        multipleStatements: true,
      })
      await admin.query(EXTRA_TABLES)
      return {
        schema: config.database,
        spell: pascal,
        namedForeignKeys: true,
        connect: () => mysqlConnector.connect(config, CONTEXT),
        analyze: async () => {
          for (const [table] of CHINOOK_PRIMARY_KEYS) await admin.query(`ANALYZE TABLE \`${table}\``)
        },
        close: async () => {
          await admin.end()
          await sources.cleanup()
        },
      }
    },
  },
  {
    type: 'sqlite',
    skipReason: async () => null,
    async open() {
      const sources = await loadChinook([])
      const write = (sql: string) => {
        const writer = new Database(sources.sqlitePath)
        try {
          writer.exec(sql)
        } finally {
          writer.close()
        }
      }
      // `REFERENCES Artist` without columns: the key references Artist's primary key.
      write(
        `${EXTRA_TABLES} CREATE TABLE artist_fans (fan_id INTEGER PRIMARY KEY, artist_id INTEGER REFERENCES Artist);`,
      )
      const context = { ...CONTEXT, fileRoots: [path.dirname(sources.sqlitePath)] }
      return {
        schema: 'main',
        spell: pascal,
        namedForeignKeys: false,
        connect: () => sqliteConnector.connect({ path: sources.sqlitePath }, context),
        analyze: async () => write('ANALYZE'),
        close: () => sources.cleanup(),
      }
    },
  },
]

for (const source of SOURCES) {
  const skipReason = await source.skipReason()

  describe.skipIf(skipReason !== null)(
    `${source.type}: describeKeys${skipReason ? ` [skipped: ${skipReason}]` : ''}`,
    () => {
      let opened: OpenedSource
      let keys: SourceKeys
      let tables: { schema: string; table: string }[]

      const read = async () => {
        const session = await opened.connect()
        try {
          const catalog = await session.introspect()
          tables = catalog.schemas.flatMap((schema) =>
            schema.tables.map((table) => ({ schema: schema.name, table: table.name })),
          )
          return await session.describeKeys!()
        } finally {
          await session.close()
        }
      }

      beforeAll(async () => {
        opened = await source.open()
        keys = await read()
      })

      afterAll(async () => {
        await opened?.close()
      })

      const estimate = (table: string) =>
        keys.rowEstimates.find((row) => row.schema === opened.schema && row.table === table)

      it('finds every foreign key Chinook declares, columns in key order', () => {
        const { schema, spell } = opened
        const found = keys.foreignKeys.filter((key) => key.schema === schema)
        for (const [table, columns, referenced, referencedColumns] of CHINOOK_FOREIGN_KEYS) {
          const matching = found.filter(
            (key) => key.table === spell(table) && key.columns.join() === columns.map(spell).join(),
          )
          expect(matching, `${table}(${columns.join()})`).toEqual([
            {
              name: opened.namedForeignKeys ? expect.any(String) : null,
              schema,
              table: spell(table),
              columns: columns.map(spell),
              references: { schema, table: spell(referenced), columns: referencedColumns.map(spell) },
            },
          ])
        }
      })

      it('reads composite keys in key order, not column order', () => {
        expect(keys.primaryKeys).toContainEqual({ schema: opened.schema, table: 'keyed_parent', columns: ['y', 'x'] })
        expect(keys.foreignKeys).toContainEqual({
          name: opened.namedForeignKeys ? 'keyed_child_parent' : null,
          schema: opened.schema,
          table: 'keyed_child',
          columns: ['b', 'a'],
          references: { schema: opened.schema, table: 'keyed_parent', columns: ['y', 'x'] },
        })
      })

      it("finds every primary key, PlaylistTrack's composite one included", () => {
        const { schema, spell } = opened
        for (const [table, columns] of CHINOOK_PRIMARY_KEYS) {
          const matching = keys.primaryKeys.filter((key) => key.schema === schema && key.table === spell(table))
          expect(matching, table).toEqual([{ schema, table: spell(table), columns: columns.map(spell) }])
        }
        // A view has no keys.
        expect(keys.primaryKeys.some((key) => key.table === 'keyed_view')).toBe(false)
      })

      it('gives every table of the catalog a row estimate, a number or null, and views none', () => {
        const listed = (rows: { schema: string; table: string }[]) =>
          rows.map((row) => `${row.schema}.${row.table}`).sort()
        expect(listed(keys.rowEstimates)).toEqual(listed(tables))
        for (const row of keys.rowEstimates) {
          expect(row.rows === null || (Number.isInteger(row.rows) && row.rows >= 0), JSON.stringify(row)).toBe(true)
        }
        expect(estimate('keyed_view')?.rows).toBeNull()
      })

      it('reads row estimates from the statistics once they are gathered', async () => {
        await opened.analyze()
        keys = await read()
        const artists = estimate(opened.spell('Artist'))!.rows
        const tracks = estimate(opened.spell('Track'))!.rows
        if (source.type === 'mysql') {
          // InnoDB samples pages: an estimate, near but not always at the count.
          expect(artists).toBeGreaterThan(0)
          expect(tracks).toBeGreaterThan(1_000)
        } else {
          expect(artists).toBe(275)
          expect(tracks).toBe(3503)
        }
      })

      it.runIf(source.type === 'sqlite')('references the primary key when a foreign key names only the table', () => {
        expect(keys.foreignKeys).toContainEqual({
          name: null,
          schema: 'main',
          table: 'artist_fans',
          columns: ['artist_id'],
          references: { schema: 'main', table: 'Artist', columns: ['ArtistId'] },
        })
      })

      it.runIf(source.type === 'postgresql')('reads keys across schemas and of partitioned tables once', () => {
        expect(keys.foreignKeys).toContainEqual({
          name: 'artist_fans_artist',
          schema: 'other',
          table: 'artist_fans',
          columns: ['artist_id'],
          references: { schema: 'public', table: 'artist', columns: ['artist_id'] },
        })
        // PostgreSQL keeps a hidden copy of the key for each partition it references: those are not keys of their own.
        expect(keys.foreignKeys.filter((key) => key.table === 'measure_notes')).toEqual([
          {
            name: 'measure_notes_measure',
            schema: 'public',
            table: 'measure_notes',
            columns: ['id', 'region'],
            references: { schema: 'public', table: 'measures', columns: ['id', 'region'] },
          },
        ])
        expect(keys.primaryKeys).toContainEqual({ schema: 'public', table: 'measures', columns: ['id', 'region'] })
        expect(estimate('measures')?.rows).toBe(3)
      })
    },
  )
}
