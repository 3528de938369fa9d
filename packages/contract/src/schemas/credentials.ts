import { z } from 'zod'

import { Description, Id, Name, Timestamp } from './common.js'

export const CREDENTIAL_TYPES = ['bearer', 'basic', 'header'] as const
export const CredentialType = z.enum(CREDENTIAL_TYPES, { error: "must be 'bearer', 'basic' or 'header'" }).meta({
  id: 'CredentialType',
  description:
    '`bearer` sends `Authorization: Bearer <secret>`; `basic` sends `Authorization: Basic ` with ' +
    '`<username>:<secret>` in base64; `header` sends `<header_name>: <secret>`',
})
export type CredentialType = z.infer<typeof CredentialType>

/** Most hosts one credential may be sent to. */
export const MAX_ALLOWED_HOSTS = 20

const LABEL = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/
const HOST_SHAPE = /^(\*\.)?(\[[^\]]*\]|[^:[\]]+)(?::(\d{1,5}))?$/

/**
 * `host`, `*.domain` or `[ipv6]`, each with an optional `:port`, in the form a URL's host takes
 * (lower case, IDNs in punycode, IPv6 and IPv4 normalized), so that it compares with
 * `new URL(url).hostname` as is; or why it is not one.
 */
export function normalizeAllowedHost(input: string): { host: string } | { problem: string } {
  const value = input.trim().toLowerCase()
  if (value === '') return { problem: 'must not be empty' }
  if (/[/?#@]/.test(value)) return { problem: 'must be a host name or host:port, without scheme, path or user' }
  if (value.length > 260) return { problem: 'must be at most 260 characters' }
  const shape = HOST_SHAPE.exec(value)
  if (!shape) return { problem: 'must be a host name, `*.` and a domain, or an [IPv6] address, with an optional :port' }
  const [, wildcard, name = '', port] = shape
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535 || port.startsWith('0'))) {
    return { problem: 'has a port outside 1–65535' }
  }
  let hostname: string
  try {
    hostname = new URL(`http://${name}`).hostname
  } catch {
    return { problem: 'is not a valid host name' }
  }
  const isIp = hostname.startsWith('[') || /^[0-9.]+$/.test(hostname)
  if (!isIp && !hostname.split('.').every((label) => LABEL.test(label))) {
    return { problem: 'is not a valid host name' }
  }
  if (wildcard && (isIp || !hostname.includes('.'))) {
    return { problem: 'a wildcard must name a domain of at least two labels (`*.example.com`, not `*.com`)' }
  }
  return { host: `${wildcard ?? ''}${hostname}${port === undefined ? '' : `:${port}`}` }
}

export const AllowedHost = z
  .string()
  .transform((value, ctx) => {
    const normalized = normalizeAllowedHost(value)
    if ('host' in normalized) return normalized.host
    ctx.addIssue({ code: 'custom', input: value, message: normalized.problem })
    return z.NEVER
  })
  .meta({
    description:
      'A host the credential may be sent to: `api.example.com` (any port), `api.example.com:8443` (that ' +
      'port only), `*.example.com` (every subdomain at any depth, not example.com itself) or `[::1]:8080`',
    example: 'hooks.example.com',
  })

const AllowedHosts = z
  .array(AllowedHost)
  .min(1, 'must name at least one host')
  .max(MAX_ALLOWED_HOSTS, `must name at most ${MAX_ALLOWED_HOSTS} hosts`)
  .transform((hosts) => [...new Set(hosts)])

// Headers the transport owns, that would change how a request is routed or framed, or that the
// platform sets itself (the signature of webhook bodies).
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
])

/** Why a caller may not set this header on an outbound request (a credential, a workflow's webhook), if so. */
export function reservedHeaderProblem(name: string): string | undefined {
  if (RESERVED_HEADERS.has(name.toLowerCase())) return 'is a header the transport sets itself'
  if (/^(proxy-|x-tributary-)/i.test(name)) return 'is a header the platform sets itself'
  return undefined
}

const HeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name')
  .superRefine((name, ctx) => {
    const problem = reservedHeaderProblem(name)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })
  .meta({ description: 'The header that carries the secret (type `header`)', example: 'X-Api-Key' })

/** Whether the text holds a C0 control character or DEL (a line break would end an HTTP header). */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}

const Secret = z
  .string()
  .min(1, 'must not be empty')
  .max(4096, 'must be at most 4096 characters')
  .refine((secret) => !hasControlCharacter(secret), { message: 'must not contain control characters' })
  .meta({
    description: 'Write-only: stored encrypted, sent only to the allowed hosts, never returned',
    writeOnly: true,
  })

const Username = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine((name) => !name.includes(':'), { message: "must not contain ':' (HTTP Basic separates it with one)" })
  .refine((name) => !hasControlCharacter(name), { message: 'must not contain control characters' })
  .meta({ description: 'The user name of HTTP Basic authentication (type `basic`)' })

export const Credential = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    name: z.string(),
    description: z.string().nullable(),
    type: CredentialType,
    header_name: z.string().nullable().meta({ description: 'Type `header`: the header that carries the secret' }),
    username: z.string().nullable().meta({ description: 'Type `basic`: the user name' }),
    allowed_hosts: z.array(z.string()),
    secret_updated_at: Timestamp.meta({ description: 'When the secret was set or last rotated' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({
    id: 'Credential',
    description: 'An outbound credential. The secret is write-only: no response ever contains any of it.',
  })
export type Credential = z.infer<typeof Credential>

/** Each type's own field, required by it and refused by the others; a secret sent raw must be ASCII. */
function checkTypeFields(
  body: { type?: CredentialType | undefined; header_name?: string | undefined; username?: string | undefined },
  ctx: z.RefinementCtx,
  secret: string | undefined,
) {
  const { type } = body
  if (type === undefined) return
  const own = { header: 'header_name', basic: 'username' } as const
  for (const [owner, field] of Object.entries(own) as [CredentialType, 'header_name' | 'username'][]) {
    if (type === owner && body[field] === undefined) {
      ctx.addIssue({ code: 'custom', path: [field], message: `is required for type '${type}'`, input: undefined })
    } else if (type !== owner && body[field] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [field], message: `is only for type '${owner}'`, input: body[field] })
    }
  }
  if (type !== 'basic' && secret !== undefined && !/^[\x20-\x7e]+$/.test(secret)) {
    ctx.addIssue({
      code: 'custom',
      path: ['secret'],
      message: 'must be printable ASCII for this type (it is sent as an HTTP header as is)',
      input: undefined,
    })
  }
}

export const CreateCredential = z
  .strictObject({
    name: Name,
    type: CredentialType,
    secret: Secret,
    header_name: HeaderName.optional(),
    username: Username.optional(),
    allowed_hosts: AllowedHosts,
    description: Description.optional(),
  })
  .superRefine((body, ctx) => checkTypeFields(body, ctx, body.secret))
  .meta({ id: 'CreateCredential' })
export type CreateCredential = z.infer<typeof CreateCredential>

export const UpdateCredential = z
  .strictObject({
    name: Name.optional(),
    description: Description.nullable().optional(),
    type: CredentialType.optional().meta({ description: 'A new type needs a new `secret` too' }),
    secret: Secret.optional().meta({ description: 'Rotates the secret', writeOnly: true }),
    header_name: HeaderName.optional(),
    username: Username.optional(),
    allowed_hosts: AllowedHosts.optional().meta({ description: 'Replaces the whole list' }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .superRefine((body, ctx) => {
    if (body.type !== undefined && body.secret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'is required when the type changes', input: undefined })
    }
    checkTypeFields(body, ctx, body.secret)
  })
  .meta({ id: 'UpdateCredential' })
export type UpdateCredential = z.infer<typeof UpdateCredential>
