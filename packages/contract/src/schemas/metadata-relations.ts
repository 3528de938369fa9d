import { z } from 'zod'

import { Description, FilterText, ListQuery, Text, Timestamp } from './common.js'
import { RelationOrigin, RelationType } from './metadata.js'

// Relations between tables and categorical values of columns (issue 10, items 3 and 4).

const atLeastOneField = (body: object) => Object.keys(body).length > 0

/** A catalog, schema, table or column name as SQL spells it. */
const ObjectName = z.string().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').pipe(Text)

const RelationColumns = z
  .array(ObjectName)
  .min(1, 'must name at least one column')
  .max(16, 'must name at most 16 columns')
  .refine((columns) => new Set(columns).size === columns.length, { message: 'must not name a column twice' })

export const RelationEnd = z
  .strictObject({ catalog: ObjectName, schema: ObjectName, table: ObjectName, columns: RelationColumns })
  .meta({ id: 'RelationEnd' })
export type RelationEnd = z.infer<typeof RelationEnd>

export const CreateRelation = z
  .strictObject({
    from: RelationEnd,
    to: RelationEnd,
    type: RelationType.default('MANY_TO_ONE').meta({ description: 'Read from `from` to `to`; MANY_TO_ONE by default' }),
    description: Description.nullable().optional(),
  })
  .meta({
    id: 'CreateRelation',
    description:
      '`from` is the referencing side (the “many” side of MANY_TO_ONE), `to` the referenced one; ' +
      '`from.columns[i]` pairs with `to.columns[i]`.',
  })
export type CreateRelation = z.infer<typeof CreateRelation>

export const UpdateRelation = z
  .strictObject({
    type: RelationType.optional(),
    from_columns: RelationColumns.optional().meta({ description: 'Replaces the columns of the `from` side' }),
    to_columns: RelationColumns.optional().meta({ description: 'Replaces the columns of the `to` side' }),
    description: Description.nullable().optional(),
  })
  .refine(atLeastOneField, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateRelation' })
export type UpdateRelation = z.infer<typeof UpdateRelation>

export const RelationListQuery = ListQuery.extend({
  catalog: FilterText.optional().meta({ description: 'Only relations from or to a table of this catalog' }),
  origin: RelationOrigin.optional(),
})
export type RelationListQuery = z.infer<typeof RelationListQuery>

/** Shortest refresh period of a categorical schedule. */
export const CATEGORICAL_MIN_REFRESH_SECONDS = 60

export const SetCategorical = z
  .strictObject({
    limit: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000')
      .default(50)
      .meta({ description: 'How many of the most frequent values to keep' }),
    refresh: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .pipe(Text)
      .nullable()
      .optional()
      .meta({
        description:
          'Recompute on a schedule: an ISO-8601 duration (`P1D`, `PT6H`; at least one minute) or a cron ' +
          'expression (`0 3 * * *`, UTC). Absent or null: computed now only.',
        example: 'P1D',
      }),
  })
  .meta({ id: 'SetCategorical' })
export type SetCategorical = z.infer<typeof SetCategorical>

export const CategoricalValue = z
  .object({
    value: z.string().meta({ description: 'The value as text' }),
    count: z.number().int().meta({ description: 'Rows holding it when computed' }),
  })
  .meta({ id: 'CategoricalValue' })

export const CategoricalColumn = z
  .object({
    catalog: z.string(),
    schema: z.string(),
    table: z.string(),
    column: z.string(),
    limit: z.number().int(),
    refresh: z.string().nullable(),
    next_run_at: Timestamp.nullable().meta({ description: 'When the values are computed again; null: never' }),
    values: z.array(CategoricalValue).meta({ description: 'Most frequent first (NULL is not a value)' }),
    computed_at: Timestamp,
  })
  .meta({ id: 'CategoricalColumn' })
export type CategoricalColumn = z.infer<typeof CategoricalColumn>
