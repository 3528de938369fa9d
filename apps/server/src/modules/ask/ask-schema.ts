import type { GoldenSql, MetadataRelation, ParameterValue, TableMetadata } from '@tributary/contract'

import type { TenantContext } from '../../auth/principal.js'
import type { GoldenSqlService } from '../golden-sql/golden-sql.service.js'
import type { MetadataService } from '../metadata/metadata.service.js'

/**
 * What a question is answered against: the tables AI may use that the caller may read, with their
 * columns (types, descriptions, categorical values), the relations between them and the project's
 * golden SQL. The pipeline builds it once per question; the offline engine and the prompts read it.
 */
export interface AskSchema {
  tables: readonly TableMetadata[]
  relations: readonly MetadataRelation[]
  golden: readonly GoldenSql[]
  /** "Now" for relative dates ("last year", "this month"); injected so answers are reproducible. */
  now: Date
}

/** The previous turn of a thread, for follow-up questions ("and in Germany only?"). */
export interface PreviousTurn {
  question: string
  sql: string
}

/** A golden SQL entry a question matched, exactly or as a template, with the values its parameters take. */
export interface GoldenMatch {
  golden: GoldenSql
  parameters: Record<string, ParameterValue>
  kind: 'exact' | 'template'
}

export type OfflineAnswer =
  | {
      answered: true
      /** Standalone SQL in the engine's dialect (`catalog.schema.table`), literals inlined and quoted. */
      sql: string
      /** One sentence saying what the SQL computes, in the user's terms. */
      explanation: string
    }
  | {
      answered: false
      /** Names what was not understood ("no table matches 'spaceships'"). */
      reason: string
    }

/** The tables AI may use that the caller may read (a checked caller), their relations, and the golden SQL. */
export async function loadAskSchema(
  sources: { metadata: MetadataService; goldenSql: GoldenSqlService },
  tenant: TenantContext,
  projectId: string,
  now: Date,
): Promise<AskSchema> {
  const [all, golden] = await Promise.all([
    sources.metadata.allTables(tenant, projectId),
    sources.goldenSql.all(tenant, projectId),
  ])
  const tables = all.filter((table) => table.use_with_ai && !table.missing)
  const names = new Set(tables.map(keyOf))
  const relations = new Map<string, MetadataRelation>()
  for (const table of tables) {
    for (const relation of table.relations) {
      if (names.has(keyOf(relation.from)) && names.has(keyOf(relation.to))) relations.set(relation.id, relation)
    }
  }
  return { tables, relations: [...relations.values()], golden, now }
}

function keyOf(table: { catalog: string; schema: string; table: string }): string {
  return JSON.stringify([table.catalog, table.schema, table.table])
}
