import { PGlite } from '@electric-sql/pglite'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'

import { newId } from '../../lib/ids.js'
import { PGliteDialect } from '../pglite-dialect.js'
import * as foundation from './0001-foundation.js'
import * as connections from './0002-connections.js'
import * as sessionRevocation from './0003-session-revocation.js'
import * as jobs from './0004-jobs.js'
import * as datasets from './0005-datasets.js'
import * as savedQueries from './0006-saved-queries.js'
import * as exportsMigration from './0007-exports.js'
import * as exportCodecs from './0008-export-codecs.js'
import * as metadata from './0009-metadata.js'
import * as goldenSql from './0010-golden-sql.js'
import * as semanticCatalogs from './0011-semantic-catalogs.js'
import * as scheduler from './0012-scheduler.js'

/**
 * Migration 0012 moves categorical values onto the one scheduler: a store as 0011 left it, with
 * categorical schedules in both forms (an ISO duration, a cron expression) and one computed once,
 * comes out with the same schedules on the scheduler, their due times and callers kept.
 */

const BEFORE = [
  foundation,
  connections,
  sessionRevocation,
  jobs,
  datasets,
  savedQueries,
  exportsMigration,
  exportCodecs,
  metadata,
  goldenSql,
  semanticCatalogs,
]

let db: Kysely<unknown>
beforeAll(async () => {
  db = new Kysely<unknown>({ dialect: new PGliteDialect(new PGlite()) })
  for (const migration of BEFORE) await migration.up(db)
})
afterAll(() => db.destroy())

interface ScheduleRow {
  id: string
  organization_id: string
  project_id: string
  task: string
  key: string
  schedule: unknown
  payload: unknown
  created_by: unknown
  next_run_at: Date | null
  queue: string | null
}

it('copies the categorical schedules onto the scheduler, with their due times and callers', async () => {
  const organization = newId()
  const workspace = newId()
  const project = newId()
  await sql`insert into organizations (id, name) values (${organization}, 'Org')`.execute(db)
  await sql`insert into workspaces (id, organization_id, name, is_default)
    values (${workspace}, ${organization}, 'Default', true)`.execute(db)
  await sql`insert into projects (id, organization_id, workspace_id, name)
    values (${project}, ${organization}, ${workspace}, 'Project')`.execute(db)
  const caller = { principal: { kind: 'organization', organizationId: organization }, request_id: 'r1' }
  const due = new Date('2026-12-06T03:00:00Z')
  const rows = [
    { id: newId(), column: 'daily', refresh: ' p1d ', next: due },
    { id: newId(), column: 'nightly', refresh: '0 3 * * *', next: due },
    { id: newId(), column: 'once', refresh: null, next: null },
  ]
  for (const row of rows) {
    await sql`insert into categorical_schedules
      (id, organization_id, project_id, catalog, schema_name, table_name, column_name, value_limit, refresh,
       next_run_at, created_by)
      values (${row.id}, ${organization}, ${project}, 'pg', 'public', 'orders', ${row.column}, 10, ${row.refresh},
       ${row.next}, ${JSON.stringify(caller)}::jsonb)`.execute(db)
  }

  await scheduler.up(db)

  const moved = await sql<ScheduleRow>`select * from schedules order by key`.execute(db)
  const expected = [
    { row: rows[0]!, schedule: { type: 'interval', every: 'P1D' } },
    { row: rows[1]!, schedule: { type: 'cron', cron: '0 3 * * *', timezone: 'UTC' } },
  ].sort((a, b) => a.row.id.localeCompare(b.row.id))
  expect(moved.rows).toEqual(
    expected.map(({ row, schedule }) => ({
      id: row.id,
      organization_id: organization,
      project_id: project,
      task: 'metadata.categorical',
      key: row.id,
      schedule,
      payload: { categorical_id: row.id },
      created_by: caller,
      next_run_at: due,
      // Any server's: these schedules were made before queues had names.
      queue: null,
      created_at: expect.any(Date),
      updated_at: expect.any(Date),
    })),
  )
  // The schedules keep only what to compute; when is the scheduler's business now.
  const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns
    where table_name = 'categorical_schedules'`.execute(db)
  expect(columns.rows.map((column) => column.column_name)).not.toContain('next_run_at')
  const kept = await sql<{ n: number }>`select count(*)::int as n from categorical_schedules`.execute(db)
  expect(kept.rows[0]!.n).toBe(3)
})
