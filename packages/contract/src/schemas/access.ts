import { z } from 'zod'

import { Email, Id, Name, Text, Timestamp } from './common.js'

export const SCOPES = [
  'query',
  'ask',
  'connections',
  'metadata',
  'dashboards',
  'workflows',
  'agents',
  'admin',
  '*',
] as const
export const Scope = z.enum(SCOPES)
export type Scope = z.infer<typeof Scope>

export const ROLES = ['admin', 'editor', 'viewer'] as const
export const Role = z.enum(ROLES)
export type Role = z.infer<typeof Role>

/** The names `current_user_props(name)` reads from the caller itself; custom attributes may not take them. */
export const BUILT_IN_USER_PROPS = ['id', 'email', 'name', 'role', 'project'] as const

/** Most custom attributes on one user or API key. */
export const MAX_ATTRIBUTES = 50
const ATTRIBUTE_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Why `name` cannot name a custom attribute; undefined when it can. */
export function attributeNameProblem(name: string): string | undefined {
  if (!ATTRIBUTE_NAME.test(name)) {
    return 'must be lower-case letters, digits and _, starting with a letter or _, at most 63 characters'
  }
  if ((BUILT_IN_USER_PROPS as readonly string[]).includes(name)) {
    return `must not be a built-in name (${BUILT_IN_USER_PROPS.join(', ')})`
  }
  return undefined
}

/**
 * Custom attributes of a user or API key, read in SQL (row filters, any query) as
 * `current_user_props('name')`.
 */
export const Attributes = z
  .record(z.string(), z.string().max(1000, 'must be at most 1000 characters').pipe(Text))
  .superRefine((value, ctx) => {
    const names = Object.keys(value)
    if (names.length > MAX_ATTRIBUTES) {
      ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_ATTRIBUTES} attributes`, input: value })
    }
    for (const name of names) {
      const problem = attributeNameProblem(name)
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem, input: name })
    }
  })
  .meta({
    id: 'Attributes',
    description:
      "Custom attributes (string → string), read in SQL as `current_user_props('name')`; names match " +
      '`^[a-z_][a-z0-9_]{0,62}$` and are not one of the built-in names (id, email, name, role, project)',
    example: { region: 'EMEA', customer_id: '42' },
  })
export type Attributes = z.infer<typeof Attributes>

export const API_KEY_KINDS = ['platform', 'organization', 'project'] as const
export type ApiKeyKind = (typeof API_KEY_KINDS)[number]

export const ApiKey = z
  .object({
    id: Id,
    kind: z.enum(API_KEY_KINDS),
    name: z.string(),
    prefix: z.string().meta({ description: 'The first characters of the key, to recognise it' }),
    scopes: z.array(Scope),
    attributes: z.record(z.string(), z.string()).meta({ description: 'Custom attributes for `current_user_props`' }),
    organization_id: Id.nullable(),
    project_id: Id.nullable(),
    expires_at: Timestamp.nullable(),
    last_used_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'ApiKey' })
export type ApiKey = z.infer<typeof ApiKey>

export const CreatedApiKey = ApiKey.extend({
  key: z.string().meta({ description: 'The secret; shown only in this response' }),
}).meta({ id: 'CreatedApiKey' })
export type CreatedApiKey = z.infer<typeof CreatedApiKey>

export const CreateApiKey = z
  .strictObject({
    name: Name,
    scopes: z
      .array(Scope)
      .min(1, 'must name at least one scope')
      .max(SCOPES.length)
      .default(['*'])
      .transform((scopes) => [...new Set(scopes)]),
    expires_at: Timestamp.refine((value) => Date.parse(value) > Date.now(), 'must be in the future').optional(),
    attributes: Attributes.optional().meta({
      description:
        'For a key used on behalf of an end user (embedding): what `current_user_props` reads for it, ' +
        'as for a user',
    }),
  })
  .meta({ id: 'CreateApiKey' })
export type CreateApiKey = z.infer<typeof CreateApiKey>

export const USER_STATUSES = ['invited', 'active'] as const

export const User = z
  .object({
    id: Id,
    organization_id: Id,
    email: z.string(),
    name: z.string().nullable(),
    role: Role,
    status: z.enum(USER_STATUSES),
    attributes: z.record(z.string(), z.string()).meta({ description: 'Custom attributes for `current_user_props`' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'User' })
export type User = z.infer<typeof User>

export const Password = z.string().min(10, 'must be at least 10 characters').max(256, 'must be at most 256 characters')

export const CreateUser = z
  .strictObject({
    email: Email,
    name: Name.optional(),
    role: Role.default('viewer'),
    password: Password.optional().meta({
      description:
        'Without one the user is `invited` and cannot sign in until a password is set with the `setup_token` ' +
        'of the response',
    }),
  })
  .meta({ id: 'CreateUser' })
export type CreateUser = z.infer<typeof CreateUser>

export const CreatedUser = User.extend({
  setup_token: z
    .string()
    .optional()
    .meta({
      description:
        'Only for a user created without a password: a one-time token that sets it, at `POST /auth/accept-invite` ' +
        'with `{token, password}`, as an invitation does. Shown only in this response',
    }),
  setup_token_expires_at: Timestamp.optional().meta({ description: 'When `setup_token` stops working' }),
}).meta({ id: 'CreatedUser' })
export type CreatedUser = z.infer<typeof CreatedUser>

export const UpdateUser = z
  .strictObject({
    name: Name.nullable().optional(),
    password: Password.optional(),
    attributes: Attributes.optional().meta({
      description: 'Replaces every custom attribute; organization admins only (a user may not change their own)',
    }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateUser' })
export type UpdateUser = z.infer<typeof UpdateUser>

export const UpdateRole = z.strictObject({ role: Role }).meta({ id: 'UpdateRole' })
export type UpdateRole = z.infer<typeof UpdateRole>

export const InviteUser = z
  .strictObject({ email: Email, name: Name.optional(), role: Role.default('viewer') })
  .meta({ id: 'InviteUser' })
export type InviteUser = z.infer<typeof InviteUser>

export const Invitation = z
  .object({
    user: User,
    invitation_token: z.string().meta({ description: 'Give this to the invitee; shown only once' }),
    expires_at: Timestamp,
  })
  .meta({ id: 'Invitation' })
export type Invitation = z.infer<typeof Invitation>

export const AcceptInvite = z
  .strictObject({ token: z.string().min(1, 'must not be empty').max(200), password: Password })
  .meta({ id: 'AcceptInvite' })
export type AcceptInvite = z.infer<typeof AcceptInvite>

export const Login = z
  .strictObject({ email: Email, password: z.string().min(1, 'must not be empty').max(256) })
  .meta({ id: 'Login' })
export type Login = z.infer<typeof Login>

export const SessionToken = z
  .object({ token: z.string(), expires_at: Timestamp, user: User })
  .meta({ id: 'SessionToken' })
export type SessionToken = z.infer<typeof SessionToken>

export const AuditEntry = z
  .object({
    id: Id,
    organization_id: Id.nullable(),
    actor_type: z.enum(['api_key', 'user', 'system']),
    actor_id: z.string().nullable(),
    action: z.string().meta({ example: 'project.create' }),
    resource_type: z.string(),
    resource_id: z.string().nullable(),
    request_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'AuditEntry' })
export type AuditEntry = z.infer<typeof AuditEntry>
