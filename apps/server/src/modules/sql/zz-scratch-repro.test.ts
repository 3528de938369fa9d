import { copyFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, expect, it } from 'vitest'
import { API, createOrganization, createProject, startTestApp, type TestApp } from '../../../test/harness.js'

const root = mkdtempSync(path.join(tmpdir(), 'repro-'))
let app: TestApp, key: string, project: string
const sql = (s: string) =>
  app.request('POST', `${API}/projects/${project}/sql`, { key, body: { sql: s, timeout_ms: 8000 } })
beforeAll(async () => {
  copyFileSync(
    path.resolve(import.meta.dirname, '../../../../../../shared/datasets/chinook/Chinook_Sqlite.sqlite'),
    path.join(root, 'c.sqlite'),
  )
  app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: root } })
  key = (await createOrganization(app, 'R')).orgKey
  project = (await createProject(app, key, 'R')).id
  await app.request('POST', `${API}/projects/${project}/connections`, {
    key,
    body: { name: 'c', type: 'sqlite', config: { path: 'c.sqlite' }, catalog: 'lite' },
  })
})
it('3 tables', async () => {
  const r = await sql(
    'select (select count(*) from lite.main.Track), (select count(*) from lite.main.Album), (select count(*) from lite.main.Artist)',
  )
  console.log('3 tables', r.status, JSON.stringify(r.body).slice(0, 200))
})
it('4 tables', async () => {
  const t = performance.now()
  const r = await sql(
    'select (select count(*) from lite.main.Track), (select count(*) from lite.main.Album), (select count(*) from lite.main.Artist), (select count(*) from lite.main.Genre)',
  )
  console.log('4 tables', r.status, Math.round(performance.now() - t), JSON.stringify(r.body).slice(0, 300))
}, 60000)
it('after: 1 table', async () => {
  const t = performance.now()
  const r = await sql('select count(*) from lite.main.Genre')
  console.log('after 1 table', r.status, Math.round(performance.now() - t), JSON.stringify(r.body).slice(0, 300))
}, 60000)
