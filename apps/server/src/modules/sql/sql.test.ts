import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../test/harness.js'

const CHINOOK_SQLITE = path.resolve(import.meta.dirname, '../../../test/fixtures/chinook/Chinook_Sqlite.sqlite')

describe('POST /projects/{id}/sql over files and SQLite', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-sql-'))
  let app: TestApp
  let orgKey: string
  let organizationId: string
  let projectId: string
  const sql = (body: Record<string, unknown>, key = orgKey) =>
    app.request('POST', `${API}/projects/${projectId}/sql`, { key, body })

  beforeAll(async () => {
    copyFileSync(CHINOOK_SQLITE, path.join(root, 'chinook.sqlite'))
    writeFileSync(
      path.join(root, 'regions.csv'),
      'country,region,note\nGermany,Europe,"Berlin, ""Mitte""\nand more"\nBrazil,Americas,\nUSA,Americas,""\nFrance,Europe,Ünïcödé\n',
    )
    app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: root } })
    const org = await createOrganization(app, 'Query')
    orgKey = org.orgKey
    organizationId = org.organization.id
    projectId = (await createProject(app, orgKey, 'Federated')).id
    for (const body of [
      { name: 'chinook', type: 'sqlite', config: { path: 'chinook.sqlite' } },
      { name: 'geo', type: 'files', config: { path: 'regions.csv' } },
    ]) {
      const created = await app.request('POST', `${API}/projects/${projectId}/connections`, { key: orgKey, body })
      expect(created.status).toBe(201)
    }
  })
  afterAll(async () => {
    await app.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('joins a SQLite table with a CSV file', async () => {
    const response = await sql({
      sql: `select r.region, count(*) as invoices, sum(i.Total) as total
            from chinook.main.Invoice i join geo.main.regions r on r.country = i.BillingCountry
            group by r.region order by r.region`,
    })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    expect(response.body.columns).toEqual([
      { name: 'region', type: 'VARCHAR' },
      { name: 'invoices', type: 'BIGINT' },
      { name: 'total', type: 'DECIMAL(38,2)' },
    ])
    // The same answer, computed by SQLite itself over its own data.
    const reference = new Database(path.join(root, 'chinook.sqlite'), { readonly: true })
      .prepare(
        `select case when BillingCountry in ('Germany', 'France') then 'Europe' else 'Americas' end as region,
                count(*) as invoices, printf('%.2f', sum(Total)) as total
         from Invoice where BillingCountry in ('Germany', 'France', 'Brazil', 'USA') group by 1 order by 1`,
      )
      .raw()
      .all()
    expect(response.body.rows).toEqual(reference)
    expect(response.body.stats.sources).toHaveLength(2)
  })

  it('pushes the columns and filters a query needs into the source', async () => {
    const response = await sql({
      sql: `select InvoiceId, Total from chinook.main.Invoice where BillingCountry = 'Germany' and Total > 10 order by 1`,
    })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    const [source] = response.body.stats.sources
    expect(source.remote_sql).toContain('Germany')
    expect(source.remote_sql).not.toContain('BillingCity')
    expect(source.rows).toBe(response.body.row_count)
  })

  it('describes a query without running it, and refuses what a run refuses', async () => {
    const ctx = {
      principal: {
        kind: 'organization' as const,
        keyId: '00000000-0000-4000-8000-000000000001',
        organizationId,
        scopes: ['*' as const],
      },
      requestId: 'describe-test',
    }
    const describe = (text: string, parameters?: Parameters<typeof app.tributary.services.sql.describe>[3]) =>
      app.tributary.services.sql.describe(ctx, projectId, text, parameters)
    expect(
      await describe(
        `select r.region, count(*) as n, max(i.InvoiceDate) as last from chinook.main.Invoice i
         join geo.main.regions r on r.country = i.BillingCountry where i.Total > {{min}} group by 1`,
        { min: { type: 'decimal', value: '1.5' } },
      ),
    ).toEqual([
      { name: 'region', type: 'VARCHAR' },
      { name: 'n', type: 'BIGINT' },
      { name: 'last', type: 'TIMESTAMP' },
    ])
    await expect(describe('select nope from chinook.main.Invoice')).rejects.toMatchObject({
      code: 'query_error',
      message: expect.stringContaining('nope'),
    })
    await expect(describe('select * from chinook.main.Missing')).rejects.toMatchObject({
      code: 'query_error',
      message: expect.stringContaining("unknown table 'Missing'"),
    })
    await expect(describe('select * from chinook.main.Invoice where x = {{x}}')).rejects.toMatchObject({
      code: 'query_error',
    })
    await expect(
      app.tributary.services.sql.describe(
        { ...ctx, principal: { ...ctx.principal, organizationId: '01a2426d-0000-7000-8000-000000000000' } },
        projectId,
        'select 1',
      ),
    ).rejects.toMatchObject({ code: 'not_found' })
  })

  it('loads many tables of one source in one query', async () => {
    const tables = ['Track', 'Album', 'Artist', 'Genre', 'InvoiceLine', 'MediaType']
    const response = await sql({
      sql: `select ${tables.map((table) => `(select count(*) from chinook.main.${table})`).join(', ')}`,
      timeout_ms: 10_000,
    })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    const reference = new Database(path.join(root, 'chinook.sqlite'), { readonly: true })
    const counts = tables.map(
      (table) => (reference.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n,
    )
    expect(response.body.rows).toEqual([counts])
    expect(response.body.stats.sources).toHaveLength(tables.length)
  })
})
