import { describe, expect, it } from 'vitest'

import { analyze, createTextIndex, type Embedder, type TextField, TextIndexCache } from './text-search.js'

interface TableDoc {
  id: string
  table: string
  description?: string
  columns: string[]
  values?: string[]
}

const FIELDS: TextField<TableDoc>[] = [
  { name: 'table', boost: 4, get: (doc) => doc.table },
  { name: 'columns', boost: 2, get: (doc) => doc.columns },
  { name: 'description', boost: 1, get: (doc) => doc.description },
  { name: 'values', boost: 0.8, get: (doc) => doc.values },
]

const COUNTRIES = [
  'USA',
  'Canada',
  'France',
  'Brazil',
  'Germany',
  'United Kingdom',
  'Portugal',
  'Czech Republic',
  'India',
]

/** Chinook as the metadata module describes it: names, a few descriptions, categorical values. */
const CHINOOK: TableDoc[] = [
  { id: 'Artist', table: 'Artist', columns: ['ArtistId', 'Name'] },
  { id: 'Album', table: 'Album', columns: ['AlbumId', 'Title', 'ArtistId'] },
  {
    id: 'Track',
    table: 'Track',
    columns: ['TrackId', 'Name', 'AlbumId', 'MediaTypeId', 'GenreId', 'Composer', 'Milliseconds', 'Bytes', 'UnitPrice'],
  },
  {
    id: 'Genre',
    table: 'Genre',
    columns: ['GenreId', 'Name'],
    values: [
      'Rock',
      'Jazz',
      'Metal',
      'Alternative & Punk',
      'Blues',
      'Latin',
      'Reggae',
      'Pop',
      'Heavy Metal',
      'Classical',
    ],
  },
  {
    id: 'MediaType',
    table: 'MediaType',
    columns: ['MediaTypeId', 'Name'],
    values: ['MPEG audio file', 'Protected AAC audio file', 'Protected MPEG-4 video file', 'Purchased AAC audio file'],
  },
  {
    id: 'Playlist',
    table: 'Playlist',
    columns: ['PlaylistId', 'Name'],
    values: ['Music', 'Movies', 'TV Shows', 'Audiobooks', 'Grunge', 'Classical', 'Brazilian Music'],
  },
  { id: 'PlaylistTrack', table: 'PlaylistTrack', columns: ['PlaylistId', 'TrackId'] },
  {
    id: 'Invoice',
    table: 'Invoice',
    description: 'One row per sale to a customer',
    columns: [
      'InvoiceId',
      'CustomerId',
      'InvoiceDate',
      'BillingAddress',
      'BillingCity',
      'BillingState',
      'BillingCountry',
      'BillingPostalCode',
      'Total',
    ],
  },
  {
    id: 'InvoiceLine',
    table: 'InvoiceLine',
    columns: ['InvoiceLineId', 'InvoiceId', 'TrackId', 'UnitPrice', 'Quantity'],
  },
  {
    id: 'Customer',
    table: 'Customer',
    columns: [
      'CustomerId',
      'FirstName',
      'LastName',
      'Company',
      'Address',
      'City',
      'State',
      'Country',
      'PostalCode',
      'Phone',
      'Fax',
      'Email',
      'SupportRepId',
    ],
    values: COUNTRIES,
  },
  {
    id: 'Employee',
    table: 'Employee',
    description: 'Staff of the store; sales support agents look after customers',
    columns: [
      'EmployeeId',
      'LastName',
      'FirstName',
      'Title',
      'ReportsTo',
      'BirthDate',
      'HireDate',
      'Address',
      'City',
      'State',
      'Country',
      'PostalCode',
      'Phone',
      'Fax',
      'Email',
    ],
    values: ['General Manager', 'Sales Manager', 'Sales Support Agent', 'IT Manager', 'IT Staff'],
  },
]

function chinookIndex() {
  const index = createTextIndex<TableDoc>({ id: (doc) => doc.id, fields: FIELDS })
  index.add(CHINOOK)
  return index
}

/** What people type, and a table that must be among the first three answers. */
const PHRASINGS: [string, string][] = [
  ['which bands released the most records', 'Artist'],
  ['which bands released the most records', 'Album'],
  ['purchases made in France in 2024', 'Invoice'],
  ['clients living in Portugal', 'Customer'],
  ['top selling songs', 'InvoiceLine'],
  ['top selling songs', 'Track'],
  ['who is the sales rep for each client', 'Employee'],
  ['albums by artist', 'Album'],
  ['how many tracks are in each genre', 'Genre'],
  ['music styles', 'Genre'],
  ['songs longer than 5 minutes', 'Track'],
  ['which playlists contain the most songs', 'PlaylistTrack'],
  ['total revenue per country', 'Invoice'],
  ['customers who spent the most', 'Customer'],
  ['customers who spent the most', 'Invoice'],
  ['employees hired after 2003', 'Employee'],
  ['who does each employee report to', 'Employee'],
  ['file formats of the tracks', 'MediaType'],
  ['what does a song cost', 'Track'],
  ['invoice lines of a purchase', 'InvoiceLine'],
  ['rock music', 'Genre'],
  ['customer email addresses', 'Customer'],
  ['sales by billing city', 'Invoice'],
  ['staff birthdays', 'Employee'],
  ['buyers from Brazil', 'Customer'],
  ['number of records per musician', 'Album'],
  ['songs on the Grunge playlist', 'Playlist'],
  ['orders placed by shoppers in Germany', 'Invoice'],
  ['which tracks were bought most often', 'InvoiceLine'],
  ['heavy metal tracks', 'Genre'],
  ['sales support agents', 'Employee'],
  ['protected AAC audio files', 'MediaType'],
  ['singers', 'Artist'],
  ['how much did each shopper pay in total', 'Invoice'],
  ['where do our customers live', 'Customer'],
]

describe('analyze', () => {
  it('splits identifiers at case changes, underscores and digits, folds, stems and drops stop words', () => {
    expect(analyze('InvoiceLine').map((word) => word.term)).toEqual(['invoic', 'line', '_invoicelin'])
    expect(analyze('CustomerId').map((word) => word.surface)).toEqual(['Customer', 'Id', 'CustomerId'])
    expect(analyze('customer_id').map((word) => word.term)).toEqual(['custom', 'id'])
    expect(analyze('Address2').map((word) => word.term)).toEqual(['address', '2', '_address2'])
    expect(analyze('HTTPServer').map((word) => word.surface)).toEqual(['HTTP', 'Server', 'HTTPServer'])
    expect(analyze('Which of the Músicas').map((word) => word.term)).toEqual(['musica'])
  })
})

describe('text index over Chinook', () => {
  const index = chinookIndex()

  it.each(PHRASINGS)('"%s" finds %s in the first three', (question, expected) => {
    const top = index.searchText(question, { limit: 3 }).map((hit) => hit.id)
    expect(top, `top 3 for "${question}": ${top.join(', ')}`).toContain(expected)
  })

  it('says which field, value and query word matched, synonyms included', () => {
    const [first] = index.searchText('clients living in Portugal', { limit: 3 })
    expect(first?.id).toBe('Customer')
    expect(first?.matches).toEqual(
      expect.arrayContaining([
        { field: 'table', matched: ['Customer'], query: ['clients'] },
        { field: 'values', matched: ['Portugal'], query: ['portugal'] },
      ]),
    )
    const columns = first?.matches.find((match) => match.field === 'columns')
    expect(columns?.matched).toEqual(expect.arrayContaining(['Country', 'City', 'Address']))
    expect(columns?.query).toContain('living')
    expect(first?.coverage).toBe(1)
  })

  it('matches prefixes and small typos of typed words', () => {
    expect(
      index
        .searchText('invo', { limit: 2 })
        .map((hit) => hit.id)
        .sort(),
    ).toEqual(['Invoice', 'InvoiceLine'])
    expect(index.searchText('employ', { limit: 1 })[0]?.id).toBe('Employee')
    expect(index.searchText('emploee', { limit: 1 })[0]?.id).toBe('Employee')
    expect(index.searchText('milisecond', { limit: 1 })[0]?.id).toBe('Track')
    expect(index.searchText('playlisttrack', { limit: 1 })[0]?.id).toBe('PlaylistTrack')
  })

  it('never returns what the filter refuses, and nothing for a query of stop words', () => {
    const hits = index.searchText('clients living in Portugal', { filter: (doc) => doc.id !== 'Customer' })
    expect(hits.map((hit) => hit.id)).not.toContain('Customer')
    expect(index.searchText('which of the', {})).toEqual([])
    expect(index.searchText('', {})).toEqual([])
  })

  it('replaces a document added again and forgets a removed one', () => {
    const own = chinookIndex()
    own.add([
      { id: 'Artist', table: 'Musician', columns: ['MusicianId'] },
      { id: 'Artist', table: 'Performer', columns: ['PerformerId'] },
    ])
    expect(own.size).toBe(CHINOOK.length)
    expect(own.searchText('artist', { limit: 20 }).map((hit) => hit.id)).not.toContain('Artist')
    expect(own.searchText('musician performer', { limit: 20 }).map((hit) => [hit.id, hit.doc.table])).toContainEqual([
      'Artist',
      'Performer',
    ])
    expect(own.searchText('musicianid', { limit: 20 }).map((hit) => hit.id)).not.toContain('Artist')
    own.remove('Customer')
    expect(own.has('Customer')).toBe(false)
    expect(own.searchText('customer', { limit: 20 }).map((hit) => hit.id)).not.toContain('Customer')
  })

  it('ranks by the typed words a table matches, not by how many expansions of one word it matches', () => {
    // `price` expands to price, unit and total (synonyms): a table holding all three as columns matched
    // more expanded terms than `online_expenses`, which names both typed words in its own name.
    const own = createTextIndex<TableDoc>({ id: (doc) => doc.id, fields: FIELDS })
    own.add([
      { id: 'expenses', table: 'online_expenses', columns: ['id', 'amount'] },
      { id: 'stocks', table: 'online_stocks', columns: ['id', 'unit_price', 'total_price', 'total'] },
      ...['orders', 'customers', 'reviews', 'events', 'tasks', 'visits'].map((name) => ({
        id: name,
        table: `daily_${name}`,
        columns: ['id', 'name', 'unit_price'],
      })),
    ])
    const hits = own.searchText('price of online expenses', { limit: 3 })
    expect(hits.map((hit) => hit.id).slice(0, 2)).toEqual(['expenses', 'stocks'])
  })

  it('takes extra synonyms', () => {
    const own = createTextIndex<TableDoc>({ id: (doc) => doc.id, fields: FIELDS, synonyms: { jukebox: ['playlist'] } })
    own.add(CHINOOK)
    expect(own.searchText('jukebox', { limit: 1 })[0]?.id).toBe('Playlist')
  })
})

describe('vector similarity seam', () => {
  /** A fake embedder: one dimension per known word, so "melody" lands close to the Genre document. */
  const VOCABULARY = ['genre', 'melody', 'customer', 'invoice']
  const fake: Embedder & { calls: number } = {
    calls: 0,
    embed(texts) {
      this.calls += 1
      return Promise.resolve(
        texts.map((text) => {
          const lower = text.toLowerCase()
          return VOCABULARY.map((word, i) => (lower.includes(word) || (i === 0 && lower.includes('melody')) ? 1 : 0))
        }),
      )
    },
  }

  it('blends cosine similarity into the score when an embedder is configured', async () => {
    const index = createTextIndex<TableDoc>({ id: (doc) => doc.id, fields: FIELDS, embedder: fake, vectorWeight: 0.5 })
    index.add(CHINOOK)
    // No word of "melody" is in any document: only the vectors find Genre.
    expect(index.searchText('melody')).toEqual([])
    const hits = await index.search('melody', { limit: 3 })
    expect(hits[0]?.id).toBe('Genre')
    expect(hits[0]?.score).toBeGreaterThan(0)
    expect(hits[0]?.score).toBeLessThanOrEqual(1)
    // Lexical and vector agree: the blended score of the top hit is the best possible.
    const both = await index.search('customer', { limit: 1 })
    expect(both[0]).toMatchObject({ id: 'Customer', score: 1 })
    // Documents are embedded once, not per query.
    const calls = fake.calls
    await index.search('invoice')
    expect(fake.calls).toBe(calls + 1)
    // The filter applies to vector hits too.
    expect((await index.search('melody', { filter: (doc) => doc.id !== 'Genre' })).map((hit) => hit.id)).not.toContain(
      'Genre',
    )
  })

  it('embeds the documents once, even for concurrent first searches', async () => {
    const batches: number[] = []
    const counting: Embedder = {
      embed: (texts) => {
        batches.push(texts.length)
        return fake.embed(texts)
      },
    }
    const index = createTextIndex<TableDoc>({ id: (doc) => doc.id, fields: FIELDS, embedder: counting })
    index.add(CHINOOK)
    await Promise.all([index.search('melody'), index.search('customer'), index.search('invoice')])
    expect(batches.filter((size) => size === CHINOOK.length)).toHaveLength(1)
    expect(batches.filter((size) => size === 1)).toHaveLength(3)
  })

  it('is the lexical search when no embedder is configured', async () => {
    const index = chinookIndex()
    expect((await index.search('clients in Portugal', { limit: 3 }))[0]?.id).toBe('Customer')
  })
})

describe('TextIndexCache', () => {
  it('builds once per version, shares concurrent builds, rebuilds on a new version or invalidation', async () => {
    const cache = new TextIndexCache<TableDoc>(2)
    let builds = 0
    const build = () => {
      builds += 1
      return Promise.resolve(chinookIndex())
    }
    const [a, b] = await Promise.all([cache.get('p1', 'v1', build), cache.get('p1', 'v1', build)])
    expect(a).toBe(b)
    expect(builds).toBe(1)
    await cache.get('p1', 'v2', build)
    expect(builds).toBe(2)
    cache.invalidate('p1')
    await cache.get('p1', 'v2', build)
    expect(builds).toBe(3)
    // Least recently used first out.
    await cache.get('p2', 'v1', build)
    await cache.get('p3', 'v1', build)
    await cache.get('p1', 'v2', build)
    expect(builds).toBe(6)
  })

  it('forgets a failed build', async () => {
    const cache = new TextIndexCache<TableDoc>()
    await expect(cache.get('p', 'v', () => Promise.reject(new Error('down')))).rejects.toThrow('down')
    await expect(cache.get('p', 'v', () => Promise.resolve(chinookIndex()))).resolves.toBeDefined()
  })
})

describe('speed', () => {
  it('answers 200 questions over 1,000 tables of 20 columns quickly', () => {
    const words = ['order', 'customer', 'product', 'shipment', 'account', 'payment', 'region', 'employee', 'invoice']
    const words2 = ['line', 'history', 'status', 'detail', 'archive', 'summary', 'event', 'log', 'snapshot', 'item']
    const docs: TableDoc[] = Array.from({ length: 1000 }, (_, i) => {
      const name = `${words[i % words.length]}_${words2[Math.floor(i / words.length) % words2.length]}_${i}`
      return {
        id: name,
        table: name,
        description: `Table ${i} holding ${words[(i * 7) % words.length]} data by ${words2[(i * 3) % words2.length]}`,
        columns: Array.from(
          { length: 20 },
          (_, c) => `${words2[c % words2.length]}${words[(i + c) % words.length]}Id${c}`,
        ),
        values: i % 10 === 0 ? COUNTRIES : [],
      }
    })
    const built = performance.now()
    const index = createTextIndex<TableDoc>({ id: (doc) => doc.id, fields: FIELDS })
    index.add(docs)
    const buildMs = performance.now() - built
    const questions = Array.from({ length: 200 }, (_, i) => PHRASINGS[i % PHRASINGS.length]![0])
    // A few queries first, as a server that has answered some: the first ones also compile the code.
    for (const question of questions.slice(0, 20)) index.searchText(question)
    const times: number[] = []
    for (const question of questions) {
      const started = performance.now()
      index.searchText(question, { limit: 10 })
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    const total = times.reduce((sum, time) => sum + time, 0)
    const p99 = times[Math.floor(times.length * 0.99)]!
    console.log(
      `text search: build ${buildMs.toFixed(0)} ms; 200 queries ${total.toFixed(0)} ms, p50 ${times[100]!.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
    )
    expect(total).toBeLessThan(2_000)
  })
})
