import type { MetadataDb } from '../../metadata/database.js'
import type { MaterializationRow } from '../../metadata/schema.js'

/** What a completed computation switches in. */
export interface CompletedVersion {
  version_id: string
  row_count: number
  columns: { name: string; type: string }[]
  sql_hash: string
}

/** What `complete` did: switched the new version in (and which it replaced), or refused and why. */
export type Completion =
  { switched: true; replaced: string | null } | { switched: false; why: 'superseded' | 'cancelled' }

export class MaterializationsRepo {
  constructor(private readonly db: MetadataDb) {}

  /** The row of a query that just became materialized; an existing one (SQL changed) is kept. */
  async ensure(organizationId: string, projectId: string, queryId: string): Promise<void> {
    await this.db
      .insertInto('materializations')
      .values({ query_id: queryId, organization_id: organizationId, project_id: projectId })
      .onConflict((conflict) => conflict.column('query_id').doNothing())
      .execute()
  }

  async find(organizationId: string, projectId: string, queryId: string): Promise<MaterializationRow | undefined> {
    return this.db
      .selectFrom('materializations')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('query_id', '=', queryId)
      .executeTakeFirst()
  }

  async list(organizationId: string, projectId: string): Promise<MaterializationRow[]> {
    return this.db
      .selectFrom('materializations')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .orderBy('query_id')
      .execute()
  }

  /** Removes the row; returns the version it held, whose file is then retired. */
  async drop(queryId: string): Promise<string | null | undefined> {
    const row = await this.db
      .deleteFrom('materializations')
      .where('query_id', '=', queryId)
      .returning('version_id')
      .executeTakeFirst()
    return row?.version_id
  }

  /** A computation started by `jobId`: the latest one is the one that may switch its result in. */
  async started(queryId: string, jobId: string, at: Date): Promise<boolean> {
    const updated = await this.db
      .updateTable('materializations')
      .set({
        status: 'RUNNING',
        job_id: jobId,
        last_execution_start_time: at,
        last_execution_end_time: null,
        updated_at: at,
      })
      .where('query_id', '=', queryId)
      .executeTakeFirst()
    return updated.numUpdatedRows > 0n
  }

  /**
   * Switches the new version in, if `jobId` is still the query's latest computation (a newer one,
   * started after the SQL changed, wins) and no one asked to cancel it. The job's row is locked while
   * it is checked: a cancel recorded before is seen here, one recorded after comes too late.
   */
  async complete(queryId: string, jobId: string, version: CompletedVersion, at: Date): Promise<Completion> {
    return this.db.transaction().execute(async (trx): Promise<Completion> => {
      const job = await trx
        .selectFrom('jobs')
        .select('cancel_requested_at')
        .where('id', '=', jobId)
        .forUpdate()
        .executeTakeFirst()
      if (job?.cancel_requested_at) return { switched: false, why: 'cancelled' }
      const row = await trx
        .selectFrom('materializations')
        .select(['job_id', 'version_id'])
        .where('query_id', '=', queryId)
        .forUpdate()
        .executeTakeFirst()
      if (!row || row.job_id !== jobId) return { switched: false, why: 'superseded' }
      await trx
        .updateTable('materializations')
        .set({
          status: 'COMPLETED',
          version_id: version.version_id,
          row_count: version.row_count,
          columns: JSON.stringify(version.columns),
          sql_hash: version.sql_hash,
          last_execution_end_time: at,
          last_success_time: at,
          consecutive_failures: 0,
          error: null,
          updated_at: at,
        })
        .where('query_id', '=', queryId)
        .execute()
      return { switched: true, replaced: row.version_id }
    })
  }

  /** A computation that failed or was cancelled: the last completed version stays readable. */
  async ended(
    queryId: string,
    jobId: string,
    outcome: { status: 'FAILED' | 'CANCELLED'; error: { code: string; message: string } | null },
    at: Date,
  ): Promise<void> {
    const failed = outcome.status === 'FAILED'
    await this.db
      .updateTable('materializations')
      .set((eb) => ({
        status: outcome.status,
        error: outcome.error ? JSON.stringify(outcome.error) : null,
        last_execution_end_time: at,
        consecutive_failures: failed ? eb('consecutive_failures', '+', 1) : eb.ref('consecutive_failures'),
        updated_at: at,
      }))
      .where('query_id', '=', queryId)
      .where('job_id', '=', jobId)
      .execute()
  }
}
