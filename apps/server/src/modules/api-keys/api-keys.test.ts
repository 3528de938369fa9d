import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../test/harness.js'
import { sha256 } from '../../lib/secrets.js'

describe('API keys', () => {
  let app: TestApp
  let orgKey: string
  let organizationId: string
  let projectId: string
  beforeAll(async () => {
    app = await startTestApp('pglite')
    const created = await createOrganization(app, 'Keys')
    orgKey = created.orgKey
    organizationId = created.organization.id
    projectId = (await createProject(app, orgKey, 'Keyed')).id
  })
  afterAll(() => app.close())

  it('shows the secret once, stores only its SHA-256, and lists without secrets', async () => {
    const created = await app.request('POST', `${API}/projects/${projectId}/api-keys`, {
      key: orgKey,
      body: { name: 'ci', scopes: ['query', 'query', 'ask'] },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      kind: 'project',
      name: 'ci',
      scopes: ['query', 'ask'],
      organization_id: organizationId,
      project_id: projectId,
      expires_at: null,
    })
    expect(created.body.key).toMatch(/^trb_[\w-]{43}$/)
    expect(created.body.key.startsWith(created.body.prefix)).toBe(true)

    const stored = await sql<{
      secret_hash: string
    }>`select secret_hash from api_keys where id = ${created.body.id}`.execute(app.tributary.store.db)
    expect(stored.rows[0]!.secret_hash).toBe(sha256(created.body.key))

    const list = await app.request('GET', `${API}/projects/${projectId}/api-keys`, { key: orgKey })
    const listed = list.body.data.find((key: { id: string }) => key.id === created.body.id)
    expect(listed).toEqual({ ...created.body, key: undefined, last_used_at: null })
    expect(JSON.stringify(list.body)).not.toContain(created.body.key)
  })

  it('records when a key was last used', async () => {
    const created = await app.request('POST', `${API}/projects/${projectId}/api-keys`, {
      key: orgKey,
      body: { name: 'used' },
    })
    expect((await app.request('GET', `${API}/projects/${projectId}`, { key: created.body.key })).status).toBe(200)
    await expect
      .poll(async () => {
        const list = await app.request('GET', `${API}/projects/${projectId}/api-keys`, { key: orgKey })
        return list.body.data.find((key: { id: string }) => key.id === created.body.id).last_used_at
      })
      .not.toBeNull()
  })

  it('stops a key at its expiry', async () => {
    const expiresAt = new Date(Date.now() + 1_500).toISOString()
    const created = await app.request('POST', `${API}/projects/${projectId}/api-keys`, {
      key: orgKey,
      body: { name: 'short-lived', expires_at: expiresAt },
    })
    expect(created.body.expires_at).toBe(expiresAt)
    expect((await app.request('GET', `${API}/projects/${projectId}`, { key: created.body.key })).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1_700))
    const late = await app.request('GET', `${API}/projects/${projectId}`, { key: created.body.key })
    expect(late.status).toBe(401)
    expect(late.body.error.code).toBe('authentication_error')
  })

  it('revokes at once, even with the key cached, and a second revoke is 404', async () => {
    const created = await app.request('POST', `${API}/organizations/${organizationId}/api-keys`, {
      key: app.platformKey,
      body: { name: 'temp' },
    })
    const key = created.body.key as string
    expect((await app.request('GET', `${API}/projects`, { key })).status).toBe(200)
    const revoke = await app.request('DELETE', `${API}/organizations/${organizationId}/api-keys/${created.body.id}`, {
      key: app.platformKey,
    })
    expect(revoke.status).toBe(204)
    expect((await app.request('GET', `${API}/projects`, { key })).status).toBe(401)
    const again = await app.request('DELETE', `${API}/organizations/${organizationId}/api-keys/${created.body.id}`, {
      key: app.platformKey,
    })
    expect(again.status).toBe(404)
    const list = await app.request('GET', `${API}/organizations/${organizationId}/api-keys`, { key: app.platformKey })
    expect(list.body.data.map((k: { id: string }) => k.id)).not.toContain(created.body.id)
  })

  it('accepts the operator-configured platform key once and keeps it working', async () => {
    expect(await app.tributary.services.apiKeys.bootstrapPlatformKey(app.platformKey)).toEqual({ created: false })
    const list = await app.request('GET', `${API}/organizations`, { key: app.platformKey })
    expect(list.status).toBe(200)
  })
})
