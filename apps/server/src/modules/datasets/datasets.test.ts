import { afterAll, beforeAll, expect, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  createUserSession,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'
import { uploadFile, waitForImport } from '../imports/imports.test-support.js'

describeEachStore('datasets, tables and columns', (kind) => {
  let app: TestApp
  let orgKey: string
  let projectId: string
  let base: string

  beforeAll(async () => {
    app = await startTestApp(kind)
    orgKey = (await createOrganization(app, 'Datasets')).orgKey
    projectId = (await createProject(app, orgKey, 'Warehouse')).id
    base = `${API}/projects/${projectId}/datasets`
  })
  afterAll(() => app.close())

  const post = (path: string, body: unknown, key = orgKey) => app.request('POST', path, { key, body })

  it('creates, lists, renames and deletes datasets, with unique SQL names', async () => {
    const created = await post(base, { name: 'sales', description: 'Orders and customers' })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({ name: 'sales', description: 'Orders and customers', table_count: 0 })

    expect((await post(base, { name: 'sales' })).status).toBe(409)
    const bad = await post(base, { name: 'Sales Data' })
    expect(bad.status).toBe(422)
    expect(bad.body.error.message).toMatch(/^name:/)
    expect((await post(base, { name: 'main' })).status).toBe(422)

    const other = await post(base, { name: 'scratch' })
    const list = await app.request('GET', `${base}?limit=1`, { key: orgKey })
    expect(list.body.data).toHaveLength(1)
    const next = await app.request('GET', `${base}?limit=1&cursor=${list.body.next_cursor}`, { key: orgKey })
    expect(next.body.data.map((d: { name: string }) => d.name)).toEqual(['scratch'])

    const renamed = await app.request('PATCH', `${base}/${other.body.id}`, { key: orgKey, body: { name: 'scratch2' } })
    expect(renamed.status).toBe(200)
    expect(renamed.body.name).toBe('scratch2')
    expect(
      (await app.request('PATCH', `${base}/${other.body.id}`, { key: orgKey, body: { name: 'sales' } })).status,
    ).toBe(409)
    expect((await app.request('DELETE', `${base}/${other.body.id}`, { key: orgKey })).status).toBe(204)
    expect((await app.request('GET', `${base}/${other.body.id}`, { key: orgKey })).status).toBe(404)
    // The name is free again once archived.
    expect((await post(base, { name: 'scratch2' })).status).toBe(201)
  })

  it('creates tables with DuckDB types, refuses unknown types and duplicate columns', async () => {
    const dataset = await post(base, { name: 'typed' })
    const tables = `${base}/${dataset.body.id}/tables`
    const created = await post(tables, {
      name: 'orders',
      schema: [
        { name: 'id', type: 'bigint', nullable: false },
        { name: 'amount', type: 'DECIMAL(18,2)' },
        { name: 'placed_at', type: 'TIMESTAMPTZ', description: 'When the order was placed' },
        { name: 'payload', type: 'JSON' },
        { name: 'tags', type: 'VARCHAR[]' },
      ],
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.sql_name).toBe('internal.typed.orders')
    expect(created.body.schema).toEqual([
      { name: 'id', type: 'BIGINT', nullable: false, description: null },
      { name: 'amount', type: 'DECIMAL(18,2)', nullable: true, description: null },
      { name: 'placed_at', type: 'TIMESTAMP WITH TIME ZONE', nullable: true, description: 'When the order was placed' },
      { name: 'payload', type: 'JSON', nullable: true, description: null },
      { name: 'tags', type: 'VARCHAR[]', nullable: true, description: null },
    ])
    expect(created.body).toMatchObject({ row_count: 0, size_bytes: 0, version: 0 })

    for (const type of ['NOPE', 'INTEGER); DROP TABLE x; --', "VARCHAR' || '", 'DECIMAL(99,2)']) {
      const refused = await post(tables, { name: 'bad', schema: [{ name: 'a', type }] })
      expect(refused.status, type).toBe(422)
      expect(refused.body.error.message).toMatch(/^schema\.0\.type:/)
    }
    const duplicate = await post(tables, {
      name: 'dup',
      schema: [
        { name: 'a', type: 'INTEGER' },
        { name: 'A', type: 'INTEGER' },
      ],
    })
    expect(duplicate.status).toBe(422)
    expect((await post(tables, { name: 'orders', schema: [{ name: 'a', type: 'INTEGER' }] })).status).toBe(409)
    expect((await post(tables, { name: 'empty', schema: [] })).status).toBe(422)

    const got = await app.request('GET', `${tables}/${created.body.id}`, { key: orgKey })
    expect(got.body.schema).toEqual(created.body.schema)
    const patched = await app.request('PATCH', `${tables}/${created.body.id}`, {
      key: orgKey,
      body: { description: 'All orders' },
    })
    expect(patched.body.description).toBe('All orders')
  })

  it('lists datasets, tables and columns in catalog browsing and queries them in /sql', async () => {
    const dataset = await post(base, { name: 'browse' })
    const tables = `${base}/${dataset.body.id}/tables`
    const table = await post(tables, {
      name: 'items',
      schema: [
        { name: 'id', type: 'INTEGER' },
        { name: 'label', type: 'VARCHAR' },
      ],
    })
    const catalogs = `${API}/projects/${projectId}/catalogs/internal`
    const schemas = await app.request('GET', `${catalogs}/schemas`, { key: orgKey })
    expect(schemas.body.data).toContainEqual({ name: 'browse', table_count: 1 })
    const listed = await app.request('GET', `${catalogs}/schemas/browse/tables`, { key: orgKey })
    expect(listed.body.data).toEqual([{ name: 'items', kind: 'table', column_count: 2 }])
    const detail = await app.request('GET', `${catalogs}/schemas/browse/tables/items`, { key: orgKey })
    expect(detail.body.columns).toEqual([
      { name: 'id', type: 'INTEGER', nullable: true, source_type: 'INTEGER' },
      { name: 'label', type: 'VARCHAR', nullable: true, source_type: 'VARCHAR' },
    ])

    const empty = await post(`${API}/projects/${projectId}/sql`, {
      sql: 'select count(*) as n from internal.browse.items',
    })
    expect(empty.status, JSON.stringify(empty.body)).toBe(200)
    expect(empty.body.rows).toEqual([[0]])

    const imported = await uploadFile(
      app,
      orgKey,
      `${tables}/${table.body.id}/imports`,
      'id,label\n1,one\n2,two\n',
      'items.csv',
    )
    expect(imported.status, JSON.stringify(imported.body)).toBe(202)
    const job = await waitForImport(app, orgKey, `${tables}/${table.body.id}/imports/${imported.body.id}`)
    expect(job.status, JSON.stringify(job)).toBe('succeeded')
    const rows = await post(`${API}/projects/${projectId}/sql`, {
      sql: 'select id, label from internal.browse.items order by id',
    })
    expect(rows.body.rows).toEqual([
      [1, 'one'],
      [2, 'two'],
    ])
    expect(rows.body.stats.sources).toEqual([
      // Two rows of an INTEGER (4 bytes) and a VARCHAR (16 by the estimate).
      {
        catalog: 'internal',
        table: 'browse.items',
        remote_sql: 'internal table: 1 segment file(s)',
        rows: 2,
        bytes: 40,
      },
    ])
    const got = await app.request('GET', `${tables}/${table.body.id}`, { key: orgKey })
    expect(got.body).toMatchObject({ row_count: 2, version: 1 })
    expect(got.body.size_bytes).toBeGreaterThan(0)
  })

  it('adds, renames, retypes and drops columns, keeping the rows', async () => {
    const dataset = await post(base, { name: 'evolve' })
    const tables = `${base}/${dataset.body.id}/tables`
    const table = await post(tables, {
      name: 't',
      schema: [
        { name: 'id', type: 'INTEGER', nullable: false },
        { name: 'code', type: 'VARCHAR' },
      ],
    })
    const path = `${tables}/${table.body.id}`
    const imported = await uploadFile(app, orgKey, `${path}/imports`, 'id,code\n1,10\n2,x7\n3,\n', 't.csv')
    expect((await waitForImport(app, orgKey, `${path}/imports/${imported.body.id}`)).status).toBe('succeeded')
    const query = async (sql: string) => {
      const response = await post(`${API}/projects/${projectId}/sql`, { sql })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      return response.body
    }

    const added = await post(`${path}/columns`, { name: 'note', type: 'VARCHAR' })
    expect(added.status, JSON.stringify(added.body)).toBe(200)
    expect(added.body.schema.map((c: { name: string }) => c.name)).toEqual(['id', 'code', 'note'])
    expect((await query('select id, note from internal.evolve.t order by id')).rows).toEqual([
      [1, null],
      [2, null],
      [3, null],
    ])
    expect((await post(`${path}/columns`, { name: 'must', type: 'INTEGER', nullable: false })).status).toBe(422)
    expect((await post(`${path}/columns`, { name: 'ID', type: 'INTEGER' })).status).toBe(422)

    // 'x7' is no integer: the retype is refused, naming the column and the value, and nothing changes.
    const refused = await app.request('PATCH', `${path}/columns/code`, { key: orgKey, body: { type: 'INTEGER' } })
    expect(refused.status).toBe(422)
    expect(refused.body.error.message).toContain("'code'")
    expect(refused.body.error.details).toEqual({ column: 'code', sample_value: 'x7' })
    expect((await query('select code from internal.evolve.t order by id')).rows).toEqual([['10'], ['x7'], [null]])

    const renamed = await app.request('PATCH', `${path}/columns/code`, { key: orgKey, body: { name: 'label' } })
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200)
    expect((await query('select label from internal.evolve.t order by id')).rows).toEqual([['10'], ['x7'], [null]])

    const widened = await app.request('PATCH', `${path}/columns/id`, { key: orgKey, body: { type: 'BIGINT' } })
    expect(widened.status, JSON.stringify(widened.body)).toBe(200)
    const typed = await query('select id from internal.evolve.t order by id')
    expect(typed.columns).toEqual([{ name: 'id', type: 'BIGINT' }])
    expect(typed.rows).toEqual([[1], [2], [3]])

    const notNull = await app.request('PATCH', `${path}/columns/label`, { key: orgKey, body: { nullable: false } })
    expect(notNull.status).toBe(422)

    const dropped = await app.request('DELETE', `${path}/columns/note`, { key: orgKey })
    expect(dropped.status).toBe(200)
    expect(dropped.body.schema.map((c: { name: string }) => c.name)).toEqual(['id', 'label'])
    expect((await query('select * from internal.evolve.t order by id')).rows).toEqual([
      [1, '10'],
      [2, 'x7'],
      [3, null],
    ])
    expect((await app.request('DELETE', `${path}/columns/nope`, { key: orgKey })).status).toBe(404)
    expect(dropped.body.row_count).toBe(3)
  })

  it('keeps tenants apart and checks roles', async () => {
    const dataset = await post(base, { name: 'private' })
    const tables = `${base}/${dataset.body.id}/tables`
    const table = await post(tables, { name: 'secret', schema: [{ name: 'a', type: 'INTEGER' }] })

    const stranger = (await createOrganization(app, 'Stranger')).orgKey
    for (const path of [
      `${base}/${dataset.body.id}`,
      `${tables}/${table.body.id}`,
      `${tables}/${table.body.id}/imports`,
    ]) {
      expect((await app.request('GET', path, { key: stranger })).status, path).toBe(404)
    }
    expect((await app.request('DELETE', `${base}/${dataset.body.id}`, { key: stranger })).status).toBe(404)
    const strangerProject = (await createProject(app, stranger, 'Theirs')).id
    const theirs = await app.request('POST', `${API}/projects/${strangerProject}/sql`, {
      key: stranger,
      body: { sql: 'select * from internal.private.secret' },
    })
    expect(theirs.status).toBe(400)
    expect(theirs.body.error.message).toMatch(/unknown schema 'private'/)

    const viewer = await createUserSession(app, orgKey, 'viewer')
    expect((await app.request('GET', `${tables}/${table.body.id}`, { key: viewer.token })).status).toBe(200)
    expect((await post(base, { name: 'nope' }, viewer.token)).status).toBe(403)
    expect(
      (await post(`${tables}/${table.body.id}/columns`, { name: 'b', type: 'INTEGER' }, viewer.token)).status,
    ).toBe(403)
    const viewerUpload = await uploadFile(app, viewer.token, `${tables}/${table.body.id}/imports`, 'a\n1\n', 'a.csv')
    expect(viewerUpload.status).toBe(403)

    const editor = await createUserSession(app, orgKey, 'editor')
    expect((await post(base, { name: 'edited' }, editor.token)).status).toBe(201)

    const queryOnly = await createProjectKey(app, orgKey, projectId, ['query'])
    expect((await post(base, { name: 'nope2' }, queryOnly.key)).status).toBe(403)
    expect((await app.request('GET', base, { key: queryOnly.key })).status).toBe(200)
  })
})
