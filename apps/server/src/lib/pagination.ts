import type { Page } from '@tributary/contract'

import { errors } from './errors.js'

/** Cursors are opaque to clients: the last id seen, base64url-encoded. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!UUID.test(id)) throw errors.validation('cursor: not a cursor returned by this list', { field: 'cursor' })
  return id
}

/** Repositories fetch `limit + 1` rows; the extra row tells whether another page exists. */
export function toPage<Row extends { id: string }, Item>(
  rows: Row[],
  limit: number,
  map: (row: Row) => Item,
): Page<Item> {
  const pageRows = rows.slice(0, limit)
  const last = pageRows.at(-1)
  return {
    data: pageRows.map(map),
    next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null,
  }
}
