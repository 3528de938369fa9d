/**
 * Agent gateway overhead (issue 13): the same A2A `message/send` to the same in-process agent, sent
 *
 *   direct   with @a2a-js/sdk's client (card fetched once, global fetch, keep-alive), and
 *   gateway  as `POST /api/v1/agent-gateway/agents/{id}` through the app in process (no socket between client
 *            and gateway): authentication, access checks, the agent's row, the policy-checked and pinned
 *            outbound fetch, the call, the audit entry; and
 *   limited  the same through the gateway with rate limits set (one more statement: the shared counters),
 *
 * interleaved call by call so both see the same machine. Prints p50/p90/p99 and the gateway's added time at
 * each (target: ≤ 2 ms added at p50).
 *
 *   npm run bench:agents
 *
 * Settings (env): BENCH_AGENTS_CALLS (default 1000), BENCH_AGENTS_WARMUP (default 100), BENCH_AGENTS_STORE
 * (`pglite`, the default: in memory, in this process; or `postgres`: a throwaway database created on
 * TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres, and dropped afterwards).
 * The agent is the test peer of apps/server/src/modules/agents (an @a2a-js/sdk server on 127.0.0.1).
 * Nothing leaves 127.0.0.1.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import path from 'node:path'

import { Message } from '@a2a-js/sdk'
import { ClientFactory } from '@a2a-js/sdk/client'
import pg from 'pg'

import { createTributary } from '../../apps/server/src/composition.js'
import { loadConfig } from '../../apps/server/src/config/config.js'
import { createLogger } from '../../apps/server/src/lib/logger.js'
import { generateToken } from '../../apps/server/src/lib/secrets.js'
import { startA2aPeer } from '../../apps/server/src/modules/agents/agent-peers.test-support.js'

const API = '/api/v1'
const CALLS = Number(process.env.BENCH_AGENTS_CALLS ?? 1000)
const WARMUP = Number(process.env.BENCH_AGENTS_WARMUP ?? 100)
const STORE = process.env.BENCH_AGENTS_STORE === 'postgres' ? 'postgres' : 'pglite'
const ADMIN_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'

/** A throwaway PostgreSQL database: its URL and how to drop it. */
async function throwawayDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tributary_bench_agents_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.href,
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name}`)
      } catch (error) {
        console.warn(`could not drop ${name}: ${(error as Error).message}`)
      }
      await client.end()
    },
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

const ms = (value: number) => value.toFixed(2)

async function main() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-agents-'))
  const peer = await startA2aPeer()
  const database = STORE === 'postgres' ? await throwawayDatabase() : undefined
  const config = loadConfig({
    ...(database ? { DATABASE_URL: database.url, DATABASE_POOL_SIZE: '4' } : {}),
    TRIBUTARY_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    TRIBUTARY_SECRET_KEY: generateToken('bench-secret-'),
    TRIBUTARY_RATE_LIMIT_PER_MINUTE: '1000000',
    TRIBUTARY_OUTBOUND_ALLOW: 'loopback',
  })
  const tributary = await createTributary(config, createLogger('silent'), {
    ...(database ? {} : { inMemoryMetadata: {} }),
    startJobs: false,
  })
  try {
    const request = async (method: string, url: string, key: string, body?: unknown) => {
      const response = await tributary.app.request(`${API}${url}`, {
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
    const agent = await request('POST', '/agents', orgKey, { name: 'Echo', protocol: 'A2A', endpoint_url: peer.url })
    const limited = await request('POST', '/agents', orgKey, {
      name: 'Limited',
      protocol: 'A2A',
      endpoint_url: peer.url,
    })
    await request('PUT', `/agents/${String(limited.id)}/rate-limits`, orgKey, {
      max_requests_per_second: 1_000_000,
      max_requests_per_minute: 1_000_000,
      max_requests_per_hour: 1_000_000,
    })

    const client = await new ClientFactory().createFromUrl(peer.url)
    const direct = async () => {
      const result = await client.sendMessage({
        tenant: '',
        message: Message.fromJSON({ messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'ping' }] }),
        configuration: undefined,
        metadata: undefined,
      })
      if (!('messageId' in result)) throw new Error('unexpected answer')
    }
    const viaGateway = (id: unknown) => async () => {
      const answer = await request('POST', `/agent-gateway/agents/${String(id)}`, orgKey, { message: 'ping' })
      if (answer.error !== null) throw new Error(JSON.stringify(answer.error))
    }
    const variants = { direct, gateway: viaGateway(agent.id), limited: viaGateway(limited.id) }
    const times: Record<keyof typeof variants, number[]> = { direct: [], gateway: [], limited: [] }
    for (let i = 0; i < WARMUP + CALLS; i += 1) {
      for (const [name, call] of Object.entries(variants) as [keyof typeof variants, () => Promise<void>][]) {
        const started = performance.now()
        await call()
        if (i >= WARMUP) times[name].push(performance.now() - started)
      }
    }
    const rows = (Object.keys(times) as (keyof typeof times)[]).map((name) => {
      const sorted = [...times[name]].sort((a, b) => a - b)
      return { name, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) }
    })
    const base = rows[0]!
    console.log(
      `\nAgent gateway overhead: ${CALLS} calls each (after ${WARMUP} warm-up), interleaved; metadata: ${STORE}`,
    )
    console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`)
    console.log('| path | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms |')
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
    for (const row of rows) {
      const added = row === base ? ['—', '—'] : [ms(row.p50 - base.p50), ms(row.p99 - base.p99)]
      console.log(`| ${row.name} | ${ms(row.p50)} | ${ms(row.p90)} | ${ms(row.p99)} | ${added.join(' | ')} |`)
    }
    const addedP50 = rows[1]!.p50 - base.p50
    console.log(`\ngateway adds ${ms(addedP50)} ms at p50 (target ≤ 2 ms): ${addedP50 <= 2 ? 'met' : 'NOT met'}`)
  } finally {
    await tributary.close()
    await peer.close()
    await database?.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
