import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { API, createOrganization, createUserSession, startTestApp, type TestApp } from '../../../test/harness.js'

describe('users, invitations and sessions', () => {
  let app: TestApp
  let orgKey: string
  let organizationId: string
  beforeAll(async () => {
    app = await startTestApp('pglite')
    const created = await createOrganization(app, 'People')
    orgKey = created.orgKey
    organizationId = created.organization.id
  })
  afterAll(() => app.close())

  const invite = (email: string, role = 'editor') =>
    app.request('POST', `${API}/users/invite`, { key: orgKey, body: { email, role, name: 'Invitee' } })

  it('invites, accepts once, and signs in with the new password', async () => {
    const invitation = await invite('New.Person@Example.com')
    expect(invitation.status).toBe(201)
    expect(invitation.body.user).toMatchObject({
      email: 'new.person@example.com',
      role: 'editor',
      status: 'invited',
      organization_id: organizationId,
    })
    expect(invitation.body.invitation_token).toMatch(/^trbinv_/)

    const noPasswordYet = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'new.person@example.com', password: 'anything at all' },
    })
    expect(noPasswordYet.status).toBe(401)

    const accepted = await app.request('POST', `${API}/auth/accept-invite`, {
      body: { token: invitation.body.invitation_token, password: 'a long new password' },
    })
    expect(accepted.status).toBe(200)
    expect(accepted.body.user.status).toBe('active')
    const me = await app.request('GET', `${API}/users/me`, { key: accepted.body.token })
    expect(me.status).toBe(200)
    expect(me.body.id).toBe(invitation.body.user.id)

    const again = await app.request('POST', `${API}/auth/accept-invite`, {
      body: { token: invitation.body.invitation_token, password: 'another password!' },
    })
    expect(again.status).toBe(401)
    expect(again.body.error.code).toBe('authentication_error')

    const login = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'NEW.PERSON@example.com', password: 'a long new password' },
    })
    expect(login.status).toBe(200)
    expect(Date.parse(login.body.expires_at)).toBeGreaterThan(Date.now() + 3_000_000)
  })

  it('creates a user without a password, who signs in only after setting one with the one-time setup token', async () => {
    // DataCovey's call: no password.
    const created = await app.request('POST', `${API}/users`, {
      key: orgKey,
      body: { email: 'Later@Example.com', name: 'Later', role: 'editor' },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({
      email: 'later@example.com',
      name: 'Later',
      role: 'editor',
      status: 'invited',
      organization_id: organizationId,
    })
    expect(created.body.setup_token).toMatch(/^trbinv_/)
    expect(Date.parse(created.body.setup_token_expires_at)).toBeGreaterThan(Date.now())
    const shown = await app.request('GET', `${API}/users/${created.body.id}`, { key: orgKey })
    expect(shown.body).not.toHaveProperty('setup_token')

    // No password is no sign-in, and it reads as a wrong password does.
    const refused = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'later@example.com', password: 'any password at all' },
    })
    const wrong = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'nobody-at-all@example.com', password: 'any password at all' },
    })
    expect(refused.status).toBe(401)
    expect(refused.body.error).toEqual({ ...wrong.body.error, request_id: refused.body.error.request_id })

    const set = await app.request('POST', `${API}/auth/accept-invite`, {
      body: { token: created.body.setup_token, password: 'my own password' },
    })
    expect(set.status, JSON.stringify(set.body)).toBe(200)
    expect(set.body.user).toMatchObject({ id: created.body.id, status: 'active' })
    const login = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'later@example.com', password: 'my own password' },
    })
    expect(login.status).toBe(200)
    expect((await app.request('GET', `${API}/users/me`, { key: login.body.token })).body.id).toBe(created.body.id)

    const reused = await app.request('POST', `${API}/auth/accept-invite`, {
      body: { token: created.body.setup_token, password: 'taking it over' },
    })
    expect(reused.status).toBe(401)
    expect(reused.body.error.code).toBe('authentication_error')
    const stillMine = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'later@example.com', password: 'my own password' },
    })
    expect(stillMine.status).toBe(200)
  })

  it('creates a user with a password as before: active at once, with no setup token', async () => {
    const created = await app.request('POST', `${API}/users`, {
      key: orgKey,
      body: { email: 'chosen@example.com', password: 'chosen by the admin', role: 'viewer' },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({ email: 'chosen@example.com', role: 'viewer', status: 'active' })
    expect(Object.keys(created.body).sort()).toEqual(
      ['id', 'organization_id', 'email', 'name', 'role', 'status', 'attributes', 'created_at', 'updated_at'].sort(),
    )
    const login = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'chosen@example.com', password: 'chosen by the admin' },
    })
    expect(login.status).toBe(200)
    const short = await app.request('POST', `${API}/users`, {
      key: orgKey,
      body: { email: 'short@example.com', password: 'short' },
    })
    expect(short.status).toBe(422)
    expect(short.body.error.details.issues[0].field).toBe('password')
  })

  it('answers a wrong password and an unknown e-mail alike', async () => {
    const { user } = await createUserSession(app, orgKey, 'viewer', 'known@example.com')
    const wrong = await app.request('POST', `${API}/auth/login`, {
      body: { email: user.email, password: 'not the password' },
    })
    const unknown = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'nobody@example.com', password: 'not the password' },
    })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(wrong.body.error.message).toBe(unknown.body.error.message)
  })

  it('refuses a made-up invitation token', async () => {
    const response = await app.request('POST', `${API}/auth/accept-invite`, {
      body: { token: 'trbinv_madeup', password: 'a long new password' },
    })
    expect(response.status).toBe(401)
  })

  it('lets a user change their own password, after which only the new one works and old sessions end', async () => {
    const { user, token, password } = await createUserSession(app, orgKey, 'viewer')
    const otherSession = await app.request('POST', `${API}/auth/login`, { body: { email: user.email, password } })
    expect((await app.request('GET', `${API}/users/me`, { key: otherSession.body.token })).status).toBe(200)
    const changed = await app.request('PATCH', `${API}/users/${user.id}`, {
      key: token,
      body: { password: 'brand new secret 1', name: 'Renamed' },
    })
    expect(changed.status).toBe(200)
    expect(changed.body.name).toBe('Renamed')
    const old = await app.request('POST', `${API}/auth/login`, { body: { email: user.email, password } })
    expect(old.status).toBe(401)
    const fresh = await app.request('POST', `${API}/auth/login`, {
      body: { email: user.email, password: 'brand new secret 1' },
    })
    expect(fresh.status).toBe(200)
    expect((await app.request('GET', `${API}/users/me`, { key: fresh.body.token })).status).toBe(200)
    for (const old of [token, otherSession.body.token]) {
      const response = await app.request('GET', `${API}/users/me`, { key: old })
      expect(response.status).toBe(401)
    }
  })

  it('ends the sessions of a deleted user at once and frees the e-mail', async () => {
    const { user, token } = await createUserSession(app, orgKey, 'editor', 'leaver@example.com')
    expect((await app.request('GET', `${API}/users/me`, { key: token })).status).toBe(200)
    expect((await app.request('DELETE', `${API}/users/${user.id}`, { key: orgKey })).status).toBe(204)
    const after = await app.request('GET', `${API}/users/me`, { key: token })
    expect(after.status).toBe(401)
    expect((await app.request('GET', `${API}/users/${user.id}`, { key: orgKey })).status).toBe(404)
    const reinvited = await invite('leaver@example.com')
    expect(reinvited.status).toBe(201)
  })

  it('frees the e-mails of a deleted organization for use elsewhere', async () => {
    const gone = await createOrganization(app, 'Going away')
    const { user } = await createUserSession(app, gone.orgKey, 'admin', 'mover@example.com')
    expect(
      (await app.request('DELETE', `${API}/organizations/${gone.organization.id}`, { key: app.platformKey })).status,
    ).toBe(204)
    const login = await app.request('POST', `${API}/auth/login`, {
      body: { email: user.email, password: 'correct horse battery staple' },
    })
    expect(login.status).toBe(401)
    expect((await invite('mover@example.com')).status).toBe(201)
  })

  it('refuses a second account with the same e-mail', async () => {
    await invite('twice@example.com')
    const second = await invite('TWICE@example.com')
    expect(second.status).toBe(409)
    expect(second.body.error.code).toBe('conflict')
  })

  it('never returns password hashes or invitation token hashes', async () => {
    const list = await app.request('GET', `${API}/users?limit=200`, { key: orgKey })
    const text = JSON.stringify(list.body)
    expect(list.body.data.length).toBeGreaterThan(3)
    expect(text).not.toMatch(/argon2|password|invite_token/)
  })

  it('records who did what, under which request, in the audit log', async () => {
    const invitation = await invite('audited@example.com', 'viewer')
    const requestId = invitation.headers.get('x-request-id')
    const log = await app.request('GET', `${API}/audit-log?action=user.invite&limit=200`, { key: orgKey })
    const entry = log.body.data.find((row: { resource_id: string }) => row.resource_id === invitation.body.user.id)
    expect(entry).toMatchObject({
      organization_id: organizationId,
      actor_type: 'api_key',
      action: 'user.invite',
      resource_type: 'user',
      request_id: requestId,
      details: { email: 'audited@example.com', role: 'viewer' },
    })
  })
})
