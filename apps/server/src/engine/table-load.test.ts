import { describe, expect, it } from 'vitest'

import type { SourceColumn } from './connectors/connector.js'
import { loadScan } from './connectors/testing/duckdb-load.js'

const col = (name: string, type: string): SourceColumn => ({ name, type, nullable: true, source_type: type })

/** Loads the rows through the row sink (data chunks) and returns them as VARCHAR. */
async function throughRows(columns: SourceColumn[], rows: unknown[][]) {
  const loaded = await loadScan(columns, async (sink) => {
    const rowSink = await sink.rows()
    for (const row of rows) await rowSink.add(row)
    return { remoteSql: '', rows: rows.length }
  })
  try {
    return await loaded.text()
  } finally {
    loaded.close()
  }
}

/** Loads CSV text (as PostgreSQL's COPY writes it) through the FIFO and returns the rows as VARCHAR. */
async function throughCsv(columns: SourceColumn[], csv: string[]) {
  const loaded = await loadScan(columns, async (sink) => {
    const csvSink = await sink.csv()
    for (const chunk of csv) await csvSink.write(chunk)
    return { remoteSql: '', rows: 0 }
  })
  try {
    return await loaded.text()
  } finally {
    loaded.close()
  }
}

const TEXTS = [
  'carriage\rreturn',
  'plain',
  'with, comma',
  'with "quotes" inside',
  '"',
  'line\nfeed',
  'crlf\r\nend',
  '  leading and trailing spaces  ',
  '\ttab',
  'ünïcödé 漢字 😀 e\u0301',
  '\\N',
  'NULL',
  "it's",
  '123',
  '',
]

describe('the row sink (data chunks)', () => {
  it('keeps every kind of text, the empty string apart from NULL', async () => {
    const rows = [...TEXTS.map((value, i) => [i, value]), [TEXTS.length, null]]
    expect(await throughRows([col('id', 'INTEGER'), col('s', 'VARCHAR')], rows)).toEqual(
      rows.map(([i, value]) => [String(i), value]),
    )
  })

  it('keeps bytes, the empty blob apart from NULL, and reads bytes in a text column as UTF-8', async () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const blobs = [all, new Uint8Array(0), Buffer.from('hello'), all.subarray(250, 253)]
    const text = await throughRows(
      [col('b', 'BLOB'), col('s', 'VARCHAR')],
      [...blobs.map((blob) => [blob, Buffer.from('ü')]), [null, null]],
    )
    expect(text).toEqual([...blobs.map((blob) => [Buffer.from(blob).toString('hex').toUpperCase(), 'ü']), [null, null]])
  })

  it('keeps integers at the edges of each type, given as numbers, bigints or text', async () => {
    const text = await throughRows(
      [col('i', 'BIGINT'), col('u', 'UBIGINT'), col('t', 'TINYINT'), col('d', 'BIGINT'), col('h', 'HUGEINT')],
      [
        [9223372036854775807n, '18446744073709551615', -128, 2 ** 53, '170141183460469231731687303715884105727'],
        [-9223372036854775808n, 0n, '127', -(2 ** 53), -1],
        [null, null, null, null, null],
      ],
    )
    expect(text).toEqual([
      [
        '9223372036854775807',
        '18446744073709551615',
        '-128',
        '9007199254740992',
        '170141183460469231731687303715884105727',
      ],
      ['-9223372036854775808', '0', '127', '-9007199254740992', '-1'],
      [null, null, null, null, null],
    ])
  })

  it('keeps doubles bit for bit, the special values included', async () => {
    const values = [0.1, 1 / 3, 1e21, 1.7976931348623157e308, 5e-324, -0, 123456789.123, NaN, Infinity, -Infinity]
    const loaded = await loadScan([col('d', 'DOUBLE')], async (sink) => {
      const rows = await sink.rows()
      for (const value of values) await rows.add([value])
      return { remoteSql: '', rows: values.length }
    })
    try {
      const read = await loaded.rows('SELECT d FROM scan')
      const bits = (x: number) => Buffer.from(new Float64Array([x]).buffer).toString('hex')
      expect(read.map((row) => bits(row.d as number))).toEqual(values.map(bits))
    } finally {
      loaded.close()
    }
  })

  it('casts the text of other types: decimals, booleans, dates, timestamps, intervals, UUIDs, JSON', async () => {
    const text = await throughRows(
      [
        col('n', 'DECIMAL(38,10)'),
        col('b', 'BOOLEAN'),
        col('d', 'DATE'),
        col('ts', 'TIMESTAMP'),
        col('tz', 'TIMESTAMPTZ'),
        col('iv', 'INTERVAL'),
        col('u', 'UUID'),
        col('j', 'JSON'),
      ],
      [
        [
          '1234567890123456789012345678.0123456789',
          true,
          '2024-02-29',
          '2009-01-01 00:00:00.123456',
          '2024-01-01 10:00:00+00',
          '-838:59:59',
          '123e4567-e89b-12d3-a456-426614174000',
          '{"a": [1, "x"]}',
        ],
        [-1e-10, false, '0001-01-01', '1970-01-01', '1999-12-31 23:59:59+00', '12:00:00.5', null, '[]'],
        [null, null, null, null, null, null, null, null],
      ],
    )
    expect(text).toEqual([
      [
        '1234567890123456789012345678.0123456789',
        'true',
        '2024-02-29',
        '2009-01-01 00:00:00.123456',
        '2024-01-01 10:00:00+00',
        '-838:59:59',
        '123e4567-e89b-12d3-a456-426614174000',
        '{"a": [1, "x"]}',
      ],
      [
        '-0.0000000001',
        'false',
        '0001-01-01',
        '1970-01-01 00:00:00',
        '1999-12-31 23:59:59+00',
        '12:00:00.5',
        null,
        '[]',
      ],
      [null, null, null, null, null, null, null, null],
    ])
  })

  it('loads many chunks, a partial one last, in order', async () => {
    const count = 2048 * 3 + 17
    const rows = Array.from({ length: count }, (_, i) => [i, `row ${i}`, i % 7 === 0 ? null : i / 2])
    const loaded = await loadScan([col('i', 'INTEGER'), col('s', 'VARCHAR'), col('h', 'DOUBLE')], async (sink) => {
      const rowSink = await sink.rows()
      for (const row of rows) await rowSink.add(row)
      return { remoteSql: '', rows: count }
    })
    try {
      const [summary] = await loaded.rows(
        `SELECT count(*)::INT AS n, count(h)::INT AS h, sum(i)::BIGINT AS total,
                bool_and(s = 'row ' || i) AS matching FROM scan`,
      )
      expect(summary).toEqual({
        n: count,
        h: rows.filter((row) => row[2] !== null).length,
        total: BigInt((count * (count - 1)) / 2),
        matching: true,
      })
    } finally {
      loaded.close()
    }
  })

  it('fails the load naming the column and the value that does not fit', async () => {
    await expect(throughRows([col('i', 'INTEGER')], [[1], ['twelve']])).rejects.toThrow(
      /column "i" received the text "twelve", which is not a INTEGER/,
    )
    await expect(throughRows([col('t', 'TINYINT')], [[300]])).rejects.toThrow(/column "t" received the number 300/)
    await expect(throughRows([col('b', 'BIGINT')], [[1.5]])).rejects.toThrow(/column "b"/)
    await expect(throughRows([col('d', 'DATE')], [['2024-13-45']])).rejects.toThrow(/date/i)
  })

  it('yields to the event loop between chunks', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 0)
    try {
      await throughRows(
        [col('i', 'INTEGER')],
        Array.from({ length: 2048 * 20 }, (_, i) => [i]),
      )
    } finally {
      clearInterval(timer)
    }
    expect(ticks).toBeGreaterThan(0)
  })
})

describe('the CSV sink (a FIFO that DuckDB reads)', () => {
  it('reads CSV as PostgreSQL writes it: quoted fields, "" as the empty string, an empty field as NULL', async () => {
    // The awkward values first: DuckDB's reader is most fragile on its first row.
    const quoted = (value: string) => `"${value.replaceAll('"', '""')}"`
    const csv = TEXTS.map((value, i) => `${i},${value === '' || /[",\r\n]/.test(value) ? quoted(value) : value}\n`)
    expect(await throughCsv([col('id', 'INTEGER'), col('s', 'VARCHAR')], [...csv, `${TEXTS.length},\n`])).toEqual([
      ...TEXTS.map((value, i) => [String(i), value]),
      [String(TEXTS.length), null],
    ])
  })

  it('reads a value far beyond DuckDB’s default 2 MB line limit', async () => {
    const big = 'x,"\n'.repeat(1_000_000)
    const text = await throughCsv([col('s', 'VARCHAR')], [`"${big.replaceAll('"', '""')}"\n`, 'after\n'])
    expect(text.map(([value]) => value!.length)).toEqual([big.length, 5])
    expect(text[0]![0] === big).toBe(true)
  })

  it('decodes base64 blobs', async () => {
    expect(await throughCsv([col('b', 'BLOB')], ['aGVsbG8=\n', '""\n', '\n'])).toEqual([['68656C6C6F'], [''], [null]])
  })
})
