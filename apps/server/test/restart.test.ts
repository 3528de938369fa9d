import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, expect, it } from 'vitest'

import { isRunning, START_SCRIPT, startServerProcess, type ServerProcess } from './server-process.js'

const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-restart-'))
const npmDataDir = mkdtempSync(path.join(tmpdir(), 'tributary-npm-start-'))
const running: ServerProcess[] = []
afterAll(async () => {
  for (const server of running) await server.stop('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(npmDataDir, { recursive: true, force: true })
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

it('npm start: a SIGTERM to npm reaches the server, which finishes the request in flight and exits 0', async () => {
  // `exec` is what puts the server where npm's signal lands; without it the shell dies and the server stays.
  expect(START_SCRIPT).toMatch(/^exec node /)
  const server = await startServerProcess({ TRIBUTARY_DATA_DIR: npmDataDir, LOG_LEVEL: 'info' }, { via: 'npm' })
  running.push(server)
  expect(server.serverPid).not.toBe(server.child.pid)
  const adminKey = readFileSync(path.join(npmDataDir, 'admin.key'), 'utf8').trim()

  // A request whose body is still arriving when the signal comes is in flight for certain.
  const body = JSON.stringify({ name: 'Created while stopping' })
  const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
  const closed = once(socket, 'close')
  socket.write(
    `POST /api/v1/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${adminKey}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
  )
  await new Promise((resolve) => setTimeout(resolve, 200))
  const exitCode = server.stop('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 500))
  expect(isRunning(server.serverPid)).toBe(true)
  socket.end(body.slice(10))
  await closed
  expect(received).toMatch(/^HTTP\/1\.1 201 /)
  expect(received).toContain('"name":"Created while stopping"')

  expect(await exitCode).toBe(0)
  expect(isRunning(server.serverPid)).toBe(false)
  expect(server.output()).toContain('"signal":"SIGTERM"')
  expect(server.output()).toContain('"msg":"stopped"')
}, 120_000)
