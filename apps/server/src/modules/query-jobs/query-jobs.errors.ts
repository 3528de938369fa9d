import type { JobStatus } from '@tributary/contract'

import { AppError, errors } from '../../lib/errors.js'

export const queryJobErrors = {
  otherPolicies: (id: string) =>
    errors.authorization(
      `query job ${id} ran under other column masks or row filters than yours; run the query yourself to see its results`,
    ),
  notFinished: (id: string, status: JobStatus) =>
    errors.conflict(
      status === 'queued' || status === 'running'
        ? `query job ${id} is ${status}; its results can be read once it has succeeded`
        : `query job ${id} ${status === 'failed' ? 'failed' : 'was cancelled'} and has no results`,
      { status },
    ),
  resultsGone: (id: string) =>
    new AppError(
      'gone',
      `the results of query job ${id} are no longer kept (results are removed TRIBUTARY_RESULT_RETENTION_HOURS ` +
        'after their job ends); run the query again',
    ),
  alreadyEnded: (id: string, status: JobStatus) =>
    errors.conflict(`query job ${id} has already ${status === 'succeeded' ? 'succeeded' : 'failed'}`, { status }),
}
