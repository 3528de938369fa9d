import type { JobStatus } from '@tributary/contract'

import { AppError, errors } from '../../lib/errors.js'

export const exportErrors = {
  policedTable: (table: string) =>
    errors.authorization(
      `${table} is under column masks or row filters for you, which a copy of its file would not apply; ` +
        'export the result of a query over it instead (POST …/query-jobs, then …/query-jobs/{job_id}/exports)',
    ),
  notReady: (id: string, status: JobStatus) =>
    errors.conflict(
      status === 'queued' || status === 'running'
        ? `export ${id} is ${status}; a download link is issued once it has succeeded`
        : `export ${id} ${status === 'failed' ? 'failed' : 'was cancelled'} and has no file`,
      { status },
    ),
  linkExpired: (expiredAt: Date, projectId: string, exportId: string) =>
    new AppError(
      'gone',
      `this download link expired at ${expiredAt.toISOString()}; ` +
        `GET /api/v1/projects/${projectId}/exports/${exportId}/download issues a fresh one`,
      { expired_at: expiredAt.toISOString() },
    ),
  fileGone: (exportId: string) =>
    new AppError(
      'gone',
      `the file of export ${exportId} is no longer kept (files are removed TRIBUTARY_RESULT_RETENTION_HOURS ` +
        'after their export ends); export again',
    ),
  /** Tampered, truncated, or issued for another export: nothing about the export is revealed. */
  linkInvalid: () => errors.authorization('this download link is not valid'),
}
