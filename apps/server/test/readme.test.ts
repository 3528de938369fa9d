import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createServer } from 'node:net'
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

/** A walk-through block of the README, exactly as a newcomer would paste it. */
function walkthrough(name: string): string {
  const readme = readFileSync(README, 'utf8')
  const block = new RegExp(`<!-- ${name}:start -->\\s*\`\`\`bash\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`).exec(
    readme,
  )
  if (!block?.[1]) throw new Error(`README has no ${name} block`)
  return block[1]
}

it('the README walk-through works when pasted against a fresh server', async () => {
  const dataDir = path.join(workDir, '.tributary')
  mkdirSync(dataDir)
  // As the README's dashboards and workflows section says: webhooks to this machine need loopback allowed.
  server = await startServerProcess({
    TRIBUTARY_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    TRIBUTARY_OUTBOUND_ALLOW: 'loopback',
  })
  // Pasted one after the other into one terminal, as the README says.
  const script = [
    'walkthrough',
    'walkthrough-sql',
    'walkthrough-data',
    'walkthrough-semantic',
    'walkthrough-ask',
    'walkthrough-automate',
    'walkthrough-govern',
  ]
    .map(walkthrough)
    .join('\n')
  expect(script).toContain('http://127.0.0.1:8080/api/v1')
  expect(script).toContain('127.0.0.1:9100')
  // The webhook receiver's port, free on this machine rather than the README's 9100.
  const pointed = script.replace('http://127.0.0.1:8080', server.baseUrl).replaceAll('9100', String(await freePort()))

  const { stdout } = await promisify(execFile)('bash', ['-e', '-o', 'pipefail', '-c', pointed], {
    cwd: workDir,
    env: { PATH: process.env.PATH ?? '' },
  })
  const lines = stdout.trim().split('\n')
  expect(lines).toHaveLength(31)
  const [projects, me, created, refused, audit, catalogs, orders, federated, page] = lines
    .slice(0, 9)
    .map((line) => JSON.parse(line))
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

  expect(catalogs.data.map((catalog: { name: string }) => catalog.name)).toEqual(['internal', 'geo', 'shop', 'queries'])
  expect(orders.columns.map((column: { name: string; type: string }) => `${column.name} ${column.type}`)).toEqual([
    'id BIGINT',
    'country VARCHAR',
    'amount DOUBLE',
  ])
  expect(federated.rows).toEqual([
    ['Americas', 3],
    ['Europe', 19.75],
  ])
  expect(federated.stats.sources.map((source: { catalog: string }) => source.catalog).sort()).toEqual(['geo', 'shop'])

  // The saved query joined the uploaded table with both sources, ran as a job, and was exported.
  expect(page).toMatchObject({ rows: [['Europe', 19.75, '20.00']], total_rows: 1, page: 1, total_pages: 1 })
  expect(lines.slice(9, 11)).toEqual(['region,total,target', 'Europe,19.75,20.00'])

  // The semantic layer: the refresh read the file's columns and samples, the edits were kept as the user's.
  const [metadata, relation, golden, search, byName, semantic] = lines.slice(11, 17).map((line) => JSON.parse(line))
  const [orderTable] = metadata.data
  expect(orderTable).toMatchObject({ description: 'Web shop orders, one row per order', source: 'user' })
  const columns = Object.fromEntries(orderTable.columns.map((column: { name: string }) => [column.name, column]))
  expect(columns.amount).toMatchObject({ description: 'Order total in euros', description_source: 'user' })
  expect(columns.id).toMatchObject({ is_primary: true, is_primary_source: 'user' })
  expect(columns.country.sample_values).toEqual(['Brazil', 'France', 'Germany'])
  expect(relation).toMatchObject({ origin: 'manual', type: 'MANY_TO_ONE', to: { catalog: 'geo', table: 'regions' } })
  expect(golden.data[0].golden_sql.question).toBe('What is the revenue of each region?')
  expect(search.data[0]).toMatchObject({ catalog: 'shop', table: 'orders' })
  expect(search.data[0].matches).toContainEqual(
    expect.objectContaining({ field: 'column_description', column: 'amount' }),
  )
  // The saved query read by name: the filter on it reached the CSV source below.
  expect(byName.rows).toEqual([['Europe', 19.75]])
  const geo = byName.stats.sources.find((source: { catalog: string }) => source.catalog === 'geo')
  expect(geo.remote_sql).toContain(`"region" = 'Europe'`)
  expect(semantic.rows).toEqual([
    ['Americas', 3, 'Brazil'],
    ['Europe', 19.75, 'France'],
    ['Europe', 19.75, 'Germany'],
  ])

  // Asking with no language model: golden SQL as it is, the offline engine, a follow-up in its thread, the stream.
  const [golden2, byCountry, germany, messages] = lines.slice(17, 21).map((line) => JSON.parse(line))
  expect(golden2).toMatchObject({ answered: true, model: 'offline', golden_sql_id: golden.data[0].golden_sql.id })
  expect([...golden2.rows].sort()).toEqual([
    ['Americas', 3],
    ['Europe', 19.75],
  ])
  expect(byCountry).toMatchObject({
    answered: true,
    rows: [
      ['Germany', 12.5],
      ['France', 7.25],
      ['Brazil', 3],
    ],
  })
  expect(germany).toMatchObject({ answered: true, thread_id: byCountry.thread_id, rows: [['Germany', 12.5]] })
  expect(messages.data.map((message: { question: string }) => message.question)).toEqual([
    'total amount of orders by country',
    'and in Germany only?',
  ])
  expect(lines[21]).toMatch(/^(event: step ){6}event: sql event: rows event: step event: answer event: done ?$/)

  // A dashboard of two saved queries, a workflow whose condition held, and the event of its run.
  expect(JSON.parse(lines[22]!)).toEqual([
    ['Sales', [[3, 22.75]]],
    [
      'By region',
      [
        ['Americas', 3],
        ['Europe', 19.75],
      ],
    ],
  ])
  const [alert, event] = lines.slice(23, 25) as [string, string]
  expect(alert.startsWith('/alerts ')).toBe(true)
  expect(JSON.parse(alert.slice('/alerts '.length))).toEqual({
    text: 'Americas sold 3',
    rows: [
      { region: 'Americas', total: 3 },
      { region: 'Europe', total: 19.75 },
    ],
  })
  expect(event).toMatch(/^\/events \{"id":"[^"]+","type":"workflow.run.completed"/)

  // One query, two callers: the key sees every order; Ada (an editor in Germany) her country's, amounts masked.
  expect(lines.slice(25, 27).map((line) => JSON.parse(line))).toEqual([
    [
      [
        ['Germany', 12.5],
        ['Brazil', 3],
        ['France', 7.25],
      ],
      { country: 'public', amount: 'public' },
    ],
    [[['Germany', '****']], { country: 'public', amount: 'masked' }],
  ])
  // Shared with Globex on approval, read by its key, then revoked: Globex no longer finds the project.
  expect(JSON.parse(lines[27]!)).toEqual([['Sales analytics', 'pending']])
  expect(lines.slice(28, 31)).toEqual(['[ [ 3 ] ]', 'revoked', '404'])
}, 120_000)

/** A port nothing listens on now, for the README's webhook receiver. */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise((resolve) => probe.close(resolve))
  return port
}
