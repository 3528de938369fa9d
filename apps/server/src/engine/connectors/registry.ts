import type { SourceType } from '@tributary/contract'

import type { Connector } from './connector.js'
import { filesConnector } from './files/files-connector.js'
import { mysqlConnector } from './mysql/mysql-connector.js'
import { postgresqlConnector } from './postgresql/postgresql-connector.js'
import { sqliteConnector } from './sqlite/sqlite-connector.js'

// Keyed by the contract's SourceType, so that a type without a connector does not compile.
const BY_TYPE = {
  postgresql: postgresqlConnector,
  mysql: mysqlConnector,
  sqlite: sqliteConnector,
  files: filesConnector,
} satisfies Record<SourceType, { type: SourceType }>

/** Every source type the platform can connect to. */
export const CONNECTORS: readonly Connector<never>[] = Object.values(BY_TYPE) as unknown as readonly Connector<never>[]

export function findConnector(type: string): Connector<unknown> | undefined {
  return CONNECTORS.find((connector) => connector.type === type)
}
