import { z } from 'zod'

import { ERROR_CODES } from '../errors.js'

export const Id = z.uuid({ error: 'must be a UUID' }).meta({ example: '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e' })

export const Timestamp = z.iso.datetime({ offset: true }).meta({ example: '2026-11-22T10:00:00.000Z' })

/**
 * Why PostgreSQL could not store `text` (NUL in `text` and `jsonb` alike; a lone surrogate cannot
 * be written as UTF-8), or undefined when it can.
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL characters'
  if (!text.isWellFormed()) return 'must be well-formed Unicode (no lone surrogates)'
  return undefined
}

/**
 * Text a person typed: well-formed Unicode without NUL, which PostgreSQL cannot store, so that
 * what is saved is exactly what was sent.
 */
export const Text = z.string().superRefine((value, ctx) => {
  const problem = unstorableText(value)
  if (problem) ctx.addIssue({ code: 'custom', input: value, message: problem })
})

/** A human-facing name: trimmed, 1–200 characters. */
export const Name = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').pipe(Text)

export const Description = z.string().max(2000, 'must be at most 2000 characters').pipe(Text)

/** A short filter value in a query string. */
export const FilterText = z.string().max(100, 'must be at most 100 characters').pipe(Text)

export const Email = z
  .email({ error: 'must be an e-mail address' })
  .max(254, 'must be at most 254 characters')
  .transform((email) => email.toLowerCase())

export const ListQuery = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(200, 'must be at most 200')
    .default(50),
  cursor: z.string().max(200).optional(),
})
export type ListQuery = z.infer<typeof ListQuery>

export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() })
}

export interface Page<T> {
  data: T[]
  next_cursor: string | null
}

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z.unknown().optional(),
      request_id: z.string(),
    }),
  })
  .meta({ id: 'Error' })
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>
