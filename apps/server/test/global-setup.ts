import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { PGlite } from '@electric-sql/pglite'
import { Kysely } from 'kysely'

import pg from 'pg'
import type { TestProject } from 'vitest/node'

import { migrateToLatest } from '../src/metadata/database.js'
import { PGliteDialect } from '../src/metadata/pglite-dialect.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A throwaway database for this run, or null when PostgreSQL is not reachable. */
    postgresUrl: string | null
    postgresSkipReason: string | null
    /** A migrated PGlite data directory, dumped: each test app starts from it in about a second. */
    pgliteSnapshotPath: string
  }
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * Creates one throwaway PostgreSQL database per test run and drops it afterwards. Without a
 * reachable server the PostgreSQL suites skip with the reason, unless REQUIRE_SERVICES=1.
 */
export default async function setup(project: TestProject) {
  const snapshotDir = await mkdtemp(path.join(tmpdir(), 'tributary-pglite-'))
  project.provide('pgliteSnapshotPath', await createPgliteSnapshot(snapshotDir))
  const postgresTeardown = await setupPostgres(project)
  return async () => {
    await postgresTeardown?.()
    await rm(snapshotDir, { recursive: true, force: true })
  }
}

async function createPgliteSnapshot(dir: string): Promise<string> {
  const pglite = new PGlite()
  const db = new Kysely<unknown>({ dialect: new PGliteDialect(pglite) })
  await migrateToLatest(db)
  const dump = await pglite.dumpDataDir('none')
  await db.destroy()
  const file = path.join(dir, 'metadata.tar')
  await writeFile(file, Buffer.from(await dump.arrayBuffer()))
  return file
}

async function setupPostgres(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const adminUrl = process.env.TEST_DATABASE_URL || DEFAULT_URL
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 })
  try {
    await admin.connect()
  } catch (error) {
    const reason = `PostgreSQL at ${redact(adminUrl)} is not reachable (${(error as Error).message})`
    if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${reason}`)
    console.warn(`\n[tests] skipping PostgreSQL suites: ${reason}\n`)
    project.provide('postgresUrl', null)
    project.provide('postgresSkipReason', reason)
    return undefined
  }

  const database = `tributary_test_${Date.now()}_${randomBytes(3).toString('hex')}`
  await admin.query(`create database ${database}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  project.provide('postgresUrl', url.toString())
  project.provide('postgresSkipReason', null)

  return async () => {
    const cleanup = new pg.Client({ connectionString: adminUrl })
    await cleanup.connect()
    await cleanup.query(`drop database if exists ${database} with (force)`)
    await cleanup.end()
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'TEST_DATABASE_URL'
  }
}
