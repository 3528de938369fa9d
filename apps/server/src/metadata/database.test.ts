import { readFileSync } from 'node:fs'

import { sql } from 'kysely'
import { afterAll, beforeAll, expect, inject, it } from 'vitest'

import { describeEachStore, type StoreKind } from '../../test/harness.js'
import { newId } from '../lib/ids.js'
import { sha256 } from '../lib/secrets.js'
import { ApiKeysRepo } from '../modules/api-keys/api-keys.repo.js'
import { AuditRepo } from '../modules/audit/audit.repo.js'
import { OrganizationsRepo } from '../modules/organizations/organizations.repo.js'
import { ProjectsRepo } from '../modules/projects/projects.repo.js'
import { UsersRepo } from '../modules/users/users.repo.js'
import { WorkspacesRepo } from '../modules/workspaces/workspaces.repo.js'
import { migrateToLatest, openMetadataStore, type MetadataStore } from './database.js'
import { isUniqueViolation } from './store-errors.js'

function openTestStore(kind: StoreKind): Promise<MetadataStore> {
  if (kind === 'postgres') return openMetadataStore({ databaseUrl: inject('postgresUrl')!, poolSize: 4 })
  return openMetadataStore({ pgliteSnapshot: new Blob([readFileSync(inject('pgliteSnapshotPath'))]) })
}

const system = { principal: { kind: 'platform' as const, keyId: 'test' }, requestId: 'test-request' }

describeEachStore('metadata store', (kind) => {
  let store: MetadataStore
  beforeAll(async () => {
    store = await openTestStore(kind)
  })
  afterAll(() => store.close())

  async function organizationWithWorkspace(name = 'Org') {
    const organization = await new OrganizationsRepo(store.db).insert({ name, description: null })
    const workspace = await new WorkspacesRepo(store.db).insert({
      organization_id: organization.id,
      name: 'Default',
      description: null,
      is_default: true,
    })
    return { organization, workspace }
  }

  it('is migrated, and migrating again changes nothing', async () => {
    const before = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db)
    expect(before.rows.map((row) => row.name)).toEqual([
      '0001-foundation',
      '0002-connections',
      '0003-session-revocation',
      '0004-jobs',
      '0005-datasets',
      '0006-saved-queries',
      '0007-exports',
      '0008-export-codecs',
      '0009-metadata',
      '0010-golden-sql',
      '0011-semantic-catalogs',
      '0012-scheduler',
      '0013-caches',
      '0014-materialized-queries',
      '0015-ai',
      '0016-ask-threads',
      '0017-agents',
      '0018-dashboards',
      '0019-credentials',
      '0020-workflows',
      '0021-webhooks',
      '0022-quotas',
      '0023-approvals',
      '0024-access-policies',
    ])
    await migrateToLatest(store.db)
    const after = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db)
    expect(after.rows).toEqual(before.rows)
  })

  it('round-trips an organization with timestamps as Dates', async () => {
    const repo = new OrganizationsRepo(store.db)
    const created = await repo.insert({ name: 'Zürich “quotes” 🚀', description: "it's" })
    const found = await repo.findActive(created.id)
    expect(found).toMatchObject({ name: 'Zürich “quotes” 🚀', description: "it's", archived_at: null })
    expect(found?.created_at).toBeInstanceOf(Date)
    const updated = await repo.update(created.id, { description: null })
    expect(updated?.description).toBeNull()
    expect(updated!.updated_at.getTime()).toBeGreaterThanOrEqual(created.updated_at.getTime())
    expect(await repo.archive(created.id)).toBe(true)
    expect(await repo.findActive(created.id)).toBeUndefined()
    expect(await repo.archive(created.id)).toBe(false)
  })

  it('pages by id with limit + 1 rows and no overlap', async () => {
    const { organization, workspace } = await organizationWithWorkspace()
    const projects = new ProjectsRepo(store.db)
    const ids: string[] = []
    for (let i = 0; i < 7; i++) {
      ids.push(
        (
          await projects.insert({
            organization_id: organization.id,
            workspace_id: workspace.id,
            name: `p${i}`,
            description: null,
          })
        ).id,
      )
    }
    const first = await projects.list(organization.id, { limit: 3 })
    expect(first).toHaveLength(4)
    const second = await projects.list(organization.id, { limit: 3, after: first[2]!.id })
    const third = await projects.list(organization.id, { limit: 3, after: second[2]!.id })
    const seen = [...first.slice(0, 3), ...second.slice(0, 3), ...third].map((row) => row.id)
    expect(seen).toEqual(ids)
  })

  it('enforces unique live names, and frees a name when its holder is archived', async () => {
    const { organization, workspace } = await organizationWithWorkspace()
    const projects = new ProjectsRepo(store.db)
    const values = { organization_id: organization.id, workspace_id: workspace.id, name: 'Sales', description: null }
    const first = await projects.insert(values)
    const duplicate = await projects.insert({ ...values, name: 'SALES' }).catch((error: unknown) => error)
    expect(isUniqueViolation(duplicate)).toBe(true)
    await projects.archive(organization.id, first.id)
    await expect(projects.insert(values)).resolves.toMatchObject({ name: 'Sales' })
  })

  it('rolls a failed transaction back whole', async () => {
    const { organization, workspace } = await organizationWithWorkspace()
    const attempt = store.db.transaction().execute(async (trx) => {
      await new ProjectsRepo(trx).insert({
        organization_id: organization.id,
        workspace_id: workspace.id,
        name: 'half',
        description: null,
      })
      await new AuditRepo(trx).record(system, {
        action: 'project.create',
        resourceType: 'project',
        resourceId: null,
        organizationId: organization.id,
      })
      throw new Error('boom')
    })
    await expect(attempt).rejects.toThrow('boom')
    expect(await new WorkspacesRepo(store.db).countProjects(organization.id, workspace.id)).toBe(0)
    expect(await new AuditRepo(store.db).list({ organizationId: organization.id, limit: 10 })).toEqual([])
  })

  it('keeps concurrent transactions apart', async () => {
    const { organization, workspace } = await organizationWithWorkspace()
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.db
          .transaction()
          .execute(async (trx) => {
            const repo = new ProjectsRepo(trx)
            const row = await repo.insert({
              organization_id: organization.id,
              workspace_id: workspace.id,
              name: `concurrent ${i}`,
              description: null,
            })
            if (i % 2 === 1) throw new Error(`rollback ${i}`)
            return row
          })
          .catch(() => undefined),
      ),
    )
    expect(await new WorkspacesRepo(store.db).countProjects(organization.id, workspace.id)).toBe(20)
  })

  it('finds only live keys of live tenants', async () => {
    const { organization, workspace } = await organizationWithWorkspace()
    const project = await new ProjectsRepo(store.db).insert({
      organization_id: organization.id,
      workspace_id: workspace.id,
      name: 'keys',
      description: null,
    })
    const keys = new ApiKeysRepo(store.db)
    const projectKey = await keys.insert({
      kind: 'project',
      organization_id: organization.id,
      project_id: project.id,
      name: 'k',
      prefix: 'trb_x',
      secret_hash: sha256(newId()),
      scopes: ['query', 'admin'],
      expires_at: null,
    })
    await expect(keys.findActiveByHash(projectKey.secret_hash)).resolves.toMatchObject({
      id: projectKey.id,
      kind: 'project',
      scopes: ['query', 'admin'],
    })
    await new ProjectsRepo(store.db).archive(organization.id, project.id)
    expect(await keys.findActiveByHash(projectKey.secret_hash)).toBeUndefined()

    const orgKey = await keys.insert({
      kind: 'organization',
      organization_id: organization.id,
      project_id: null,
      name: 'o',
      prefix: 'trb_y',
      secret_hash: sha256(newId()),
      scopes: ['*'],
      expires_at: null,
    })
    expect(await keys.findActiveByHash(orgKey.secret_hash)).toBeDefined()
    expect(await keys.revoke({ kind: 'organization', organizationId: newId() }, orgKey.id)).toBe(false)
    expect(await keys.revoke({ kind: 'organization', organizationId: organization.id }, orgKey.id)).toBe(true)
    expect(await keys.findActiveByHash(orgKey.secret_hash)).toBeUndefined()
  })

  it('refuses a key whose kind and owners disagree', async () => {
    const insert = new ApiKeysRepo(store.db).insert({
      kind: 'platform',
      organization_id: newId(),
      project_id: null,
      name: 'bad',
      prefix: 'trb_z',
      secret_hash: sha256(newId()),
      scopes: ['*'],
      expires_at: null,
    })
    await expect(insert).rejects.toThrow()
  })

  it('lets one live account hold an e-mail, and finds it case-insensitively stored', async () => {
    const { organization } = await organizationWithWorkspace()
    const users = new UsersRepo(store.db)
    const email = `${newId()}@example.com`
    const values = {
      organization_id: organization.id,
      email,
      name: null,
      role: 'admin' as const,
      password_hash: 'x',
      status: 'active' as const,
      invite_token_hash: null,
      invite_expires_at: null,
    }
    const user = await users.insert(values)
    expect(isUniqueViolation(await users.insert(values).catch((error: unknown) => error))).toBe(true)
    expect((await users.findLoginCandidate(email))?.id).toBe(user.id)
    expect(await users.countActiveAdmins(organization.id)).toBe(1)
    await users.archive(organization.id, user.id)
    expect(await users.findLoginCandidate(email)).toBeUndefined()
  })

  it('lists audit entries newest first with their details', async () => {
    const { organization } = await organizationWithWorkspace()
    const audit = new AuditRepo(store.db)
    for (const action of ['a.one', 'a.two', 'a.three']) {
      await audit.record(system, {
        action,
        resourceType: 'thing',
        resourceId: null,
        organizationId: organization.id,
        details: { action, nested: { n: 1 } },
      })
    }
    const rows = await audit.list({ organizationId: organization.id, limit: 10 })
    expect(rows.map((row) => row.action)).toEqual(['a.three', 'a.two', 'a.one'])
    expect(rows[0]).toMatchObject({ actor_type: 'api_key', actor_id: 'test', request_id: 'test-request' })
    expect(rows[0]!.details).toEqual({ action: 'a.three', nested: { n: 1 } })
  })
})
