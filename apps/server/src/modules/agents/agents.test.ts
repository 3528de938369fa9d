import { randomBytes } from 'node:crypto'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  createUserSession,
  describeEachStore,
  startTestApp,
  type TestApp,
  parseServerSentEvents,
} from '../../../test/harness.js'
import { closedPort, type Peer, startA2aPeer, startGarbagePeer, startMcpPeer } from './agent-peers.test-support.js'

const A2A_TOKEN = 'a2a-token-Zq8wX3vK9mL2pR7t'
const MCP_KEY = 'mcp-key-Hn4bV6cY1jT8uE5s'
/** A minute boundary, plus a little: rate-limit windows are counted on this clock, moved by the tests. */
const T0 = Date.parse('2026-12-06T00:10:00.000Z') + 100
/** Servers sharing a database share the instance secret too, or neither could open the other's credentials. */
const SECRET_KEY = `test-secret-${randomBytes(24).toString('base64url')}`

describeEachStore('agents', (kind) => {
  let app: TestApp
  let clock = T0
  let a2a: Peer
  let slow: Peer
  let mcp: Peer
  let garbage: Peer
  let orgKey: string
  let project: { id: string }
  let otherProject: { id: string }
  let a2aAgent: any
  let mcpAgent: any

  beforeAll(async () => {
    ;[a2a, slow, mcp, garbage] = await Promise.all([
      startA2aPeer({ token: A2A_TOKEN }),
      startA2aPeer({ delayMs: 1_500 }),
      startMcpPeer({ apiKey: MCP_KEY }),
      startGarbagePeer(`garbage ${A2A_TOKEN}`),
    ])
    app = await startTestApp(kind, {
      env: {
        TRIBUTARY_OUTBOUND_ALLOW: 'loopback',
        TRIBUTARY_AGENT_TIMEOUT_MS: '5000',
        TRIBUTARY_SECRET_KEY: SECRET_KEY,
      },
      now: () => new Date(clock),
    })
    ;({ orgKey } = await createOrganization(app, 'Agents Org'))
    project = await createProject(app, orgKey, 'Agents project')
    otherProject = await createProject(app, orgKey, 'Other project')
  })
  afterAll(async () => {
    await app?.close()
    await Promise.all([a2a, slow, mcp, garbage].map((peer) => peer?.close()))
  })

  const post = (path: string, body: unknown, key = orgKey) => app.request('POST', `${API}${path}`, { key, body })
  const get = (path: string, key = orgKey) => app.request('GET', `${API}${path}`, { key })

  it('registers an A2A agent with a bearer credential it never returns', async () => {
    const created = await post('/agents', {
      name: 'Echo',
      protocol: 'A2A',
      endpoint_url: a2a.url,
      capabilities: { streaming: true },
      agent_metadata: { team: 'sales' },
      project_id: project.id,
      role: 'assistant',
      auth: { type: 'bearer', secret: A2A_TOKEN },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    a2aAgent = created.body
    expect(a2aAgent).toMatchObject({
      name: 'Echo',
      protocol: 'A2A',
      endpoint_url: a2a.url,
      capabilities: { streaming: true },
      agent_metadata: { team: 'sales' },
      status: 'pending',
      has_auth: true,
      auth_type: 'bearer',
      gateway_url: `/api/v1/agent-gateway/agents/${a2aAgent.id}`,
    })
    expect(JSON.stringify(created.body)).not.toContain(A2A_TOKEN)
    const stored = await app.tributary.store.db
      .selectFrom('agents')
      .select('auth_secret')
      .where('id', '=', a2aAgent.id)
      .executeTakeFirstOrThrow()
    expect(stored.auth_secret).not.toContain(A2A_TOKEN)
  })

  it('tests the A2A agent with a real handshake, sending the credential', async () => {
    a2a.requests.length = 0
    const tested = await post(`/agents/${a2aAgent.id}/test`, undefined)
    expect(tested.status, JSON.stringify(tested.body)).toBe(200)
    expect(tested.body).toMatchObject({ ok: true, agent: { status: 'active', status_reason: null } })
    expect(tested.body.tools).toEqual([
      expect.objectContaining({ name: 'echo', title: 'Echo', description: 'Says back what it hears', tags: ['test'] }),
    ])
    expect(a2a.requests[0]).toMatchObject({
      path: '/.well-known/agent-card.json',
      headers: { authorization: `Bearer ${A2A_TOKEN}` },
    })
    const tools = await get(`/agents/${a2aAgent.id}/tools`)
    expect(tools.status).toBe(200)
    expect(tools.body).toMatchObject({ agent_id: a2aAgent.id, protocol: 'A2A', data: [{ name: 'echo' }] })
  })

  it('registers and tests an MCP agent with a header credential', async () => {
    const created = await post('/agents', {
      name: 'Calculator',
      protocol: 'MCP',
      endpoint_url: mcp.url,
      auth: { type: 'header', header_name: 'X-Api-Key', secret: MCP_KEY },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    mcpAgent = created.body
    expect(mcpAgent).toMatchObject({ has_auth: true, auth_type: 'header', auth_header_name: 'X-Api-Key' })
    const tested = await post(`/agents/${mcpAgent.id}/test`, undefined)
    expect(tested.body).toMatchObject({ ok: true, agent: { status: 'active' } })
    expect(tested.body.tools.map((tool: { name: string }) => tool.name)).toEqual(['add', 'fail'])
    expect(tested.body.tools[0].input_schema).toMatchObject({ type: 'object', required: ['a', 'b'] })
    expect(mcp.requests.every((request) => request.headers['x-api-key'] === MCP_KEY)).toBe(true)
  })

  it('lists and reads agents, paginated', async () => {
    const first = await get('/agents?limit=1')
    expect(first.status).toBe(200)
    expect(first.body.data).toHaveLength(1)
    expect(first.body.next_cursor).toEqual(expect.any(String))
    const second = await get(`/agents?limit=1&cursor=${first.body.next_cursor}`)
    expect([...first.body.data, ...second.body.data].map((agent: { id: string }) => agent.id)).toEqual([
      a2aAgent.id,
      mcpAgent.id,
    ])
    expect(second.body.next_cursor).toBeNull()
    const one = await get(`/agents/${mcpAgent.id}`)
    expect(one.body).toMatchObject({ id: mcpAgent.id, status: 'active' })
  })

  it('calls the A2A agent through the gateway and audits the call without its payload', async () => {
    const answer = await post(`/agent-gateway/agents/${a2aAgent.id}`, { message: 'hello there' })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(answer.body).toMatchObject({
      agent_id: a2aAgent.id,
      error: null,
      result: { message: { role: 'ROLE_AGENT', parts: [{ text: 'echo: hello there' }] } },
    })
    const structured = await post(`/agent-gateway/agents/${a2aAgent.id}`, {
      message: { parts: [{ text: 'as parts' }] },
      project_id: project.id,
    })
    expect(structured.body.result.message.parts[0].text).toBe('echo: as parts')
    // Written once the answer is known, without holding it back: it lands a moment later.
    const callEntry = async () => {
      const log = await get(`/audit-log?action=agent.call&resource_id=${a2aAgent.id}`)
      return log.body.data.find((row: { details: { call_id: string } }) => row.details.call_id === answer.body.id)
    }
    await expect.poll(callEntry).toBeDefined()
    const audit = await get(`/audit-log?action=agent.call&resource_id=${a2aAgent.id}`)
    const entry = await callEntry()
    expect(entry).toMatchObject({
      resource_type: 'agent',
      actor_type: 'api_key',
      details: { protocol: 'A2A', status: 'ok', project_id: null, duration_ms: expect.any(Number) },
    })
    expect(JSON.stringify(audit.body)).not.toContain('hello there')
  })

  it('calls MCP tools through the gateway; tool errors come back as errors, not crashes', async () => {
    const sum = await post(`/agent-gateway/agents/${mcpAgent.id}`, { tool: 'add', arguments: { a: 2, b: 40 } })
    expect(sum.status, JSON.stringify(sum.body)).toBe(200)
    expect(sum.body).toMatchObject({ error: null, result: { structuredContent: { sum: 42 } } })
    const failed = await post(`/agent-gateway/agents/${mcpAgent.id}`, { tool: 'fail' })
    expect(failed.body.error).toEqual({ code: 'tool_error', message: 'it failed on purpose' })
    const unknown = await post(`/agent-gateway/agents/${mcpAgent.id}`, { tool: 'nope' })
    expect(unknown.status).toBe(200)
    expect(unknown.body.error.message).toMatch(/nope not found/)
    const noTool = await post(`/agent-gateway/agents/${mcpAgent.id}`, { message: 'hi' })
    expect(noTool.status).toBe(422)
    expect(noTool.body.error.message).toMatch(/^tool: /)
  })

  it('relays A2A message/stream as server-sent events', async () => {
    const response = await app.tributary.app.request(`${API}/agent-gateway/agents/${a2aAgent.id}/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${orgKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'please stream' }),
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const events = parseServerSentEvents(await response.text())
    expect(events.map((event) => event.event)).toEqual([
      'task',
      'statusUpdate',
      'artifactUpdate',
      'statusUpdate',
      'done',
    ])
    expect(events[1]?.data.status.state).toBe('TASK_STATE_WORKING')
    expect(events[2]?.data.artifact.parts[0].text).toBe('echo: please stream')
    expect(events[3]?.data.status.state).toBe('TASK_STATE_COMPLETED')
    expect(events[4]?.data).toMatchObject({ id: expect.any(String), duration_ms: expect.any(Number) })
    const mcpStream = await post(`/agent-gateway/agents/${mcpAgent.id}/stream`, { tool: 'add' })
    expect(mcpStream.status).toBe(422)
  })

  it('times a slow agent out with 504, within the requested time', async () => {
    const created = await post('/agents', { name: 'Slow', protocol: 'A2A', endpoint_url: slow.url })
    const started = Date.now()
    const answer = await post(`/agent-gateway/agents/${created.body.id}`, { message: 'hi', timeout_ms: 300 })
    expect(answer.status, JSON.stringify(answer.body)).toBe(504)
    expect(answer.body.error).toMatchObject({
      code: 'connection_error',
      message: 'the agent did not answer within 300 ms',
      details: { reason: 'timeout' },
    })
    expect(Date.now() - started).toBeLessThan(1_400)
    const tooLong = await post(`/agent-gateway/agents/${created.body.id}`, { message: 'hi', timeout_ms: 400_000 })
    expect(tooLong.status).toBe(422)
    expect(tooLong.body.error.message).toMatch(/timeout_ms/)
    await expect
      .poll(
        async () => (await get(`/audit-log?action=agent.call&resource_id=${created.body.id}`)).body.data[0]?.details,
      )
      .toMatchObject({ status: 'timeout' })
  })

  it('stops the outbound call when the caller goes away', async () => {
    const agents = await get('/agents?limit=200')
    const slowAgent = agents.body.data.find((agent: { name: string }) => agent.name === 'Slow')
    const controller = new AbortController()
    const pending = Promise.resolve(
      app.tributary.app.request(`${API}/agent-gateway/agents/${slowAgent.id}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${orgKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'hi' }),
        signal: controller.signal,
      }),
    ).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const hungUp = slow.hungUp()
    controller.abort()
    await pending
    await expect
      .poll(async () => (await get(`/audit-log?action=agent.call&resource_id=${slowAgent.id}`)).body.data[0]?.details)
      .toMatchObject({ status: 'aborted' })
    // The agent saw its caller (the gateway) hang up long before its 1.5 s answer.
    await expect.poll(() => slow.hungUp(), { timeout: 1_000 }).toBe(hungUp + 1)
  })

  it('limits calls per second and per minute, with Retry-After', async () => {
    const limits = await app.request('PUT', `${API}/agents/${a2aAgent.id}/rate-limits`, {
      key: orgKey,
      body: { max_requests_per_second: 2, max_requests_per_minute: 3 },
    })
    expect(limits.status, JSON.stringify(limits.body)).toBe(200)
    expect(limits.body).toMatchObject({
      agent_id: a2aAgent.id,
      max_requests_per_second: 2,
      max_requests_per_minute: 3,
      max_requests_per_hour: null,
    })
    expect((await get(`/agents/${a2aAgent.id}/rate-limits`)).body).toEqual(limits.body)
    clock = T0 + 60_000
    const call = () => post(`/agent-gateway/agents/${a2aAgent.id}`, { message: 'hi' })
    expect((await call()).status).toBe(200)
    expect((await call()).status).toBe(200)
    const third = await call()
    expect(third.status).toBe(429)
    expect(third.body.error.code).toBe('rate_limit_exceeded')
    expect(third.headers.get('retry-after')).toBe('1')
    clock += 1_000
    // A new second, but the minute has had three calls (the refused one counts).
    const fourth = await call()
    expect(fourth.status).toBe(429)
    expect(Number(fourth.headers.get('retry-after'))).toBe(59)
    clock = T0 + 120_000
    expect((await call()).status).toBe(200)
    const cleared = await app.request('PUT', `${API}/agents/${a2aAgent.id}/rate-limits`, { key: orgKey, body: {} })
    expect(cleared.body.max_requests_per_second).toBeNull()
    for (let i = 0; i < 4; i += 1) expect((await call()).status).toBe(200)
  })

  it.runIf(kind === 'postgres')('shares the counters between servers on one PostgreSQL', async () => {
    const second = await startTestApp(kind, {
      env: { TRIBUTARY_OUTBOUND_ALLOW: 'loopback', TRIBUTARY_SECRET_KEY: SECRET_KEY },
      now: () => new Date(clock),
    })
    try {
      await app.request('PUT', `${API}/agents/${a2aAgent.id}/rate-limits`, {
        key: orgKey,
        body: { max_requests_per_second: 2 },
      })
      clock = T0 + 300_000
      const call = (target: TestApp) =>
        target.request('POST', `${API}/agent-gateway/agents/${a2aAgent.id}`, { key: orgKey, body: { message: 'x' } })
      expect((await call(app)).status).toBe(200)
      expect((await call(second)).status).toBe(200)
      expect((await call(second)).status).toBe(429)
      expect((await call(app)).status).toBe(429)
    } finally {
      await second.close()
      await app.request('PUT', `${API}/agents/${a2aAgent.id}/rate-limits`, { key: orgKey, body: {} })
    }
  })

  it('assigns agents to projects, and a project key sees only its project’s agents', async () => {
    const assigned = await post(`/projects/${project.id}/agents`, { agent_id: mcpAgent.id, role: 'calculator' })
    expect(assigned.status, JSON.stringify(assigned.body)).toBe(201)
    expect(assigned.body).toMatchObject({ project_id: project.id, agent_id: mcpAgent.id, role: 'calculator' })
    const again = await post(`/projects/${project.id}/agents`, { agent_id: mcpAgent.id })
    expect(again.status).toBe(409)
    const listed = await get(`/projects/${project.id}/agents`)
    expect(listed.body.data.map((row: { agent_id: string; role: string }) => [row.agent_id, row.role])).toEqual([
      [a2aAgent.id, 'assistant'],
      [mcpAgent.id, 'calculator'],
    ])
    const ownKey = await createProjectKey(app, orgKey, project.id, ['agents'])
    const otherKey = await createProjectKey(app, orgKey, otherProject.id, ['agents'])
    expect((await get('/agents', ownKey.key)).body.data.map((agent: { id: string }) => agent.id)).toEqual([
      a2aAgent.id,
      mcpAgent.id,
    ])
    expect((await get('/agents', otherKey.key)).body.data).toEqual([])
    expect((await get(`/agents/${a2aAgent.id}`, otherKey.key)).status).toBe(404)
    const called = await post(`/agent-gateway/agents/${a2aAgent.id}`, { message: 'from the project' }, ownKey.key)
    expect(called.status).toBe(200)
    const refused = await post(`/agent-gateway/agents/${a2aAgent.id}`, { message: 'x' }, otherKey.key)
    expect(refused.status).toBe(404)
    const notAssigned = await post(`/agent-gateway/agents/${a2aAgent.id}`, {
      message: 'x',
      project_id: otherProject.id,
    })
    expect(notAssigned.status).toBe(404)
    const queryOnly = await createProjectKey(app, orgKey, project.id, ['query'])
    expect((await post(`/agent-gateway/agents/${a2aAgent.id}`, { message: 'x' }, queryOnly.key)).status).toBe(403)
  })

  it('sends a message to every active agent of a project, each answering on its own', async () => {
    const answers = await post(`/agent-gateway/projects/${project.id}`, { message: 'all hands' })
    expect(answers.status, JSON.stringify(answers.body)).toBe(200)
    const byAgent = Object.fromEntries(
      answers.body.data.map((answer: { agent_id: string }) => [answer.agent_id, answer]),
    )
    expect(byAgent[a2aAgent.id]).toMatchObject({
      error: null,
      result: { message: { parts: [{ text: 'echo: all hands' }] } },
    })
    expect(byAgent[mcpAgent.id]).toMatchObject({ result: null, error: { code: 'validation_error' } })
    const withTool = await post(`/agent-gateway/projects/${project.id}`, {
      message: 'sum',
      tool: 'add',
      arguments: { a: 1, b: 1 },
    })
    const mcpAnswer = withTool.body.data.find((answer: { agent_id: string }) => answer.agent_id === mcpAgent.id)
    expect(mcpAnswer.result.structuredContent).toEqual({ sum: 2 })
  })

  it('refuses what cannot be an agent, and reports a down or garbled one', async () => {
    const bad = [
      { protocol: 'SOAP', endpoint_url: a2a.url, message: 'protocol' },
      { protocol: 'A2A', endpoint_url: 'ftp://127.0.0.1/agent', message: 'endpoint_url' },
      { protocol: 'A2A', endpoint_url: 'http://10.0.0.7/agent', message: '10.0.0.7 is a private address' },
      { protocol: 'MCP', endpoint_url: 'http://169.254.169.254/latest', message: 'link-local' },
      { protocol: 'MCP', endpoint_url: 'http://[::ffff:192.168.1.1]/mcp', message: 'private' },
    ]
    for (const { message, ...body } of bad) {
      const response = await post('/agents', { name: `bad ${message}`, ...body })
      expect(response.status, JSON.stringify(body)).toBe(422)
      expect(response.body.error.code).toBe('validation_error')
      expect(response.body.error.message).toContain(message)
    }
    const down = await post('/agents', {
      name: 'Down',
      protocol: 'A2A',
      endpoint_url: `http://127.0.0.1:${await closedPort()}`,
      auth: { type: 'bearer', secret: A2A_TOKEN },
    })
    const downTest = await post(`/agents/${down.body.id}/test`, undefined)
    expect(downTest.body).toMatchObject({ ok: false, agent: { status: 'unreachable' } })
    expect(downTest.body.agent.status_reason).toMatch(/ECONNREFUSED/)
    const downCall = await post(`/agent-gateway/agents/${down.body.id}`, { message: 'hi' })
    expect(downCall.status).toBe(502)
    expect(downCall.body.error).toMatchObject({ code: 'connection_error', details: { reason: 'unreachable' } })
    expect(downCall.body.error.message).toMatch(/ECONNREFUSED/)
    expect((await get(`/agents/${down.body.id}/tools`)).status).toBe(502)

    const garbled = await post('/agents', {
      name: 'Garbled',
      protocol: 'A2A',
      endpoint_url: garbage.url,
      auth: { type: 'bearer', secret: A2A_TOKEN },
    })
    const garbledTest = await post(`/agents/${garbled.body.id}/test`, undefined)
    expect(garbledTest.body).toMatchObject({ ok: false, agent: { status: 'invalid' } })
    const garbledCall = await post(`/agent-gateway/agents/${garbled.body.id}`, { message: 'hi' })
    expect(garbledCall.status).toBe(502)
    expect(garbledCall.body.error.message).toMatch(/did not answer as A2A says/)
    const garbledMcp = await post('/agents', { name: 'Garbled MCP', protocol: 'MCP', endpoint_url: garbage.url })
    const garbledMcpCall = await post(`/agent-gateway/agents/${garbledMcp.body.id}`, { tool: 'add' })
    expect(garbledMcpCall.status).toBe(502)
    expect(garbledMcpCall.body.error.message).toMatch(/did not answer as MCP says/)
    // The garbage peer echoes the credential: no answer carries any of it.
    for (const body of [garbledTest.body, garbledCall.body, downTest.body, downCall.body]) {
      expect(JSON.stringify(body)).not.toContain(A2A_TOKEN.slice(0, 8))
    }
  })

  it('keeps other organizations out (404) and viewers from changing agents (403)', async () => {
    const other = await createOrganization(app, 'Other Org')
    for (const [method, path, body] of [
      ['GET', `/agents/${a2aAgent.id}`],
      ['PATCH', `/agents/${a2aAgent.id}`, { name: 'mine' }],
      ['DELETE', `/agents/${a2aAgent.id}`],
      ['POST', `/agents/${a2aAgent.id}/test`],
      ['GET', `/agents/${a2aAgent.id}/tools`],
      ['GET', `/agents/${a2aAgent.id}/rate-limits`],
      ['PUT', `/agents/${a2aAgent.id}/rate-limits`, { max_requests_per_hour: 1 }],
      ['POST', `/agent-gateway/agents/${a2aAgent.id}`, { message: 'x' }],
      ['POST', `/agent-gateway/agents/${a2aAgent.id}/stream`, { message: 'x' }],
      ['POST', `/agent-gateway/projects/${project.id}`, { message: 'x' }],
      ['GET', `/projects/${project.id}/agents`],
    ] as const) {
      const response = await app.request(method, `${API}${path}`, { key: other.orgKey, body })
      expect(response.status, `${method} ${path}`).toBe(404)
    }
    expect((await get('/agents', other.orgKey)).body.data).toEqual([])
    const viewer = await createUserSession(app, orgKey, 'viewer')
    const editor = await createUserSession(app, orgKey, 'editor')
    const admin = await createUserSession(app, orgKey, 'admin')
    const body = { name: 'By role', protocol: 'A2A', endpoint_url: a2a.url }
    expect((await post('/agents', body, viewer.token)).status).toBe(403)
    expect((await post('/agents', body, editor.token)).status).toBe(403)
    expect((await get('/agents', viewer.token)).status).toBe(200)
    expect(
      (await app.request('PATCH', `${API}/agents/${a2aAgent.id}`, { key: viewer.token, body: { name: 'x' } })).status,
    ).toBe(403)
    expect((await post(`/projects/${project.id}/agents`, { agent_id: a2aAgent.id }, viewer.token)).status).toBe(403)
    expect((await post('/agents', body, admin.token)).status).toBe(201)
    // Members may use the agents they can see.
    expect((await post(`/agent-gateway/agents/${a2aAgent.id}`, { message: 'viewer' }, viewer.token)).status).toBe(200)
  })

  it('changes an agent: a new credential sets it back to pending, and a name is unique', async () => {
    const changed = await app.request('PATCH', `${API}/agents/${mcpAgent.id}`, {
      key: orgKey,
      body: { description: 'adds', auth: { type: 'header', header_name: 'X-Api-Key', secret: 'wrong-key-123' } },
    })
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    expect(changed.body).toMatchObject({ description: 'adds', status: 'pending' })
    const tested = await post(`/agents/${mcpAgent.id}/test`, undefined)
    expect(tested.body.agent.status).toBe('invalid')
    expect(tested.body.agent.status_reason).toMatch(/401/)
    const taken = await app.request('PATCH', `${API}/agents/${mcpAgent.id}`, { key: orgKey, body: { name: 'echo' } })
    expect(taken.status).toBe(409)
  })

  it('unassigns and deletes agents', async () => {
    const removed = await app.request('DELETE', `${API}/projects/${project.id}/agents/${mcpAgent.id}`, { key: orgKey })
    expect(removed.status).toBe(204)
    const twice = await app.request('DELETE', `${API}/projects/${project.id}/agents/${mcpAgent.id}`, { key: orgKey })
    expect(twice.status).toBe(404)
    const deleted = await app.request('DELETE', `${API}/agents/${a2aAgent.id}`, { key: orgKey })
    expect(deleted.status).toBe(204)
    expect((await get(`/agents/${a2aAgent.id}`)).status).toBe(404)
    expect((await get(`/projects/${project.id}/agents`)).body.data).toEqual([])
    expect((await post(`/agent-gateway/agents/${a2aAgent.id}`, { message: 'x' })).status).toBe(404)
    const broadcast = await post(`/agent-gateway/projects/${project.id}`, { message: 'anyone?' })
    expect(broadcast.body.data).toEqual([])
  })
})

describe('agents without the allow-list', () => {
  let app: TestApp
  let peer: Peer
  beforeAll(async () => {
    peer = await startA2aPeer()
    app = await startTestApp('pglite', { env: { TRIBUTARY_AGENT_AUDIT_PAYLOADS: 'true' } })
  })
  afterAll(async () => {
    await app?.close()
    await peer?.close()
  })

  it('refuses a loopback endpoint', async () => {
    const { orgKey } = await createOrganization(app)
    const response = await app.request('POST', `${API}/agents`, {
      key: orgKey,
      body: { name: 'Local', protocol: 'A2A', endpoint_url: peer.url },
    })
    expect(response.status).toBe(422)
    expect(response.body.error.message).toMatch(/127\.0\.0\.1 is a loopback address.*TRIBUTARY_OUTBOUND_ALLOW/)
    expect(peer.requests).toHaveLength(0)
  })
})

describe('agents with payloads audited (TRIBUTARY_AGENT_AUDIT_PAYLOADS=true)', () => {
  let app: TestApp
  let peer: Peer
  beforeAll(async () => {
    peer = await startA2aPeer()
    app = await startTestApp('pglite', {
      env: { TRIBUTARY_OUTBOUND_ALLOW: '127.0.0.1/32', TRIBUTARY_AGENT_AUDIT_PAYLOADS: 'true' },
    })
  })
  afterAll(async () => {
    await app?.close()
    await peer?.close()
  })

  it('keeps what was sent and answered in the audit entry', async () => {
    const { orgKey } = await createOrganization(app)
    const agent = await app.request('POST', `${API}/agents`, {
      key: orgKey,
      body: { name: 'Echo', protocol: 'A2A', endpoint_url: peer.url },
    })
    expect(agent.status, JSON.stringify(agent.body)).toBe(201)
    const answer = await app.request('POST', `${API}/agent-gateway/agents/${agent.body.id}`, {
      key: orgKey,
      body: { message: 'remember me' },
    })
    expect(answer.status).toBe(200)
    const details = async () =>
      (await app.request('GET', `${API}/audit-log?action=agent.call`, { key: orgKey })).body.data[0]?.details
    await expect.poll(details).toMatchObject({
      call_id: answer.body.id,
      status: 'ok',
      request: { message: 'remember me' },
      result: { message: { parts: [{ text: 'echo: remember me' }] } },
    })
  })
})
