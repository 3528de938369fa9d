import { z } from 'zod'

import { Description, Id, Text, Timestamp } from './common.js'
import { ParameterList, QuerySql, SavedQuery } from './saved-queries.js'

const Question = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(2000, 'must be at most 2000 characters')
  .pipe(Text)
  .meta({ description: 'The question in the words a person would ask it', example: 'Which artists sold the most?' })

export const GoldenSql = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id,
    question: z.string(),
    sql: z.string(),
    description: z.string().nullable(),
    parameters: SavedQuery.shape.parameters,
    tables: z.array(z.string()).meta({
      description:
        'The tables the SQL names, as written (`catalog.schema.table` or shorter); searched with the question',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'GoldenSql' })
export type GoldenSql = z.infer<typeof GoldenSql>

export const CreateGoldenSql = z
  .strictObject({
    question: Question,
    sql: QuerySql,
    description: Description.optional(),
    parameters: ParameterList.default([]),
  })
  .meta({ id: 'CreateGoldenSql' })
export type CreateGoldenSql = z.infer<typeof CreateGoldenSql>

export const UpdateGoldenSql = z
  .strictObject({
    question: Question.optional(),
    sql: QuerySql.optional(),
    description: Description.nullable().optional(),
    parameters: ParameterList.optional().meta({ description: 'Replaces the whole list' }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateGoldenSql' })
export type UpdateGoldenSql = z.infer<typeof UpdateGoldenSql>

export const GoldenSqlSearchQuery = z.strictObject({
  q: z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').pipe(Text),
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(50, 'must be at most 50')
    .default(5),
})
export type GoldenSqlSearchQuery = z.infer<typeof GoldenSqlSearchQuery>

export const GoldenSqlSearchHit = z
  .object({
    golden_sql: GoldenSql,
    score: z.number().meta({
      description:
        'Relevance (BM25+ over the question, description and tables): higher is closer; compare within one answer',
    }),
    coverage: z.number().meta({
      description:
        'Share (0 to 1) of the words of `q` (common words aside) found in this pair, directly or by a synonym',
    }),
    matches: z.array(
      z.object({
        field: z.enum(['question', 'description', 'tables']),
        matched: z.array(z.string()).meta({ description: 'The words (or tables) of the pair that matched' }),
        query: z.array(z.string()).meta({ description: 'The words of `q` that led there' }),
      }),
    ),
  })
  .meta({ id: 'GoldenSqlSearchHit' })
export type GoldenSqlSearchHit = z.infer<typeof GoldenSqlSearchHit>
