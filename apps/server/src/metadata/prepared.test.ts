import { readFileSync } from 'node:fs'

import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

import { describeEachStore, type StoreKind } from '../../test/harness.js'
import { OrganizationsRepo } from '../modules/organizations/organizations.repo.js'
import { openMetadataStore, type MetadataStore } from './database.js'
import { prepareQuery } from './prepared.js'

function openTestStore(kind: StoreKind): Promise<MetadataStore> {
  if (kind === 'postgres') return openMetadataStore({ databaseUrl: inject('postgresUrl')!, poolSize: 4 })
  return openMetadataStore({ pgliteSnapshot: new Blob([readFileSync(inject('pgliteSnapshotPath'))]) })
}

// Parameters deliberately used in another order than declared, next to constants of the query itself.
const organizationsNamed = prepareQuery(
  'test_organizations_named',
  (db, limit: number, first: string, second: string) =>
    db
      .selectFrom('organizations')
      .select(['id', 'name', 'description'])
      .where('name', 'in', [second, 'never a name', first])
      .where('archived_at', 'is', null)
      .orderBy('name')
      .limit(limit),
)

describeEachStore('prepared queries', (kind) => {
  let store: MetadataStore
  beforeAll(async () => {
    store = await openTestStore(kind)
  })
  afterAll(() => store.close())

  it('binds each call’s parameters into the query compiled once', async () => {
    const suffix = Math.random().toString(36).slice(2)
    const repo = new OrganizationsRepo(store.db)
    const a = await repo.insert({ name: `a ${suffix}`, description: 'first' })
    const b = await repo.insert({ name: `b ${suffix}`, description: null })
    await repo.insert({ name: `c ${suffix}`, description: null })

    expect(organizationsNamed.sql).toMatch(/\$1.*\$2.*\$3.*\$4/)
    expect(await organizationsNamed.execute(store.db, 10, a.name, b.name)).toEqual([
      { id: a.id, name: a.name, description: 'first' },
      { id: b.id, name: b.name, description: null },
    ])
    expect(await organizationsNamed.execute(store.db, 1, b.name, a.name)).toEqual([
      { id: a.id, name: a.name, description: 'first' },
    ])
    expect(await organizationsNamed.executeTakeFirst(store.db, 10, 'nobody', 'nobody either')).toBeUndefined()
    // Inside a transaction too.
    const inTransaction = await store.db
      .transaction()
      .execute((trx) => organizationsNamed.executeTakeFirst(trx, 10, b.name, 'nobody'))
    expect(inTransaction).toEqual({ id: b.id, name: b.name, description: null })
  })

  it.runIf(kind === 'postgres')('runs as a named statement on PostgreSQL, parsed once per connection', async () => {
    const names = await store.db.transaction().execute(async (trx) => {
      await organizationsNamed.execute(trx, 1, 'x', 'y')
      await organizationsNamed.execute(trx, 1, 'y', 'x')
      const prepared = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(trx)
      return prepared.rows.map((row) => row.name)
    })
    expect(names).toContain('tributary_test_organizations_named')
  })
})

describe('prepareQuery', () => {
  it('refuses a parameter that the query does not use as a value', () => {
    expect(() =>
      prepareQuery('test_unused', (db, id: string, unused: string) =>
        db
          .selectFrom('organizations')
          .select('id')
          .where('id', '=', id)
          .where(unused ? 'name' : 'name', 'is not', null),
      ),
    ).toThrow(/not used as a value/)
  })

  it('refuses one name for two different queries', () => {
    const build = (column: 'id' | 'name') =>
      prepareQuery('test_twice', (db, id: string) => db.selectFrom('organizations').select(column).where('id', '=', id))
    build('id')
    expect(() => build('id')).not.toThrow()
    expect(() => build('name')).toThrow(/defined twice/)
  })
})
