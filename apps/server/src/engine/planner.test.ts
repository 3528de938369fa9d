import { describe, expect, it } from 'vitest'

import { decodeConstant, scaledDecimal } from './planner.js'

const constant = (id: string, value: unknown, scale?: number) => ({
  type: { id, type_info: scale === undefined ? null : { scale } },
  is_null: false,
  value,
})

describe('decodeConstant', () => {
  it.each([
    ['a safe integer', constant('BIGINT', 42), 42],
    ['an integer beyond 2^53, read as a bigint', constant('BIGINT', 9007199254740993n), 9007199254740993n],
    ['the largest UBIGINT', constant('UBIGINT', 18446744073709551615n), 18446744073709551615n],
    ['a DECIMAL held in 64 bits', constant('DECIMAL', 123456789012345678n, 2), '1234567890123456.78'],
    [
      'a DECIMAL held as a HUGEINT’s halves',
      constant('DECIMAL', { upper: -1, lower: 18446744073709551615n - 12344n }, 10),
      '-0.0000012345',
    ],
    [
      'a DECIMAL beyond 2^64',
      constant('DECIMAL', { upper: 669, lower: 4807115922877859019n }, 3),
      '12345678901234567890.123',
    ],
    ['a timestamp beyond 2^53 microseconds', constant('TIMESTAMP', 9007199254740993n), undefined],
    ['a NULL', { ...constant('BIGINT', null), is_null: true }, undefined],
  ])('%s', (_label, value, expected) => {
    expect(decodeConstant(value)).toBe(expected)
  })
})

describe('scaledDecimal', () => {
  it.each([
    [12345, 2, '123.45'],
    [-5, 3, '-0.005'],
    [0, 2, '0.00'],
    [-12345678901234567890123n, 3, '-12345678901234567890.123'],
    [7n, 0, '7'],
  ])('%s at scale %s is %s', (value, scale, expected) => {
    expect(scaledDecimal(value, scale)).toBe(expected)
  })
})
