import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, expect, it } from 'vitest'

import { startServerProcess, type ServerProcess } from './server-process.js'

const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-restart-'))
const running: ServerProcess[] = []
afterAll(async () => {
  for (const server of running) await server.stop('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

async function start() {
  const server = await startServerProcess({ TRIBUTARY_DATA_DIR: dataDir, LOG_LEVEL: 'info' })
  running.push(server)
  return server
}

async function call(server: ServerProcess, method: string, url: string, key: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}/api/v1${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  return { status: response.status, body: (await response.json()) as any }
}

it('bootstraps a platform key once, keeps every write across a restart, and shuts down cleanly', async () => {
  const first = await start()
  const keyFile = path.join(dataDir, 'admin.key')
  const adminKey = readFileSync(keyFile, 'utf8').trim()
  expect(adminKey).toMatch(/^trb_[\w-]{43}$/)
  expect(statSync(keyFile).mode & 0o777).toBe(0o600)
  expect(first.output()).toContain(adminKey)

  const organization = await call(first, 'POST', '/organizations', adminKey, { name: 'Durable' })
  expect(organization.status).toBe(201)
  const orgKey = await call(first, 'POST', `/organizations/${organization.body.id}/api-keys`, adminKey, {
    name: 'ops',
  })
  const project = await call(first, 'POST', '/projects', orgKey.body.key, { name: 'Survives', description: 'é' })
  expect(project.status).toBe(201)

  // A request in flight when SIGTERM arrives still gets its answer.
  const inFlight = call(first, 'GET', `/projects/${project.body.id}`, orgKey.body.key)
  await new Promise((resolve) => setTimeout(resolve, 5))
  const exitCode = first.stop('SIGTERM')
  expect((await inFlight).status).toBe(200)
  expect(await exitCode).toBe(0)
  expect(first.output()).toContain('"msg":"stopped"')

  const second = await start()
  expect(second.output()).not.toContain('platform key (shown once')
  expect(readFileSync(keyFile, 'utf8').trim()).toBe(adminKey)
  const reread = await call(second, 'GET', `/projects/${project.body.id}`, orgKey.body.key)
  expect(reread.status).toBe(200)
  expect(reread.body).toEqual(project.body)
  const audit = await call(second, 'GET', '/audit-log?limit=10', orgKey.body.key)
  expect(audit.body.data.map((entry: { action: string }) => entry.action)).toContain('project.create')
  expect(await second.stop('SIGINT')).toBe(0)
}, 120_000)

it('refuses to start on invalid configuration, naming the setting', async () => {
  await expect(startServerProcess({ TRIBUTARY_DATA_DIR: dataDir, PORT: 'eighty' }, 20_000)).rejects.toThrow(/PORT/)
}, 30_000)
