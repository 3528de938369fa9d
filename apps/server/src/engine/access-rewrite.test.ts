import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { maskSql, type QueryAccess, type TableAccess } from './access-policy.js'
import type { ConnectorContext } from './connectors/connector.js'
import { sqliteConnector } from './connectors/sqlite/sqlite-connector.js'
import { SqlEngine, type CatalogHandle } from './engine.js'
import { fixedCatalogs } from './engine.test-support.js'

const root = mkdtempSync(path.join(tmpdir(), 'tributary-access-'))
const context: ConnectorContext = { fileRoots: [root], connectTimeoutMs: 2000 }
const engine = new SqlEngine({ memoryLimit: '1GB', threads: 2 })
let handle: CatalogHandle

beforeAll(async () => {
  const file = path.join(root, 'crm.sqlite')
  const db = new Database(file)
  db.exec(`
    create table people (id integer primary key, name text, email text, region text, born date, salary integer);
    insert into people values
      (1, 'Ann', 'ann@example.com', 'eu', '1980-05-17', 100),
      (2, 'Bob', 'bob@example.com', 'us', '1975-11-02', 200),
      (3, 'Cid', 'cid@example.com', 'eu', '1990-01-30', 300);
  `)
  db.close()
  const session = await sqliteConnector.connect({ path: file }, context)
  const catalog = await session.introspect()
  await session.close()
  handle = {
    name: 'crm',
    catalog,
    openSession: () => sqliteConnector.connect({ path: file }, context),
    pushdownDialect: sqliteConnector.pushdownDialect,
  }
})

afterAll(() => {
  engine.close()
  rmSync(root, { recursive: true, force: true })
})

/** Masks `email` (last4) and `salary` (nullify) of crm.main.people, and keeps rows of the caller's region. */
function access(props: Record<string, string>, policy: Partial<TableAccess> = {}): QueryAccess {
  return {
    props,
    key: JSON.stringify(props),
    table: (table) => {
      if (table.catalog !== 'crm' || table.table !== 'people') return undefined
      const type = (name: string) => table.columns.find((column) => column.name === name)!.type
      return {
        masks: new Map([
          ['email', maskSql('last4', 'email', type('email'))],
          ['salary', maskSql('nullify', 'salary', type('salary'))],
        ]),
        rowFilter: "region = current_user_props('region')",
        ...policy,
      }
    },
  }
}

async function run(sql: string, props: Record<string, string> = { region: 'eu' }, policy?: Partial<TableAccess>) {
  return engine.execute({
    sql,
    limit: 100,
    timeoutMs: 10_000,
    ...fixedCatalogs(handle),
    access: async () => access(props, policy),
  })
}

describe('policies beneath the query', () => {
  it('masks columns and withholds rows under SELECT *, and reports column privacy', async () => {
    const result = await run('SELECT * FROM crm.main.people ORDER BY id')
    expect(result.rows).toEqual([
      [1, 'Ann', '***********.com', 'eu', '1980-05-17', null],
      [3, 'Cid', '***********.com', 'eu', '1990-01-30', null],
    ])
    expect(result.privacy?.columns).toEqual(['public', 'public', 'masked', 'public', 'public', 'hidden'])
    expect(result.privacy?.filtered).toEqual([
      { catalog: 'crm', schema: 'main', table: 'people', filter: "(region = 'eu')" },
    ])
  })

  it('pushes the row filter to the source', async () => {
    const result = await run('SELECT name FROM crm.main.people')
    expect(result.stats.sources[0]!.rows).toBe(2)
    expect(result.stats.sources[0]!.remote_sql).toContain("'eu'")
  })

  it('gives another caller other rows', async () => {
    const result = await run('SELECT name FROM crm.main.people ORDER BY 1', { region: 'us' })
    expect(result.rows).toEqual([['Bob']])
  })

  it('filters and sorts on the masked value, never the real one', async () => {
    const probe = await run("SELECT name FROM crm.main.people WHERE email LIKE 'ann%'")
    expect(probe.rows).toEqual([])
    const byMasked = await run("SELECT count(*) FROM crm.main.people WHERE email = '***********.com'")
    expect(byMasked.rows).toEqual([[2]])
    const nullified = await run('SELECT count(*) FROM crm.main.people WHERE salary > 0')
    expect(nullified.rows).toEqual([[0]])
  })

  it('applies the same policies to a query with parameters', async () => {
    const result = await engine.execute({
      sql: 'SELECT name, email FROM crm.main.people WHERE id >= {{from}} ORDER BY id',
      parameters: { from: { type: 'integer', value: 2 } },
      limit: 10,
      timeoutMs: 10_000,
      ...fixedCatalogs(handle),
      access: async () => access({ region: 'eu' }),
    })
    expect(result.rows).toEqual([['Cid', '***********.com']])
  })

  it('substitutes current_user_props in any query, with NULL for what the caller lacks', async () => {
    const result = await run(
      "SELECT current_user_props('region') AS r, current_user_props('nope') AS n, " +
        "CAST(current_user_props('nope') AS INTEGER) AS i, 'x' <> current_user_props('nope') AS differs",
    )
    expect(result.rows).toEqual([['eu', null, null, null]])
  })

  it('withholds every row from a caller who lacks the attribute a filter reads, whatever the comparison', async () => {
    for (const rowFilter of [
      "region = current_user_props('region')",
      "region <> current_user_props('region')",
      "id < CAST(current_user_props('region') AS INTEGER)",
    ]) {
      const result = await run('SELECT count(*) FROM crm.main.people', {}, { rowFilter })
      expect(result.rows, rowFilter).toEqual([[0]])
    }
  })

  it('refuses current_user_props with anything but a literal name', async () => {
    await expect(run('SELECT current_user_props(name) FROM crm.main.people')).rejects.toThrow(/quoted attribute name/)
  })

  it('leaves out masked columns the query never names, so aggregates still go whole to the source', async () => {
    const result = await run('SELECT region, count(*) AS n FROM crm.main.people GROUP BY region')
    expect(result.rows).toEqual([['eu', 2]])
    expect(result.privacy?.columns).toEqual(['public', 'public'])
    expect(result.stats.sources[0]!.remote_sql).toMatch(/WHERE .*'eu'.* GROUP BY/)
    const joined = await run(
      'SELECT a.region, count(*) AS n FROM crm.main.people a JOIN crm.main.people b ON a.id = b.id GROUP BY 1',
    )
    expect(joined.rows).toEqual([['eu', 2]])
    expect(joined.stats.sources).toHaveLength(1)
    expect(joined.stats.sources[0]!.remote_sql).toMatch(/JOIN .* WHERE .*'eu'.* AND .*'eu'.* GROUP BY/)
  })

  it('reports masked for what is computed from a masked column', async () => {
    const result = await run('SELECT upper(email) AS e, max(born) AS b FROM crm.main.people GROUP BY 1')
    expect(result.privacy?.columns).toEqual(['masked', 'public'])
  })

  it('describes the masked types', async () => {
    const columns = await engine.describe({
      sql: 'SELECT born, email FROM crm.main.people',
      ...fixedCatalogs(handle),
      access: async () => access({}, { masks: new Map([['born', maskSql('year_only', 'born', 'DATE')]]) }),
    })
    expect(columns).toEqual([
      { name: 'born', type: 'DATE' },
      { name: 'email', type: 'VARCHAR' },
    ])
  })
})

describe('a policy that would change the query', () => {
  it('is refused, failing the query', async () => {
    const injected = '1 = 1) UNION ALL SELECT * FROM crm.main.people WHERE (1 = 1'
    await expect(run('SELECT name FROM crm.main.people', {}, { rowFilter: injected })).rejects.toThrow(
      /do not form one filter/,
    )
    const masked = { masks: new Map([['email', { expression: "'x' AS a, name", privacy: 'masked' as const }]]) }
    await expect(run('SELECT email FROM crm.main.people', {}, masked)).rejects.toThrow(/do not form one filter/)
  })
})

describe('errors under a row filter', () => {
  it('do not show values of withheld rows, even when the filter cannot reach the source', async () => {
    const policy = { rowFilter: "lower(region) = lower(current_user_props('region'))" }
    const failing = run(
      'SELECT count(*) FROM crm.main.people WHERE CAST(name AS INTEGER) = 1',
      { region: 'eu' },
      policy,
    )
    await expect(failing).rejects.toThrow(/withheld/)
    await expect(failing).rejects.not.toThrow(/Bob/)
  })
})
