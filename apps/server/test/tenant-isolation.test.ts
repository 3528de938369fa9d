import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

import type { ApiKey, AuditEntry, Organization, Page, Project, User, Workspace } from '@tributary/contract'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

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
 * Tenant isolation: organization B (its organization key, its admin, its project key) and a key of
 * another project in the same organization can neither see nor touch organization A's objects. The
 * answer is always 404 `not_found`, worded exactly as for an id that exists nowhere, so that ids
 * reveal nothing; lists never contain A's ids; and A's objects are unchanged afterwards.
 */

interface ErrorBody {
  error: { code: string; message: string; request_id: string; details?: unknown }
}

interface Session {
  user: User
  token: string
}

interface Tenant {
  label: string
  organization: Organization
  orgKey: string
  orgKeyId: string
  defaultWorkspace: Workspace
  secondWorkspace: Workspace
  p1: Project
  p2: Project
  p1Key: { key: string; id: string }
  p2Key: { key: string; id: string }
  admin: Session
  editor: Session
  viewer: Session
  invited: User
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g
/** The id after a collection's name at the end of a path (`/privacy-policies/<id>`). */
const UUID_AFTER_KIND = /\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function expectError(response: ApiResponse, status: number, code: string): void {
  const body = response.body as ErrorBody
  expect({ status: response.status, code: body?.error?.code }, JSON.stringify(body)).toEqual({ status, code })
  expect(Object.keys(body)).toEqual(['error'])
  expect(body.error.request_id).toMatch(/\S/)
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'))
}

const email = (tag: string) => `${tag}-${randomUUID()}@example.com`

async function createTenant(app: TestApp, label: string): Promise<Tenant> {
  // Both tenants use the same names on purpose: names are unique per organization, not per instance.
  const { organization, orgKey, orgKeyId } = await createOrganization(app, 'Tenant')
  const listed = await app.request<Page<Workspace>>('GET', `${API}/workspaces`, { key: orgKey })
  const defaultWorkspace = listed.body.data.find((workspace) => workspace.is_default)
  if (!defaultWorkspace) throw new Error('no default workspace')
  const second = await app.request<Workspace>('POST', `${API}/workspaces`, { key: orgKey, body: { name: 'Second' } })
  if (second.status !== 201) throw new Error(`creating workspace failed: ${JSON.stringify(second.body)}`)
  const p1 = (await createProject(app, orgKey, 'Project 1')) as Project
  const p2 = (await createProject(app, orgKey, 'Project 2', { workspace_id: second.body.id })) as Project
  const p1Key = await createProjectKey(app, orgKey, p1.id)
  const p2Key = await createProjectKey(app, orgKey, p2.id)
  const [admin, editor, viewer] = await Promise.all([
    createUserSession(app, orgKey, 'admin', email(`${label}-admin`)),
    createUserSession(app, orgKey, 'editor', email(`${label}-editor`)),
    createUserSession(app, orgKey, 'viewer', email(`${label}-viewer`)),
  ])
  const invited = await app.request<{ user: User }>('POST', `${API}/users/invite`, {
    key: orgKey,
    body: { email: email(`${label}-invited`), role: 'editor' },
  })
  if (invited.status !== 201) throw new Error(`inviting failed: ${JSON.stringify(invited.body)}`)
  return {
    label,
    organization,
    orgKey,
    orgKeyId,
    defaultWorkspace,
    secondWorkspace: second.body,
    p1,
    p2,
    p1Key,
    p2Key,
    admin,
    editor,
    viewer,
    invited: invited.body.user,
  }
}

/** Every page of a list. */
async function listAll<T extends { id: string }>(app: TestApp, path: string, key: string): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  do {
    const separator = path.includes('?') ? '&' : '?'
    const url: string = `${API}${path}${separator}limit=200${cursor ? `&cursor=${cursor}` : ''}`
    const page: ApiResponse<Page<T>> = await app.request<Page<T>>('GET', url, { key })
    expect(page.status, `${path}: ${JSON.stringify(page.body)}`).toBe(200)
    items.push(...page.body.data)
    cursor = page.body.next_cursor
  } while (cursor)
  return items
}

const ids = (items: { id: string }[]) => items.map((item) => item.id).sort()

/** Keys as a listing shows them, without `last_used_at`, which every use of a key moves. */
const stableKeys = (keys: ApiKey[]) =>
  keys.map(({ last_used_at: _lastUsed, ...rest }) => rest).sort((a, b) => a.id.localeCompare(b.id))

type Attacker = 'B organization key' | 'B admin session' | 'B project key' | 'A project 2 key'

interface Fixture {
  A: Tenant
  B: Tenant
}

function keyOf({ A, B }: Fixture, attacker: Attacker): string {
  switch (attacker) {
    case 'B organization key':
      return B.orgKey
    case 'B admin session':
      return B.admin.token
    case 'B project key':
      return B.p1Key.key
    case 'A project 2 key':
      return A.p2Key.key
  }
}

interface ProbeCase {
  label: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: (f: Fixture) => string
  body?: (f: Fixture) => unknown
  attackers: Attacker[]
}

const OUTSIDERS: Attacker[] = ['B organization key', 'B admin session', 'B project key']
const B_ORG_PRINCIPALS: Attacker[] = ['B organization key', 'B admin session']

const userTargets = ['admin', 'editor', 'viewer', 'invited'] as const
function userOf(tenant: Tenant, which: (typeof userTargets)[number]): User {
  return which === 'invited' ? tenant.invited : tenant[which].user
}

const PROBES: ProbeCase[] = [
  // Organizations
  {
    label: "GET A's organization",
    method: 'GET',
    path: ({ A }) => `/organizations/${A.organization.id}`,
    attackers: OUTSIDERS,
  },
  {
    label: "PATCH A's organization",
    method: 'PATCH',
    path: ({ A }) => `/organizations/${A.organization.id}`,
    body: () => ({ name: 'hijacked' }),
    attackers: OUTSIDERS,
  },
  {
    label: "DELETE A's organization",
    method: 'DELETE',
    path: ({ A }) => `/organizations/${A.organization.id}`,
    attackers: OUTSIDERS,
  },
  {
    label: "POST A's organization keys",
    method: 'POST',
    path: ({ A }) => `/organizations/${A.organization.id}/api-keys`,
    body: () => ({ name: 'backdoor' }),
    attackers: OUTSIDERS,
  },
  {
    label: "GET A's organization keys",
    method: 'GET',
    path: ({ A }) => `/organizations/${A.organization.id}/api-keys`,
    attackers: OUTSIDERS,
  },
  {
    label: "DELETE A's organization key",
    method: 'DELETE',
    path: ({ A }) => `/organizations/${A.organization.id}/api-keys/${A.orgKeyId}`,
    attackers: OUTSIDERS,
  },
  // Workspaces: both of A's, and P1's workspace for the key of A's other project
  ...(['defaultWorkspace', 'secondWorkspace'] as const).flatMap((which): ProbeCase[] => {
    const attackers: Attacker[] = which === 'defaultWorkspace' ? [...OUTSIDERS, 'A project 2 key'] : OUTSIDERS
    const path = ({ A }: Fixture) => `/workspaces/${A[which].id}`
    return [
      { label: `GET A's ${which}`, method: 'GET', path, attackers },
      { label: `PATCH A's ${which}`, method: 'PATCH', path, body: () => ({ name: 'hijacked' }), attackers },
      { label: `DELETE A's ${which}`, method: 'DELETE', path, attackers },
    ]
  }),
  // Projects: P1 also against the key of A's project 2
  ...(['p1', 'p2'] as const).flatMap((which): ProbeCase[] => {
    const attackers: Attacker[] = which === 'p1' ? [...OUTSIDERS, 'A project 2 key'] : OUTSIDERS
    const path = ({ A }: Fixture) => `/projects/${A[which].id}`
    return [
      { label: `GET A's ${which}`, method: 'GET', path, attackers },
      { label: `PATCH A's ${which}`, method: 'PATCH', path, body: () => ({ name: 'hijacked' }), attackers },
      {
        label: `PATCH A's ${which} into B's workspace`,
        method: 'PATCH',
        path,
        body: ({ B }) => ({ workspace_id: B.defaultWorkspace.id }),
        attackers: B_ORG_PRINCIPALS,
      },
      { label: `DELETE A's ${which}`, method: 'DELETE', path, attackers },
    ]
  }),
  // Project keys of A's P1
  {
    label: "POST A's p1 keys",
    method: 'POST',
    path: ({ A }) => `/projects/${A.p1.id}/api-keys`,
    body: () => ({ name: 'backdoor' }),
    attackers: [...OUTSIDERS, 'A project 2 key'],
  },
  {
    label: "GET A's p1 keys",
    method: 'GET',
    path: ({ A }) => `/projects/${A.p1.id}/api-keys`,
    attackers: [...OUTSIDERS, 'A project 2 key'],
  },
  {
    label: "DELETE A's p1 key",
    method: 'DELETE',
    path: ({ A }) => `/projects/${A.p1.id}/api-keys/${A.p1Key.id}`,
    attackers: [...OUTSIDERS, 'A project 2 key'],
  },
  {
    label: "DELETE A's p1 key through B's own project path",
    method: 'DELETE',
    path: ({ A, B }) => `/projects/${B.p1.id}/api-keys/${A.p1Key.id}`,
    attackers: B_ORG_PRINCIPALS,
  },
  // Users: every kind of A's users
  ...userTargets.flatMap((which): ProbeCase[] => {
    const path = ({ A }: Fixture) => `/users/${userOf(A, which).id}`
    return [
      { label: `GET A's ${which} user`, method: 'GET', path, attackers: B_ORG_PRINCIPALS },
      {
        label: `PATCH A's ${which} user`,
        method: 'PATCH',
        path,
        body: () => ({ name: 'hijacked', password: 'a new password of mine' }),
        attackers: B_ORG_PRINCIPALS,
      },
      {
        label: `PATCH A's ${which} user's role`,
        method: 'PATCH',
        path: (f) => `${path(f)}/role`,
        body: () => ({ role: which === 'admin' ? 'viewer' : 'admin' }),
        attackers: B_ORG_PRINCIPALS,
      },
      { label: `DELETE A's ${which} user`, method: 'DELETE', path, attackers: B_ORG_PRINCIPALS },
    ]
  }),
]

describeEachStore('tenant isolation', (kind) => {
  let app: TestApp
  let A: Tenant
  let B: Tenant
  let fixture: Fixture
  /** Ids of A's objects, mapped to a fresh random id that exists nowhere. */
  const ghosts = new Map<string, string>()
  let snapshotOfA: Awaited<ReturnType<typeof snapshot>>

  /** Everything of A's, read with A's own organization key (and the platform key for organization keys). */
  async function snapshot(tenant: Tenant) {
    const organization = await app.request('GET', `${API}/organizations/${tenant.organization.id}`, {
      key: tenant.orgKey,
    })
    expect(organization.status).toBe(200)
    return {
      organization: organization.body as Organization,
      workspaces: await listAll<Workspace>(app, '/workspaces', tenant.orgKey),
      projects: await listAll<Project>(app, '/projects', tenant.orgKey),
      users: await listAll<User>(app, '/users', tenant.orgKey),
      organizationKeys: stableKeys(
        await listAll<ApiKey>(app, `/organizations/${tenant.organization.id}/api-keys`, app.platformKey),
      ),
      p1Keys: stableKeys(await listAll<ApiKey>(app, `/projects/${tenant.p1.id}/api-keys`, tenant.orgKey)),
      p2Keys: stableKeys(await listAll<ApiKey>(app, `/projects/${tenant.p2.id}/api-keys`, tenant.orgKey)),
    }
  }

  beforeAll(async () => {
    app = await startTestApp(kind)
    A = await createTenant(app, 'a')
    B = await createTenant(app, 'b')
    fixture = { A, B }
    for (const id of [
      A.organization.id,
      A.orgKeyId,
      A.defaultWorkspace.id,
      A.secondWorkspace.id,
      A.p1.id,
      A.p2.id,
      A.p1Key.id,
      A.p2Key.id,
      ...userTargets.map((which) => userOf(A, which).id),
    ]) {
      ghosts.set(id, randomUUID())
    }
    snapshotOfA = await snapshot(A)
  })
  afterAll(() => app.close())

  it('the fixture is what the tests assume', () => {
    expect(snapshotOfA.workspaces.map((w) => w.id).sort()).toEqual([A.defaultWorkspace.id, A.secondWorkspace.id].sort())
    expect(snapshotOfA.projects.map((p) => [p.id, p.workspace_id]).sort()).toEqual(
      [
        [A.p1.id, A.defaultWorkspace.id],
        [A.p2.id, A.secondWorkspace.id],
      ].sort(),
    )
    expect(snapshotOfA.users.map((u) => [u.id, u.role, u.status]).sort()).toEqual(
      [
        [A.admin.user.id, 'admin', 'active'],
        [A.editor.user.id, 'editor', 'active'],
        [A.viewer.user.id, 'viewer', 'active'],
        [A.invited.id, 'editor', 'invited'],
      ].sort(),
    )
    expect(snapshotOfA.organizationKeys.map((k) => k.id)).toEqual([A.orgKeyId])
    expect(snapshotOfA.p1Keys.map((k) => k.id)).toEqual([A.p1Key.id])
    expect(snapshotOfA.p2Keys.map((k) => k.id)).toEqual([A.p2Key.id])
    // Same names in both organizations: nothing is unique across tenants.
    expect([B.secondWorkspace.name, B.p1.name]).toEqual([A.secondWorkspace.name, A.p1.name])
  })

  describe("another tenant's objects answer 404, exactly as ids that exist nowhere", () => {
    for (const probe of PROBES) {
      for (const attacker of probe.attackers) {
        it(`${attacker}: ${probe.label} → 404`, async () => {
          const key = keyOf(fixture, attacker)
          const path = probe.path(fixture)
          const body = probe.body?.(fixture)
          const response = await app.request(probe.method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')

          // The same request about an id that exists nowhere must read the same, ids aside.
          const ghostPath = path.replace(UUID, (id) => ghosts.get(id) ?? id)
          expect(ghostPath).not.toBe(path)
          const ghost = await app.request(probe.method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          const anonymised = (message: string) => message.replace(UUID, '<id>')
          expect(anonymised((response.body as ErrorBody).error.message)).toBe(
            anonymised((ghost.body as ErrorBody).error.message),
          )
        })
      }
    }
  })

  describe("lists never contain another tenant's objects", () => {
    for (const attacker of B_ORG_PRINCIPALS) {
      it(`${attacker}: GET /workspaces lists exactly B's workspaces`, async () => {
        const listed = await listAll<Workspace>(app, '/workspaces', keyOf(fixture, attacker))
        expect(ids(listed)).toEqual(ids([B.defaultWorkspace, B.secondWorkspace]))
        expect(listed.every((w) => w.organization_id === B.organization.id)).toBe(true)
      })

      it(`${attacker}: GET /projects lists exactly B's projects, and none for A's workspace ids`, async () => {
        const key = keyOf(fixture, attacker)
        const listed = await listAll<Project>(app, '/projects', key)
        expect(ids(listed)).toEqual(ids([B.p1, B.p2]))
        for (const workspace of [A.defaultWorkspace, A.secondWorkspace]) {
          const filtered = await app.request<Page<Project>>('GET', `${API}/projects?workspace_id=${workspace.id}`, {
            key,
          })
          expect(filtered.status).toBe(200)
          expect(filtered.body).toEqual({ data: [], next_cursor: null })
        }
      })

      it(`${attacker}: GET /users lists exactly B's users`, async () => {
        const listed = await listAll<User>(app, '/users', keyOf(fixture, attacker))
        expect(ids(listed)).toEqual(ids(userTargets.map((which) => userOf(B, which))))
        expect(listed.every((u) => u.organization_id === B.organization.id)).toBe(true)
      })

      it(`${attacker}: GET /projects/{B's p1}/api-keys lists only B's key`, async () => {
        const listed = await listAll<ApiKey>(app, `/projects/${B.p1.id}/api-keys`, keyOf(fixture, attacker))
        expect(ids(listed)).toEqual([B.p1Key.id])
      })
    }

    it("the platform key's listing of B's organization keys holds only B's key", async () => {
      const listed = await listAll<ApiKey>(app, `/organizations/${B.organization.id}/api-keys`, app.platformKey)
      expect(ids(listed)).toEqual([B.orgKeyId])
    })

    it("B's project key lists only its own project and its own workspace", async () => {
      expect(ids(await listAll<Project>(app, '/projects', B.p1Key.key))).toEqual([B.p1.id])
      expect(ids(await listAll<Workspace>(app, '/workspaces', B.p1Key.key))).toEqual([B.defaultWorkspace.id])
    })
  })

  describe('writes cannot reach into another tenant', () => {
    for (const attacker of B_ORG_PRINCIPALS) {
      it(`${attacker}: POST /projects into A's workspace → 422, nothing created`, async () => {
        for (const workspace of [A.defaultWorkspace, A.secondWorkspace]) {
          const response = await app.request('POST', `${API}/projects`, {
            key: keyOf(fixture, attacker),
            body: { name: `Smuggled ${randomUUID()}`, workspace_id: workspace.id },
          })
          expectError(response, 422, 'validation_error')
        }
      })

      it(`${attacker}: PATCH B's own project into A's workspace → 422, project stays put`, async () => {
        const response = await app.request('PATCH', `${API}/projects/${B.p1.id}`, {
          key: keyOf(fixture, attacker),
          body: { workspace_id: A.secondWorkspace.id },
        })
        expectError(response, 422, 'validation_error')
        const project = await app.request<Project>('GET', `${API}/projects/${B.p1.id}`, { key: B.orgKey })
        expect(project.body.workspace_id).toBe(B.defaultWorkspace.id)
      })
    }

    it("revoking A's project key through B's own project path leaves A's key working", async () => {
      for (const key of [B.orgKey, B.admin.token]) {
        const response = await app.request('DELETE', `${API}/projects/${B.p1.id}/api-keys/${A.p1Key.id}`, { key })
        expectError(response, 404, 'not_found')
      }
      const stillWorks = await app.request<Project>('GET', `${API}/projects/${A.p1.id}`, { key: A.p1Key.key })
      expect(stillWorks.status).toBe(200)
      expect(stillWorks.body.id).toBe(A.p1.id)
    })

    it("the platform key cannot revoke A's organization key through B's organization path", async () => {
      const response = await app.request('DELETE', `${API}/organizations/${B.organization.id}/api-keys/${A.orgKeyId}`, {
        key: app.platformKey,
      })
      expectError(response, 404, 'not_found')
      const stillWorks = await app.request('GET', `${API}/organizations/${A.organization.id}`, { key: A.orgKey })
      expect(stillWorks.status).toBe(200)
    })

    it("an organization key cannot revoke a project key through its organization's key path", async () => {
      // Project keys are not organization keys, even for the platform key.
      const response = await app.request('DELETE', `${API}/organizations/${A.organization.id}/api-keys/${A.p1Key.id}`, {
        key: app.platformKey,
      })
      expectError(response, 404, 'not_found')
      expect((await app.request('GET', `${API}/projects/${A.p1.id}`, { key: A.p1Key.key })).status).toBe(200)
    })
  })

  describe("a project key sees only its project and that project's workspace", () => {
    it('GET /projects lists only P1', async () => {
      const listed = await listAll<Project>(app, '/projects', A.p1Key.key)
      expect(ids(listed)).toEqual([A.p1.id])
      const other = await app.request<Page<Project>>('GET', `${API}/projects?workspace_id=${A.secondWorkspace.id}`, {
        key: A.p1Key.key,
      })
      expect(other.body).toEqual({ data: [], next_cursor: null })
    })

    it('GET /projects/{P1} → 200, GET /projects/{P2} → 404', async () => {
      const own = await app.request<Project>('GET', `${API}/projects/${A.p1.id}`, { key: A.p1Key.key })
      expect(own.status).toBe(200)
      expect(own.body).toEqual(A.p1)
      expectError(await app.request('GET', `${API}/projects/${A.p2.id}`, { key: A.p1Key.key }), 404, 'not_found')
    })

    it("GET /workspaces lists only P1's workspace; the other workspace is 404", async () => {
      const listed = await listAll<Workspace>(app, '/workspaces', A.p1Key.key)
      expect(ids(listed)).toEqual([A.defaultWorkspace.id])
      const own = await app.request('GET', `${API}/workspaces/${A.defaultWorkspace.id}`, { key: A.p1Key.key })
      expect(own.status).toBe(200)
      expectError(
        await app.request('GET', `${API}/workspaces/${A.secondWorkspace.id}`, { key: A.p1Key.key }),
        404,
        'not_found',
      )
      // And the other way round, for the key of the project in the second workspace.
      expect(ids(await listAll<Workspace>(app, '/workspaces', A.p2Key.key))).toEqual([A.secondWorkspace.id])
    })
  })

  describe('the audit log', () => {
    const aIds = () => new Set([...ghosts.keys()])

    for (const attacker of B_ORG_PRINCIPALS) {
      it(`${attacker}: never shows organization A's entries, whatever the filter`, async () => {
        const key = keyOf(fixture, attacker)
        const own = await listAll<AuditEntry>(app, '/audit-log', key)
        expect(own.length).toBeGreaterThan(0)
        expect(own.every((entry) => entry.organization_id === B.organization.id)).toBe(true)
        expect(own.filter((entry) => aIds().has(entry.resource_id ?? ''))).toEqual([])

        // A tenant may name its own organization; naming A's reads exactly as naming one that exists nowhere.
        const named = await listAll<AuditEntry>(app, `/audit-log?organization_id=${B.organization.id}`, key)
        expect(ids(named)).toEqual(ids(own))
        const asked = await app.request('GET', `${API}/audit-log?organization_id=${A.organization.id}`, { key })
        expectError(asked, 404, 'not_found')
        const ghost = await app.request('GET', `${API}/audit-log?organization_id=${ghosts.get(A.organization.id)}`, {
          key,
        })
        expectError(ghost, 404, 'not_found')
        const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
        expect(anonymised(asked)).toBe(anonymised(ghost))
        for (const filter of [`resource_id=${A.p1.id}`, `actor_id=${A.orgKeyId}`, `actor_id=${A.admin.user.id}`]) {
          const filtered = await app.request('GET', `${API}/audit-log?${filter}`, { key })
          expect(filtered.status).toBe(200)
          expect(filtered.body).toEqual({ data: [], next_cursor: null })
        }
      })
    }

    it('the platform key filters by organization_id', async () => {
      const ofA = await listAll<AuditEntry>(app, `/audit-log?organization_id=${A.organization.id}`, app.platformKey)
      expect(ofA.every((entry) => entry.organization_id === A.organization.id)).toBe(true)
      const actions = ofA.map((entry) => `${entry.action} ${entry.resource_id}`)
      expect(actions).toEqual(
        expect.arrayContaining([
          `organization.create ${A.organization.id}`,
          `workspace.create ${A.defaultWorkspace.id}`,
          `workspace.create ${A.secondWorkspace.id}`,
          `project.create ${A.p1.id}`,
          `project.create ${A.p2.id}`,
          `api_key.create ${A.orgKeyId}`,
          `api_key.create ${A.p1Key.id}`,
          `user.create ${A.admin.user.id}`,
          `user.invite ${A.invited.id}`,
        ]),
      )
      const ofB = await listAll<AuditEntry>(app, `/audit-log?organization_id=${B.organization.id}`, app.platformKey)
      expect(ofB.length).toBeGreaterThan(0)
      expect(ofB.every((entry) => entry.organization_id === B.organization.id)).toBe(true)
      // No write by any of B's principals ever landed in A's log.
      const bActors = new Set([B.orgKeyId, B.p1Key.id, B.p2Key.id, B.admin.user.id])
      expect(ofA.filter((entry) => bActors.has(entry.actor_id ?? ''))).toEqual([])
    })
  })

  describe('golden SQL stays in its project', () => {
    const QUESTION = 'Secret revenue of project one'
    let pair: { id: string; question: string }
    let ownPairs: Map<Attacker, string>
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')

    beforeAll(async () => {
      const created = await app.request('POST', `${API}/projects/${A.p1.id}/golden-sql`, {
        key: A.orgKey,
        body: { question: QUESTION, sql: 'select 1 as one' },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      pair = created.body
      // The same question saved where each attacker may read: a search there finds that one only.
      ownPairs = new Map()
      for (const [attacker, projectId] of [
        ['B organization key', B.p1.id],
        ['A project 2 key', A.p2.id],
      ] as const) {
        const own = await app.request('POST', `${API}/projects/${projectId}/golden-sql`, {
          key: attacker === 'A project 2 key' ? A.orgKey : B.orgKey,
          body: { question: QUESTION, sql: 'select 2 as two' },
        })
        expect(own.status, JSON.stringify(own.body)).toBe(201)
        ownPairs.set(attacker, own.body.id)
      }
    })

    for (const attacker of attackers) {
      it(`${attacker}: every golden SQL route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const requests: [string, string, unknown?][] = [
          ['GET', `/projects/${A.p1.id}/golden-sql`],
          ['POST', `/projects/${A.p1.id}/golden-sql`, { question: 'planted', sql: 'select 1 as one' }],
          ['GET', `/projects/${A.p1.id}/golden-sql/search?q=secret+revenue`],
          ['GET', `/projects/${A.p1.id}/golden-sql/${pair.id}`],
          ['PUT', `/projects/${A.p1.id}/golden-sql/${pair.id}`, { question: 'hijacked' }],
          ['DELETE', `/projects/${A.p1.id}/golden-sql/${pair.id}`],
          // A's pair through a project the attacker may use.
          ['GET', `/projects/${ownProject(attacker)}/golden-sql/${pair.id}`],
          ['PUT', `/projects/${ownProject(attacker)}/golden-sql/${pair.id}`, { question: 'hijacked' }],
          ['DELETE', `/projects/${ownProject(attacker)}/golden-sql/${pair.id}`],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(pair.id, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
      })

      it(`${attacker}: lists and searches of its own project never show A's pair`, async () => {
        const key = keyOf(fixture, attacker)
        const base = `${API}/projects/${ownProject(attacker)}/golden-sql`
        const listed = await app.request('GET', `${base}?limit=200`, { key })
        expect(listed.status).toBe(200)
        const found = await app.request('GET', `${base}/search?q=${encodeURIComponent(QUESTION)}&limit=50`, { key })
        expect(found.status).toBe(200)
        const foundIds = (found.body.data as { golden_sql: { id: string } }[]).map((hit) => hit.golden_sql.id)
        const own = ownPairs.get(attacker === 'A project 2 key' ? attacker : 'B organization key')!
        expect(foundIds).toEqual([own])
        expect((listed.body.data as { id: string }[]).map((item) => item.id)).toEqual([own])
      })
    }

    it("A's pair is unchanged afterwards, and A still finds it", async () => {
      const read = await app.request('GET', `${API}/projects/${A.p1.id}/golden-sql/${pair.id}`, { key: A.p1Key.key })
      expect(read.status).toBe(200)
      expect(read.body).toEqual(pair)
      const found = await app.request('GET', `${API}/projects/${A.p1.id}/golden-sql/search?q=secret+revenue`, {
        key: A.viewer.token,
      })
      expect(found.body.data.map((hit: { golden_sql: { id: string } }) => hit.golden_sql.id)).toEqual([pair.id])
    })
  })

  describe('questions and threads stay in their project', () => {
    let thread: { thread_id: string; message_id: string }

    beforeAll(async () => {
      const asked = await app.request('POST', `${API}/projects/${A.p1.id}/ask`, {
        key: A.orgKey,
        body: { question: 'Secret question of project one' },
      })
      expect(asked.status, JSON.stringify(asked.body)).toBe(200)
      thread = asked.body
    })

    for (const attacker of [...OUTSIDERS, 'A project 2 key'] as Attacker[]) {
      it(`${attacker}: every ask and thread route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = attacker === 'A project 2 key' ? A.p2.id : B.p1.id
        const threadPath = `/projects/${A.p1.id}/threads/${thread.thread_id}`
        const requests: [string, string, unknown?][] = [
          ['POST', `/projects/${A.p1.id}/ask`, { question: 'how many rows' }],
          ['POST', `/projects/${A.p1.id}/ask/stream`, { question: 'how many rows' }],
          ['GET', `/projects/${A.p1.id}/threads`],
          ['GET', threadPath],
          ['PATCH', threadPath, { title: 'hijacked' }],
          ['DELETE', threadPath],
          ['GET', `${threadPath}/messages`],
          ['POST', `${threadPath}/messages/${thread.message_id}/feedback`, { correct: false }],
          ['GET', `/projects/${A.p1.id}/questions/suggest`],
          ['POST', `/projects/${A.p1.id}/metadata/internal/main/t/generate`],
          // A's thread through a project the attacker may use.
          ['GET', `/projects/${own}/threads/${thread.thread_id}`],
          ['GET', `/projects/${own}/threads/${thread.thread_id}/messages`],
          ['POST', `/projects/${own}/ask`, { question: 'and the rest?', thread_id: thread.thread_id }],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
        }
      })
    }

    it("A's thread is unchanged afterwards", async () => {
      const read = await app.request('GET', `${API}/projects/${A.p1.id}/threads/${thread.thread_id}/messages`, {
        key: A.orgKey,
      })
      expect(read.status).toBe(200)
      expect(read.body.data).toHaveLength(1)
      expect(read.body.data[0]).toMatchObject({ question: 'Secret question of project one', feedback: null })
    })
  })

  describe('AI settings, usage and data policy stay in their tenant', () => {
    let settings: unknown
    let policy: unknown
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')

    beforeAll(async () => {
      const saved = await app.request('PUT', `${API}/organizations/${A.organization.id}/ai-settings`, {
        key: A.admin.token,
        body: {
          provider: 'openai-compatible',
          model: 'llama3.1',
          base_url: 'http://127.0.0.1:11434/v1',
          api_key: 'a-secret',
          monthly_token_budget: 1_000_000_000,
        },
      })
      expect(saved.status, JSON.stringify(saved.body)).toBe(200)
      settings = saved.body
      const changed = await app.request('PUT', `${API}/projects/${A.p1.id}/ai-policy`, {
        key: A.editor.token,
        body: { share_rows: true },
      })
      expect(changed.status, JSON.stringify(changed.body)).toBe(200)
      policy = changed.body
    })

    for (const attacker of OUTSIDERS) {
      it(`${attacker}: A's AI settings and usage → 404, as for an organization that exists nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const requests: [string, string, unknown?][] = [
          ['GET', `/organizations/${A.organization.id}/ai-settings`],
          ['PUT', `/organizations/${A.organization.id}/ai-settings`, { provider: 'none' }],
          ['PUT', `/organizations/${A.organization.id}/ai-settings`, { base_url: 'http://127.0.0.1:1/v1' }],
          ['GET', `/organizations/${A.organization.id}/ai-usage`],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghost = await app.request(method, `${API}${path.replace(A.organization.id, randomUUID())}`, {
            key,
            body,
          })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
      })
    }

    for (const attacker of [...OUTSIDERS, 'A project 2 key'] as Attacker[]) {
      it(`${attacker}: the data policy of A's p1 → 404`, async () => {
        const key = keyOf(fixture, attacker)
        for (const [method, body] of [
          ['GET', undefined],
          ['PUT', { share_values: false }],
        ] as const) {
          const path = `/projects/${A.p1.id}/ai-policy`
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghost = await app.request(method, `${API}${path.replace(A.p1.id, randomUUID())}`, { key, body })
          expect(anonymised(response)).toBe(anonymised(ghost))
        }
      })
    }

    it("A's settings and policy are unchanged afterwards; B's are its own", async () => {
      const read = await app.request('GET', `${API}/organizations/${A.organization.id}/ai-settings`, {
        key: A.viewer.token,
      })
      expect(read.body).toEqual(settings)
      const readPolicy = await app.request('GET', `${API}/projects/${A.p1.id}/ai-policy`, { key: A.p1Key.key })
      expect(readPolicy.body).toEqual(policy)
      const theirs = await app.request('GET', `${API}/organizations/${B.organization.id}/ai-settings`, {
        key: B.orgKey,
      })
      expect(theirs.body).toMatchObject({ provider: null, api_key_set: false, monthly_token_budget: null })
      const theirPolicy = await app.request('GET', `${API}/projects/${B.p1.id}/ai-policy`, { key: B.orgKey })
      expect(theirPolicy.body).toMatchObject({ share_values: true, share_rows: false })
    })
  })

  describe('caches stay in their project', () => {
    let cache: { id: string }
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
    const table = { catalog: 'ledger', schema: 'main', table: 'revenue' }

    beforeAll(async () => {
      // A source of A's p1 only: a SQLite file under the app's own file root.
      const files = join(app.dataDir, 'files')
      mkdirSync(files, { recursive: true })
      const db = new Database(join(files, 'ledger.sqlite'))
      db.exec('create table revenue (id integer primary key, amount real); insert into revenue values (1, 9.5)')
      db.close()
      const connection = await app.request('POST', `${API}/projects/${A.p1.id}/connections`, {
        key: A.orgKey,
        body: { name: 'Ledger', type: 'sqlite', config: { path: 'ledger.sqlite' }, catalog: 'ledger' },
      })
      expect(connection.status, JSON.stringify(connection.body)).toBe(201)
      const created = await app.request('POST', `${API}/projects/${A.p1.id}/caches`, { key: A.orgKey, body: table })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      cache = created.body
    })

    for (const attacker of attackers) {
      it(`${attacker}: every cache route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = ownProject(attacker)
        const requests: [string, string, unknown?][] = [
          ['GET', `/projects/${A.p1.id}/caches`],
          ['POST', `/projects/${A.p1.id}/caches`, table],
          ['POST', `/projects/${A.p1.id}/caches/batch`, { tables: [table] }],
          ['GET', `/projects/${A.p1.id}/caches/status`],
          ['GET', `/projects/${A.p1.id}/caches/${cache.id}`],
          ['PUT', `/projects/${A.p1.id}/caches/${cache.id}`, { full_refresh_schedule: { type: 'none' } }],
          ['POST', `/projects/${A.p1.id}/caches/${cache.id}/refresh`, {}],
          ['POST', `/projects/${A.p1.id}/caches/${cache.id}/cancel`],
          ['GET', `/projects/${A.p1.id}/caches/${cache.id}/history`],
          ['DELETE', `/projects/${A.p1.id}/caches/${cache.id}`],
          // A's cache through a project the attacker may use.
          ['GET', `/projects/${own}/caches/${cache.id}`],
          ['PUT', `/projects/${own}/caches/${cache.id}`, { full_refresh_schedule: { type: 'none' } }],
          ['POST', `/projects/${own}/caches/${cache.id}/refresh`, {}],
          ['POST', `/projects/${own}/caches/${cache.id}/cancel`],
          ['GET', `/projects/${own}/caches/${cache.id}/history`],
          ['DELETE', `/projects/${own}/caches/${cache.id}`],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(cache.id, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
      })

      it(`${attacker}: A's table cannot be cached from its own project, nor listed there`, async () => {
        const key = keyOf(fixture, attacker)
        const base = `${API}/projects/${ownProject(attacker)}/caches`
        const planted = await app.request('POST', base, { key, body: table })
        expectError(planted, 404, 'not_found')
        const listed = await app.request('GET', base, { key })
        expect(listed.status).toBe(200)
        expect((listed.body.data as { id: string }[]).map((item) => item.id)).not.toContain(cache.id)
        const summary = await app.request('GET', `${base}/status`, { key })
        expect(summary.body.caches.map((item: { id: string }) => item.id)).not.toContain(cache.id)
      })
    }

    it("A's cache is unchanged afterwards", async () => {
      const read = await app.request('GET', `${API}/projects/${A.p1.id}/caches/${cache.id}`, { key: A.viewer.token })
      expect(read.status).toBe(200)
      expect(read.body).toEqual(cache)
    })
  })

  describe('dashboards stay in their project', () => {
    let dashboard: { id: string; updated_at: string; widgets: { id: string }[] }
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
    const body = {
      name: 'Revenue',
      widgets: [
        {
          type: 'metric',
          title: 'One',
          position: { x: 0, y: 0, w: 2, h: 2 },
          sql: 'select 1 as one',
          config: { value: 'one' },
        },
      ],
    }

    beforeAll(async () => {
      const created = await app.request('POST', `${API}/projects/${A.p1.id}/dashboards`, { key: A.orgKey, body })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      dashboard = created.body
    })

    for (const attacker of attackers) {
      it(`${attacker}: every dashboard route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = ownProject(attacker)
        const widget = dashboard.widgets[0]!.id
        const requests: [string, string, unknown?][] = [
          ['GET', `/projects/${A.p1.id}/dashboards`],
          ['POST', `/projects/${A.p1.id}/dashboards`, body],
          ['GET', `/projects/${A.p1.id}/dashboards/${dashboard.id}`],
          ['PATCH', `/projects/${A.p1.id}/dashboards/${dashboard.id}`, { name: 'Mine' }],
          ['POST', `/projects/${A.p1.id}/dashboards/${dashboard.id}/refresh`],
          ['GET', `/projects/${A.p1.id}/dashboards/${dashboard.id}/widgets/${widget}/data?refresh=true`],
          ['DELETE', `/projects/${A.p1.id}/dashboards/${dashboard.id}`],
          // A's dashboard through a project the attacker may use.
          ['GET', `/projects/${own}/dashboards/${dashboard.id}`],
          ['PATCH', `/projects/${own}/dashboards/${dashboard.id}`, { name: 'Mine' }],
          ['POST', `/projects/${own}/dashboards/${dashboard.id}/refresh`],
          ['GET', `/projects/${own}/dashboards/${dashboard.id}/widgets/${widget}/data`],
          ['DELETE', `/projects/${own}/dashboards/${dashboard.id}`],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(dashboard.id, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
        const listed = await app.request('GET', `${API}/projects/${own}/dashboards`, { key })
        expect(listed.status).toBe(200)
        expect((listed.body.data as { id: string }[]).map((item) => item.id)).not.toContain(dashboard.id)
      })
    }

    it("A's dashboard is unchanged afterwards", async () => {
      const read = await app.request('GET', `${API}/projects/${A.p1.id}/dashboards/${dashboard.id}`, {
        key: A.viewer.token,
      })
      expect(read.status).toBe(200)
      expect(read.body).toMatchObject({ name: 'Revenue', updated_at: dashboard.updated_at })
    })
  })

  describe('workflows stay in their project', () => {
    let workflow: { id: string; signing_secret?: string }
    let runId: string
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
    const definition = { name: 'Revenue watch', steps: [{ name: 'one', sql: 'select 1 as one' }] }

    beforeAll(async () => {
      const created = await app.request('POST', `${API}/projects/${A.p1.id}/workflows`, {
        key: A.orgKey,
        body: definition,
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      // Shown once, at create: a read shows the rest.
      workflow = { ...created.body }
      delete workflow.signing_secret
      const run = await app.request('POST', `${API}/projects/${A.p1.id}/workflows/${workflow.id}/run`, {
        key: A.orgKey,
      })
      expect(run.status, JSON.stringify(run.body)).toBe(202)
      runId = run.body.id
    })

    for (const attacker of attackers) {
      it(`${attacker}: every workflow route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = ownProject(attacker)
        const change = { revision: 1, description: 'hijacked' }
        const requests: [string, string, unknown?][] = []
        for (const project of [A.p1.id, own]) {
          const path = `/projects/${project}/workflows/${workflow.id}`
          requests.push(
            ['GET', path],
            ['PATCH', path, change],
            ['DELETE', path],
            ['POST', `${path}/run`],
            ['POST', `${path}/preview`],
            ['POST', `${path}/actions/0/test`],
            ['GET', `${path}/runs`],
            ['GET', `${path}/runs/${runId}`],
          )
        }
        requests.push(['GET', `/projects/${A.p1.id}/workflows`], ['POST', `/projects/${A.p1.id}/workflows`, definition])
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(workflow.id, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
        const listed = await app.request('GET', `${API}/projects/${own}/workflows`, { key })
        expect(listed.status).toBe(200)
        expect(JSON.stringify(listed.body)).not.toContain(workflow.id)
      })
    }

    it("A's workflow is unchanged afterwards", async () => {
      const read = await app.request('GET', `${API}/projects/${A.p1.id}/workflows/${workflow.id}`, {
        key: A.viewer.token,
      })
      expect(read.status).toBe(200)
      expect(read.body).toEqual(workflow)
    })
  })

  describe('outbound credentials stay in their project', () => {
    let credential: Record<string, unknown> & { id: string }
    const secret = 'tenant-secret-Vq7xP2mK9'
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
    const definition = { name: 'Hook token', type: 'bearer', secret, allowed_hosts: ['hooks.example.com'] }

    beforeAll(async () => {
      const created = await app.request('POST', `${API}/projects/${A.p1.id}/credentials`, {
        key: A.orgKey,
        body: definition,
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      credential = created.body
    })

    for (const attacker of attackers) {
      it(`${attacker}: every credential route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = ownProject(attacker)
        const requests: [string, string, unknown?][] = []
        for (const project of [A.p1.id, own]) {
          const path = `/projects/${project}/credentials/${credential.id}`
          requests.push(
            ['GET', path],
            ['PATCH', path, { secret: 'stolen', allowed_hosts: ['evil.example'] }],
            ['DELETE', path],
          )
        }
        requests.push(
          ['GET', `/projects/${A.p1.id}/credentials`],
          ['POST', `/projects/${A.p1.id}/credentials`, { ...definition, name: 'Planted' }],
        )
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(credential.id, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
        const listed = await app.request('GET', `${API}/projects/${own}/credentials`, { key })
        expect(listed.status).toBe(200)
        expect(JSON.stringify(listed.body)).not.toContain(credential.id)
      })
    }

    it("A's credential is unchanged afterwards, and its secret opens only for A's p1", async () => {
      const read = await app.request('GET', `${API}/projects/${A.p1.id}/credentials/${credential.id}`, {
        key: A.viewer.token,
      })
      expect(read.status).toBe(200)
      expect(read.body).toEqual(credential)
      const { credentials } = app.tributary.services
      const ctxOf = async (key: string) => ({
        principal: await app.tributary.platform.authenticator.authenticate(`Bearer ${key}`),
        requestId: 'tenant-isolation',
      })
      const url = 'https://hooks.example.com/in'
      const own = await credentials.headersFor(await ctxOf(A.orgKey), A.p1.id, credential.id, url, 'credential_id')
      expect(own.headers).toEqual({ authorization: `Bearer ${secret}` })
      for (const [key, project] of [
        [B.orgKey, B.p1.id],
        [A.p2Key.key, A.p2.id],
        [A.orgKey, A.p2.id],
      ] as const) {
        const refused = await credentials
          .headersFor(await ctxOf(key), project, credential.id, url, 'credential_id')
          .catch((error: unknown) => error)
        expect(refused).toMatchObject({ code: 'validation_error', status: 422 })
      }
    })
  })

  describe('access policies stay in their project', () => {
    const made: { kind: string; id: string; body: Record<string, unknown> }[] = []
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
    const target = { catalog: 'internal', schema: 'policed', table: 't' }
    const bodies: Record<string, Record<string, unknown>> = {
      'privacy-policies': { ...target, column: 'id', mask: 'hash' },
      'row-policies': { ...target, filter: 'id > 0' },
      'column-tags': { ...target, column: 'id', tag: 'pii' },
    }

    beforeAll(async () => {
      const dataset = await app.request('POST', `${API}/projects/${A.p1.id}/datasets`, {
        key: A.orgKey,
        body: { name: 'policed' },
      })
      expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
      const table = await app.request('POST', `${API}/projects/${A.p1.id}/datasets/${dataset.body.id}/tables`, {
        key: A.orgKey,
        body: { name: 't', schema: [{ name: 'id', type: 'BIGINT' }] },
      })
      expect(table.status, JSON.stringify(table.body)).toBe(201)
      for (const [kind, body] of Object.entries(bodies)) {
        const created = await app.request('POST', `${API}/projects/${A.p1.id}/${kind}`, { key: A.orgKey, body })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        made.push({ kind, id: created.body.id, body: created.body })
      }
      const tagged = await app.request('POST', `${API}/projects/${A.p1.id}/privacy-policies`, {
        key: A.orgKey,
        body: { tag: 'pii', mask: 'redact' },
      })
      expect(tagged.status, JSON.stringify(tagged.body)).toBe(201)
    })

    for (const attacker of attackers) {
      it(`${attacker}: every policy and tag route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = ownProject(attacker)
        const requests: [string, string, unknown?][] = []
        for (const { kind, id } of made) {
          for (const project of [A.p1.id, own]) {
            const path = `/projects/${project}/${kind}/${id}`
            if (kind !== 'column-tags') requests.push(['GET', path], ['PUT', path, bodies[kind]])
            requests.push(['DELETE', path])
          }
          requests.push(['GET', `/projects/${A.p1.id}/${kind}`], ['POST', `/projects/${A.p1.id}/${kind}`, bodies[kind]])
        }
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(UUID_AFTER_KIND, `/${randomUUID()}`)
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
        for (const { kind, id } of made) {
          const listed = await app.request('GET', `${API}/projects/${own}/${kind}`, { key })
          expect(listed.status).toBe(200)
          expect(JSON.stringify(listed.body)).not.toContain(id)
        }
      })
    }

    it("A's policies are unchanged afterwards, and apply to A's p1 only", async () => {
      for (const { kind, id, body } of made) {
        const listed = await app.request('GET', `${API}/projects/${A.p1.id}/${kind}`, { key: A.viewer.token })
        expect(listed.body.data.find((item: { id: string }) => item.id === id)).toEqual(body)
      }
      const { accessPolicies } = app.tributary.services
      const ctxOf = async (key: string) => ({
        principal: await app.tributary.platform.authenticator.authenticate(`Bearer ${key}`),
        requestId: 'tenant-isolation',
      })
      const table = { ...target, columns: [{ name: 'id', type: 'BIGINT' }] }
      const inP1 = await accessPolicies.accessFor((await ctxOf(A.viewer.token)) as never, A.p1.id)
      expect(inP1.table(table)?.rowFilter).toBe('(id > 0)')
      for (const [key, project] of [
        [B.orgKey, B.p1.id],
        [A.p2Key.key, A.p2.id],
        [A.orgKey, A.p2.id],
      ] as const) {
        const access = await accessPolicies.accessFor((await ctxOf(key)) as never, project)
        expect(access.table(table)).toBeUndefined()
      }
    })
  })

  describe('materialized queries stay in their project', () => {
    let query: { id: string }
    let settled: unknown
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
    const statusPath = () => `${API}/projects/${A.p1.id}/queries/${query.id}/status`

    beforeAll(async () => {
      const created = await app.request('POST', `${API}/projects/${A.p1.id}/queries`, {
        key: A.orgKey,
        body: { display_name: 'Secret total', sql: 'select 42 as secret', query_type: 'MATERIALIZED' },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      query = created.body
      // Computed when saved: wait for that, so that anything changing the status afterwards is an attack.
      for (let i = 0; ; i += 1) {
        const status = await app.request('GET', statusPath(), { key: A.orgKey })
        if (status.body.status === 'COMPLETED' && status.body.job_status === 'succeeded') {
          settled = status.body
          break
        }
        if (i > 400) throw new Error(`not computed: ${JSON.stringify(status.body)}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })

    for (const attacker of attackers) {
      it(`${attacker}: every materialized-query route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = ownProject(attacker)
        const requests: [string, string][] = [
          ['GET', `/projects/${A.p1.id}/materialized-queries/status`],
          ['GET', `/projects/${A.p1.id}/queries/${query.id}/status`],
          ['POST', `/projects/${A.p1.id}/queries/${query.id}/refresh`],
          ['POST', `/projects/${A.p1.id}/queries/${query.id}/cancel`],
          // A's query through a project the attacker may use.
          ['GET', `/projects/${own}/queries/${query.id}/status`],
          ['POST', `/projects/${own}/queries/${query.id}/refresh`],
          ['POST', `/projects/${own}/queries/${query.id}/cancel`],
        ]
        for (const [method, path] of requests) {
          const response = await app.request(method, `${API}${path}`, { key })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(query.id, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
        const listed = await app.request('GET', `${API}/projects/${own}/materialized-queries/status`, { key })
        expect(listed.status).toBe(200)
        expect((listed.body.data as { query_id: string }[]).map((item) => item.query_id)).not.toContain(query.id)
        // Nor read by name from its own project.
        const read = await app.request('POST', `${API}/projects/${own}/sql`, {
          key,
          body: { sql: 'select secret from queries.materialized."Secret total"' },
        })
        expect(read.status).toBe(400)
        // The secret value (42) is not in the refusal; request ids are random and may hold those digits.
        expect(read.body.error.code).toBe('query_error')
        expect(read.body.error.message).not.toMatch(/\b42\b/)
      })
    }

    it("A's materialized query is unchanged afterwards: not computed again, not cancelled", async () => {
      const read = await app.request('GET', statusPath(), { key: A.viewer.token })
      expect(read.status).toBe(200)
      expect(read.body).toEqual(settled)
    })
  })

  describe('project metadata stays in its project', () => {
    const SCHEMA = 'secret_ledger'
    const TABLE = 'revenue_ledger'
    let described: unknown
    let jobId: string
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')

    beforeAll(async () => {
      const dataset = await app.request('POST', `${API}/projects/${A.p1.id}/datasets`, {
        key: A.orgKey,
        body: { name: SCHEMA },
      })
      expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
      const table = await app.request('POST', `${API}/projects/${A.p1.id}/datasets/${dataset.body.id}/tables`, {
        key: A.orgKey,
        body: { name: TABLE, schema: [{ name: 'amount', type: 'DOUBLE' }] },
      })
      expect(table.status, JSON.stringify(table.body)).toBe(201)
      const put = await app.request('PUT', `${API}/projects/${A.p1.id}/metadata/internal/${SCHEMA}/${TABLE}`, {
        key: A.orgKey,
        body: { description: 'Secret revenue ledger', columns: [{ name: 'amount', description: 'Secret amount' }] },
      })
      expect(put.status, JSON.stringify(put.body)).toBe(200)
      described = put.body
      const job = await app.request('POST', `${API}/projects/${A.p1.id}/metadata/refresh`, {
        key: A.orgKey,
        body: { catalog: 'internal' },
      })
      expect(job.status, JSON.stringify(job.body)).toBe(202)
      jobId = job.body.id
    })

    for (const attacker of attackers) {
      it(`${attacker}: every metadata route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = ownProject(attacker)
        const requests: [string, string, unknown?][] = [
          ['GET', `/projects/${A.p1.id}/metadata`],
          ['GET', `/projects/${A.p1.id}/metadata?catalog=internal&schema=${SCHEMA}`],
          ['GET', `/projects/${A.p1.id}/metadata/internal/${SCHEMA}/${TABLE}`],
          ['PUT', `/projects/${A.p1.id}/metadata/internal/${SCHEMA}/${TABLE}`, { description: 'hijacked' }],
          ['PUT', `/projects/${A.p1.id}/metadata/internal/${SCHEMA}`, { use_with_ai: false }],
          ['PUT', `/projects/${A.p1.id}/metadata/internal`, { use_with_ai: false }],
          ['POST', `/projects/${A.p1.id}/metadata/refresh`, {}],
          ['GET', `/projects/${A.p1.id}/metadata/refresh/${jobId}`],
          ['GET', `/projects/${A.p1.id}/metadata/callback-secret`],
          ['GET', `/projects/${A.p1.id}/metadata/search?q=secret+revenue`],
          // A's job and A's table through a project the attacker may use.
          ['GET', `/projects/${own}/metadata/refresh/${jobId}`],
          ['GET', `/projects/${own}/metadata/internal/${SCHEMA}/${TABLE}`],
          ['PUT', `/projects/${own}/metadata/internal/${SCHEMA}/${TABLE}`, { description: 'hijacked' }],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(jobId, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          if (path.includes(A.p1.id) || path.includes(jobId)) {
            expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
          }
        }
      })

      it(`${attacker}: the metadata and search of its own project never show A's table`, async () => {
        const key = keyOf(fixture, attacker)
        const base = `${API}/projects/${ownProject(attacker)}/metadata`
        const listed = await app.request('GET', `${base}?limit=200`, { key })
        expect(listed.status, JSON.stringify(listed.body)).toBe(200)
        expect((listed.body.data as { schema: string }[]).map((entry) => entry.schema)).not.toContain(SCHEMA)
        const found = await app.request('GET', `${base}/search?q=${encodeURIComponent('secret revenue ledger')}`, {
          key,
        })
        expect(found.status).toBe(200)
        expect((found.body.data as { table: string }[]).map((hit) => hit.table)).not.toContain(TABLE)
      })
    }

    it("A's metadata is unchanged afterwards, and A's search finds it", async () => {
      const read = await app.request('GET', `${API}/projects/${A.p1.id}/metadata/internal/${SCHEMA}/${TABLE}`, {
        key: A.viewer.token,
      })
      expect(read.status).toBe(200)
      // The refresh of A's own project moved `refreshed_at` (and so `updated_at`); nothing else changed.
      const stable = (body: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(body).filter(([field]) => !['refreshed_at', 'updated_at'].includes(field)))
      expect(stable(read.body)).toEqual(stable(described as Record<string, unknown>))
      const found = await app.request('GET', `${API}/projects/${A.p1.id}/metadata/search?q=secret+revenue`, {
        key: A.viewer.token,
      })
      expect(found.status).toBe(200)
      expect((found.body.data as { table: string }[]).map((hit) => hit.table)).toContain(TABLE)
    })
  })

  describe('relations and categorical values stay in their project', () => {
    const SCHEMA = 'secret_relations'
    let relationId: string
    let relationBefore: unknown
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
    const end = (table: string) => ({ catalog: 'internal', schema: SCHEMA, table, columns: ['account'] })
    const categoricalPath = (projectId: string) =>
      `/projects/${projectId}/metadata/internal/${SCHEMA}/payments/columns/account/categorical`

    beforeAll(async () => {
      const dataset = await app.request('POST', `${API}/projects/${A.p1.id}/datasets`, {
        key: A.orgKey,
        body: { name: SCHEMA },
      })
      expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
      for (const name of ['payments', 'accounts']) {
        const table = await app.request('POST', `${API}/projects/${A.p1.id}/datasets/${dataset.body.id}/tables`, {
          key: A.orgKey,
          body: { name, schema: [{ name: 'account', type: 'BIGINT' }] },
        })
        expect(table.status, JSON.stringify(table.body)).toBe(201)
      }
      const relation = await app.request('POST', `${API}/projects/${A.p1.id}/metadata/relations`, {
        key: A.orgKey,
        body: { from: end('payments'), to: end('accounts'), description: 'secret accounts' },
      })
      expect(relation.status, JSON.stringify(relation.body)).toBe(201)
      relationId = relation.body.id
      relationBefore = relation.body
      const categorical = await app.request('PUT', `${API}${categoricalPath(A.p1.id)}`, {
        key: A.orgKey,
        body: { limit: 5, refresh: 'P1D' },
      })
      expect(categorical.status, JSON.stringify(categorical.body)).toBe(200)
    })

    for (const attacker of attackers) {
      it(`${attacker}: every relation and categorical route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const own = ownProject(attacker)
        const requests: [string, string, unknown?][] = [
          ['GET', `/projects/${A.p1.id}/metadata/relations`],
          ['POST', `/projects/${A.p1.id}/metadata/relations`, { from: end('accounts'), to: end('payments') }],
          ['GET', `/projects/${A.p1.id}/metadata/relations/${relationId}`],
          ['PUT', `/projects/${A.p1.id}/metadata/relations/${relationId}`, { description: 'hijacked' }],
          ['DELETE', `/projects/${A.p1.id}/metadata/relations/${relationId}`],
          ['PUT', categoricalPath(A.p1.id), { limit: 1 }],
          ['DELETE', categoricalPath(A.p1.id)],
          // A's relation and A's table through a project the attacker may use.
          ['GET', `/projects/${own}/metadata/relations/${relationId}`],
          ['PUT', `/projects/${own}/metadata/relations/${relationId}`, { description: 'hijacked' }],
          ['DELETE', `/projects/${own}/metadata/relations/${relationId}`],
          ['POST', `/projects/${own}/metadata/relations`, { from: end('accounts'), to: end('payments') }],
          ['PUT', categoricalPath(own), { limit: 1 }],
          ['DELETE', categoricalPath(own)],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(relationId, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          if (path.includes(A.p1.id) || path.includes(relationId)) {
            expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
          }
        }
      })

      it(`${attacker}: the relations of its own project never show A's`, async () => {
        const key = keyOf(fixture, attacker)
        const listed = await app.request(
          'GET',
          `${API}/projects/${ownProject(attacker)}/metadata/relations?limit=200`,
          {
            key,
          },
        )
        expect(listed.status, JSON.stringify(listed.body)).toBe(200)
        expect((listed.body.data as { id: string }[]).map((relation) => relation.id)).not.toContain(relationId)
      })
    }

    it("A's relation and categorical column are unchanged afterwards", async () => {
      const read = await app.request('GET', `${API}/projects/${A.p1.id}/metadata/relations/${relationId}`, {
        key: A.viewer.token,
      })
      expect(read.body).toEqual(relationBefore)
      const table = await app.request('GET', `${API}/projects/${A.p1.id}/metadata/internal/${SCHEMA}/payments`, {
        key: A.viewer.token,
      })
      expect(table.body.columns).toMatchObject([{ name: 'account', is_categorical: true }])
      const schedules = await app.tributary.platform.db
        .selectFrom('categorical_schedules')
        .select(['value_limit', 'refresh'])
        .where('project_id', '=', A.p1.id)
        .execute()
      expect(schedules).toEqual([{ value_limit: 5, refresh: 'P1D' }])
    })
  })

  describe('semantic catalogs stay in their organization', () => {
    const CATALOG = 'secret_sc'
    let tableId: string
    let queryId: string
    let before: unknown
    const attackers: Attacker[] = [...OUTSIDERS, 'A project 2 key']
    const ownProject = (attacker: Attacker) => (attacker === 'A project 2 key' ? A.p2.id : B.p1.id)
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')
    const base = () => `/projects/${A.p1.id}/semantic-catalogs`

    beforeAll(async () => {
      const created = await app.request('POST', `${API}${base()}`, { key: A.orgKey, body: { name: CATALOG } })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const query = await app.request('POST', `${API}/projects/${A.p1.id}/queries`, {
        key: A.orgKey,
        body: { display_name: 'Secret', sql: 'select 42 as answer' },
      })
      expect(query.status, JSON.stringify(query.body)).toBe(201)
      queryId = query.body.id
      const table = await app.request('POST', `${API}${base()}/${CATALOG}/tables`, {
        key: A.orgKey,
        body: { table: 'answers', query_id: queryId },
      })
      expect(table.status, JSON.stringify(table.body)).toBe(201)
      tableId = table.body.id
      before = (await app.request('GET', `${API}${base()}/${CATALOG}`, { key: A.orgKey })).body
    })

    for (const attacker of attackers) {
      it(`${attacker}: every semantic catalog route of A's p1 → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const requests: [string, string, unknown?][] = [
          ['GET', base()],
          ['POST', base(), { name: 'planted' }],
          ['GET', `${base()}/${CATALOG}`],
          ['DELETE', `${base()}/${CATALOG}`],
          ['POST', `${base()}/${CATALOG}/tables`, { table: 'planted', query_id: queryId }],
          ['GET', `${base()}/${CATALOG}/tables`],
          ['DELETE', `${base()}/${CATALOG}/tables/${tableId}`],
          ['POST', `${base()}/${CATALOG}/share`, { project_id: ownProject(attacker) }],
          ['DELETE', `${base()}/${CATALOG}/share/${ownProject(attacker)}`],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(tableId, randomUUID())
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
      })

      it(`${attacker}: its own project neither lists A's catalog nor reads it in SQL`, async () => {
        const key = keyOf(fixture, attacker)
        const own = `${API}/projects/${ownProject(attacker)}`
        const listed = await app.request('GET', `${own}/semantic-catalogs`, { key })
        expect(listed.status).toBe(200)
        expect(listed.body.data).toEqual([])
        const catalogs = await app.request('GET', `${own}/catalogs`, { key })
        expect(catalogs.body.data.map((catalog: { name: string }) => catalog.name)).not.toContain(CATALOG)
        expectError(await app.request('GET', `${own}/semantic-catalogs/${CATALOG}`, { key }), 404, 'not_found')
        const read = await app.request('POST', `${own}/sql`, {
          key,
          body: { sql: `SELECT * FROM ${CATALOG}.main.answers` },
        })
        expect(read.body.error).toMatchObject({
          code: 'query_error',
          message: expect.stringContaining('unknown catalog'),
        })
        // A saved query of A's is not readable by name from elsewhere either.
        const byName = await app.request('POST', `${own}/sql`, {
          key,
          body: { sql: 'SELECT * FROM queries.main.secret' },
        })
        expect(byName.body.error?.code).toBe('query_error')
      })
    }

    it("A cannot share with another organization's project: 404 as for a project that exists nowhere", async () => {
      const response = await app.request('POST', `${API}${base()}/${CATALOG}/share`, {
        key: A.orgKey,
        body: { project_id: B.p1.id },
      })
      expectError(response, 404, 'not_found')
      const ghost = await app.request('POST', `${API}${base()}/${CATALOG}/share`, {
        key: A.orgKey,
        body: { project_id: randomUUID() },
      })
      expect(anonymised(response)).toBe(anonymised(ghost))
    })

    it("A's catalog is unchanged afterwards", async () => {
      const after = await app.request('GET', `${API}${base()}/${CATALOG}`, { key: A.p1Key.key })
      expect(after.status).toBe(200)
      expect(after.body).toEqual(before)
    })
  })

  describe('MCP at /mcp', () => {
    /** One JSON-RPC request, answered in JSON by the stateless endpoint. */
    async function rpc(key: string, method: string, params: Record<string, unknown>) {
      const response = await app.request('POST', '/mcp', {
        key,
        headers: { accept: 'application/json, text/event-stream' },
        body: { jsonrpc: '2.0', id: 1, method, params },
      })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      return response.body as { result?: any; error?: { code: number; message: string } }
    }

    for (const attacker of [...OUTSIDERS, 'A project 2 key'] as Attacker[]) {
      it(`${attacker}: tools, resources and prompts of A's project → not_found, as for a project that exists nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        for (const name of [
          'list_catalogs',
          'list_saved_queries',
          'search_metadata',
          'list_dashboards',
          'list_workflows',
        ]) {
          const args = name === 'search_metadata' ? { query: 'anything' } : {}
          for (const projectId of [A.p1.id, randomUUID()]) {
            const { result } = await rpc(key, 'tools/call', { name, arguments: { ...args, project_id: projectId } })
            expect(result, name).toMatchObject({ isError: true })
            expect(result.content[0].text).toBe(`not_found: project ${projectId} not found`)
          }
        }
        const read = await rpc(key, 'resources/read', { uri: `tributary://${A.p1.id}/internal/main/anything` })
        expect(read.error?.message).toContain(`not_found: project ${A.p1.id} not found`)
        const prompt = await rpc(key, 'prompts/get', { name: 'explore_project', arguments: { project_id: A.p1.id } })
        expect(prompt.error?.message).toContain(`not_found: project ${A.p1.id} not found`)
        const { result } = await rpc(key, 'resources/list', {})
        expect(JSON.stringify(result.resources)).not.toContain(A.p1.id)
      })
    }
  })

  describe('agents stay in their organization (and a project key in its project)', () => {
    let agent: { id: string }
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')

    beforeAll(async () => {
      // A documentation address: registering sends nothing, and no attacker's call may get as far as calling it.
      const created = await app.request('POST', `${API}/agents`, {
        key: A.orgKey,
        body: {
          name: 'A secret agent',
          protocol: 'A2A',
          endpoint_url: 'http://203.0.113.10/agent',
          project_id: A.p1.id,
          auth: { type: 'bearer', secret: 'a-secret-token-of-A' },
        },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      agent = created.body
    })

    for (const attacker of [...OUTSIDERS, 'A project 2 key'] as Attacker[]) {
      it(`${attacker}: every agent route for A's agent → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const requests: [string, string, unknown?][] = [
          ['GET', `/agents/${agent.id}`],
          ['PATCH', `/agents/${agent.id}`, { name: 'hijacked' }],
          ['DELETE', `/agents/${agent.id}`],
          ['POST', `/agents/${agent.id}/test`],
          ['GET', `/agents/${agent.id}/tools`],
          ['GET', `/agents/${agent.id}/rate-limits`],
          ['PUT', `/agents/${agent.id}/rate-limits`, { max_requests_per_second: 1 }],
          ['POST', `/agent-gateway/agents/${agent.id}`, { message: 'hi' }],
          ['POST', `/agent-gateway/agents/${agent.id}/stream`, { message: 'hi' }],
          ['GET', `/projects/${A.p1.id}/agents`],
          ['DELETE', `/projects/${A.p1.id}/agents/${agent.id}`],
          ['POST', `/agent-gateway/projects/${A.p1.id}`, { message: 'hi' }],
          ...(attacker === 'A project 2 key'
            ? []
            : ([['POST', `/projects/${A.p1.id}/agents`, { agent_id: agent.id }]] as [string, string, unknown?][])),
          // Assigning A's agent to a project of B's, as one who may assign there.
          ...(B_ORG_PRINCIPALS.includes(attacker)
            ? ([['POST', `/projects/${B.p1.id}/agents`, { agent_id: agent.id }]] as [string, string, unknown?][])
            : []),
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghostPath = path.replace(A.p1.id, randomUUID()).replace(agent.id, randomUUID())
          const ghostBody = JSON.parse(JSON.stringify(body ?? null)?.replace(agent.id, randomUUID()) ?? 'null')
          const ghost = await app.request(method, `${API}${ghostPath}`, { key, body: ghostBody ?? undefined })
          expectError(ghost, 404, 'not_found')
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
        const listed = await app.request('GET', `${API}/agents?limit=200`, { key })
        expect(listed.status).toBe(200)
        expect(JSON.stringify(listed.body)).not.toContain(agent.id)
      })
    }

    it("A's agent is unchanged, and A's p1 key sees it", async () => {
      const read = await app.request('GET', `${API}/agents/${agent.id}`, { key: A.p1Key.key })
      expect(read.status).toBe(200)
      expect(read.body).toEqual(agent)
      expect(JSON.stringify(read.body)).not.toContain('a-secret-token-of-A')
    })
  })

  describe('webhooks stay in their organization (and a project key in its project)', () => {
    const hooks: { id: string }[] = []
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')

    beforeAll(async () => {
      // A documentation address: no attacker's request may get as far as sending to it.
      for (const project_id of [A.p1.id, undefined]) {
        const created = await app.request('POST', `${API}/webhooks`, {
          key: A.orgKey,
          body: { url: 'http://203.0.113.10/hook', events: ['*'], ...(project_id ? { project_id } : {}) },
        })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        hooks.push(created.body)
      }
    })

    for (const attacker of [...OUTSIDERS, 'A project 2 key'] as Attacker[]) {
      it(`${attacker}: every webhook route for A's webhooks → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        for (const hook of hooks) {
          const requests: [string, string, unknown?][] = [
            ['GET', `/webhooks/${hook.id}`],
            ['PATCH', `/webhooks/${hook.id}`, { description: 'hijacked' }],
            ['DELETE', `/webhooks/${hook.id}`],
            ['GET', `/webhooks/${hook.id}/deliveries`],
            ['POST', `/webhooks/${hook.id}/test`],
          ]
          for (const [method, path, body] of requests) {
            const response = await app.request(method, `${API}${path}`, { key, body })
            expectError(response, 404, 'not_found')
            const ghost = await app.request(method, `${API}${path.replace(hook.id, randomUUID())}`, { key, body })
            expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
          }
        }
        // Subscribing to A's project.
        const subscribed = await app.request('POST', `${API}/webhooks`, {
          key,
          body: { url: 'http://203.0.113.10/stolen', events: ['*'], project_id: A.p1.id },
        })
        expectError(subscribed, 404, 'not_found')
        const listed = await app.request('GET', `${API}/webhooks?limit=200`, { key })
        expect(listed.status).toBe(200)
        for (const hook of hooks) expect(JSON.stringify(listed.body)).not.toContain(hook.id)
      })
    }

    it("A's webhooks are unchanged", async () => {
      for (const hook of hooks) {
        const read = await app.request('GET', `${API}/webhooks/${hook.id}`, { key: A.orgKey })
        const shown: Record<string, unknown> = { ...hook }
        delete shown.signing_secret
        expect(read.body).toEqual(shown)
      }
    })
  })

  describe('query costs and quotas stay in their organization', () => {
    it("B's admins see neither A's query costs nor A's quota, and B's limits stop only B", async () => {
      const job = await app.request('POST', `${API}/projects/${A.p1.id}/query-jobs`, {
        key: A.orgKey,
        body: { sql: 'select 42 as answer' },
      })
      expect(job.status, JSON.stringify(job.body)).toBe(202)
      await expect
        .poll(async () => {
          const costs = await app.request('GET', `${API}/query-costs?page_size=100`, { key: A.orgKey })
          return JSON.stringify(costs.body)
        })
        .toContain(job.body.id)
      const quotaOfA = await app.request('GET', `${API}/query-quota`, { key: A.orgKey })
      for (const attacker of B_ORG_PRINCIPALS) {
        const key = keyOf(fixture, attacker)
        const costs = await app.request('GET', `${API}/query-costs?page_size=100`, { key })
        expect(costs.status).toBe(200)
        expect(JSON.stringify(costs.body)).not.toContain(job.body.id)
        expect(JSON.stringify(costs.body)).not.toContain(A.p1.id)
      }
      expectError(await app.request('GET', `${API}/query-quota`, { key: B.p1Key.key }), 403, 'authorization_error')
      const blocked = await app.request('PUT', `${API}/query-quota`, {
        key: B.orgKey,
        body: { daily_limit: 0, monthly_limit: 0 },
      })
      expect(blocked.body.exceeded).toBe(true)
      const stillRuns = await app.request('POST', `${API}/projects/${A.p1.id}/sql`, {
        key: A.orgKey,
        body: { sql: 'select 1' },
      })
      expect(stillRuns.status, JSON.stringify(stillRuns.body)).toBe(200)
      expectError(
        await app.request('POST', `${API}/projects/${B.p1.id}/sql`, { key: B.orgKey, body: { sql: 'select 1' } }),
        429,
        'quota_exceeded',
      )
      expect((await app.request('GET', `${API}/query-quota`, { key: A.orgKey })).body).toEqual(quotaOfA.body)
      await app.request('PUT', `${API}/query-quota`, {
        key: B.orgKey,
        body: { daily_limit: null, monthly_limit: null },
      })
    })
  })

  describe('approval requests stay between the two organizations of each (issue 15)', () => {
    let approvalId: string
    let lenderKey: string
    const anonymised = (response: ApiResponse) => (response.body as ErrorBody).error.message.replace(UUID, '<id>')

    beforeAll(async () => {
      // A's p1 asks a third organization for one of its datasets.
      lenderKey = (await createOrganization(app, 'Lender')).orgKey
      const lenderProject = await createProject(app, lenderKey, 'Lending')
      const dataset = await app.request('POST', `${API}/projects/${lenderProject.id}/datasets`, {
        key: lenderKey,
        body: { name: 'lent' },
      })
      expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
      const asked = await app.request('POST', `${API}/approvals/project-dataset`, {
        key: A.orgKey,
        body: { project_id: A.p1.id, dataset_id: dataset.body.id },
      })
      expect(asked.status, JSON.stringify(asked.body)).toBe(201)
      approvalId = asked.body.id
    })

    for (const attacker of [...OUTSIDERS, 'A project 2 key'] as Attacker[]) {
      it(`${attacker}: every approval route for A's request → 404, as for ids that exist nowhere`, async () => {
        const key = keyOf(fixture, attacker)
        const requests: [string, string, unknown?][] = [
          ['GET', `/approvals/${approvalId}`],
          ['POST', `/approvals/${approvalId}/approve`],
          ['POST', `/approvals/${approvalId}/reject`, { rejection_reason: 'hijacked' }],
          ['POST', `/approvals/${approvalId}/revoke`],
        ]
        for (const [method, path, body] of requests) {
          const response = await app.request(method, `${API}${path}`, { key, body })
          expectError(response, 404, 'not_found')
          const ghost = await app.request(method, `${API}${path.replace(approvalId, randomUUID())}`, { key, body })
          expect(anonymised(response), `${method} ${path}`).toBe(anonymised(ghost))
        }
        // Asking in the name of A's project, listing A's requests.
        const asked = await app.request('POST', `${API}/approvals/project-tenant`, {
          key,
          body: { project_id: A.p1.id, tenant_id: B.organization.id },
        })
        expectError(asked, 404, 'not_found')
        for (const path of ['/approvals', '/approvals/pending']) {
          const listed = await app.request('GET', `${API}${path}`, { key })
          expect(JSON.stringify(listed.body), path).not.toContain(approvalId)
        }
        if (attacker !== 'A project 2 key') {
          expectError(await app.request('GET', `${API}/approvals?project_id=${A.p1.id}`, { key }), 404, 'not_found')
        }
      })
    }

    it("A's request is unchanged, and A withdraws it", async () => {
      const read = await app.request('GET', `${API}/approvals/${approvalId}`, { key: A.p1Key.key })
      expect(read.body).toMatchObject({ status: 'pending', reviewed_by: null, rejection_reason: null })
      const pending = await app.request('GET', `${API}/approvals/pending`, { key: lenderKey })
      expect(JSON.stringify(pending.body)).toContain(approvalId)
      const withdrawn = await app.request('POST', `${API}/approvals/${approvalId}/revoke`, { key: A.orgKey })
      expect(withdrawn.body.status).toBe('revoked')
    })
  })

  it("after every attempt, A's objects are unchanged and A's keys and sessions still work", async () => {
    expect(await snapshot(A)).toEqual(snapshotOfA)
    for (const key of [A.orgKey, A.p1Key.key, A.p2Key.key, A.admin.token, A.editor.token, A.viewer.token]) {
      const response = await app.request('GET', `${API}/organizations/${A.organization.id}`, { key })
      expect(response.status).toBe(200)
      expect(response.body).toEqual(snapshotOfA.organization)
    }
  })

  describe('revocation and archival take effect at once', () => {
    let C: Tenant

    beforeAll(async () => {
      C = await createTenant(app, 'c')
    })

    it('a revoked project key gets 401 on its very next request', async () => {
      const { key, id } = await createProjectKey(app, C.orgKey, C.p1.id)
      // Used twice first, so that the authenticator has it cached.
      for (let i = 0; i < 2; i++) {
        expect((await app.request('GET', `${API}/projects/${C.p1.id}`, { key })).status).toBe(200)
      }
      const revoked = await app.request('DELETE', `${API}/projects/${C.p1.id}/api-keys/${id}`, { key: C.orgKey })
      expect(revoked.status).toBe(204)
      expectError(await app.request('GET', `${API}/projects/${C.p1.id}`, { key }), 401, 'authentication_error')
      expect(ids(await listAll<ApiKey>(app, `/projects/${C.p1.id}/api-keys`, C.orgKey))).toEqual([C.p1Key.id])
      // Revoking twice is a 404: the key is gone.
      expectError(
        await app.request('DELETE', `${API}/projects/${C.p1.id}/api-keys/${id}`, { key: C.orgKey }),
        404,
        'not_found',
      )
    })

    it('a revoked organization key gets 401 on its very next request', async () => {
      const created = await app.request<{ key: string; id: string }>(
        'POST',
        `${API}/organizations/${C.organization.id}/api-keys`,
        { key: app.platformKey, body: { name: 'to revoke' } },
      )
      expect(created.status).toBe(201)
      const { key, id } = created.body
      for (let i = 0; i < 2; i++) expect((await app.request('GET', `${API}/workspaces`, { key })).status).toBe(200)
      const revoked = await app.request('DELETE', `${API}/organizations/${C.organization.id}/api-keys/${id}`, {
        key: app.platformKey,
      })
      expect(revoked.status).toBe(204)
      expectError(await app.request('GET', `${API}/workspaces`, { key }), 401, 'authentication_error')
      expect(ids(await listAll<ApiKey>(app, `/organizations/${C.organization.id}/api-keys`, app.platformKey))).toEqual([
        C.orgKeyId,
      ])
    })

    it('an archived project: its key gets 401, it leaves the lists, GET is 404', async () => {
      const project = (await createProject(app, C.orgKey, 'Doomed')) as Project
      const { key } = await createProjectKey(app, C.orgKey, project.id)
      expect((await app.request('GET', `${API}/projects/${project.id}`, { key })).status).toBe(200)

      expect((await app.request('DELETE', `${API}/projects/${project.id}`, { key: C.orgKey })).status).toBe(204)
      expectError(await app.request('GET', `${API}/projects/${project.id}`, { key }), 401, 'authentication_error')
      expectError(await app.request('GET', `${API}/workspaces`, { key }), 401, 'authentication_error')
      for (const reader of [C.orgKey, C.viewer.token]) {
        expectError(await app.request('GET', `${API}/projects/${project.id}`, { key: reader }), 404, 'not_found')
        expect(ids(await listAll<Project>(app, '/projects', reader))).toEqual(ids([C.p1, C.p2]))
      }
      for (const [method, suffix] of [
        ['PATCH', ''],
        ['DELETE', ''],
        ['GET', '/api-keys'],
        ['POST', '/api-keys'],
      ] as const) {
        const body = method === 'GET' || method === 'DELETE' ? undefined : { name: 'after archive' }
        const response = await app.request(method, `${API}/projects/${project.id}${suffix}`, { key: C.orgKey, body })
        expectError(response, 404, 'not_found')
      }
      // Its name is free again in that workspace.
      expect((await createProject(app, C.orgKey, 'Doomed')).name).toBe('Doomed')
    })

    it('an archived workspace leaves the list and GET is 404', async () => {
      const created = await app.request<Workspace>('POST', `${API}/workspaces`, {
        key: C.admin.token,
        body: { name: 'Temporary' },
      })
      expect(created.status).toBe(201)
      const id = created.body.id
      expect((await app.request('DELETE', `${API}/workspaces/${id}`, { key: C.admin.token })).status).toBe(204)
      for (const reader of [C.orgKey, C.viewer.token]) {
        expectError(await app.request('GET', `${API}/workspaces/${id}`, { key: reader }), 404, 'not_found')
        expect(ids(await listAll<Workspace>(app, '/workspaces', reader))).toEqual(
          ids([C.defaultWorkspace, C.secondWorkspace]),
        )
      }
      expectError(
        await app.request('PATCH', `${API}/workspaces/${id}`, { key: C.orgKey, body: { name: 'Back' } }),
        404,
        'not_found',
      )
      expectError(
        await app.request('POST', `${API}/projects`, { key: C.orgKey, body: { name: 'Inside', workspace_id: id } }),
        422,
        'validation_error',
      )
    })

    it('a deleted user: their session gets 401, they leave the list, GET is 404', async () => {
      const doomed = await createUserSession(app, C.orgKey, 'editor', email('c-doomed'))
      expect((await app.request('GET', `${API}/users/me`, { key: doomed.token })).status).toBe(200)
      expect((await app.request('DELETE', `${API}/users/${doomed.user.id}`, { key: C.admin.token })).status).toBe(204)
      expectError(await app.request('GET', `${API}/users/me`, { key: doomed.token }), 401, 'authentication_error')
      expectError(await app.request('GET', `${API}/users/${doomed.user.id}`, { key: C.orgKey }), 404, 'not_found')
      expect(ids(await listAll<User>(app, '/users', C.orgKey))).toEqual(ids(userTargets.map((w) => userOf(C, w))))
      const login = await app.request('POST', `${API}/auth/login`, {
        body: { email: doomed.user.email, password: doomed.password },
      })
      expectError(login, 401, 'authentication_error')
    })

    it("a deleted organization: its keys and its users' sessions get 401 and it vanishes", async () => {
      const principals = [C.orgKey, C.p1Key.key, C.p2Key.key, C.admin.token, C.editor.token, C.viewer.token]
      for (const key of principals) {
        expect((await app.request('GET', `${API}/organizations/${C.organization.id}`, { key })).status).toBe(200)
      }
      const deleted = await app.request('DELETE', `${API}/organizations/${C.organization.id}`, { key: app.platformKey })
      expect(deleted.status).toBe(204)
      for (const key of principals) {
        expectError(await app.request('GET', `${API}/workspaces`, { key }), 401, 'authentication_error')
      }
      expectError(
        await app.request('GET', `${API}/organizations/${C.organization.id}`, { key: app.platformKey }),
        404,
        'not_found',
      )
      expectError(
        await app.request('GET', `${API}/organizations/${C.organization.id}/api-keys`, { key: app.platformKey }),
        404,
        'not_found',
      )
      expectError(
        await app.request('POST', `${API}/organizations/${C.organization.id}/api-keys`, {
          key: app.platformKey,
          body: { name: 'resurrect' },
        }),
        404,
        'not_found',
      )
      const organizations = await listAll<Organization>(app, '/organizations', app.platformKey)
      expect(organizations.map((o) => o.id)).not.toContain(C.organization.id)
      expect(organizations.map((o) => o.id)).toEqual(expect.arrayContaining([A.organization.id, B.organization.id]))
      const login = await app.request('POST', `${API}/auth/login`, {
        body: { email: C.admin.user.email, password: 'correct horse battery staple' },
      })
      expectError(login, 401, 'authentication_error')

      // A and B did not notice.
      expect((await app.request('GET', `${API}/workspaces`, { key: A.orgKey })).status).toBe(200)
      expect((await app.request('GET', `${API}/workspaces`, { key: B.admin.token })).status).toBe(200)
    })
  })
})
