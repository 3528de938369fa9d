import { copyFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { TenantContext } from '../../auth/principal.js'
import { AppError } from '../../lib/errors.js'
import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../test/harness.js'

const CHINOOK_SQLITE = path.resolve(import.meta.dirname, '../../../test/fixtures/chinook/Chinook_Sqlite.sqlite')

describe('ConnectionsService.describeKeys', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-keys-'))
  let app: TestApp
  let orgKey: string
  let projectId: string
  let checked: TenantContext

  beforeAll(async () => {
    copyFileSync(CHINOOK_SQLITE, path.join(root, 'chinook.sqlite'))
    copyFileSync(CHINOOK_SQLITE, path.join(root, 'gone.sqlite'))
    mkdirSync(path.join(root, 'files'))
    writeFileSync(path.join(root, 'files', 'sales.csv'), 'id,amount\n1,2.50\n')
    app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: root } })
    const org = await createOrganization(app, 'Keys')
    orgKey = org.orgKey
    projectId = (await createProject(app, orgKey, 'Keys')).id
    checked = {
      principal: { kind: 'organization', keyId: org.orgKeyId, organizationId: org.organization.id, scopes: [] },
      requestId: 'describe-keys-test',
    }
    for (const [name, type, config] of [
      ['chinook', 'sqlite', { path: 'chinook.sqlite' }],
      ['gone', 'sqlite', { path: 'gone.sqlite' }],
      ['files', 'files', { path: 'files' }],
    ] as const) {
      const created = await app.request('POST', `${API}/projects/${projectId}/connections`, {
        key: orgKey,
        body: { name, type, config },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
    }
  })
  afterAll(async () => {
    await app?.close()
    rmSync(root, { recursive: true, force: true })
  })

  const opened = async (catalog: string) => {
    const [found] = await app.tributary.services.connections.openCatalogs(checked, projectId, [catalog])
    return found!.opened
  }

  it("reads a source's keys in a session of its own", async () => {
    const keys = await app.tributary.services.connections.describeKeys(await opened('chinook'))
    expect(keys.foreignKeys).toHaveLength(11)
    expect(keys.primaryKeys).toContainEqual({
      schema: 'main',
      table: 'PlaylistTrack',
      columns: ['PlaylistId', 'TrackId'],
    })
    expect(keys.rowEstimates).toContainEqual({ schema: 'main', table: 'Track', rows: 3503 })
  })

  it('answers a source without keys with none', async () => {
    expect(await app.tributary.services.connections.describeKeys(await opened('files'))).toEqual({
      primaryKeys: [],
      foreignKeys: [],
      rowEstimates: [],
    })
  })

  it('turns a source that is down into connection_error', async () => {
    const gone = await opened('gone')
    unlinkSync(path.join(root, 'gone.sqlite'))
    const failure = await app.tributary.services.connections.describeKeys(gone).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(AppError)
    expect(failure).toMatchObject({ code: 'connection_error', status: 502 })
    expect((failure as AppError).message).toContain("catalog 'gone'")
  })
})
