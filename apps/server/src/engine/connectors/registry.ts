import type { Connector } from './connector.js'
import { filesConnector } from './files/files-connector.js'
import { mysqlConnector } from './mysql/mysql-connector.js'
import { postgresqlConnector } from './postgresql/postgresql-connector.js'
import { sqliteConnector } from './sqlite/sqlite-connector.js'

/** Every source type the platform can connect to. */
export const CONNECTORS: readonly Connector<never>[] = [
  postgresqlConnector,
  mysqlConnector,
  sqliteConnector,
  filesConnector,
] as unknown as readonly Connector<never>[]

export function findConnector(type: string): Connector<unknown> | undefined {
  return CONNECTORS.find((connector) => connector.type === type)
}
