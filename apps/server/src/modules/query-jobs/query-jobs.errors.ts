import type { JobStatus } from '@tributary/contract'

import { errors } from '../../lib/errors.js'

export const queryJobErrors = {
  notFinished: (id: string, status: JobStatus) =>
    errors.conflict(
      status === 'queued' || status === 'running'
        ? `query job ${id} is ${status}; its results can be read once it has succeeded`
        : `query job ${id} ${status === 'failed' ? 'failed' : 'was cancelled'} and has no results`,
      { status },
    ),
  alreadyEnded: (id: string, status: JobStatus) =>
    errors.conflict(`query job ${id} has already ${status === 'succeeded' ? 'succeeded' : 'failed'}`, { status }),
  savedQueriesUnavailable: () =>
    errors.validation('query_id: saved queries are not available on this server; send "sql" instead', {
      issues: [{ location: 'body', field: 'query_id', message: 'saved queries are not available' }],
    }),
}
