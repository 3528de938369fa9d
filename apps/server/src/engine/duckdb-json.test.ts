import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { castDoubleConstants, parseDuckJson, stringifyDuckJson, valueInteger } from './duckdb-json.js'

let instance: DuckDBInstance
let connection: DuckDBConnection

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:')
  connection = await instance.connect()
})

afterAll(() => {
  connection.closeSync()
  instance.closeSync()
})

async function serialize(sql: string): Promise<string> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])
  return String(reader.getRows()[0]![0])
}

async function deserialize(json: string): Promise<string> {
  const reader = await connection.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [json])
  return String(reader.getRows()[0]![0])
}

/** Queries whose trees hold what JSON.parse and JSON.stringify would change. */
const queries = [
  'SELECT 9007199254740993 AS big, -9007199254740993 AS negative, 9223372036854775807 AS max',
  'SELECT 18446744073709551615 AS huge, 170141183460469231731687303715884105727 AS widest',
  'SELECT 12345678901234567890.123 AS wide, 1234567890123456.78 AS decimal, 0.1 AS small',
  'SELECT 1.0e10 AS double, -0.0e0 AS minus_zero, 1e-300 AS tiny, 2.5e0 AS half',
  'SELECT 1e400 AS infinite',
  `SELECT 'it''s "quoted" \\ é 😀' AS s, E'a\\nb\\tc' AS t, chr(0) AS nul, '\\u0000' AS escape`,
  'SELECT * FROM c.s.t WHERE x IN (1, 2, 9007199254740993) ORDER BY 1 LIMIT 9007199254740993',
]

describe('parseDuckJson and stringifyDuckJson', () => {
  it.each(queries)('give back DuckDB’s own text, byte for byte: %s', async (sql) => {
    const json = await serialize(sql)
    expect(stringifyDuckJson(parseDuckJson(json))).toBe(json)
  })

  it('keep every digit of a literal through DuckDB, and a double it reads back', async () => {
    const sql = 'SELECT 9007199254740993 AS a, 18446744073709551615 AS b, 12345678901234567890.123 AS c, 1.0e10 AS d'
    const printed = await deserialize(stringifyDuckJson(parseDuckJson(await serialize(sql))))
    expect(printed).toBe(
      'SELECT 9007199254740993 AS a, 18446744073709551615 AS b, 12345678901234567890.123 AS c, 10000000000.0 AS d',
    )
  })

  it('read integers beyond 2^53 as bigints and the rest as JSON.parse does', () => {
    const text =
      ' { "a" : [ 9007199254740991, 9007199254740992, -9007199254740993, 0, -0, 1.5, 2e3, 1E-2 ] ,' +
      ' "b":{"__proto__":{"x":true},"c":null,"d":false, "e": "\\u00e9\\"\\\\\\n", "f": [] , "g": {} } } '
    const parsed = parseDuckJson(text) as Record<string, unknown>
    expect(parsed['a']).toEqual([9007199254740991, 9007199254740992n, -9007199254740993n, 0, -0, 1.5, 2000, 0.01])
    const standard = JSON.parse(text.replace('9007199254740992,', '0,').replace('-9007199254740993', '0')) as unknown
    expect({ ...parsed, a: null }).toEqual({ ...(standard as object), a: null })
    // A key `__proto__` is a key, as in JSON.parse.
    const b = parsed['b'] as Record<string, unknown>
    expect(Object.getPrototypeOf(b)).toBe(Object.prototype)
    expect(Object.keys(b)).toEqual(['__proto__', 'c', 'd', 'e', 'f', 'g'])
  })

  it('read the bare words DuckDB writes for non-finite doubles', () => {
    expect(parseDuckJson('[Infinity,-Infinity,NaN]')).toEqual([Infinity, -Infinity, NaN])
    expect(stringifyDuckJson([Infinity, -Infinity, NaN])).toBe('[Infinity,-Infinity,NaN]')
  })

  it.each(['', '{', '[1,]', '{"a" 1}', '{"a":1,}', '"open', '01', 'tru', '[1] 2', '{a:1}', '- 1'])(
    'refuse what is not JSON: %j',
    (text) => {
      expect(() => parseDuckJson(text)).toThrow(SyntaxError)
    },
  )

  it('write doubles with a point, and leave other numbers as JSON.stringify does', () => {
    const double = (value: number) => ({ type: { id: 'DOUBLE', type_info: null }, is_null: false, value })
    const written = (text: string) => `{"type":{"id":"DOUBLE","type_info":null},"is_null":false,"value":${text}}`
    expect(stringifyDuckJson([double(1e10), double(-0), double(2.5), double(1e21)])).toBe(
      `[${['10000000000.0', '-0.0', '2.5', '1e+21'].map(written).join(',')}]`,
    )
    expect(stringifyDuckJson({ query_location: 3, value: 10, n: -0, big: 18446744073709551615n })).toBe(
      '{"query_location":3,"value":10,"n":0,"big":18446744073709551615}',
    )
  })

  it('write strings that hold U+0000 as they are, even ones that look like its stand-ins', () => {
    const tree = { a: '\u00000', b: ['\u0000', 'x\u00001'], c: 12345678901234567890n, d: '"\u00001"' }
    const text = stringifyDuckJson(tree)
    expect(text).toBe('{"a":"\\u00000","b":["\\u0000","x\\u00001"],"c":12345678901234567890,"d":"\\"\\u00001\\""}')
    expect(parseDuckJson(text)).toEqual(tree)
  })

  it('leave out the keys it is told to, at any depth', () => {
    const tree = { alias: 'x', child: { alias: 'y', query_location: 18446744073709551615n, value: 1 } }
    expect(stringifyDuckJson(tree, { omit: new Set(['alias', 'query_location']) })).toBe('{"child":{"value":1}}')
  })
})

describe('valueInteger', () => {
  it.each([
    [42, 42n],
    [-7, -7n],
    [9007199254740993n, 9007199254740993n],
    [{ upper: 0, lower: 18446744073709551615n }, 18446744073709551615n],
    [{ upper: 669, lower: 4807115922877859019n }, 12345678901234567890123n],
    [{ upper: -1, lower: 18446744073709551615n }, -1n],
    [{ upper: 9223372036854775807n, lower: 18446744073709551615n }, 2n ** 127n - 1n],
    [1.5, undefined],
    ['12', undefined],
    [null, undefined],
    [{ upper: 1 }, undefined],
  ])('%o is %s', (value, expected) => {
    expect(valueInteger(value)).toBe(expected)
  })

  it('reads the halves DuckDB writes for a wide DECIMAL', async () => {
    const tree = parseDuckJson(await serialize('SELECT -12345678901234567890.123')) as {
      statements: { node: { select_list: { value: { value: unknown } }[] } }[]
    }
    // DuckDB folds the minus sign into the constant.
    expect(valueInteger(tree.statements[0]!.node.select_list[0]!.value.value)).toBe(-12345678901234567890123n)
  })
})

describe('castDoubleConstants', () => {
  it.each([
    ['SELECT 0.1e0 + 0.2e0 AS n', "SELECT (CAST('0.1' AS DOUBLE) + CAST('0.2' AS DOUBLE)) AS n", 0.30000000000000004],
    ['SELECT -0.0e0 AS n', "SELECT CAST('-0' AS DOUBLE) AS n", -0],
    ['SELECT 1e400 AS n', "SELECT CAST('Infinity' AS DOUBLE) AS n", Infinity],
    ['SELECT -1e400 AS n', "SELECT CAST('-Infinity' AS DOUBLE) AS n", -Infinity],
  ])('makes DuckDB print %s so that it reads back as the same double', async (sql, printed, value) => {
    const tree = parseDuckJson(await serialize(sql))
    expect(castDoubleConstants(tree)).toBe(true)
    const text = await deserialize(stringifyDuckJson(tree))
    expect(text).toBe(printed)
    const reader = await connection.runAndReadAll(text)
    expect(reader.columnTypes()[0]!.toString()).toBe('DOUBLE')
    expect(reader.getRowsJS()[0]![0]).toEqual(value)
  })

  it('leaves a tree without doubles as it was', async () => {
    const json = await serialize(
      "SELECT 1.5 AS decimal, 9007199254740993 AS big, CAST('2' AS DOUBLE) AS cast, NULL::DOUBLE",
    )
    const tree = parseDuckJson(json)
    expect(castDoubleConstants(tree)).toBe(false)
    expect(stringifyDuckJson(tree)).toBe(json)
  })
})
