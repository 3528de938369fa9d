import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'

/**
 * The address ranges an outbound call (agent endpoints, later webhooks) may not reach unless the
 * operator allows them: what a request from inside the network could use to reach the platform's
 * own neighbours (metadata services, databases, admin consoles). Names are what
 * `TRIBUTARY_OUTBOUND_ALLOW` accepts to allow a whole category.
 */
const RANGES = [
  { name: 'unspecified', family: 'ipv4', network: '0.0.0.0', prefix: 8 },
  { name: 'private', family: 'ipv4', network: '10.0.0.0', prefix: 8 },
  { name: 'cgnat', family: 'ipv4', network: '100.64.0.0', prefix: 10 },
  { name: 'loopback', family: 'ipv4', network: '127.0.0.0', prefix: 8 },
  { name: 'link-local', family: 'ipv4', network: '169.254.0.0', prefix: 16 },
  { name: 'private', family: 'ipv4', network: '172.16.0.0', prefix: 12 },
  { name: 'reserved', family: 'ipv4', network: '192.0.0.0', prefix: 24 },
  { name: 'private', family: 'ipv4', network: '192.168.0.0', prefix: 16 },
  { name: 'reserved', family: 'ipv4', network: '198.18.0.0', prefix: 15 },
  { name: 'multicast', family: 'ipv4', network: '224.0.0.0', prefix: 4 },
  // 240/4 holds the limited broadcast address too.
  { name: 'reserved', family: 'ipv4', network: '240.0.0.0', prefix: 4 },
  { name: 'unspecified', family: 'ipv6', network: '::', prefix: 128 },
  { name: 'loopback', family: 'ipv6', network: '::1', prefix: 128 },
  // Deprecated IPv4-compatible addresses: some stacks still route them to the IPv4 inside.
  { name: 'reserved', family: 'ipv6', network: '::', prefix: 96 },
  // Teredo tunnels to an IPv4 host whose address is obfuscated in the last bits: refused as a whole.
  { name: 'reserved', family: 'ipv6', network: '2001::', prefix: 32 },
  { name: 'unique-local', family: 'ipv6', network: 'fc00::', prefix: 7 },
  { name: 'link-local', family: 'ipv6', network: 'fe80::', prefix: 10 },
  { name: 'private', family: 'ipv6', network: 'fec0::', prefix: 10 },
  { name: 'multicast', family: 'ipv6', network: 'ff00::', prefix: 8 },
] as const

export type RangeName = (typeof RANGES)[number]['name']
export const RANGE_NAMES: readonly RangeName[] = [...new Set(RANGES.map((range) => range.name))]

/** A refusal by the policy: the message says which address and why, never more. */
export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError'
}

export function isOutboundRefused(error: unknown): error is OutboundRefusedError {
  return error instanceof Error && error.name === 'OutboundRefusedError'
}

export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

/** Every address a host name resolves to; tests substitute their own answers. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

export const systemResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, verbatim: true })
  return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 6 : 4 }))
}

/** Where one outbound request goes: the URL (host name kept for Host and TLS) and the one address it connects to. */
export interface PinnedTarget {
  url: URL
  address: string
  family: 4 | 6
}

interface AllowList {
  names: Set<RangeName>
  subnets: BlockList
  hosts: Set<string>
}

/**
 * Parses `TRIBUTARY_OUTBOUND_ALLOW`: a comma list of range names (`loopback`, `private`, …), CIDRs
 * (`127.0.0.1/32`, `fd00::/8`), single addresses and host names. Throws with the first entry it
 * cannot read, so a typo stops the server instead of silently allowing nothing.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const allow: AllowList = { names: new Set(), subnets: new BlockList(), hosts: new Set() }
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase()
    if (entry === '') continue
    if ((RANGE_NAMES as readonly string[]).includes(entry)) {
      allow.names.add(entry as RangeName)
      continue
    }
    const [network, prefixText, extra] = entry.split('/')
    const family = isIP(network ?? '')
    if (family !== 0 && network !== undefined && extra === undefined) {
      const max = family === 4 ? 32 : 128
      const prefix = prefixText === undefined ? max : Number(prefixText)
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText ?? '0').trim() === '') {
        throw new Error(`'${raw.trim()}' has a prefix length outside 0–${max}`)
      }
      allow.subnets.addSubnet(network, prefix, family === 4 ? 'ipv4' : 'ipv6')
      continue
    }
    if (
      prefixText === undefined &&
      /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(entry)
    ) {
      allow.hosts.add(entry.replace(/\.$/, ''))
      continue
    }
    throw new Error(
      `'${raw.trim()}' is neither a range name (${RANGE_NAMES.join(', ')}), an address, a CIDR nor a host name`,
    )
  }
  return allow
}

const DENIED = (() => {
  const lists = new Map<RangeName, BlockList>()
  for (const range of RANGES) {
    let list = lists.get(range.name)
    if (!list) lists.set(range.name, (list = new BlockList()))
    list.addSubnet(range.network, range.prefix, range.family)
  }
  return lists
})()

/**
 * The IPv4 address an IPv6 one stands for, when it does: IPv4-mapped (`::ffff:a.b.c.d`), the
 * NAT64 well-known prefix (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`) reach the IPv4 host
 * inside, so they are judged as it.
 */
export function embeddedIpv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined
  const groups = expandIpv6(address)
  if (!groups) return undefined
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0)
  const sixToFour = groups[0] === 0x2002
  if (!mapped && !nat64 && !sixToFour) return undefined
  const high = (sixToFour ? groups[1] : groups[6]) ?? 0
  const low = (sixToFour ? groups[2] : groups[7]) ?? 0
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
}

function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '')
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted?.[1]) {
    const octets = dotted[1].split('.').map(Number)
    const [a = 0, b = 0, c = 0, d = 0] = octets
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const missing = 8 - headGroups.length - tailGroups.length
  if (tail === undefined ? missing !== 0 : missing < 0) return undefined
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups]
  return groups.map((group) => Number.parseInt(group, 16))
}

/** The denied category an address falls in, or undefined for a public address. */
export function deniedRange(address: string): RangeName | undefined {
  const inner = embeddedIpv4(address)
  if (inner) return deniedRange(inner)
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6'
  for (const [name, list] of DENIED) if (list.check(address, family)) return name
  return undefined
}

/**
 * One policy for every outbound call: only http(s), every address a host resolves to must be
 * public or allowed by the operator, and the call connects to the address that was checked (no
 * second lookup a rebinding DNS server could answer differently).
 */
export class AddressPolicy {
  readonly #allow: AllowList

  constructor(
    allow: readonly string[] = [],
    private readonly resolver: Resolver = systemResolver,
  ) {
    this.#allow = parseAllowList(allow)
  }

  /** Why the address may not be reached, or undefined when it may. */
  refusal(address: string, hostname?: string): string | undefined {
    if (hostname !== undefined && this.#allow.hosts.has(hostname)) return undefined
    const range = deniedRange(address)
    if (range === undefined) return undefined
    if (this.#allow.names.has(range)) return undefined
    const judged = embeddedIpv4(address) ?? address
    const family = isIP(judged) === 4 ? 'ipv4' : 'ipv6'
    if (
      this.#allow.subnets.check(judged, family) ||
      this.#allow.subnets.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6')
    ) {
      return undefined
    }
    return `${address} is a ${range} address, which outbound calls may not reach (the operator can allow it with TRIBUTARY_OUTBOUND_ALLOW)`
  }

  /** Checks the URL's scheme and host and resolves it once: the address returned is the one to connect to. */
  async resolve(input: string | URL): Promise<PinnedTarget> {
    const url = checkUrl(input)
    const hostname = bareHost(url.hostname)
    const literal = isIP(hostname)
    let answers: ResolvedAddress[]
    if (literal !== 0) {
      answers = [{ address: hostname, family: literal === 6 ? 6 : 4 }]
    } else {
      try {
        answers = await this.resolver(hostname)
      } catch (error) {
        throw new OutboundUnreachableError(
          `cannot resolve ${hostname}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        )
      }
      if (answers.length === 0) throw new OutboundUnreachableError(`cannot resolve ${hostname}: no addresses`)
    }
    // Every answer must pass: a name that also resolves to an internal address is refused even if
    // the first answer is public, or a later connection attempt could land inside.
    for (const answer of answers) {
      const refusal = this.refusal(answer.address, hostname.toLowerCase())
      if (refusal) throw new OutboundRefusedError(literal === 0 ? `${hostname} resolves to ${refusal}` : refusal)
    }
    const [first] = answers as [ResolvedAddress, ...ResolvedAddress[]]
    return { url, address: first.address, family: first.family }
  }

  /**
   * Why a URL being saved (an agent, a webhook, a workflow action) could never be called: its scheme,
   * or an internal address the operator did not allow. A name that does not resolve today may
   * tomorrow, so it is not refused: the calls record that they found nothing.
   */
  async refusalOf(input: string): Promise<string | undefined> {
    try {
      await this.resolve(input)
      return undefined
    } catch (error) {
      if (isOutboundRefused(error)) return error.message
      if (error instanceof OutboundUnreachableError) return undefined
      throw error
    }
  }
}

/** DNS failed: the target cannot be reached now, which is not a refusal by the policy. */
export class OutboundUnreachableError extends Error {
  override name = 'OutboundUnreachableError'
}

/** Only absolute http(s) URLs without credentials in them. */
export function checkUrl(input: string | URL): URL {
  let url: URL
  try {
    url = typeof input === 'string' ? new URL(input) : input
  } catch {
    throw new OutboundRefusedError('not an absolute URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundRefusedError(`the scheme '${url.protocol.replace(/:$/, '')}' is not allowed; use http or https`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new OutboundRefusedError('credentials in the URL are not allowed; register them as the agent’s auth')
  }
  return url
}

/** `URL.hostname` keeps the brackets of an IPv6 literal. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}
