import type { DuckDBType } from '@duckdb/node-api'

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

const BIG_INTEGER = /^(BIGINT|UBIGINT|HUGEINT|UHUGEINT)$/

/**
 * Turns one column of DuckDB's JSON form into the API's: lossless and JSON-safe. Integers beyond
 * 2^53 and decimals stay strings (the column type says which), timestamps become ISO-8601, blobs
 * base64, intervals ISO-8601 durations.
 */
export function columnConverter(type: DuckDBType): (value: Json) => Json {
  const name = type.toString()
  if (BIG_INTEGER.test(name)) return (value) => (typeof value === 'string' ? safeInteger(value) : value)
  if (name === 'TIMESTAMP' || name.startsWith('TIMESTAMP_')) {
    return (value) => (typeof value === 'string' ? value.replace(' ', 'T') : value)
  }
  if (name === 'TIMESTAMP WITH TIME ZONE') return (value) => (typeof value === 'string' ? isoWithZone(value) : value)
  if (name === 'BLOB') return (value) => (typeof value === 'string' ? blobToBase64(value) : value)
  if (name === 'INTERVAL') return (value) => (isInterval(value) ? isoDuration(value) : value)
  return (value) => value
}

function safeInteger(value: string): number | string {
  const number = Number(value)
  return Number.isSafeInteger(number) ? number : value
}

/** `2024-01-01 08:11:12.5+00` → `2024-01-01T08:11:12.5+00:00`. */
function isoWithZone(value: string): string {
  return value.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00')
}

/** DuckDB prints blobs with printable ASCII as is and every other byte as `\xHH`. */
export function blobToBase64(value: string): string {
  const bytes: number[] = []
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && value[i + 1] === 'x') {
      bytes.push(Number.parseInt(value.slice(i + 2, i + 4), 16))
      i += 3
    } else {
      bytes.push(value.charCodeAt(i))
    }
  }
  return Buffer.from(bytes).toString('base64')
}

interface IntervalJson {
  months: number
  days: number
  micros: string
}

function isInterval(value: Json): value is IntervalJson & { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'micros' in value
}

function isoDuration({ months, days, micros }: IntervalJson): string {
  const totalMicros = BigInt(micros)
  const negative = totalMicros < 0n
  const absolute = negative ? -totalMicros : totalMicros
  const seconds = `${negative ? '-' : ''}${absolute / 1_000_000n}${absolute % 1_000_000n ? `.${(absolute % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '')}` : ''}`
  return `P${months}M${days}DT${seconds}S`
}
