import { z } from 'zod'

import { Id, Timestamp } from './common.js'
import { JobError, JobStatus } from './jobs.js'

export const EXPORT_FORMATS = ['CSV', 'JSON', 'AVRO', 'PARQUET'] as const
export const ExportFormat = z.enum(EXPORT_FORMATS).meta({
  id: 'ExportFormat',
  description:
    '`CSV` with a header row (an empty field is NULL, `""` an empty string); `JSON` one object per line ' +
    '(NDJSON; decimals as strings, integers as exact numbers); `AVRO` an object container file whose schema ' +
    'follows the column types; `PARQUET` zstd-compressed pages (128-bit integers, which Parquet lacks, as text)',
})
export type ExportFormat = z.infer<typeof ExportFormat>

export const EXPORT_COMPRESSIONS = ['GZIP', 'DEFLATE', 'NONE'] as const
export const ExportCompression = z.enum(EXPORT_COMPRESSIONS).meta({
  id: 'ExportCompression',
  description:
    'Applied to the whole file, whatever the format: `GZIP` (`.gz`), `DEFLATE` (zlib stream, RFC 1950, `.zz`), ' +
    'or `NONE`',
})
export type ExportCompression = z.infer<typeof ExportCompression>

export const CreateExport = z
  .strictObject({
    format: ExportFormat.default('CSV'),
    compression: ExportCompression.default('GZIP'),
  })
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
