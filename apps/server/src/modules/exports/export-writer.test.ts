import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync, inflateSync } from 'node:zlib'

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import {
  EXPORT_COMPRESSIONS,
  EXPORT_COMPRESSIONS_BY_FORMAT,
  EXPORT_FORMATS,
  type ExportCompression,
  type ExportFormat,
} from '@tributary/contract'
import avro from 'avsc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { exportContentType, exportFileName, writeExport } from './export-writer.js'

const ROWS = 5_000
const SOURCE = `(SELECT range::INTEGER AS id, 'name ' || (range % 7) AS name, range * 10_000_000_000 AS big,
                        DATE '2024-01-01' + (range % 366)::INTEGER AS d FROM range(${ROWS}))`

/** The codec each Parquet compression names in the file's metadata, as DuckDB reports it. */
const PARQUET_CODECS: Partial<Record<ExportCompression, string>> = {
  ZSTD: 'ZSTD',
  SNAPPY: 'SNAPPY',
  GZIP: 'GZIP',
  NONE: 'UNCOMPRESSED',
}
const AVRO_CODECS: Partial<Record<ExportCompression, string>> = { DEFLATE: 'deflate', NONE: 'null' }

let instance: DuckDBInstance
let connection: DuckDBConnection
const scratch = mkdtempSync(path.join(tmpdir(), 'tributary-export-writer-'))

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:')
  connection = await instance.connect()
})
afterAll(() => {
  connection.closeSync()
  instance.closeSync()
  rmSync(scratch, { recursive: true, force: true })
})

async function write(format: ExportFormat, compression: ExportCompression): Promise<{ file: string; rows: number }> {
  const file = path.join(scratch, exportFileName(`${format}-${compression}`, format, compression))
  const target = { format, compression, path: file, scratchPath: `${file}.scratch` }
  const rows = await writeExport(connection, { from: SOURCE }, target, new AbortController().signal)
  return { file, rows }
}

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`

async function scalar(sql: string): Promise<unknown> {
  return (await connection.runAndReadAll(sql)).getRowsJson()[0]?.[0]
}

async function readAvro(file: string): Promise<{ codec: string; records: Record<string, unknown>[] }> {
  const records: Record<string, unknown>[] = []
  let codec = ''
  await new Promise<void>((resolve, reject) => {
    avro
      .createFileDecoder(file)
      .on('metadata', (_type: avro.Type, name: string) => (codec = name))
      .on('data', (record: Record<string, unknown>) => records.push(record))
      .on('end', resolve)
      .on('error', reject)
  })
  return { codec, records }
}

describe('export writer', () => {
  for (const [compression, codec] of Object.entries(PARQUET_CODECS) as [ExportCompression, string][]) {
    it(`writes PARQUET ${compression} pages that DuckDB reads as they are`, async () => {
      const { file, rows } = await write('PARQUET', compression)
      expect(rows).toBe(ROWS)
      expect(path.basename(file)).toBe(`PARQUET-${compression}.parquet`)
      expect(readFileSync(file).subarray(0, 4).toString()).toBe('PAR1')
      const from = `read_parquet(${literal(file)})`
      expect(await scalar(`SELECT count(*)::INTEGER FROM ${from}`)).toBe(ROWS)
      expect(await scalar(`SELECT sum(big)::VARCHAR FROM ${from}`)).toBe(
        await scalar(`SELECT sum(big)::VARCHAR FROM ${SOURCE}`),
      )
      const codecs = await connection.runAndReadAll(
        `SELECT DISTINCT compression FROM parquet_metadata(${literal(file)})`,
      )
      expect(codecs.getRowsJson()).toEqual([[codec]])
    })
  }

  for (const [compression, codec] of Object.entries(AVRO_CODECS) as [ExportCompression, string][]) {
    it(`writes AVRO with the container's ${codec} codec, which avsc reads`, async () => {
      const { file, rows } = await write('AVRO', compression)
      expect(rows).toBe(ROWS)
      expect(path.basename(file)).toBe(`AVRO-${compression}.avro`)
      expect(readFileSync(file).subarray(0, 4).toString('latin1')).toBe('Obj\x01')
      const read = await readAvro(file)
      expect(read.codec).toBe(codec)
      expect(read.records).toHaveLength(ROWS)
      expect(read.records[ROWS - 1]).toMatchObject({ id: ROWS - 1, name: `name ${(ROWS - 1) % 7}` })
    })
  }

  it('deflates Avro blocks: the file is smaller than without a codec', async () => {
    const deflated = readFileSync((await write('AVRO', 'DEFLATE')).file).length
    const plain = readFileSync((await write('AVRO', 'NONE')).file).length
    expect(deflated).toBeLessThan(plain / 2)
  })

  it('compresses CSV and JSON as whole files, named and typed as such', async () => {
    for (const format of ['CSV', 'JSON'] as const) {
      const plain = readFileSync((await write(format, 'NONE')).file)
      const gzip = await write(format, 'GZIP')
      const deflate = await write(format, 'DEFLATE')
      expect(path.extname(gzip.file)).toBe('.gz')
      expect(path.extname(deflate.file)).toBe('.zz')
      // Buffer.equals: a deep comparison of every byte is slow.
      expect(gunzipSync(readFileSync(gzip.file)).equals(plain)).toBe(true)
      expect(inflateSync(readFileSync(deflate.file)).equals(plain)).toBe(true)
    }
    expect(exportContentType('CSV', 'GZIP')).toBe('application/gzip')
    expect(exportContentType('JSON', 'DEFLATE')).toBe('application/zlib')
    expect(exportContentType('AVRO', 'DEFLATE')).toBe('application/avro')
    expect(exportContentType('PARQUET', 'GZIP')).toBe('application/vnd.apache.parquet')
  })

  it('writes exactly the compressions the contract allows, and names the allowed ones otherwise', async () => {
    for (const format of EXPORT_FORMATS) {
      const allowed: readonly ExportCompression[] = EXPORT_COMPRESSIONS_BY_FORMAT[format]
      for (const compression of EXPORT_COMPRESSIONS) {
        const written = write(format, compression)
        if (allowed.includes(compression)) {
          await expect(written, `${format} ${compression}`).resolves.toMatchObject({ rows: ROWS })
        } else {
          await expect(written, `${format} ${compression}`).rejects.toMatchObject({
            code: 'validation_error',
            message: expect.stringMatching(
              new RegExp(`^${format} exports take .*${allowed.at(-1)}, not ${compression}$`),
            ),
          })
        }
      }
    }
  })
})
