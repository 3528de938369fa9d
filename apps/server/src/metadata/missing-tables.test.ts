import { readFileSync } from 'node:fs'

import { afterAll, beforeAll, expect, inject, it } from 'vitest'

import { describeEachStore, type StoreKind } from '../../test/harness.js'
import { openMetadataStore, type MetadataStore } from './database.js'
import { OrganizationsRepo } from '../modules/organizations/organizations.repo.js'
import { ProjectsRepo } from '../modules/projects/projects.repo.js'
import { WorkspacesRepo } from '../modules/workspaces/workspaces.repo.js'
import { MetadataRepo } from '../modules/metadata/metadata.repo.js'

function openTestStore(kind: StoreKind): Promise<MetadataStore> {
  if (kind === 'postgres') return openMetadataStore({ databaseUrl: inject('postgresUrl')!, poolSize: 2 })
  return openMetadataStore({ pgliteSnapshot: new Blob([readFileSync(inject('pgliteSnapshotPath'))]) })
}

describeEachStore('metadata repository', (kind) => {
  let store: MetadataStore
  beforeAll(async () => {
    store = await openTestStore(kind)
  })
  afterAll(() => store.close())

  it('a refresh marks missing only the tables stored before it listed its sources', async () => {
    const organization = await new OrganizationsRepo(store.db).insert({ name: 'Refresh race', description: null })
    const workspace = await new WorkspacesRepo(store.db).insert({
      organization_id: organization.id,
      name: 'Default',
      description: null,
      is_default: true,
    })
    const project = await new ProjectsRepo(store.db).insert({
      organization_id: organization.id,
      workspace_id: workspace.id,
      name: 'race',
      description: null,
    })
    const repo = new MetadataRepo(store.db)
    const storeTable = (table: string) =>
      repo.upsert(
        organization.id,
        project.id,
        { catalog: 'internal', schema: 's', table },
        {
          description: null,
          description_source: null,
          use_with_ai: null,
          row_estimate: null,
          columns: [],
          status: 'present',
          refreshed_at: null,
        },
      )
    await storeTable('gone')
    await new Promise((resolve) => setTimeout(resolve, 5))
    const listedAt = new Date()
    await new Promise((resolve) => setTimeout(resolve, 5))
    // Created while the refresh ran, after its listing: the refresh could not have seen it.
    await storeTable('created_meanwhile')

    expect(await repo.markMissing(organization.id, project.id, 'internal', listedAt)).toBe(1)
    const rows = await repo.rows(organization.id, project.id, [
      { catalog: 'internal', schema: 's', table: 'gone' },
      { catalog: 'internal', schema: 's', table: 'created_meanwhile' },
    ])
    expect(Object.fromEntries(rows.map((row) => [row.table_name, row.status]))).toEqual({
      gone: 'missing',
      created_meanwhile: 'present',
    })
  })
})
