import type { GoldenSql, MetadataRelation, ParameterValue, TableMetadata } from '@tributary/contract'

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
