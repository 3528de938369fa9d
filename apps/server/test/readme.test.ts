import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

import { afterAll, expect, it } from 'vitest'

import { startServerProcess, type ServerProcess } from './server-process.js'

const README = path.resolve(import.meta.dirname, '../../../README.md')
const workDir = mkdtempSync(path.join(tmpdir(), 'tributary-readme-'))
let server: ServerProcess | undefined
afterAll(async () => {
  await server?.stop('SIGKILL')
  rmSync(workDir, { recursive: true, force: true })
})

/** The walk-through block of the README, exactly as a newcomer would paste it. */
function walkthrough(): string {
  const readme = readFileSync(README, 'utf8')
  const block = /<!-- walkthrough:start -->\s*```bash\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme)
  if (!block?.[1]) throw new Error('README has no walk-through block')
  return block[1]
}

it('the README walk-through works when pasted against a fresh server', async () => {
  const dataDir = path.join(workDir, '.tributary')
  mkdirSync(dataDir)
  server = await startServerProcess({ TRIBUTARY_DATA_DIR: dataDir, LOG_LEVEL: 'warn' })
  const script = walkthrough()
  expect(script).toContain('http://127.0.0.1:8080/api/v1')
  const pointed = script.replace('http://127.0.0.1:8080', server.baseUrl)

  const { stdout } = await promisify(execFile)('bash', ['-e', '-o', 'pipefail', '-c', pointed], {
    cwd: workDir,
    env: { PATH: process.env.PATH ?? '' },
  })
  const lines = stdout.trim().split('\n')
  expect(lines).toHaveLength(5)
  const [projects, me, created, refused, audit] = lines.map((line) => JSON.parse(line))
  expect(projects.data).toHaveLength(1)
  expect(projects.data[0].name).toBe('Sales analytics')
  expect(me).toMatchObject({ email: 'ada@example.com', role: 'editor', status: 'active' })
  expect(created.name).toBe('Ada’s project')
  expect(refused.error.code).toBe('authorization_error')
  expect(audit.data.map((entry: { action: string }) => entry.action)).toEqual([
    'project.create',
    'user.accept_invite',
    'user.invite',
    'api_key.create',
    'project.create',
  ])
}, 120_000)
