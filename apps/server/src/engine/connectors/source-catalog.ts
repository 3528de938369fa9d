/** A column as the platform sees it: its DuckDB type, and the type the source declared. */
export interface SourceColumn {
  name: string
  /** A DuckDB type name: `BIGINT`, `VARCHAR`, `DECIMAL(10,2)`, `TIMESTAMPTZ`, … */
  type: string
  nullable: boolean
  /** The type as the source spells it, e.g. `character varying(120)` or `tinyint(3) unsigned`. */
  source_type: string
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
