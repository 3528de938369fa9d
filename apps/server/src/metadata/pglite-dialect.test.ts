import { PGlite } from '@electric-sql/pglite'
import { Kysely, sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'

import { PGliteDialect } from './pglite-dialect.js'

interface Tables {
  items: { id: number; name: string; note: string | null; at: Date | null; data: unknown; tags: string[] | null }
}

describe('PGlite dialect: prepared statements', () => {
  let db: Kysely<Tables> | undefined
  afterEach(async () => {
    await db?.destroy()
    db = undefined
  })

  async function open(maxPreparedStatements?: number) {
    const pglite = new PGlite()
    db = new Kysely<Tables>({
      dialect: new PGliteDialect(pglite, maxPreparedStatements === undefined ? {} : { maxPreparedStatements }),
    })
    await sql`create table items (id int primary key, name text not null unique, note text, at timestamptz, data jsonb, tags text[])`.execute(
      db,
    )
    return { db, pglite }
  }

  const preparedCount = async (pglite: PGlite) =>
    (await pglite.query<{ n: number }>('select count(*)::int as n from pg_prepared_statements')).rows[0]!.n

  it('round-trips values as pglite.query() does, and prepares each statement once', async () => {
    const { db, pglite } = await open()
    const at = new Date('2026-01-02T03:04:05.678Z')
    for (let id = 1; id <= 3; id++) {
      const inserted = await db
        .insertInto('items')
        .values({ id, name: `item ${id}`, note: null, at, data: { id, nested: [1, 'two'] }, tags: ['a', 'b'] })
        .returningAll()
        .executeTakeFirstOrThrow()
      expect(inserted).toEqual({
        id,
        name: `item ${id}`,
        note: null,
        at,
        data: { id, nested: [1, 'two'] },
        tags: ['a', 'b'],
      })
    }
    const viaQuery = await pglite.query('select * from items order by id')
    expect(await db.selectFrom('items').selectAll().orderBy('id').execute()).toEqual(viaQuery.rows)
    // Same text, new parameters: the insert and the select above were prepared once each.
    expect(await preparedCount(pglite)).toBe(2)

    const updated = await db.updateTable('items').set({ note: 'n' }).where('id', '>', 1).executeTakeFirst()
    expect(updated.numUpdatedRows).toBe(2n)
    const deleted = await db.deleteFrom('items').where('id', '=', 3).executeTakeFirst()
    expect(deleted.numDeletedRows).toBe(1n)
    expect(await db.selectFrom('items').select('id').where('id', '=', 99).execute()).toEqual([])
  })

  it('reports errors with their SQLSTATE, caches no failed statement, and leaves the session usable', async () => {
    const { db, pglite } = await open()
    await db.insertInto('items').values({ id: 1, name: 'one', note: null, at: null, data: null, tags: null }).execute()
    await expect(
      db.insertInto('items').values({ id: 2, name: 'one', note: null, at: null, data: null, tags: null }).execute(),
    ).rejects.toMatchObject({ code: '23505' })
    await expect(sql`select * from missing_table`.execute(db)).rejects.toMatchObject({ code: '42P01' })
    await sql`create table missing_table (x int)`.execute(db)
    expect((await sql`select * from missing_table`.execute(db)).rows).toEqual([])

    // A failed statement inside a transaction rolls the whole transaction back.
    await expect(
      db.transaction().execute(async (trx) => {
        await trx
          .insertInto('items')
          .values({ id: 5, name: 'five', note: null, at: null, data: null, tags: null })
          .execute()
        await trx
          .insertInto('items')
          .values({ id: 6, name: 'one', note: null, at: null, data: null, tags: null })
          .execute()
      }),
    ).rejects.toMatchObject({ code: '23505' })
    expect(await db.selectFrom('items').select('id').execute()).toEqual([{ id: 1 }])
    expect(await pglite.query('select 1 as ok')).toMatchObject({ rows: [{ ok: 1 }] })
  })

  it('drops prepared statements when the schema changes, so `select *` sees new columns', async () => {
    const { db, pglite } = await open()
    await db.insertInto('items').values({ id: 1, name: 'one', note: null, at: null, data: null, tags: null }).execute()
    const all = () => sql<Record<string, unknown>>`select * from items`.execute(db).then((result) => result.rows)
    expect(Object.keys((await all())[0]!)).not.toContain('extra')
    expect(await preparedCount(pglite)).toBeGreaterThan(0)

    await sql`alter table items add column extra text default 'x'`.execute(db)
    expect((await all())[0]).toMatchObject({ id: 1, extra: 'x' })
  })

  it('drops statements prepared after a schema change that a rollback undid', async () => {
    const { db } = await open()
    await db.insertInto('items').values({ id: 1, name: 'one', note: null, at: null, data: null, tags: null }).execute()
    const all = (target: Kysely<Tables>) =>
      sql<Record<string, unknown>>`select * from items`.execute(target).then((result) => result.rows)
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`alter table items add column extra text default 'x'`.execute(trx)
        expect((await all(trx))[0]).toMatchObject({ extra: 'x' })
        throw new Error('undo')
      }),
    ).rejects.toThrow('undo')
    const [row] = await all(db)
    expect(row).toMatchObject({ id: 1, name: 'one' })
    expect(Object.keys(row!)).not.toContain('extra')
  })

  it('keeps at most the configured number of statements prepared', async () => {
    const { db, pglite } = await open(2)
    for (let round = 0; round < 2; round++) {
      for (const column of ['id', 'name', 'note'] as const) {
        expect(await db.selectFrom('items').select(column).execute()).toEqual([])
      }
    }
    // pglite.query() does not prepare by name, so the count is the dialect's alone.
    expect(await preparedCount(pglite)).toBe(2)
  })
})
