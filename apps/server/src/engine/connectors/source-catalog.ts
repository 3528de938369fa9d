/** A column as the platform sees it: its DuckDB type, and the type the source declared. */
export interface SourceColumn {
  name: string
  /** A DuckDB type name: `BIGINT`, `VARCHAR`, `DECIMAL(10,2)`, `TIMESTAMPTZ`, … */
  type: string
  nullable: boolean
  /** The type as the source spells it, e.g. `character varying(120)` or `tinyint(3) unsigned`. */
  source_type: string
  /** What the catalog says the column means (semantic tables: from their saved query). */
  description?: string | null
  /** The source columns it is computed from (semantic tables, views). */
  lineage?: { catalog: string; schema: string; table: string; column: string }[]
}

export interface SourceTable {
  name: string
  kind: 'table' | 'view'
  columns: SourceColumn[]
}

export interface SourceSchema {
  name: string
  tables: SourceTable[]
}

/** Everything a source exposes, read in as few round trips as the source allows. */
export interface SourceCatalog {
  schemas: SourceSchema[]
}

/**
 * A source's keys and table sizes, for the whole source in one round trip per kind. Names are spelled as
 * `SourceCatalog` spells them, and only tables the catalog lists appear.
 */
export interface SourceKeys {
  primaryKeys: { schema: string; table: string; columns: string[] }[]
  /** Columns in key order: `columns[i]` references `references.columns[i]`. */
  foreignKeys: {
    name: string | null
    schema: string
    table: string
    columns: string[]
    references: { schema: string; table: string; columns: string[] }
  }[]
  /** Estimates from the source's statistics (pg_class.reltuples, information_schema.TABLES.TABLE_ROWS, SQLite: count or sqlite_stat1); null when unknown. */
  rowEstimates: { schema: string; table: string; rows: number | null }[]
}
