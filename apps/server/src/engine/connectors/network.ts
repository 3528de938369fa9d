import { z } from 'zod'

import { SourceError, type ConnectorContext } from './connector.js'

const requiredText = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)

/** The config of a database reached over the network: the same fields for every such connector. */
export function networkDatabaseConfig(limits: { defaultPort: number; databaseMax: number; userMax: number }) {
  return z.strictObject(
    {
      // A host starting with '/' would make the driver use a Unix socket on this machine, where the
      // platform's own database may trust any local user: only network hosts are allowed.
      host: requiredText(255).regex(/^[^\s/\\]*$/, 'must be a host name or IP address, without spaces or slashes'),
      port: z
        .number({ error: 'must be a number' })
        .int('must be a whole number')
        .min(1, 'must be between 1 and 65535')
        .max(65535, 'must be between 1 and 65535')
        .default(limits.defaultPort),
      database: requiredText(limits.databaseMax),
      user: requiredText(limits.userMax),
      password: z.string({ error: 'must be a string' }).max(1024, 'must be at most 1024 characters').default(''),
      ssl: z
        .enum(['disable', 'require', 'verify-full'], { error: "must be 'disable', 'require' or 'verify-full'" })
        .default('disable'),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be an object',
    },
  )
}

export interface NetworkTarget {
  host: string
  port: number
  password: string
}

const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/

/**
 * What a failure that any networked source can have means for the person configuring it, or
 * undefined when the error is the database's own (the connector explains those).
 */
export function describeNetworkError(
  code: string | undefined,
  message: string,
  target: NetworkTarget,
  context: ConnectorContext,
): string | undefined {
  const where = `${target.host}:${target.port}`
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} — is the server running and accepting TCP connections?`
    case 'ENOTFOUND':
      return `host '${target.host}' was not found — check the host name`
    case 'EAI_AGAIN':
      return `host '${target.host}' could not be looked up (DNS did not answer) — check the host name and try again`
    case 'ETIMEDOUT':
      return timedOut(target, context)
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable from this server — check the host and the network between them`
  }
  if (code && CERTIFICATE_ERROR.test(code)) {
    return (
      `the TLS certificate of ${where} could not be verified (${message}) — use ssl 'require' to encrypt ` +
      `without verifying, or give the server a certificate for this host name from a trusted authority`
    )
  }
  if (code?.startsWith('ERR_SSL') || code === 'EPROTO') return `TLS with ${where} failed: ${message}`
  return undefined
}

export function timedOut(target: NetworkTarget, context: ConnectorContext): string {
  return `no answer from ${target.host}:${target.port} within ${context.connectTimeoutMs} ms — check the host, the port and any firewall in between`
}

/**
 * A driver's error as its code and message, the password taken out of the message (see
 * `redactPassword`): messages for the caller are built from this text, never from the error itself.
 */
export function errorParts(
  error: unknown,
  target: Pick<NetworkTarget, 'password'>,
): { code: string | undefined; message: string } {
  if (!(error instanceof Error)) return { code: undefined, message: redactPassword(String(error), target.password) }
  let code = (error as { code?: unknown }).code
  // Node reports every address it tried when a name resolves to several; the first says enough.
  if (code === undefined && error instanceof AggregateError) code = (error.errors[0] as { code?: unknown })?.code
  return {
    code: typeof code === 'string' ? code : undefined,
    message: redactPassword(error.message || error.name, target.password),
  }
}

/**
 * The text with each occurrence of the password that stands as a value of its own replaced by `***`:
 * where the password begins or ends with a letter or digit, the text next to it must not continue
 * the word. A password `x` then leaves "does not exist" alone, and `hunter2` is still found in
 * `password=hunter2` or `user:hunter2@host`.
 */
export function redactPassword(text: string, password: string): string {
  // A connection without a password has none to hide (settings read back may leave it out entirely).
  if (!password) return text
  const word = /[\p{L}\p{N}_]/u
  const characters = [...password]
  const before = word.test(characters[0]!) ? '(?<![\\p{L}\\p{N}_])' : ''
  const after = word.test(characters.at(-1)!) ? '(?![\\p{L}\\p{N}_])' : ''
  const escaped = password.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  return text.replace(new RegExp(`${before}${escaped}${after}`, 'gu'), '***')
}

/**
 * Belt and braces for a message built from `errorParts` and the connection's settings: a setting
 * that holds the password (a host named after it) does not carry it out either.
 */
export function sourceError(text: string, target: Pick<NetworkTarget, 'password'>): SourceError {
  return new SourceError(redactPassword(text, target.password))
}
