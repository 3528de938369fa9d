import Database from 'better-sqlite3'
import { z } from 'zod'

import { SourceError, type Connector, type SourceColumn, type SourceTable } from '../connector.js'
import { confinePath } from '../file-paths.js'
import { sqliteDialect } from './sqlite-dialect.js'
import { sqliteKeys } from './sqlite-keys.js'
import { sqliteQuery, sqliteScan } from './sqlite-scan.js'

export const SqliteConfig = z.strictObject({
  path: z.string().min(1, 'must not be empty').max(4096),
})
export type SqliteConfig = z.infer<typeof SqliteConfig>

/** A SQLite database file, read-only. It has one schema, `main`. */
export const sqliteConnector: Connector<SqliteConfig> = {
  type: 'sqlite',
  displayName: 'SQLite',
  category: 'database',
  configSchema: SqliteConfig,
  secretFields: [],
  pushdownDialect: sqliteDialect,
  async checkConfig(config, context) {
    await confinePath(config.path, context.fileRoots)
  },
  async connect(config, context) {
    const file = await confinePath(config.path, context.fileRoots)
    let db: Database.Database
    try {
      db = new Database(file, { readonly: true, fileMustExist: true })
      db.pragma('query_only = true')
      db.prepare('select count(*) from sqlite_schema').get()
    } catch (error) {
      throw new SourceError(`cannot open ${config.path} as a SQLite database: ${(error as Error).message}`)
    }
    return {
      async introspect() {
        const objects = db
          .prepare(
            "select name, type from sqlite_schema where type in ('table', 'view') and name not like 'sqlite_%' order by name",
          )
          .all() as { name: string; type: 'table' | 'view' }[]
        const tables: SourceTable[] = objects.map((object) => ({
          name: object.name,
          kind: object.type,
          columns: (
            db
              .prepare('select name, type, "notnull" as not_null, pk from pragma_table_xinfo(?) where hidden = 0')
              .all(object.name) as { name: string; type: string; not_null: number; pk: number }[]
          ).map((column): SourceColumn => ({
            name: column.name,
            type: sqliteToDuckDb(column.type),
            nullable: column.not_null === 0 && column.pk === 0,
            source_type: column.type,
          })),
        }))
        return { schemas: [{ name: 'main', tables }] }
      },
      async describeKeys() {
        try {
          return sqliteKeys(db)
        } catch (error) {
          throw new SourceError(`cannot read the keys of ${config.path}: ${(error as Error).message}`)
        }
      },
      scan(request, sink, signal) {
        return sqliteScan(file, request, sink, signal)
      },
      query(request, sink, signal) {
        return sqliteQuery(file, request, sink, signal)
      },
      async close() {
        db.close()
      },
    }
  },
}

/**
 * SQLite stores any value in any column; the declared type only suggests an affinity
 * (sqlite.org/datatype3.html §3.1). We follow those rules, and read declared dates as timestamps
 * because that is how applications (Chinook among them) use them.
 */
export function sqliteToDuckDb(declared: string): string {
  const type = declared.toUpperCase()
  const decimal = /^(?:NUMERIC|DECIMAL)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/.exec(type)
  if (decimal) {
    const precision = Number(decimal[1])
    const scale = Number(decimal[2] ?? 0)
    return precision >= 1 && precision <= 38 && scale <= precision ? `DECIMAL(${precision},${scale})` : 'DOUBLE'
  }
  if (type.includes('INT')) return 'BIGINT'
  if (/CHAR|CLOB|TEXT/.test(type)) return 'VARCHAR'
  if (type.includes('BLOB')) return 'BLOB'
  if (/REAL|FLOA|DOUB/.test(type)) return 'DOUBLE'
  if (/BOOL/.test(type)) return 'BOOLEAN'
  if (/^DATE$/.test(type)) return 'DATE'
  if (/DATETIME|TIMESTAMP/.test(type)) return 'TIMESTAMP'
  if (type === '') return 'VARCHAR'
  return 'DOUBLE'
}
