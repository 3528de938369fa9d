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
import { APPROVAL_EXPIRY_TASK } from './approvals.service.js'

const DAY_MS = 86_400_000
const ORDERS = 'select id, amount from shared_sales.sales.orders order by id'

describeEachStore('cross-organization approvals', (kind) => {
  let clock = new Date('2026-05-04T09:00:00Z')
  let app: TestApp
  /** The requesting organization (A) and its project P. */
  let requesterKey: string
  let requesterEditor: string
  let requesterViewer: string
  let projectId: string
  /** The organization asked (B), its admin and a viewer, and its dataset. */
  let targetId: string
  let targetKey: string
  let targetAdmin: string
  let targetViewer: string
  let targetProjectId: string
  let datasetId: string
  /** An organization with nothing to do with either. */
  let otherKey: string

  const call = (method: string, path: string, key: string, body?: unknown) =>
    app.request(method, `${API}${path}`, { key, ...(body === undefined ? {} : { body }) })
  const askDataset = (key = requesterEditor, body: Record<string, unknown> = {}) =>
    call('POST', '/approvals/project-dataset', key, { project_id: projectId, dataset_id: datasetId, ...body })
  const query = (sql: string, key = requesterKey) => call('POST', `/projects/${projectId}/sql`, key, { sql })
  const catalogNames = async () =>
    ((await call('GET', `/projects/${projectId}/catalogs`, requesterKey)).body.data as { name: string }[]).map(
      (catalog) => catalog.name,
    )
  const storedStatus = async (id: string) =>
    (
      await app.tributary.store.db
        .selectFrom('approval_requests')
        .select('status')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).status

  /** Nothing of B shows in P: no catalog, queries fail as on an unknown catalog, metadata and search are silent. */
  const expectInvisible = async () => {
    expect(await catalogNames()).not.toContain('shared_sales')
    const refused = await query(ORDERS)
    expect(refused.status, JSON.stringify(refused.body)).toBeGreaterThanOrEqual(400)
    expect(refused.status).toBeLessThan(500)
    expect(refused.body.error.message).toContain('shared_sales')
    const metadata = await call('GET', `/projects/${projectId}/metadata?limit=200`, requesterKey)
    expect(metadata.status, JSON.stringify(metadata.body)).toBe(200)
    expect(JSON.stringify(metadata.body)).not.toContain('shared_sales')
    const search = await call('GET', `/projects/${projectId}/metadata/search?q=orders`, requesterKey)
    expect(search.status, JSON.stringify(search.body)).toBe(200)
    expect(JSON.stringify(search.body)).not.toContain('shared_sales')
    const browse = await call('GET', `/projects/${projectId}/catalogs/shared_sales/schemas`, requesterKey)
    expect(browse.status).toBe(404)
  }

  beforeAll(async () => {
    app = await startTestApp(kind, { now: () => clock })
    const requester = await createOrganization(app, 'Requester')
    requesterKey = requester.orgKey
    requesterEditor = (await createUserSession(app, requesterKey, 'editor', 'editor@requester.example')).token
    requesterViewer = (await createUserSession(app, requesterKey, 'viewer')).token
    projectId = (await createProject(app, requesterKey, 'Analytics')).id

    const target = await createOrganization(app, 'Target')
    targetId = target.organization.id
    targetKey = target.orgKey
    targetAdmin = (await createUserSession(app, targetKey, 'admin')).token
    targetViewer = (await createUserSession(app, targetKey, 'viewer')).token
    targetProjectId = (await createProject(app, targetKey, 'Warehouse')).id
    const dataset = await call('POST', `/projects/${targetProjectId}/datasets`, targetKey, { name: 'sales' })
    expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
    datasetId = dataset.body.id
    const tables = `${API}/projects/${targetProjectId}/datasets/${datasetId}/tables`
    const table = await app.request('POST', tables, {
      key: targetKey,
      body: {
        name: 'orders',
        schema: [
          { name: 'id', type: 'INTEGER' },
          { name: 'amount', type: 'DOUBLE' },
        ],
      },
    })
    expect(table.status, JSON.stringify(table.body)).toBe(201)
    const imported = await uploadFile(
      app,
      targetKey,
      `${tables}/${table.body.id}/imports`,
      'id,amount\n1,10.5\n2,20\n',
      'orders.csv',
    )
    expect(imported.status, JSON.stringify(imported.body)).toBe(202)
    const job = await waitForImport(app, targetKey, `${tables}/${table.body.id}/imports/${imported.body.id}`)
    expect(job.status, JSON.stringify(job)).toBe('succeeded')
    // Mark the table for AI, so that search would find it if it leaked.
    const described = await call('PUT', `/projects/${targetProjectId}/metadata/internal/sales/orders`, targetKey, {
      description: 'Orders of the sales team',
      use_with_ai: true,
    })
    expect(described.status, JSON.stringify(described.body)).toBe(200)

    otherKey = (await createOrganization(app, 'Other')).orgKey
  })
  afterAll(() => app?.close())

  it('shares a dataset through its whole life: request, approve, query, revoke, expire', async () => {
    await expectInvisible()

    const asked = await askDataset()
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    const id = asked.body.id as string
    expect(asked.body).toMatchObject({
      kind: 'project_dataset',
      status: 'pending',
      project_id: projectId,
      project_name: 'Analytics',
      tenant_id: null,
      dataset_id: datasetId,
      // The requesting side learns nothing of the dataset before approval.
      dataset_name: null,
      catalog: 'shared_sales',
      requester_email: 'editor@requester.example',
      reviewed_by: null,
      created_at: clock.toISOString(),
      expires_at: new Date(clock.getTime() + 15 * DAY_MS).toISOString(),
      reviewed_at: null,
      rejection_reason: null,
      revoked_at: null,
    })
    expect((await askDataset()).status).toBe(409)
    expect((await askDataset(requesterKey, { catalog: 'other_name' })).status).toBe(409)
    await expectInvisible()

    // The organization asked sees it waiting; only its admins do.
    const pending = await call('GET', '/approvals/pending', targetAdmin)
    expect(pending.status).toBe(200)
    expect(pending.body.project_tenant_approvals).toEqual([])
    expect(pending.body.project_dataset_approvals).toEqual([
      expect.objectContaining({ id, dataset_name: 'sales', project_name: 'Analytics' }),
    ])
    expect((await call('GET', '/approvals/pending', targetViewer)).status).toBe(403)
    expect((await call('GET', '/approvals/pending', requesterKey)).body.project_dataset_approvals).toEqual([])
    expect((await call('GET', '/approvals/pending', otherKey)).body.project_dataset_approvals).toEqual([])

    // Who may not decide.
    expect((await call('POST', `/approvals/${id}/approve`, requesterKey)).status).toBe(403)
    expect((await call('POST', `/approvals/${id}/approve`, requesterEditor)).status).toBe(403)
    expect((await call('POST', `/approvals/${id}/approve`, targetViewer)).status).toBe(403)
    const targetProjectKey = (await createProjectKey(app, targetKey, targetProjectId, ['admin'])).key
    expect((await call('POST', `/approvals/${id}/approve`, targetProjectKey)).status).toBe(403)
    expect((await call('POST', `/approvals/${id}/approve`, otherKey)).status).toBe(404)
    expect((await call('GET', `/approvals/${id}`, otherKey)).status).toBe(404)
    expect((await call('POST', `/approvals/${id}/revoke`, otherKey)).status).toBe(404)
    expect((await call('GET', `/approvals/${id}`, targetViewer)).status).toBe(403)
    await expectInvisible()

    const approved = await call('POST', `/approvals/${id}/approve`, targetAdmin)
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    expect(approved.body).toMatchObject({ status: 'approved', reviewed_at: clock.toISOString() })
    expect(approved.body.reviewed_by).toEqual(expect.any(String))
    expect((await call('POST', `/approvals/${id}/approve`, targetAdmin)).status).toBe(409)
    expect((await call('GET', `/approvals/${id}`, requesterViewer)).body).toMatchObject({
      status: 'approved',
      dataset_name: 'sales',
    })
    expect((await call('GET', '/approvals/pending', targetAdmin)).body.project_dataset_approvals).toEqual([])

    // The dataset is a read-only catalog of P now.
    const rows = await query(ORDERS)
    expect(rows.status, JSON.stringify(rows.body)).toBe(200)
    expect(rows.body.rows).toEqual([
      [1, 10.5],
      [2, 20],
    ])
    expect((await query(ORDERS, requesterViewer)).status).toBe(200)

    // The owner's policies on the dataset follow it across: its admins and keys are exempt at home,
    // the other organization is a `guest` there, whatever its own roles and attributes.
    const table = { catalog: 'internal', schema: 'sales', table: 'orders' }
    const mask = await call('POST', `/projects/${targetProjectId}/privacy-policies`, targetKey, {
      ...table,
      column: 'amount',
      mask: 'nullify',
      except_roles: ['admin', 'api_key'],
    })
    expect(mask.status, JSON.stringify(mask.body)).toBe(201)
    const filter = await call('POST', `/projects/${targetProjectId}/row-policies`, targetKey, {
      ...table,
      filter: "id = 1 OR current_user_props('team') = 'all'",
      applies_to_roles: ['guest'],
    })
    expect(filter.status, JSON.stringify(filter.body)).toBe(201)
    const fromOwner = await call('POST', `/projects/${targetProjectId}/sql`, targetKey, {
      sql: 'select id, amount from internal.sales.orders order by id',
    })
    expect(fromOwner.body.rows).toEqual([
      [1, 10.5],
      [2, 20],
    ])
    // An attribute the requesting organization gives its own user does not open the owner's filter.
    const me = await call('GET', '/users/me', requesterViewer)
    const given = await call('PATCH', `/users/${me.body.id}`, requesterKey, { attributes: { team: 'all' } })
    expect(given.status, JSON.stringify(given.body)).toBe(200)
    for (const key of [requesterKey, requesterViewer]) {
      const guarded = await query(ORDERS, key)
      expect(guarded.status, JSON.stringify(guarded.body)).toBe(200)
      expect(guarded.body.rows).toEqual([[1, null]])
      expect(guarded.body.column_privacy).toEqual({ id: 'public', amount: 'hidden' })
    }
    await call('DELETE', `/projects/${targetProjectId}/privacy-policies/${mask.body.id}`, targetKey)
    await call('DELETE', `/projects/${targetProjectId}/row-policies/${filter.body.id}`, targetKey)
    expect((await query(ORDERS)).body.rows).toHaveLength(2)

    const catalogs = await call('GET', `/projects/${projectId}/catalogs`, requesterKey)
    expect(catalogs.body.data).toContainEqual({
      name: 'shared_sales',
      type: 'shared',
      connection_id: null,
      read_only: true,
    })
    const tables = await call('GET', `/projects/${projectId}/catalogs/shared_sales/schemas/sales/tables`, requesterKey)
    expect(tables.body.data).toEqual([{ name: 'orders', kind: 'table', column_count: 2 }])
    // Its metadata is listed and searched with P's own.
    const metadata = await call('GET', `/projects/${projectId}/metadata?catalog=shared_sales`, requesterKey)
    expect(metadata.status, JSON.stringify(metadata.body)).toBe(200)
    expect(metadata.body.data).toEqual([
      expect.objectContaining({ catalog: 'shared_sales', schema: 'sales', table: 'orders' }),
    ])
    const search = await call('GET', `/projects/${projectId}/metadata/search?q=orders`, requesterKey)
    expect(search.body.data).toEqual([expect.objectContaining({ catalog: 'shared_sales', table: 'orders' })])
    // P describes it in its own words; that goes too when the share ends.
    const described = await call('PUT', `/projects/${projectId}/metadata/shared_sales/sales/orders`, requesterKey, {
      description: 'Their orders',
      columns: [{ name: 'amount', description: 'In euros' }],
    })
    expect(described.status, JSON.stringify(described.body)).toBe(200)
    const write = await query('insert into shared_sales.sales.orders values (3, 1)')
    expect(write.status).toBeGreaterThanOrEqual(400)
    expect(write.status).toBeLessThan(500)
    expect((await query(ORDERS)).body.rows).toHaveLength(2)
    // No connection may take a name a share holds.
    const clash = await call('POST', `/projects/${projectId}/connections`, requesterKey, {
      name: 'clash',
      type: 'sqlite',
      catalog: 'shared_sales',
      config: { path: 'nothing.sqlite' },
    })
    expect([409, 422]).toContain(clash.status)

    // Revoked: gone at once, everywhere.
    const revoked = await call('POST', `/approvals/${id}/revoke`, targetKey)
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200)
    expect(revoked.body).toMatchObject({ status: 'revoked', revoked_at: clock.toISOString() })
    await expectInvisible()
    expect((await call('POST', `/approvals/${id}/revoke`, targetKey)).status).toBe(409)
    expect((await call('POST', `/approvals/${id}/approve`, targetKey)).status).toBe(409)

    // Asked again; nobody answers for 15 days.
    const again = await askDataset(requesterKey)
    expect(again.status, JSON.stringify(again.body)).toBe(201)
    const schedule = await app.tributary.platform.scheduler.get(APPROVAL_EXPIRY_TASK, again.body.id)
    expect(schedule?.schedule).toEqual({ type: 'interval', every: 'P15D' })
    clock = new Date(clock.getTime() + 15 * DAY_MS + 1000)
    const expired = await call('GET', `/approvals/${again.body.id}`, requesterKey)
    expect(expired.body.status).toBe('expired')
    expect((await call('GET', '/approvals/pending', targetKey)).body.project_dataset_approvals).toEqual([])
    const late = await call('POST', `/approvals/${again.body.id}/approve`, targetKey)
    expect(late.status).toBe(409)
    expect(late.body.error.message).toMatch(/expired/)
    expect(
      (await call('POST', `/approvals/${again.body.id}/reject`, targetKey, { rejection_reason: 'no' })).status,
    ).toBe(409)
    await expectInvisible()

    // The scheduler's job writes it down (its timer runs on the real clock: tick as if 15 days had passed).
    expect(await storedStatus(again.body.id)).toBe('pending')
    expect(await app.tributary.platform.scheduler.tick(new Date(Date.now() + 16 * DAY_MS))).toBeGreaterThan(0)
    await expect.poll(() => storedStatus(again.body.id), { timeout: 20_000, interval: 50 }).toBe('expired')
    expect(await app.tributary.platform.scheduler.get(APPROVAL_EXPIRY_TASK, again.body.id)).toBeUndefined()

    // The requester sees its history; each side's audit log has its own writes.
    const history = await call('GET', `/approvals?project_id=${projectId}`, requesterViewer)
    expect(history.status).toBe(200)
    expect(history.body.data.map((item: { status: string }) => item.status)).toEqual(['expired', 'revoked'])
    const requesterAudit = await call('GET', '/audit-log?limit=200', requesterKey)
    expect(JSON.stringify(requesterAudit.body)).toContain('approval.request')
    const targetAudit = JSON.stringify((await call('GET', '/audit-log?limit=200', targetKey)).body)
    expect(targetAudit).toContain('approval.approve')
    expect(targetAudit).toContain('approval.revoke')
  })

  it('rejects with a reason, and lets the project withdraw', async () => {
    const asked = await askDataset(requesterKey, { catalog: 'their_sales' })
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    const id = asked.body.id as string
    expect((await call('POST', `/approvals/${id}/reject`, targetViewer, { rejection_reason: 'no' })).status).toBe(403)
    const missing = await call('POST', `/approvals/${id}/reject`, targetKey, {})
    expect(missing.status).toBe(422)
    expect(JSON.stringify(missing.body.error)).toContain('rejection_reason')
    const rejected = await call('POST', `/approvals/${id}/reject`, targetAdmin, {
      rejection_reason: 'Not outside the sales team',
    })
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200)
    expect(rejected.body).toMatchObject({ status: 'rejected', rejection_reason: 'Not outside the sales team' })
    expect((await call('GET', `/approvals/${id}`, requesterKey)).body).toMatchObject({
      status: 'rejected',
      rejection_reason: 'Not outside the sales team',
      dataset_name: null,
    })
    expect((await call('POST', `/approvals/${id}/approve`, targetAdmin)).status).toBe(409)
    expect((await call('POST', `/approvals/${id}/revoke`, requesterKey)).status).toBe(409)
    expect(
      (
        await call('POST', `/projects/${projectId}/sql`, requesterKey, {
          sql: 'select * from their_sales.sales.orders',
        })
      ).status,
    ).toBeGreaterThanOrEqual(400)

    // Withdrawn by the project while pending: a viewer may not, an editor may.
    const pending = await askDataset(requesterKey)
    expect(pending.status, JSON.stringify(pending.body)).toBe(201)
    expect((await call('POST', `/approvals/${pending.body.id}/revoke`, requesterViewer)).status).toBe(403)
    const withdrawn = await call('POST', `/approvals/${pending.body.id}/revoke`, requesterEditor)
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200)
    expect(withdrawn.body.status).toBe('revoked')
    expect((await call('POST', `/approvals/${pending.body.id}/approve`, targetKey)).status).toBe(409)
  })

  it('asks for a project to be shared with another organization', async () => {
    const ask = (body: Record<string, unknown>, key = requesterKey) =>
      call('POST', '/approvals/project-tenant', key, { project_id: projectId, ...body })
    const own = await ask({
      tenant_id: (await call('GET', `/projects/${projectId}`, requesterKey)).body.organization_id,
    })
    expect(own.status, JSON.stringify(own.body)).toBe(422)
    expect(own.body.error.message).toMatch(/^tenant_id:/)
    expect((await ask({ tenant_id: '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e' })).status).toBe(404)
    expect((await ask({ tenant_id: targetId }, requesterViewer)).status).toBe(403)
    expect((await ask({ tenant_id: targetId }, otherKey)).status).toBe(404)

    const asked = await ask({ tenant_id: targetId }, requesterEditor)
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    expect(asked.body).toMatchObject({
      kind: 'project_tenant',
      status: 'pending',
      tenant_id: targetId,
      dataset_id: null,
      dataset_name: null,
      catalog: null,
    })
    expect((await ask({ tenant_id: targetId })).status).toBe(409)
    const pending = await call('GET', '/approvals/pending', targetKey)
    expect(pending.body.project_tenant_approvals).toEqual([expect.objectContaining({ id: asked.body.id })])
    const sharedAs = (key: string) =>
      [
        call('GET', `/projects/${projectId}`, key),
        call('GET', `/projects/${projectId}/datasets`, key),
        call('GET', `/projects/${projectId}/catalogs`, key),
        call('POST', `/projects/${projectId}/sql`, key, { sql: 'select count(*) as n from internal.mine.notes' }),
      ] as const
    // A's own data in P, which B will read once shared.
    const mine = await call('POST', `/projects/${projectId}/datasets`, requesterKey, { name: 'mine' })
    expect(mine.status, JSON.stringify(mine.body)).toBe(201)
    const notes = await call('POST', `/projects/${projectId}/datasets/${mine.body.id}/tables`, requesterKey, {
      name: 'notes',
      schema: [{ name: 'id', type: 'INTEGER' }],
    })
    expect(notes.status, JSON.stringify(notes.body)).toBe(201)
    for (const response of await Promise.all(sharedAs(targetViewer))) expect(response.status).toBe(404)

    const approved = await call('POST', `/approvals/${asked.body.id}/approve`, targetAdmin)
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)

    // B's members read and query P, as viewers; B's project keys and other organizations do not.
    for (const key of [targetViewer, targetAdmin, targetKey]) {
      const [project, datasets, catalogs, sql] = await Promise.all(sharedAs(key))
      expect(project.status, JSON.stringify(project.body)).toBe(200)
      expect(project.body).toMatchObject({ id: projectId, name: 'Analytics' })
      expect(datasets.body.data.map((d: { name: string }) => d.name)).toContain('mine')
      expect(catalogs.status).toBe(200)
      expect(sql.status, JSON.stringify(sql.body)).toBe(200)
      expect(sql.body.rows).toEqual([[0]])
    }
    const targetProjectKey = (await createProjectKey(app, targetKey, targetProjectId, ['*'])).key
    for (const key of [targetProjectKey, otherKey]) {
      for (const response of await Promise.all(sharedAs(key))) expect(response.status).toBe(404)
    }

    // Nothing of P changes through the share, whoever in B asks.
    const before = await call('GET', `/projects/${projectId}`, requesterKey)
    for (const key of [targetAdmin, targetKey]) {
      const writes = [
        call('PATCH', `/projects/${projectId}`, key, { name: 'Hijacked' }),
        call('DELETE', `/projects/${projectId}`, key),
        call('POST', `/projects/${projectId}/datasets`, key, { name: 'planted' }),
        call('PATCH', `/projects/${projectId}/datasets/${mine.body.id}`, key, { description: 'hijacked' }),
        call('DELETE', `/projects/${projectId}/datasets/${mine.body.id}`, key),
        call('POST', `/projects/${projectId}/datasets/${mine.body.id}/tables`, key, {
          name: 'planted',
          schema: [{ name: 'id', type: 'INTEGER' }],
        }),
        call('POST', `/projects/${projectId}/api-keys`, key, { name: 'planted' }),
        call('GET', `/projects/${projectId}/api-keys`, key),
        call('POST', `/projects/${projectId}/queries`, key, { display_name: 'planted', sql: 'select 1' }),
        call('POST', `/projects/${projectId}/connections`, key, {
          name: 'planted',
          type: 'sqlite',
          config: { path: 'x.sqlite' },
        }),
        call('POST', '/approvals/project-dataset', key, { project_id: projectId, dataset_id: datasetId }),
      ]
      for (const response of await Promise.all(writes)) {
        expect([403, 404], JSON.stringify(response.body)).toContain(response.status)
      }
      const insert = await call('POST', `/projects/${projectId}/sql`, key, {
        sql: 'insert into internal.mine.notes values (1)',
      })
      expect(insert.status).toBe(400)
    }
    expect((await call('GET', `/projects/${projectId}`, requesterKey)).body).toEqual(before.body)
    const datasets = await call('GET', `/projects/${projectId}/datasets`, requesterKey)
    expect(datasets.body.data.map((d: { name: string }) => d.name)).not.toContain('planted')
    expect(datasets.body.data.find((d: { name: string }) => d.name === 'mine').description).toBeNull()
    expect((await call('GET', `/projects/${projectId}/api-keys`, requesterKey)).body.data).toEqual([])
    expect((await call('GET', `/projects/${projectId}/queries`, requesterKey)).body.data).toEqual([])
    expect((await query('select count(*) from internal.mine.notes')).body.rows).toEqual([[0]])

    // The requesting project withdraws what it was granted: B sees nothing of P from the next request.
    const withdrawn = await call('POST', `/approvals/${asked.body.id}/revoke`, requesterKey)
    expect(withdrawn.body.status).toBe('revoked')
    for (const response of await Promise.all(sharedAs(targetViewer))) expect(response.status).toBe(404)
  })

  it('ends a share with its dataset, and refuses what can no longer be shared', async () => {
    const lend = async (name: string) => {
      const created = await call('POST', `/projects/${targetProjectId}/datasets`, targetKey, { name })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const asked = await call('POST', '/approvals/project-dataset', requesterKey, {
        project_id: projectId,
        dataset_id: created.body.id,
      })
      expect(asked.status, JSON.stringify(asked.body)).toBe(201)
      expect(asked.body.catalog).toBe(`shared_${name}`)
      return { datasetId: created.body.id as string, id: asked.body.id as string }
    }
    const archive = (id: string) => call('DELETE', `/projects/${targetProjectId}/datasets/${id}`, targetKey)

    const lent = await lend('lent')
    expect((await call('POST', `/approvals/${lent.id}/approve`, targetKey)).status).toBe(200)
    expect(await catalogNames()).toContain('shared_lent')
    expect((await archive(lent.datasetId)).status).toBe(204)
    expect(await catalogNames()).not.toContain('shared_lent')
    expect((await query('select * from shared_lent.lent.anything')).status).toBeGreaterThanOrEqual(400)

    const gone = await lend('gone')
    expect((await archive(gone.datasetId)).status).toBe(204)
    const refused = await call('POST', `/approvals/${gone.id}/approve`, targetKey)
    expect(refused.status).toBe(409)
    expect(refused.body.error.message).toMatch(/no longer exists/)

    const doomed = (await createProject(app, requesterKey, 'Doomed')).id
    const asked = await call('POST', '/approvals/project-tenant', requesterKey, {
      project_id: doomed,
      tenant_id: targetId,
    })
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    expect((await call('DELETE', `/projects/${doomed}`, requesterKey)).status).toBe(204)
    expect(JSON.stringify((await call('GET', '/approvals/pending', targetKey)).body)).not.toContain(asked.body.id)
    expect((await call('POST', `/approvals/${asked.body.id}/approve`, targetKey)).status).toBe(409)
  })

  it('keeps requests to their organizations and projects', async () => {
    const asked = await askDataset(requesterKey, { catalog: 'sales_again' })
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    const id = asked.body.id as string
    // Another project's key of the requesting organization sees nothing of it.
    const second = (await createProject(app, requesterKey, 'Second')).id
    const secondKey = (await createProjectKey(app, requesterKey, second, ['admin'])).key
    expect((await call('GET', `/approvals/${id}`, secondKey)).status).toBe(404)
    expect((await call('GET', '/approvals', secondKey)).body.data).toEqual([])
    const ownKey = (await createProjectKey(app, requesterKey, projectId, ['query'])).key
    expect((await call('GET', `/approvals/${id}`, ownKey)).status).toBe(200)
    // A project key without the admin scope may not ask.
    const refused = await call('POST', '/approvals/project-dataset', ownKey, {
      project_id: projectId,
      dataset_id: datasetId,
      catalog: 'by_key',
    })
    expect(refused.status).toBe(403)
    // Others see neither the request nor the requesting project.
    expect((await call('GET', `/approvals?project_id=${projectId}`, otherKey)).status).toBe(404)
    expect((await call('GET', '/approvals', otherKey)).body.data).toEqual([])
    expect((await call('GET', '/approvals', targetKey)).body.data).toEqual([])
    expect(
      (await call('POST', '/approvals/project-dataset', otherKey, { project_id: projectId, dataset_id: datasetId }))
        .status,
    ).toBe(404)
    // A dataset of one's own organization, an unknown one, a taken or bad catalog name.
    const own = await call('POST', '/approvals/project-dataset', targetKey, {
      project_id: targetProjectId,
      dataset_id: datasetId,
    })
    expect(own.status).toBe(422)
    expect(own.body.error.message).toMatch(/^dataset_id:/)
    expect(
      (await call('POST', '/approvals/project-dataset', requesterKey, { project_id: projectId, dataset_id: projectId }))
        .status,
    ).toBe(404)
    const taken = await askDataset(requesterKey, { catalog: 'internal' })
    expect(taken.status).toBe(422)
    const bad = await askDataset(requesterKey, { catalog: 'Bad Name' })
    expect(bad.status).toBe(422)
    expect(JSON.stringify(bad.body.error)).toContain('catalog')
    expect((await call('POST', `/approvals/not-a-uuid/approve`, targetKey)).status).toBe(422)
    expect((await call('POST', `/approvals/${id}/revoke`, targetKey)).status).toBe(409)
    expect((await call('GET', '/approvals/pending', app.platformKey)).status).toBe(403)
  })

  it('ends an access approved for some days when they are up, at once and everywhere', async () => {
    const project = (await createProject(app, requesterKey, 'For a while')).id
    const lent = async () => {
      const catalogs = await call('GET', `/projects/${project}/catalogs`, requesterKey)
      const rows = await call('POST', `/projects/${project}/sql`, requesterKey, {
        sql: 'select id from lent.sales.orders order by id',
      })
      return { listed: JSON.stringify(catalogs.body).includes('"lent"'), status: rows.status, rows: rows.body.rows }
    }
    const asked = await call('POST', '/approvals/project-dataset', requesterKey, {
      project_id: project,
      dataset_id: datasetId,
      catalog: 'lent',
    })
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    const id = asked.body.id as string
    // A project of the requester shared with the target organization for a day, as well.
    const sharedProject = (await createProject(app, requesterKey, 'Shared a day')).id
    const sharing = await call('POST', '/approvals/project-tenant', requesterKey, {
      project_id: sharedProject,
      tenant_id: targetId,
    })
    expect(sharing.status, JSON.stringify(sharing.body)).toBe(201)

    for (const access_days of [0, 1.5, 3651, 'two']) {
      const refused = await call('POST', `/approvals/${id}/approve`, targetKey, { access_days })
      expect(refused.status, JSON.stringify(refused.body)).toBe(422)
      expect(refused.body.error.message).toMatch(/^access_days:/)
    }
    expect(await storedStatus(id)).toBe('pending')
    const approved = await call('POST', `/approvals/${id}/approve`, targetKey, { access_days: 3 })
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    const ends = new Date(clock.getTime() + 3 * DAY_MS)
    expect(approved.body).toMatchObject({ status: 'approved', expires_at: ends.toISOString() })
    expect(await lent()).toEqual({ listed: true, status: 200, rows: [[1], [2]] })
    expect((await call('POST', `/approvals/${sharing.body.id}/approve`, targetKey, { access_days: 1 })).status).toBe(
      200,
    )
    expect((await call('GET', `/projects/${sharedProject}`, targetKey)).status).toBe(200)

    const before = clock
    clock = new Date(ends.getTime() - 1000)
    try {
      expect((await lent()).status).toBe(200)
      expect((await call('GET', `/projects/${sharedProject}`, targetKey)).status).toBe(404)
      // Time is up: gone at once for every reader, before the scheduled job writes it down.
      clock = ends
      expect(await lent()).toMatchObject({ listed: false, status: expect.any(Number) })
      expect((await lent()).status).toBeGreaterThanOrEqual(400)
      expect((await lent()).status).toBeLessThan(500)
      for (const key of [requesterKey, targetKey]) {
        expect((await call('GET', `/approvals/${id}`, key)).body.status).toBe('expired')
      }
      const late = await call('POST', `/approvals/${id}/revoke`, targetKey)
      expect(late.status).toBe(409)
      expect(late.body.error.message).toMatch(/access expired/)
      expect(await storedStatus(id)).toBe('approved')
      // Its catalog name is free at once: the project asks for another dataset under it, and that
      // request writes the old access down as expired.
      const stock = await call('POST', `/projects/${targetProjectId}/datasets`, targetKey, { name: 'stock' })
      expect(stock.status, JSON.stringify(stock.body)).toBe(201)
      const other = await call('POST', '/approvals/project-dataset', requesterKey, {
        project_id: project,
        dataset_id: stock.body.id,
        catalog: 'lent',
      })
      expect(other.status, JSON.stringify(other.body)).toBe(201)
      expect(await storedStatus(id)).toBe('expired')
      expect(await app.tributary.platform.scheduler.get(APPROVAL_EXPIRY_TASK, id)).toBeUndefined()
      expect((await call('POST', `/approvals/${other.body.id}/revoke`, requesterKey)).status).toBe(200)
      // The scheduled job writes the rest down.
      expect(await storedStatus(sharing.body.id)).toBe('approved')
      expect(await app.tributary.platform.scheduler.tick(new Date(Date.now() + 4 * DAY_MS))).toBeGreaterThan(0)
      await expect.poll(() => storedStatus(sharing.body.id), { timeout: 20_000, interval: 50 }).toBe('expired')
      // The project may ask again for the same dataset, under the same catalog.
      const again = await call('POST', '/approvals/project-dataset', requesterKey, {
        project_id: project,
        dataset_id: datasetId,
        catalog: 'lent',
      })
      expect(again.status, JSON.stringify(again.body)).toBe(201)
      expect((await call('POST', `/approvals/${again.body.id}/approve`, targetKey)).body.expires_at).toBeNull()
      expect(await lent()).toEqual({ listed: true, status: 200, rows: [[1], [2]] })
    } finally {
      clock = before
    }
  })

  it('lists what an organization asked and was asked, newest first, a page at a time', async () => {
    const asking = await createOrganization(app, 'Asking')
    const ids: string[] = []
    for (const name of ['One', 'Two', 'Three']) {
      const project = (await createProject(app, asking.orgKey, name)).id
      const asked = await call('POST', '/approvals/project-tenant', asking.orgKey, {
        project_id: project,
        tenant_id: targetId,
      })
      expect(asked.status, JSON.stringify(asked.body)).toBe(201)
      ids.unshift(asked.body.id)
    }
    const pages = async (path: string, key: string) => {
      const seen: { id: string; status: string }[] = []
      let cursor: string | null = null
      do {
        const page = await call('GET', `${path}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, key)
        expect(page.status, JSON.stringify(page.body)).toBe(200)
        expect(page.body.data.length).toBeLessThanOrEqual(2)
        seen.push(...page.body.data)
        cursor = page.body.next_cursor
      } while (cursor)
      return seen
    }
    const received = await pages('/approvals?direction=received', targetAdmin)
    expect(received.map((item) => item.id).filter((id) => ids.includes(id))).toEqual(ids)
    expect(new Set(received.map((item) => item.id)).size).toBe(received.length)
    // The requesting side sees the same three, and nothing made to it.
    expect((await pages('/approvals?direction=made', asking.orgKey)).map((item) => item.id)).toEqual(ids)
    expect((await call('GET', '/approvals?direction=received', asking.orgKey)).body.data).toEqual([])

    const approved = await call('POST', `/approvals/${ids[1]}/approve`, targetKey)
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    const granted = await pages('/approvals?direction=received&status=approved', targetKey)
    expect(granted.map((item) => item.id)).toContain(ids[1])
    expect(granted.every((item) => item.status === 'approved')).toBe(true)
    const waiting = (await pages('/approvals?direction=received&status=pending', targetKey)).map((item) => item.id)
    expect(waiting.filter((id) => ids.includes(id))).toEqual([ids[0], ids[2]])

    // Past their time, the pending ones list as expired before the scheduled job marks them.
    const before = clock
    clock = new Date(clock.getTime() + 16 * DAY_MS)
    try {
      const expired = (await pages('/approvals?direction=received&status=expired', targetKey)).map((item) => item.id)
      expect(expired.filter((id) => ids.includes(id))).toEqual([ids[0], ids[2]])
      const stillWaiting = await pages('/approvals?direction=received&status=pending', targetKey)
      expect(stillWaiting.map((item) => item.id).filter((id) => ids.includes(id))).toEqual([])
    } finally {
      clock = before
    }

    // What was asked of an organization is for its admins; others' lists stay their own.
    expect((await call('GET', '/approvals?direction=received', targetViewer)).status).toBe(403)
    expect((await call('GET', '/approvals?direction=received', otherKey)).body.data).toEqual([])
    expect((await call('GET', '/approvals?direction=sideways', targetKey)).status).toBe(422)
    expect((await call('GET', '/approvals?cursor=nope', targetKey)).status).toBe(422)
  })
})
