import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { generateToken } from '../src/lib/secrets.js'
import { API, createOrganization, startTestApp, type ApiResponse, type TestApp } from './harness.js'

/** Rate limit, body limit and internal errors, through the real app. */

function expectError(response: ApiResponse, status: number, code: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(status)
  expect(response.body).toMatchObject({ error: { code, message: expect.any(String) } })
  expect(response.body.error.request_id).toEqual(expect.any(String))
  expect(response.body.error.request_id.length).toBeGreaterThan(0)
  expect(response.body.error.request_id).toBe(response.headers.get('x-request-id'))
}

function expectRateHeaders(response: ApiResponse, limit: number, remaining: number) {
  expect(response.headers.get('x-ratelimit-limit')).toBe(String(limit))
  expect(response.headers.get('x-ratelimit-remaining')).toBe(String(remaining))
  const reset = Number(response.headers.get('x-ratelimit-reset'))
  expect(Number.isInteger(reset)).toBe(true)
  const now = Date.now() / 1000
  expect(reset).toBeGreaterThan(now)
  expect(reset).toBeLessThanOrEqual(Math.ceil(now) + 60)
}

async function projectNames(app: TestApp, key: string): Promise<string[]> {
  const list = await app.request('GET', `${API}/projects?limit=200`, { key })
  expect(list.status, JSON.stringify(list.body)).toBe(200)
  return (list.body.data as { name: string }[]).map((project) => project.name)
}

describe('rate limit: 5 requests a minute', () => {
  let app: TestApp
  let orgKey: string
  let otherKey: string

  beforeAll(async () => {
    app = await startTestApp('pglite', { env: { TRIBUTARY_RATE_LIMIT_PER_MINUTE: '5' } })
    // Three of the platform key's five requests.
    const org = await createOrganization(app, 'Limited')
    orgKey = org.orgKey
    const other = await app.request('POST', `${API}/organizations/${org.organization.id}/api-keys`, {
      key: app.platformKey,
      body: { name: 'second key' },
    })
    expect(other.status).toBe(201)
    otherKey = other.body.key
  })
  afterAll(() => app?.close())

  it('lets 5 requests of one key through, counting down, then answers 429 with Retry-After', async () => {
    for (let remaining = 4; remaining >= 0; remaining--) {
      const response = await app.request('GET', `${API}/workspaces`, { key: orgKey })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      expectRateHeaders(response, 5, remaining)
    }

    const refused = await app.request('POST', `${API}/projects`, { key: orgKey, body: { name: 'over the limit' } })
    expectError(refused, 429, 'rate_limit_exceeded')
    expectRateHeaders(refused, 5, 0)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(Number.isInteger(retryAfter)).toBe(true)
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(refused.body.error.details).toEqual({ retry_after_seconds: retryAfter })

    // Still refused: refused requests do not open a new window.
    expectError(await app.request('GET', `${API}/workspaces`, { key: orgKey }), 429, 'rate_limit_exceeded')
  })

  it('gives another key its own budget, and the refused request created nothing', async () => {
    const first = await app.request('GET', `${API}/projects?limit=200`, { key: otherKey })
    expect(first.status).toBe(200)
    expectRateHeaders(first, 5, 4)
    expect((first.body.data as { name: string }[]).map((p) => p.name)).not.toContain('over the limit')
    for (let remaining = 3; remaining >= 0; remaining--) {
      const response = await app.request('GET', `${API}/workspaces`, { key: otherKey })
      expect(response.status).toBe(200)
      expectRateHeaders(response, 5, remaining)
    }
    expectError(await app.request('GET', `${API}/workspaces`, { key: otherKey }), 429, 'rate_limit_exceeded')
  })

  it('limits /auth/login by client address (one shared bucket without a socket)', async () => {
    const login = { email: 'nobody@example.com', password: 'not the password' }
    for (let remaining = 4; remaining >= 0; remaining--) {
      const response = await app.request('POST', `${API}/auth/login`, { body: login })
      expectError(response, 401, 'authentication_error')
      expectRateHeaders(response, 5, remaining)
    }
    const refused = await app.request('POST', `${API}/auth/login`, { body: login })
    expectError(refused, 429, 'rate_limit_exceeded')
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)

    // Every /auth route shares the address's bucket.
    const accept = await app.request('POST', `${API}/auth/accept-invite`, {
      body: { token: 'trbinv_unknown', password: 'long enough password' },
    })
    expectError(accept, 429, 'rate_limit_exceeded')
  })

  it('keeps key budgets apart from the address bucket', async () => {
    // The platform key used three of its five requests in beforeAll.
    const response = await app.request('GET', `${API}/organizations`, { key: app.platformKey })
    expect(response.status).toBe(200)
    expectRateHeaders(response, 5, 1)
  })
})

describe('failed authentication: 5 a minute per address', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp('pglite', { env: { TRIBUTARY_RATE_LIMIT_PER_MINUTE: '5' } })
  })
  afterAll(() => app.close())

  it('throttles guessed keys by client address, while a valid key keeps its own budget', async () => {
    for (let remaining = 4; remaining >= 0; remaining--) {
      const guess = await app.request('GET', `${API}/projects`, { key: `trb_guess${remaining}` })
      expectError(guess, 401, 'authentication_error')
      expectRateHeaders(guess, 5, remaining)
    }
    const throttled = await app.request('GET', `${API}/projects`, { key: 'trb_guess-again' })
    expectError(throttled, 429, 'rate_limit_exceeded')
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)

    const valid = await app.request('GET', `${API}/organizations`, { key: app.platformKey })
    expect(valid.status).toBe(200)
  })
})

describe('body limit: 1024 bytes', () => {
  let app: TestApp
  let orgKey: string

  beforeAll(async () => {
    app = await startTestApp('pglite', { env: { TRIBUTARY_BODY_LIMIT_BYTES: '1024' } })
    ;({ orgKey } = await createOrganization(app, 'Small bodies'))
  })
  afterAll(() => app?.close())

  /** A project body of exactly `bytes` bytes. */
  function bodyOf(name: string, bytes: number): string {
    const empty = JSON.stringify({ name, description: '' })
    const body = JSON.stringify({ name, description: 'd'.repeat(bytes - empty.length) })
    expect(Buffer.byteLength(body)).toBe(bytes)
    return body
  }

  const json = { 'content-type': 'application/json' }

  it('refuses a 2 KB body with 413 and creates nothing', async () => {
    const response = await app.request('POST', `${API}/projects`, {
      key: orgKey,
      rawBody: bodyOf('two kilobytes', 2048),
      headers: json,
    })
    expectError(response, 413, 'payload_too_large')
    expect(response.body.error.message).toContain('1024')
    expect(response.body.error.details).toEqual({ limit_bytes: 1024 })
    expect(await projectNames(app, orgKey)).not.toContain('two kilobytes')
  })

  it('takes a body of exactly the limit and refuses one byte more', async () => {
    const over = await app.request('POST', `${API}/projects`, {
      key: orgKey,
      rawBody: bodyOf('one byte over', 1025),
      headers: json,
    })
    expectError(over, 413, 'payload_too_large')

    const exact = await app.request('POST', `${API}/projects`, {
      key: orgKey,
      rawBody: bodyOf('exactly at the limit', 1024),
      headers: json,
    })
    expect(exact.status, JSON.stringify(exact.body)).toBe(201)

    const under = await app.request('POST', `${API}/projects`, {
      key: orgKey,
      rawBody: bodyOf('just under the limit', 1000),
      headers: json,
    })
    expect(under.status, JSON.stringify(under.body)).toBe(201)
    const names = await projectNames(app, orgKey)
    expect(names).toEqual(expect.arrayContaining(['exactly at the limit', 'just under the limit']))
    expect(names).not.toContain('one byte over')
  })

  it('counts multi-byte characters as bytes', async () => {
    // 400 three-byte characters: 1200 bytes, though only 400 characters.
    const response = await app.request('POST', `${API}/projects`, {
      key: orgKey,
      body: { name: 'wide', description: '€'.repeat(400) },
    })
    expectError(response, 413, 'payload_too_large')
  })

  it('refuses a streamed body without Content-Length', async () => {
    const payload = new TextEncoder().encode(bodyOf('streamed', 2048))
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < payload.length; i += 256) controller.enqueue(payload.slice(i, i + 256))
        controller.close()
      },
    })
    const response = await app.tributary.app.request(`${API}/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${orgKey}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    })
    const body = await response.json()
    expectError({ status: response.status, body, headers: response.headers }, 413, 'payload_too_large')
    expect(await projectNames(app, orgKey)).not.toContain('streamed')
  })

  it('limits the unauthenticated routes too', async () => {
    const response = await app.request('POST', `${API}/auth/login`, {
      body: { email: 'a@example.com', password: 'p'.repeat(2000) },
    })
    expectError(response, 413, 'payload_too_large')
  })
})

describe('body limit: the 10 MB default', () => {
  let app: TestApp
  let orgKey: string

  beforeAll(async () => {
    app = await startTestApp('pglite')
    ;({ orgKey } = await createOrganization(app, 'Default limit'))
  })
  afterAll(() => app?.close())

  it('refuses an 11 MB body with 413', async () => {
    const response = await app.request('POST', `${API}/projects`, {
      key: orgKey,
      body: { name: 'eleven megabytes', description: 'd'.repeat(11 * 1024 * 1024) },
    })
    expectError(response, 413, 'payload_too_large')
    expect(response.body.error.details).toEqual({ limit_bytes: 10 * 1024 * 1024 })
    expect(await projectNames(app, orgKey)).not.toContain('eleven megabytes')
  })

  it('lets a 9 MB body through to validation', async () => {
    const response = await app.request('POST', `${API}/projects`, {
      key: orgKey,
      body: { name: 'nine megabytes', description: 'd'.repeat(9 * 1024 * 1024) },
    })
    expectError(response, 422, 'validation_error')
    expect(response.body.error.message).toContain('description')
  })
})

describe('internal errors', () => {
  let app: TestApp
  let orgKey: string

  beforeAll(async () => {
    app = await startTestApp('pglite')
    ;({ orgKey } = await createOrganization(app, 'Doomed'))
    // Authenticate both keys once, so that the cache answers for them after the store is gone.
    expect((await app.request('GET', `${API}/workspaces`, { key: orgKey })).status).toBe(200)
    expect((await app.request('GET', `${API}/organizations`, { key: app.platformKey })).status).toBe(200)
    await app.tributary.store.close()
  })
  afterAll(async () => {
    await app?.close().catch(() => undefined)
  })

  function expectOpaque500(response: ApiResponse) {
    expectError(response, 500, 'internal_error')
    const { error } = response.body
    expect(error.message).toContain(error.request_id)
    expect(error.message).toBe(`internal error; quote request id ${error.request_id} when reporting it`)
    expect(error.details).toBeUndefined()
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'request_id'])
    const text = JSON.stringify(response.body)
    expect(text).not.toMatch(
      /select|insert|from\s|where|kysely|pglite|postgres|driver|destroy|stack|\bat\s|\.ts\b|\.js\b/i,
    )
  }

  it('answers a cached key on a route that reads the store with an opaque 500', async () => {
    expectOpaque500(await app.request('GET', `${API}/organizations`, { key: app.platformKey }))
    expectOpaque500(await app.request('GET', `${API}/workspaces`, { key: orgKey }))
  })

  it('answers a write with an opaque 500', async () => {
    expectOpaque500(await app.request('POST', `${API}/projects`, { key: orgKey, body: { name: 'never stored' } }))
  })

  it('answers a key it has never seen with a 500, not a 401, when it cannot look it up', async () => {
    expectOpaque500(await app.request('GET', `${API}/workspaces`, { key: generateToken() }))
  })

  it('gives each failure its own request id', async () => {
    const a = await app.request('GET', `${API}/workspaces`, { key: orgKey })
    const b = await app.request('GET', `${API}/workspaces`, { key: orgKey })
    expect(a.body.error.request_id).not.toBe(b.body.error.request_id)
  })
})
