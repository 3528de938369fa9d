import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  AddressPolicy,
  deniedRange,
  embeddedIpv4,
  isOutboundRefused,
  parseAllowList,
  type Resolver,
} from './address-policy.js'
import { OutboundClient } from './guarded-fetch.js'

describe('deniedRange', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:a9fe:a9fe::', 'link-local'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
  ])('%s is %s', (address, range) => {
    expect(deniedRange(address)).toBe(range)
  })

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(deniedRange(address)).toBeUndefined()
  })

  it('reads the IPv4 inside mapped and NAT64 addresses only', () => {
    expect(embeddedIpv4('::ffff:10.0.0.1')).toBe('10.0.0.1')
    expect(embeddedIpv4('64:ff9b::8.8.8.8')).toBe('8.8.8.8')
    expect(embeddedIpv4('2002:808:808::1')).toBe('8.8.8.8')
    expect(embeddedIpv4('2001:db8::1')).toBeUndefined()
    expect(embeddedIpv4('10.0.0.1')).toBeUndefined()
  })
})

describe('the allow-list', () => {
  it('accepts range names, CIDRs, addresses and host names', () => {
    const policy = new AddressPolicy(['loopback', '10.0.0.0/8', 'fd00::1', 'agents.internal'])
    expect(policy.refusal('127.0.0.1')).toBeUndefined()
    expect(policy.refusal('::1')).toBeUndefined()
    expect(policy.refusal('10.9.9.9')).toBeUndefined()
    expect(policy.refusal('::ffff:10.9.9.9')).toBeUndefined()
    expect(policy.refusal('fd00::1')).toBeUndefined()
    expect(policy.refusal('fd00::2')).toMatch(/unique-local/)
    expect(policy.refusal('192.168.0.1')).toMatch(/192\.168\.0\.1 is a private address/)
    expect(policy.refusal('192.168.0.1', 'agents.internal')).toBeUndefined()
  })

  it('allows exactly the CIDR given', () => {
    const policy = new AddressPolicy(['127.0.0.1/32', '::1/128'])
    expect(policy.refusal('127.0.0.1')).toBeUndefined()
    expect(policy.refusal('::1')).toBeUndefined()
    expect(policy.refusal('127.0.0.2')).toMatch(/loopback/)
  })

  it.each(['10.0.0.0/33', '::1/129', 'not a host!', 'ftp://x', '10.0.0.0/', '1.2.3.4/8/9'])('refuses %j', (entry) => {
    expect(() => parseAllowList([entry])).toThrow()
  })
})

describe('AddressPolicy.resolve', () => {
  const answers: Record<string, string[]> = {
    'public.test': ['93.184.216.34'],
    'inside.test': ['10.0.0.5'],
    'mixed.test': ['93.184.216.34', '192.168.0.9'],
  }
  const resolver: Resolver = async (host) => {
    const found = answers[host]
    if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  const policy = new AddressPolicy([], resolver)

  it.each([
    ['ftp://public.test/agent', /scheme 'ftp'/],
    ['file:///etc/passwd', /scheme 'file'/],
    ['http://user:pw@public.test/', /credentials in the URL/],
    ['http://127.0.0.1:9/', /127\.0\.0\.1 is a loopback address/],
    ['http://[::1]/', /::1 is a loopback address/],
    ['http://[::ffff:169.254.169.254]/', /link-local/],
    ['http://inside.test/', /inside\.test resolves to 10\.0\.0\.5 is a private address/],
    ['http://mixed.test/', /192\.168\.0\.9/],
  ])('refuses %s', async (url, message) => {
    const error = await policy.resolve(url).catch((caught: unknown) => caught)
    expect(isOutboundRefused(error)).toBe(true)
    expect((error as Error).message).toMatch(message)
  })

  it('pins the first checked answer', async () => {
    const target = await policy.resolve('https://public.test/a2a')
    expect(target).toMatchObject({ address: '93.184.216.34', family: 4 })
    expect(target.url.hostname).toBe('public.test')
  })

  it('tells an unknown host apart from a refusal', async () => {
    const error = await policy.resolve('http://nowhere.test/').catch((caught: unknown) => caught)
    expect(isOutboundRefused(error)).toBe(false)
    expect((error as Error).message).toMatch(/cannot resolve nowhere\.test: ENOTFOUND/)
  })
})

describe('OutboundClient', () => {
  let server: Server
  let port: number
  const seen: { host: string | undefined; authorization: string | undefined; path: string | undefined }[] = []

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push({ host: req.headers.host, authorization: req.headers.authorization, path: req.url })
      const target = new URL(req.url ?? '/', 'http://x')
      if (target.pathname === '/to') {
        res.writeHead(302, { location: target.searchParams.get('url') ?? '/' }).end()
        return
      }
      if (target.pathname === '/loop') {
        res.writeHead(307, { location: '/loop' }).end()
        return
      }
      if (target.pathname === '/slow') return
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path: req.url }))
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as { port: number }).port
  })

  afterAll(async () => {
    server.closeAllConnections()
    server.close()
  })

  function client(allow: string[], names: Record<string, string> = {}) {
    const lookups: string[] = []
    const resolver: Resolver = async (host) => {
      lookups.push(host)
      const address = names[host]
      if (!address) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
      return [{ address, family: 4 }]
    }
    return { outbound: new OutboundClient(new AddressPolicy(allow, resolver)), lookups }
  }

  it('connects to the address it checked, once per hop, keeping the host name', async () => {
    // `pinned.test` resolves nowhere but through the policy's resolver: reaching the server proves
    // the connection used the checked address rather than a second lookup.
    const { outbound, lookups } = client(['pinned.test'], { 'pinned.test': '127.0.0.1' })
    seen.length = 0
    const response = await outbound.fetch()(`http://pinned.test:${port}/hello`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true, path: '/hello' })
    expect(seen[0]?.host).toBe(`pinned.test:${port}`)
    expect(lookups).toEqual(['pinned.test'])
    outbound.close()
  })

  it('checks every redirect again and refuses one to a private address', async () => {
    const { outbound } = client(['pinned.test'], { 'pinned.test': '127.0.0.1' })
    const to = encodeURIComponent(`http://127.0.0.1:${port}/inside`)
    const error = await outbound
      .fetch()(`http://pinned.test:${port}/to?url=${to}`)
      .catch((caught: unknown) => caught)
    expect(isOutboundRefused(error)).toBe(true)
    expect((error as Error).message).toMatch(/127\.0\.0\.1 is a loopback address/)
    outbound.close()
  })

  it('follows allowed redirects and sends credentials only to their origin', async () => {
    const { outbound } = client(['loopback'], { 'other.test': '127.0.0.1' })
    seen.length = 0
    const fetch = outbound.fetch({
      credentials: { origin: `http://127.0.0.1:${port}`, headers: { authorization: 'Bearer s3cret' } },
    })
    const to = encodeURIComponent(`http://other.test:${port}/landed`)
    const response = await fetch(`http://127.0.0.1:${port}/to?url=${to}`, { method: 'POST', body: '{}' })
    expect(response.status).toBe(200)
    expect(seen.map((request) => request.authorization)).toEqual(['Bearer s3cret', undefined])
    expect(seen[1]?.path).toBe('/landed')
    outbound.close()
  })

  it('stops after five redirects', async () => {
    const { outbound } = client(['loopback'])
    const error = await outbound
      .fetch()(`http://127.0.0.1:${port}/loop`)
      .catch((caught: unknown) => caught)
    expect((error as Error).message).toMatch(/more than 5 redirects/)
    outbound.close()
  })

  it('refuses loopback without the allow-list, before connecting', async () => {
    const { outbound } = client([])
    seen.length = 0
    const error = await outbound
      .fetch()(`http://127.0.0.1:${port}/`)
      .catch((caught: unknown) => caught)
    expect(isOutboundRefused(error)).toBe(true)
    expect(seen).toHaveLength(0)
    outbound.close()
  })

  it('stops the call when the caller aborts', async () => {
    const { outbound } = client(['loopback'])
    const started = Date.now()
    const error = await outbound
      .fetch()(`http://127.0.0.1:${port}/slow`, { signal: AbortSignal.timeout(100) })
      .catch((caught: unknown) => caught)
    expect((error as Error).name).toMatch(/TimeoutError|AbortError/)
    expect(Date.now() - started).toBeLessThan(2_000)
    outbound.close()
  })
})

describe('TRIBUTARY_OUTBOUND_ALLOW', () => {
  it('is read as a comma list and checked at boot', async () => {
    const { loadConfig } = await import('../../config/config.js')
    expect(loadConfig({}).outboundAllow).toEqual([])
    expect(loadConfig({ TRIBUTARY_OUTBOUND_ALLOW: ' loopback, 10.0.0.0/8 ,agents.internal' }).outboundAllow).toEqual([
      'loopback',
      '10.0.0.0/8',
      'agents.internal',
    ])
    expect(() => loadConfig({ TRIBUTARY_OUTBOUND_ALLOW: 'loopback,10.0.0.0/99' })).toThrow(
      /TRIBUTARY_OUTBOUND_ALLOW: '10\.0\.0\.0\/99'/,
    )
    expect(loadConfig({ TRIBUTARY_AGENT_TIMEOUT_MS: '1000' }).agents).toEqual({
      timeoutMs: 1000,
      maxTimeoutMs: 300_000,
      auditPayloads: false,
    })
  })
})
