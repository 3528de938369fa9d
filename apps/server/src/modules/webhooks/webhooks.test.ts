import { copyFileSync, rmSync } from 'node:fs'
import path from 'node:path'

import Database from 'better-sqlite3'
import { afterAll, beforeAll, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'
import { SIGNATURE_HEADER, verifySignature } from '../../lib/outbound/signed-request.js'
import { type ReceivedRequest, type Receiver, startReceiver } from './webhook-receiver.test-support.js'

/**
 * Event webhooks against a real receiver on 127.0.0.1: the CRUD and its secret, every event type
 * driven by real jobs on Chinook (SQLite), signatures, filters, retries with backoff, and the
 * address policy. Durability across a kill -9 is in test/restart.test.ts.
 */
describeEachStore('webhooks', (kind) => {
  let app: TestApp
  let sources: ChinookSources
  let receiver: Receiver
  let orgKey: string

  const call = (method: string, url: string, body?: unknown, key = orgKey) =>
    app.request(method, `${API}${url}`, { key, body })

  async function subscribe(body: Record<string, unknown>, key = orgKey) {
    const created = await call('POST', '/webhooks', { url: receiver.url, ...body }, key)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body as { id: string; signing_secret: string; project_id: string | null }
  }

  /** Each request of `webhookSecret`'s webhook is signed by it, and names its event in the headers. */
  function expectSigned(request: ReceivedRequest, secret: string) {
    expect(verifySignature(secret, request.body, String(request.headers[SIGNATURE_HEADER]))).toBe(true)
    expect(request.headers['x-tributary-event']).toBe(request.event.type)
    expect(request.headers['x-tributary-event-id']).toBe(request.event.id)
    expect(request.headers['x-tributary-delivery-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(request.headers['content-type']).toBe('application/json')
  }

  async function deliveries(webhookId: string, query = '') {
    const listed = await call('GET', `/webhooks/${webhookId}/deliveries${query}`)
    expect(listed.status, JSON.stringify(listed.body)).toBe(200)
    return listed.body as { data: Record<string, any>[]; next_cursor: string | null }
  }

  async function settledJob(url: string) {
    let body: Record<string, any> = {}
    await expect
      .poll(
        async () => {
          body = (await call('GET', url)).body
          return body.status
        },
        { timeout: 30_000, interval: 25 },
      )
      .toMatch(/^(succeeded|failed|cancelled|COMPLETED|FAILED)$/)
    return body
  }

  async function runQuery(projectId: string, sql: string) {
    const created = await call('POST', `/projects/${projectId}/query-jobs`, { sql })
    expect(created.status, JSON.stringify(created.body)).toBe(202)
    return settledJob(`/projects/${projectId}/query-jobs/${created.body.id}`)
  }

  beforeAll(async () => {
    sources = await loadChinook([])
    receiver = await startReceiver()
    app = await startTestApp(kind, {
      env: {
        TRIBUTARY_OUTBOUND_ALLOW: 'loopback',
        TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath),
        TRIBUTARY_JOB_POLL_INTERVAL_MS: '50',
        TRIBUTARY_JOB_RETRY_DELAY_MS: '50',
        TRIBUTARY_OUTBOUND_TIMEOUT_MS: '5000',
      },
    })
    orgKey = (await createOrganization(app, 'Webhooks')).orgKey
  }, 60_000)
  afterAll(async () => {
    await app?.close()
    await receiver?.close()
    await sources?.cleanup()
  })

  it('shows the signing secret once, rotates it, and signs the ping with the current one', async () => {
    const project = await createProject(app, orgKey, 'Secrets')
    const created = await subscribe({ events: ['*'], project_id: project.id, description: 'ops' })
    expect(created).toMatchObject({ project_id: project.id, events: ['*'], description: 'ops', is_active: true })
    expect(created.signing_secret).toMatch(/^whsec_[\w-]{43}$/)

    const read = await call('GET', `/webhooks/${created.id}`)
    expect(read.status).toBe(200)
    expect(read.body).not.toHaveProperty('signing_secret')
    const withoutSecret: Record<string, unknown> = { ...created }
    delete withoutSecret.signing_secret
    expect(read.body).toEqual(withoutSecret)
    expect(JSON.stringify((await call('GET', '/webhooks')).body)).not.toContain(created.signing_secret)

    const changed = await call('PATCH', `/webhooks/${created.id}`, { events: ['query_job.failed'], description: null })
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    expect(changed.body).toMatchObject({ events: ['query_job.failed'], description: null })
    expect(changed.body).not.toHaveProperty('signing_secret')

    const rotated = await call('PATCH', `/webhooks/${created.id}`, { rotate_secret: true })
    expect(rotated.status).toBe(200)
    expect(rotated.body.signing_secret).toMatch(/^whsec_/)
    expect(rotated.body.signing_secret).not.toBe(created.signing_secret)

    const before = receiver.requests.length
    const ping = await call('POST', `/webhooks/${created.id}/test`)
    expect(ping.status, JSON.stringify(ping.body)).toBe(200)
    expect(ping.body).toMatchObject({
      ok: true,
      attempt: { status_code: 200, ok: true, response_excerpt: 'ok', error: null },
      delivery: { webhook_id: created.id, event_type: 'ping', status: 'succeeded' },
    })
    expect(receiver.requests).toHaveLength(before + 1)
    const request = receiver.requests.at(-1)!
    expectSigned(request, rotated.body.signing_secret)
    expect(verifySignature(created.signing_secret, request.body, String(request.headers[SIGNATURE_HEADER]))).toBe(false)
    expect(request.event).toMatchObject({
      id: ping.body.delivery.event_id,
      type: 'ping',
      organization_id: read.body.organization_id,
      project_id: project.id,
      data: { webhook_id: created.id },
    })
    expect(request.headers['x-tributary-delivery-id']).toBe(ping.body.delivery.id)
    expect(JSON.parse(request.body)).toEqual(ping.body.event)
    expect((await deliveries(created.id)).data).toEqual([ping.body.delivery])

    expect((await call('DELETE', `/webhooks/${created.id}`)).status).toBe(204)
    expect((await call('GET', `/webhooks/${created.id}`)).status).toBe(404)
    expect((await call('GET', `/webhooks/${created.id}/deliveries`)).status).toBe(404)
    const listed = (await call('GET', '/webhooks?limit=200')).body.data as { id: string }[]
    expect(listed.map((webhook) => webhook.id)).not.toContain(created.id)
  })

  it('a ping to a target that is down is a 200 with the failed attempt, recorded', async () => {
    const hook = await subscribe({ url: 'http://127.0.0.1:1/down', events: ['*'] })
    const ping = await call('POST', `/webhooks/${hook.id}/test`)
    expect(ping.status, JSON.stringify(ping.body)).toBe(200)
    expect(ping.body.ok).toBe(false)
    expect(ping.body.attempt).toMatchObject({ status_code: null, ok: false, error: expect.stringMatching(/\S/) })
    expect(ping.body.delivery).toMatchObject({ status: 'failed', attempts: [ping.body.attempt] })
  })

  it('delivers every event type of real jobs exactly once, signed', async () => {
    const project = await createProject(app, orgKey, 'Events')
    const p = `/projects/${project.id}`
    const hook = await subscribe({ events: ['*'], project_id: project.id })
    const connection = await call('POST', `${p}/connections`, {
      name: 'chinook',
      type: 'sqlite',
      config: { path: path.basename(sources.sqlitePath) },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
    // A table that is there when its cache is made and gone when the cache refreshes.
    const sqlite = new Database(sources.sqlitePath)
    sqlite.exec('create table doomed (id integer primary key); insert into doomed values (1)')

    const succeeded = await runQuery(project.id, 'select count(*) as artists from chinook.main.Artist')
    expect(succeeded.status).toBe('succeeded')
    const failed = await runQuery(project.id, 'select * from chinook.main.NoSuchTable')
    expect(failed.status).toBe('failed')

    const exported = await call('POST', `${p}/query-jobs/${succeeded.id}/exports`, { format: 'CSV' })
    expect(exported.status, JSON.stringify(exported.body)).toBe(202)
    expect((await settledJob(`${p}/exports/${exported.body.id}`)).status).toBe('succeeded')

    const dataset = await call('POST', `${p}/datasets`, { name: 'copies' })
    const table = await call('POST', `${p}/datasets/${dataset.body.id}/tables`, {
      name: 'artists',
      schema: [
        { name: 'id', type: 'INTEGER', nullable: false },
        { name: 'name', type: 'VARCHAR' },
      ],
    })
    expect(table.status, JSON.stringify(table.body)).toBe(201)
    const imports = `${p}/datasets/${dataset.body.id}/tables/${table.body.id}/imports`
    const imported = await call('POST', imports, {
      sql: 'select "ArtistId" as id, "Name" as name from chinook.main.Artist',
    })
    expect(imported.status, JSON.stringify(imported.body)).toBe(202)
    expect((await settledJob(`${imports}/${imported.body.id}`)).status).toBe('succeeded')
    const refused = await call('POST', imports, { sql: 'select 1 as nope' })
    expect(refused.status, JSON.stringify(refused.body)).toBe(202)
    expect((await settledJob(`${imports}/${refused.body.id}`)).status).toBe('failed')

    const cache = await call('POST', `${p}/caches`, { catalog: 'chinook', schema: 'main', table: 'Genre' })
    expect(cache.status, JSON.stringify(cache.body)).toBe(201)
    expect((await call('POST', `${p}/caches/${cache.body.id}/refresh`, { mode: 'full' })).status).toBe(202)
    expect((await settledJob(`${p}/caches/${cache.body.id}`)).status).toBe('COMPLETED')
    const doomed = await call('POST', `${p}/caches`, { catalog: 'chinook', schema: 'main', table: 'doomed' })
    expect(doomed.status, JSON.stringify(doomed.body)).toBe(201)
    sqlite.exec('drop table doomed')
    sqlite.close()
    expect((await call('POST', `${p}/caches/${doomed.body.id}/refresh`, { mode: 'full' })).status).toBe(202)
    expect((await settledJob(`${p}/caches/${doomed.body.id}`)).status).toBe('FAILED')

    const refresh = await call('POST', `${p}/metadata/refresh`, {})
    expect(refresh.status, JSON.stringify(refresh.body)).toBe(202)
    expect((await settledJob(`${p}/metadata/refresh/${refresh.body.id}`)).status).toBe('succeeded')
    // A source whose file is gone by the time its metadata is read.
    const gonePath = path.join(path.dirname(sources.sqlitePath), `gone-${kind}.sqlite`)
    copyFileSync(sources.sqlitePath, gonePath)
    const gone = await call('POST', `${p}/connections`, {
      name: 'gone',
      type: 'sqlite',
      config: { path: path.basename(gonePath) },
    })
    expect(gone.status, JSON.stringify(gone.body)).toBe(201)
    rmSync(gonePath)
    const unreadable = await call('POST', `${p}/metadata/refresh`, { catalog: 'gone' })
    expect(unreadable.status, JSON.stringify(unreadable.body)).toBe(202)
    expect((await settledJob(`${p}/metadata/refresh/${unreadable.body.id}`)).status).toBe('failed')

    const expected = {
      'query_job.succeeded': { job_id: succeeded.id, query_job_id: succeeded.id, status: 'succeeded' },
      'query_job.failed': { job_id: failed.id, query_job_id: failed.id, status: 'failed', error: failed.error },
      'export.succeeded': { export_id: exported.body.id, source: 'query_job' },
      'import.succeeded': { import_id: imported.body.id, table_id: table.body.id, dataset_id: dataset.body.id },
      'import.failed': { import_id: refused.body.id, status: 'failed', error: { code: 'validation_error' } },
      'cache.refreshed': { cache_id: cache.body.id, mode: 'full', status: 'succeeded' },
      'cache.failed': { cache_id: doomed.body.id, status: 'failed' },
      'metadata.refreshed': { refresh_id: refresh.body.id, catalog: null, status: 'succeeded' },
      'metadata.failed': { refresh_id: unreadable.body.id, catalog: 'gone', status: 'failed' },
    }
    const mine = (request: ReceivedRequest) => request.event.project_id === project.id
    const received = await receiver.waitFor(Object.keys(expected).length, mine)
    // Anything late (a second delivery of one event) would arrive within a few polls.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const all = receiver.requests.filter(mine)
    expect(all.map((request) => request.event.type).sort()).toEqual(Object.keys(expected).sort())
    expect(new Set(all.map((request) => request.event.id)).size).toBe(all.length)
    for (const request of received) {
      expectSigned(request, hook.signing_secret)
      expect(request.event, request.event.type).toMatchObject({
        project_id: project.id,
        data: expected[request.event.type as keyof typeof expected],
      })
      expect(Date.parse(request.event.created_at)).not.toBeNaN()
    }
    const log = await deliveries(hook.id, '?limit=200')
    expect(log.data).toHaveLength(all.length)
    expect(log.data.every((delivery) => delivery.status === 'succeeded' && delivery.attempts.length === 1)).toBe(true)
    // Newest first, page by page.
    const first = await deliveries(hook.id, '?limit=3')
    expect(first.data.map((delivery) => delivery.id)).toEqual(log.data.slice(0, 3).map((delivery) => delivery.id))
    const second = await deliveries(hook.id, `?limit=3&cursor=${first.next_cursor}`)
    expect(second.data.map((delivery) => delivery.id)).toEqual(log.data.slice(3, 6).map((delivery) => delivery.id))
  }, 120_000)

  it('sends each event only to the webhooks whose project and event types match', async () => {
    const { orgKey: key } = await createOrganization(app, 'Filters')
    const [one, two] = [await createProject(app, key, 'One'), await createProject(app, key, 'Two')]
    const onlyOneSucceeded = await subscribe({ events: ['query_job.succeeded'], project_id: one.id }, key)
    const everyProjectFailed = await subscribe({ events: ['query_job.failed', 'import.failed'] }, key)
    const onlyTwo = await subscribe({ events: ['*'], project_id: two.id }, key)
    const inactive = await subscribe({ events: ['*'], is_active: false }, key)
    const ofOrg = (request: ReceivedRequest) => request.event.project_id === one.id

    const asOrg = orgKey
    orgKey = key
    try {
      const ok = await runQuery(one.id, 'select 1 as one')
      const bad = await runQuery(one.id, 'select * from nowhere.main.nothing')
      expect([ok.status, bad.status]).toEqual(['succeeded', 'failed'])
      await receiver.waitFor(2, ofOrg)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const byHook = async (id: string) => (await deliveries(id)).data.map((delivery) => delivery.event_type)
      expect(await byHook(onlyOneSucceeded.id)).toEqual(['query_job.succeeded'])
      expect(await byHook(everyProjectFailed.id)).toEqual(['query_job.failed'])
      expect(await byHook(onlyTwo.id)).toEqual([])
      expect(await byHook(inactive.id)).toEqual([])
      const arrived = receiver.requests.filter(ofOrg)
      expect(arrived.map((request) => request.event.type).sort()).toEqual(['query_job.failed', 'query_job.succeeded'])
      expectSigned(
        arrived.find((r) => r.event.type === 'query_job.failed')!,
        everyProjectFailed.signing_secret,
      )
      expectSigned(
        arrived.find((r) => r.event.type === 'query_job.succeeded')!,
        onlyOneSucceeded.signing_secret,
      )
    } finally {
      orgKey = asOrg
    }
  }, 60_000)

  it('retries a target answering 500 with backoff until it succeeds, recording every attempt', async () => {
    const project = await createProject(app, orgKey, 'Flaky')
    const hook = await subscribe({ events: ['query_job.succeeded'], project_id: project.id })
    const mine = (request: ReceivedRequest) => request.event.project_id === project.id
    let seen = 0
    receiver.answer((request) => {
      if (!mine(request)) return { status: 200 }
      seen += 1
      return seen <= 2 ? { status: 500, body: `boom ${seen}` } : { status: 204 }
    })
    try {
      await runQuery(project.id, 'select 1 as one')
      const received = await receiver.waitFor(3, mine)
      expect(new Set(received.map((request) => request.event.id)).size).toBe(1)
      expect(new Set(received.map((request) => request.headers['x-tributary-delivery-id'])).size).toBe(1)
      for (const request of received) expectSigned(request, hook.signing_secret)
      let delivery: Record<string, any> = {}
      await expect
        .poll(async () => {
          delivery = (await deliveries(hook.id)).data[0]!
          return delivery.status
        })
        .toBe('succeeded')
      expect(delivery.attempts.map((attempt: { status_code: number }) => attempt.status_code)).toEqual([500, 500, 204])
      expect(delivery.attempts[0]).toMatchObject({ ok: false, response_excerpt: 'boom 1', error: /HTTP 500/ })
      expect(delivery.completed_at).not.toBeNull()
      expect(delivery.error).toBeNull()
      const times = delivery.attempts.map((attempt: { at: string }) => Date.parse(attempt.at))
      // The queue backs off (50 ms, then 100 ms) between attempts.
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(45)
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(95)
    } finally {
      receiver.answer(() => ({ status: 200, body: 'ok' }))
    }
  }, 60_000)

  it('gives a delivery up after 5 attempts at a target that keeps failing, and at once on a 4xx', async () => {
    const project = await createProject(app, orgKey, 'Broken')
    const always500 = await subscribe({
      url: `${receiver.url}/500`,
      events: ['query_job.succeeded'],
      project_id: project.id,
    })
    const gone = await subscribe({
      url: `${receiver.url}/410`,
      events: ['query_job.succeeded'],
      project_id: project.id,
    })
    receiver.answer((request) => {
      if (request.path.endsWith('/500')) return { status: 500, body: 'down' }
      if (request.path.endsWith('/410')) return { status: 410, body: 'gone' }
      return { status: 200 }
    })
    try {
      await runQuery(project.id, 'select 1 as one')
      let failed: Record<string, any> = {}
      await expect
        .poll(async () => (failed = (await deliveries(always500.id)).data[0] ?? {}).status, { timeout: 20_000 })
        .toBe('failed')
      expect(failed.attempts).toHaveLength(5)
      expect(failed.attempts.every((attempt: { status_code: number }) => attempt.status_code === 500)).toBe(true)
      expect(failed.error).toMatch(/gave up after 5 attempts/)
      expect(receiver.requests.filter((request) => request.path.endsWith('/500'))).toHaveLength(5)

      const refused = (await deliveries(gone.id)).data[0]!
      expect(refused).toMatchObject({ status: 'failed', error: /HTTP 410/ })
      expect(refused.attempts).toHaveLength(1)
      expect(receiver.requests.filter((request) => request.path.endsWith('/410'))).toHaveLength(1)
    } finally {
      receiver.answer(() => ({ status: 200, body: 'ok' }))
    }
  }, 60_000)

  it('gives up the deliveries of a webhook deactivated or deleted before they were sent', async () => {
    const project = await createProject(app, orgKey, 'Switched off')
    const hooks = [
      await subscribe({ url: `${receiver.url}/off`, events: ['query_job.succeeded'], project_id: project.id }),
      await subscribe({ url: `${receiver.url}/deleted`, events: ['query_job.succeeded'], project_id: project.id }),
    ]
    // The first attempts fail slowly: the webhooks change while they are under way.
    receiver.answer(() => ({ status: 503, body: 'busy', delayMs: 500 }))
    try {
      await runQuery(project.id, 'select 1 as one')
      const mine = (request: ReceivedRequest) => request.event.project_id === project.id
      await receiver.waitFor(2, mine)
      expect((await call('PATCH', `/webhooks/${hooks[0]!.id}`, { is_active: false })).status).toBe(200)
      const deliveryId = receiver.requests.find((request) => request.path.endsWith('/deleted'))!.headers[
        'x-tributary-delivery-id'
      ]
      expect((await call('DELETE', `/webhooks/${hooks[1]!.id}`)).status).toBe(204)
      let off: Record<string, any> = {}
      await expect
        .poll(async () => (off = (await deliveries(hooks[0]!.id)).data[0]!).status, { timeout: 10_000 })
        .toBe('failed')
      expect(off).toMatchObject({ error: 'not sent: the webhook was deactivated', attempts: [{ status_code: 503 }] })
      await expect
        .poll(async () => {
          const rows = await app.tributary.store.db
            .selectFrom('webhook_deliveries')
            .select(['status', 'error'])
            .where('id', '=', String(deliveryId))
            .execute()
          return rows[0]
        })
        .toEqual({ status: 'failed', error: 'not sent: the webhook was deleted' })
      expect(receiver.requests.filter(mine)).toHaveLength(2)
    } finally {
      receiver.answer(() => ({ status: 200, body: 'ok' }))
    }
  })

  it('reads a delivery whose job the queue failed on reclaim (the server died mid-attempt) as failed', async () => {
    const project = await createProject(app, orgKey, 'Died mid-attempt')
    const hook = await subscribe({
      url: `${receiver.url}/held`,
      events: ['query_job.succeeded'],
      project_id: project.id,
    })
    receiver.answer((request) => (request.path.endsWith('/held') ? 'hold' : { status: 200 }))
    try {
      await runQuery(project.id, 'select 1 as one')
      const [held] = await receiver.waitFor(1, (request) => request.event.project_id === project.id)
      const deliveryId = String(held!.headers['x-tributary-delivery-id'])
      expect((await deliveries(hook.id)).data[0]).toMatchObject({ id: deliveryId, status: 'pending' })
      // What the queue's reclaim does to a job whose worker died during its last attempt.
      const reclaimed = await app.tributary.store.db
        .updateTable('jobs')
        .set({ status: 'failed', ended_at: new Date(), locked_by: null, lease_expires_at: null })
        .where('id', '=', deliveryId)
        .where('status', '=', 'running')
        .returning('kind')
        .execute()
      expect(reclaimed).toEqual([{ kind: 'webhook.delivery' }])
      const [listed] = (await deliveries(hook.id)).data
      expect(listed).toMatchObject({
        id: deliveryId,
        status: 'failed',
        error: /server stopped during its last attempt/,
      })
      expect(listed!.completed_at).not.toBeNull()
      // Stored, not only shown: the next read finds it failed without asking the queue.
      const stored = await app.tributary.store.db
        .selectFrom('webhook_deliveries')
        .select('status')
        .where('id', '=', deliveryId)
        .executeTakeFirstOrThrow()
      expect(stored.status).toBe('failed')
    } finally {
      receiver.answer(() => ({ status: 200, body: 'ok' }))
    }
  })

  it('refuses targets in private ranges the operator did not allow', async () => {
    for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest', 'http://[fd00::1]/hook']) {
      const refused = await call('POST', '/webhooks', { url, events: ['*'] })
      expect(refused.status, url).toBe(422)
      expect(refused.body.error).toMatchObject({
        code: 'validation_error',
        message: /TRIBUTARY_OUTBOUND_ALLOW/,
        details: { issues: [{ field: 'url' }] },
      })
    }
    const hook = await subscribe({ events: ['*'] })
    const patched = await call('PATCH', `/webhooks/${hook.id}`, { url: 'http://192.168.1.1/hook' })
    expect(patched.status).toBe(422)
    expect(patched.body.error.details.issues[0].field).toBe('url')
  })

  it('a project key with admin manages its own project’s webhooks only', async () => {
    const project = await createProject(app, orgKey, 'Keyed')
    const other = await createProject(app, orgKey, 'Not keyed')
    const { key } = await createProjectKey(app, orgKey, project.id, ['admin'])
    const own = await subscribe({ events: ['*'] }, key)
    expect(own.project_id).toBe(project.id)
    const elsewhere = await call('POST', '/webhooks', { url: receiver.url, events: ['*'], project_id: other.id }, key)
    expect(elsewhere.status).toBe(404)
    const ofOrg = await subscribe({ events: ['*'] })
    expect((await call('GET', `/webhooks/${ofOrg.id}`, undefined, key)).status).toBe(404)
    expect((await call('PATCH', `/webhooks/${own.id}`, { project_id: null }, key)).status).toBe(403)
    const listed = (await call('GET', '/webhooks', undefined, key)).body.data as { id: string }[]
    expect(listed.map((webhook) => webhook.id)).toEqual([own.id])
  })
})
