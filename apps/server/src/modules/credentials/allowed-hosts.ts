const PATTERN = /^(\*\.)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' }

/**
 * Whether `url` goes to one of `patterns` (normalized by the contract's `normalizeAllowedHost`):
 * `host` matches that host on any port, `host:port` that port only (the scheme's default port
 * when the URL names none), `*.domain` every subdomain of `domain` at any depth but not `domain`.
 */
export function isAllowedHost(patterns: readonly string[], url: URL): boolean {
  const hostname = url.hostname
  const port = url.port || DEFAULT_PORTS[url.protocol]
  return patterns.some((pattern) => {
    const [, wildcard, name, patternPort] = PATTERN.exec(pattern) ?? []
    if (name === undefined) return false
    if (patternPort !== undefined && patternPort !== port) return false
    return wildcard ? hostname.endsWith(`.${name}`) : hostname === name
  })
}
