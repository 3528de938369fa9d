import type { SourceCatalog, SourceSession } from './connectors/connector.js'
import type { Dialect } from './connectors/dialect.js'
import type { LocalTable } from './local-tables.js'

/** One catalog the query may read: what it contains, and how to reach it. */
export interface CatalogHandle {
  name: string
  /**
   * The name to show in a query's stats when `name` is one the engine made up (a catalog of another
   * project, read through a shared view, as its owner names it).
   */
  label?: string
  catalog: SourceCatalog
  /** Undefined for catalogs with no source behind them (the internal catalog, for now). */
  openSession?: () => Promise<SourceSession>
  /** Set when the source runs whole subqueries in this dialect (`SourceSession.query`). */
  pushdownDialect?: Dialect | undefined
  /** For catalogs whose tables are the platform's own DuckDB files (internal): attached, not scanned. */
  localTables?: (schema: string, table: string) => LocalTable | undefined
  /**
   * Tables of this catalog that are queries (saved queries, semantic tables): the engine inlines
   * each one where it is named. Names match case-insensitively; undefined for a table that is no view.
   */
  views?: (schema: string, table: string) => ViewDefinition | undefined
  /**
   * Set when the catalog's tables are another project's own (a dataset another organization shares):
   * that project's policies apply to them, as it names them there (`catalog`, same schema and table).
   */
  policyOwner?: PolicyOwner
}

/** Whose policies apply to a table: a project (of another organization, when `organizationId` is set). */
export interface AccessScope {
  projectId: string
  organizationId?: string
}

export interface PolicyOwner extends Required<AccessScope> {
  catalog: string
}

/** A table defined by a query over other catalogs. */
export interface ViewDefinition {
  /** One read-only query; `{{parameters}}` already bound (values written in). */
  sql: string
  /**
   * The project whose catalogs the SQL names, when it is not the querying project's (a catalog
   * shared by another project). Unset: the catalogs are those of the view that names it, or the
   * query's own.
   */
  scope?: string
  /** Set when the view cannot be read as it stands (a parameter with no value): the query fails with it. */
  error?: string
}
