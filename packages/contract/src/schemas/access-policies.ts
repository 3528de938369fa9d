import { z } from 'zod'

import { Id, ListQuery, Text, Timestamp } from './common.js'

export const MASK_KINDS = ['redact', 'nullify', 'last4', 'first4', 'year_only', 'hash', 'custom'] as const
export const MaskKind = z.enum(MASK_KINDS, { error: `must be one of ${MASK_KINDS.join(', ')}` }).meta({
  id: 'MaskKind',
  description:
    '`redact`: `****` (nulls stay null); `nullify`: null; `last4`/`first4`: text with all but the last/first ' +
    'four characters starred; `year_only`: a date or timestamp cut to January 1st of its year; `hash`: the ' +
    'SHA-256 of the value as text; `custom`: `expression`, with `{col}` standing for the column',
})
export type MaskKind = z.infer<typeof MaskKind>

/**
 * Whom a policy names: the three user roles, `api_key` for every key, and `guest` for callers of
 * another organization reading a dataset shared with them by approval.
 */
export const POLICY_ROLES = ['admin', 'editor', 'viewer', 'api_key', 'guest'] as const
export const PolicyRole = z.enum(POLICY_ROLES, { error: `must be one of ${POLICY_ROLES.join(', ')}` })
export type PolicyRole = z.infer<typeof PolicyRole>

/** The placeholder a custom mask's expression writes for the column it masks. */
export const CUSTOM_MASK_PLACEHOLDER = '{col}'
/** Most characters in a custom mask's expression or a row filter. */
export const MAX_POLICY_EXPRESSION = 4000
/** Most entries in one of a policy's lists. */
export const MAX_POLICY_LIST = 50

const Identifier = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .pipe(Text)
  .meta({ description: 'As the catalog lists it' })

export const TagName = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, _ and -, starting with a letter or _')
  .meta({ example: 'pii' })

const PolicyExpression = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_POLICY_EXPRESSION, `must be at most ${MAX_POLICY_EXPRESSION} characters`)
  .pipe(Text)

function uniqueList<T extends z.ZodType<string>>(item: T, description: string) {
  return z
    .array(item)
    .max(MAX_POLICY_LIST, `must have at most ${MAX_POLICY_LIST} entries`)
    .default([])
    .transform((values) => [...new Set(values)])
    .meta({ description })
}

const TARGET_FIELDS = ['catalog', 'schema', 'table', 'column'] as const

export const PrivacyPolicyInput = z
  .strictObject({
    catalog: Identifier.optional(),
    schema: Identifier.optional(),
    table: Identifier.optional(),
    column: Identifier.optional(),
    tag: TagName.optional().meta({
      description: 'Instead of catalog, schema, table and column: every column of the project carrying this tag',
    }),
    mask: MaskKind,
    expression: PolicyExpression.optional().meta({
      description:
        "`custom` only: one SQL expression over the table's columns, `{col}` standing for the masked column " +
        "(e.g. `regexp_replace({col}, '@.*', '@…')`)",
    }),
    except_roles: uniqueList(
      PolicyRole,
      'Roles that see the column unmasked (`api_key`: every API key; `guest`: another organization reading a shared dataset)',
    ),
    except_users: uniqueList(Id, 'Users (or API keys, by id) that see the column unmasked'),
  })
  .superRefine((body, ctx) => {
    if (body.tag !== undefined) {
      for (const field of TARGET_FIELDS) {
        if (body[field] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: 'must be left out with `tag`', input: body[field] })
        }
      }
    } else {
      for (const field of TARGET_FIELDS) {
        if (body[field] === undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: 'is required (or give `tag`)', input: undefined })
        }
      }
    }
    if (body.mask === 'custom') {
      if (body.expression === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['expression'],
          message: "is required for mask 'custom'",
          input: undefined,
        })
      } else if (!body.expression.includes(CUSTOM_MASK_PLACEHOLDER)) {
        ctx.addIssue({
          code: 'custom',
          path: ['expression'],
          message: `must write ${CUSTOM_MASK_PLACEHOLDER} where the masked column goes`,
          input: body.expression,
        })
      }
    } else if (body.expression !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['expression'], message: "is only for mask 'custom'", input: undefined })
    }
  })
  .meta({
    id: 'PrivacyPolicyInput',
    description: 'A column mask: on one column (catalog, schema, table, column) or on every column with a tag',
  })
export type PrivacyPolicyInput = z.infer<typeof PrivacyPolicyInput>

export const PrivacyPolicy = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    catalog: z.string().nullable(),
    schema: z.string().nullable(),
    table: z.string().nullable(),
    column: z.string().nullable(),
    tag: z.string().nullable(),
    mask: MaskKind,
    expression: z.string().nullable(),
    except_roles: z.array(PolicyRole),
    except_users: z.array(z.string()),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'PrivacyPolicy' })
export type PrivacyPolicy = z.infer<typeof PrivacyPolicy>

export const RowPolicyInput = z
  .strictObject({
    catalog: Identifier,
    schema: Identifier,
    table: Identifier,
    filter: PolicyExpression.meta({
      description:
        "One boolean SQL expression over the table's columns and `current_user_props('name')` (id, email, name, " +
        "role, project, or a custom attribute), e.g. `region = current_user_props('region')`. Rows for which " +
        'it is not true are withheld',
    }),
    applies_to_roles: uniqueList(
      PolicyRole,
      'The roles it applies to (`api_key`: every API key; `guest`: another organization reading a shared dataset); empty: everyone',
    ),
  })
  .meta({ id: 'RowPolicyInput' })
export type RowPolicyInput = z.infer<typeof RowPolicyInput>

export const RowPolicy = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    catalog: z.string(),
    schema: z.string(),
    table: z.string(),
    filter: z.string(),
    applies_to_roles: z.array(PolicyRole),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'RowPolicy' })
export type RowPolicy = z.infer<typeof RowPolicy>

export const ColumnTagInput = z
  .strictObject({ catalog: Identifier, schema: Identifier, table: Identifier, column: Identifier, tag: TagName })
  .meta({ id: 'ColumnTagInput' })
export type ColumnTagInput = z.infer<typeof ColumnTagInput>

export const ColumnTag = z
  .object({
    id: Id,
    project_id: Id,
    catalog: z.string(),
    schema: z.string(),
    table: z.string(),
    column: z.string(),
    tag: z.string(),
    created_at: Timestamp,
  })
  .meta({ id: 'ColumnTag' })
export type ColumnTag = z.infer<typeof ColumnTag>

export const ColumnTagListQuery = ListQuery.extend({ tag: TagName.optional() })
export type ColumnTagListQuery = z.infer<typeof ColumnTagListQuery>
