import path from 'node:path'

import type { MetadataRelation, Page } from '@tributary/contract'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../test/fixtures/chinook.js'
import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../test/harness.js'
import { candidatePairs, normalizeName, typesCompatible } from './relations.service.js'

describe('relation matching', () => {
  it('normalises names across spellings', () => {
    expect(normalizeName('CustomerId')).toBe(normalizeName('customer_id'))
    expect(normalizeName('CUSTOMER_ID')).toBe('customerid')
  })

  it('relates numbers of any width, text with text, and nothing across families', () => {
    expect(typesCompatible('INTEGER', 'BIGINT')).toBe(true)
    expect(typesCompatible('DECIMAL(10,2)', 'INTEGER')).toBe(true)
    expect(typesCompatible('VARCHAR', 'VARCHAR(40)')).toBe(true)
    expect(typesCompatible('VARCHAR', 'INTEGER')).toBe(false)
    expect(typesCompatible('DATE', 'TIMESTAMP')).toBe(true)
    expect(typesCompatible('BOOLEAN', 'INTEGER')).toBe(false)
  })

  it('pairs a column with the single-column key of a table in another catalog, not copies of one table', () => {
    const pairs = candidatePairs([
      {
        catalog: 'a',
        schema: 'public',
        table: 'invoice',
        columns: [
          { name: 'invoice_id', type: 'INTEGER', is_primary: true },
          { name: 'customer_id', type: 'INTEGER', is_primary: false },
        ],
      },
      {
        catalog: 'a',
        schema: 'public',
        table: 'customer',
        columns: [{ name: 'customer_id', type: 'INTEGER', is_primary: true }],
      },
      {
        catalog: 'b',
        schema: 'main',
        table: 'Customer',
        columns: [{ name: 'CustomerId', type: 'BIGINT', is_primary: true }],
      },
      {
        catalog: 'c',
        schema: 'main',
        table: 'customers',
        columns: [
          { name: 'id', type: 'BIGINT', is_primary: true },
          { name: 'name', type: 'VARCHAR', is_primary: false },
        ],
      },
      {
        catalog: 'c',
        schema: 'main',
        table: 'labels',
        columns: [{ name: 'customer_id', type: 'VARCHAR', is_primary: false }],
      },
    ])
    const described = pairs.map(
      (pair) => `${pair.from.catalog}.${pair.from.table}.${pair.from.column}->${pair.to.catalog}.${pair.to.table}`,
    )
    expect(described.sort()).toEqual(['a.invoice.customer_id->b.Customer', 'a.invoice.customer_id->c.customers'].sort())
  })
})

const skipReason = (await serviceSkipReason('postgres')) ?? (await serviceSkipReason('mysql'))

/** Chinook's foreign keys, as MySQL and SQLite spell them. */
const CHINOOK_KEYS = [
  'Album(ArtistId) -> Artist(ArtistId)',
  'Customer(SupportRepId) -> Employee(EmployeeId)',
  'Employee(ReportsTo) -> Employee(EmployeeId)',
  'Invoice(CustomerId) -> Customer(CustomerId)',
  'InvoiceLine(InvoiceId) -> Invoice(InvoiceId)',
  'InvoiceLine(TrackId) -> Track(TrackId)',
  'PlaylistTrack(PlaylistId) -> Playlist(PlaylistId)',
  'PlaylistTrack(TrackId) -> Track(TrackId)',
  'Track(AlbumId) -> Album(AlbumId)',
  'Track(GenreId) -> Genre(GenreId)',
  'Track(MediaTypeId) -> MediaType(MediaTypeId)',
]
/** The PostgreSQL copy spells them in snake_case. */
const snake = (text: string) => text.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()

const keyOf = (relation: MetadataRelation) =>
  `${relation.from.table}(${relation.from.columns.join(',')}) -> ${relation.to.table}(${relation.to.columns.join(',')})`

describe.skipIf(skipReason !== null)(
  `relations over Chinook in PostgreSQL, MariaDB and SQLite${skipReason ? ` [skipped: ${skipReason}]` : ''}`,
  () => {
    let sources: ChinookSources
    let app: TestApp
    let key: string
    let projectId: string
    let my: string
    const base = () => `${API}/projects/${projectId}/metadata`

    async function refresh(catalog?: string) {
      const started = await app.request('POST', `${base()}/refresh`, {
        key,
        body: catalog === undefined ? {} : { catalog },
      })
      expect(started.status, JSON.stringify(started.body)).toBe(202)
      const deadline = Date.now() + 90_000
      for (;;) {
        const job = await app.request('GET', `${base()}/refresh/${started.body.id}`, { key })
        if (job.body.status === 'succeeded') return job.body
        if (job.body.status === 'failed' || job.body.status === 'cancelled' || Date.now() > deadline) {
          throw new Error(`refresh ended ${JSON.stringify(job.body)}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }

    async function relations(query = ''): Promise<MetadataRelation[]> {
      const all: MetadataRelation[] = []
      let cursor: string | null = null
      do {
        const page: { status: number; body: Page<MetadataRelation> } = await app.request<Page<MetadataRelation>>(
          'GET',
          `${base()}/relations?limit=200${query}${cursor ? `&cursor=${cursor}` : ''}`,
          { key },
        )
        expect(page.status, JSON.stringify(page.body)).toBe(200)
        all.push(...page.body.data)
        cursor = page.body.next_cursor
      } while (cursor)
      return all
    }

    beforeAll(async () => {
      sources = await loadChinook()
      if (!sources.postgres || !sources.mysql) throw new Error(sources.skipReasons.join('; '))
      my = sources.mysql.database
      app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath) } })
      key = (await createOrganization(app, 'Relations')).orgKey
      projectId = (await createProject(app, key, 'Chinook everywhere')).id
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
        const created = await app.request('POST', `${API}/projects/${projectId}/connections`, { key, body })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
      }
      // One catalog after the other: each refresh proposes the pairs between its catalog and those before it.
      for (const catalog of ['pg', 'my', 'lite']) await refresh(catalog)
    }, 180_000)

    afterAll(async () => {
      await app?.close()
      await sources?.cleanup()
    })

    it('detects every foreign key of each source, read from the referencing table', async () => {
      const detected = (await relations('&origin=foreign_key')).filter((relation) => relation.origin === 'foreign_key')
      for (const [catalog, expected] of [
        ['pg', CHINOOK_KEYS.map(snake)],
        ['my', CHINOOK_KEYS],
        ['lite', CHINOOK_KEYS],
      ] as const) {
        // The MariaDB catalog lists every database of the server: this run's Chinook only.
        const ofCatalog = detected.filter(
          (relation) => relation.from.catalog === catalog && (catalog !== 'my' || relation.from.schema === my),
        )
        expect(ofCatalog.map(keyOf).sort(), catalog).toEqual([...expected].sort())
        for (const relation of ofCatalog) {
          expect(relation.to.catalog).toBe(catalog)
          expect(relation.type).toBe('MANY_TO_ONE')
          expect(relation.confidence).toBeNull()
        }
      }
      const filtered = await relations('&catalog=lite')
      expect(filtered.every((relation) => relation.from.catalog === 'lite' || relation.to.catalog === 'lite')).toBe(
        true,
      )
    })

    it('proposes Invoice.CustomerId → Customer.CustomerId across sources, by name and value overlap', async () => {
      const inferred = await relations('&origin=inferred')
      const find = (fromCatalog: string, fromTable: string, toCatalog: string, toTable: string) =>
        inferred.find(
          (relation) =>
            relation.from.catalog === fromCatalog &&
            relation.from.table === fromTable &&
            (fromCatalog !== 'my' || relation.from.schema === my) &&
            relation.to.catalog === toCatalog &&
            relation.to.table === toTable &&
            (toCatalog !== 'my' || relation.to.schema === my),
        )
      const pgToMy = find('pg', 'invoice', 'my', 'Customer')
      expect(pgToMy, JSON.stringify(inferred.map(keyOf))).toBeDefined()
      expect(pgToMy!.from).toEqual({ catalog: 'pg', schema: 'public', table: 'invoice', columns: ['customer_id'] })
      expect(pgToMy!.to).toEqual({ catalog: 'my', schema: my, table: 'Customer', columns: ['CustomerId'] })
      expect(pgToMy!.type).toBe('MANY_TO_ONE')
      expect(pgToMy!.confidence).toBeGreaterThanOrEqual(0.9)
      expect(find('my', 'Invoice', 'lite', 'Customer')).toBeDefined()
      expect(find('lite', 'Invoice', 'pg', 'customer')).toBeDefined()
      // Copies of one table in two sources are not relations of each other.
      expect(find('pg', 'customer', 'my', 'Customer')).toBeUndefined()
      for (const relation of inferred) expect(relation.from.catalog).not.toBe(relation.to.catalog)
    })

    it('adds, changes and deletes relations; deleted detected ones stay deleted across refreshes', async () => {
      const created = await app.request('POST', `${base()}/relations`, {
        key,
        body: {
          from: { catalog: 'pg', schema: 'public', table: 'customer', columns: ['support_rep_id'] },
          to: { catalog: 'lite', schema: 'main', table: 'Employee', columns: ['EmployeeId'] },
          description: 'support reps',
        },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      expect(created.body).toMatchObject({ origin: 'manual', type: 'MANY_TO_ONE', description: 'support reps' })
      const again = await app.request('POST', `${base()}/relations`, {
        key,
        body: {
          from: { catalog: 'pg', schema: 'public', table: 'customer', columns: ['support_rep_id'] },
          to: { catalog: 'lite', schema: 'main', table: 'Employee', columns: ['EmployeeId'] },
        },
      })
      expect(again.status).toBe(409)

      const changed = await app.request('PUT', `${base()}/relations/${created.body.id}`, {
        key,
        body: { type: 'ONE_TO_ONE' },
      })
      expect(changed.status, JSON.stringify(changed.body)).toBe(200)
      expect(changed.body).toMatchObject({ type: 'ONE_TO_ONE', description: 'support reps', origin: 'manual' })
      const fetched = await app.request('GET', `${base()}/relations/${created.body.id}`, { key })
      expect(fetched.body.type).toBe('ONE_TO_ONE')

      const pgKeys = (await relations('&catalog=pg&origin=foreign_key')).filter(
        (relation) => relation.from.catalog === 'pg',
      )
      const albumKey = pgKeys.find((relation) => relation.from.table === 'album')!
      const genreKey = pgKeys.find((relation) => relation.from.table === 'track' && relation.to.table === 'genre')!
      expect((await app.request('DELETE', `${base()}/relations/${albumKey.id}`, { key })).status).toBe(204)
      expect((await app.request('GET', `${base()}/relations/${albumKey.id}`, { key })).status).toBe(404)
      // An edited foreign key becomes the user's: a refresh keeps the edit.
      const edited = await app.request('PUT', `${base()}/relations/${genreKey.id}`, {
        key,
        body: { description: 'every track has a genre' },
      })
      expect(edited.body.origin).toBe('manual')

      await refresh('pg')
      const after = await relations('&catalog=pg')
      const afterKeys = after.filter((relation) => relation.from.catalog === 'pg' && relation.to.catalog === 'pg')
      expect(afterKeys.find((relation) => relation.from.table === 'album')).toBeUndefined()
      expect(afterKeys.find((relation) => relation.id === genreKey.id)).toMatchObject({
        origin: 'manual',
        description: 'every track has a genre',
      })
      expect(afterKeys.filter((relation) => relation.origin === 'foreign_key')).toHaveLength(9)
      // Ids of detected relations survive a refresh.
      const trackKey = pgKeys.find((relation) => relation.from.table === 'track' && relation.to.table === 'album')!
      expect(afterKeys.find((relation) => relation.id === trackKey.id)).toBeDefined()
      expect(after.find((relation) => relation.id === created.body.id)).toBeDefined()

      // Added back by hand, the deleted foreign key lives again, as a manual one.
      const readded = await app.request('POST', `${base()}/relations`, {
        key,
        body: { from: albumKey.from, to: albumKey.to },
      })
      expect(readded.status, JSON.stringify(readded.body)).toBe(201)
      expect(readded.body).toMatchObject({ id: albumKey.id, origin: 'manual' })

      expect((await app.request('DELETE', `${base()}/relations/${created.body.id}`, { key })).status).toBe(204)
      expect((await app.request('DELETE', `${base()}/relations/${created.body.id}`, { key })).status).toBe(404)
    })

    it('refuses unknown tables and columns (404 naming them) and incompatible types (422)', async () => {
      const post = (body: unknown) => app.request('POST', `${base()}/relations`, { key, body })
      const invoice = { catalog: 'pg', schema: 'public', table: 'invoice', columns: ['customer_id'] }
      const customer = { catalog: 'my', schema: my, table: 'Customer', columns: ['CustomerId'] }

      const noTable = await post({ from: { ...invoice, table: 'invoices' }, to: customer })
      expect(noTable.status).toBe(404)
      expect(noTable.body.error.message).toContain('pg.public.invoices')
      const noColumn = await post({ from: invoice, to: { ...customer, columns: ['CustomerNo'] } })
      expect(noColumn.status).toBe(404)
      expect(noColumn.body.error).toMatchObject({ code: 'not_found' })
      expect(noColumn.body.error.message).toContain(`my.${my}.Customer.CustomerNo`)
      const noCatalog = await post({ from: invoice, to: { ...customer, catalog: 'nope' } })
      expect(noCatalog.status).toBe(404)
      expect(noCatalog.body.error.message).toContain('nope')

      const types = await post({ from: { ...invoice, columns: ['billing_country'] }, to: customer })
      expect(types.status).toBe(422)
      expect(types.body.error.code).toBe('validation_error')
      expect(types.body.error.message).toMatch(/incompatible/)
      const widths = await post({ from: { ...invoice, columns: ['total'] }, to: customer })
      expect(widths.status, 'numeric widths relate').toBe(201)

      const counts = await post({ from: invoice, to: { ...customer, columns: ['CustomerId', 'Email'] } })
      expect(counts.status).toBe(422)
      const self = await post({ from: invoice, to: invoice })
      expect(self.status).toBe(422)
      const badType = await post({ from: invoice, to: customer, type: 'MANY_TO_MANY' })
      expect(badType.status).toBe(422)
      const empty = await app.request('PUT', `${base()}/relations/${widths.body.id}`, { key, body: {} })
      expect(empty.status).toBe(422)
      const badColumns = await app.request('PUT', `${base()}/relations/${widths.body.id}`, {
        key,
        body: { from_columns: ['billing_city'] },
      })
      expect(badColumns.status).toBe(422)
      const unknown = await app.request('PUT', `${base()}/relations/00000000-0000-7000-8000-000000000000`, {
        key,
        body: { type: 'ONE_TO_ONE' },
      })
      expect(unknown.status).toBe(404)
    })
  },
)
