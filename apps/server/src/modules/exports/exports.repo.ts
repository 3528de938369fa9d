import type { MetadataDb } from '../../metadata/database.js'
import type { ExportRow, JobRow } from '../../metadata/schema.js'

export type ExportWithJob = ExportRow & Pick<JobRow, 'status' | 'error' | 'started_at' | 'ended_at'>

export interface ExportFilter {
  queryJobId?: string | undefined
  tableId?: string | undefined
  /** The cursor: exports older than this id (lists are newest first). */
  before?: string | undefined
}

/** Exports joined with their jobs: the job says how it went, the export what came out. */
export class ExportsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: Omit<ExportRow, 'file_name' | 'row_count' | 'size_bytes' | 'completed_at' | 'created_at'>) {
    await this.db.insertInto('exports').values(values).execute()
  }

  async find(organizationId: string, projectId: string, id: string): Promise<ExportWithJob | undefined> {
    return this.#joined()
      .where('exports.organization_id', '=', organizationId)
      .where('exports.project_id', '=', projectId)
      .where('exports.id', '=', id)
      .executeTakeFirst()
  }

  /** For signed links, which carry no tenant: the token is the authority. */
  async findById(id: string): Promise<ExportWithJob | undefined> {
    return this.#joined().where('exports.id', '=', id).executeTakeFirst()
  }

  async list(organizationId: string, projectId: string, filter: ExportFilter, limit: number): Promise<ExportWithJob[]> {
    let query = this.#joined()
      .where('exports.organization_id', '=', organizationId)
      .where('exports.project_id', '=', projectId)
    if (filter.queryJobId) query = query.where('exports.query_job_id', '=', filter.queryJobId)
    if (filter.tableId) query = query.where('exports.table_id', '=', filter.tableId)
    if (filter.before) query = query.where('exports.id', '<', filter.before)
    return query
      .orderBy('exports.id', 'desc')
      .limit(limit + 1)
      .execute()
  }

  async complete(id: string, file: { fileName: string; rows: number; bytes: number }): Promise<void> {
    await this.db
      .updateTable('exports')
      .set({ file_name: file.fileName, row_count: file.rows, size_bytes: file.bytes, completed_at: new Date() })
      .where('id', '=', id)
      .execute()
  }

  #joined() {
    return this.db
      .selectFrom('exports')
      .innerJoin('jobs', 'jobs.id', 'exports.id')
      .selectAll('exports')
      .select(['jobs.status', 'jobs.error', 'jobs.started_at', 'jobs.ended_at'])
  }
}
