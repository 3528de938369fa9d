import type {
  CreateRelation,
  MetadataRelation,
  Page,
  RelationEnd,
  RelationListQuery,
  TableDetail,
  UpdateRelation,
} from '@tributary/contract'

import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { SourceKeys } from '../../engine/connectors/source-catalog.js'
import { errors, isAppError } from '../../lib/errors.js'
import type { Logger } from '../../lib/logger.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { TableRelationRow } from '../../metadata/schema.js'
import { isUniqueViolation, toIso } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { CatalogsService } from '../catalogs/catalogs.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { quoteIdentifier } from '../../engine/duckdb-sql.js'
import { endsKey, type InferenceTable, type NewRelation, type RelationEnds, RelationsRepo } from './relations.repo.js'
export type { InferenceTable }

/** Distinct values of a column sampled to test whether they are contained in another column's key. */
export const INFERENCE_SAMPLE = 100
/** Proposed only when at least this share of the sample is found in the key. */
export const INFERENCE_MIN_CONFIDENCE = 0.9
/** Candidate pairs checked per inference run at most (each costs two small queries). */
const INFERENCE_MAX_PAIRS = 300
const INFERENCE_QUERY_TIMEOUT_MS = 15_000
/** Columns checked at once: the time goes to round trips, not to work. */
const INFERENCE_CONCURRENCY = 4

export interface RelationsDependencies {
  projects: ProjectsService
  catalogs: CatalogsService
  sql: SqlService
  audit: AuditService
}

export interface InferenceOutcome {
  /** Candidate pairs whose values were compared. */
  checked: number
  /** Inferred relations now live for the catalogs. */
  proposed: number
  /** Pairs left unchecked: over the per-run bound, or their query failed. */
  skipped: number
}

/**
 * Relations between tables (issue 10 item 3). Every relation is stored once, read from `from` (the
 * referencing side) to `to`: foreign keys are MANY_TO_ONE from the table holding the key (ONE_TO_ONE when
 * the key columns are also the table's primary key); no reverse ONE_TO_MANY row is stored for them.
 * Detected relations (`foreign_key`, `inferred`) are replaced on every refresh; a deleted one is kept as
 * a dismissed tombstone so no refresh brings it back; an edited one becomes `manual`. Manual ones are
 * never touched by a refresh.
 */
export class RelationsService {
  constructor(
    private readonly db: MetadataDb,
    private readonly dependencies: RelationsDependencies,
    private readonly logger: Logger,
  ) {}

  async list(ctx: RequestContext, projectId: string, query: RelationListQuery): Promise<Page<MetadataRelation>> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, 'read')
    const rows = await new RelationsRepo(this.db).list(
      tenant.principal.organizationId,
      projectId,
      { catalog: query.catalog, origin: query.origin, after: decodeCursor(query.cursor) },
      query.limit,
    )
    return toPage(rows, query.limit, toRelation)
  }

  async get(ctx: RequestContext, projectId: string, id: string): Promise<MetadataRelation> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, 'read')
    return toRelation(await this.#findLive(tenant, projectId, id))
  }

  /** A manual relation; both tables and every column must exist, paired columns of compatible types. */
  async create(ctx: RequestContext, projectId: string, input: CreateRelation): Promise<MetadataRelation> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, { write: 'metadata' })
    const ends = await this.#checkEnds(ctx, projectId, input.from, input.to)
    const organizationId = tenant.principal.organizationId
    return this.#write(async (trx) => {
      const existing = await new RelationsRepo(trx).findByEnds(organizationId, projectId, ends)
      let row: TableRelationRow
      if (existing && !existing.dismissed) {
        throw errors.conflict(`relation ${describeEnds(ends)} already exists (${existing.id})`, {
          relation_id: existing.id,
        })
      } else if (existing) {
        // A detected relation someone deleted, now added by hand: it lives again, as theirs.
        row = (await new RelationsRepo(trx).update(organizationId, projectId, existing.id, {
          dismissed: false,
          origin: 'manual',
          confidence: null,
          type: input.type,
          description: input.description ?? null,
        }))!
      } else {
        row = await new RelationsRepo(trx).insert({
          organization_id: organizationId,
          project_id: projectId,
          name: null,
          ...ends,
          type: input.type,
          origin: 'manual',
          confidence: null,
          description: input.description ?? null,
        })
      }
      await this.dependencies.audit.recordTenantWrite(trx, ctx, tenant.principal, 'metadata_relation', {
        action: 'metadata_relation.create',
        id: row.id,
        details: { project_id: projectId, relation: describeEnds(ends), type: row.type },
      })
      return toRelation(row)
    })
  }

  /**
   * Changes the type, columns or description. A detected relation that is edited becomes `manual`, so a
   * refresh keeps the edit; when its columns change, the original stays behind dismissed so a refresh
   * does not add it again next to the edited one.
   */
  async update(ctx: RequestContext, projectId: string, id: string, input: UpdateRelation): Promise<MetadataRelation> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, 'read')
    const current = await this.#findLive(tenant, projectId, id)
    await this.dependencies.projects.require(ctx, projectId, { write: 'metadata' })
    const organizationId = tenant.principal.organizationId
    const columnsChange = input.from_columns !== undefined || input.to_columns !== undefined
    const ends = columnsChange
      ? await this.#checkEnds(
          ctx,
          projectId,
          { ...endOf(current, 'from'), columns: input.from_columns ?? current.from_columns },
          { ...endOf(current, 'to'), columns: input.to_columns ?? current.to_columns },
        )
      : undefined
    return this.#write(async (trx) => {
      const writer = new RelationsRepo(trx)
      if (ends && endsKey(ends) !== endsKey(current)) {
        const taken = await writer.findByEnds(organizationId, projectId, ends)
        if (taken && !taken.dismissed) {
          throw errors.conflict(`relation ${describeEnds(ends)} already exists (${taken.id})`, {
            relation_id: taken.id,
          })
        }
        if (taken) await writer.delete(organizationId, projectId, [taken.id])
        if (current.origin !== 'manual') {
          await writer.insert({ ...newRelationFrom(current), dismissed: true })
        }
      }
      const row = await writer.update(organizationId, projectId, id, {
        ...(input.type === undefined ? {} : { type: input.type }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(ends ? { from_columns: ends.from_columns, to_columns: ends.to_columns } : {}),
        ...(current.origin === 'manual' ? {} : { origin: 'manual' as const, confidence: null }),
      })
      if (!row) throw errors.notFound('relation', id)
      await this.dependencies.audit.recordTenantWrite(trx, ctx, tenant.principal, 'metadata_relation', {
        action: 'metadata_relation.update',
        id,
        details: { fields: Object.keys(input), was: current.origin },
      })
      return toRelation(row)
    })
  }

  /** A manual relation is removed; a detected one is dismissed, so no refresh brings it back. */
  async delete(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.dependencies.projects.require(ctx, projectId, 'read')
    const current = await this.#findLive(tenant, projectId, id)
    await this.dependencies.projects.require(ctx, projectId, { write: 'metadata' })
    const organizationId = tenant.principal.organizationId
    await this.db.transaction().execute(async (trx) => {
      const repo = new RelationsRepo(trx)
      if (current.origin === 'manual') await repo.delete(organizationId, projectId, [id])
      else await repo.update(organizationId, projectId, id, { dismissed: true })
      await this.dependencies.audit.recordTenantWrite(trx, ctx, tenant.principal, 'metadata_relation', {
        action: 'metadata_relation.delete',
        id,
        details: { relation: describeEnds(current), origin: current.origin },
      })
    })
  }

  /**
   * Called at the end of a metadata refresh of `catalog`: its foreign-key relations become exactly the
   * source's foreign keys. Ids of relations that stay are kept; dismissed and manual relations with the
   * same ends win over a foreign key; an inferred one with the same ends becomes the foreign key.
   * Returns the number of live foreign-key relations of the catalog.
   */
  async detect(checked: TenantContext, projectId: string, catalog: string, keys: SourceKeys): Promise<number> {
    const organizationId = checked.principal.organizationId
    const primaryKeys = new Map(
      keys.primaryKeys.map((key) => [JSON.stringify([key.schema, key.table]), new Set(key.columns)]),
    )
    const wanted = new Map<string, NewRelation>()
    for (const key of keys.foreignKeys) {
      if (key.columns.length === 0 || key.columns.length !== key.references.columns.length) continue
      const primary = primaryKeys.get(JSON.stringify([key.schema, key.table]))
      const oneToOne =
        primary !== undefined &&
        primary.size === key.columns.length &&
        key.columns.every((column) => primary.has(column))
      const relation: NewRelation = {
        organization_id: organizationId,
        project_id: projectId,
        name: key.name,
        from_catalog: catalog,
        from_schema: key.schema,
        from_table: key.table,
        from_columns: key.columns,
        to_catalog: catalog,
        to_schema: key.references.schema,
        to_table: key.references.table,
        to_columns: key.references.columns,
        type: oneToOne ? 'ONE_TO_ONE' : 'MANY_TO_ONE',
        origin: 'foreign_key',
        confidence: null,
        description: null,
      }
      wanted.set(endsKey(relation), relation)
    }
    return this.db.transaction().execute(async (trx) => {
      const repo = new RelationsRepo(trx)
      const existing = await repo.touching(organizationId, projectId, [catalog], 'from')
      const byEnds = new Map(existing.map((row) => [endsKey(row), row]))
      const gone = existing
        .filter((row) => row.origin === 'foreign_key' && !row.dismissed && !wanted.has(endsKey(row)))
        .map((row) => row.id)
      await repo.delete(organizationId, projectId, gone)
      let live = 0
      for (const [key, relation] of wanted) {
        const row = byEnds.get(key)
        if (!row) {
          await repo.insert(relation)
          live += 1
        } else if (row.dismissed || row.origin === 'manual') {
          // What a person decided stands.
          continue
        } else {
          if (row.origin !== 'foreign_key' || row.type !== relation.type || row.name !== relation.name) {
            await repo.update(organizationId, projectId, row.id, {
              origin: 'foreign_key',
              type: relation.type,
              name: relation.name,
              confidence: null,
            })
          }
          live += 1
        }
      }
      return live
    })
  }

  /**
   * Cross-source proposals after a refresh of `catalogs`: for a column of one catalog and the single-column
   * primary key of a table in another, with matching names (case, `_` and an `id` suffix aside) and
   * compatible types, a sample of the column's distinct values is looked up in the key; the share found is
   * the confidence, proposed from {@link INFERENCE_MIN_CONFIDENCE}. Inferred relations touching `catalogs`
   * are replaced by the new proposals; dismissed, manual and foreign-key ones are left as they are. Tables
   * and their keys are read from the stored metadata (`table_metadata`) of every catalog of the project.
   * Queries run as `checked` (they need `query` use); a caller without it gets no proposals.
   */
  async infer(
    checked: TenantContext,
    projectId: string,
    catalogs: readonly string[],
    signal?: AbortSignal,
  ): Promise<InferenceOutcome> {
    const organizationId = checked.principal.organizationId
    const refreshed = new Set(catalogs)
    const tables = await new RelationsRepo(this.db).inferenceTables(organizationId, projectId)
    const candidates = candidatePairs(tables).filter(
      (pair) => refreshed.has(pair.from.catalog) || refreshed.has(pair.to.catalog),
    )
    const existing = await new RelationsRepo(this.db).touching(organizationId, projectId, catalogs, 'either')
    const byEnds = new Map(existing.map((row) => [endsKey(row), row]))
    const outcome: InferenceOutcome = { checked: 0, proposed: 0, skipped: 0 }
    const proposals = new Map<string, NewRelation>()
    /** Pairs not checked this time (bound reached, no right to query, a query failed): their proposals stay. */
    const unchecked = new Set<string>()
    // Pairs grouped by their `from` column: one sample, then one query looking it up in every candidate key.
    const groups = new Map<string, CandidatePair[]>()
    let pairs = 0
    for (const pair of candidates) {
      const ends = pairEnds(pair)
      const known = byEnds.get(endsKey(ends))
      if (known && (known.origin !== 'inferred' || known.dismissed)) continue
      if (pairs >= INFERENCE_MAX_PAIRS) {
        outcome.skipped += 1
        unchecked.add(endsKey(ends))
        continue
      }
      pairs += 1
      const group = JSON.stringify([pair.from.catalog, pair.from.schema, pair.from.table, pair.from.column])
      groups.set(group, [...(groups.get(group) ?? []), pair])
    }
    let allowed = true
    const check = async (group: CandidatePair[]) => {
      if (!allowed || signal?.aborted) {
        outcome.skipped += group.length
        for (const pair of group) unchecked.add(endsKey(pairEnds(pair)))
        return
      }
      try {
        const values = await this.#sample(checked, projectId, group[0]!.from)
        if (!values || values.length === 0) return
        const found = await this.#contained(
          checked,
          projectId,
          group.map((pair) => pair.to),
          values,
        )
        group.forEach((pair, index) => {
          outcome.checked += 1
          const confidence = (found[index] ?? 0) / values.length
          if (confidence < INFERENCE_MIN_CONFIDENCE) return
          const ends = pairEnds(pair)
          proposals.set(endsKey(ends), {
            organization_id: organizationId,
            project_id: projectId,
            name: null,
            ...ends,
            type: pair.fromIsKey ? 'ONE_TO_ONE' : 'MANY_TO_ONE',
            origin: 'inferred',
            confidence: Math.round(confidence * 1000) / 1000,
            description: null,
          })
        })
      } catch (error) {
        if (isAppError(error, 'authorization_error') || isAppError(error, 'not_found')) allowed = false
        outcome.skipped += group.length
        for (const pair of group) unchecked.add(endsKey(pairEnds(pair)))
        this.logger.debug(
          { err: error, column: describeColumn(group[0]!.from, group[0]!.from.column) },
          'relation inference: a column could not be checked',
        )
      }
    }
    const queue = [...groups.values()]
    await Promise.all(
      Array.from({ length: Math.min(INFERENCE_CONCURRENCY, queue.length) }, async () => {
        for (let group = queue.shift(); group; group = queue.shift()) await check(group)
      }),
    )
    await this.db.transaction().execute(async (trx) => {
      const repo = new RelationsRepo(trx)
      const stale = existing.filter(
        (row) =>
          row.origin === 'inferred' && !row.dismissed && !proposals.has(endsKey(row)) && !unchecked.has(endsKey(row)),
      )
      await repo.delete(
        organizationId,
        projectId,
        stale.map((row) => row.id),
      )
      for (const [key, proposal] of proposals) {
        const row = byEnds.get(key)
        if (!row) {
          try {
            await repo.insert(proposal)
          } catch (error) {
            // Added meanwhile (a refresh of the other catalog, or by hand): that one stands.
            if (!isUniqueViolation(error)) throw error
            continue
          }
        } else {
          await repo.update(organizationId, projectId, row.id, {
            confidence: proposal.confidence,
            type: proposal.type,
          })
        }
        outcome.proposed += 1
      }
    })
    return outcome
  }

  /** Up to {@link INFERENCE_SAMPLE} distinct non-null values of a column, as SQL literals. */
  async #sample(checked: TenantContext, projectId: string, column: CandidateColumn): Promise<string[] | undefined> {
    const name = quoteIdentifier(column.column)
    const result = await this.dependencies.sql.run(checked, projectId, {
      sql: `SELECT DISTINCT ${name} FROM ${qualified(column)} WHERE ${name} IS NOT NULL LIMIT ${INFERENCE_SAMPLE}`,
      limit: INFERENCE_SAMPLE,
      timeout_ms: INFERENCE_QUERY_TIMEOUT_MS,
    })
    const literals: string[] = []
    for (const [value] of result.rows) {
      const literal = sqlLiteral(value, column.kind)
      if (literal === undefined) return undefined
      literals.push(literal)
    }
    return literals
  }

  /** For each key column, how many of the sampled values it holds: one query over all of them. */
  async #contained(
    checked: TenantContext,
    projectId: string,
    keys: readonly CandidateColumn[],
    literals: readonly string[],
  ): Promise<number[]> {
    const list = literals.join(', ')
    const selects = keys.map((key, index) => {
      const name = quoteIdentifier(key.column)
      return `SELECT ${index} AS i, count(DISTINCT ${name}) AS n FROM ${qualified(key)} WHERE ${name} IN (${list})`
    })
    const result = await this.dependencies.sql.run(checked, projectId, {
      sql: selects.join(' UNION ALL '),
      limit: keys.length,
      timeout_ms: INFERENCE_QUERY_TIMEOUT_MS,
    })
    const found = keys.map(() => 0)
    for (const [index, count] of result.rows) found[Number(index)] = Number(count)
    return found
  }

  /** Both tables exist and hold the columns (404 naming what is missing); the pairs are type-compatible (422). */
  async #checkEnds(ctx: RequestContext, projectId: string, from: RelationEnd, to: RelationEnd): Promise<RelationEnds> {
    if (from.columns.length !== to.columns.length) {
      throw errors.validation(
        `to.columns: names ${to.columns.length} column(s) but from.columns names ${from.columns.length}; ` +
          'columns pair up in order',
        { issues: [{ location: 'body', field: 'to.columns', message: 'must name as many columns as from.columns' }] },
      )
    }
    const [fromTable, toTable] = await Promise.all([
      this.dependencies.catalogs.table(ctx, projectId, from.catalog, from.schema, from.table),
      this.dependencies.catalogs.table(ctx, projectId, to.catalog, to.schema, to.table),
    ])
    const fromColumns = from.columns.map((column) => columnOf(fromTable, column))
    const toColumns = to.columns.map((column) => columnOf(toTable, column))
    fromColumns.forEach((fromColumn, index) => {
      const toColumn = toColumns[index]!
      if (!typesCompatible(fromColumn.type, toColumn.type)) {
        throw errors.validation(
          `from.columns.${index}: ${describeColumn(from, fromColumn.name)} (${fromColumn.type}) cannot relate to ` +
            `${describeColumn(to, toColumn.name)} (${toColumn.type}): incompatible types`,
          {
            issues: [
              {
                location: 'body',
                field: `from.columns.${index}`,
                message: `type ${fromColumn.type} is incompatible with ${toColumn.type}`,
              },
            ],
          },
        )
      }
    })
    const ends: RelationEnds = {
      from_catalog: from.catalog,
      from_schema: from.schema,
      from_table: from.table,
      from_columns: from.columns,
      to_catalog: to.catalog,
      to_schema: to.schema,
      to_table: to.table,
      to_columns: to.columns,
    }
    if (
      ends.from_catalog === ends.to_catalog &&
      ends.from_schema === ends.to_schema &&
      ends.from_table === ends.to_table &&
      ends.from_columns.join('\u0000') === ends.to_columns.join('\u0000')
    ) {
      throw errors.validation('to: a relation must not relate columns to themselves', {
        issues: [{ location: 'body', field: 'to', message: 'must differ from from' }],
      })
    }
    return ends
  }

  async #findLive(tenant: TenantContext, projectId: string, id: string): Promise<TableRelationRow> {
    const row = await new RelationsRepo(this.db).find(tenant.principal.organizationId, projectId, id)
    if (!row || row.dismissed) throw errors.notFound('relation', id)
    return row
  }

  /** One transaction; a unique index violated by a concurrent write is a conflict, not a 500. */
  async #write<T>(work: (trx: MetadataDb) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction().execute(work)
    } catch (error) {
      if (isUniqueViolation(error)) throw errors.conflict('a relation with the same tables and columns already exists')
      throw error
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Types and names
// ---------------------------------------------------------------------------------------------------

type TypeKind = 'number' | 'text' | 'temporal' | 'time' | 'boolean' | 'blob' | 'other'

/** The family a DuckDB type belongs to: columns relate when their families match. */
export function typeKind(type: string): TypeKind {
  const base = type
    .trim()
    .toUpperCase()
    .replace(/\(.*\)$/, '')
    .trim()
  if (
    /^(U?(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT)|INT[1248]|DECIMAL|NUMERIC|DOUBLE|FLOAT|REAL|FLOAT[48])$/.test(
      base,
    )
  ) {
    return 'number'
  }
  if (/^(VARCHAR|CHAR|BPCHAR|TEXT|STRING|NVARCHAR|UUID|ENUM)$/.test(base) || base.startsWith('ENUM')) return 'text'
  if (/^(DATE|TIMESTAMP.*|DATETIME)$/.test(base)) return 'temporal'
  if (/^TIME( WITH TIME ZONE)?$|^TIMETZ$/.test(base)) return 'time'
  if (/^(BOOLEAN|BOOL)$/.test(base)) return 'boolean'
  if (/^(BLOB|BYTEA|VARBINARY|BINARY)$/.test(base)) return 'blob'
  return 'other'
}

/**
 * Whether two columns can be related: numbers of any width or scale relate, text (and UUIDs) relate,
 * dates and timestamps relate; other types only to the same type.
 */
export function typesCompatible(left: string, right: string): boolean {
  const kind = typeKind(left)
  if (kind !== typeKind(right)) return false
  return kind !== 'other' || left.trim().toUpperCase() === right.trim().toUpperCase()
}

/** `CustomerId`, `customer_id` and `CUSTOMERID` all read `customerid`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, '')
}

/** `customers` → `customer`, for matching `customer_id` with the `id` of a table named `customers`. */
function singular(name: string): string {
  if (name.endsWith('ies') && name.length > 4) return `${name.slice(0, -3)}y`
  if (name.endsWith('ses') || name.endsWith('xes')) return name.slice(0, -2)
  if (name.endsWith('s') && !name.endsWith('ss') && name.length > 3) return name.slice(0, -1)
  return name
}

interface CandidateColumn {
  catalog: string
  schema: string
  table: string
  column: string
  type: string
  kind: TypeKind
}

export interface CandidatePair {
  from: CandidateColumn
  /** The single-column primary key of its table. */
  to: CandidateColumn
  /** The `from` column is its own table's whole primary key (a one-to-one extension). */
  fromIsKey: boolean
}

/**
 * Column pairs across catalogs worth checking: a column whose name matches the single-column primary key of a
 * table in another catalog (`customer_id` ↔ `CustomerId`, or `customer_id` ↔ `customers.id`), of a compatible
 * type. A table's own key pairs with another table's key only when its name names that table
 * (`customer_details.customer_id` → `customer.customer_id`), so copies of one table in two sources are not
 * proposed as relations of each other.
 */
export function candidatePairs(tables: readonly InferenceTable[]): CandidatePair[] {
  const keysByName = new Map<string, CandidateColumn[]>()
  const soleKey = (table: InferenceTable) => {
    const keys = table.columns.filter((column) => column.is_primary && !column.missing)
    return keys.length === 1 ? keys[0]! : undefined
  }
  for (const table of tables) {
    const key = soleKey(table)
    if (!key) continue
    const kind = typeKind(key.type)
    if (kind !== 'number' && kind !== 'text') continue
    const column: CandidateColumn = { ...tableOf(table), column: key.name, type: key.type, kind }
    const names = new Set([normalizeName(key.name)])
    if (normalizeName(key.name) === 'id') {
      names.add(`${normalizeName(table.table)}id`)
      names.add(`${singular(normalizeName(table.table))}id`)
    }
    for (const name of names) {
      if (name === 'id') continue
      const list = keysByName.get(name) ?? []
      list.push(column)
      keysByName.set(name, list)
    }
  }
  const pairs: CandidatePair[] = []
  for (const table of tables) {
    const key = soleKey(table)
    for (const column of table.columns) {
      if (column.missing) continue
      const name = normalizeName(column.name)
      if (name === 'id') continue
      const targets = keysByName.get(name)
      if (!targets) continue
      const fromIsKey = key?.name === column.name
      for (const target of targets) {
        if (target.catalog === table.catalog) continue
        if (!typesCompatible(column.type, target.type)) continue
        if (fromIsKey) {
          const targetName = singular(normalizeName(target.table))
          if (singular(normalizeName(table.table)) === targetName || !name.startsWith(targetName)) continue
        }
        pairs.push({
          from: { ...tableOf(table), column: column.name, type: column.type, kind: typeKind(column.type) },
          to: target,
          fromIsKey,
        })
      }
    }
  }
  return pairs
}

function tableOf(table: InferenceTable) {
  return { catalog: table.catalog, schema: table.schema, table: table.table }
}

function pairEnds(pair: CandidatePair): RelationEnds {
  return {
    from_catalog: pair.from.catalog,
    from_schema: pair.from.schema,
    from_table: pair.from.table,
    from_columns: [pair.from.column],
    to_catalog: pair.to.catalog,
    to_schema: pair.to.schema,
    to_table: pair.to.table,
    to_columns: [pair.to.column],
  }
}

function qualified(table: { catalog: string; schema: string; table: string }): string {
  return [table.catalog, table.schema, table.table].map(quoteIdentifier).join('.')
}

const NUMBER_LITERAL = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/

/** A value as the engine answered it, written back as an SQL literal of its family; undefined when it cannot be. */
function sqlLiteral(value: unknown, kind: TypeKind): string | undefined {
  if (kind === 'number') {
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined
    return text !== undefined && NUMBER_LITERAL.test(text) ? text : undefined
  }
  if (kind === 'text' && typeof value === 'string') return `'${value.replaceAll("'", "''")}'`
  return undefined
}

function columnOf(table: TableDetail, name: string) {
  const column = table.columns.find((candidate) => candidate.name === name)
  if (!column) throw errors.notFound('column', `${table.catalog}.${table.schema}.${table.name}.${name}`)
  return column
}

function describeColumn(end: { catalog: string; schema: string; table: string }, column: string): string {
  return `${end.catalog}.${end.schema}.${end.table}.${column}`
}

export function describeEnds(ends: RelationEnds): string {
  return (
    `${ends.from_catalog}.${ends.from_schema}.${ends.from_table}(${ends.from_columns.join(', ')}) → ` +
    `${ends.to_catalog}.${ends.to_schema}.${ends.to_table}(${ends.to_columns.join(', ')})`
  )
}

function endOf(row: TableRelationRow, side: 'from' | 'to') {
  return side === 'from'
    ? { catalog: row.from_catalog, schema: row.from_schema, table: row.from_table }
    : { catalog: row.to_catalog, schema: row.to_schema, table: row.to_table }
}

function newRelationFrom(row: TableRelationRow): NewRelation {
  return {
    organization_id: row.organization_id,
    project_id: row.project_id,
    name: row.name,
    from_catalog: row.from_catalog,
    from_schema: row.from_schema,
    from_table: row.from_table,
    from_columns: row.from_columns,
    to_catalog: row.to_catalog,
    to_schema: row.to_schema,
    to_table: row.to_table,
    to_columns: row.to_columns,
    type: row.type,
    origin: row.origin,
    confidence: row.confidence,
    description: row.description,
  }
}

export function toRelation(row: TableRelationRow): MetadataRelation {
  return {
    id: row.id,
    name: row.name,
    from: { catalog: row.from_catalog, schema: row.from_schema, table: row.from_table, columns: row.from_columns },
    to: { catalog: row.to_catalog, schema: row.to_schema, table: row.to_table, columns: row.to_columns },
    type: row.type,
    origin: row.origin,
    confidence: row.confidence === null ? null : Number(row.confidence),
    description: row.description,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}
