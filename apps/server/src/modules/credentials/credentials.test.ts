import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'

import { normalizeAllowedHost } from '@tributary/contract'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { RequestContext } from '../../auth/principal.js'
import { deriveKey, SecretBox } from '../../lib/secret-box.js'
import {
  API,
  type ApiResponse,
  createOrganization,
  createProject,
  createProjectKey,
  createUserSession,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'
import { isAllowedHost } from './allowed-hosts.js'

const BEARER = 'bearer-secret-Jk3mQ9vX2p'
const ROTATED = 'rotated-secret-Wn5tB8cL1r'
const BASIC_PASSWORD = 'pässwörd-Ty6hG4'
const HEADER_KEY = 'header-key-Rz2sD7fA0q'
const SECRETS = [BEARER, ROTATED, BASIC_PASSWORD, HEADER_KEY]

describe('allowed hosts', () => {
  const normalized = (input: string) => normalizeAllowedHost(input)
  const allowed = (patterns: string[], url: string) => isAllowedHost(patterns, new URL(url))

  it('normalizes hosts as URLs write them', () => {
    expect(normalized(' API.Example.COM ')).toEqual({ host: 'api.example.com' })
    expect(normalized('Bücher.example:8443')).toEqual({ host: 'xn--bcher-kva.example:8443' })
    expect(normalized('*.Example.com')).toEqual({ host: '*.example.com' })
    expect(normalized('[0:0::1]:8080')).toEqual({ host: '[::1]:8080' })
    expect(normalized('127.0.0.1:3000')).toEqual({ host: '127.0.0.1:3000' })
  })

  it('refuses what is not a host, naming why', () => {
    for (const [input, problem] of [
      ['', 'must not be empty'],
      ['https://example.com', 'without scheme, path or user'],
      ['example.com/hook', 'without scheme, path or user'],
      ['user@example.com', 'without scheme, path or user'],
      ['exa mple.com', 'is not a valid host name'],
      ['-bad.example.com', 'is not a valid host name'],
      ['example.com:0', 'outside 1–65535'],
      ['example.com:65536', 'outside 1–65535'],
      ['example.com:080', 'outside 1–65535'],
      ['*.com', 'a wildcard must name a domain of at least two labels'],
      ['*.10.0.0.1', 'a wildcard must name a domain'],
      ['a.*.example.com', 'is not a valid host name'],
      ['*', 'is not a valid host name'],
      ['[zz::1]', 'is not a valid host name'],
    ] as const) {
      expect(normalized(input), input).toEqual({ problem: expect.stringContaining(problem) })
    }
  })

  it('matches a host on any port, host:port on that port only, *.domain on subdomains only', () => {
    expect(allowed(['hooks.example.com'], 'https://hooks.example.com/in')).toBe(true)
    expect(allowed(['hooks.example.com'], 'http://hooks.example.com:8080/in')).toBe(true)
    expect(allowed(['hooks.example.com'], 'https://example.com/in')).toBe(false)
    expect(allowed(['hooks.example.com'], 'https://hooks.example.com.evil.test/in')).toBe(false)
    expect(allowed(['hooks.example.com'], 'https://evilhooks.example.com/in')).toBe(false)
    expect(allowed(['hooks.example.com:8443'], 'https://hooks.example.com:8443/in')).toBe(true)
    expect(allowed(['hooks.example.com:8443'], 'https://hooks.example.com/in')).toBe(false)
    expect(allowed(['hooks.example.com:443'], 'https://hooks.example.com/in')).toBe(true)
    expect(allowed(['hooks.example.com:443'], 'http://hooks.example.com/in')).toBe(false)
    expect(allowed(['hooks.example.com:80'], 'http://hooks.example.com/in')).toBe(true)
    expect(allowed(['*.example.com'], 'https://a.example.com/')).toBe(true)
    expect(allowed(['*.example.com'], 'https://a.b.example.com/')).toBe(true)
    expect(allowed(['*.example.com'], 'https://example.com/')).toBe(false)
    expect(allowed(['*.example.com'], 'https://badexample.com/')).toBe(false)
    expect(allowed(['*.example.com:8443'], 'https://a.example.com:8443/')).toBe(true)
    expect(allowed(['*.example.com:8443'], 'https://a.example.com/')).toBe(false)
    expect(allowed(['[::1]:8080'], 'http://[::1]:8080/')).toBe(true)
    expect(allowed(['[::1]'], 'http://[0::1]:9/')).toBe(true)
    expect(allowed(['xn--bcher-kva.example'], 'https://Bücher.example/')).toBe(true)
    expect(allowed(['a.example.com', 'b.example.com'], 'https://b.example.com/')).toBe(true)
    // The user part of a URL does not make it another host.
    expect(allowed(['hooks.example.com'], 'https://hooks.example.com@evil.test/')).toBe(false)
  })
})

describeEachStore('credentials', (kind) => {
  let app: TestApp
  let orgKey: string
  let project: { id: string }
  let otherProject: { id: string }
  let peer: { server: Server; url: string; port: number; requests: IncomingHttpHeaders[] }
  const responses: unknown[] = []

  beforeAll(async () => {
    const requests: IncomingHttpHeaders[] = []
    const server = createServer((req, res) => {
      requests.push(req.headers)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    peer = { server, port, url: `http://127.0.0.1:${port}/hook`, requests }
    app = await startTestApp(kind, { env: { TRIBUTARY_OUTBOUND_ALLOW: 'loopback' } })
    ;({ orgKey } = await createOrganization(app, 'Credentials Org'))
    project = await createProject(app, orgKey, 'Credentials project')
    otherProject = await createProject(app, orgKey, 'Other project')
  })
  afterAll(async () => {
    await app?.close()
    peer?.server.close()
  })

  const path = (rest = '', projectId = project.id) => `${API}/projects/${projectId}/credentials${rest}`
  async function call(method: string, url: string, body?: unknown, key = orgKey): Promise<ApiResponse> {
    const response = await app.request(method, url, { key, body })
    responses.push(response.body)
    return response
  }
  async function contextOf(key: string): Promise<RequestContext> {
    return { principal: await app.tributary.platform.authenticator.authenticate(`Bearer ${key}`), requestId: 'test' }
  }
  const service = () => app.tributary.services.credentials

  let bearer: any

  it('stores a bearer credential, sealed, and answers without any of the secret', async () => {
    const created = await call('POST', path(), {
      name: 'Hook token',
      type: 'bearer',
      secret: BEARER,
      allowed_hosts: ['Hooks.Example.com', '127.0.0.1', 'hooks.example.com'],
      description: 'For the revenue hook',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    bearer = created.body
    expect(bearer).toEqual({
      id: expect.any(String),
      organization_id: expect.any(String),
      project_id: project.id,
      name: 'Hook token',
      description: 'For the revenue hook',
      type: 'bearer',
      header_name: null,
      username: null,
      allowed_hosts: ['hooks.example.com', '127.0.0.1'],
      secret_updated_at: expect.any(String),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    })
    const stored = await app.tributary.store.db
      .selectFrom('credentials')
      .select('secret')
      .where('id', '=', bearer.id)
      .executeTakeFirstOrThrow()
    expect(stored.secret).toMatch(/^v1\./)
    expect(stored.secret).not.toContain(BEARER)
  })

  it('lists and reads credentials of the project, and no other', async () => {
    const listed = await call('GET', path())
    expect(listed.status).toBe(200)
    expect(listed.body).toEqual({ data: [bearer], next_cursor: null })
    const read = await call('GET', path(`/${bearer.id}`))
    expect(read.status).toBe(200)
    expect(read.body).toEqual(bearer)
    const elsewhere = await call('GET', path(`/${bearer.id}`, otherProject.id))
    expect(elsewhere.status).toBe(404)
    expect(elsewhere.body.error.code).toBe('not_found')
    expect((await call('GET', path('', otherProject.id))).body.data).toEqual([])
  })

  it('pages through a long list', async () => {
    const pageProject = await createProject(app, orgKey, 'Paged project')
    for (let index = 0; index < 5; index++) {
      const created = await call('POST', path('', pageProject.id), {
        name: `c${index}`,
        type: 'bearer',
        secret: BEARER,
        allowed_hosts: ['example.com'],
      })
      expect(created.status).toBe(201)
    }
    const first = await call('GET', `${path('', pageProject.id)}?limit=3`)
    expect(first.body.data.map((item: any) => item.name)).toEqual(['c0', 'c1', 'c2'])
    const second = await call('GET', `${path('', pageProject.id)}?limit=3&cursor=${first.body.next_cursor}`)
    expect(second.body).toMatchObject({ data: [{ name: 'c3' }, { name: 'c4' }], next_cursor: null })
  })

  it('keeps names unique per project, whatever their case (409)', async () => {
    const duplicate = await call('POST', path(), {
      name: 'HOOK TOKEN',
      type: 'bearer',
      secret: 'x',
      allowed_hosts: ['example.com'],
    })
    expect(duplicate.status).toBe(409)
    expect(duplicate.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('HOOK TOKEN') })
    const inOtherProject = await call('POST', path('', otherProject.id), {
      name: 'Hook token',
      type: 'bearer',
      secret: 'x',
      allowed_hosts: ['example.com'],
    })
    expect(inOtherProject.status).toBe(201)
    const second = await call('POST', path(), { name: 'Second', type: 'bearer', secret: 'x', allowed_hosts: ['a.b'] })
    expect(second.status).toBe(201)
    const renamed = await call('PATCH', path(`/${second.body.id}`), { name: 'hook token' })
    expect(renamed.status).toBe(409)
    expect((await call('DELETE', path(`/${second.body.id}`))).status).toBe(204)
  })

  it('gives the headers for an allowed host, and the request carries them to a real peer', async () => {
    const ctx = await contextOf(orgKey)
    const credentials = await service().headersFor(ctx, project.id, bearer.id, peer.url, 'actions.0.credential_id')
    expect(credentials).toEqual({
      origin: `http://127.0.0.1:${peer.port}`,
      headers: { authorization: `Bearer ${BEARER}` },
    })
    const response = await app.tributary.platform.outbound.fetch({ credentials })(peer.url, { method: 'POST' })
    expect(response.status).toBe(200)
    expect(peer.requests.at(-1)?.authorization).toBe(`Bearer ${BEARER}`)
    await expect(
      service().checkUsable(ctx, project.id, bearer.id, 'https://hooks.example.com:9443/x', 'actions.0.credential_id'),
    ).resolves.toBeUndefined()
  })

  it('refuses a host that is not allowed, a credential of another project and an unknown id, naming the field', async () => {
    const ctx = await contextOf(orgKey)
    const field = 'actions.3.credential_id'
    const refusals = await Promise.all(
      [
        () => service().headersFor(ctx, project.id, bearer.id, 'https://evil.example.com/hook', field),
        () => service().checkUsable(ctx, project.id, bearer.id, 'https://example.com/hook', field),
        () => service().headersFor(ctx, project.id, bearer.id, 'ftp://hooks.example.com/x', field),
        () => service().headersFor(ctx, project.id, bearer.id, 'not a url', field),
        () => service().headersFor(ctx, otherProject.id, bearer.id, 'https://hooks.example.com/', field),
        () => service().checkUsable(ctx, project.id, '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e', 'https://x.test/', field),
        () => service().checkUsable(ctx, project.id, 'nope', 'https://hooks.example.com/', field),
      ].map((attempt) =>
        attempt().then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    )
    for (const error of refusals) {
      expect(error).toMatchObject({
        code: 'validation_error',
        status: 422,
        details: { issues: [{ location: 'body', field }] },
      })
    }
    const messages = refusals.map((error) => (error as Error).message)
    expect(messages[0]).toBe(
      `${field}: credential 'Hook token' may be sent only to hooks.example.com, 127.0.0.1; ` +
        'evil.example.com is not one of its allowed hosts',
    )
    expect(messages[2]).toContain('only to http(s) URLs')
    expect(messages[4]).toContain(`credential ${bearer.id} does not exist in this project`)
    expect(messages.join(' ')).not.toContain(BEARER)
  })

  it('rotates the secret and changes the hosts: the next headers carry the new secret', async () => {
    const before = bearer
    const rotated = await call('PATCH', path(`/${bearer.id}`), {
      secret: ROTATED,
      allowed_hosts: ['*.example.com', `127.0.0.1:${peer.port}`],
    })
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200)
    expect(rotated.body).toMatchObject({ allowed_hosts: ['*.example.com', `127.0.0.1:${peer.port}`] })
    expect(Date.parse(rotated.body.secret_updated_at)).toBeGreaterThan(Date.parse(before.secret_updated_at))
    const ctx = await contextOf(orgKey)
    const headers = await service().headersFor(ctx, project.id, bearer.id, 'https://api.eu.example.com/x', 'f')
    expect(headers.headers).toEqual({ authorization: `Bearer ${ROTATED}` })
    // The old allowed host is gone, and a host:port allows that port only.
    await expect(service().checkUsable(ctx, project.id, bearer.id, 'https://hooks.example.com/', 'f')).resolves.toBe(
      undefined,
    )
    await expect(service().checkUsable(ctx, project.id, bearer.id, 'https://example.com/', 'f')).rejects.toThrow(
      'not one of its allowed hosts',
    )
    await expect(service().checkUsable(ctx, project.id, bearer.id, 'http://127.0.0.1:1/', 'f')).rejects.toThrow(
      '127.0.0.1:1 is not one of its allowed hosts',
    )
    const renamed = await call('PATCH', path(`/${bearer.id}`), { name: 'Hook token v2', description: null })
    expect(renamed.body).toMatchObject({ name: 'Hook token v2', description: null })
    expect(renamed.body.secret_updated_at).toBe(rotated.body.secret_updated_at)
    bearer = renamed.body
  })

  it('sends basic and header credentials as their types say, and changes type with a new secret', async () => {
    const ctx = await contextOf(orgKey)
    const basic = await call('POST', path(), {
      name: 'Basic',
      type: 'basic',
      username: 'robot',
      secret: BASIC_PASSWORD,
      allowed_hosts: ['basic.example.com'],
    })
    expect(basic.status, JSON.stringify(basic.body)).toBe(201)
    expect(basic.body).toMatchObject({ type: 'basic', username: 'robot', header_name: null })
    const basicHeaders = await service().headersFor(ctx, project.id, basic.body.id, 'https://basic.example.com/', 'f')
    expect(basicHeaders.headers).toEqual({
      authorization: `Basic ${Buffer.from(`robot:${BASIC_PASSWORD}`, 'utf8').toString('base64')}`,
    })

    const header = await call('POST', path(), {
      name: 'Header',
      type: 'header',
      header_name: 'X-Api-Key',
      secret: HEADER_KEY,
      allowed_hosts: ['header.example.com'],
    })
    expect(header.status, JSON.stringify(header.body)).toBe(201)
    expect(header.body).toMatchObject({ type: 'header', header_name: 'X-Api-Key', username: null })
    const headerHeaders = await service().headersFor(ctx, project.id, header.body.id, 'https://header.example.com', 'f')
    expect(headerHeaders).toEqual({ origin: 'https://header.example.com', headers: { 'x-api-key': HEADER_KEY } })

    const renamedHeader = await call('PATCH', path(`/${header.body.id}`), { header_name: 'X-Token' })
    expect(renamedHeader.body).toMatchObject({ header_name: 'X-Token' })
    const wrongField = await call('PATCH', path(`/${header.body.id}`), { username: 'robot' })
    expect(wrongField.status).toBe(422)
    expect(wrongField.body.error.details.issues[0].field).toBe('username')
    const nonAscii = await call('PATCH', path(`/${header.body.id}`), { secret: 'clé' })
    expect(nonAscii.status).toBe(422)
    expect(nonAscii.body.error.details.issues[0].field).toBe('secret')
    // A header the transport or the platform sets (the webhook signature) cannot carry a secret.
    for (const [headerName, problem] of [
      ['X-Tributary-Signature', 'the platform sets itself'],
      ['Host', 'the transport sets itself'],
      ['content-length', 'the transport sets itself'],
      ['X-Key\r\nBcc', 'must be an HTTP header name'],
    ] as const) {
      const refused = await call('PATCH', path(`/${header.body.id}`), { header_name: headerName })
      expect(refused.status, headerName).toBe(422)
      expect(refused.body.error.details.issues[0]).toMatchObject({
        field: 'header_name',
        message: expect.stringContaining(problem),
      })
    }
    expect((await call('GET', path(`/${header.body.id}`))).body).toMatchObject({ header_name: 'X-Token' })

    const retyped = await call('PATCH', path(`/${header.body.id}`), {
      type: 'basic',
      username: 'robot2',
      secret: BASIC_PASSWORD,
    })
    expect(retyped.status, JSON.stringify(retyped.body)).toBe(200)
    expect(retyped.body).toMatchObject({ type: 'basic', username: 'robot2', header_name: null })
    const retypedHeaders = await service().headersFor(
      ctx,
      project.id,
      header.body.id,
      'https://header.example.com',
      'f',
    )
    expect(retypedHeaders.headers.authorization).toMatch(/^Basic /)
  })

  it('answers a secret sealed under another key with a 422 that says to set it again', async () => {
    const created = await call('POST', path(), {
      name: 'Sealed',
      type: 'bearer',
      secret: BEARER,
      allowed_hosts: ['x.y'],
    })
    const foreign = new SecretBox(deriveKey(Buffer.from('another instance secret'), 'outbound-secrets'))
    await app.tributary.store.db
      .updateTable('credentials')
      .set({ secret: foreign.seal(BEARER) })
      .where('id', '=', created.body.id)
      .execute()
    const ctx = await contextOf(orgKey)
    await expect(service().headersFor(ctx, project.id, created.body.id, 'https://x.y/', 'f')).rejects.toThrow(
      "f: credential 'Sealed' cannot be decrypted with this server's secret key; set its secret again (PATCH secret)",
    )
    expect((await call('PATCH', path(`/${created.body.id}`), { secret: ROTATED })).status).toBe(200)
    const headers = await service().headersFor(ctx, project.id, created.body.id, 'https://x.y/', 'f')
    expect(headers.headers).toEqual({ authorization: `Bearer ${ROTATED}` })
    expect((await call('DELETE', path(`/${created.body.id}`))).status).toBe(204)
  })

  it('deletes a credential for good', async () => {
    const created = await call('POST', path(), {
      name: 'Doomed',
      type: 'bearer',
      secret: BEARER,
      allowed_hosts: ['x.y'],
    })
    const deleted = await call('DELETE', path(`/${created.body.id}`))
    expect(deleted.status).toBe(204)
    expect((await call('GET', path(`/${created.body.id}`))).status).toBe(404)
    expect((await call('DELETE', path(`/${created.body.id}`))).status).toBe(404)
    const row = await app.tributary.store.db
      .selectFrom('credentials')
      .select('id')
      .where('id', '=', created.body.id)
      .executeTakeFirst()
    expect(row).toBeUndefined()
    const ctx = await contextOf(orgKey)
    await expect(service().headersFor(ctx, project.id, created.body.id, 'https://x.y/', 'f')).rejects.toThrow(
      'does not exist in this project',
    )
  })

  it('reads with the workflows scope and writes as a content writer; other organizations see nothing', async () => {
    const viewer = await createUserSession(app, orgKey, 'viewer')
    const editor = await createUserSession(app, orgKey, 'editor')
    const queryKey = await createProjectKey(app, orgKey, project.id, ['query'])
    const workflowsKey = await createProjectKey(app, orgKey, project.id, ['workflows'])
    const body = (name: string) => ({ name, type: 'bearer', secret: BEARER, allowed_hosts: ['example.com'] })

    expect((await call('GET', path(`/${bearer.id}`), undefined, viewer.token)).status).toBe(200)
    expect((await call('POST', path(), body('by viewer'), viewer.token)).status).toBe(403)
    expect((await call('PATCH', path(`/${bearer.id}`), { secret: 'x' }, viewer.token)).status).toBe(403)
    expect((await call('DELETE', path(`/${bearer.id}`), undefined, viewer.token)).status).toBe(403)
    expect((await call('POST', path(), body('by editor'), editor.token)).status).toBe(201)

    expect((await call('GET', path(), undefined, queryKey.key)).status).toBe(403)
    expect((await call('POST', path(), body('by query key'), queryKey.key)).status).toBe(403)
    await expect(
      service().checkUsable(await contextOf(queryKey.key), project.id, bearer.id, 'https://a.example.com/', 'f'),
    ).rejects.toMatchObject({ code: 'authorization_error' })
    expect((await call('GET', path(), undefined, workflowsKey.key)).status).toBe(200)
    expect((await call('POST', path(), body('by workflows key'), workflowsKey.key)).status).toBe(201)
    // A project key is confined to its project.
    expect((await call('GET', path('', otherProject.id), undefined, workflowsKey.key)).status).toBe(404)

    const { orgKey: outsider } = await createOrganization(app, 'Outsider Org')
    for (const [method, url, payload] of [
      ['GET', path()],
      ['GET', path(`/${bearer.id}`)],
      ['PATCH', path(`/${bearer.id}`), { secret: 'stolen' }],
      ['DELETE', path(`/${bearer.id}`)],
      ['POST', path(), body('planted')],
    ] as const) {
      const response = await call(method, url, payload, outsider)
      expect(response.status, `${method} ${url}`).toBe(404)
    }
    await expect(
      service().headersFor(await contextOf(outsider), project.id, bearer.id, 'https://a.example.com/', 'f'),
    ).rejects.toMatchObject({ code: 'not_found' })
  })

  it('audits every write, and neither a response nor the audit log holds any secret', async () => {
    const audit = await call('GET', `${API}/audit-log?resource_type=credential&limit=200`)
    expect(audit.status).toBe(200)
    const actions = (audit.body.data as { action: string }[]).map((entry) => entry.action)
    for (const action of ['credential.create', 'credential.update', 'credential.rotate', 'credential.delete']) {
      expect(actions).toContain(action)
    }
    expect(audit.body.data).toContainEqual(
      expect.objectContaining({
        action: 'credential.rotate',
        resource_id: bearer.id,
        details: {
          project_id: project.id,
          fields: ['secret', 'allowed_hosts'],
          allowed_hosts: ['*.example.com', `127.0.0.1:${peer.port}`],
        },
      }),
    )
    const rows = await app.tributary.store.db.selectFrom('audit_log').selectAll().execute()
    const everything = JSON.stringify([responses, rows])
    for (const secret of SECRETS) {
      expect(everything).not.toContain(secret)
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'))
    }
    expect(everything).not.toContain(Buffer.from(`robot:${BASIC_PASSWORD}`).toString('base64'))
  })
})
