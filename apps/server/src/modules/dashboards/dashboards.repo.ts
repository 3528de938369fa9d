import type { Selectable } from 'kysely'
import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { DashboardsTable, StoredWidget, StoredWidgetResult } from '../../metadata/dashboards-schema.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { StoredSchedule } from '../../metadata/schema.js'
import { DASHBOARD_REFRESH_TASK } from './widgets.js'

export type DashboardRow = Selectable<DashboardsTable>

/** A dashboard with the next due time of its refresh schedule, read in the same query. */
export type ScheduledDashboard = DashboardRow & { next_refresh_at: Date | null }

export interface NewDashboard {
  organization_id: string
  project_id: string
  name: string
  description: string | null
  widgets: StoredWidget[]
  refresh: StoredSchedule
  computed_as: Record<string, unknown>
}

export interface DashboardChanges {
  name?: string
  description?: string | null
  widgets?: StoredWidget[]
  refresh?: StoredSchedule
  computed_as: Record<string, unknown>
}

/** Which result of a widget is cached, without reading the result itself. */
export interface ResultStamp {
  widget_id: string
  source_key: string
  computed_at: Date
}

export class DashboardsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewDashboard): Promise<DashboardRow> {
    return this.db
      .insertInto('dashboards')
      .values({
        id: newId(),
        ...values,
        widgets: JSON.stringify(values.widgets),
        refresh: JSON.stringify(values.refresh),
        computed_as: JSON.stringify(values.computed_as),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async find(organizationId: string, projectId: string, id: string): Promise<ScheduledDashboard | undefined> {
    return this.#live(organizationId, projectId).where('dashboards.id', '=', id).executeTakeFirst()
  }

  /** A live dashboard by id alone: for its scheduled refresh, whose job carries no tenant to check. */
  async findLive(id: string): Promise<DashboardRow | undefined> {
    return this.db
      .selectFrom('dashboards')
      .selectAll()
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
  }

  async list(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    let query = this.#live(organizationId, projectId)
    if (after) query = query.where('dashboards.id', '>', after)
    return query
      .orderBy('dashboards.id')
      .limit(limit + 1)
      .execute()
  }

  async update(id: string, changes: DashboardChanges): Promise<DashboardRow | undefined> {
    return this.db
      .updateTable('dashboards')
      .set({
        ...(changes.name === undefined ? {} : { name: changes.name }),
        ...(changes.description === undefined ? {} : { description: changes.description }),
        ...(changes.widgets === undefined ? {} : { widgets: JSON.stringify(changes.widgets) }),
        ...(changes.refresh === undefined ? {} : { refresh: JSON.stringify(changes.refresh) }),
        computed_as: JSON.stringify(changes.computed_as),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  async archive(id: string): Promise<boolean> {
    const archived = await this.db
      .updateTable('dashboards')
      .set({ archived_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returning('id')
      .executeTakeFirst()
    if (archived) await this.db.deleteFrom('dashboard_widget_results').where('dashboard_id', '=', id).execute()
    return archived !== undefined
  }

  /** Drops the results of widgets a dashboard no longer has. */
  async keepResults(dashboardId: string, widgetIds: readonly string[]): Promise<void> {
    let query = this.db.deleteFrom('dashboard_widget_results').where('dashboard_id', '=', dashboardId)
    if (widgetIds.length > 0) query = query.where('widget_id', 'not in', widgetIds)
    await query.execute()
  }

  async stamps(dashboardId: string): Promise<ResultStamp[]> {
    return this.db
      .selectFrom('dashboard_widget_results')
      .select(['widget_id', 'source_key', 'computed_at'])
      .where('dashboard_id', '=', dashboardId)
      .execute()
  }

  async results(
    dashboardId: string,
    widgetIds: readonly string[],
  ): Promise<(ResultStamp & { result: StoredWidgetResult })[]> {
    if (widgetIds.length === 0) return []
    return this.db
      .selectFrom('dashboard_widget_results')
      .select(['widget_id', 'source_key', 'computed_at', 'result'])
      .where('dashboard_id', '=', dashboardId)
      .where('widget_id', 'in', widgetIds)
      .execute()
  }

  /** Stores a result unless one computed later is there already (two refreshes that overlap). */
  async putResult(
    dashboardId: string,
    widgetId: string,
    sourceKey: string,
    result: StoredWidgetResult,
    computedAt: Date,
  ): Promise<void> {
    const values = { source_key: sourceKey, result: JSON.stringify(result), computed_at: computedAt }
    await this.db
      .insertInto('dashboard_widget_results')
      .values({ dashboard_id: dashboardId, widget_id: widgetId, ...values })
      .onConflict((conflict) =>
        conflict
          .columns(['dashboard_id', 'widget_id'])
          .doUpdateSet(values)
          .where('dashboard_widget_results.computed_at', '<=', computedAt),
      )
      .execute()
  }

  /**
   * Live dashboards of a project with their schedule's next due time: opening a dashboard is on the
   * hot path, and the scheduler's own `get` would cost three more queries for that one column.
   */
  #live(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('dashboards')
      .leftJoin('schedules', (join) =>
        join
          .onRef('schedules.key', '=', sql<string>`dashboards.id::text`)
          .on('schedules.task', '=', DASHBOARD_REFRESH_TASK),
      )
      .selectAll('dashboards')
      .select('schedules.next_run_at as next_refresh_at')
      .where('dashboards.organization_id', '=', organizationId)
      .where('dashboards.project_id', '=', projectId)
      .where('dashboards.archived_at', 'is', null)
  }
}
