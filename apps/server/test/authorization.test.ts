import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

import type {
  ApiKey,
  AuditEntry,
  CreatedApiKey,
  Invitation,
  Organization,
  Page,
  Project,
  User,
  Workspace,
} from '@tributary/contract'
import Database from 'better-sqlite3'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { SessionTokens } from '../src/auth/session-tokens.js'
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
} from './harness.js'

/**
 * The role matrix, route by route and caller by caller, as src/auth/access.ts and the services
 * implement it; then authentication failures, and role changes that must take effect at once.
 */

interface ErrorBody {
  error: { code: string; message: string; request_id: string; details?: unknown }
}

interface Session {
  user: User
  token: string
  password: string
}

const WHO = [
  'platform key',
  "org key ['*']",
  "org key ['query']",
  "project key ['*']",
  "project key ['query']",
  'admin',
  'editor',
  'viewer',
] as const
type Who = (typeof WHO)[number]

const USERS: readonly Who[] = ['admin', 'editor', 'viewer']
const PROJECT_KEYS: readonly Who[] = ["project key ['*']", "project key ['query']"]
const TENANTS: readonly Who[] = WHO.filter((who) => who !== 'platform key')
/** Who may ask another organization for access for the fixture project, or withdraw what it asked. */
const APPROVAL_REQUESTERS: readonly Who[] = ["org key ['*']", "project key ['*']", 'admin', 'editor']

function expectError(response: ApiResponse, status: number, code: string): void {
  const body = response.body as ErrorBody
  expect({ status: response.status, code: body?.error?.code }, JSON.stringify(body)).toEqual({ status, code })
  expect(body.error.message).toMatch(/\S/)
  expect(body.error.request_id).toMatch(/\S/)
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'))
}

const email = (tag: string) => `${tag}-${randomUUID()}@example.com`
const uniqueName = (tag: string) => `${tag} ${randomUUID().slice(0, 8)}`

/** Keys as a listing shows them, without `last_used_at`, which every use of a key moves. */
const stableKeys = (keys: ApiKey[]) =>
  keys.map(({ last_used_at: _lastUsed, ...rest }) => rest).sort((a, b) => a.id.localeCompare(b.id))

interface Fixture {
  organization: Organization
  orgKey: string
  orgKeyId: string
  orgQueryKey: string
  orgQueryKeyId: string
  defaultWorkspace: Workspace
  secondWorkspace: Workspace
  project: Project
  projectAllKey: { key: string; id: string }
  projectQueryKey: { key: string; id: string }
  admin: Session
  editor: Session
  viewer: Session
}

interface Target {
  path: string
  body?: unknown
  /** Observes what the request may change: equal before and after a refusal, different after a success. */
  probe?: () => Promise<unknown>
}

interface MatrixRoute {
  route: string
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** The success status per caller; every caller not named gets 403 `authorization_error`. */
  allowed: Partial<Record<Who, number>>
  target: (who: Who) => Target | Promise<Target>
  verify?: (response: ApiResponse, who: Who, target: Target) => void | Promise<void>
}

const only = (whos: readonly Who[], status: number): Partial<Record<Who, number>> =>
  Object.fromEntries(whos.map((who) => [who, status]))

describeEachStore('authorization', (kind) => {
  let app: TestApp
  let f: Fixture
  let expiring: { key: string; expiresAt: number; statusBeforeExpiry: number }

  function keyOf(who: Who): string {
    switch (who) {
      case 'platform key':
        return app.platformKey
      case "org key ['*']":
        return f.orgKey
      case "org key ['query']":
        return f.orgQueryKey
      case "project key ['*']":
        return f.projectAllKey.key
      case "project key ['query']":
        return f.projectQueryKey.key
      case 'admin':
      case 'editor':
      case 'viewer':
        return f[who].token
    }
  }

  const get = <T = unknown>(path: string, key: string) => app.request<T>('GET', `${API}${path}`, { key })

  async function listAll<T extends { id: string }>(path: string, key: string): Promise<T[]> {
    const items: T[] = []
    let cursor: string | null = null
    do {
      const page: ApiResponse<Page<T>> = await get<Page<T>>(
        `${path}?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
        key,
      )
      expect(page.status, JSON.stringify(page.body)).toBe(200)
      items.push(...page.body.data)
      cursor = page.body.next_cursor
    } while (cursor)
    return items
  }

  const idsOf = async (path: string, key = f.orgKey) => (await listAll(path, key)).map((item) => item.id).sort()
  const readBack = async (path: string, key = f.orgKey) => {
    const response = await get(path, key)
    return { status: response.status, body: response.body }
  }
  const statusWith = async (key: string, path: string) => (await get(path, key)).status

  async function freshWorkspace(): Promise<Workspace> {
    const created = await app.request<Workspace>('POST', `${API}/workspaces`, {
      key: f.orgKey,
      body: { name: uniqueName('Workspace') },
    })
    expect(created.status).toBe(201)
    return created.body
  }
  const freshProject = async () => (await createProject(app, f.orgKey, uniqueName('Project'))) as Project

  /** Another organization whose datasets the fixture project asks for, and whose projects ask the fixture. */
  let lender: { orgKey: string; projectId: string } | undefined
  const lenderOf = async () => {
    if (!lender) {
      const { orgKey } = await createOrganization(app, uniqueName('Lender'))
      lender = { orgKey, projectId: (await createProject(app, orgKey, 'Lending')).id }
    }
    return lender
  }
  const lenderDataset = async () => {
    const { orgKey, projectId } = await lenderOf()
    const created = await app.request('POST', `${API}/projects/${projectId}/datasets`, {
      key: orgKey,
      body: { name: `d_${randomUUID().slice(0, 8)}` },
    })
    expect(created.status).toBe(201)
    return created.body.id as string
  }
  /** A pending request of the fixture project, for a fresh dataset of the lender. */
  const approvalFromFixture = async () => {
    const asked = await app.request('POST', `${API}/approvals/project-dataset`, {
      key: f.orgKey,
      body: { project_id: f.project.id, dataset_id: await lenderDataset(), catalog: `s_${randomUUID().slice(0, 8)}` },
    })
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    return asked.body.id as string
  }
  /** A pending request of a fresh lender project, asking the fixture organization to share. */
  const approvalToFixture = async () => {
    const { orgKey } = await lenderOf()
    const project = await createProject(app, orgKey, uniqueName('Asking'))
    const asked = await app.request('POST', `${API}/approvals/project-tenant`, {
      key: orgKey,
      body: { project_id: project.id, tenant_id: f.organization.id },
    })
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    return asked.body.id as string
  }
  async function freshInvitee(): Promise<User> {
    const invited = await app.request<Invitation>('POST', `${API}/users/invite`, {
      key: f.orgKey,
      body: { email: email('invitee'), role: 'viewer' },
    })
    expect(invited.status).toBe(201)
    return invited.body.user
  }
  async function freshOrganizationKey(): Promise<CreatedApiKey> {
    const created = await app.request<CreatedApiKey>('POST', `${API}/organizations/${f.organization.id}/api-keys`, {
      key: app.platformKey,
      body: { name: uniqueName('Organization key') },
    })
    expect(created.status).toBe(201)
    return created.body
  }

  /** A golden SQL pair of the fixture's project, made by the organization key. */
  async function freshGoldenSql(question = uniqueName('Question')): Promise<string> {
    const created = await app.request<{ id: string }>('POST', `${API}/projects/${f.project.id}/golden-sql`, {
      key: f.orgKey,
      body: { question, sql: 'select 1 as one' },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }
  const goldenSqlPath = (id?: string) => `/projects/${f.project.id}/golden-sql${id ? `/${id}` : ''}`
  /** Asking: every member by role; keys with `ask` (or `*`). */
  const ASKERS: readonly Who[] = ["org key ['*']", "project key ['*']", 'admin', 'editor', 'viewer']
  /** A thread of the fixture's project with one answered message, started by `who` when it may ask. */
  async function freshThread(who: Who): Promise<{ path: string; messageId: string }> {
    const asked = await app.request<{ thread_id: string; message_id: string }>(
      'POST',
      `${API}/projects/${f.project.id}/ask`,
      { key: ASKERS.includes(who) ? keyOf(who) : f.orgKey, body: { question: uniqueName('How many rows') } },
    )
    expect(asked.status, JSON.stringify(asked.body)).toBe(200)
    return { path: `/projects/${f.project.id}/threads/${asked.body.thread_id}`, messageId: asked.body.message_id }
  }
  /** Members of the organization (users by role, organization keys); not project keys, not the platform key. */
  const AI_READERS: readonly Who[] = ["org key ['*']", "org key ['query']", 'admin', 'editor', 'viewer']
  /** Golden SQL is the project's semantic layer: editors, admins and keys with `metadata` (or `*`) write it. */
  const GOLDEN_SQL_WRITERS: readonly Who[] = ["org key ['*']", "project key ['*']", 'admin', 'editor']

  /** Agents: organization admins change the registry; keys with `agents` (or `*`) and every member call. */
  const AGENT_ADMINS: readonly Who[] = ["org key ['*']", 'admin']
  const AGENT_CALLERS: readonly Who[] = ["org key ['*']", "project key ['*']", 'admin', 'editor', 'viewer']
  /** An agent assigned to the fixture's project, on a loopback port where nothing listens (the app allows loopback). */
  async function freshAgent(assign = true): Promise<string> {
    const created = await app.request<{ id: string }>('POST', `${API}/agents`, {
      key: f.orgKey,
      body: {
        name: uniqueName('Agent'),
        protocol: 'A2A',
        endpoint_url: 'http://127.0.0.1:1/agent',
        ...(assign ? { project_id: f.project.id } : {}),
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }

  /** Webhooks: organization admins manage them; a project key with `admin` (or `*`) those of its project. */
  const WEBHOOK_MANAGERS: readonly Who[] = ["org key ['*']", "project key ['*']", 'admin']
  /** A webhook of the fixture's project, on a loopback port where nothing listens (the app allows loopback). */
  async function freshWebhook(): Promise<string> {
    const created = await app.request<{ id: string }>('POST', `${API}/webhooks`, {
      key: f.orgKey,
      body: { url: 'http://127.0.0.1:1/hook', events: ['*'], project_id: f.project.id },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }

  /** A semantic catalog of the fixture's project, made by the organization key. */
  async function freshSemanticCatalog(): Promise<string> {
    const name = `sc_${randomBytes(6).toString('hex')}`
    const created = await app.request('POST', `${API}/projects/${f.project.id}/semantic-catalogs`, {
      key: f.orgKey,
      body: { name },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return name
  }
  /** A saved query that can be published (no source needed). */
  async function freshPublishableQuery(): Promise<string> {
    const created = await app.request<{ id: string }>('POST', `${API}/projects/${f.project.id}/queries`, {
      key: f.orgKey,
      body: { display_name: uniqueName('Publishable'), sql: 'select 1 as one' },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }
  async function freshSemanticTable(catalog: string): Promise<string> {
    const created = await app.request<{ id: string }>(
      'POST',
      `${API}/projects/${f.project.id}/semantic-catalogs/${catalog}/tables`,
      { key: f.orgKey, body: { table: 't', query_id: await freshPublishableQuery() } },
    )
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }
  const semanticPath = (rest = '') => `/projects/${f.project.id}/semantic-catalogs${rest}`

  /** A table of the fixture project's `internal` catalog, made by the organization key: `internal.<dataset>.t`. */
  async function freshInternalTable(): Promise<{ schema: string; table: string }> {
    const schema = `meta_${randomBytes(6).toString('hex')}`
    const dataset = await app.request<{ id: string }>('POST', `${API}/projects/${f.project.id}/datasets`, {
      key: f.orgKey,
      body: { name: schema },
    })
    expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
    const table = await app.request('POST', `${API}/projects/${f.project.id}/datasets/${dataset.body.id}/tables`, {
      key: f.orgKey,
      body: { name: 't', schema: [{ name: 'id', type: 'BIGINT' }] },
    })
    expect(table.status, JSON.stringify(table.body)).toBe(201)
    return { schema, table: 't' }
  }
  const metadataPath = (rest = '') => `/projects/${f.project.id}/metadata${rest}`
  /** Project metadata is the semantic layer too: written as golden SQL is. */
  const METADATA_WRITERS = GOLDEN_SQL_WRITERS
  async function freshMetadataRefresh(): Promise<string> {
    const started = await app.request<{ id: string }>('POST', `${API}${metadataPath('/refresh')}`, {
      key: f.orgKey,
      body: { catalog: 'internal' },
    })
    expect(started.status, JSON.stringify(started.body)).toBe(202)
    return started.body.id
  }
  /** A manual relation between two fresh `internal` tables, made by the organization key. */
  async function freshRelation(): Promise<string> {
    const [from, to] = await Promise.all([freshInternalTable(), freshInternalTable()])
    const created = await app.request<{ id: string }>('POST', `${API}${metadataPath('/relations')}`, {
      key: f.orgKey,
      body: {
        from: { catalog: 'internal', schema: from.schema, table: from.table, columns: ['id'] },
        to: { catalog: 'internal', schema: to.schema, table: to.table, columns: ['id'] },
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }
  /** The categorical path of the `id` column of a fresh `internal` table. */
  async function freshCategoricalPath(marked: boolean): Promise<string> {
    const { schema, table } = await freshInternalTable()
    const path = metadataPath(`/internal/${schema}/${table}/columns/id/categorical`)
    if (marked) {
      const set = await app.request('PUT', `${API}${path}`, { key: f.orgKey, body: { limit: 5, refresh: 'P1D' } })
      expect(set.status, JSON.stringify(set.body)).toBe(200)
    }
    return path
  }
  /** Semantic catalogs are the project's semantic layer: written as golden SQL is. */
  const SEMANTIC_WRITERS = GOLDEN_SQL_WRITERS
  /** Sharing reaches another project: beyond a project key. */
  const SEMANTIC_SHARERS: readonly Who[] = ["org key ['*']", 'admin', 'editor']

  /** A SQLite source of the fixture's project (catalog `src`, tables t0…t199), made once, to cache tables of. */
  let cacheSource: Promise<void> | undefined
  let cachedTables = 0
  async function freshCacheTable(): Promise<{ catalog: string; schema: string; table: string }> {
    cacheSource ??= (async () => {
      const files = join(app.dataDir, 'files')
      mkdirSync(files, { recursive: true })
      const db = new Database(join(files, 'src.sqlite'))
      for (let n = 0; n < 200; n++) db.exec(`create table t${n} (id integer primary key)`)
      db.close()
      const created = await app.request('POST', `${API}/projects/${f.project.id}/connections`, {
        key: f.orgKey,
        body: { name: 'Cache source', type: 'sqlite', config: { path: 'src.sqlite' }, catalog: 'src' },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
    })()
    await cacheSource
    return { catalog: 'src', schema: 'main', table: `t${cachedTables++}` }
  }
  /** A cache of a fresh table, made by the organization key. */
  async function freshCache(): Promise<string> {
    const created = await app.request<{ id: string }>('POST', `${API}/projects/${f.project.id}/caches`, {
      key: f.orgKey,
      body: await freshCacheTable(),
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }
  const cachePath = (rest = '') => `/projects/${f.project.id}/caches${rest}`
  /** A materialized query needing no source, made by the organization key. */
  async function freshMaterializedQuery(): Promise<string> {
    const created = await app.request<{ id: string }>('POST', `${API}/projects/${f.project.id}/queries`, {
      key: f.orgKey,
      body: { display_name: uniqueName('Materialized'), sql: 'select 1 as one', query_type: 'MATERIALIZED' },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }
  /** Caches copy the project's sources: written by those who manage its connections. */
  const CACHE_WRITERS = GOLDEN_SQL_WRITERS

  /** Workflows: members by role and keys with `workflows` (or `*`) read and preview; writers as golden SQL. */
  const WORKFLOW_READERS = ASKERS
  const WORKFLOW_WRITERS = GOLDEN_SQL_WRITERS
  const workflowPath = (rest = '') => `/projects/${f.project.id}/workflows${rest}`
  /** A workflow of one SQL step whose webhook targets a closed loopback port, made by the organization key. */
  async function freshWorkflow(): Promise<string> {
    const created = await app.request<{ id: string }>('POST', `${API}${workflowPath()}`, {
      key: f.orgKey,
      body: {
        name: uniqueName('Workflow'),
        steps: [{ name: 'one', sql: 'select 1 as one' }],
        actions: [{ type: 'webhook', url: 'http://127.0.0.1:1/hook', retries: 0 }],
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }

  /** Outbound credentials belong to workflows: read as workflows are, written as they are. */
  const credentialPath = (rest = '') => `/projects/${f.project.id}/credentials${rest}`
  async function freshCredential(): Promise<string> {
    const created = await app.request<{ id: string }>('POST', `${API}${credentialPath()}`, {
      key: f.orgKey,
      body: { name: uniqueName('Credential'), type: 'bearer', secret: 's3cret', allowed_hosts: ['hooks.example.com'] },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id
  }

  /** Access policies (issue 15): every member and key of the project reads them; admins and `admin`/`*` keys change them. */
  const POLICY_READERS = TENANTS
  const POLICY_MANAGERS: readonly Who[] = ["org key ['*']", "project key ['*']", 'admin']
  const privacyPath = (rest = '') => `/projects/${f.project.id}/privacy-policies${rest}`
  const rowPolicyPath = (rest = '') => `/projects/${f.project.id}/row-policies${rest}`
  const columnTagPath = (rest = '') => `/projects/${f.project.id}/column-tags${rest}`
  /** A policy (or tag) on a fresh internal table, made by the organization key: its path. */
  async function freshPolicy(path: (rest?: string) => string, body: (t: { schema: string }) => object) {
    const table = await freshInternalTable()
    const created = await app.request<{ id: string }>('POST', `${API}${path()}`, {
      key: f.orgKey,
      body: body(table),
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return path(`/${created.body.id}`)
  }
  const onId = (schema: string) => ({ catalog: 'internal', schema, table: 't', column: 'id' })
  const onTable = (schema: string) => ({ catalog: 'internal', schema, table: 't' })

  /** Dashboards: members by role and keys with `dashboards` (or `*`) read and refresh; writers as golden SQL. */
  const DASHBOARD_READERS = ASKERS
  const DASHBOARD_WRITERS = GOLDEN_SQL_WRITERS
  const dashboardPath = (rest = '') => `/projects/${f.project.id}/dashboards${rest}`
  const dashboardBody = (name: string) => ({
    name,
    widgets: [
      {
        type: 'metric',
        title: 'One',
        position: { x: 0, y: 0, w: 2, h: 2 },
        sql: 'select 1 as one',
        config: { value: 'one' },
      },
    ],
  })
  /** A dashboard of one metric widget, made by the organization key: its path and the widget's id. */
  async function freshDashboard(): Promise<{ path: string; widgetId: string }> {
    const created = await app.request<{ id: string; widgets: { id: string }[] }>('POST', `${API}${dashboardPath()}`, {
      key: f.orgKey,
      body: dashboardBody(uniqueName('Dashboard')),
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return { path: dashboardPath(`/${created.body.id}`), widgetId: created.body.widgets[0]!.id }
  }

  const ROUTES: MatrixRoute[] = [
    // ── Organizations: the platform key's business; a tenant may read its own.
    {
      route: 'POST /organizations',
      method: 'POST',
      allowed: { 'platform key': 201 },
      target: () => ({ path: '/organizations', body: { name: uniqueName('Organization') } }),
      verify: async (response, _who, target) => {
        const created = response.body as Organization
        expect(created.name).toBe((target.body as { name: string }).name)
        expect((await get(`/organizations/${created.id}`, app.platformKey)).status).toBe(200)
      },
    },
    {
      route: 'GET /organizations',
      method: 'GET',
      allowed: { 'platform key': 200 },
      target: () => ({ path: '/organizations' }),
      verify: async () => expect(await idsOf('/organizations', app.platformKey)).toContain(f.organization.id),
    },
    {
      route: 'GET /organizations/{own}',
      method: 'GET',
      allowed: only(WHO, 200),
      target: () => ({ path: `/organizations/${f.organization.id}` }),
      verify: (response) => expect(response.body).toEqual(f.organization),
    },
    {
      route: 'PATCH /organizations/{own}',
      method: 'PATCH',
      allowed: { 'platform key': 200 },
      target: (who) => ({
        path: `/organizations/${f.organization.id}`,
        body: { description: `by ${who}` },
        probe: () => readBack(`/organizations/${f.organization.id}`, app.platformKey),
      }),
      verify: (response, who) => expect((response.body as Organization).description).toBe(`by ${who}`),
    },
    {
      route: 'DELETE /organizations/{id}',
      method: 'DELETE',
      allowed: { 'platform key': 204 },
      // A tenant tries its own organization; the platform key deletes a throwaway one.
      target: async (who) => {
        const id =
          who === 'platform key'
            ? (await createOrganization(app, uniqueName('Doomed'))).organization.id
            : f.organization.id
        return { path: `/organizations/${id}`, probe: () => readBack(`/organizations/${id}`, app.platformKey) }
      },
    },
    {
      route: 'POST /organizations/{own}/api-keys',
      method: 'POST',
      allowed: { 'platform key': 201 },
      target: () => ({
        path: `/organizations/${f.organization.id}/api-keys`,
        body: { name: uniqueName('Key') },
        probe: () => idsOf(`/organizations/${f.organization.id}/api-keys`, app.platformKey),
      }),
      verify: async (response) => {
        const created = response.body as CreatedApiKey
        expect(created).toMatchObject({
          kind: 'organization',
          organization_id: f.organization.id,
          project_id: null,
          scopes: ['*'],
        })
        expect(created.key).toMatch(/^trb_/)
        expect(created.prefix).toBe(created.key.slice(0, created.prefix.length))
        expect(await statusWith(created.key, '/workspaces')).toBe(200)
      },
    },
    {
      route: 'GET /organizations/{own}/api-keys',
      method: 'GET',
      allowed: { 'platform key': 200 },
      target: () => ({ path: `/organizations/${f.organization.id}/api-keys` }),
      verify: (response) => {
        const keys = (response.body as Page<ApiKey>).data
        expect(keys.map((k) => k.id)).toEqual(expect.arrayContaining([f.orgKeyId, f.orgQueryKeyId]))
        expect(keys.every((k) => k.kind === 'organization' && k.organization_id === f.organization.id)).toBe(true)
        expect(JSON.stringify(keys)).not.toContain(f.orgKey)
      },
    },
    {
      route: 'DELETE /organizations/{own}/api-keys/{id}',
      method: 'DELETE',
      allowed: { 'platform key': 204 },
      target: async () => {
        const doomed = await freshOrganizationKey()
        return {
          path: `/organizations/${f.organization.id}/api-keys/${doomed.id}`,
          probe: () => statusWith(doomed.key, `/organizations/${f.organization.id}`),
        }
      },
    },

    // ── Workspaces: everyone reads (a project key only its project's); admins write.
    {
      route: 'POST /workspaces',
      method: 'POST',
      allowed: { "org key ['*']": 201, admin: 201 },
      target: () => ({
        path: '/workspaces',
        body: { name: uniqueName('Workspace') },
        probe: () => idsOf('/workspaces'),
      }),
      verify: (response, _who, target) =>
        expect(response.body).toMatchObject({
          organization_id: f.organization.id,
          name: (target.body as { name: string }).name,
          is_default: false,
        }),
    },
    {
      route: 'GET /workspaces',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: '/workspaces' }),
      verify: (response, who) => {
        const ids = (response.body as Page<Workspace>).data.map((w) => w.id)
        if (PROJECT_KEYS.includes(who)) expect(ids).toEqual([f.defaultWorkspace.id])
        else expect(ids).toEqual(expect.arrayContaining([f.defaultWorkspace.id, f.secondWorkspace.id]))
      },
    },
    {
      route: "GET /workspaces/{project's}",
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: `/workspaces/${f.defaultWorkspace.id}` }),
      verify: (response) => expect((response.body as Workspace).id).toBe(f.defaultWorkspace.id),
    },
    {
      route: "PATCH /workspaces/{project's}",
      method: 'PATCH',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: (who) => ({
        path: `/workspaces/${f.defaultWorkspace.id}`,
        body: { description: `by ${who}` },
        probe: () => readBack(`/workspaces/${f.defaultWorkspace.id}`),
      }),
      verify: (response, who) => expect((response.body as Workspace).description).toBe(`by ${who}`),
    },
    {
      route: 'DELETE /workspaces/{id}',
      method: 'DELETE',
      allowed: { "org key ['*']": 204, admin: 204 },
      // A project key tries the workspace it can see (its project's); everyone else an empty one.
      target: async (who) => {
        const id = PROJECT_KEYS.includes(who) ? f.defaultWorkspace.id : (await freshWorkspace()).id
        return { path: `/workspaces/${id}`, probe: () => readBack(`/workspaces/${id}`) }
      },
    },

    // ── Projects: everyone reads (a project key only its own); editors and admins write.
    {
      route: 'POST /projects',
      method: 'POST',
      allowed: { "org key ['*']": 201, admin: 201, editor: 201 },
      target: () => ({ path: '/projects', body: { name: uniqueName('Project') }, probe: () => idsOf('/projects') }),
      verify: (response) =>
        expect(response.body).toMatchObject({
          organization_id: f.organization.id,
          workspace_id: f.defaultWorkspace.id,
        }),
    },
    {
      route: 'GET /projects',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: '/projects' }),
      verify: (response, who) => {
        const ids = (response.body as Page<Project>).data.map((p) => p.id)
        if (PROJECT_KEYS.includes(who)) expect(ids).toEqual([f.project.id])
        else expect(ids).toContain(f.project.id)
      },
    },
    {
      route: 'GET /projects/{id}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: `/projects/${f.project.id}` }),
      verify: (response) => expect((response.body as Project).id).toBe(f.project.id),
    },
    {
      route: 'PATCH /projects/{id}',
      method: 'PATCH',
      allowed: { "org key ['*']": 200, admin: 200, editor: 200, "project key ['*']": 200 },
      target: (who) => ({
        path: `/projects/${f.project.id}`,
        body: { description: `by ${who}` },
        probe: () => readBack(`/projects/${f.project.id}`),
      }),
      verify: (response, who) => expect((response.body as Project).description).toBe(`by ${who}`),
    },
    {
      route: 'PATCH /projects/{id} {workspace_id}',
      method: 'PATCH',
      allowed: { "org key ['*']": 200, admin: 200, editor: 200 },
      // A project key tries to move its own project; everyone else moves a throwaway one.
      target: async (who) => {
        const id = PROJECT_KEYS.includes(who) ? f.project.id : (await freshProject()).id
        return {
          path: `/projects/${id}`,
          body: { workspace_id: f.secondWorkspace.id },
          probe: () => readBack(`/projects/${id}`),
        }
      },
      verify: (response) => expect((response.body as Project).workspace_id).toBe(f.secondWorkspace.id),
    },
    {
      route: 'DELETE /projects/{id}',
      method: 'DELETE',
      allowed: { "org key ['*']": 204, admin: 204, editor: 204 },
      target: async (who) => {
        const id = PROJECT_KEYS.includes(who) ? f.project.id : (await freshProject()).id
        return { path: `/projects/${id}`, probe: () => readBack(`/projects/${id}`) }
      },
    },

    // ── Project keys: whoever may change projects, but never a project key.
    {
      route: 'POST /projects/{id}/api-keys',
      method: 'POST',
      allowed: { "org key ['*']": 201, admin: 201, editor: 201 },
      target: () => ({
        path: `/projects/${f.project.id}/api-keys`,
        body: { name: uniqueName('Project key'), scopes: ['query'] },
        probe: () => idsOf(`/projects/${f.project.id}/api-keys`),
      }),
      verify: async (response) => {
        const created = response.body as CreatedApiKey
        expect(created).toMatchObject({
          kind: 'project',
          organization_id: f.organization.id,
          project_id: f.project.id,
          scopes: ['query'],
        })
        expect(await statusWith(created.key, `/projects/${f.project.id}`)).toBe(200)
      },
    },
    {
      route: 'GET /projects/{id}/api-keys',
      method: 'GET',
      allowed: { "org key ['*']": 200, admin: 200, editor: 200 },
      target: () => ({ path: `/projects/${f.project.id}/api-keys` }),
      verify: (response) => {
        const keys = (response.body as Page<ApiKey>).data
        expect(keys.map((k) => k.id)).toEqual(expect.arrayContaining([f.projectAllKey.id, f.projectQueryKey.id]))
        expect(keys.every((k) => k.kind === 'project' && k.project_id === f.project.id)).toBe(true)
      },
    },
    {
      route: 'DELETE /projects/{id}/api-keys/{key_id}',
      method: 'DELETE',
      allowed: { "org key ['*']": 204, admin: 204, editor: 204 },
      target: async () => {
        const doomed = await createProjectKey(app, f.orgKey, f.project.id)
        return {
          path: `/projects/${f.project.id}/api-keys/${doomed.id}`,
          probe: () => statusWith(doomed.key, `/projects/${f.project.id}`),
        }
      },
    },

    // ── Users: everyone in the organization reads, except project keys; admins write.
    {
      route: 'GET /users',
      method: 'GET',
      allowed: only(["org key ['*']", "org key ['query']", ...USERS], 200),
      target: () => ({ path: '/users' }),
      verify: (response) =>
        expect((response.body as Page<User>).data.map((u) => u.id)).toEqual(
          expect.arrayContaining([f.admin.user.id, f.editor.user.id, f.viewer.user.id]),
        ),
    },
    {
      route: 'GET /users/{id}',
      method: 'GET',
      allowed: only(["org key ['*']", "org key ['query']", ...USERS], 200),
      target: () => ({ path: `/users/${f.viewer.user.id}` }),
      verify: (response) => expect(response.body).toMatchObject({ id: f.viewer.user.id, role: 'viewer' }),
    },
    {
      route: 'POST /users',
      method: 'POST',
      allowed: { "org key ['*']": 201, admin: 201 },
      target: () => ({
        path: '/users',
        body: { email: email('created'), password: 'a long enough password', role: 'editor' },
        probe: () => idsOf('/users'),
      }),
      verify: (response) => expect(response.body).toMatchObject({ role: 'editor', status: 'active' }),
    },
    {
      route: 'POST /users/invite',
      method: 'POST',
      allowed: { "org key ['*']": 201, admin: 201 },
      target: () => ({
        path: '/users/invite',
        body: { email: email('invited'), role: 'admin' },
        probe: () => idsOf('/users'),
      }),
      verify: (response) => {
        const invitation = response.body as Invitation
        expect(invitation.user).toMatchObject({ role: 'admin', status: 'invited', organization_id: f.organization.id })
        expect(invitation.invitation_token).toMatch(/^trbinv_/)
      },
    },
    {
      route: 'PATCH /users/{another user}',
      method: 'PATCH',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: async (who) => {
        const user = await freshInvitee()
        return { path: `/users/${user.id}`, body: { name: `by ${who}` }, probe: () => readBack(`/users/${user.id}`) }
      },
      verify: (response, who) => expect((response.body as User).name).toBe(`by ${who}`),
    },
    {
      route: 'PATCH /users/{id}/role',
      method: 'PATCH',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: async () => {
        const user = await freshInvitee()
        return { path: `/users/${user.id}/role`, body: { role: 'admin' }, probe: () => readBack(`/users/${user.id}`) }
      },
      verify: (response) => expect((response.body as User).role).toBe('admin'),
    },
    {
      route: 'DELETE /users/{id}',
      method: 'DELETE',
      allowed: { "org key ['*']": 204, admin: 204 },
      target: async () => {
        const user = await freshInvitee()
        return { path: `/users/${user.id}`, probe: () => readBack(`/users/${user.id}`) }
      },
    },
    {
      route: 'GET /users/me',
      method: 'GET',
      allowed: only(USERS, 200),
      target: () => ({ path: '/users/me' }),
      verify: (response, who) => {
        const session = f[who as 'admin' | 'editor' | 'viewer']
        expect(response.body).toMatchObject({ id: session.user.id, role: who, organization_id: f.organization.id })
      },
    },

    // ── The audit log: admins of the organization; the platform key sees every entry.
    {
      route: 'GET /audit-log',
      method: 'GET',
      allowed: { 'platform key': 200, "org key ['*']": 200, admin: 200 },
      target: () => ({ path: '/audit-log?limit=200' }),
      verify: async (response, who) => {
        const entries = (response.body as Page<AuditEntry>).data
        expect(entries.length).toBeGreaterThan(0)
        if (who !== 'platform key') {
          expect(entries.every((entry) => entry.organization_id === f.organization.id)).toBe(true)
        }
        const ofProject = await get<Page<AuditEntry>>(`/audit-log?resource_id=${f.project.id}`, keyOf(who))
        expect(ofProject.body.data.map((entry) => entry.action)).toContain('project.create')
        expect(ofProject.body.data.every((entry) => entry.organization_id === f.organization.id)).toBe(true)
      },
    },

    // ── Golden SQL: everyone reads and searches (a project key only its project's); writers as above.
    {
      route: 'POST /projects/{id}/golden-sql',
      method: 'POST',
      allowed: only(GOLDEN_SQL_WRITERS, 201),
      target: (who) => ({
        path: goldenSqlPath(),
        body: { question: `Asked by ${who}`, sql: 'select 1 as one' },
        probe: () => idsOf(goldenSqlPath()),
      }),
      verify: (response, who) =>
        expect(response.body).toMatchObject({ project_id: f.project.id, question: `Asked by ${who}`, tables: [] }),
    },
    {
      route: 'GET /projects/{id}/golden-sql',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: goldenSqlPath() }),
    },
    {
      route: 'GET /projects/{id}/golden-sql/search',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => {
        await freshGoldenSql('Which genres sell best?')
        return { path: `${goldenSqlPath()}/search?q=${encodeURIComponent('best selling genres')}` }
      },
      verify: (response) =>
        expect((response.body as { data: { golden_sql: { question: string } }[] }).data[0]?.golden_sql.question).toBe(
          'Which genres sell best?',
        ),
    },
    {
      route: 'GET /projects/{id}/golden-sql/{golden_sql_id}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: goldenSqlPath(await freshGoldenSql()) }),
    },
    {
      route: 'PUT /projects/{id}/golden-sql/{golden_sql_id}',
      method: 'PUT',
      allowed: only(GOLDEN_SQL_WRITERS, 200),
      target: async (who) => {
        const path = goldenSqlPath(await freshGoldenSql())
        return { path, body: { description: `by ${who}` }, probe: () => readBack(path) }
      },
      verify: (response, who) => expect(response.body).toMatchObject({ description: `by ${who}` }),
    },
    {
      route: 'DELETE /projects/{id}/golden-sql/{golden_sql_id}',
      method: 'DELETE',
      allowed: only(GOLDEN_SQL_WRITERS, 204),
      target: async () => {
        const path = goldenSqlPath(await freshGoldenSql())
        return { path, probe: () => readBack(path) }
      },
    },

    // ── Ask: members by role and keys with `ask`; threads belong to whoever started them.
    {
      route: 'POST /projects/{id}/ask',
      method: 'POST',
      allowed: only(ASKERS, 200),
      target: () => ({ path: `/projects/${f.project.id}/ask`, body: { question: 'how many rows are there' } }),
      verify: (response) =>
        expect(response.body).toMatchObject({ model: 'offline', question: 'how many rows are there' }),
    },
    {
      route: 'POST /projects/{id}/ask/stream',
      method: 'POST',
      allowed: only(ASKERS, 200),
      target: () => ({ path: `/projects/${f.project.id}/ask/stream`, body: { question: 'how many rows are there' } }),
      verify: (response) => expect(String(response.body)).toContain('event: done'),
    },
    {
      route: 'GET /projects/{id}/threads',
      method: 'GET',
      allowed: only(ASKERS, 200),
      target: () => ({ path: `/projects/${f.project.id}/threads` }),
    },
    {
      route: 'GET /projects/{id}/threads/{thread_id}',
      method: 'GET',
      allowed: only(ASKERS, 200),
      target: async (who) => ({ path: (await freshThread(who)).path }),
    },
    {
      route: 'PATCH /projects/{id}/threads/{thread_id}',
      method: 'PATCH',
      allowed: only(ASKERS, 200),
      target: async (who) => ({ path: (await freshThread(who)).path, body: { title: `by ${who}` } }),
      verify: (response, who) => expect(response.body).toMatchObject({ title: `by ${who}` }),
    },
    {
      route: 'DELETE /projects/{id}/threads/{thread_id}',
      method: 'DELETE',
      allowed: only(ASKERS, 204),
      target: async (who) => ({ path: (await freshThread(who)).path }),
    },
    {
      route: 'GET /projects/{id}/threads/{thread_id}/messages',
      method: 'GET',
      allowed: only(ASKERS, 200),
      target: async (who) => ({ path: `${(await freshThread(who)).path}/messages` }),
    },
    {
      route: 'POST /projects/{id}/threads/{thread_id}/messages/{message_id}/feedback',
      method: 'POST',
      allowed: only(ASKERS, 200),
      target: async (who) => {
        const thread = await freshThread(who)
        return { path: `${thread.path}/messages/${thread.messageId}/feedback`, body: { correct: true } }
      },
      verify: (response) =>
        expect(response.body).toMatchObject({ message: { feedback: { correct: true } }, golden_sql: null }),
    },
    {
      route: 'GET /projects/{id}/questions/suggest',
      method: 'GET',
      allowed: only(ASKERS, 200),
      target: () => ({ path: `/projects/${f.project.id}/questions/suggest` }),
    },
    {
      // Writers pass the access check and then meet the missing model.
      route: 'POST /projects/{id}/metadata/{catalog}/{schema}/{table}/generate',
      method: 'POST',
      allowed: only(GOLDEN_SQL_WRITERS, 409),
      target: async () => {
        const { schema, table } = await freshInternalTable()
        return { path: metadataPath(`/internal/${schema}/${table}/generate`) }
      },
    },

    // ── AI: members read the organization's settings and usage, admins change them; a project's data
    // policy is read by everyone in it and changed as the project is (editors, admins, `admin` scope).
    {
      route: 'GET /organizations/{id}/ai-settings',
      method: 'GET',
      allowed: only(AI_READERS, 200),
      target: () => ({ path: `/organizations/${f.organization.id}/ai-settings` }),
      verify: (response) => expect(response.body).toMatchObject({ organization_id: f.organization.id }),
    },
    {
      route: 'PUT /organizations/{id}/ai-settings',
      method: 'PUT',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: () => {
        const path = `/organizations/${f.organization.id}/ai-settings`
        return {
          path,
          body: { monthly_token_budget: 1_000_000_000 + Math.floor(Math.random() * 1_000_000) },
          probe: () => readBack(path),
        }
      },
      verify: (response, _who, target) =>
        expect(response.body).toMatchObject({
          monthly_token_budget: (target.body as { monthly_token_budget: number }).monthly_token_budget,
        }),
    },
    {
      route: 'GET /organizations/{id}/ai-usage',
      method: 'GET',
      allowed: only(AI_READERS, 200),
      target: () => ({ path: `/organizations/${f.organization.id}/ai-usage` }),
      verify: (response) => expect(response.body).toMatchObject({ organization_id: f.organization.id }),
    },
    {
      route: 'GET /projects/{id}/ai-policy',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: `/projects/${f.project.id}/ai-policy` }),
      verify: (response) => expect(response.body).toMatchObject({ project_id: f.project.id }),
    },
    {
      route: 'PUT /projects/{id}/ai-policy',
      method: 'PUT',
      allowed: only(["org key ['*']", "project key ['*']", 'admin', 'editor'], 200),
      target: async () => {
        const path = `/projects/${f.project.id}/ai-policy`
        const current = await get<{ share_rows: boolean }>(path, f.orgKey)
        return { path, body: { share_rows: !current.body.share_rows }, probe: () => readBack(path) }
      },
    },

    // ── Semantic catalogs: everyone reads; writers as golden SQL; sharing not with a project key.
    {
      route: 'POST /projects/{id}/semantic-catalogs',
      method: 'POST',
      allowed: only(SEMANTIC_WRITERS, 201),
      target: () => ({
        path: semanticPath(),
        body: { name: `sc_${randomBytes(6).toString('hex')}` },
        probe: () => idsOf(semanticPath()),
      }),
      verify: (response) => expect(response.body).toMatchObject({ project_id: f.project.id, read_only: false }),
    },
    {
      route: 'GET /projects/{id}/semantic-catalogs',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: semanticPath() }),
    },
    {
      route: 'GET /projects/{id}/semantic-catalogs/{catalog}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: semanticPath(`/${await freshSemanticCatalog()}`) }),
    },
    {
      route: 'DELETE /projects/{id}/semantic-catalogs/{catalog}',
      method: 'DELETE',
      allowed: only(SEMANTIC_WRITERS, 204),
      target: async () => {
        const path = semanticPath(`/${await freshSemanticCatalog()}`)
        return { path, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /projects/{id}/semantic-catalogs/{catalog}/tables',
      method: 'POST',
      allowed: only(SEMANTIC_WRITERS, 201),
      target: async () => {
        const catalog = await freshSemanticCatalog()
        return {
          path: semanticPath(`/${catalog}/tables`),
          body: { table: 'published', query_id: await freshPublishableQuery() },
          probe: () => idsOf(semanticPath(`/${catalog}/tables`)),
        }
      },
      verify: (response) =>
        expect(response.body).toMatchObject({ table: 'published', columns: [{ name: 'one', type: 'INTEGER' }] }),
    },
    {
      route: 'GET /projects/{id}/semantic-catalogs/{catalog}/tables',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: semanticPath(`/${await freshSemanticCatalog()}/tables`) }),
    },
    {
      route: 'DELETE /projects/{id}/semantic-catalogs/{catalog}/tables/{table_id}',
      method: 'DELETE',
      allowed: only(SEMANTIC_WRITERS, 204),
      target: async () => {
        const catalog = await freshSemanticCatalog()
        const table = await freshSemanticTable(catalog)
        return {
          path: semanticPath(`/${catalog}/tables/${table}`),
          probe: () => idsOf(semanticPath(`/${catalog}/tables`)),
        }
      },
    },
    {
      route: 'POST /projects/{id}/semantic-catalogs/{catalog}/share',
      method: 'POST',
      allowed: only(SEMANTIC_SHARERS, 200),
      target: async () => {
        const catalog = await freshSemanticCatalog()
        const other = await freshProject()
        return {
          path: semanticPath(`/${catalog}/share`),
          body: { project_id: other.id },
          probe: async () => (await readBack(semanticPath(`/${catalog}`))).body,
        }
      },
    },
    {
      route: 'DELETE /projects/{id}/semantic-catalogs/{catalog}/share/{project_id}',
      method: 'DELETE',
      allowed: only(SEMANTIC_WRITERS, 204),
      target: async () => {
        const catalog = await freshSemanticCatalog()
        const other = await freshProject()
        const shared = await app.request('POST', `${API}${semanticPath(`/${catalog}/share`)}`, {
          key: f.orgKey,
          body: { project_id: other.id },
        })
        expect(shared.status, JSON.stringify(shared.body)).toBe(200)
        return {
          path: semanticPath(`/${catalog}/share/${other.id}`),
          probe: async () => (await readBack(semanticPath(`/${catalog}`))).body,
        }
      },
    },

    // ── Project metadata: everyone reads and searches; writers as golden SQL (keys need `metadata`).
    {
      route: 'GET /projects/{id}/metadata',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => {
        const { schema } = await freshInternalTable()
        return { path: metadataPath(`?catalog=internal&schema=${schema}`) }
      },
      verify: (response) =>
        expect((response.body as Page<{ table: string; columns: { name: string }[] }>).data).toMatchObject([
          { table: 't', columns: [{ name: 'id' }] },
        ]),
    },
    {
      route: 'GET /projects/{id}/metadata/{catalog}/{schema}/{table}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => {
        const { schema, table } = await freshInternalTable()
        return { path: metadataPath(`/internal/${schema}/${table}`) }
      },
    },
    {
      route: 'PUT /projects/{id}/metadata/{catalog}/{schema}/{table}',
      method: 'PUT',
      allowed: only(METADATA_WRITERS, 200),
      target: async (who) => {
        const { schema, table } = await freshInternalTable()
        const path = metadataPath(`/internal/${schema}/${table}`)
        return { path, body: { description: `by ${who}` }, probe: () => readBack(path) }
      },
      verify: (response, who) => expect(response.body).toMatchObject({ description: `by ${who}`, source: 'user' }),
    },
    {
      route: 'PUT /projects/{id}/metadata/{catalog}/{schema}',
      method: 'PUT',
      allowed: only(METADATA_WRITERS, 200),
      target: async () => {
        const { schema, table } = await freshInternalTable()
        return {
          path: metadataPath(`/internal/${schema}`),
          body: { use_with_ai: false },
          probe: () => readBack(metadataPath(`/internal/${schema}/${table}`)),
        }
      },
    },
    {
      route: 'PUT /projects/{id}/metadata/{catalog}',
      method: 'PUT',
      allowed: only(METADATA_WRITERS, 200),
      target: async (who) => ({
        path: metadataPath('/internal'),
        body: { use_with_ai: who === 'editor' ? null : true },
      }),
    },
    {
      route: 'POST /projects/{id}/metadata/refresh',
      method: 'POST',
      allowed: only(METADATA_WRITERS, 202),
      target: () => ({ path: metadataPath('/refresh'), body: { catalog: 'internal' } }),
      verify: (response) => expect(response.body).toMatchObject({ project_id: f.project.id, catalog: 'internal' }),
    },
    {
      route: 'GET /projects/{id}/metadata/refresh/{job_id}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: metadataPath(`/refresh/${await freshMetadataRefresh()}`) }),
    },
    {
      route: 'GET /projects/{id}/metadata/callback-secret',
      method: 'GET',
      allowed: only(METADATA_WRITERS, 200),
      target: () => ({ path: metadataPath('/callback-secret') }),
      verify: (response) => expect((response.body as { secret: string }).secret).toMatch(/^[0-9a-f]{64}$/),
    },
    {
      route: 'GET /projects/{id}/metadata/search',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: metadataPath('/search?q=anything') }),
    },
    {
      route: 'GET /projects/{id}/metadata/relations',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => {
        await freshRelation()
        return { path: metadataPath('/relations?catalog=internal&limit=5') }
      },
      verify: (response) => expect((response.body as Page<unknown>).data.length).toBeGreaterThan(0),
    },
    {
      route: 'POST /projects/{id}/metadata/relations',
      method: 'POST',
      allowed: only(METADATA_WRITERS, 201),
      target: async () => {
        const [from, to] = await Promise.all([freshInternalTable(), freshInternalTable()])
        return {
          path: metadataPath('/relations'),
          body: {
            from: { catalog: 'internal', schema: from.schema, table: from.table, columns: ['id'] },
            to: { catalog: 'internal', schema: to.schema, table: to.table, columns: ['id'] },
            type: 'ONE_TO_ONE',
          },
        }
      },
      verify: (response) => expect(response.body).toMatchObject({ origin: 'manual', type: 'ONE_TO_ONE' }),
    },
    {
      route: 'GET /projects/{id}/metadata/relations/{relation_id}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: metadataPath(`/relations/${await freshRelation()}`) }),
    },
    {
      route: 'PUT /projects/{id}/metadata/relations/{relation_id}',
      method: 'PUT',
      allowed: only(METADATA_WRITERS, 200),
      target: async (who) => {
        const path = metadataPath(`/relations/${await freshRelation()}`)
        return { path, body: { description: `by ${who}` }, probe: () => readBack(path) }
      },
      verify: (response, who) => expect(response.body).toMatchObject({ description: `by ${who}` }),
    },
    {
      route: 'DELETE /projects/{id}/metadata/relations/{relation_id}',
      method: 'DELETE',
      allowed: only(METADATA_WRITERS, 204),
      target: async () => {
        const path = metadataPath(`/relations/${await freshRelation()}`)
        return { path, probe: async () => (await readBack(path)).status }
      },
    },
    {
      route: 'PUT /projects/{id}/metadata/{catalog}/{schema}/{table}/columns/{column}/categorical',
      method: 'PUT',
      allowed: only(METADATA_WRITERS, 200),
      target: async () => {
        const path = await freshCategoricalPath(false)
        const table = path.replace(/\/columns\/id\/categorical$/, '')
        return { path, body: { limit: 5 }, probe: () => readBack(table) }
      },
      verify: (response) => expect(response.body).toMatchObject({ column: 'id', limit: 5, values: [] }),
    },
    {
      route: 'DELETE /projects/{id}/metadata/{catalog}/{schema}/{table}/columns/{column}/categorical',
      method: 'DELETE',
      allowed: only(METADATA_WRITERS, 204),
      target: async () => {
        const path = await freshCategoricalPath(true)
        const table = path.replace(/\/columns\/id\/categorical$/, '')
        return { path, probe: () => readBack(table) }
      },
    },

    // ── Caches: everyone reads; writers as golden SQL (keys with `connections` or `*`).
    {
      route: 'POST /projects/{id}/caches',
      method: 'POST',
      allowed: only(CACHE_WRITERS, 201),
      target: async () => ({ path: cachePath(), body: await freshCacheTable(), probe: () => idsOf(cachePath()) }),
      verify: (response) =>
        expect(response.body).toMatchObject({ project_id: f.project.id, status: 'NOT_INITIALIZED' }),
    },
    {
      route: 'POST /projects/{id}/caches/batch',
      method: 'POST',
      allowed: only(CACHE_WRITERS, 201),
      target: async () => ({
        path: cachePath('/batch'),
        body: { tables: [await freshCacheTable(), await freshCacheTable()] },
        probe: () => idsOf(cachePath()),
      }),
    },
    {
      route: 'GET /projects/{id}/caches',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: cachePath() }),
    },
    {
      route: 'GET /projects/{id}/caches/status',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: cachePath('/status') }),
    },
    {
      route: 'GET /projects/{id}/caches/{cache_id}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: cachePath(`/${await freshCache()}`) }),
    },
    {
      route: 'GET /projects/{id}/caches/{cache_id}/history',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: cachePath(`/${await freshCache()}/history`) }),
    },
    {
      route: 'PUT /projects/{id}/caches/{cache_id}',
      method: 'PUT',
      allowed: only(CACHE_WRITERS, 200),
      target: async () => {
        const path = cachePath(`/${await freshCache()}`)
        return {
          path,
          body: { full_refresh_schedule: { type: 'interval', every: 'PT6H' } },
          probe: () => readBack(path),
        }
      },
    },
    {
      route: 'POST /projects/{id}/caches/{cache_id}/refresh',
      method: 'POST',
      allowed: only(CACHE_WRITERS, 202),
      target: async () => {
        const path = cachePath(`/${await freshCache()}`)
        return { path: `${path}/refresh`, body: {}, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /projects/{id}/caches/{cache_id}/cancel',
      method: 'POST',
      allowed: only(CACHE_WRITERS, 200),
      target: async () => ({ path: cachePath(`/${await freshCache()}/cancel`) }),
    },
    {
      route: 'DELETE /projects/{id}/caches/{cache_id}',
      method: 'DELETE',
      allowed: only(CACHE_WRITERS, 204),
      target: async () => {
        const path = cachePath(`/${await freshCache()}`)
        return { path, probe: () => readBack(path) }
      },
    },

    // ── Workflows (issue 14): readers read and preview; writers change, run and test actions.
    {
      route: 'POST /projects/{id}/workflows',
      method: 'POST',
      allowed: only(WORKFLOW_WRITERS, 201),
      target: () => ({
        path: workflowPath(),
        body: { name: uniqueName('Workflow'), steps: [{ name: 'one', sql: 'select 1 as one' }] },
        probe: () => idsOf(workflowPath()),
      }),
      verify: (response) => expect(response.body).toMatchObject({ project_id: f.project.id, revision: 1 }),
    },
    {
      route: 'GET /projects/{id}/workflows',
      method: 'GET',
      allowed: only(WORKFLOW_READERS, 200),
      target: () => ({ path: workflowPath() }),
    },
    {
      route: 'GET /projects/{id}/workflows/{workflow_id}',
      method: 'GET',
      allowed: only(WORKFLOW_READERS, 200),
      target: async () => ({ path: workflowPath(`/${await freshWorkflow()}`) }),
    },
    {
      route: 'PATCH /projects/{id}/workflows/{workflow_id}',
      method: 'PATCH',
      allowed: only(WORKFLOW_WRITERS, 200),
      target: async (who) => {
        const path = workflowPath(`/${await freshWorkflow()}`)
        return { path, body: { revision: 1, description: `by ${who}` }, probe: () => readBack(path) }
      },
    },
    {
      route: 'DELETE /projects/{id}/workflows/{workflow_id}',
      method: 'DELETE',
      allowed: only(WORKFLOW_WRITERS, 204),
      target: async () => {
        const path = workflowPath(`/${await freshWorkflow()}`)
        return { path, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /projects/{id}/workflows/{workflow_id}/run',
      method: 'POST',
      allowed: only(WORKFLOW_WRITERS, 202),
      target: async () => {
        const path = workflowPath(`/${await freshWorkflow()}`)
        return { path: `${path}/run`, probe: () => idsOf(`${path}/runs`) }
      },
    },
    {
      route: 'POST /projects/{id}/workflows/{workflow_id}/preview',
      method: 'POST',
      allowed: only(WORKFLOW_READERS, 200),
      target: async () => ({ path: workflowPath(`/${await freshWorkflow()}/preview`) }),
      verify: (response) => expect(response.body).toMatchObject({ status: 'succeeded' }),
    },
    {
      route: 'POST /projects/{id}/workflows/{workflow_id}/actions/{index}/test',
      method: 'POST',
      // Allowed callers send to the closed port: the failed attempt is the answer.
      allowed: only(WORKFLOW_WRITERS, 200),
      target: async () => ({ path: workflowPath(`/${await freshWorkflow()}/actions/0/test`) }),
      verify: (response) => expect(response.body).toMatchObject({ index: 0, status: 'failed' }),
    },
    {
      route: 'GET /projects/{id}/workflows/{workflow_id}/runs',
      method: 'GET',
      allowed: only(WORKFLOW_READERS, 200),
      target: async () => ({ path: workflowPath(`/${await freshWorkflow()}/runs`) }),
    },
    {
      route: 'GET /projects/{id}/workflows/{workflow_id}/runs/{run_id}',
      method: 'GET',
      allowed: only(WORKFLOW_READERS, 200),
      target: async () => {
        const path = workflowPath(`/${await freshWorkflow()}`)
        const run = await app.request<{ id: string }>('POST', `${API}${path}/run`, { key: f.orgKey })
        expect(run.status, JSON.stringify(run.body)).toBe(202)
        return { path: `${path}/runs/${run.body.id}` }
      },
    },

    // ── Outbound credentials (issue 14): workflow readers list them (never the secret); writers change them.
    {
      route: 'POST /projects/{id}/credentials',
      method: 'POST',
      allowed: only(WORKFLOW_WRITERS, 201),
      target: (who) => ({
        path: credentialPath(),
        body: { name: `Credential of ${who}`, type: 'bearer', secret: 's3cret', allowed_hosts: ['example.com'] },
        probe: () => idsOf(credentialPath()),
      }),
      verify: (response) => expect(response.body).not.toHaveProperty('secret'),
    },
    {
      route: 'GET /projects/{id}/credentials',
      method: 'GET',
      allowed: only(WORKFLOW_READERS, 200),
      target: () => ({ path: credentialPath() }),
    },
    {
      route: 'GET /projects/{id}/credentials/{credential_id}',
      method: 'GET',
      allowed: only(WORKFLOW_READERS, 200),
      target: async () => ({ path: credentialPath(`/${await freshCredential()}`) }),
    },
    {
      route: 'PATCH /projects/{id}/credentials/{credential_id}',
      method: 'PATCH',
      allowed: only(WORKFLOW_WRITERS, 200),
      target: async (who) => {
        const path = credentialPath(`/${await freshCredential()}`)
        return { path, body: { description: `by ${who}`, secret: 'rotated' }, probe: () => readBack(path) }
      },
    },
    {
      route: 'DELETE /projects/{id}/credentials/{credential_id}',
      method: 'DELETE',
      allowed: only(WORKFLOW_WRITERS, 204),
      target: async () => {
        const path = credentialPath(`/${await freshCredential()}`)
        return { path, probe: () => readBack(path) }
      },
    },

    // ── Dashboards (issue 14): readers open and refresh (widgets compute as the author); writers change.
    {
      route: 'POST /projects/{id}/dashboards',
      method: 'POST',
      allowed: only(DASHBOARD_WRITERS, 201),
      target: (who) => ({
        path: dashboardPath(),
        body: dashboardBody(uniqueName(`Dashboard of ${who}`)),
        probe: () => idsOf(dashboardPath()),
      }),
    },
    {
      route: 'GET /projects/{id}/dashboards',
      method: 'GET',
      allowed: only(DASHBOARD_READERS, 200),
      target: () => ({ path: dashboardPath() }),
    },
    {
      route: 'GET /projects/{id}/dashboards/{dashboard_id}',
      method: 'GET',
      allowed: only(DASHBOARD_READERS, 200),
      target: async () => ({ path: (await freshDashboard()).path }),
      verify: (response) => expect(response.body).toMatchObject({ widgets: [{ data: { rows: [[1]] } }] }),
    },
    {
      route: 'PATCH /projects/{id}/dashboards/{dashboard_id}',
      method: 'PATCH',
      allowed: only(DASHBOARD_WRITERS, 200),
      target: async (who) => {
        const { path } = await freshDashboard()
        return { path, body: { description: `by ${who}` }, probe: () => readBack(path) }
      },
    },
    {
      route: 'DELETE /projects/{id}/dashboards/{dashboard_id}',
      method: 'DELETE',
      allowed: only(DASHBOARD_WRITERS, 204),
      target: async () => {
        const { path } = await freshDashboard()
        return { path, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /projects/{id}/dashboards/{dashboard_id}/refresh',
      method: 'POST',
      allowed: only(DASHBOARD_READERS, 200),
      target: async () => ({ path: `${(await freshDashboard()).path}/refresh` }),
    },
    {
      route: 'GET /projects/{id}/dashboards/{dashboard_id}/widgets/{widget_id}/data',
      method: 'GET',
      allowed: only(DASHBOARD_READERS, 200),
      target: async () => {
        const { path, widgetId } = await freshDashboard()
        return { path: `${path}/widgets/${widgetId}/data?refresh=true` }
      },
    },

    // ── Materialized queries: everyone reads their status; computing one again, or stopping it, is
    // running the query: every member, and keys with `query`.
    {
      route: 'GET /projects/{id}/materialized-queries/status',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: `/projects/${f.project.id}/materialized-queries/status` }),
    },
    {
      route: 'GET /projects/{id}/queries/{query_id}/status',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: `/projects/${f.project.id}/queries/${await freshMaterializedQuery()}/status` }),
      verify: (response) => expect(response.body).toMatchObject({ schedule: { type: 'none' } }),
    },
    {
      route: 'POST /projects/{id}/queries/{query_id}/refresh',
      method: 'POST',
      allowed: only(TENANTS, 202),
      target: async () => ({ path: `/projects/${f.project.id}/queries/${await freshMaterializedQuery()}/refresh` }),
    },
    {
      route: 'POST /projects/{id}/queries/{query_id}/cancel',
      method: 'POST',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: `/projects/${f.project.id}/queries/${await freshMaterializedQuery()}/cancel` }),
    },

    // ── Agents (issue 13): admins register and assign; members read (a project key its project's); callers call.
    {
      route: 'POST /agents',
      method: 'POST',
      allowed: only(AGENT_ADMINS, 201),
      target: (who) => ({
        path: '/agents',
        body: { name: `Agent of ${who}`, protocol: 'MCP', endpoint_url: 'http://127.0.0.1:1/mcp' },
        probe: () => idsOf('/agents'),
      }),
      verify: (response, who) => expect(response.body).toMatchObject({ name: `Agent of ${who}`, status: 'pending' }),
    },
    { route: 'GET /agents', method: 'GET', allowed: only(TENANTS, 200), target: () => ({ path: '/agents' }) },
    {
      route: 'GET /agents/{agent_id}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: `/agents/${await freshAgent()}` }),
    },
    {
      route: 'PATCH /agents/{agent_id}',
      method: 'PATCH',
      allowed: only(AGENT_ADMINS, 200),
      target: async (who) => {
        const path = `/agents/${await freshAgent()}`
        return { path, body: { description: `by ${who}` }, probe: () => readBack(path) }
      },
    },
    {
      route: 'DELETE /agents/{agent_id}',
      method: 'DELETE',
      allowed: only(AGENT_ADMINS, 204),
      target: async () => {
        const path = `/agents/${await freshAgent()}`
        return { path, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /agents/{agent_id}/test',
      method: 'POST',
      allowed: only(AGENT_ADMINS, 200),
      target: async () => {
        const path = `/agents/${await freshAgent()}`
        return { path: `${path}/test`, probe: () => readBack(path) }
      },
      verify: (response) => expect(response.body).toMatchObject({ ok: false, agent: { status: 'unreachable' } }),
    },
    {
      route: 'GET /agents/{agent_id}/tools',
      method: 'GET',
      // Allowed callers reach the agent, which is down: 502.
      allowed: only(TENANTS, 502),
      target: async () => ({ path: `/agents/${await freshAgent()}/tools` }),
    },
    {
      route: 'GET /agents/{agent_id}/rate-limits',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: `/agents/${await freshAgent()}/rate-limits` }),
    },
    {
      route: 'PUT /agents/{agent_id}/rate-limits',
      method: 'PUT',
      allowed: only(AGENT_ADMINS, 200),
      target: async () => {
        const path = `/agents/${await freshAgent()}/rate-limits`
        return { path, body: { max_requests_per_minute: 5 }, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /projects/{id}/agents',
      method: 'POST',
      allowed: only(AGENT_ADMINS, 201),
      target: async () => ({
        path: `/projects/${f.project.id}/agents`,
        body: { agent_id: await freshAgent(false), role: 'helper' },
        probe: () => listAll<{ id: string }>(`/projects/${f.project.id}/agents`, f.orgKey).then((rows) => rows.length),
      }),
    },
    {
      route: 'GET /projects/{id}/agents',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: `/projects/${f.project.id}/agents` }),
    },
    {
      route: 'DELETE /projects/{id}/agents/{agent_id}',
      method: 'DELETE',
      allowed: only(AGENT_ADMINS, 204),
      target: async () => ({
        path: `/projects/${f.project.id}/agents/${await freshAgent()}`,
        probe: () => listAll<{ id: string }>(`/projects/${f.project.id}/agents`, f.orgKey).then((rows) => rows.length),
      }),
    },
    {
      route: 'POST /agent-gateway/agents/{agent_id}',
      method: 'POST',
      // Allowed callers reach the agent, which is down: 502.
      allowed: only(AGENT_CALLERS, 502),
      target: async () => ({ path: `/agent-gateway/agents/${await freshAgent()}`, body: { message: 'hello' } }),
    },
    {
      route: 'POST /agent-gateway/agents/{agent_id}/stream',
      method: 'POST',
      allowed: only(AGENT_CALLERS, 200),
      target: async () => ({ path: `/agent-gateway/agents/${await freshAgent()}/stream`, body: { message: 'hello' } }),
      verify: (response) => expect(String(response.body)).toContain('event: error'),
    },
    {
      route: 'POST /agent-gateway/projects/{id}',
      method: 'POST',
      allowed: only(AGENT_CALLERS, 200),
      target: () => ({ path: `/agent-gateway/projects/${f.project.id}`, body: { message: 'hello' } }),
    },

    // ── Webhooks (issue 14): organization admins, and a project key with `admin` for its own project.
    {
      route: 'POST /webhooks',
      method: 'POST',
      allowed: only(WEBHOOK_MANAGERS, 201),
      target: () => ({
        path: '/webhooks',
        body: { url: 'http://127.0.0.1:1/hook', events: ['query_job.failed'], project_id: f.project.id },
        probe: () => idsOf('/webhooks'),
      }),
      verify: (response) => expect(response.body.signing_secret).toMatch(/^whsec_/),
    },
    {
      route: 'GET /webhooks',
      method: 'GET',
      allowed: only(WEBHOOK_MANAGERS, 200),
      target: () => ({ path: '/webhooks' }),
    },
    {
      route: 'GET /webhooks/{webhook_id}',
      method: 'GET',
      allowed: only(WEBHOOK_MANAGERS, 200),
      target: async () => ({ path: `/webhooks/${await freshWebhook()}` }),
    },
    {
      route: 'PATCH /webhooks/{webhook_id}',
      method: 'PATCH',
      allowed: only(WEBHOOK_MANAGERS, 200),
      target: async (who) => {
        const path = `/webhooks/${await freshWebhook()}`
        return { path, body: { description: `by ${who}` }, probe: () => readBack(path) }
      },
    },
    {
      route: 'DELETE /webhooks/{webhook_id}',
      method: 'DELETE',
      allowed: only(WEBHOOK_MANAGERS, 204),
      target: async () => {
        const path = `/webhooks/${await freshWebhook()}`
        return { path, probe: () => readBack(path) }
      },
    },
    {
      route: 'GET /webhooks/{webhook_id}/deliveries',
      method: 'GET',
      allowed: only(WEBHOOK_MANAGERS, 200),
      target: async () => ({ path: `/webhooks/${await freshWebhook()}/deliveries` }),
    },
    {
      route: 'POST /webhooks/{webhook_id}/test',
      method: 'POST',
      allowed: only(WEBHOOK_MANAGERS, 200),
      target: async () => {
        const path = `/webhooks/${await freshWebhook()}`
        return { path: `${path}/test`, probe: () => readBack(`${path}/deliveries`) }
      },
      verify: (response) => expect(response.body).toMatchObject({ ok: false, delivery: { status: 'failed' } }),
    },

    // ── Query quota and costs (issue 15): organization admins only.
    {
      route: 'GET /query-quota',
      method: 'GET',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: () => ({ path: '/query-quota' }),
    },
    {
      route: 'PUT /query-quota',
      method: 'PUT',
      allowed: { "org key ['*']": 200, admin: 200 },
      // Limits far above what the other rows' queries cost: nothing else is refused.
      target: () => ({
        path: '/query-quota',
        body: { daily_limit: null, monthly_limit: 1_000_000_000 + Math.floor(Math.random() * 1_000_000) },
        probe: () => readBack('/query-quota'),
      }),
    },
    {
      route: 'GET /query-costs',
      method: 'GET',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: () => ({ path: '/query-costs?page_size=5' }),
      verify: (response) => expect(response.body).toMatchObject({ page: 1, page_size: 5 }),
    },

    // ── Cross-organization approvals (issue 15): the fixture organization asks (its project's writers)
    // and is asked (its admins decide); another organization is on the other side of each request.
    {
      route: 'POST /approvals/project-tenant',
      method: 'POST',
      allowed: only(APPROVAL_REQUESTERS, 201),
      target: async () => ({
        path: '/approvals/project-tenant',
        body: {
          project_id: f.project.id,
          tenant_id: (await createOrganization(app, uniqueName('Asked'))).organization.id,
        },
        probe: () => readBack(`/approvals?project_id=${f.project.id}`),
      }),
    },
    {
      route: 'POST /approvals/project-dataset',
      method: 'POST',
      allowed: only(APPROVAL_REQUESTERS, 201),
      target: async () => ({
        path: '/approvals/project-dataset',
        body: {
          project_id: f.project.id,
          dataset_id: await lenderDataset(),
          catalog: `shared_${randomUUID().slice(0, 8)}`,
        },
        probe: () => readBack(`/approvals?project_id=${f.project.id}`),
      }),
    },
    {
      route: 'GET /approvals/pending',
      method: 'GET',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: () => ({ path: '/approvals/pending' }),
    },
    {
      route: 'GET /approvals',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: () => ({ path: `/approvals?project_id=${f.project.id}` }),
    },
    {
      route: 'GET /approvals?direction=received',
      method: 'GET',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: () => ({ path: '/approvals?direction=received' }),
    },
    {
      route: 'GET /approvals/{approval_id}',
      method: 'GET',
      allowed: only(TENANTS, 200),
      target: async () => ({ path: `/approvals/${await approvalFromFixture()}` }),
    },
    {
      route: 'POST /approvals/{approval_id}/approve',
      method: 'POST',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: async () => {
        const path = `/approvals/${await approvalToFixture()}`
        return { path: `${path}/approve`, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /approvals/{approval_id}/reject',
      method: 'POST',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: async () => {
        const path = `/approvals/${await approvalToFixture()}`
        return { path: `${path}/reject`, body: { rejection_reason: 'not now' }, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /approvals/{approval_id}/revoke',
      method: 'POST',
      allowed: only(APPROVAL_REQUESTERS, 200),
      target: async () => {
        const path = `/approvals/${await approvalFromFixture()}`
        return { path: `${path}/revoke`, probe: () => readBack(path) }
      },
    },

    // ── Access policies (issue 15): masks, row filters and column tags.
    {
      route: 'POST /projects/{id}/privacy-policies',
      method: 'POST',
      allowed: only(POLICY_MANAGERS, 201),
      target: async () => {
        const { schema } = await freshInternalTable()
        return { path: privacyPath(), body: { ...onId(schema), mask: 'hash' }, probe: () => idsOf(privacyPath()) }
      },
    },
    {
      route: 'GET /projects/{id}/privacy-policies',
      method: 'GET',
      allowed: only(POLICY_READERS, 200),
      target: () => ({ path: privacyPath() }),
    },
    {
      route: 'GET /projects/{id}/privacy-policies/{policy_id}',
      method: 'GET',
      allowed: only(POLICY_READERS, 200),
      target: async () => ({
        path: await freshPolicy(privacyPath, ({ schema }) => ({ ...onId(schema), mask: 'hash' })),
      }),
    },
    {
      route: 'PUT /projects/{id}/privacy-policies/{policy_id}',
      method: 'PUT',
      allowed: only(POLICY_MANAGERS, 200),
      target: async () => {
        const { schema } = await freshInternalTable()
        const path = await freshPolicy(privacyPath, () => ({ ...onId(schema), mask: 'hash' }))
        return { path, body: { ...onId(schema), mask: 'redact' }, probe: () => readBack(path) }
      },
    },
    {
      route: 'DELETE /projects/{id}/privacy-policies/{policy_id}',
      method: 'DELETE',
      allowed: only(POLICY_MANAGERS, 204),
      target: async () => {
        const path = await freshPolicy(privacyPath, ({ schema }) => ({ ...onId(schema), mask: 'hash' }))
        return { path, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /projects/{id}/row-policies',
      method: 'POST',
      allowed: only(POLICY_MANAGERS, 201),
      target: async () => {
        const { schema } = await freshInternalTable()
        return {
          path: rowPolicyPath(),
          body: { ...onTable(schema), filter: 'id > 0' },
          probe: () => idsOf(rowPolicyPath()),
        }
      },
    },
    {
      route: 'GET /projects/{id}/row-policies',
      method: 'GET',
      allowed: only(POLICY_READERS, 200),
      target: () => ({ path: rowPolicyPath() }),
    },
    {
      route: 'GET /projects/{id}/row-policies/{policy_id}',
      method: 'GET',
      allowed: only(POLICY_READERS, 200),
      target: async () => ({
        path: await freshPolicy(rowPolicyPath, ({ schema }) => ({ ...onTable(schema), filter: 'id > 0' })),
      }),
    },
    {
      route: 'PUT /projects/{id}/row-policies/{policy_id}',
      method: 'PUT',
      allowed: only(POLICY_MANAGERS, 200),
      target: async () => {
        const { schema } = await freshInternalTable()
        const path = await freshPolicy(rowPolicyPath, () => ({ ...onTable(schema), filter: 'id > 0' }))
        return { path, body: { ...onTable(schema), filter: 'id > 1' }, probe: () => readBack(path) }
      },
    },
    {
      route: 'DELETE /projects/{id}/row-policies/{policy_id}',
      method: 'DELETE',
      allowed: only(POLICY_MANAGERS, 204),
      target: async () => {
        const path = await freshPolicy(rowPolicyPath, ({ schema }) => ({ ...onTable(schema), filter: 'id > 0' }))
        return { path, probe: () => readBack(path) }
      },
    },
    {
      route: 'POST /projects/{id}/column-tags',
      method: 'POST',
      allowed: only(POLICY_MANAGERS, 201),
      target: async () => {
        const { schema } = await freshInternalTable()
        return { path: columnTagPath(), body: { ...onId(schema), tag: 'pii' }, probe: () => idsOf(columnTagPath()) }
      },
    },
    {
      route: 'GET /projects/{id}/column-tags',
      method: 'GET',
      allowed: only(POLICY_READERS, 200),
      target: () => ({ path: columnTagPath() }),
    },
    {
      route: 'DELETE /projects/{id}/column-tags/{tag_id}',
      method: 'DELETE',
      allowed: only(POLICY_MANAGERS, 204),
      target: async () => {
        const path = await freshPolicy(columnTagPath, ({ schema }) => ({ ...onId(schema), tag: 'pii' }))
        return { path, probe: () => idsOf(columnTagPath()) }
      },
    },
    {
      route: 'PATCH /users/{id} {attributes} (one’s own, for users)',
      method: 'PATCH',
      allowed: { "org key ['*']": 200, admin: 200 },
      target: async (who) => {
        const id = who === 'admin' || who === 'editor' || who === 'viewer' ? f[who].user.id : (await freshInvitee()).id
        return {
          path: `/users/${id}`,
          body: { attributes: { region: `set by ${who}`.replace(/\W+/g, '_') } },
          probe: () => readBack(`/users/${id}`),
        }
      },
    },
  ]

  beforeAll(async () => {
    // Loopback is allowed for the agents' rows: their endpoint is a closed loopback port, so no call leaves the host.
    app = await startTestApp(kind, { env: { TRIBUTARY_OUTBOUND_ALLOW: 'loopback' } })
    const { organization, orgKey, orgKeyId } = await createOrganization(app, 'Matrix')
    const queryKey = await app.request<CreatedApiKey>('POST', `${API}/organizations/${organization.id}/api-keys`, {
      key: app.platformKey,
      body: { name: 'query only', scopes: ['query'] },
    })
    if (queryKey.status !== 201) throw new Error(JSON.stringify(queryKey.body))
    const workspaces = await app.request<Page<Workspace>>('GET', `${API}/workspaces`, { key: orgKey })
    const second = await app.request<Workspace>('POST', `${API}/workspaces`, { key: orgKey, body: { name: 'Second' } })
    const project = (await createProject(app, orgKey, 'Matrix project')) as Project
    const [projectAllKey, projectQueryKey, admin, editor, viewer] = await Promise.all([
      createProjectKey(app, orgKey, project.id, ['*']),
      createProjectKey(app, orgKey, project.id, ['query']),
      createUserSession(app, orgKey, 'admin', email('matrix-admin')),
      createUserSession(app, orgKey, 'editor', email('matrix-editor')),
      createUserSession(app, orgKey, 'viewer', email('matrix-viewer')),
    ])
    f = {
      organization: organization as Organization,
      orgKey,
      orgKeyId,
      orgQueryKey: queryKey.body.key,
      orgQueryKeyId: queryKey.body.id,
      defaultWorkspace: workspaces.body.data.find((w) => w.is_default)!,
      secondWorkspace: second.body,
      project,
      projectAllKey,
      projectQueryKey,
      admin,
      editor,
      viewer,
    }

    // A key that expires shortly; the expiry test at the end of the file waits for it.
    const expiresAt = Date.now() + 2_000
    const shortLived = await app.request<CreatedApiKey>('POST', `${API}/organizations/${organization.id}/api-keys`, {
      key: app.platformKey,
      body: { name: 'short-lived', expires_at: new Date(expiresAt).toISOString() },
    })
    if (shortLived.status !== 201) throw new Error(JSON.stringify(shortLived.body))
    expiring = {
      key: shortLived.body.key,
      expiresAt,
      statusBeforeExpiry: await statusWith(shortLived.body.key, '/workspaces'),
    }
  })
  afterAll(() => app.close())

  it('the fixture keys carry the scopes the matrix assumes', async () => {
    const orgKeys = stableKeys(await listAll<ApiKey>(`/organizations/${f.organization.id}/api-keys`, app.platformKey))
    expect(orgKeys.find((k) => k.id === f.orgKeyId)?.scopes).toEqual(['*'])
    expect(orgKeys.find((k) => k.id === f.orgQueryKeyId)?.scopes).toEqual(['query'])
    const projectKeys = await listAll<ApiKey>(`/projects/${f.project.id}/api-keys`, f.orgKey)
    expect(projectKeys.find((k) => k.id === f.projectAllKey.id)?.scopes).toEqual(['*'])
    expect(projectKeys.find((k) => k.id === f.projectQueryKey.id)?.scopes).toEqual(['query'])
  })

  describe('role matrix', () => {
    for (const route of ROUTES) {
      for (const who of WHO) {
        const expected = route.allowed[who]
        it(`${route.route} as ${who} → ${expected ?? 403}`, async () => {
          const target = await route.target(who)
          const before = await target.probe?.()
          const response = await app.request(route.method, `${API}${target.path}`, {
            key: keyOf(who),
            body: target.body,
          })
          const after = await target.probe?.()
          if (expected === undefined) {
            expectError(response, 403, 'authorization_error')
            expect(after, 'a refused request changed nothing').toEqual(before)
          } else {
            expect(response.status, JSON.stringify(response.body)).toBe(expected)
            if (expected === 204) expect(response.body).toBe('')
            if (target.probe) expect(after, 'an accepted request took effect').not.toEqual(before)
            await route.verify?.(response, who, target)
          }
        })
      }
    }
  })

  describe('MCP at /mcp: the same checks as the REST routes', () => {
    const ALL_TOOLS = [
      'list_catalogs',
      'list_tables',
      'describe_table',
      'search_metadata',
      'search_golden_sql',
      'save_golden_sql',
      'run_sql',
      'ask',
      'list_saved_queries',
      'save_query',
      'run_saved_query',
      'get_job',
      'get_job_results',
      'list_dashboards',
      'get_dashboard',
      'list_workflows',
      'list_workflow_runs',
      'get_workflow_run',
      'run_workflow',
    ]
    /** Tools of features a key needs their own scope for (`dashboards`, `workflows`). */
    const CONTENT_TOOLS = ALL_TOOLS.filter((name) => /dashboard|workflow/.test(name))
    const QUERY_ONLY = ALL_TOOLS.filter(
      (name) => name !== 'ask' && name !== 'save_golden_sql' && !CONTENT_TOOLS.includes(name),
    )
    const OFFERED: Record<Exclude<Who, 'platform key'>, string[]> = {
      "org key ['*']": ALL_TOOLS,
      "org key ['query']": QUERY_ONLY,
      "project key ['*']": ALL_TOOLS,
      "project key ['query']": QUERY_ONLY,
      admin: ALL_TOOLS,
      editor: ALL_TOOLS,
      viewer: ALL_TOOLS.filter((name) => !['save_query', 'save_golden_sql', 'run_workflow'].includes(name)),
    }
    /** The MCP tool and the REST route it calls the same service method as. */
    const PAIRS: { tool: string; args: () => Record<string, unknown>; route: string; body: () => unknown }[] = [
      { tool: 'run_sql', args: () => ({ sql: 'select 1' }), route: 'sql', body: () => ({ sql: 'select 1' }) },
      { tool: 'ask', args: () => ({ question: 'how many?' }), route: 'ask', body: () => ({ question: 'how many?' }) },
      {
        tool: 'save_query',
        args: () => ({ display_name: uniqueName('mcp'), sql: 'select 1' }),
        route: 'queries',
        body: () => ({ display_name: uniqueName('rest'), sql: 'select 1' }),
      },
      {
        tool: 'save_golden_sql',
        args: () => ({ question: uniqueName('mcp'), sql: 'select 1' }),
        route: 'golden-sql',
        body: () => ({ question: uniqueName('rest'), sql: 'select 1' }),
      },
    ]

    async function rpc(who: Who, method: string, params: Record<string, unknown>) {
      return app.request('POST', '/mcp', {
        key: keyOf(who),
        headers: { accept: 'application/json, text/event-stream' },
        body: { jsonrpc: '2.0', id: 1, method, params },
      })
    }

    it('the platform key → 403, no credentials → 401', async () => {
      expectError(await rpc('platform key', 'tools/list', {}), 403, 'authorization_error')
      const anonymous = await app.request('POST', '/mcp', { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } })
      expectError(anonymous, 401, 'authentication_error')
    })

    for (const who of TENANTS) {
      it(`${who}: offered exactly the tools it may use; each call allowed or refused as its REST route`, async () => {
        const listed = await rpc(who, 'tools/list', {})
        expect(listed.status).toBe(200)
        const names = (listed.body.result.tools as { name: string }[]).map((tool) => tool.name)
        expect(names.sort()).toEqual([...OFFERED[who as Exclude<Who, 'platform key'>]].sort())
        for (const pair of PAIRS) {
          const rest = await app.request('POST', `${API}/projects/${f.project.id}/${pair.route}`, {
            key: keyOf(who),
            body: pair.body(),
          })
          const called = await rpc(who, 'tools/call', {
            name: pair.tool,
            arguments: { ...pair.args(), project_id: f.project.id },
          })
          expect(called.status).toBe(200)
          const result = called.body.result as { isError?: boolean; content: { text: string }[] }
          if (rest.status === 403) {
            expect(result.isError, pair.tool).toBe(true)
            expect(result.content[0]!.text).toBe(`authorization_error: ${rest.body.error.message}`)
          } else {
            expect([200, 201], `${pair.route}: ${JSON.stringify(rest.body)}`).toContain(rest.status)
            expect(result.isError, `${pair.tool}: ${result.content[0]!.text}`).toBeUndefined()
          }
        }
      })
    }
  })

  describe('users changing themselves', () => {
    for (const role of ['admin', 'editor', 'viewer'] as const) {
      it(`a ${role} may PATCH their own name`, async () => {
        const session = f[role]
        const response = await app.request<User>('PATCH', `${API}/users/${session.user.id}`, {
          key: session.token,
          body: { name: `${role} renamed` },
        })
        expect(response.status).toBe(200)
        expect(response.body).toMatchObject({ id: session.user.id, name: `${role} renamed`, role })
      })
    }

    it('a viewer may change their own password, and only the new one signs in', async () => {
      const user = await createUserSession(app, f.orgKey, 'viewer', email('password-changer'))
      const newPassword = 'a brand new password'
      const changed = await app.request('PATCH', `${API}/users/${user.user.id}`, {
        key: user.token,
        body: { password: newPassword },
      })
      expect(changed.status).toBe(200)
      const withNew = await app.request('POST', `${API}/auth/login`, {
        body: { email: user.user.email, password: newPassword },
      })
      expect(withNew.status).toBe(200)
      const withOld = await app.request('POST', `${API}/auth/login`, {
        body: { email: user.user.email, password: user.password },
      })
      expectError(withOld, 401, 'authentication_error')
    })

    for (const role of ['editor', 'viewer'] as const) {
      it(`a ${role} cannot raise their own role`, async () => {
        const session = f[role]
        const viaUpdate = await app.request('PATCH', `${API}/users/${session.user.id}`, {
          key: session.token,
          body: { role: 'admin' },
        })
        expectError(viaUpdate, 422, 'validation_error')
        const viaRole = await app.request('PATCH', `${API}/users/${session.user.id}/role`, {
          key: session.token,
          body: { role: 'admin' },
        })
        expectError(viaRole, 403, 'authorization_error')
        expect((await get<User>('/users/me', session.token)).body.role).toBe(role)
      })
    }

    it('an editor cannot PATCH the admin, nor a viewer the editor', async () => {
      for (const [actor, target] of [
        ['editor', 'admin'],
        ['viewer', 'editor'],
      ] as const) {
        const before = await readBack(`/users/${f[target].user.id}`)
        const response = await app.request('PATCH', `${API}/users/${f[target].user.id}`, {
          key: f[actor].token,
          body: { password: 'taking over this account' },
        })
        expectError(response, 403, 'authorization_error')
        expect(await readBack(`/users/${f[target].user.id}`)).toEqual(before)
      }
    })
  })

  describe('authentication', () => {
    const malformed: [string, () => Record<string, string>][] = [
      ['no Authorization header', () => ({})],
      ['an empty Authorization header', () => ({ authorization: '' })],
      ['Basic credentials', () => ({ authorization: 'Basic xyz' })],
      ['a valid key under the Basic scheme', () => ({ authorization: `Basic ${f.orgKey}` })],
      ['"Bearer" alone', () => ({ authorization: 'Bearer' })],
      ['"Bearer " and spaces', () => ({ authorization: 'Bearer    ' })],
      ['a valid key without a scheme', () => ({ authorization: f.orgKey })],
      ['a valid key under another scheme', () => ({ authorization: `Token ${f.orgKey}` })],
      ['a valid key followed by junk', () => ({ authorization: `Bearer ${f.orgKey} extra` })],
      ['an unknown trb_ key', () => ({ authorization: `Bearer trb_${randomBytes(32).toString('base64url')}` })],
      ['a truncated key', () => ({ authorization: `Bearer ${f.orgKey.slice(0, -1)}` })],
      ['a random token', () => ({ authorization: `Bearer ${randomBytes(24).toString('hex')}` })],
      ['an over-long token', () => ({ authorization: `Bearer trb_${'a'.repeat(3000)}` })],
    ]

    for (const [label, headers] of malformed) {
      it(`${label} → 401`, async () => {
        const response = await app.request('GET', `${API}/workspaces`, { headers: headers() })
        expectError(response, 401, 'authentication_error')
      })
    }

    it('authentication comes before validation and lookups: no credentials → 401 everywhere', async () => {
      const requests: [string, string, unknown?][] = [
        ['POST', '/organizations', { bogus: true }],
        ['GET', '/projects/not-a-uuid'],
        ['GET', `/projects/${f.project.id}`],
        ['DELETE', `/users/${f.viewer.user.id}`],
        ['PATCH', `/users/${randomUUID()}/role`, { role: 'admin' }],
        ['GET', '/audit-log?limit=100000'],
        ['GET', '/users/me'],
      ]
      for (const [method, path, body] of requests) {
        const response = await app.request(method, `${API}${path}`, { body })
        expectError(response, 401, 'authentication_error')
      }
    })

    it('a revoked organization key and a revoked project key → 401 at once', async () => {
      const orgKey = await freshOrganizationKey()
      expect(await statusWith(orgKey.key, '/workspaces')).toBe(200)
      const projectKey = await createProjectKey(app, f.orgKey, f.project.id)
      expect(await statusWith(projectKey.key, '/projects')).toBe(200)

      const revokedOrg = await app.request(
        'DELETE',
        `${API}/organizations/${f.organization.id}/api-keys/${orgKey.id}`,
        {
          key: app.platformKey,
        },
      )
      expect(revokedOrg.status).toBe(204)
      const revokedProject = await app.request('DELETE', `${API}/projects/${f.project.id}/api-keys/${projectKey.id}`, {
        key: f.editor.token,
      })
      expect(revokedProject.status).toBe(204)
      expectError(await get('/workspaces', orgKey.key), 401, 'authentication_error')
      expectError(await get('/projects', projectKey.key), 401, 'authentication_error')
    })

    it('a key cannot be created already expired', async () => {
      const response = await app.request('POST', `${API}/projects/${f.project.id}/api-keys`, {
        key: f.orgKey,
        body: { name: 'stale', expires_at: new Date(Date.now() - 1_000).toISOString() },
      })
      expectError(response, 422, 'validation_error')
    })

    describe('session tokens', () => {
      const whoAmI = (token: string) => app.request<User>('GET', `${API}/users/me`, { key: token })
      /** The app's own issuer: validly signed tokens with claims that no login would hand out. */
      function issuer(): SessionTokens {
        const sessions = (app.tributary.services.users as unknown as { sessions?: unknown }).sessions
        if (!(sessions instanceof SessionTokens)) throw new Error('UsersService.sessions is gone; update this test')
        return sessions
      }
      const decode = (part: string) =>
        JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

      it('a token the app issues is accepted (the control for the doctored ones below)', async () => {
        const { token } = await issuer().issue({ userId: f.viewer.user.id, organizationId: f.organization.id })
        const response = await whoAmI(token)
        expect(response.status).toBe(200)
        expect(response.body.id).toBe(f.viewer.user.id)
      })

      it('a token with a tampered signature → 401', async () => {
        const token = f.viewer.token
        const replacement = token.at(-2) === 'A' ? 'B' : 'A'
        const tampered = `${token.slice(0, -2)}${replacement}${token.at(-1)}`
        expect(tampered).not.toBe(token)
        expectError(await whoAmI(tampered), 401, 'authentication_error')
      })

      it("a viewer's token with the admin's id in its payload, keeping its signature → 401", async () => {
        const [header, payload, signature] = f.viewer.token.split('.') as [string, string, string]
        const claims = decode(payload)
        expect(claims.sub).toBe(f.viewer.user.id)
        const forged = `${header}.${encode({ ...claims, sub: f.admin.user.id })}.${signature}`
        expectError(await whoAmI(forged), 401, 'authentication_error')
      })

      it('a token signed with another secret, or unsigned → 401', async () => {
        const [, payload] = f.admin.token.split('.') as [string, string]
        const claims = decode(payload)
        const otherSecret = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(randomBytes(32))
        const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.`
        for (const token of [otherSecret, unsigned]) expectError(await whoAmI(token), 401, 'authentication_error')
      })

      it('a validly signed token naming a user with another organization, or no user → 401', async () => {
        const other = await createOrganization(app, 'Other')
        const tokens = [
          await issuer().issue({ userId: f.admin.user.id, organizationId: other.organization.id }),
          await issuer().issue({ userId: randomUUID(), organizationId: f.organization.id }),
        ]
        for (const { token } of tokens) expectError(await whoAmI(token), 401, 'authentication_error')
      })
    })
  })

  describe('role changes take effect at once', () => {
    let org: Awaited<ReturnType<typeof createOrganization>>
    let first: Session
    let second: Session

    beforeAll(async () => {
      org = await createOrganization(app, 'Roles')
      const sessions = await Promise.all([
        createUserSession(app, org.orgKey, 'admin', email('first-admin')),
        createUserSession(app, org.orgKey, 'admin', email('second-admin')),
      ])
      first = sessions[0]
      second = sessions[1]
    })

    const setRole = (key: string, user: Session, role: string) =>
      app.request<User>('PATCH', `${API}/users/${user.user.id}/role`, { key, body: { role } })
    const createWorkspace = (key: string) =>
      app.request('POST', `${API}/workspaces`, { key, body: { name: uniqueName('Workspace') } })

    it('demoting an admin to viewer: the same session token gets 403 on the next admin request', async () => {
      expect((await get('/audit-log', second.token)).status).toBe(200)
      expect((await createWorkspace(second.token)).status).toBe(201)

      const demoted = await setRole(first.token, second, 'viewer')
      expect(demoted.status).toBe(200)
      expect(demoted.body.role).toBe('viewer')

      expectError(await get('/audit-log', second.token), 403, 'authorization_error')
      expectError(await createWorkspace(second.token), 403, 'authorization_error')
      expectError(await setRole(second.token, first, 'viewer'), 403, 'authorization_error')
      expect((await get<User>('/users/me', second.token)).body.role).toBe('viewer')
      expect((await get('/workspaces', second.token)).status).toBe(200)
    })

    it('promoting them back takes effect at once too', async () => {
      expect((await setRole(org.orgKey, second, 'admin')).status).toBe(200)
      expect((await get('/audit-log', second.token)).status).toBe(200)
    })

    it('a deleted admin: their session gets 401 at once', async () => {
      expect((await get('/users/me', second.token)).status).toBe(200)
      const deleted = await app.request('DELETE', `${API}/users/${second.user.id}`, { key: first.token })
      expect(deleted.status).toBe(204)
      expectError(await get('/users/me', second.token), 401, 'authentication_error')
    })

    it('the last active admin can be neither deleted nor demoted → 409', async () => {
      // An invited admin is not an active one and does not count.
      const invited = await app.request<Invitation>('POST', `${API}/users/invite`, {
        key: org.orgKey,
        body: { email: email('invited-admin'), role: 'admin' },
      })
      expect(invited.status).toBe(201)

      const attempts: [string, string, string, unknown?][] = [
        [org.orgKey, 'DELETE', `/users/${first.user.id}`],
        [first.token, 'DELETE', `/users/${first.user.id}`],
        [org.orgKey, 'PATCH', `/users/${first.user.id}/role`, { role: 'viewer' }],
        [first.token, 'PATCH', `/users/${first.user.id}/role`, { role: 'editor' }],
      ]
      for (const [key, method, path, body] of attempts) {
        expectError(await app.request(method, `${API}${path}`, { key, body }), 409, 'conflict')
      }
      expect((await get<User>(`/users/${first.user.id}`, org.orgKey)).body).toMatchObject({
        role: 'admin',
        status: 'active',
      })
      expect((await get('/audit-log', first.token)).status).toBe(200)

      // Keeping the role is no demotion; the invited admin may go.
      expect((await setRole(first.token, first, 'admin')).status).toBe(200)
      const removed = await app.request('DELETE', `${API}/users/${invited.body.user.id}`, { key: first.token })
      expect(removed.status).toBe(204)
    })
  })

  it('an expired key → 401 (waits for the key made in beforeAll to expire)', async () => {
    expect(expiring.statusBeforeExpiry).toBe(200)
    const wait = expiring.expiresAt + 100 - Date.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    expectError(await get('/workspaces', expiring.key), 401, 'authentication_error')
  })

  describe('an app whose sessions last 2 s', () => {
    let shortLived: TestApp
    beforeAll(async () => {
      shortLived = await startTestApp(kind, { env: { TRIBUTARY_SESSION_TTL_SECONDS: '2' } })
    })
    afterAll(() => shortLived.close())

    it('an expired session token → 401', async () => {
      const { orgKey } = await createOrganization(shortLived, 'Short sessions')
      const { user, token } = await createUserSession(shortLived, orgKey, 'viewer', email('short-session'))
      const me = await shortLived.request<User>('GET', `${API}/users/me`, { key: token })
      expect(me.status).toBe(200)
      expect(me.body.id).toBe(user.id)

      const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }
      const wait = exp * 1000 + 50 - Date.now()
      expect(wait).toBeLessThanOrEqual(2_050)
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      expectError(await shortLived.request('GET', `${API}/users/me`, { key: token }), 401, 'authentication_error')
    })
  })
})
