import type { SourceCatalog, SourceSession } from './connectors/connector.js'
import type { Dialect } from './connectors/dialect.js'
import type { LocalTable } from './local-tables.js'

/** One catalog the query may read: what it contains, and how to reach it. */
export interface CatalogHandle {
  name: string
  catalog: SourceCatalog
  /** Undefined for catalogs with no source behind them (the internal catalog, for now). */
  openSession?: () => Promise<SourceSession>
  /** Set when the source runs whole subqueries in this dialect (`SourceSession.query`). */
  pushdownDialect?: Dialect | undefined
  /** For catalogs whose tables are the platform's own DuckDB files (internal): attached, not scanned. */
  localTables?: (schema: string, table: string) => LocalTable | undefined
}
