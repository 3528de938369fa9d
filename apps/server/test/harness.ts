import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { serve } from '@hono/node-server'
import { describe, inject } from 'vitest'

import { createTributary, type Tributary } from '../src/composition.js'
import { loadConfig } from '../src/config/config.js'
import { createLogger, type Logger } from '../src/lib/logger.js'
import type { LanguageModelProvider } from '../src/modules/ai/language-models.js'
import { generateToken } from '../src/lib/secrets.js'

export type StoreKind = 'pglite' | 'postgres'
export const STORE_KINDS: StoreKind[] = ['pglite', 'postgres']

/** Runs a suite once per metadata store; the PostgreSQL run skips with its reason when no server is there. */
export function describeEachStore(name: string, suite: (kind: StoreKind) => void): void {
  for (const kind of STORE_KINDS) {
    const skipReason = kind === 'postgres' ? inject('postgresSkipReason') : null
    if (skipReason) {
      describe.skip(`${name} [${kind}: skipped, ${skipReason}]`, () => suite(kind))
    } else {
      describe(`${name} [${kind}]`, () => suite(kind))
    }
  }
}

export interface ApiResponse<T = any> {
  status: number
  body: T
  headers: Headers
}

export interface RequestOptions {
  key?: string | undefined
  body?: unknown
  /** Sent as is, instead of JSON-encoding `body`. */
  rawBody?: string
  headers?: Record<string, string>
}

export interface TestApp {
  tributary: Tributary
  platformKey: string
  /** The app's own data directory, removed on close. */
  dataDir: string
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>
  close(): Promise<void>
}

export interface TestAppOptions {
  env?: Record<string, string>
  /** Where the app logs; silent unless TEST_LOG_LEVEL says otherwise. */
  logger?: Logger
  /** The AI SDK models to use, e.g. `fixedLanguageModels(new MockLanguageModelV4(…))`: never the network. */
  languageModels?: LanguageModelProvider
  /** "Now" for relative dates in questions. */
  now?: () => Date
}

/** The real app, in process, on a fresh in-memory PGlite or on the run's PostgreSQL database. */
export async function startTestApp(kind: StoreKind, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-test-'))
  const postgresUrl = kind === 'postgres' ? inject('postgresUrl') : null
  if (kind === 'postgres' && !postgresUrl) throw new Error('PostgreSQL is not available for this run')
  const config = loadConfig({
    TRIBUTARY_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    TRIBUTARY_SECRET_KEY: generateToken('test-secret-'),
    TRIBUTARY_RATE_LIMIT_PER_MINUTE: '100000',
    ...(postgresUrl ? { DATABASE_URL: postgresUrl, DATABASE_POOL_SIZE: '4' } : {}),
    ...options.env,
  })
  const tributary = await createTributary(
    config,
    options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    {
      ...(kind === 'pglite' ? { inMemoryMetadata: { snapshot: pgliteSnapshot() } } : {}),
      ...(options.languageModels ? { languageModels: options.languageModels } : {}),
      ...(options.now ? { now: options.now } : {}),
    },
  )
  const platformKey = generateToken()
  await tributary.services.apiKeys.bootstrapPlatformKey(platformKey)

  return {
    tributary,
    platformKey,
    dataDir,
    async request(method, url, { key, body, rawBody, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } }
      const allHeaders = init.headers as Record<string, string>
      if (key) allHeaders.authorization = `Bearer ${key}`
      if (rawBody !== undefined) {
        init.body = rawBody
      } else if (body !== undefined) {
        init.body = JSON.stringify(body)
        allHeaders['content-type'] ??= 'application/json'
      }
      const response = await tributary.app.request(url, init)
      const text = await response.text()
      let parsed: unknown = text
      if ((response.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text)
      return { status: response.status, body: parsed as never, headers: response.headers }
    },
    async close() {
      await tributary.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export interface Listening {
  port: number
  baseUrl: string
  close(): Promise<void>
}

/**
 * Serves a test app on 127.0.0.1 through the same Node adapter as `main.ts`, for what
 * `app.request()` cannot send: bodies cut short, sockets closed mid-request.
 */
export async function listen(app: TestApp): Promise<Listening> {
  const server = serve({ fetch: app.tributary.app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  if (!server.listening) await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
    },
  }
}

let snapshot: Blob | undefined
function pgliteSnapshot(): Blob {
  snapshot ??= new Blob([readFileSync(inject('pgliteSnapshotPath'))])
  return snapshot
}

export const API = '/api/v1'

/** An organization with an organization key (admin scope), made through the API as an operator would. */
export async function createOrganization(app: TestApp, name = 'Org') {
  const org = await app.request('POST', `${API}/organizations`, { key: app.platformKey, body: { name } })
  if (org.status !== 201) throw new Error(`creating organization failed: ${JSON.stringify(org.body)}`)
  const key = await app.request('POST', `${API}/organizations/${org.body.id}/api-keys`, {
    key: app.platformKey,
    body: { name: `${name} key` },
  })
  if (key.status !== 201) throw new Error(`creating organization key failed: ${JSON.stringify(key.body)}`)
  return { organization: org.body, orgKey: key.body.key as string, orgKeyId: key.body.id as string }
}

export async function createProject(app: TestApp, key: string, name = 'Project', extra: Record<string, unknown> = {}) {
  const project = await app.request('POST', `${API}/projects`, { key, body: { name, ...extra } })
  if (project.status !== 201) throw new Error(`creating project failed: ${JSON.stringify(project.body)}`)
  return project.body
}

export async function createProjectKey(app: TestApp, key: string, projectId: string, scopes?: string[]) {
  const created = await app.request('POST', `${API}/projects/${projectId}/api-keys`, {
    key,
    body: { name: 'project key', ...(scopes ? { scopes } : {}) },
  })
  if (created.status !== 201) throw new Error(`creating project key failed: ${JSON.stringify(created.body)}`)
  return { key: created.body.key as string, id: created.body.id as string }
}

/** A signed-in user of the given role, created by the organization key. Returns a session token. */
export async function createUserSession(
  app: TestApp,
  orgKey: string,
  role: 'admin' | 'editor' | 'viewer',
  email?: string,
) {
  const address = email ?? `${role}-${Math.random().toString(36).slice(2)}@example.com`
  const password = 'correct horse battery staple'
  const user = await app.request('POST', `${API}/users`, { key: orgKey, body: { email: address, role, password } })
  if (user.status !== 201) throw new Error(`creating user failed: ${JSON.stringify(user.body)}`)
  const login = await app.request('POST', `${API}/auth/login`, { body: { email: address, password } })
  if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`)
  return { user: user.body, token: login.body.token as string, password }
}

export interface ServerSentEvent {
  event: string
  data: any
}

/** Splits a server-sent event stream into events; `data` is the JSON of its data lines (null if none). */
export function parseServerSentEvents(text: string): ServerSentEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n')
      const event =
        lines
          .find((line) => line.startsWith('event:'))
          ?.slice(6)
          .trim() ?? 'message'
      const data = lines
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n')
      return { event, data: data ? JSON.parse(data) : null }
    })
}
