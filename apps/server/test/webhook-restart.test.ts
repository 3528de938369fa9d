import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, beforeAll, expect, inject, it } from 'vitest'

import { generateToken } from '../src/lib/secrets.js'
import { SIGNATURE_HEADER, verifySignature } from '../src/lib/outbound/signed-request.js'
import { type Receiver, startReceiver } from '../src/modules/webhooks/webhook-receiver.test-support.js'
import { STORE_KINDS } from './harness.js'
import { startServerProcess, type ServerProcess } from './server-process.js'

/**
 * A delivery is a durable job: the server is killed with SIGKILL after the event was recorded and
 * before the receiver answered, and the next server on the same store delivers it, once.
 */
const adminKey = generateToken()
const directories: string[] = []
const running: ServerProcess[] = []
let receiver: Receiver

beforeAll(async () => {
  receiver = await startReceiver()
})
afterAll(async () => {
  for (const server of running) await server.stop('SIGKILL')
  for (const directory of directories) rmSync(directory, { recursive: true, force: true })
  await receiver?.close()
})

async function call(server: ServerProcess, method: string, url: string, key: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}/api/v1${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  return { status: response.status, body: (await response.json()) as any }
}

for (const store of STORE_KINDS) {
  const postgresUrl = store === 'postgres' ? inject('postgresUrl') : null
  const skip = store === 'postgres' && !postgresUrl ? inject('postgresSkipReason') : null
  it.skipIf(skip !== null)(
    `[${store}${skip ? `: skipped, ${skip}` : ''}] a delivery cut short by kill -9 arrives once after the restart`,
    async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-webhook-restart-'))
      directories.push(dataDir)
      const start = async () => {
        const server = await startServerProcess({
          TRIBUTARY_DATA_DIR: dataDir,
          TRIBUTARY_ADMIN_KEY: adminKey,
          LOG_LEVEL: 'info',
          TRIBUTARY_OUTBOUND_ALLOW: 'loopback',
          TRIBUTARY_JOB_POLL_INTERVAL_MS: '100',
          TRIBUTARY_JOB_RETRY_DELAY_MS: '100',
          ...(postgresUrl ? { DATABASE_URL: postgresUrl, TRIBUTARY_JOB_LEASE_MS: '2000' } : {}),
        } satisfies Record<string, string>)
        running.push(server)
        return server
      }
      const first = await start()
      const organization = await call(first, 'POST', '/organizations', adminKey, { name: `Restart ${store}` })
      const key = (
        await call(first, 'POST', `/organizations/${organization.body.id}/api-keys`, adminKey, { name: 'k' })
      ).body.key as string
      const project = await call(first, 'POST', '/projects', key, { name: 'Survives' })
      const hook = await call(first, 'POST', '/webhooks', key, {
        url: `${receiver.url}/${store}`,
        events: ['query_job.succeeded'],
        project_id: project.body.id,
      })
      expect(hook.status, JSON.stringify(hook.body)).toBe(201)
      const mine = (request: { path: string }) => request.path.endsWith(`/${store}`)
      // The first request is never answered: the server dies with the delivery in flight.
      receiver.answer((request) =>
        mine(request) && receiver.requests.filter(mine).length === 0 ? 'hold' : { status: 200, body: 'ok' },
      )

      const job = await call(first, 'POST', `/projects/${project.body.id}/query-jobs`, key, { sql: 'select 42 as x' })
      expect(job.status, JSON.stringify(job.body)).toBe(202)
      const [held] = await receiver.waitFor(1, mine)
      await first.stop('SIGKILL')
      running.splice(running.indexOf(first), 1)

      const second = await start()
      const arrived = await receiver.waitFor(2, mine)
      // A third request (a second delivery of the event) would come within a few polls.
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(receiver.requests.filter(mine)).toHaveLength(2)
      const again = arrived[1]!
      expect(again.body).toBe(held!.body)
      expect(again.event).toMatchObject({ type: 'query_job.succeeded', data: { query_job_id: job.body.id } })
      expect(again.headers['x-tributary-delivery-id']).toBe(held!.headers['x-tributary-delivery-id'])
      const signature = String(again.headers[SIGNATURE_HEADER])
      expect(verifySignature(hook.body.signing_secret, again.body, signature)).toBe(true)

      const log = await call(second, 'GET', `/webhooks/${hook.body.id}/deliveries`, key)
      expect(log.body.data).toHaveLength(1)
      expect(log.body.data[0]).toMatchObject({
        id: again.headers['x-tributary-delivery-id'],
        event_id: again.event.id,
        status: 'succeeded',
        attempts: [{ status_code: 200, ok: true }],
      })
      await second.stop('SIGTERM')
      running.splice(running.indexOf(second), 1)
    },
    // Two server starts on a store on disk: slow on a busy machine.
    180_000,
  )
}
