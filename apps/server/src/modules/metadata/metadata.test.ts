import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'

import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  createUserSession,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'

/**
 * Project metadata over Chinook in PostgreSQL (`pg`), MariaDB (`my`) and SQLite (`lite`), one project:
 * listing before any refresh, refresh (keys, estimates, samples), edits that survive refreshes,
 * columns and tables gone missing, the use_with_ai cascade, search, a source that is down, callbacks.
 */

interface MetadataColumn {
  name: string
  type: string
  description: string | null
  description_source: string | null
  is_primary: boolean
  is_primary_source: string | null
  is_categorical: boolean
  categorical_values: string[]
  sample_values: string[]
  lineage?: unknown
  missing: boolean
}

interface TableMetadata {
  catalog: string
  schema: string
  table: string
  description: string | null
  source: string | null
  use_with_ai: boolean
  use_with_ai_source: string
  row_estimate: number | null
  missing: boolean
  columns: MetadataColumn[]
  relations: { from: { table: string; columns: string[] }; to: { table: string; columns: string[] }; origin: string }[]
  refreshed_at: string | null
}

interface RefreshJob {
  id: string
  status: string
  progress: { tables_done: number; tables_total: number } | null
  result: { tables: number; missing_tables: number; missing_columns: number; relations: number | null } | null
  error?: { code: string; message: string }
}

/** Chinook's PostgreSQL copy spells names in snake_case (`invoice_line`, `album_id`), the others in PascalCase. */
const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()
const spell = (catalog: string, name: string) => (catalog === 'pg' || catalog === 'down' ? snake(name) : name)

/** Refreshes read every source and then detect relations: tests that refresh get this long. */
const REFRESH_TEST_MS = 240_000

const skipReason = (await serviceSkipReason('postgres')) ?? (await serviceSkipReason('mysql'))

describe.skipIf(skipReason !== null)(
  `project metadata over Chinook in PostgreSQL, MariaDB and SQLite${skipReason ? ` [skipped: ${skipReason}]` : ''}`,
  () => {
    let sources: ChinookSources
    let app: TestApp
    let orgKey: string
    let projectId: string
    let pgClient: pg.Client
    /** The MariaDB schema (its database) holding Chinook. */
    let mySchema: string
    const base = () => `${API}/projects/${projectId}/metadata`

    const refresh = async (body: Record<string, unknown> = {}, key = orgKey): Promise<RefreshJob> => {
      const started = await app.request('POST', `${base()}/refresh`, { key, body })
      expect(started.status, JSON.stringify(started.body)).toBe(202)
      return waitFor(started.body.id as string, key)
    }

    const waitFor = async (jobId: string, key = orgKey): Promise<RefreshJob> => {
      const deadline = Date.now() + 60_000
      for (;;) {
        const job = await app.request('GET', `${base()}/refresh/${jobId}`, { key })
        expect(job.status, JSON.stringify(job.body)).toBe(200)
        if (['succeeded', 'failed', 'cancelled'].includes(job.body.status as string)) return job.body as RefreshJob
        if (Date.now() > deadline) throw new Error(`refresh ${jobId} did not end: ${JSON.stringify(job.body)}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }

    const table = async (catalog: string, schema: string, name: string, key = orgKey): Promise<TableMetadata> => {
      const found = await app.request('GET', `${base()}/${catalog}/${schema}/${spell(catalog, name)}`, { key })
      expect(found.status, JSON.stringify(found.body)).toBe(200)
      return found.body as TableMetadata
    }

    const column = (meta: TableMetadata, name: string): MetadataColumn => {
      const found = meta.columns.find((candidate) => candidate.name === spell(meta.catalog, name))
      if (!found) throw new Error(`no column ${name} in ${meta.table}: ${meta.columns.map((c) => c.name).join(', ')}`)
      return found
    }

    beforeAll(async () => {
      sources = await loadChinook()
      if (!sources.postgres || !sources.mysql) {
        throw new Error(`Chinook could not be loaded: ${sources.skipReasons.join('; ')}`)
      }
      mySchema = sources.mysql.database
      pgClient = new pg.Client({ ...sources.postgres, ssl: false })
      await pgClient.connect()
      app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath) } })
      orgKey = (await createOrganization(app, 'Metadata')).orgKey
      projectId = (await createProject(app, orgKey, 'Chinook everywhere')).id
      const connections = [
        { name: 'Chinook PostgreSQL', type: 'postgresql', config: sources.postgres, catalog: 'pg' },
        { name: 'Chinook MariaDB', type: 'mysql', config: sources.mysql, catalog: 'my' },
        {
          name: 'Chinook SQLite',
          type: 'sqlite',
          config: { path: path.basename(sources.sqlitePath) },
          catalog: 'lite',
        },
      ]
      for (const body of connections) {
        const created = await app.request('POST', `${API}/projects/${projectId}/connections`, { key: orgKey, body })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
      }
    })

    afterAll(async () => {
      await pgClient?.end()
      await app?.close()
      await sources?.cleanup()
    })

    it('lists every table of every catalog before any refresh, from the catalog listing', async () => {
      const listed = await app.request('GET', `${base()}?limit=200`, { key: orgKey })
      expect(listed.status, JSON.stringify(listed.body)).toBe(200)
      const tables = listed.body.data as TableMetadata[]
      const names = tables.map((entry) => `${entry.catalog}.${entry.schema}.${entry.table}`)
      for (const expected of ['pg.public.album', `my.${mySchema}.Album`, 'lite.main.Album', 'pg.public.invoice_line']) {
        expect(names).toContain(expected)
      }
      // Catalog, schema, table order.
      expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
      const album = tables.find((entry) => entry.catalog === 'pg' && entry.table === 'album')!
      expect(album.refreshed_at).toBeNull()
      expect(album.use_with_ai).toBe(true)
      expect(album.use_with_ai_source).toBe('default')
      expect(album.columns.map((entry) => entry.name)).toEqual(['album_id', 'title', 'artist_id'])
      expect(album.columns.every((entry) => !entry.is_primary && !entry.missing)).toBe(true)

      // Paging: small pages walk the same list.
      const walked: string[] = []
      let cursor: string | null = null
      do {
        const page: { status: number; body: { data: TableMetadata[]; next_cursor: string | null } } = await app.request(
          'GET',
          `${base()}?catalog=lite&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
          {
            key: orgKey,
          },
        )
        expect(page.status).toBe(200)
        walked.push(...page.body.data.map((entry) => entry.table))
        cursor = page.body.next_cursor
      } while (cursor)
      expect(walked).toEqual(names.filter((name) => name.startsWith('lite.')).map((name) => name.split('.')[2]))
    })

    it('answers 404 naming an unknown catalog, schema, table or column', async () => {
      const cases: [string, string, unknown, string][] = [
        ['GET', `${base()}?catalog=nope`, undefined, 'catalog nope'],
        ['GET', `${base()}?catalog=pg&schema=nope`, undefined, 'schema pg.nope'],
        ['GET', `${base()}?catalog=pg&schema=public&table=Nope`, undefined, 'table pg.public.Nope'],
        ['GET', `${base()}/pg/public/Nope`, undefined, 'table pg.public.Nope'],
        ['PUT', `${base()}/nope/public/Album`, { description: 'x' }, 'catalog nope'],
        ['PUT', `${base()}/pg/nope/album`, { description: 'x' }, 'schema pg.nope'],
        ['PUT', `${base()}/pg/public/album`, { columns: [{ name: 'Nope', description: 'x' }] }, 'pg.public.album.Nope'],
        ['PUT', `${base()}/nope`, { use_with_ai: false }, 'catalog nope'],
        ['PUT', `${base()}/pg/nope`, { use_with_ai: false }, 'schema pg.nope'],
        ['POST', `${base()}/refresh`, { catalog: 'nope' }, 'catalog nope'],
      ]
      for (const [method, url, body, named] of cases) {
        const answer = await app.request(method, url, { key: orgKey, ...(body ? { body } : {}) })
        expect(answer.status, `${method} ${url}: ${JSON.stringify(answer.body)}`).toBe(404)
        expect(answer.body.error.code).toBe('not_found')
        expect(answer.body.error.message).toContain(named)
      }
    })

    it(
      'refreshes every catalog: keys, row estimates and sample values, with progress',
      async () => {
        const job = await refresh()
        expect(job.status, JSON.stringify(job)).toBe('succeeded')
        expect(job.result!.tables).toBeGreaterThanOrEqual(33)
        expect(job.progress!.tables_done).toBe(job.progress!.tables_total)

        for (const [catalog, schema] of [
          ['pg', 'public'],
          ['my', mySchema],
          ['lite', 'main'],
        ] as const) {
          const album = await table(catalog, schema, 'Album')
          expect(album.refreshed_at, catalog).not.toBeNull()
          expect(column(album, 'AlbumId').is_primary, catalog).toBe(true)
          expect(column(album, 'AlbumId').is_primary_source, catalog).toBe('detected')
          expect(column(album, 'Title').is_primary, catalog).toBe(false)
          expect(column(album, 'Title').sample_values.length, catalog).toBe(5)
          expect(column(album, 'ArtistId').sample_values.length, catalog).toBeGreaterThan(0)
          const line = await table(catalog, schema, 'PlaylistTrack')
          expect(
            line.columns.filter((entry) => entry.is_primary).map((entry) => entry.name),
            catalog,
          ).toEqual([spell(catalog, 'PlaylistId'), spell(catalog, 'TrackId')])
        }
        const invoices = await table('pg', 'public', 'Invoice')
        expect(invoices.row_estimate).not.toBeNull()
        expect(column(invoices, 'BillingCountry').sample_values.every((value) => value.length > 0)).toBe(true)
        // Foreign keys became relations (helper E's detection runs after the refresh).
        expect(
          invoices.relations.some(
            (relation) =>
              relation.from.table === 'invoice' &&
              relation.to.table === 'customer' &&
              relation.from.columns.join() === 'customer_id',
          ),
        ).toBe(true)
      },
      REFRESH_TEST_MS,
    )

    it(
      'keeps what people wrote through refreshes, and marks vanished columns and tables missing',
      async () => {
        await pgClient.query('alter table genre add column origin text')
        await pgClient.query('create table scratch (id integer primary key, note text)')
        await pgClient.query(`insert into genre (genre_id, name, origin) values (9001, 'Zydeco', 'Louisiana')`)
        expect((await refresh({ catalog: 'pg' })).status).toBe('succeeded')

        const edited = await app.request('PUT', `${base()}/pg/public/genre`, {
          key: orgKey,
          body: {
            description: 'Music genres',
            columns: [
              { name: 'origin', description: 'Where the genre comes from' },
              { name: 'name', description: 'The genre’s name', is_categorical: true },
              { name: 'genre_id', is_primary: false },
            ],
          },
        })
        expect(edited.status, JSON.stringify(edited.body)).toBe(200)
        expect(edited.body.description).toBe('Music genres')
        expect(edited.body.source).toBe('user')
        expect(column(edited.body, 'Origin').description_source).toBe('user')
        expect(column(edited.body, 'GenreId').is_primary).toBe(false)
        expect(column(edited.body, 'GenreId').is_primary_source).toBe('user')
        await app.request('PUT', `${base()}/pg/public/scratch`, { key: orgKey, body: { description: 'Scratch notes' } })

        // PUT keeps what it omits.
        const second = await app.request('PUT', `${base()}/pg/public/genre`, {
          key: orgKey,
          body: { columns: [{ name: 'name', description: 'Name of the genre' }] },
        })
        expect(second.status).toBe(200)
        expect(second.body.description).toBe('Music genres')
        expect(column(second.body, 'Origin').description).toBe('Where the genre comes from')
        expect(column(second.body, 'Name').is_categorical).toBe(true)

        await pgClient.query('alter table genre drop column origin')
        await pgClient.query('drop table scratch')
        const job = await refresh({ catalog: 'pg' })
        expect(job.status).toBe('succeeded')
        expect(job.result!.missing_tables).toBe(1)
        expect(job.result!.missing_columns).toBeGreaterThanOrEqual(1)

        const genre = await table('pg', 'public', 'Genre')
        expect(genre.description).toBe('Music genres')
        expect(column(genre, 'Name').description).toBe('Name of the genre')
        // The person's "not a primary key" stands against the detected key.
        expect(column(genre, 'GenreId').is_primary).toBe(false)
        const origin = column(genre, 'Origin')
        expect(origin.missing).toBe(true)
        expect(origin.description).toBe('Where the genre comes from')
        expect(genre.columns.at(-1)!.name).toBe('origin')

        const scratch = await table('pg', 'public', 'Scratch')
        expect(scratch.missing).toBe(true)
        expect(scratch.description).toBe('Scratch notes')

        // Back again: no longer missing, the description still there.
        await pgClient.query('alter table genre add column origin text')
        expect((await refresh({ catalog: 'pg' })).status).toBe('succeeded')
        const back = await table('pg', 'public', 'Genre')
        expect(column(back, 'Origin').missing).toBe(false)
        expect(column(back, 'Origin').description).toBe('Where the genre comes from')
        await pgClient.query('alter table genre drop column origin')
        await pgClient.query('delete from genre where genre_id = 9001')
        await app.request('PUT', `${base()}/pg/public/genre`, {
          key: orgKey,
          body: { columns: [{ name: 'genre_id', is_primary: true }] },
        })
      },
      REFRESH_TEST_MS,
    )

    it('cascades use_with_ai from catalog to schema to table, table settings winning', async () => {
      const off = await app.request('PUT', `${base()}/lite`, { key: orgKey, body: { use_with_ai: false } })
      expect(off.status, JSON.stringify(off.body)).toBe(200)
      expect(off.body).toEqual({ catalog: 'lite', schema: null, use_with_ai: false })
      expect((await table('lite', 'main', 'Track')).use_with_ai).toBe(false)
      expect((await table('lite', 'main', 'Track')).use_with_ai_source).toBe('catalog')

      const schemaOn = await app.request('PUT', `${base()}/lite/main`, { key: orgKey, body: { use_with_ai: true } })
      expect(schemaOn.status).toBe(200)
      expect((await table('lite', 'main', 'Track')).use_with_ai_source).toBe('schema')
      expect((await table('lite', 'main', 'Track')).use_with_ai).toBe(true)

      const tableOff = await app.request('PUT', `${base()}/lite/main/Album`, {
        key: orgKey,
        body: { use_with_ai: false },
      })
      expect(tableOff.status).toBe(200)
      expect(tableOff.body.use_with_ai).toBe(false)
      expect(tableOff.body.use_with_ai_source).toBe('table')
      expect((await table('lite', 'main', 'Track')).use_with_ai).toBe(true)

      // The catalog switched back on does not override the table's own setting.
      await app.request('PUT', `${base()}/lite/main`, { key: orgKey, body: { use_with_ai: null } })
      await app.request('PUT', `${base()}/lite`, { key: orgKey, body: { use_with_ai: true } })
      expect((await table('lite', 'main', 'Album')).use_with_ai).toBe(false)
      expect((await table('lite', 'main', 'Artist')).use_with_ai).toBe(true)
      const cleared = await app.request('PUT', `${base()}/lite/main/Album`, {
        key: orgKey,
        body: { use_with_ai: null },
      })
      expect(cleared.body.use_with_ai).toBe(true)
      await app.request('PUT', `${base()}/lite`, { key: orgKey, body: { use_with_ai: null } })
    })

    describe('search', () => {
      const PHRASINGS: [string, string][] = [
        ['which bands released the most records', 'Album'],
        ['purchases made in France in 2024', 'Invoice'],
        ['clients living in Portugal', 'Customer'],
        ['songs longer than five minutes', 'Track'],
        ['top selling tracks', 'InvoiceLine'],
        ['how many albums does each artist have', 'Album'],
        ['list of music genres', 'Genre'],
        ['employees and who they report to', 'Employee'],
        ['sales reps hired after 2003', 'Employee'],
        ['customers supported by each sales agent', 'Customer'],
        ['playlists with the most songs', 'PlaylistTrack'],
        ['names of all playlists', 'Playlist'],
        ['audio file formats of tracks', 'MediaType'],
        ['invoice totals by billing city', 'Invoice'],
        ['unit price and quantity of each order line', 'InvoiceLine'],
        ['composers who wrote the most songs', 'Track'],
        ['artists and their names', 'Artist'],
        ['revenue per country', 'Invoice'],
        ['customer email addresses', 'Customer'],
        ['tracks on each album', 'Track'],
        ['which rock songs are the longest', 'Track'],
        ['staff phone numbers', 'Employee'],
      ]

      beforeAll(async () => {
        // One copy answers: the MariaDB and SQLite copies are kept from AI.
        for (const catalog of ['my', 'lite']) {
          const off = await app.request('PUT', `${base()}/${catalog}`, { key: orgKey, body: { use_with_ai: false } })
          expect(off.status).toBe(200)
        }
        const categorical = await app.request('PUT', `${base()}/pg/public/customer/columns/country/categorical`, {
          key: orgKey,
          body: { limit: 50 },
        })
        expect(categorical.status, JSON.stringify(categorical.body)).toBe(200)
      })

      afterAll(async () => {
        for (const catalog of ['my', 'lite']) {
          await app.request('PUT', `${base()}/${catalog}`, { key: orgKey, body: { use_with_ai: null } })
        }
      })

      it.each(PHRASINGS)('finds the table for "%s" (%s) in the top 3', async (question, expected) => {
        const found = await app.request('GET', `${base()}/search?q=${encodeURIComponent(question)}&limit=3`, {
          key: orgKey,
        })
        expect(found.status, JSON.stringify(found.body)).toBe(200)
        const hits = found.body.data as { catalog: string; schema: string; table: string }[]
        expect(
          hits.map((hit) => `${hit.catalog}.${hit.table}`),
          question,
        ).toContain(`pg.${snake(expected)}`)
        expect(hits.every((hit) => hit.catalog === 'pg')).toBe(true)
      })

      it('says what matched: a categorical value, a column, a description', async () => {
        const found = await app.request(
          'GET',
          `${base()}/search?q=${encodeURIComponent('clients living in Portugal')}`,
          {
            key: orgKey,
          },
        )
        const customer = (
          found.body.data as { table: string; matches: { field: string; column: string | null; value: string }[] }[]
        ).find((hit) => hit.table === 'customer')!
        expect(customer.matches).toContainEqual(
          expect.objectContaining({ field: 'categorical_value', column: 'country', value: 'Portugal' }),
        )
        const genre = await app.request('GET', `${base()}/search?q=${encodeURIComponent('music genres')}`, {
          key: orgKey,
        })
        const hit = (genre.body.data as { table: string; matches: { field: string }[] }[]).find(
          (entry) => entry.table === 'genre',
        )!
        expect(hit.matches.map((match) => match.field)).toContain('description')
      })

      it('never shows tables AI may not use, and sees edits at once', async () => {
        const before = await app.request('GET', `${base()}/search?q=invoice&limit=50`, { key: orgKey })
        expect((before.body.data as { table: string }[]).map((hit) => hit.table)).toContain('invoice')
        await app.request('PUT', `${base()}/pg/public/invoice`, { key: orgKey, body: { use_with_ai: false } })
        const after = await app.request('GET', `${base()}/search?q=invoice&limit=50`, { key: orgKey })
        expect((after.body.data as { table: string }[]).map((hit) => hit.table)).not.toContain('invoice')
        await app.request('PUT', `${base()}/pg/public/invoice`, { key: orgKey, body: { use_with_ai: null } })
        const again = await app.request('GET', `${base()}/search?q=invoice&limit=50`, { key: orgKey })
        expect((again.body.data as { table: string }[]).map((hit) => hit.table)).toContain('invoice')
      })
    })

    it(
      'signs the callback of a refresh that ends, with the project’s secret',
      async () => {
        const received: { body: string; signature: string | undefined }[] = []
        const server: Server = createServer((request: IncomingMessage, response) => {
          const chunks: Buffer[] = []
          request.on('data', (chunk: Buffer) => chunks.push(chunk))
          request.on('end', () => {
            received.push({
              body: Buffer.concat(chunks).toString('utf8'),
              signature: request.headers['x-tributary-signature'] as string | undefined,
            })
            response.writeHead(204).end()
          })
        })
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
        try {
          const { port } = server.address() as AddressInfo
          const secret = await app.request('GET', `${base()}/callback-secret`, { key: orgKey })
          expect(secret.status).toBe(200)
          expect(secret.body.header).toBe('X-Tributary-Signature')
          const job = await refresh({ catalog: 'lite', callback_url: `http://127.0.0.1:${port}/hooks/metadata` })
          expect(job.status).toBe('succeeded')
          const deadline = Date.now() + 10_000
          while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
          expect(received).toHaveLength(1)
          const [call] = received
          const expected = `sha256=${createHmac('sha256', secret.body.secret as string)
            .update(call!.body)
            .digest('hex')}`
          expect(call!.signature).toBe(expected)
          const payload = JSON.parse(call!.body)
          expect(payload).toMatchObject({
            event: 'metadata.refresh',
            job_id: job.id,
            project_id: projectId,
            status: 'succeeded',
          })
          // Another project has another secret.
          const other = (await createProject(app, orgKey, 'Other')).id
          const otherSecret = await app.request('GET', `${API}/projects/${other}/metadata/callback-secret`, {
            key: orgKey,
          })
          expect(otherSecret.body.secret).not.toBe(secret.body.secret)
        } finally {
          await new Promise<void>((resolve) => server.close(() => resolve()))
        }
      },
      REFRESH_TEST_MS,
    )

    it(
      'fails a refresh of a source that is down with connection_error, leaving its metadata as it was',
      async () => {
        const created = await app.request('POST', `${API}/projects/${projectId}/connections`, {
          key: orgKey,
          body: { name: 'Soon down', type: 'postgresql', config: sources.postgres, catalog: 'down' },
        })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        expect((await refresh({ catalog: 'down' })).status).toBe('succeeded')
        await app.request('PUT', `${base()}/down/public/artist`, { key: orgKey, body: { description: 'Performers' } })
        const before = await table('down', 'public', 'Artist')

        const moved = await app.request('PATCH', `${API}/projects/${projectId}/connections/${created.body.id}`, {
          key: orgKey,
          body: { config: { port: 1 } },
        })
        expect(moved.status, JSON.stringify(moved.body)).toBe(200)

        const received: string[] = []
        const server = createServer((request, response) => {
          const chunks: Buffer[] = []
          request.on('data', (chunk: Buffer) => chunks.push(chunk))
          request.on('end', () => {
            received.push(Buffer.concat(chunks).toString('utf8'))
            response.writeHead(200).end()
          })
        })
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
        try {
          const { port } = server.address() as AddressInfo
          const job = await refresh({ catalog: 'down', callback_url: `http://127.0.0.1:${port}/` })
          expect(job.status).toBe('failed')
          expect(job.error!.code).toBe('connection_error')
          const after = await table('down', 'public', 'Artist')
          expect(after).toEqual(before)
          const deadline = Date.now() + 10_000
          while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
          expect(JSON.parse(received[0]!)).toMatchObject({ status: 'failed', error: { code: 'connection_error' } })
        } finally {
          await new Promise<void>((resolve) => server.close(() => resolve()))
        }
        // Reading the project's metadata still works with one source down.
        const listed = await app.request('GET', `${base()}?catalog=down`, { key: orgKey })
        expect(listed.status).toBe(200)
        await app.request('DELETE', `${API}/projects/${projectId}/connections/${created.body.id}`, { key: orgKey })
      },
      REFRESH_TEST_MS,
    )

    it(
      'describes the tables of semantic catalogs too, with their columns’ lineage',
      async () => {
        const query = await app.request('POST', `${API}/projects/${projectId}/queries`, {
          key: orgKey,
          body: {
            display_name: 'Invoices by country',
            sql: 'select invoice_id, billing_country from pg.public.invoice',
          },
        })
        expect(query.status, JSON.stringify(query.body)).toBe(201)
        const catalog = await app.request('POST', `${API}/projects/${projectId}/semantic-catalogs`, {
          key: orgKey,
          body: { name: 'curated' },
        })
        expect(catalog.status, JSON.stringify(catalog.body)).toBe(201)
        const published = await app.request('POST', `${API}/projects/${projectId}/semantic-catalogs/curated/tables`, {
          key: orgKey,
          body: { table: 'invoices', query_id: query.body.id },
        })
        expect(published.status, JSON.stringify(published.body)).toBe(201)

        const listed = await app.request('GET', `${base()}?catalog=curated`, { key: orgKey })
        expect(listed.status, JSON.stringify(listed.body)).toBe(200)
        const [invoices] = listed.body.data as TableMetadata[]
        expect(invoices).toMatchObject({ catalog: 'curated', schema: 'main', table: 'invoices', refreshed_at: null })
        expect(invoices!.columns.find((entry) => entry.name === 'billing_country')!.lineage).toEqual([
          { catalog: 'pg', schema: 'public', table: 'invoice', column: 'billing_country' },
        ])
        const edited = await app.request('PUT', `${base()}/curated/main/invoices`, {
          key: orgKey,
          body: { description: 'Invoices with their country' },
        })
        expect(edited.status, JSON.stringify(edited.body)).toBe(200)
        // A column described below is described in the semantic table that passes it on.
        const described = await app.request('PUT', `${base()}/pg/public/invoice`, {
          key: orgKey,
          body: { columns: [{ name: 'billing_country', description: 'Country the invoice is billed to' }] },
        })
        expect(described.status, JSON.stringify(described.body)).toBe(200)
        const job = await refresh({ catalog: 'curated' })
        expect(job.status, JSON.stringify(job)).toBe('succeeded')
        const after = await table('curated', 'main', 'invoices')
        expect(after.description).toBe('Invoices with their country')
        expect(column(after, 'billing_country')).toMatchObject({
          description: 'Country the invoice is billed to',
          description_source: 'detected',
        })
        expect(column(after, 'billing_country').sample_values.length).toBeGreaterThan(0)

        // The saved query by name, in the `queries` catalog: its columns come from planning it.
        const byName = await refresh({ catalog: 'queries' })
        expect(byName.status, JSON.stringify(byName)).toBe('succeeded')
        const saved = await table('queries', 'main', 'Invoices by country')
        expect(saved.columns.map((entry) => [entry.name, entry.type])).toEqual([
          ['invoice_id', 'INTEGER'],
          ['billing_country', 'VARCHAR'],
        ])
        expect(column(saved, 'billing_country')).toMatchObject({
          description: 'Country the invoice is billed to',
          lineage: [{ catalog: 'pg', schema: 'public', table: 'invoice', column: 'billing_country' }],
        })
      },
      REFRESH_TEST_MS,
    )

    it(
      'lets viewers read and search but not write; keys need the metadata scope to write',
      async () => {
        const viewer = (await createUserSession(app, orgKey, 'viewer')).token
        const editor = (await createUserSession(app, orgKey, 'editor')).token
        expect((await app.request('GET', `${base()}?catalog=pg&limit=1`, { key: viewer })).status).toBe(200)
        expect((await app.request('GET', `${base()}/search?q=album`, { key: viewer })).status).toBe(200)
        for (const [method, url, body] of [
          ['PUT', `${base()}/pg/public/album`, { description: 'x' }],
          ['PUT', `${base()}/pg`, { use_with_ai: true }],
          ['POST', `${base()}/refresh`, {}],
          ['GET', `${base()}/callback-secret`, undefined],
        ] as const) {
          const answer = await app.request(method, url, { key: viewer, ...(body ? { body } : {}) })
          expect(answer.status, `${method} ${url}`).toBe(403)
        }
        expect(
          (await app.request('PUT', `${base()}/pg/public/album`, { key: editor, body: { description: 'Records' } }))
            .status,
        ).toBe(200)
        const queryKey = (await createProjectKey(app, orgKey, projectId, ['query'])).key
        const metadataKey = (await createProjectKey(app, orgKey, projectId, ['metadata'])).key
        expect(
          (await app.request('PUT', `${base()}/pg/public/album`, { key: queryKey, body: { description: 'x' } })).status,
        ).toBe(403)
        expect(
          (await app.request('PUT', `${base()}/pg/public/album`, { key: metadataKey, body: { description: 'Albums' } }))
            .status,
        ).toBe(200)
        // A key without the query scope refreshes without reading sample values.
        const job = await refresh({ catalog: 'lite' }, metadataKey)
        expect(job.status).toBe('succeeded')
        expect(column(await table('lite', 'main', 'Album'), 'Title').sample_values.length).toBe(5)
      },
      REFRESH_TEST_MS,
    )
  },
)
