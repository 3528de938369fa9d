import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import { maskSql } from '../../engine/access-policy.js'
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
import { checkPolicyExpression } from './policy-expression.js'

const CHINOOK_SQLITE = path.resolve(import.meta.dirname, '../../../test/fixtures/chinook/Chinook_Sqlite.sqlite')
const CUSTOMER = { catalog: 'chinook', schema: 'main', table: 'Customer' }
const POLICED_CUSTOMER = {
  ...CUSTOMER,
  columns: [
    { name: 'CustomerId', type: 'BIGINT' },
    { name: 'Email', type: 'VARCHAR' },
    { name: 'Phone', type: 'VARCHAR' },
    { name: 'Country', type: 'VARCHAR' },
  ],
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

describe('checkPolicyExpression', () => {
  it('accepts one expression and writes current_user_props as a literal to bind it', () => {
    expect(
      checkPolicyExpression(`Country = current_user_props('country') AND "select" <> 'from'`, { userProps: true }),
    ).toEqual({ bindable: `Country = CAST(NULL AS VARCHAR) AND "select" <> 'from'` })
    expect(checkPolicyExpression(`regexp_replace("Email", '@.*', '@…')`, { userProps: false }).problem).toBeUndefined()
    expect(checkPolicyExpression('len(filter([1, 2], x -> x > 1)) > 0', { userProps: false }).problem).toBeUndefined()
    expect(checkPolicyExpression(`E'it\\'s' = "Name"`, { userProps: false }).problem).toBeUndefined()
  })

  it.each([
    ['Country = (SELECT max(Country) FROM chinook.main.Customer)', /SELECT/],
    ['Country IN (select 1)', /SELECT/],
    ["Country = 'x'; DROP TABLE t", /;/],
    ['Country = 1 -- comment', /comments/],
    ['Country = 1 /* c */', /comments/],
    ['row_number() OVER () = 1', /OVER/],
    ['(Country = 1', /\(/],
    ['Country = 1)', /\)/],
    ["Country = 'open", /not closed/],
    ['Country = $1', /parameters/],
    ['EXISTS (x)', /EXISTS/],
    ['current_user_props(Country) = 1', /one name in single quotes/],
  ])('refuses %s', (text, problem) => {
    expect(checkPolicyExpression(text, { userProps: true }).problem).toMatch(problem)
  })

  it('refuses current_user_props where it is not allowed', () => {
    expect(checkPolicyExpression(`current_user_props('email')`, { userProps: false }).problem).toMatch(/must not use/)
  })
})

describeEachStore('access policies', (kind) => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-policies-'))
  let app: TestApp
  let orgKey: string
  let projectId: string
  let otherProjectId: string
  let admin: { user: any; token: string }
  let editor: { user: any; token: string }
  let viewer: { user: any; token: string }
  const privacy = (rest = '') => `${API}/projects/${projectId}/privacy-policies${rest}`
  const rowPolicies = (rest = '') => `${API}/projects/${projectId}/row-policies${rest}`
  const columnTags = (rest = '') => `${API}/projects/${projectId}/column-tags${rest}`
  const post = (url: string, body: unknown, key = orgKey) => app.request('POST', url, { key, body })
  const ctxOf = async (key: string): Promise<TenantContext> => {
    const ctx: RequestContext = {
      principal: await app.tributary.platform.authenticator.authenticate(`Bearer ${key}`),
      requestId: 'access-policies',
    }
    return ctx as TenantContext
  }
  const accessFor = async (key: string, project = projectId) =>
    app.tributary.services.accessPolicies.accessFor(await ctxOf(key), project)
  const expectInvalid = (response: { status: number; body: any }, field: string, message?: RegExp) => {
    expect(response.status, JSON.stringify(response.body)).toBe(422)
    expect(response.body.error.code).toBe('validation_error')
    expect(JSON.stringify(response.body.error.details)).toContain(`"${field}"`)
    if (message) expect(response.body.error.message).toMatch(message)
  }

  beforeAll(async () => {
    copyFileSync(CHINOOK_SQLITE, path.join(root, 'chinook.sqlite'))
    app = await startTestApp(kind, { env: { TRIBUTARY_FILE_ROOTS: root } })
    orgKey = (await createOrganization(app, 'Policies')).orgKey
    projectId = (await createProject(app, orgKey, 'Policies')).id
    otherProjectId = (await createProject(app, orgKey, 'Other')).id
    for (const id of [projectId, otherProjectId]) {
      const connection = await post(`${API}/projects/${id}/connections`, {
        name: 'chinook',
        type: 'sqlite',
        config: { path: 'chinook.sqlite' },
      })
      expect(connection.status, JSON.stringify(connection.body)).toBe(201)
    }
    admin = await createUserSession(app, orgKey, 'admin')
    editor = await createUserSession(app, orgKey, 'editor')
    viewer = await createUserSession(app, orgKey, 'viewer')
  })
  afterAll(async () => {
    await app?.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('creates, lists, reads, replaces and deletes a privacy policy, and audits each change', async () => {
    const created = await post(privacy(), { ...CUSTOMER, column: 'phone', mask: 'last4' }, admin.token)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({
      project_id: projectId,
      ...CUSTOMER,
      column: 'Phone',
      tag: null,
      mask: 'last4',
      expression: null,
      except_roles: [],
      except_users: [],
    })
    const { id } = created.body
    const listed = await app.request('GET', privacy(), { key: viewer.token })
    expect(listed.status).toBe(200)
    expect(listed.body.data.map((policy: { id: string }) => policy.id)).toContain(id)
    expect((await app.request('GET', privacy(`/${id}`), { key: editor.token })).body).toEqual(created.body)

    const replaced = await app.request('PUT', privacy(`/${id}`), {
      key: admin.token,
      body: {
        ...CUSTOMER,
        column: 'Email',
        mask: 'custom',
        expression: "regexp_replace({col}, '^[^@]*', 'xxx')",
        except_roles: ['admin', 'admin'],
        except_users: [viewer.user.id],
      },
    })
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200)
    expect(replaced.body).toMatchObject({
      id,
      column: 'Email',
      mask: 'custom',
      except_roles: ['admin'],
      except_users: [viewer.user.id],
      created_at: created.body.created_at,
    })

    expect((await app.request('DELETE', privacy(`/${id}`), { key: admin.token })).status).toBe(204)
    expect((await app.request('GET', privacy(`/${id}`), { key: admin.token })).status).toBe(404)
    expect((await app.request('DELETE', privacy(`/${id}`), { key: admin.token })).status).toBe(404)
    // Another project of the same organization does not see it.
    const elsewhere = await app.request('GET', `${API}/projects/${otherProjectId}/privacy-policies/${id}`, {
      key: orgKey,
    })
    expect(elsewhere.status).toBe(404)

    const audit = await app.request('GET', `${API}/audit-log?resource_type=privacy_policy`, { key: admin.token })
    const actions = (audit.body.data as { action: string; resource_id: string }[])
      .filter((entry) => entry.resource_id === id)
      .map((entry) => entry.action)
    expect(actions.sort()).toEqual(['privacy_policy.create', 'privacy_policy.delete', 'privacy_policy.update'])
  })

  it('refuses a privacy policy on something missing or of the wrong type, with 422 naming the field', async () => {
    expectInvalid(await post(privacy(), { ...CUSTOMER, column: 'Nope', mask: 'redact' }), 'column', /no column 'Nope'/)
    expectInvalid(await post(privacy(), { ...CUSTOMER, table: 'Nope', column: 'Email', mask: 'redact' }), 'table')
    expectInvalid(
      await post(privacy(), { ...CUSTOMER, catalog: 'nowhere', column: 'Email', mask: 'redact' }),
      'catalog',
    )
    expectInvalid(await post(privacy(), { ...CUSTOMER, column: 'CustomerId', mask: 'last4' }), 'mask', /text column/)
    expectInvalid(await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'year_only' }), 'mask', /date/)
    expectInvalid(await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'custom' }), 'expression')
    expectInvalid(
      await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'custom', expression: 'upper(Email)' }),
      'expression',
      /\{col\}/,
    )
    expectInvalid(
      await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'redact', expression: '{col}' }),
      'expression',
    )
    expectInvalid(
      await post(privacy(), {
        ...CUSTOMER,
        column: 'Email',
        mask: 'custom',
        expression: '(SELECT max(Email) FROM chinook.main.Customer) || {col}',
      }),
      'expression',
      /SELECT/,
    )
    expectInvalid(
      await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'custom', expression: '{col} || NoSuchColumn' }),
      'expression',
    )
    expectInvalid(
      await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'custom', expression: 'max({col})' }),
      'expression',
    )
    expectInvalid(await post(privacy(), { ...CUSTOMER, mask: 'redact' }), 'column')
    expectInvalid(await post(privacy(), { ...CUSTOMER, column: 'Email', tag: 'pii', mask: 'redact' }), 'catalog')
    expectInvalid(await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'scramble' }), 'mask')
    expectInvalid(
      await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'redact', except_roles: ['root'] }),
      'except_roles.0',
    )
    expectInvalid(await post(privacy(), { ...CUSTOMER, column: 'x'.repeat(256), mask: 'redact' }), 'column')
    // year_only suits a timestamp.
    const dated = await post(privacy(), {
      catalog: 'chinook',
      schema: 'main',
      table: 'Invoice',
      column: 'InvoiceDate',
      mask: 'year_only',
    })
    expect(dated.status, JSON.stringify(dated.body)).toBe(201)
    await app.request('DELETE', privacy(`/${dated.body.id}`), { key: orgKey })
  })

  it('creates and replaces row policies, refusing filters that are not one boolean expression over the table', async () => {
    const filter = "Country = current_user_props('country')"
    const created = await post(rowPolicies(), { ...CUSTOMER, filter, applies_to_roles: ['viewer', 'api_key'] })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({ ...CUSTOMER, filter, applies_to_roles: ['viewer', 'api_key'] })
    const id = created.body.id as string

    for (const [bad, message] of [
      ['Country =', undefined],
      ['Country = (SELECT max(Country) FROM chinook.main.Customer)', /SELECT/],
      ['Country IN (SELECT BillingCountry FROM chinook.main.Invoice)', /SELECT/],
      ['Invoice.Total > 1', undefined],
      ['NoSuchColumn = 1', undefined],
      ['count(*) > 1', undefined],
      ['row_number() OVER () < 10', /OVER/],
      ['Country', /boolean/],
      ["Country = 'x'; SELECT 1", /;/],
      ["current_user_props(Country) = 'x'", /single quotes/],
    ] as const) {
      const refused = await post(rowPolicies(), { ...CUSTOMER, filter: bad })
      expectInvalid(refused, 'filter', message)
      const replaced = await app.request('PUT', rowPolicies(`/${id}`), {
        key: orgKey,
        body: { ...CUSTOMER, filter: bad },
      })
      expectInvalid(replaced, 'filter', message)
    }
    expectInvalid(await post(rowPolicies(), { ...CUSTOMER, table: 'Nope', filter: 'true' }), 'table')
    expectInvalid(await post(rowPolicies(), { ...CUSTOMER, filter: 'x'.repeat(4001) }), 'filter')
    expectInvalid(
      await post(rowPolicies(), { ...CUSTOMER, filter: 'true', applies_to_roles: ['owner'] }),
      'applies_to_roles.0',
    )

    // A prop is text; compared with a number column it is cast as a literal is.
    for (const filter of [
      "CustomerId = current_user_props('customer_id')",
      "CustomerId = CAST(current_user_props('customer_id') AS INTEGER)",
    ]) {
      const numeric = await post(rowPolicies(), { ...CUSTOMER, filter })
      expect(numeric.status, JSON.stringify(numeric.body)).toBe(201)
      await app.request('DELETE', rowPolicies(`/${numeric.body.id}`), { key: orgKey })
    }

    const replaced = await app.request('PUT', rowPolicies(`/${id}`), {
      key: orgKey,
      body: { ...CUSTOMER, filter: 'CustomerId < 10' },
    })
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200)
    expect(replaced.body).toMatchObject({ id, filter: 'CustomerId < 10', applies_to_roles: [] })
    expect((await app.request('GET', rowPolicies(), { key: viewer.token })).body.data).toHaveLength(1)
    expect((await app.request('DELETE', rowPolicies(`/${id}`), { key: orgKey })).status).toBe(204)
    expect((await app.request('GET', rowPolicies(`/${id}`), { key: orgKey })).status).toBe(404)
  })

  it('checks a new policy against the real columns, beneath the masks already in place', async () => {
    const hashed = await post(privacy(), { ...CUSTOMER, column: 'CustomerId', mask: 'hash' })
    expect(hashed.status, JSON.stringify(hashed.body)).toBe(201)
    try {
      // Hashed, CustomerId reads as text; the filter and the type check still see an integer.
      const filter = await post(rowPolicies(), { ...CUSTOMER, filter: 'CustomerId < 10' })
      expect(filter.status, JSON.stringify(filter.body)).toBe(201)
      await app.request('DELETE', rowPolicies(`/${filter.body.id}`), { key: orgKey })
      expectInvalid(await post(privacy(), { ...CUSTOMER, column: 'CustomerId', mask: 'last4' }), 'mask')
    } finally {
      await app.request('DELETE', privacy(`/${hashed.body.id}`), { key: orgKey })
    }
  })

  it('lets admins and admin-scoped keys change policies; editors, viewers and other keys only read them', async () => {
    const body = { ...CUSTOMER, column: 'Phone', mask: 'redact' }
    const queryKey = (await createProjectKey(app, orgKey, projectId, ['query'])).key
    const adminKey = (await createProjectKey(app, orgKey, projectId, ['admin'])).key
    for (const key of [editor.token, viewer.token, queryKey]) {
      expect((await post(privacy(), body, key)).status).toBe(403)
      expect((await post(rowPolicies(), { ...CUSTOMER, filter: 'true' }, key)).status).toBe(403)
      expect((await app.request('GET', privacy(), { key })).status).toBe(200)
      expect((await app.request('GET', rowPolicies(), { key })).status).toBe(200)
    }
    const byKey = await post(privacy(), body, adminKey)
    expect(byKey.status, JSON.stringify(byKey.body)).toBe(201)
    for (const key of [editor.token, queryKey]) {
      expect((await app.request('DELETE', privacy(`/${byKey.body.id}`), { key })).status).toBe(403)
    }
    // A project key reaches no other project: 404, as for an id that exists nowhere.
    expect((await post(`${API}/projects/${otherProjectId}/privacy-policies`, body, adminKey)).status).toBe(404)
    expect((await app.request('DELETE', privacy(`/${byKey.body.id}`), { key: adminKey })).status).toBe(204)
  })

  it('sets custom attributes on users (admins only) and on API keys, refusing bad names', async () => {
    const patch = (id: string, body: unknown, key = admin.token) =>
      app.request('PATCH', `${API}/users/${id}`, { key, body })
    const set = await patch(viewer.user.id, { attributes: { country: 'Brazil', tier: 'gold' } })
    expect(set.status, JSON.stringify(set.body)).toBe(200)
    expect(set.body.attributes).toEqual({ country: 'Brazil', tier: 'gold' })
    expect((await app.request('GET', `${API}/users/me`, { key: viewer.token })).body.attributes).toEqual({
      country: 'Brazil',
      tier: 'gold',
    })
    // Not even one's own: a user could otherwise widen what their row filters let through.
    expect((await patch(viewer.user.id, { attributes: { country: 'USA' } }, viewer.token)).status).toBe(403)
    expect((await patch(viewer.user.id, { attributes: { country: 'USA' } }, editor.token)).status).toBe(403)
    expect((await patch(viewer.user.id, { name: 'Vee' }, viewer.token)).status).toBe(200)
    expectInvalid(await patch(viewer.user.id, { attributes: { email: 'x' } }), 'attributes.email', /built-in/)
    expectInvalid(await patch(viewer.user.id, { attributes: { Country: 'x' } }), 'attributes.Country')
    expectInvalid(await patch(viewer.user.id, { attributes: { country: 1 } }), 'attributes.country')
    expectInvalid(await patch(viewer.user.id, { attributes: { country: 'x'.repeat(1001) } }), 'attributes.country')
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`a${i}`, 'x']))
    expectInvalid(await patch(viewer.user.id, { attributes: many }), 'attributes')
    expect((await app.request('GET', `${API}/users/${viewer.user.id}`, { key: orgKey })).body.attributes).toEqual({
      country: 'Brazil',
      tier: 'gold',
    })

    const key = await post(`${API}/projects/${projectId}/api-keys`, {
      name: 'embedded',
      scopes: ['query'],
      attributes: { country: 'Canada' },
    })
    expect(key.status, JSON.stringify(key.body)).toBe(201)
    expect(key.body.attributes).toEqual({ country: 'Canada' })
    const listed = await app.request('GET', `${API}/projects/${projectId}/api-keys`, { key: orgKey })
    expect(listed.body.data.find((entry: { id: string }) => entry.id === key.body.id).attributes).toEqual({
      country: 'Canada',
    })
    expectInvalid(
      await post(`${API}/projects/${projectId}/api-keys`, { name: 'bad', attributes: { role: 'admin' } }),
      'attributes.role',
    )
    const plain = await post(`${API}/projects/${projectId}/api-keys`, { name: 'plain' })
    expect(plain.body.attributes).toEqual({})
  })

  it('tells each caller the masks, row filters and props that apply to them, with a key that tells them apart', async () => {
    const region = await createUserSession(
      app,
      orgKey,
      'viewer',
      `region-${Math.random().toString(36).slice(2)}@example.com`,
    )
    const patched = await app.request('PATCH', `${API}/users/${region.user.id}`, {
      key: orgKey,
      body: { attributes: { country: 'Brazil' } },
    })
    expect(patched.status).toBe(200)
    const embedded = await post(`${API}/projects/${projectId}/api-keys`, {
      name: 'embedded for Canada',
      scopes: ['query'],
      attributes: { country: 'Canada' },
    })
    const phone = await post(privacy(), { ...CUSTOMER, column: 'Phone', mask: 'last4', except_roles: ['admin'] })
    const email = await post(privacy(), { ...CUSTOMER, column: 'Email', mask: 'hash', except_users: [region.user.id] })
    // A second mask on Phone: the older one wins.
    const later = await post(privacy(), { ...CUSTOMER, column: 'Phone', mask: 'nullify' })
    const byCountry = await post(rowPolicies(), {
      ...CUSTOMER,
      filter: "Country = current_user_props('country')",
      applies_to_roles: ['viewer', 'api_key'],
    })
    const everyone = await post(rowPolicies(), { ...CUSTOMER, filter: 'CustomerId > 0' })
    for (const response of [phone, email, later, byCountry, everyone]) {
      expect(response.status, JSON.stringify(response.body)).toBe(201)
    }

    try {
      const forRegion = await accessFor(region.token)
      expect({ ...forRegion.props }).toEqual({
        id: region.user.id,
        email: region.user.email,
        name: '',
        role: 'viewer',
        project: projectId,
        country: 'Brazil',
      })
      const regionTable = forRegion.table(POLICED_CUSTOMER)!
      expect(Object.fromEntries(regionTable.masks)).toEqual({
        Phone: maskSql('last4', 'Phone', 'VARCHAR'),
      })
      expect(regionTable.rowFilter).toBe("(Country = current_user_props('country')) AND (CustomerId > 0)")
      expect(forRegion.table({ ...CUSTOMER, table: 'Invoice', columns: [{ name: 'Total', type: 'DOUBLE' }] })).toBe(
        undefined,
      )

      const forAdmin = await accessFor(admin.token)
      expect(forAdmin.props).toMatchObject({ role: 'admin', id: admin.user.id })
      expect(forAdmin.props.country).toBeUndefined()
      const adminTable = forAdmin.table(POLICED_CUSTOMER)!
      // Phone: the older mask spares admins, so the newer one (nullify) masks it for them.
      expect(Object.fromEntries(adminTable.masks)).toEqual({
        Phone: maskSql('nullify', 'Phone', 'VARCHAR'),
        Email: maskSql('hash', 'Email', 'VARCHAR'),
      })
      expect(adminTable.rowFilter).toBe('(CustomerId > 0)')
      // Names as the catalog lists them, whatever their case in the policy; a column gone is skipped.
      expect(
        forAdmin
          .table({
            catalog: 'chinook',
            schema: 'MAIN',
            table: 'customer',
            columns: [{ name: 'EMAIL', type: 'VARCHAR' }],
          })
          ?.masks.has('EMAIL'),
      ).toBe(true)

      const forKey = await accessFor(embedded.body.key)
      expect({ ...forKey.props }).toEqual({
        id: embedded.body.id,
        email: '',
        name: 'embedded for Canada',
        role: 'api_key',
        project: projectId,
        country: 'Canada',
      })
      expect(forKey.table(POLICED_CUSTOMER)!.rowFilter).toContain('current_user_props')

      const forViewer = await accessFor(viewer.token)
      const keys = new Set([forRegion.key, forAdmin.key, forKey.key, forViewer.key])
      expect(keys.size).toBe(4)
      expect((await accessFor(region.token)).key).toBe(forRegion.key)
      // Another project: no policies, props still there.
      const elsewhere = await accessFor(region.token, otherProjectId)
      expect(elsewhere.table(POLICED_CUSTOMER)).toBeUndefined()
      expect(elsewhere.props).toMatchObject({ project: otherProjectId, country: 'Brazil' })
      expect(elsewhere.key).not.toBe(forRegion.key)

      // A change of attributes or of a policy changes the key.
      await app.request('PATCH', `${API}/users/${region.user.id}`, {
        key: orgKey,
        body: { attributes: { country: 'USA' } },
      })
      const moved = await accessFor(region.token)
      expect(moved.props.country).toBe('USA')
      expect(moved.key).not.toBe(forRegion.key)
      await app.request('PUT', rowPolicies(`/${everyone.body.id}`), {
        key: orgKey,
        body: { ...CUSTOMER, filter: 'CustomerId > 1' },
      })
      expect((await accessFor(region.token)).key).not.toBe(moved.key)
    } finally {
      for (const response of [phone, email, later]) {
        await app.request('DELETE', privacy(`/${response.body.id}`), { key: orgKey })
      }
      for (const response of [byCountry, everyone]) {
        await app.request('DELETE', rowPolicies(`/${response.body.id}`), { key: orgKey })
      }
    }
  })

  it('masks every column carrying a tag, and checks the tag’s policies against each column tagged', async () => {
    const email = await post(columnTags(), { ...CUSTOMER, column: 'email', tag: 'pii' })
    expect(email.status, JSON.stringify(email.body)).toBe(201)
    expect(email.body).toMatchObject({ ...CUSTOMER, column: 'Email', tag: 'pii' })
    expect((await post(columnTags(), { ...CUSTOMER, column: 'Email', tag: 'pii' })).status).toBe(409)
    expectInvalid(await post(columnTags(), { ...CUSTOMER, column: 'Nope', tag: 'pii' }), 'column')
    expectInvalid(await post(columnTags(), { ...CUSTOMER, column: 'Email', tag: 'Not A Tag' }), 'tag')
    expect((await post(columnTags(), { ...CUSTOMER, column: 'Email', tag: 'pii' }, editor.token)).status).toBe(403)

    // year_only does not suit Email, which carries the tag.
    expectInvalid(await post(privacy(), { tag: 'pii', mask: 'year_only' }), 'mask', /Email/)
    const policy = await post(privacy(), { tag: 'pii', mask: 'redact', except_roles: ['admin'] })
    expect(policy.status, JSON.stringify(policy.body)).toBe(201)
    expect(policy.body).toMatchObject({ catalog: null, column: null, tag: 'pii', mask: 'redact' })
    const phone = await post(columnTags(), { ...CUSTOMER, column: 'Phone', tag: 'pii' })
    expect(phone.status).toBe(201)

    const table = (await accessFor(viewer.token)).table(POLICED_CUSTOMER)!
    expect([...table.masks.keys()].sort()).toEqual(['Email', 'Phone'])
    expect(table.masks.get('Email')).toEqual(maskSql('redact', 'Email', 'VARCHAR'))
    expect((await accessFor(admin.token)).table(POLICED_CUSTOMER)).toBeUndefined()

    const listed = await app.request('GET', `${columnTags()}?tag=pii`, { key: viewer.token })
    expect(listed.status).toBe(200)
    expect(listed.body.data.map((tag: { column: string }) => tag.column).sort()).toEqual(['Email', 'Phone'])

    // A tag's policy must suit a column tagged later too.
    const numeric = await post(privacy(), { tag: 'dates', mask: 'year_only' })
    expect(numeric.status).toBe(201)
    expectInvalid(await post(columnTags(), { ...CUSTOMER, column: 'Country', tag: 'dates' }), 'tag', /year_only/)

    expect((await app.request('DELETE', columnTags(`/${phone.body.id}`), { key: orgKey })).status).toBe(204)
    expect([...(await accessFor(viewer.token)).table(POLICED_CUSTOMER)!.masks.keys()]).toEqual(['Email'])
    for (const id of [policy.body.id, numeric.body.id]) {
      await app.request('DELETE', privacy(`/${id}`), { key: orgKey })
    }
    await app.request('DELETE', columnTags(`/${email.body.id}`), { key: orgKey })
  })

  // Needs the engine side (QueryAccess applied beneath every query): two users, two answers.
  it('shows two users different answers to the same SQL', async () => {
    const brazil = await createUserSession(app, orgKey, 'viewer')
    const canada = await createUserSession(app, orgKey, 'viewer')
    for (const [who, country] of [
      [brazil, 'Brazil'],
      [canada, 'Canada'],
    ] as const) {
      const set = await app.request('PATCH', `${API}/users/${who.user.id}`, {
        key: orgKey,
        body: { attributes: { country } },
      })
      expect(set.status).toBe(200)
    }
    const mask = await post(privacy(), { ...CUSTOMER, column: 'Phone', mask: 'last4' })
    // The filter reads the real values beneath the masks, Country's included.
    const countryMask = await post(privacy(), { ...CUSTOMER, column: 'Country', mask: 'hash', except_roles: ['admin'] })
    const filter = await post(rowPolicies(), { ...CUSTOMER, filter: "Country = current_user_props('country')" })
    expect(mask.status).toBe(201)
    expect(countryMask.status).toBe(201)
    expect(filter.status, JSON.stringify(filter.body)).toBe(201)
    try {
      const run = (key: string) =>
        app.request('POST', `${API}/projects/${projectId}/sql`, {
          key,
          body: { sql: 'select Country, Phone from chinook.main.Customer order by CustomerId limit 1' },
        })
      const [forBrazil, forCanada] = await Promise.all([run(brazil.token), run(canada.token)])
      expect(forBrazil.status, JSON.stringify(forBrazil.body)).toBe(200)
      expect(forCanada.status, JSON.stringify(forCanada.body)).toBe(200)
      expect(forBrazil.body.rows[0][0]).toBe(sha256('Brazil'))
      expect(forCanada.body.rows[0][0]).toBe(sha256('Canada'))
      // Customer 1 ('+55 (12) 3923-5555') and customer 3 ('+1 (514) 721-4711'): all but the last four starred.
      expect(forBrazil.body.rows[0][1]).toBe(`${'*'.repeat(14)}5555`)
      expect(forCanada.body.rows[0][1]).toBe(`${'*'.repeat(13)}4711`)
    } finally {
      for (const policy of [mask, countryMask])
        await app.request('DELETE', privacy(`/${policy.body.id}`), { key: orgKey })
      await app.request('DELETE', rowPolicies(`/${filter.body.id}`), { key: orgKey })
    }
  })
})
