import type {
  AddColumn,
  ColumnDefinition,
  CreateDatasetTable,
  DatasetTable,
  ListQuery,
  Page,
  UpdateColumn,
  UpdateDatasetTable,
} from '@tributary/contract'

import { requireProjectContentWrite } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import { quoteIdentifier } from '../../engine/duckdb-sql.js'
import { INTERNAL_CATALOG } from '../../engine/local-tables.js'
import {
  RewriteRefused,
  type RewriteCheck,
  type StagedSegment,
  type TableLocation,
  type TableStore,
} from '../../internal-store/table-store.js'
import { errors } from '../../lib/errors.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { DatasetTableRow, StoredColumn, StoredSegment } from '../../metadata/schema.js'
import { toIso, transactionOrConflict } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { ColumnTypes } from './column-types.js'
import { datasetErrors } from './datasets.errors.js'
import { DatasetsRepo, findDatasetOr404 } from './datasets.repo.js'

/** Writes to datasets and tables need this scope on keys (editors and admins by role). */
export const DATASETS_WRITE_SCOPE = 'connections'

/** More segments than this and an append also compacts the table into one file. */
const COMPACT_ABOVE_SEGMENTS = 16

/** What an export or a reader needs to read one internal table. */
export interface InternalTableSource {
  /** As queries name it: internal.<schema>.<table>. */
  schema: string
  table: string
  columns: StoredColumn[]
  /** Absolute paths of its DuckDB files; each holds the rows in table `data` (see `TableStore`). */
  files: string[]
  rows: number
  /** Grows with every change: an export can name the version it read. */
  version: number
}

/**
 * The tables of datasets: their columns, and the files that hold their rows (imports append to
 * them, exports and queries read them).
 */
export class TablesService {
  constructor(
    private readonly db: MetadataDb,
    private readonly store: TableStore,
    private readonly types: ColumnTypes,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
  ) {}

  async createTable(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    input: CreateDatasetTable,
  ): Promise<DatasetTable> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const dataset = await findDatasetOr404(this.db, tenant, projectId, datasetId)
    requireProjectContentWrite(ctx, projectId, DATASETS_WRITE_SCOPE)
    const columns = await this.#columns(input.schema)
    return transactionOrConflict(
      this.db,
      () => datasetErrors.tableNameTaken(input.name),
      async (trx) => {
        const row = await new DatasetsRepo(trx).insertTable({
          organization_id: tenant.principal.organizationId,
          project_id: projectId,
          dataset_id: datasetId,
          name: input.name,
          description: input.description ?? null,
          columns,
        })
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dataset_table', {
          action: 'dataset_table.create',
          id: row.id,
          details: { name: row.name, dataset_id: datasetId, columns: columns.length },
        })
        return toTable(row, dataset.name)
      },
    )
  }

  async listTables(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    query: ListQuery,
  ): Promise<Page<DatasetTable>> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const dataset = await findDatasetOr404(this.db, tenant, projectId, datasetId)
    const rows = await new DatasetsRepo(this.db).listTables(
      tenant.principal.organizationId,
      projectId,
      datasetId,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, (row) => toTable(row, dataset.name))
  }

  async getTable(ctx: RequestContext, projectId: string, datasetId: string, id: string): Promise<DatasetTable> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const dataset = await findDatasetOr404(this.db, tenant, projectId, datasetId)
    return toTable(await this.#table(tenant, projectId, datasetId, id), dataset.name)
  }

  async updateTable(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    id: string,
    input: UpdateDatasetTable,
  ): Promise<DatasetTable> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const dataset = await findDatasetOr404(this.db, tenant, projectId, datasetId)
    const current = await this.#table(tenant, projectId, datasetId, id)
    requireProjectContentWrite(ctx, projectId, DATASETS_WRITE_SCOPE)
    return transactionOrConflict(
      this.db,
      () => datasetErrors.tableNameTaken(input.name ?? current.name),
      async (trx) => {
        const row = await new DatasetsRepo(trx).updateTable(tenant.principal.organizationId, projectId, id, input)
        if (!row) throw errors.notFound('table', id)
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dataset_table', {
          action: 'dataset_table.update',
          id,
          details: { fields: Object.keys(input) },
        })
        return toTable(row, dataset.name)
      },
    )
  }

  async archiveTable(ctx: RequestContext, projectId: string, datasetId: string, id: string): Promise<void> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    await findDatasetOr404(this.db, tenant, projectId, datasetId)
    await this.#table(tenant, projectId, datasetId, id)
    requireProjectContentWrite(ctx, projectId, DATASETS_WRITE_SCOPE)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new DatasetsRepo(trx).archiveTable(tenant.principal.organizationId, projectId, id))) {
        throw errors.notFound('table', id)
      }
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dataset_table', {
        action: 'dataset_table.delete',
        id,
      })
    })
    this.retireFiles({ projectId, tableId: id })
  }

  // ---- columns ----

  async addColumn(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    input: AddColumn,
  ): Promise<DatasetTable> {
    return this.#changeColumns(ctx, projectId, datasetId, tableId, 'dataset_table.column_add', async (table) => {
      const [column] = await this.#columns([input], 'body')
      const taken = table.columns.find((existing) => sameName(existing.name, column!.name))
      if (taken) throw datasetErrors.duplicateColumn('name', column!.name)
      if (!column!.nullable && Number(table.row_count) > 0) throw datasetErrors.notNullWithRows(column!.name)
      return {
        columns: [...table.columns, column!],
        select: [
          ...table.columns.map((existing) => `old.${quoteIdentifier(existing.name)}`),
          `CAST(NULL AS ${column!.type})`,
        ],
        checks: [],
        rewrite: true,
        details: { column: column!.name, type: column!.type },
      }
    })
  }

  async updateColumn(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    columnName: string,
    input: UpdateColumn,
  ): Promise<DatasetTable> {
    return this.#changeColumns(ctx, projectId, datasetId, tableId, 'dataset_table.column_update', async (table) => {
      const index = findColumn(table.columns, columnName)
      const old = table.columns[index]!
      const type = input.type === undefined ? old.type : await this.#type('type', input.type)
      const name = input.name ?? old.name
      if (
        input.name !== undefined &&
        table.columns.some((other, i) => i !== index && sameName(other.name, input.name!))
      ) {
        throw datasetErrors.duplicateColumn('name', input.name)
      }
      const updated: StoredColumn = {
        name,
        type,
        nullable: input.nullable ?? old.nullable,
        description: input.description === undefined ? old.description : input.description,
      }
      const ref = `old.${quoteIdentifier(old.name)}`
      const checks: RewriteCheck[] = []
      if (type !== old.type) {
        checks.push({
          column: old.name,
          failsWhen: `${ref} IS NOT NULL AND TRY_CAST(${ref} AS ${type}) IS NULL`,
          sample: ref,
          message: `column '${old.name}': a stored value cannot be cast to ${type}`,
        })
      }
      if (!updated.nullable && old.nullable) {
        checks.push({
          column: old.name,
          failsWhen: `${ref} IS NULL`,
          sample: 'NULL',
          message: `column '${old.name}': cannot be NOT NULL, some rows have no value`,
        })
      }
      const columns = table.columns.map((column, i) => (i === index ? updated : column))
      return {
        columns,
        select: table.columns.map((column, i) =>
          i === index && type !== old.type ? `CAST(${ref} AS ${type})` : `old.${quoteIdentifier(column.name)}`,
        ),
        checks,
        // A description alone changes no file.
        rewrite: name !== old.name || type !== old.type || updated.nullable !== old.nullable,
        details: { column: old.name, fields: Object.keys(input) },
      }
    })
  }

  async dropColumn(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    columnName: string,
  ): Promise<DatasetTable> {
    return this.#changeColumns(ctx, projectId, datasetId, tableId, 'dataset_table.column_drop', async (table) => {
      const index = findColumn(table.columns, columnName)
      if (table.columns.length === 1) throw datasetErrors.lastColumn()
      const kept = table.columns.filter((_, i) => i !== index)
      return {
        columns: kept,
        select: kept.map((column) => `old.${quoteIdentifier(column.name)}`),
        checks: [],
        rewrite: true,
        details: { column: table.columns[index]!.name },
      }
    })
  }

  /** An internal table's files, for exports (read them with `attachSegments`). Checks read access. */
  async tableSource(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
  ): Promise<InternalTableSource> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const dataset = await findDatasetOr404(this.db, tenant, projectId, datasetId)
    const table = await this.#table(tenant, projectId, datasetId, tableId)
    return {
      schema: dataset.name,
      table: table.name,
      columns: table.columns,
      files: this.store.segmentPaths({ projectId, tableId }, table.segments),
      rows: Number(table.row_count),
      version: table.version,
    }
  }

  /** Checks that the caller may write the table; returns it with its dataset. */
  async writableTable(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
  ): Promise<{ tenant: TenantContext; table: DatasetTableRow; datasetName: string }> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    const dataset = await findDatasetOr404(this.db, tenant, projectId, datasetId)
    const table = await this.#table(tenant, projectId, datasetId, tableId)
    requireProjectContentWrite(ctx, projectId, DATASETS_WRITE_SCOPE)
    return { tenant, table, datasetName: dataset.name }
  }

  async readableTable(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
  ): Promise<{ tenant: TenantContext; table: DatasetTableRow }> {
    const tenant = await this.projects.require(ctx, projectId, 'read')
    await findDatasetOr404(this.db, tenant, projectId, datasetId)
    return { tenant, table: await this.#table(tenant, projectId, datasetId, tableId) }
  }

  /** A table by id alone, for jobs that already checked their caller's access when they were queued. */
  async findTableById(id: string): Promise<DatasetTableRow | undefined> {
    return new DatasetsRepo(this.db).findTableById(id)
  }

  /**
   * Makes a staged segment part of the table: appended to its segments, or replacing them all.
   * Fails (and removes the segment) when the table's columns changed since the segment was written,
   * or the table is gone. Compacts a table that has grown too many segments.
   */
  async commitSegment(
    tableId: string,
    projectId: string,
    staged: StagedSegment,
    writtenWith: readonly StoredColumn[],
    mode: 'append' | 'replace',
  ): Promise<DatasetTableRow> {
    const location = { projectId, tableId }
    const repo = new DatasetsRepo(this.db)
    let published: StoredSegment | undefined
    try {
      published = await this.store.publish(location, staged)
      for (let attempt = 0; attempt < 5; attempt++) {
        const table = await repo.findTableById(tableId)
        if (!table || table.archived_at) throw errors.notFound('table', tableId)
        if (JSON.stringify(table.columns) !== JSON.stringify(writtenWith)) {
          throw datasetErrors.concurrentChange()
        }
        const segments = mode === 'append' ? [...table.segments, published] : [published]
        const switched = await repo.switchVersion(tableId, table.version, { columns: table.columns, segments })
        if (switched) {
          if (mode === 'replace') this.retireFiles(location)
          if (switched.segments.length > COMPACT_ABOVE_SEGMENTS) void this.#compact(switched).catch(() => undefined)
          return switched
        }
      }
      throw datasetErrors.concurrentChange()
    } catch (error) {
      await this.store.discard(location, published ?? staged)
      throw error
    }
  }

  /** Rewrites a table's many segments into one; gives up quietly if the table changed meanwhile. */
  async #compact(table: DatasetTableRow): Promise<void> {
    const location = { projectId: table.project_id, tableId: table.id }
    const staged = await this.store.rewrite(
      location,
      table.segments,
      table.columns,
      table.columns,
      table.columns.map((column) => `old.${quoteIdentifier(column.name)}`),
    )
    const published = await this.store.publish(location, staged)
    const switched = await new DatasetsRepo(this.db).switchVersion(table.id, table.version, {
      columns: table.columns,
      segments: [published],
    })
    if (!switched) await this.store.discard(location, published)
    this.retireFiles(location)
  }

  async #changeColumns(
    ctx: RequestContext,
    projectId: string,
    datasetId: string,
    tableId: string,
    action: string,
    plan: (table: DatasetTableRow) => Promise<{
      columns: StoredColumn[]
      select: string[]
      checks: RewriteCheck[]
      rewrite: boolean
      details: Record<string, unknown>
    }>,
  ): Promise<DatasetTable> {
    const { tenant, table, datasetName } = await this.writableTable(ctx, projectId, datasetId, tableId)
    const change = await plan(table)
    const location = { projectId, tableId }
    let segments: StoredSegment[] = table.segments
    let published: StoredSegment | undefined
    if (change.rewrite && table.segments.length > 0) {
      let staged: StagedSegment
      try {
        staged = await this.store.rewrite(
          location,
          table.segments,
          table.columns,
          change.columns,
          change.select,
          change.checks,
        )
      } catch (error) {
        if (error instanceof RewriteRefused) {
          throw datasetErrors.rewriteRefused(
            `${error.message}${error.sample === null ? '' : ` (e.g. '${error.sample}')`}`,
            error.column,
            error.sample,
          )
        }
        throw error
      }
      published = await this.store.publish(location, staged)
      segments = [published]
    }
    try {
      const row = await this.db.transaction().execute(async (trx) => {
        const switched = await new DatasetsRepo(trx).switchVersion(tableId, table.version, {
          columns: change.columns,
          segments,
        })
        if (!switched) throw datasetErrors.concurrentChange()
        await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dataset_table', {
          action,
          id: tableId,
          details: change.details,
        })
        return switched
      })
      if (published) this.retireFiles(location)
      return toTable(row, datasetName)
    } catch (error) {
      if (published) await this.store.discard(location, published)
      throw error
    }
  }

  /** Removes a table's files that no version uses any more, once readers are done with them. */
  retireFiles(location: TableLocation): void {
    this.store.retireUnused(location, async () => {
      const row = await new DatasetsRepo(this.db).findTableById(location.tableId)
      return row && !row.archived_at ? row.segments : undefined
    })
  }

  async #columns(definitions: readonly ColumnDefinition[], base = 'schema'): Promise<StoredColumn[]> {
    const columns: StoredColumn[] = []
    for (const [index, definition] of definitions.entries()) {
      const path = base === 'schema' ? `schema.${index}` : 'name'
      if (columns.some((column) => sameName(column.name, definition.name))) {
        throw datasetErrors.duplicateColumn(path, definition.name)
      }
      columns.push({
        name: definition.name,
        type: await this.#type(base === 'schema' ? `schema.${index}.type` : 'type', definition.type),
        nullable: definition.nullable,
        description: definition.description ?? null,
      })
    }
    return columns
  }

  async #type(path: string, type: string): Promise<string> {
    const canonical = await this.types.canonical(type)
    if (!canonical) throw datasetErrors.unknownType(path, type)
    return canonical
  }

  async #table(tenant: TenantContext, projectId: string, datasetId: string, id: string): Promise<DatasetTableRow> {
    const row = await new DatasetsRepo(this.db).findTable(tenant.principal.organizationId, projectId, datasetId, id)
    if (!row) throw errors.notFound('table', id)
    return row
  }
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

function findColumn(columns: readonly StoredColumn[], name: string): number {
  let index = columns.findIndex((column) => column.name === name)
  if (index < 0) index = columns.findIndex((column) => sameName(column.name, name))
  if (index < 0) throw datasetErrors.columnNotFound(name)
  return index
}

export function toTable(row: DatasetTableRow, datasetName: string): DatasetTable {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    dataset_id: row.dataset_id,
    name: row.name,
    description: row.description,
    sql_name: `${INTERNAL_CATALOG}.${datasetName}.${row.name}`,
    schema: row.columns.map((column) => ({ ...column, description: column.description ?? null })),
    row_count: Number(row.row_count),
    size_bytes: Number(row.size_bytes),
    version: row.version,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
