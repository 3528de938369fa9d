import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { DuckDBInstance } from '@duckdb/node-api'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  createUserSession,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'

const CHINOOK_SQLITE = path.resolve(import.meta.dirname, '../../../test/fixtures/chinook/Chinook_Sqlite.sqlite')
const PASSWORD = 'pa55-W0rd-never-shown'

describe('connections and catalogs', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-files-'))
  let app: TestApp
  let orgKey: string
  let projectId: string
  const base = () => `${API}/projects/${projectId}`

  beforeAll(async () => {
    copyFileSync(CHINOOK_SQLITE, path.join(root, 'chinook.sqlite'))
    mkdirSync(path.join(root, 'shop'))
    writeFileSync(
      path.join(root, 'shop', 'sales.csv'),
      'id,customer,note,amount\n1,"Müller, Anna","said ""hi""\nthen left",12.50\n2,Zoë,,3\n3,"",plain,-1.25\n',
    )
    writeFileSync(path.join(root, 'shop', 'events.ndjson'), '{"id":1,"kind":"open"}\n{"id":2,"kind":"close"}\n')
    writeFileSync(path.join(root, 'shop', 'README.txt'), 'not a table')
    mkdirSync(path.join(root, 'logs'))
    for (const day of ['01', '02']) writeFileSync(path.join(root, 'logs', `2026-11-${day}.csv`), `day,hits\n${day},5\n`)
    const duckdb = await (await DuckDBInstance.create(':memory:')).connect()
    const parquet = path.join(root, 'shop', 'metrics.parquet').replaceAll("'", "''")
    await duckdb.run(
      `copy (select range as n, range * 1.5 as x, date '2026-01-01' + range::int as d from range(10)) to '${parquet}' (format parquet)`,
    )
    symlinkSync('/etc', path.join(root, 'escape'))

    app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: root } })
    orgKey = (await createOrganization(app, 'Sources')).orgKey
    projectId = (await createProject(app, orgKey, 'Federation')).id
  })
  afterAll(async () => {
    await app.close()
    rmSync(root, { recursive: true, force: true })
  })

  const create = (body: unknown, key = orgKey) => app.request('POST', `${base()}/connections`, { key, body })

  it('lists every connection type with the JSON Schema of its config', async () => {
    const types = await app.request('GET', `${API}/connection-types`, { key: orgKey })
    expect(types.status).toBe(200)
    expect(types.body.data.map((type: { type: string }) => type.type)).toEqual([
      'postgresql',
      'mysql',
      'sqlite',
      'files',
    ])
    const postgres = types.body.data[0]
    expect(postgres).toMatchObject({ display_name: 'PostgreSQL', category: 'database', secret_fields: ['password'] })
    expect(postgres.config_schema.type).toBe('object')
    expect(postgres.config_schema.required).toEqual(expect.arrayContaining(['host', 'database', 'user']))
    expect(postgres.config_schema.properties.ssl.enum).toEqual(['disable', 'require', 'verify-full'])
  })

  it('connects a SQLite file and browses it down to the columns', async () => {
    const created = await create({ name: 'Chinook (SQLite)', type: 'sqlite', config: { path: 'chinook.sqlite' } })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({ catalog: 'chinook_sqlite', type: 'sqlite', secret_fields_set: [] })

    const test = await app.request('POST', `${base()}/connections/${created.body.id}/test`, { key: orgKey })
    expect(test.body).toMatchObject({ ok: true, schema_count: 1, table_count: 11 })
    expect(test.body.latency_ms).toBeGreaterThan(0)

    const catalogs = await app.request('GET', `${base()}/catalogs`, { key: orgKey })
    expect(catalogs.body.data).toEqual([
      { name: 'internal', type: 'internal', connection_id: null, read_only: false },
      { name: 'chinook_sqlite', type: 'sqlite', connection_id: created.body.id, read_only: false },
      { name: 'queries', type: 'queries', connection_id: null, read_only: true },
    ])
    const schemas = await app.request('GET', `${base()}/catalogs/chinook_sqlite/schemas`, { key: orgKey })
    expect(schemas.body.data).toEqual([{ name: 'main', table_count: 11 }])
    const tables = await app.request('GET', `${base()}/catalogs/chinook_sqlite/schemas/main/tables`, { key: orgKey })
    expect(tables.body.data.map((table: { name: string }) => table.name)).toEqual([
      'Album',
      'Artist',
      'Customer',
      'Employee',
      'Genre',
      'Invoice',
      'InvoiceLine',
      'MediaType',
      'Playlist',
      'PlaylistTrack',
      'Track',
    ])
    const invoice = await app.request('GET', `${base()}/catalogs/chinook_sqlite/schemas/main/tables/Invoice`, {
      key: orgKey,
    })
    expect(invoice.body).toMatchObject({ catalog: 'chinook_sqlite', schema: 'main', name: 'Invoice', kind: 'table' })
    const columns = Object.fromEntries(invoice.body.columns.map((column: { name: string }) => [column.name, column]))
    expect(columns.InvoiceId).toMatchObject({ type: 'BIGINT', nullable: false, source_type: 'INTEGER' })
    expect(columns.InvoiceDate).toMatchObject({ type: 'TIMESTAMP', nullable: false, source_type: 'DATETIME' })
    expect(columns.Total).toMatchObject({ type: 'DECIMAL(10,2)', nullable: false, source_type: 'NUMERIC(10,2)' })
    expect(columns.BillingState).toMatchObject({ type: 'VARCHAR', nullable: true })
    expect(Date.parse(invoice.body.refreshed_at)).toBeGreaterThan(Date.now() - 60_000)
  })

  it('makes a table of each file in a directory, and one of a glob', async () => {
    const shop = await create({ name: 'shop', type: 'files', config: { path: 'shop' } })
    expect(shop.status).toBe(201)
    const tables = await app.request('GET', `${base()}/catalogs/shop/schemas/main/tables`, { key: orgKey })
    expect(tables.body.data).toEqual([
      { name: 'events', kind: 'table', column_count: 2 },
      { name: 'metrics', kind: 'table', column_count: 3 },
      { name: 'sales', kind: 'table', column_count: 4 },
    ])
    const sales = await app.request('GET', `${base()}/catalogs/shop/schemas/main/tables/sales`, { key: orgKey })
    expect(sales.body.columns.map((c: { name: string; type: string }) => `${c.name} ${c.type}`)).toEqual([
      'id BIGINT',
      'customer VARCHAR',
      'note VARCHAR',
      'amount DOUBLE',
    ])
    const metrics = await app.request('GET', `${base()}/catalogs/shop/schemas/main/tables/metrics`, { key: orgKey })
    expect(metrics.body.columns.map((c: { type: string }) => c.type)).toEqual(['BIGINT', 'DECIMAL(21,1)', 'DATE'])

    const logs = await create({ name: 'Logs', type: 'files', config: { path: path.join(root, 'logs', '*.csv') } })
    expect(logs.status).toBe(201)
    const logTables = await app.request('GET', `${base()}/catalogs/logs/schemas/main/tables`, { key: orgKey })
    expect(logTables.body.data).toEqual([{ name: 'logs', kind: 'table', column_count: 2 }])
  })

  it.each([
    ['an absolute path outside the roots', '/etc/passwd'],
    ['a relative path climbing out', '../../etc/passwd'],
    ['a symlink that leads out', 'escape/passwd'],
    ['a glob climbing out after the wildcard', 'logs/*/../../../etc/*.csv'],
    ['a path that does not exist', 'nope.sqlite'],
  ])('refuses %s with 422 and saves nothing', async (_label, requested) => {
    const response = await create({ name: `bad ${_label}`, type: 'sqlite', config: { path: requested } })
    expect(response.status).toBe(422)
    expect(response.body.error.code).toBe('validation_error')
    expect(response.body.error.message).toMatch(/^config: /)
    const list = await app.request('GET', `${base()}/connections?limit=200`, { key: orgKey })
    expect(list.body.data.map((c: { name: string }) => c.name)).not.toContain(`bad ${_label}`)
  })

  it.each([
    [{ name: 'x', type: 'oracle', config: {} }, 'type: unknown connection type'],
    [{ name: 'x', type: 'postgresql', config: { host: 'h', database: 'd', user: 'u', port: 99999 } }, 'config.port'],
    [{ name: 'x', type: 'postgresql', config: { host: 'h', database: 'd', user: 'u', sslmode: 'on' } }, 'config'],
    [{ name: 'x', type: 'postgresql', config: { database: 'd', user: 'u' } }, 'config.host'],
    [{ name: 'x', type: 'sqlite', config: 'chinook.sqlite' }, 'config'],
    [{ name: 'x', type: 'sqlite', config: { path: 'chinook.sqlite' }, catalog: 'internal' }, 'catalog'],
    [{ name: 'x', type: 'sqlite', config: { path: 'chinook.sqlite' }, catalog: 'Has Space' }, 'catalog'],
  ])('refuses bad input %# with 422 naming the field', async (body, field) => {
    const response = await create(body)
    expect(response.status).toBe(422)
    expect(response.body.error.code).toBe('validation_error')
    expect(response.body.error.message).toContain(field)
  })

  it('refuses a second connection with the same catalog name', async () => {
    const first = await create({ name: 'dup', type: 'sqlite', config: { path: 'chinook.sqlite' } })
    expect(first.status).toBe(201)
    const second = await create({ name: 'Dup', type: 'sqlite', config: { path: 'chinook.sqlite' } })
    expect(second.status).toBe(409)
    expect(second.body.error.code).toBe('conflict')
  })

  it('keeps secrets encrypted, write-only, out of the audit log, and kept across updates', async () => {
    const created = await create({
      name: 'Warehouse',
      type: 'postgresql',
      config: { host: 'db.invalid', database: 'dw', user: 'reader', password: PASSWORD },
    })
    expect(created.status).toBe(201)
    expect(created.body.config).toEqual({
      host: 'db.invalid',
      port: 5432,
      database: 'dw',
      user: 'reader',
      ssl: 'disable',
    })
    expect(created.body.secret_fields_set).toEqual(['password'])

    const stored = await sql<{
      config: unknown
      secrets: string
    }>`select config, secrets from connections where id = ${created.body.id}`.execute(app.tributary.store.db)
    expect(JSON.stringify(stored.rows[0]!.config)).not.toContain(PASSWORD)
    expect(stored.rows[0]!.secrets).toMatch(/^v1\./)
    expect(stored.rows[0]!.secrets).not.toContain(PASSWORD)

    const updated = await app.request('PATCH', `${base()}/connections/${created.body.id}`, {
      key: orgKey,
      body: { config: { port: 6543 } },
    })
    expect(updated.status).toBe(200)
    expect(updated.body.config.port).toBe(6543)
    expect(updated.body.secret_fields_set).toEqual(['password'])

    const test = await app.request('POST', `${base()}/connections/${created.body.id}/test`, { key: orgKey })
    expect(test.status).toBe(200)
    expect(test.body.ok).toBe(false)
    expect(test.body.error.code).toBe('connection_error')

    const everything = [
      created,
      updated,
      test,
      await app.request('GET', `${base()}/connections?limit=200`, { key: orgKey }),
      await app.request('GET', `${API}/audit-log?limit=200`, { key: orgKey }),
    ]
    for (const response of everything) expect(JSON.stringify(response.body)).not.toContain(PASSWORD)
  })

  it('answers browsing errors with 404 for names and 502 for a source that went away', async () => {
    const missing = await app.request('GET', `${base()}/catalogs/nope/schemas`, { key: orgKey })
    expect(missing.status).toBe(404)
    const schema = await app.request('GET', `${base()}/catalogs/chinook_sqlite/schemas/nope/tables`, { key: orgKey })
    expect(schema.status).toBe(404)
    const table = await app.request('GET', `${base()}/catalogs/chinook_sqlite/schemas/main/tables/Nope`, {
      key: orgKey,
    })
    expect(table.status).toBe(404)
    const internal = await app.request('GET', `${base()}/catalogs/internal/schemas`, { key: orgKey })
    expect(internal.body.data).toEqual([])

    copyFileSync(path.join(root, 'chinook.sqlite'), path.join(root, 'gone.sqlite'))
    const gone = await create({ name: 'gone', type: 'sqlite', config: { path: 'gone.sqlite' } })
    unlinkSync(path.join(root, 'gone.sqlite'))
    const refresh = await app.request('POST', `${base()}/catalogs/gone/refresh`, { key: orgKey })
    expect(refresh.status).toBe(502)
    expect(refresh.body.error.code).toBe('connection_error')
    expect(refresh.body.error.message).toContain('gone.sqlite')
    const test = await app.request('POST', `${base()}/connections/${gone.body.id}/test`, { key: orgKey })
    expect(test.body).toMatchObject({ ok: false, error: { code: 'connection_error' } })
  })

  it('forgets a deleted connection and its catalog', async () => {
    const created = await create({ name: 'temporary', type: 'sqlite', config: { path: 'chinook.sqlite' } })
    expect((await app.request('DELETE', `${base()}/connections/${created.body.id}`, { key: orgKey })).status).toBe(204)
    expect((await app.request('GET', `${base()}/connections/${created.body.id}`, { key: orgKey })).status).toBe(404)
    const catalogs = await app.request('GET', `${base()}/catalogs`, { key: orgKey })
    expect(catalogs.body.data.map((c: { name: string }) => c.name)).not.toContain('temporary')
    expect((await app.request('GET', `${base()}/catalogs/temporary/schemas`, { key: orgKey })).status).toBe(404)
  })

  it('keeps connections inside their tenant and applies roles and scopes', async () => {
    const created = await create({ name: 'guarded', type: 'sqlite', config: { path: 'chinook.sqlite' } })
    const other = await createOrganization(app, 'Other')
    const otherProject = await createProject(app, orgKey, 'Sibling')
    const siblingKey = await createProjectKey(app, orgKey, otherProject.id)
    for (const key of [other.orgKey, siblingKey.key]) {
      for (const [method, url] of [
        ['GET', `${base()}/connections/${created.body.id}`],
        ['PATCH', `${base()}/connections/${created.body.id}`],
        ['DELETE', `${base()}/connections/${created.body.id}`],
        ['POST', `${base()}/connections/${created.body.id}/test`],
        ['GET', `${base()}/catalogs`],
        ['GET', `${base()}/catalogs/guarded/schemas`],
      ] as const) {
        const response = await app.request(method, url, { key, body: method === 'PATCH' ? { name: 'x' } : undefined })
        expect(response.status, `${method} ${url}`).toBe(404)
      }
    }

    const viewer = await createUserSession(app, orgKey, 'viewer')
    expect((await app.request('GET', `${base()}/connections`, { key: viewer.token })).status).toBe(200)
    expect((await create({ name: 'v', type: 'sqlite', config: { path: 'chinook.sqlite' } }, viewer.token)).status).toBe(
      403,
    )
    const queryOnly = await createProjectKey(app, orgKey, projectId, ['query'])
    expect(
      (await create({ name: 'q', type: 'sqlite', config: { path: 'chinook.sqlite' } }, queryOnly.key)).status,
    ).toBe(403)
    const connectionsKey = await createProjectKey(app, orgKey, projectId, ['connections'])
    expect(
      (await create({ name: 'by key', type: 'sqlite', config: { path: 'chinook.sqlite' } }, connectionsKey.key)).status,
    ).toBe(201)
  })
})
