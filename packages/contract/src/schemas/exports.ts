import { z } from 'zod'

import { Id, Timestamp } from './common.js'
import { JobError, JobStatus } from './jobs.js'

export const EXPORT_FORMATS = ['CSV', 'JSON', 'AVRO', 'PARQUET'] as const
export const ExportFormat = z.enum(EXPORT_FORMATS).meta({
  id: 'ExportFormat',
  description:
    '`CSV` with a header row (an empty field is NULL, `""` an empty string); `JSON` one object per line ' +
    '(NDJSON; decimals as strings, integers as exact numbers); `AVRO` an object container file whose schema ' +
    'follows the column types; `PARQUET` (128-bit integers, which Parquet lacks, as text)',
})
export type ExportFormat = z.infer<typeof ExportFormat>

export const EXPORT_COMPRESSIONS = ['GZIP', 'DEFLATE', 'ZSTD', 'SNAPPY', 'NONE'] as const
export const ExportCompression = z.enum(EXPORT_COMPRESSIONS).meta({
  id: 'ExportCompression',
  description:
    'CSV and JSON: the whole file, `GZIP` (`.gz`), `DEFLATE` (zlib stream, RFC 1950, `.zz`) or `NONE`. ' +
    'AVRO: the object container’s codec, `DEFLATE` or `NONE`. PARQUET: the pages’ codec, `ZSTD`, `SNAPPY`, ' +
    '`GZIP` or `NONE`. Avro and Parquet files keep their name and type, and every reader of the format opens them.',
})
export type ExportCompression = z.infer<typeof ExportCompression>

/**
 * What each format may be compressed with, its default first. Avro and Parquet compress inside the
 * file with their own codecs, as BigQuery does; avsc writes only Avro's `null` and `deflate`.
 */
export const EXPORT_COMPRESSIONS_BY_FORMAT: {
  readonly [F in ExportFormat]: readonly [ExportCompression, ...ExportCompression[]]
} = {
  CSV: ['GZIP', 'DEFLATE', 'NONE'],
  JSON: ['GZIP', 'DEFLATE', 'NONE'],
  AVRO: ['DEFLATE', 'NONE'],
  PARQUET: ['ZSTD', 'SNAPPY', 'GZIP', 'NONE'],
}

/** Why a format cannot be compressed so, or undefined when it can. */
export function compressionRefusal(format: ExportFormat, compression: ExportCompression): string | undefined {
  const allowed = EXPORT_COMPRESSIONS_BY_FORMAT[format]
  if (allowed.includes(compression)) return undefined
  return `${format} exports take ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, not ${compression}`
}

export function defaultExportCompression(format: ExportFormat): ExportCompression {
  return EXPORT_COMPRESSIONS_BY_FORMAT[format][0]
}

export const CreateExport = z
  .strictObject({
    format: ExportFormat.default('CSV'),
    compression: ExportCompression.optional().meta({
      description: 'Default: `GZIP` for CSV and JSON, `DEFLATE` for AVRO, `ZSTD` for PARQUET',
    }),
  })
  .superRefine((body, ctx) => {
    const refusal = body.compression && compressionRefusal(body.format, body.compression)
    if (refusal) ctx.addIssue({ code: 'custom', path: ['compression'], input: body.compression, message: refusal })
  })
  .transform((body) => ({
    format: body.format,
    compression: body.compression ?? defaultExportCompression(body.format),
  }))
  .meta({ id: 'CreateExport' })
export type CreateExport = z.infer<typeof CreateExport>

export const Export = z
  .object({
    id: Id,
    project_id: Id,
    status: JobStatus,
    source: z.enum(['query_job', 'table']),
    query_job_id: Id.nullable(),
    dataset_id: Id.nullable(),
    table_id: Id.nullable(),
    format: ExportFormat,
    compression: ExportCompression,
    file_name: z.string().nullable().meta({ description: 'The name the file downloads under, once complete' }),
    row_count: z.number().int().nullable(),
    size_bytes: z.number().int().nullable(),
    download_url: z
      .string()
      .nullable()
      .meta({
        description:
          'A signed link that downloads the file without credentials until `expires_at`; null until the file is ' +
          'complete and once the link has expired (`GET …/exports/{export_id}/download` issues a fresh one)',
      }),
    expires_at: Timestamp.nullable(),
    created_at: Timestamp,
    completed_at: Timestamp.nullable(),
    error: JobError.optional(),
  })
  .meta({ id: 'Export' })
export type Export = z.infer<typeof Export>

export const ExportLink = z.object({ download_url: z.string(), expires_at: Timestamp }).meta({ id: 'ExportLink' })
export type ExportLink = z.infer<typeof ExportLink>
