import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook, serviceSkipReason } from '../../../test/fixtures/chinook.js'
import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../test/harness.js'

interface SqlAnswer {
  columns: { name: string; type: string }[]
  rows: unknown[][]
  stats: { sources: { catalog: string; table: string; remote_sql: string; rows: number }[] }
  /** Set instead of the rest when the query fails. */
  error: { code: string; message: string }
}

const skipReason = await serviceSkipReason('postgres')

/**
 * Saved queries by name (`queries.<schema>.<name>`) and semantic catalogs over Chinook in PostgreSQL:
 * the engine inlines the query where the table is named, so filters on it reach the source.
 */
describe.skipIf(skipReason !== null)(
  `queries catalog and semantic catalogs over Chinook (PostgreSQL)${skipReason ? ` [skipped: ${skipReason}]` : ''}`,
  () => {
    let app: TestApp
    let sources: ChinookSources
    let orgKey: string
    let owner: string
    let reader: string
    let otherOrgKey: string
    let otherProject: string
    /** Invoices with their billing country, total at least {{min}} (default 1). */
    let invoicesQuery: string
    /** Needs a customer id: cannot be a table. */
    let customerQuery: string

    const request = <T = any>(method: string, path: string, body?: unknown, key = orgKey) =>
      app.request<T>(method, `${API}${path}`, { key, ...(body === undefined ? {} : { body }) })
    const sql = (projectId: string, text: string, key = orgKey) =>
      request<SqlAnswer>('POST', `/projects/${projectId}/sql`, { sql: text }, key)
    const semantic = (projectId: string, rest = '') => `/projects/${projectId}/semantic-catalogs${rest}`

    beforeAll(async () => {
      sources = await loadChinook(['postgres'])
      if (!sources.postgres) throw new Error(`Chinook could not be loaded: ${sources.skipReasons.join('; ')}`)
      app = await startTestApp('pglite')
      orgKey = (await createOrganization(app, 'Semantic')).orgKey
      owner = (await createProject(app, orgKey, 'Owner')).id
      reader = (await createProject(app, orgKey, 'Reader')).id
      otherOrgKey = (await createOrganization(app, 'Elsewhere')).orgKey
      otherProject = (await createProject(app, otherOrgKey, 'Elsewhere')).id
      const connection = await request('POST', `/projects/${owner}/connections`, {
        name: 'Chinook',
        catalog: 'pg',
        type: 'postgresql',
        config: sources.postgres,
      })
      expect(connection.status, JSON.stringify(connection.body)).toBe(201)
      const invoices = await request('POST', `/projects/${owner}/queries`, {
        display_name: 'Invoices by country',
        description: 'Every invoice with its billing country',
        sql: 'SELECT invoice_id, customer_id, billing_country, total FROM pg.public.invoice WHERE total >= {{min}}',
        parameters: [{ name: 'min', type: 'decimal', default: '1' }],
      })
      expect(invoices.status, JSON.stringify(invoices.body)).toBe(201)
      expect(invoices.body.schema).toBe('main')
      invoicesQuery = invoices.body.id
      const customer = await request('POST', `/projects/${owner}/queries`, {
        display_name: 'customer_invoices',
        schema: 'sales',
        sql: 'SELECT * FROM pg.public.invoice WHERE customer_id = {{customer}}',
        parameters: [{ name: 'customer', type: 'integer', required: true }],
      })
      expect(customer.status, JSON.stringify(customer.body)).toBe(201)
      expect(customer.body.schema).toBe('sales')
      customerQuery = customer.body.id
    })
    afterAll(async () => {
      await app?.close()
      await sources?.cleanup()
    })

    it('reads a saved query by name, its filter pushed down to PostgreSQL', async () => {
      const answer = await sql(
        owner,
        `SELECT count(*) AS n, sum(i.total) AS total FROM queries.main."INVOICES by Country" i
         WHERE i.billing_country = 'France'`,
      )
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      // The query's own filter (total >= its default 1) applies too.
      expect(answer.body.rows).toEqual([[31, '191.14']])
      const [source] = answer.body.stats.sources
      expect(source).toMatchObject({ catalog: 'pg', table: 'public.invoice' })
      // The view only picks columns and filters rows: the aggregate over it goes to PostgreSQL whole,
      // with both filters, and one row comes back instead of all 412 invoices.
      expect(source!.remote_sql).toContain("'France'")
      expect(source!.remote_sql).toMatch(/sum\(/i)
      expect(source!.rows).toBe(1)

      const catalogs = await request('GET', `/projects/${owner}/catalogs`)
      expect(catalogs.body.data).toContainEqual({
        name: 'queries',
        type: 'queries',
        connection_id: null,
        read_only: true,
      })
      const schemas = await request('GET', `/projects/${owner}/catalogs/queries/schemas`)
      expect(schemas.body.data).toEqual([
        { name: 'main', table_count: 1 },
        { name: 'sales', table_count: 1 },
      ])
    })

    it('refuses a saved query whose parameters need a value, and a name that is no query', async () => {
      const needs = await sql(owner, 'SELECT * FROM queries.sales.customer_invoices')
      expect(needs.status).toBe(400)
      expect(needs.body.error).toMatchObject({ code: 'query_error', message: expect.stringContaining('{{customer}}') })
      const unknown = await sql(owner, 'SELECT * FROM queries.main.nothing_here')
      expect(unknown.body.error).toMatchObject({
        code: 'query_error',
        message: expect.stringContaining('nothing_here'),
      })
    })

    it('publishes a saved query as a semantic table that joins with a source table', async () => {
      const created = await request('POST', semantic(owner), { name: 'sales', description: 'Curated sales' })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      expect(created.body).toMatchObject({ name: 'sales', read_only: false, shared_with: [], table_count: 0 })

      const published = await request('POST', semantic(owner, '/sales/tables'), {
        table: 'invoices',
        query_id: invoicesQuery,
      })
      expect(published.status, JSON.stringify(published.body)).toBe(201)
      expect(published.body).toMatchObject({
        catalog: 'sales',
        schema: 'main',
        table: 'invoices',
        query_id: invoicesQuery,
        description: 'Every invoice with its billing country',
      })
      expect(published.body.columns).toEqual([
        {
          name: 'invoice_id',
          type: 'INTEGER',
          description: null,
          lineage: [{ catalog: 'pg', schema: 'public', table: 'invoice', column: 'invoice_id' }],
        },
        {
          name: 'customer_id',
          type: 'INTEGER',
          description: null,
          lineage: [{ catalog: 'pg', schema: 'public', table: 'invoice', column: 'customer_id' }],
        },
        {
          name: 'billing_country',
          type: 'VARCHAR',
          description: null,
          lineage: [{ catalog: 'pg', schema: 'public', table: 'invoice', column: 'billing_country' }],
        },
        {
          name: 'total',
          type: 'DECIMAL(10,2)',
          description: null,
          lineage: [{ catalog: 'pg', schema: 'public', table: 'invoice', column: 'total' }],
        },
      ])

      const answer = await sql(
        owner,
        `SELECT c.country, c.last_name, count(*) AS n FROM sales.main.invoices i
         JOIN pg.public.customer c ON c.customer_id = i.customer_id
         WHERE i.billing_country = 'Portugal' GROUP BY ALL ORDER BY c.last_name`,
      )
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      const reference = await sql(
        owner,
        `SELECT c.country, c.last_name, count(*) AS n FROM pg.public.invoice i
         JOIN pg.public.customer c ON c.customer_id = i.customer_id
         WHERE i.billing_country = 'Portugal' AND i.total >= 1 GROUP BY ALL ORDER BY c.last_name`,
      )
      expect(answer.body.rows).toEqual(reference.body.rows)
      expect(answer.body.rows.map((row) => row[1])).toEqual(['Fernandes', 'Sampaio'])
      const invoice = answer.body.stats.sources.find((source) => source.table === 'public.invoice')
      expect(invoice!.remote_sql).toContain("'Portugal'")

      const browsed = await request('GET', `/projects/${owner}/catalogs/sales/schemas/main/tables/invoices`)
      expect(browsed.status).toBe(200)
      expect(browsed.body).toMatchObject({ catalog: 'sales', kind: 'view' })
      expect(browsed.body.columns.map((column: { name: string }) => column.name)).toEqual([
        'invoice_id',
        'customer_id',
        'billing_country',
        'total',
      ])
      const detail = await request('GET', semantic(owner, '/sales'))
      expect(detail.body).toMatchObject({ name: 'sales', table_count: 1, tables: [{ table: 'invoices' }] })
    })

    it('refuses what cannot be published, and keeps the saved query while a table uses it', async () => {
      const needs = await request('POST', semantic(owner, '/sales/tables'), { table: 'x', query_id: customerQuery })
      expect(needs.status).toBe(422)
      expect(needs.body.error.details.issues).toEqual([
        expect.objectContaining({ location: 'body', field: 'query_id' }),
      ])
      const missing = await request('POST', semantic(owner, '/sales/tables'), {
        table: 'x',
        query_id: '01a2426d-0000-7000-8000-000000000000',
      })
      expect(missing.status).toBe(404)
      const twice = await request('POST', semantic(owner, '/sales/tables'), {
        table: 'INVOICES',
        query_id: invoicesQuery,
      })
      expect(twice.status).toBe(409)
      const inUse = await request('DELETE', `/projects/${owner}/queries/${invoicesQuery}`)
      expect(inUse.status).toBe(409)
      expect(inUse.body.error.message).toContain('main.invoices')
    })

    it('keeps catalog names apart: connections, semantic catalogs and the queries catalog', async () => {
      const likeConnection = await request('POST', semantic(owner), { name: 'pg' })
      expect(likeConnection.status).toBe(409)
      const reserved = await request('POST', semantic(owner), { name: 'queries' })
      expect(reserved.status).toBe(422)
      const internalName = await request('POST', semantic(owner), { name: '__s0_pg' })
      expect(internalName.status).toBe(422)
      const likeSemantic = await request('POST', `/projects/${owner}/connections`, {
        name: 'Another',
        catalog: 'sales',
        type: 'postgresql',
        config: sources.postgres,
      })
      expect(likeSemantic.status).toBe(409)
    })

    it('shares a catalog with another project, which reads it over the owner’s sources until revoked', async () => {
      // Before sharing, the reader knows no catalog `sales`.
      expect((await sql(reader, 'SELECT count(*) FROM sales.main.invoices')).status).toBe(400)

      const shared = await request('POST', semantic(owner, '/sales/share'), { project_id: reader })
      expect(shared.status, JSON.stringify(shared.body)).toBe(200)
      expect(shared.body).toMatchObject({ catalog: 'sales', project_id: reader })
      expect((await request('GET', semantic(owner, '/sales'))).body.shared_with).toEqual([reader])

      const listed = await request('GET', `/projects/${reader}/catalogs`)
      expect(listed.body.data).toContainEqual({
        name: 'sales',
        type: 'semantic',
        connection_id: null,
        read_only: true,
        owner_project_id: owner,
      })
      const readOnly = await request('GET', semantic(reader))
      expect(readOnly.body.data).toEqual([expect.objectContaining({ name: 'sales', read_only: true, shared_with: [] })])

      const answer = await sql(reader, `SELECT count(*) AS n FROM sales.main.invoices WHERE billing_country = 'France'`)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(answer.body.rows).toEqual([[31]])
      expect(answer.body.stats.sources[0]!.remote_sql).toContain("'France'")

      // The owner's catalogs stay out of reach by name, even the internal names the view uses.
      const direct = await sql(reader, 'SELECT count(*) FROM pg.public.invoice')
      expect(direct.body.error.message).toContain("unknown catalog 'pg'")
      const internal = await sql(reader, 'SELECT count(*) FROM __s0_pg.public.invoice')
      expect(internal.body.error).toMatchObject({ code: 'query_error', message: expect.stringContaining('reserved') })

      // Read-only where shared.
      const publish = await request('POST', semantic(reader, '/sales/tables'), {
        table: 'again',
        query_id: invoicesQuery,
      })
      expect(publish.status).toBe(403)

      const revoked = await request('DELETE', semantic(owner, `/sales/share/${reader}`))
      expect(revoked.status).toBe(204)
      const after = await sql(reader, 'SELECT count(*) FROM sales.main.invoices')
      expect(after.status).toBe(400)
      expect(after.body.error.message).toContain("unknown catalog 'sales'")
      expect((await request('GET', semantic(reader, '/sales'))).status).toBe(404)
      expect((await request('GET', `/projects/${reader}/catalogs/sales/schemas`)).status).toBe(404)
      expect((await request('DELETE', semantic(owner, `/sales/share/${reader}`))).status).toBe(404)
    })

    it('never reaches another organization', async () => {
      const share = await request('POST', semantic(owner, '/sales/share'), { project_id: otherProject })
      expect(share.status).toBe(404)
      expect((await request('GET', semantic(owner, '/sales'), undefined, otherOrgKey)).status).toBe(404)
      expect((await request('GET', semantic(otherProject), undefined, otherOrgKey)).body.data).toEqual([])
      const theirs = await sql(otherProject, 'SELECT count(*) FROM sales.main.invoices', otherOrgKey)
      expect(theirs.body.error.message).toContain("unknown catalog 'sales'")
    })

    it('unpublishes, then lets the saved query go, and deletes the catalog', async () => {
      const { body } = await request('GET', semantic(owner, '/sales/tables'))
      expect(body.data).toHaveLength(1)
      expect((await request('DELETE', semantic(owner, `/sales/tables/${body.data[0].id}`))).status).toBe(204)
      expect((await request('DELETE', `/projects/${owner}/queries/${invoicesQuery}`)).status).toBe(204)
      expect((await request('DELETE', semantic(owner, '/sales'))).status).toBe(204)
      expect((await request('GET', semantic(owner, '/sales'))).status).toBe(404)
    })
  },
)
