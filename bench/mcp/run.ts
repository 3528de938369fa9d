/**
 * `run_sql` through MCP vs `POST /sql` (issue 13): the same query, on the same server over loopback, sent
 *
 *   rest     as `POST /api/v1/projects/{id}/sql` with fetch (keep-alive),
 *   mcp      as a JSON-RPC `tools/call` of `run_sql` POSTed to `/mcp` with fetch (what any client sends), and
 *   mcp-sdk  through the MCP SDK's own Client and Streamable HTTP transport (which also checks the result
 *            against the tool's output schema),
 *
 * interleaved call by call so all see the same machine, for a constant (no source: each door's own cost), a
 * small result (an aggregate over the source) and a large one (1000 rows). Prints p50/p90/p99 and each MCP row's ratio to `rest` at p50 (target: ≤ 1.2×).
 *
 *   npm run bench:mcp
 *
 * Settings (env): BENCH_MCP_CALLS (default 500), BENCH_MCP_WARMUP (default 50).
 * Data: a SQLite file of 100,000 generated rows, made here. Metadata: PGlite in memory. Nothing leaves 127.0.0.1.
 */
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import { cpus, tmpdir } from 'node:os'
import path from 'node:path'

import { serve } from '@hono/node-server'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import Database from 'better-sqlite3'

import { createTributary } from '../../apps/server/src/composition.js'
import { loadConfig } from '../../apps/server/src/config/config.js'
import { createLogger } from '../../apps/server/src/lib/logger.js'
import { generateToken } from '../../apps/server/src/lib/secrets.js'

const API = '/api/v1'
const CALLS = Number(process.env.BENCH_MCP_CALLS ?? 500)
const WARMUP = Number(process.env.BENCH_MCP_WARMUP ?? 50)
const ROWS = 100_000

const QUERIES = {
  // No source at all: what is left is each door's own cost.
  constant: { sql: 'select 42 as answer', limit: 1 },
  aggregate: {
    sql: 'select category, count(*) as n, sum(amount) as total from src.main.sales group by category order by category',
    limit: 100,
  },
  '1000 rows': { sql: 'select * from src.main.sales where id <= 1000 order by id', limit: 1000 },
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

const ms = (value: number) => value.toFixed(2)

function makeData(dir: string): string {
  const file = path.join(dir, 'sales.sqlite')
  const db = new Database(file)
  db.exec('create table sales (id integer primary key, category text not null, amount real not null, note text)')
  const insert = db.prepare('insert into sales values (?, ?, ?, ?)')
  db.transaction(() => {
    for (let id = 1; id <= ROWS; id++) insert.run(id, `c${id % 20}`, (id % 997) / 7, `row ${id}`)
  })()
  db.close()
  return file
}

async function main() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-mcp-'))
  const sqlite = makeData(dataDir)
  const config = loadConfig({
    TRIBUTARY_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    TRIBUTARY_SECRET_KEY: generateToken('bench-secret-'),
    TRIBUTARY_RATE_LIMIT_PER_MINUTE: '1000000',
    TRIBUTARY_FILE_ROOTS: dataDir,
  })
  const tributary = await createTributary(config, createLogger('silent'), { inMemoryMetadata: {}, startJobs: false })
  const server = serve({ fetch: tributary.app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  if (!server.listening) await once(server, 'listening')
  const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  let client: Client | undefined
  try {
    const request = async (method: string, url: string, key: string, body?: unknown) => {
      const response = await fetch(`${baseUrl}${API}${url}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const json = (await response.json()) as Record<string, unknown>
      if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(json)}`)
      return json
    }
    const platformKey = generateToken()
    await tributary.services.apiKeys.bootstrapPlatformKey(platformKey)
    const org = await request('POST', '/organizations', platformKey, { name: 'Bench' })
    const orgKey = (await request('POST', `/organizations/${String(org.id)}/api-keys`, platformKey, { name: 'k' }))
      .key as string
    const projectId = String((await request('POST', '/projects', orgKey, { name: 'Bench' })).id)
    await request('POST', `/projects/${projectId}/connections`, orgKey, {
      name: 'src',
      type: 'sqlite',
      config: { path: path.basename(sqlite) },
    })
    const key = (await request('POST', `/projects/${projectId}/api-keys`, orgKey, { name: 'mcp', scopes: ['query'] }))
      .key as string

    client = new Client({ name: 'bench', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    )
    const sdk = client
    await sdk.listTools()

    const lines = [
      `# run_sql through MCP vs POST /sql (${CALLS} calls each, interleaved; ${cpus().length} cores; ` +
        `${new Date().toISOString()})`,
      '',
      '| result | path | p50 ms | p90 ms | p99 ms | vs rest at p50 |',
      '| ------ | ---- | -----: | -----: | -----: | -------------: |',
    ]
    let id = 0
    for (const [label, query] of Object.entries(QUERIES)) {
      const expectedRows = { constant: 1, aggregate: 20 }[label] ?? 1000
      const rest = async () => {
        const body = await request('POST', `/projects/${projectId}/sql`, key, query)
        if ((body.rows as unknown[]).length !== expectedRows) throw new Error(`rest: ${JSON.stringify(body)}`)
      }
      const mcp = async () => {
        const response = await fetch(`${baseUrl}/mcp`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-06-18',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: ++id,
            method: 'tools/call',
            params: { name: 'run_sql', arguments: query },
          }),
        })
        const body = (await response.json()) as { result?: { structuredContent?: { rows: unknown[] } } }
        if (body.result?.structuredContent?.rows.length !== expectedRows)
          throw new Error(`mcp: ${JSON.stringify(body)}`)
      }
      const viaSdk = async () => {
        const result = await sdk.callTool({ name: 'run_sql', arguments: query })
        const rows = (result.structuredContent as { rows?: unknown[] } | undefined)?.rows
        if (rows?.length !== expectedRows) throw new Error(`mcp-sdk: ${JSON.stringify(result)}`)
      }
      const paths = { rest, mcp, 'mcp-sdk': viaSdk }
      const times: Record<string, number[]> = { rest: [], mcp: [], 'mcp-sdk': [] }
      for (let call = 0; call < WARMUP + CALLS; call++) {
        for (const [name, run] of Object.entries(paths)) {
          const started = performance.now()
          await run()
          if (call >= WARMUP) times[name]!.push(performance.now() - started)
        }
      }
      const restP50 = percentile(
        times.rest!.sort((a, b) => a - b),
        50,
      )
      for (const [name, values] of Object.entries(times)) {
        values.sort((a, b) => a - b)
        const p50 = percentile(values, 50)
        lines.push(
          `| ${label} | ${name} | ${ms(p50)} | ${ms(percentile(values, 90))} | ${ms(percentile(values, 99))} | ` +
            `${name === 'rest' ? '1.00' : (p50 / restP50).toFixed(2)}× |`,
        )
      }
    }
    console.log(lines.join('\n'))
  } finally {
    await client?.close()
    server.closeAllConnections()
    server.close()
    await tributary.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
