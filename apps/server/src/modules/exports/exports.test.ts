import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync, inflateSync } from 'node:zlib'

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import avro from 'avsc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'
import { uploadFile, waitForImport } from '../imports/imports.test-support.js'

/** Every trap a file format can fall into, typed as the result will be. */
const COLUMNS: [string, string][] = [
  ['id', 'INTEGER'],
  ['txt', 'VARCHAR'],
  ['maybe', 'VARCHAR'],
  ['big', 'BIGINT'],
  ['dec', 'DECIMAL(38,10)'],
  ['d', 'DATE'],
  ['tz', 'TIMESTAMP WITH TIME ZONE'],
  ['ts', 'TIMESTAMP'],
  ['flag', 'BOOLEAN'],
  ['dbl', 'DOUBLE'],
  ['huge', 'HUGEINT'],
]
const TRAPS_SQL = `
  SELECT * FROM (VALUES
    (1, 'plain', 'x', 9007199254740993::BIGINT, 12345678901234567890.0123456789::DECIMAL(38,10), DATE '2024-02-29',
     TIMESTAMPTZ '2024-01-01 10:00:00+05:30', TIMESTAMP '2024-01-01 10:00:00.123456', true, 1.5::DOUBLE,
     170141183460469231731687303715884105727::HUGEINT),
    (2, 'quote " and, comma; semicolon	tab', '', -9223372036854775808, -0.0000000001, DATE '1970-01-01',
     TIMESTAMPTZ '1999-12-31 23:59:59.999999-08:00', TIMESTAMP '1900-01-01 00:00:00', false, -0.25,
     -170141183460469231731687303715884105728),
    (3, E'line\\nbreak and\\r\\nCRLF', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, 'Ünïcødé 😀 — ☃ 日本', 'NULL', 0, 0, DATE '0001-01-01', TIMESTAMPTZ '2024-06-30T23:00:00Z',
     TIMESTAMP '2262-04-11 23:47:16', true, 3.141592653589793, 0),
    (5, '', ' padded ', 42, 99.5, DATE '9999-12-31', TIMESTAMPTZ '2024-03-31 02:30:00+02', NULL, NULL, 1e300, 1),
    (6, '"', '\\', 1, 1, DATE '2000-02-29', TIMESTAMPTZ '1970-01-01 00:00:00Z', TIMESTAMP '1970-01-01', false, 0, 2)
  ) t(${COLUMNS.map(([name]) => name).join(', ')})`

const FORMATS = ['CSV', 'JSON', 'AVRO', 'PARQUET'] as const
type Format = (typeof FORMATS)[number]
/** What each format takes: CSV and JSON are compressed whole, Avro and Parquet inside, by their own codecs. */
const COMPRESSIONS = {
  CSV: ['GZIP', 'DEFLATE', 'NONE'],
  JSON: ['GZIP', 'DEFLATE', 'NONE'],
  AVRO: ['DEFLATE', 'NONE'],
  PARQUET: ['ZSTD', 'SNAPPY', 'GZIP', 'NONE'],
} as const
type Compression = 'GZIP' | 'DEFLATE' | 'ZSTD' | 'SNAPPY' | 'NONE'
/** The codec a reader finds inside an Avro or Parquet file. */
const CODECS: Record<'AVRO' | 'PARQUET', Partial<Record<Compression, string>>> = {
  AVRO: { DEFLATE: 'deflate', NONE: 'null' },
  PARQUET: { ZSTD: 'ZSTD', SNAPPY: 'SNAPPY', GZIP: 'GZIP', NONE: 'UNCOMPRESSED' },
}
const EXTENSIONS = { CSV: '.csv', JSON: '.json', AVRO: '.avro', PARQUET: '.parquet' }
/** Only for CSV and JSON: Avro and Parquet files keep their own extension. */
const SUFFIXES: Partial<Record<Compression, string>> = { GZIP: '.gz', DEFLATE: '.zz' }
const isText = (format: Format) => format === 'CSV' || format === 'JSON'

let duckdb: DuckDBConnection
const scratch = mkdtempSync(path.join(tmpdir(), 'tributary-exports-read-'))

beforeAll(async () => {
  duckdb = await (await DuckDBInstance.create(':memory:')).connect()
  await duckdb.run("SET TimeZone = 'UTC'")
})
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`
const asText = (from: string) =>
  `SELECT ${COLUMNS.map(([name]) => `CAST("${name}" AS VARCHAR)`).join(', ')} FROM ${from} ORDER BY id`

async function textRows(from: string): Promise<unknown[][]> {
  return (await duckdb.runAndReadAll(asText(from))).getRowsJson()
}

/** What Avro carries, computed by DuckDB from the same data: days, microseconds, exact digits. */
async function avroExpectations(): Promise<unknown[][]> {
  const reader = await duckdb.runAndReadAll(
    `SELECT id::VARCHAR, txt, maybe, big::VARCHAR, dec::VARCHAR, (d - DATE '1970-01-01')::VARCHAR,
            epoch_us(tz)::VARCHAR, epoch_us(ts)::VARCHAR, flag::VARCHAR, dbl, huge::VARCHAR
     FROM (${TRAPS_SQL}) ORDER BY id`,
  )
  return reader.getRowsJson()
}

function decompress(bytes: Buffer, format: Format, compression: Compression): Buffer {
  if (!isText(format)) return bytes
  return compression === 'GZIP' ? gunzipSync(bytes) : compression === 'DEFLATE' ? inflateSync(bytes) : bytes
}

/** Unscaled two's complement big-endian → the decimal as DuckDB prints it. */
function decimalText(bytes: Buffer, scale: number): string {
  let value = BigInt(`0x${bytes.toString('hex') || '0'}`)
  if (bytes.length > 0 && bytes[0]! & 0x80) value -= 1n << BigInt(bytes.length * 8)
  const negative = value < 0n
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0')
  return `${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

const avroLong = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(),
  toBuffer: (value: bigint) => {
    const buffer = Buffer.alloc(8)
    buffer.writeBigInt64LE(value)
    return buffer
  },
  fromJSON: (value: number) => BigInt(value),
  toJSON: (value: bigint) => Number(value),
  isValid: (value: unknown) => typeof value === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
})

async function readAvro(
  file: string,
): Promise<{ schema: avro.Schema; codec: string; records: Record<string, unknown>[] }> {
  const records: Record<string, unknown>[] = []
  let schema: avro.Schema | undefined
  let codec = ''
  await new Promise<void>((resolve, reject) => {
    avro
      .createFileDecoder(file, {
        parseHook: (writerSchema) => {
          schema = writerSchema
          // Every long, logical or not, as BigInt: timestamps in microseconds pass 2^53.
          return avro.Type.forSchema(writerSchema, {
            typeHook: (inner) =>
              inner === 'long' || (typeof inner === 'object' && (inner as { type?: unknown }).type === 'long')
                ? avroLong
                : undefined,
          })
        },
      })
      .on('metadata', (_type: avro.Type, name: string) => (codec = name))
      .on('data', (record: Record<string, unknown>) => records.push(record))
      .on('end', resolve)
      .on('error', reject)
  })
  return { schema: schema!, codec, records }
}

function avroText(value: unknown, column: string): unknown {
  if (value === null) return null
  if (column === 'dec') return decimalText(value as Buffer, 10)
  if (column === 'dbl' || typeof value === 'string') return value
  return typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : value
}

describeEachStore('exports', (kind) => {
  let app: TestApp
  let orgKey: string
  let projectId: string
  const base = () => `${API}/projects/${projectId}`

  beforeAll(async () => {
    app = await startTestApp(kind, { env: { TRIBUTARY_JOB_POLL_INTERVAL_MS: '100' } })
    orgKey = (await createOrganization(app, 'Exports')).orgKey
    projectId = (await createProject(app, orgKey, 'Exports')).id
  })
  afterAll(() => app.close())

  async function until<T extends { status: string }>(url: string, key = orgKey): Promise<T> {
    for (let i = 0; i < 600; i += 1) {
      const response = await app.request('GET', url, { key })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      if (['succeeded', 'failed', 'cancelled'].includes(response.body.status)) return response.body as T
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`${url} did not finish`)
  }

  async function queryJob(sql: string): Promise<string> {
    const accepted = await app.request('POST', `${base()}/query-jobs`, { key: orgKey, body: { sql } })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
    const job = await until<{ status: string; id: string }>(`${base()}/query-jobs/${accepted.body.id}`)
    expect(job.status, JSON.stringify(job)).toBe('succeeded')
    return job.id
  }

  async function exportOf(url: string, body: unknown) {
    const accepted = await app.request('POST', url, { key: orgKey, body })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
    const done = await until<{ status: string } & Record<string, any>>(`${base()}/exports/${accepted.body.id}`)
    expect(done.status, JSON.stringify(done)).toBe('succeeded')
    return done
  }

  async function fetchLink(url: string) {
    // No credentials: the link alone is enough.
    const response = await app.tributary.app.request(url)
    return { response, bytes: Buffer.from(await response.arrayBuffer()) }
  }

  /**
   * Reads an export back with an independent reader and returns its rows as text, its column types,
   * and for Avro and Parquet the codec the file says it is compressed with.
   */
  async function readBack(
    format: Format,
    compression: Compression,
    bytes: Buffer,
  ): Promise<{ rows: unknown[][]; types: string[]; codec?: string }> {
    const file = path.join(scratch, `${format}-${compression}-${Math.random().toString(36).slice(2)}`)
    writeFileSync(file, decompress(bytes, format, compression))
    const declared = `{${COLUMNS.map(([name, type]) => `${name}: ${literal(type)}`).join(', ')}}`
    switch (format) {
      case 'CSV': {
        // "" is an empty string, an empty field NULL: the reader is told so, as the export documents.
        const from = `read_csv(${literal(file)}, header = true, allow_quoted_nulls = false, columns = ${declared})`
        const header = (
          await duckdb.runAndReadAll(`SELECT * FROM read_csv(${literal(file)}, header = false) LIMIT 1`)
        ).getRowsJson()[0]
        expect(header).toEqual(COLUMNS.map(([name]) => name))
        return { rows: await textRows(from), types: COLUMNS.map(([, type]) => type) }
      }
      case 'JSON': {
        const from = `read_json(${literal(file)}, format = 'newline_delimited', columns = ${declared})`
        return { rows: await textRows(from), types: COLUMNS.map(([, type]) => type) }
      }
      case 'PARQUET': {
        const from = `read_parquet(${literal(file)})`
        const described = await duckdb.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)
        const codecs = await duckdb.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata(${literal(file)})`)
        return {
          rows: await textRows(from),
          types: described.getRowsJson().map((row) => row[1] as string),
          codec: codecs
            .getRowsJson()
            .map((row) => row[0] as string)
            .join(','),
        }
      }
      case 'AVRO': {
        const { schema, codec, records } = await readAvro(file)
        const fields = (schema as { fields: { name: string; type: unknown }[] }).fields
        return {
          rows: records.map((record) => COLUMNS.map(([name]) => avroText(record[name], name))),
          types: fields.map((field) => JSON.stringify(field.type)),
          codec,
        }
      }
    }
  }

  const AVRO_TYPES = [
    'int',
    'string',
    'string',
    'long',
    { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 10 },
    { type: 'int', logicalType: 'date' },
    { type: 'long', logicalType: 'timestamp-micros' },
    { type: 'long', logicalType: 'local-timestamp-micros' },
    'boolean',
    'double',
    'string',
  ].map((type) => JSON.stringify(['null', type]))

  async function checkEveryFormat(exportUrl: string, base: string) {
    const expected = await textRows(`(${TRAPS_SQL})`)
    const expectedAvro = await avroExpectations()
    for (const format of FORMATS) {
      for (const compression of COMPRESSIONS[format]) {
        const label = `${format} ${compression}`
        const done = await exportOf(exportUrl, { format, compression })
        expect(done, label).toMatchObject({ format, compression, row_count: expected.length })
        const suffix = isText(format) ? (SUFFIXES[compression] ?? '') : ''
        expect(done.file_name, label).toBe(`${base}${EXTENSIONS[format]}${suffix}`)
        expect(done.download_url, label).toMatch(/^http:\/\/localhost\/api\/v1\/export-downloads\//)
        const { response, bytes } = await fetchLink(done.download_url)
        expect(response.status, label).toBe(200)
        expect(bytes.length, label).toBe(done.size_bytes)
        expect(response.headers.get('content-disposition'), label).toBe(`attachment; filename="${done.file_name}"`)
        expect(response.headers.get('content-type'), label).toBe(
          isText(format) && compression === 'GZIP'
            ? 'application/gzip'
            : isText(format) && compression === 'DEFLATE'
              ? 'application/zlib'
              : {
                  CSV: 'text/csv; charset=utf-8',
                  JSON: 'application/x-ndjson; charset=utf-8',
                  AVRO: 'application/avro',
                  PARQUET: 'application/vnd.apache.parquet',
                }[format],
        )
        const { rows, types, codec } = await readBack(format, compression, bytes)
        if (format === 'AVRO' || format === 'PARQUET') expect(codec, label).toBe(CODECS[format][compression])
        if (format === 'AVRO') {
          expect(rows, label).toEqual(expectedAvro)
          expect(types, label).toEqual(AVRO_TYPES)
        } else {
          expect(rows, label).toEqual(expected)
          // Parquet has no 128-bit integer: HUGEINT travels as its exact digits.
          const wanted = COLUMNS.map(([name, type]) => (format === 'PARQUET' && name === 'huge' ? 'VARCHAR' : type))
          expect(types, label).toEqual(wanted)
        }
      }
    }
  }

  it('round-trips a result full of traps through every format and compression', async () => {
    const jobId = await queryJob(TRAPS_SQL)
    await checkEveryFormat(`${base()}/query-jobs/${jobId}/exports`, `query-job-${jobId}`)

    // Defaults: CSV, gzip; the list shows every export of the project, newest first, by cursor.
    const defaults = await exportOf(`${base()}/query-jobs/${jobId}/exports`, undefined)
    expect(defaults).toMatchObject({ format: 'CSV', compression: 'GZIP', query_job_id: jobId, source: 'query_job' })
    const first = await app.request('GET', `${base()}/exports?limit=5`, { key: orgKey })
    expect(first.status).toBe(200)
    expect(first.body.data[0].id).toBe(defaults.id)
    expect(first.body.data).toHaveLength(5)
    const seen = new Set(first.body.data.map((item: { id: string }) => item.id))
    let cursor = first.body.next_cursor
    while (cursor) {
      const page = await app.request('GET', `${base()}/exports?limit=5&cursor=${cursor}`, { key: orgKey })
      for (const item of page.body.data) {
        expect(seen.has(item.id)).toBe(false)
        seen.add(item.id)
      }
      cursor = page.body.next_cursor
    }
    expect(seen.size).toBe(13)
    const filtered = await app.request('GET', `${base()}/exports?query_job_id=${jobId}&limit=200`, { key: orgKey })
    expect(filtered.body.data).toHaveLength(13)
  })

  it('exports an internal table filled by a CSV import, and a query over it, with the same values', async () => {
    // The traps as a CSV, written by DuckDB (RFC 4180 quoting; "" an empty string, an empty field NULL).
    const csvFile = path.join(scratch, 'traps.csv')
    await duckdb.run(`COPY (${TRAPS_SQL}) TO ${literal(csvFile)} (HEADER true)`)
    const dataset = await app.request('POST', `${base()}/datasets`, { key: orgKey, body: { name: 'lake' } })
    expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
    const tables = `${base()}/datasets/${dataset.body.id}/tables`
    const schema = COLUMNS.map(([name, type]) => ({
      name,
      type: type === 'TIMESTAMP WITH TIME ZONE' ? 'TIMESTAMPTZ' : type,
    }))
    const table = await app.request('POST', tables, { key: orgKey, body: { name: 'traps', schema } })
    expect(table.status, JSON.stringify(table.body)).toBe(201)
    const tableUrl = `${tables}/${table.body.id}`
    const accepted = await uploadFile(app, orgKey, `${tableUrl}/imports`, readFileSync(csvFile), 'traps.csv')
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202)
    const imported = await waitForImport(app, orgKey, `${tableUrl}/imports/${accepted.body.id}`)
    expect(imported.status, JSON.stringify(imported)).toBe('succeeded')

    await checkEveryFormat(`${tableUrl}/exports`, `table-${table.body.id}`)
    const jobId = await queryJob('SELECT * FROM internal.lake.traps')
    const done = await exportOf(`${base()}/query-jobs/${jobId}/exports`, { format: 'PARQUET', compression: 'NONE' })
    const { bytes } = await fetchLink(done.download_url)
    expect((await readBack('PARQUET', 'NONE', bytes)).rows).toEqual(await textRows(`(${TRAPS_SQL})`))

    const missing = await app.request('POST', `${tables}/${crypto.randomUUID()}/exports`, { key: orgKey, body: {} })
    expect(missing.status).toBe(404)
  })

  it('refuses results that are not there yet, unknown ids, bad bodies and other tenants', async () => {
    const long = await app.request('POST', `${base()}/query-jobs`, {
      key: orgKey,
      body: { sql: 'SELECT sum(a.range * b.range) FROM range(200000) a, range(100000) b' },
    })
    expect(long.status).toBe(202)
    const early = await app.request('POST', `${base()}/query-jobs/${long.body.id}/exports`, { key: orgKey, body: {} })
    expect(early.status, JSON.stringify(early.body)).toBe(409)
    expect(early.body.error.code).toBe('conflict')
    await app.request('POST', `${base()}/query-jobs/${long.body.id}/cancel`, { key: orgKey })
    const failed = await app.request('POST', `${base()}/query-jobs`, { key: orgKey, body: { sql: 'SELECT nope' } })
    await until(`${base()}/query-jobs/${failed.body.id}`)
    expect(
      (await app.request('POST', `${base()}/query-jobs/${failed.body.id}/exports`, { key: orgKey, body: {} })).status,
    ).toBe(409)

    const jobId = await queryJob('SELECT 1 AS one')
    const unknown = crypto.randomUUID()
    expect(
      (await app.request('POST', `${base()}/query-jobs/${unknown}/exports`, { key: orgKey, body: {} })).status,
    ).toBe(404)
    expect((await app.request('GET', `${base()}/exports/${unknown}`, { key: orgKey })).status).toBe(404)
    expect((await app.request('GET', `${base()}/exports/${unknown}/download`, { key: orgKey })).status).toBe(404)
    for (const body of [{ format: 'XML' }, { compression: 'ZSTD' }, { format: 'CSV', extra: 1 }]) {
      const refused = await app.request('POST', `${base()}/query-jobs/${jobId}/exports`, { key: orgKey, body })
      expect(refused.status, JSON.stringify(body)).toBe(422)
    }
    // A compression the format cannot carry is refused, naming the ones it takes, rather than
    // wrapped around a file that no reader of the format would open.
    for (const [format, compression, allowed] of [
      ['AVRO', 'GZIP', 'DEFLATE or NONE'],
      ['AVRO', 'SNAPPY', 'DEFLATE or NONE'],
      ['AVRO', 'ZSTD', 'DEFLATE or NONE'],
      ['PARQUET', 'DEFLATE', 'ZSTD, SNAPPY, GZIP or NONE'],
      ['JSON', 'SNAPPY', 'GZIP, DEFLATE or NONE'],
    ] as const) {
      const body = { format, compression }
      const refused = await app.request('POST', `${base()}/query-jobs/${jobId}/exports`, { key: orgKey, body })
      expect(refused.status, JSON.stringify(body)).toBe(422)
      expect(refused.body.error.details.issues).toEqual([
        { location: 'body', field: 'compression', message: `${format} exports take ${allowed}, not ${compression}` },
      ])
    }
    // Without a compression each format gets its usual one.
    for (const [format, compression, fileName] of [
      ['AVRO', 'DEFLATE', `query-job-${jobId}.avro`],
      ['PARQUET', 'ZSTD', `query-job-${jobId}.parquet`],
      ['JSON', 'GZIP', `query-job-${jobId}.json.gz`],
    ] as const) {
      const done = await exportOf(`${base()}/query-jobs/${jobId}/exports`, { format })
      expect(done).toMatchObject({ format, compression, file_name: fileName })
    }

    const done = await exportOf(`${base()}/query-jobs/${jobId}/exports`, { format: 'JSON', compression: 'NONE' })
    const other = await createOrganization(app, 'Other exports')
    const otherProject = (await createProject(app, other.orgKey, 'Theirs')).id
    for (const [method, url] of [
      ['GET', `${base()}/exports/${done.id}`],
      ['GET', `${base()}/exports/${done.id}/download`],
      ['GET', `${API}/projects/${otherProject}/exports/${done.id}`],
      ['GET', `${API}/projects/${otherProject}/exports/${done.id}/download`],
      ['POST', `${API}/projects/${otherProject}/query-jobs/${jobId}/exports`],
      ['POST', `${base()}/query-jobs/${jobId}/exports`],
    ] as const) {
      const response = await app.request(method, url, { key: other.orgKey, ...(method === 'POST' ? { body: {} } : {}) })
      expect(response.status, `${method} ${url}`).toBe(404)
    }
    const theirs = await app.request('GET', `${API}/projects/${otherProject}/exports`, { key: other.orgKey })
    expect(theirs.body.data).toEqual([])
    const askKey = (await createProjectKey(app, orgKey, projectId, ['ask'])).key
    expect((await app.request('GET', `${base()}/exports/${done.id}`, { key: askKey })).status).toBe(403)
  })

  it('serves a link without credentials, refuses a tampered or borrowed one, and issues fresh ones', async () => {
    const jobId = await queryJob("SELECT 'secret' AS s")
    const a = await exportOf(`${base()}/query-jobs/${jobId}/exports`, { format: 'CSV', compression: 'NONE' })
    const b = await exportOf(`${base()}/query-jobs/${jobId}/exports`, { format: 'JSON', compression: 'NONE' })
    expect(Date.parse(a.expires_at) - Date.parse(a.completed_at)).toBeGreaterThan(3_598_000)
    const ok = await fetchLink(a.download_url)
    expect(ok.response.status).toBe(200)
    expect(ok.bytes.toString()).toBe('s\nsecret\n')

    const url = new URL(a.download_url)
    const token = url.searchParams.get('token')!
    const [header, payload, signature] = token.split('.')
    const flipped = `${signature!.slice(0, -2)}${signature!.at(-2) === 'A' ? 'B' : 'A'}${signature!.at(-1)}`
    const forged = JSON.parse(Buffer.from(payload!, 'base64url').toString())
    forged.exp += 3600
    for (const bad of [
      `${url.origin}${url.pathname}?token=${header}.${payload}.${flipped}`,
      `${url.origin}${url.pathname}?token=${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`,
      // A's token does not open B.
      `${url.origin}${url.pathname.replace(a.id, b.id)}?token=${token}`,
      `${url.origin}${url.pathname}?token=${orgKey}`,
    ]) {
      const refused = await fetchLink(bad)
      expect(refused.response.status, bad).toBe(403)
      expect(JSON.parse(refused.bytes.toString()).error.code).toBe('authorization_error')
    }
    expect((await fetchLink(`${url.origin}${url.pathname}`)).response.status).toBe(422)

    const fresh = await app.request('GET', `${base()}/exports/${a.id}/download`, { key: orgKey })
    expect(fresh.status).toBe(200)
    expect(Date.parse(fresh.body.expires_at)).toBeGreaterThan(Date.now() + 3_590_000)
    expect((await fetchLink(fresh.body.download_url)).bytes.toString()).toBe('s\nsecret\n')
  })
})

/** A new project's query job `SELECT 42 AS answer`, exported as plain CSV, and the export's first link. */
async function exportOfAnswer(app: TestApp, name: string) {
  const { orgKey } = await createOrganization(app, name)
  const projectId = (await createProject(app, orgKey, name)).id
  const base = `${API}/projects/${projectId}`
  const job = await app.request('POST', `${base}/query-jobs`, { key: orgKey, body: { sql: 'SELECT 42 AS answer' } })
  let status = ''
  while (!['succeeded', 'failed'].includes(status)) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    status = (await app.request('GET', `${base}/query-jobs/${job.body.id}`, { key: orgKey })).body.status
  }
  const accepted = await app.request('POST', `${base}/query-jobs/${job.body.id}/exports`, {
    key: orgKey,
    body: { compression: 'NONE' },
  })
  let link = ''
  for (let i = 0; i < 100 && !link; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    const fresh = await app.request('GET', `${base}/exports/${accepted.body.id}/download`, { key: orgKey })
    if (fresh.status === 200) link = fresh.body.download_url as string
  }
  return { orgKey, base, exportId: accepted.body.id as string, link }
}

describe('export links expire', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await startTestApp('pglite', {
      env: { TRIBUTARY_EXPORT_LINK_TTL_SECONDS: '2', TRIBUTARY_JOB_POLL_INTERVAL_MS: '100' },
    })
  })
  afterAll(() => app.close())

  it('answers 410 once a link has expired, and a fresh link works again', async () => {
    const { orgKey, base, exportId, link } = await exportOfAnswer(app, 'Expiry')
    expect((await app.tributary.app.request(link)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 3_100))
    const expired = await app.tributary.app.request(link)
    expect(expired.status).toBe(410)
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('gone')
    const shown = await app.request('GET', `${base}/exports/${exportId}`, { key: orgKey })
    expect(shown.body.download_url).toBeNull()
    const again = await app.request('GET', `${base}/exports/${exportId}/download`, { key: orgKey })
    expect((await app.tributary.app.request(again.body.download_url)).status).toBe(200)
  })
})

describe('export links behind a proxy', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await startTestApp('pglite', {
      env: { TRIBUTARY_PUBLIC_URL: 'https://data.example.com/tributary/', TRIBUTARY_JOB_POLL_INTERVAL_MS: '100' },
    })
  })
  afterAll(() => app.close())

  it('builds download links on TRIBUTARY_PUBLIC_URL rather than the request’s host', async () => {
    const { orgKey, base, exportId, link } = await exportOfAnswer(app, 'Proxy')
    const url = new URL(link)
    expect(`${url.origin}${url.pathname}`).toBe(
      `https://data.example.com/tributary/api/v1/export-downloads/${exportId}`,
    )
    // The export shows a link that expires a set time after it completed, while `link` is a fresh
    // one that expires a set time after it was asked for: a second apart, their tokens differ.
    const shown = await app.request('GET', `${base}/exports/${exportId}`, { key: orgKey })
    const shownUrl = new URL(shown.body.download_url)
    expect(`${shownUrl.origin}${shownUrl.pathname}`).toBe(`${url.origin}${url.pathname}`)
    expect(Date.parse(shown.body.expires_at)).toBe(Math.floor(Date.parse(shown.body.completed_at) / 1000 + 3600) * 1000)
    const servedShown = await app.tributary.app.request(
      `${shownUrl.pathname.replace(/^\/tributary/, '')}${shownUrl.search}`,
    )
    expect(servedShown.status).toBe(200)
    // The proxy strips its prefix: the server answers the rest of the path.
    const served = await app.tributary.app.request(`${url.pathname.replace(/^\/tributary/, '')}${url.search}`)
    expect(served.status).toBe(200)
    expect((await served.text()).trim()).toBe('answer\n42')

    // Once the file is removed (past its retention), both the link and a fresh one say it is gone.
    rmSync(path.join(app.dataDir, 'exports', exportId), { recursive: true })
    const after = await app.tributary.app.request(`${url.pathname.replace(/^\/tributary/, '')}${url.search}`)
    expect(after.status).toBe(410)
    const fresh = await app.request('GET', `${base}/exports/${exportId}/download`, { key: orgKey })
    expect(fresh.status).toBe(410)
    expect(fresh.body.error.code).toBe('gone')
  })
})
