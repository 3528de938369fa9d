import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type ChinookSources, loadChinook } from '../../test/fixtures/chinook.js'
import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  listen,
  type Listening,
  startTestApp,
  type TestApp,
} from '../../test/harness.js'

/**
 * The official MCP Inspector in CLI mode (`mcp-inspector-cli --cli`), as CI and the README run it,
 * against both transports: Streamable HTTP with a bearer header, and stdio through `tributary-mcp`.
 */

const ROOT = path.resolve(import.meta.dirname, '../../../..')
const INSPECTOR = path.join(ROOT, 'node_modules/.bin/mcp-inspector-cli')
const TRIBUTARY_MCP = path.join(ROOT, 'node_modules/.bin/tributary-mcp')
const run = promisify(execFile)

describe('the MCP Inspector CLI', () => {
  let sources: ChinookSources
  let app: TestApp
  let server: Listening
  let key: string

  /** Runs the Inspector and parses the JSON it prints. */
  async function inspect(target: string[], method: string[]): Promise<any> {
    const { stdout } = await run(INSPECTOR, ['--cli', ...target, ...method], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      timeout: 60_000,
    })
    return JSON.parse(stdout)
  }
  const overHttp = () => [`${server.baseUrl}/mcp`, '--transport', 'http', '--header', `Authorization: Bearer ${key}`]
  const overStdio = () => [
    '-e',
    `TRIBUTARY_URL=${server.baseUrl}`,
    '-e',
    `TRIBUTARY_API_KEY=${key}`,
    '--',
    TRIBUTARY_MCP,
  ]

  beforeAll(async () => {
    sources = await loadChinook([])
    app = await startTestApp('pglite', { env: { TRIBUTARY_FILE_ROOTS: path.dirname(sources.sqlitePath) } })
    const { orgKey } = await createOrganization(app, 'Inspector')
    const projectId = (await createProject(app, orgKey, 'Inspected')).id
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: path.basename(sources.sqlitePath) } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
    key = (await createProjectKey(app, orgKey, projectId, ['query', 'ask'])).key
    server = await listen(app)
  }, 60_000)

  afterAll(async () => {
    await server?.close()
    await app?.close()
    await sources?.cleanup()
  })

  for (const [transport, target] of [
    ['Streamable HTTP', overHttp],
    ['stdio (tributary-mcp)', overStdio],
  ] as const) {
    it(`lists the tools and calls run_sql over ${transport}`, async () => {
      const { tools } = await inspect(target(), ['--method', 'tools/list'])
      const names = tools.map((tool: { name: string }) => tool.name)
      expect(names).toEqual(expect.arrayContaining(['run_sql', 'describe_table', 'ask', 'get_job_results']))
      // The key may query, not curate golden SQL.
      expect(names).not.toContain('save_golden_sql')
      expect(tools.find((tool: { name: string }) => tool.name === 'run_sql').annotations.readOnlyHint).toBe(true)

      const result = await inspect(target(), [
        '--method',
        'tools/call',
        '--tool-name',
        'run_sql',
        '--tool-arg',
        'sql=select count(*) as artists from chinook.main.Artist',
      ])
      expect(result.isError).toBeFalsy()
      expect(result.structuredContent).toMatchObject({ rows: [[275]], row_count: 1 })

      const failed = await inspect(target(), [
        '--method',
        'tools/call',
        '--tool-name',
        'run_sql',
        '--tool-arg',
        'sql=select * from chinook.main.Nope',
      ])
      expect(failed.isError).toBe(true)
      expect(failed.content[0].text).toMatch(/^query_error: /)
    }, 120_000)
  }
})
