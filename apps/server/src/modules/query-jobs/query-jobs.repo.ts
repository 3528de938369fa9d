import type { JobStatus } from '@tributary/contract'
import { sql } from 'kysely'

import type { MetadataDb } from '../../metadata/database.js'
import type { JobRow } from '../../metadata/schema.js'

export const QUERY_JOB_KIND = 'query'

export interface QueryJobFilter {
  queryId?: string | undefined
  status?: JobStatus | undefined
  /** The cursor: jobs older than this id (lists are newest first). */
  before?: string | undefined
}

/** Query jobs are the `query` rows of the generic jobs table. */
export class QueryJobsRepo {
  constructor(private readonly db: MetadataDb) {}

  async list(organizationId: string, projectId: string, filter: QueryJobFilter, limit: number): Promise<JobRow[]> {
    let query = this.db
      .selectFrom('jobs')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('kind', '=', QUERY_JOB_KIND)
    if (filter.queryId) query = query.where(sql<string>`payload->>'query_id'`, '=', filter.queryId)
    if (filter.status) query = query.where('status', '=', filter.status)
    if (filter.before) query = query.where('id', '<', filter.before)
    return query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute()
  }
}
