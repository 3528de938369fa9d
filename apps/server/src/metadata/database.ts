import { mkdirSync } from 'node:fs'
import path from 'node:path'

import { PGlite } from '@electric-sql/pglite'
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from 'kysely'
import pg from 'pg'

import * as foundation from './migrations/0001-foundation.js'
import * as connections from './migrations/0002-connections.js'
import * as sessionRevocation from './migrations/0003-session-revocation.js'
import * as jobs from './migrations/0004-jobs.js'
import * as datasets from './migrations/0005-datasets.js'
import * as savedQueries from './migrations/0006-saved-queries.js'
import * as exportsMigration from './migrations/0007-exports.js'
import * as exportCodecs from './migrations/0008-export-codecs.js'
import * as metadataMigration from './migrations/0009-metadata.js'
import * as goldenSqlMigration from './migrations/0010-golden-sql.js'
import * as semanticCatalogsMigration from './migrations/0011-semantic-catalogs.js'
import * as schedulerMigration from './migrations/0012-scheduler.js'
import * as cachesMigration from './migrations/0013-caches.js'
import * as materializedQueriesMigration from './migrations/0014-materialized-queries.js'
import * as aiMigration from './migrations/0015-ai.js'
import * as askThreadsMigration from './migrations/0016-ask-threads.js'
import * as agentsMigration from './migrations/0017-agents.js'
import * as dashboardsMigration from './migrations/0018-dashboards.js'
import * as credentialsMigration from './migrations/0019-credentials.js'
import * as workflowsMigration from './migrations/0020-workflows.js'
import * as webhooksMigration from './migrations/0021-webhooks.js'
import * as quotasMigration from './migrations/0022-quotas.js'
import * as approvalsMigration from './migrations/0023-approvals.js'
import * as accessPoliciesMigration from './migrations/0024-access-policies.js'
import { PGliteDialect } from './pglite-dialect.js'
import { namingPool } from './prepared.js'
import type { Database } from './schema.js'

export type MetadataDb = Kysely<Database>

export interface MetadataStoreOptions {
  /** A PostgreSQL URL; without one the store is PGlite in `dataDir` (or in memory when that is absent too). */
  databaseUrl?: string | undefined
  dataDir?: string | undefined
  poolSize?: number
  /** Start PGlite from a dump of a data directory (`PGlite.dumpDataDir`); tests use a pre-migrated one. */
  pgliteSnapshot?: Blob | undefined
}

export interface MetadataStore {
  db: MetadataDb
  kind: 'postgres' | 'pglite'
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * Every change to the metadata schema, in order, each named with the module that owns what it
 * changes (`platform` is the shared tenancy tables and the job queue). A new module appends its
 * migrations here. Names are recorded by every store that ran them: never rename one.
 */
const MIGRATIONS: readonly { module: string; name: string; migration: Migration }[] = [
  { module: 'platform', name: '0001-foundation', migration: foundation },
  { module: 'connections', name: '0002-connections', migration: connections },
  { module: 'users', name: '0003-session-revocation', migration: sessionRevocation },
  { module: 'platform', name: '0004-jobs', migration: jobs },
  { module: 'datasets', name: '0005-datasets', migration: datasets },
  { module: 'savedQueries', name: '0006-saved-queries', migration: savedQueries },
  { module: 'exports', name: '0007-exports', migration: exportsMigration },
  { module: 'exports', name: '0008-export-codecs', migration: exportCodecs },
  { module: 'metadata', name: '0009-metadata', migration: metadataMigration },
  { module: 'goldenSql', name: '0010-golden-sql', migration: goldenSqlMigration },
  { module: 'semanticCatalogs', name: '0011-semantic-catalogs', migration: semanticCatalogsMigration },
  { module: 'platform', name: '0012-scheduler', migration: schedulerMigration },
  { module: 'caches', name: '0013-caches', migration: cachesMigration },
  { module: 'materializedQueries', name: '0014-materialized-queries', migration: materializedQueriesMigration },
  { module: 'ai', name: '0015-ai', migration: aiMigration },
  { module: 'ask', name: '0016-ask-threads', migration: askThreadsMigration },
  { module: 'agents', name: '0017-agents', migration: agentsMigration },
  { module: 'dashboards', name: '0018-dashboards', migration: dashboardsMigration },
  { module: 'credentials', name: '0019-credentials', migration: credentialsMigration },
  { module: 'workflows', name: '0020-workflows', migration: workflowsMigration },
  { module: 'webhooks', name: '0021-webhooks', migration: webhooksMigration },
  { module: 'quotas', name: '0022-quotas', migration: quotasMigration },
  { module: 'approvals', name: '0023-approvals', migration: approvalsMigration },
  { module: 'accessPolicies', name: '0024-access-policies', migration: accessPoliciesMigration },
]

const migrations: Record<string, Migration> = Object.fromEntries(
  MIGRATIONS.map((entry) => [entry.name, entry.migration]),
)

const migrationProvider: MigrationProvider = { getMigrations: async () => migrations }

// node-postgres would turn timestamps into Dates in local time and int8 into strings; keep int8
// exact as a string but make it explicit here, once, for every pool.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value)

/** Opens the metadata store and brings its schema up to date. */
export async function openMetadataStore(options: MetadataStoreOptions): Promise<MetadataStore> {
  let db: MetadataDb
  let kind: MetadataStore['kind']
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 })
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: namingPool(pool) }) })
    kind = 'postgres'
  } else {
    let dir: string | undefined
    if (options.dataDir) {
      dir = path.join(options.dataDir, 'metadata')
      mkdirSync(dir, { recursive: true })
    }
    // The one-argument form: `new PGlite(undefined, options)` silently ignores the options.
    const pglite = new PGlite({
      ...(dir ? { dataDir: dir } : {}),
      ...(options.pgliteSnapshot ? { loadDataDir: options.pgliteSnapshot } : {}),
    })
    db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
    kind = 'pglite'
  }

  try {
    await migrateToLatest(db)
  } catch (error) {
    await db.destroy()
    throw error
  }

  return {
    db,
    kind,
    ping: async () => {
      await sql`select 1`.execute(db)
    },
    close: () => db.destroy(),
  }
}

export async function migrateToLatest<T>(db: Kysely<T>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((result) => result.status === 'Error')
  if (error || failed) {
    throw new Error(`metadata migration ${failed?.migrationName ?? ''} failed`, { cause: error })
  }
}
