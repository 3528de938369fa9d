import type {
  CreateDashboardParsed,
  Dashboard,
  DashboardSummary,
  ListQuery,
  Page,
  UpdateDashboardParsed,
  WidgetData,
  WidgetDataResponse,
  WidgetInputParsed,
} from '@tributary/contract'

import { requireTenant } from '../../auth/access.js'
import type { Principal, RequestContext, TenantContext } from '../../auth/principal.js'
import type { QueryParameter } from '../../engine/sql-text.js'
import type { JobHandler } from '../../jobs/queue.js'
import { errors, isAppError } from '../../lib/errors.js'
import { newId } from '../../lib/ids.js'
import type { Logger } from '../../lib/logger.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { StoredWidget, StoredWidgetResult } from '../../metadata/dashboards-schema.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { StoredSchedule } from '../../metadata/schema.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { ScheduledPayload, Scheduler } from '../../scheduler/scheduler.js'
import type { AskService } from '../ask/ask.service.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import type { SavedQueriesService } from '../saved-queries/saved-queries.service.js'
import type { SqlService } from '../sql/sql.service.js'
import { widgetErrorOf, withinWidget } from './dashboards.errors.js'
import { type DashboardRow, DashboardsRepo, type ScheduledDashboard } from './dashboards.repo.js'
import {
  checkConfig,
  DASHBOARD_REFRESH_TASK,
  type DataWidget,
  isDataWidget,
  Lru,
  rowCapOf,
  sourceKeyOf,
} from './widgets.js'

/** How long one widget's query may run. */
const WIDGET_TIMEOUT_MS = 60_000

/** Widgets computed at once for one dashboard: the engine is shared with every other query. */
const COMPUTE_CONCURRENCY = 4

/** Results kept in process, in front of the metadata database. */
const RESULT_CACHE_ENTRIES = 500

const NO_SCHEDULE: StoredSchedule = { type: 'none' }

interface RefreshPayload extends Partial<ScheduledPayload> {
  dashboard_id: string
}

/** A cached result as this process holds it: valid while the stored row still has this `computed_at`. */
/** A caller whose policies differ from the dashboard author's, and the key of those policies. */
interface OwnViewer {
  context: TenantContext
  key: string
}

const viewerKeyOf = (viewer: OwnViewer, widget: DataWidget) => `${viewer.key}\u0000${widget.id}`

interface HeldResult {
  sourceKey: string
  computedAt: number
  result: StoredWidgetResult
  /** The widget's `data` as JSON text, made once per result: serializing rows is most of an open's cost. */
  json?: string
}

export interface DashboardsDependencies {
  projects: ProjectsService
  audit: AuditService
  sql: SqlService
  savedQueries: SavedQueriesService
  ask: AskService
  scheduler: Scheduler
}

/**
 * Dashboards (issue 14): widgets that draw the result of a saved query, SQL or a question, each
 * result cached in the metadata database and recomputed on the dashboard's schedule, on `refresh`,
 * or when it is missing. Widgets compute as the caller of the dashboard's last save (whose access
 * was checked then, and is again by every query): everyone who may open the dashboard sees the same
 * data, and the scheduled refresh has someone to run as. A question is turned into SQL once, at
 * save, so that refreshes rerun that SQL.
 *
 * An in-process LRU holds results keyed by widget and `computed_at`: opening a dashboard reads the
 * stamps (widget, definition, `computed_at`) from the database and the result JSON only of widgets
 * this process does not hold at that stamp, so that a refresh done by another server is seen at once.
 */
export class DashboardsService {
  readonly #held = new Lru<string, HeldResult>(RESULT_CACHE_ENTRIES)
  /** Results computed for viewers of their own (see #ownViewer), by their policies' key and widget. */
  readonly #viewerHeld = new Lru<string, HeldResult>(RESULT_CACHE_ENTRIES)

  constructor(
    private readonly db: MetadataDb,
    private readonly deps: DashboardsDependencies,
    private readonly logger: Logger,
  ) {}

  readonly jobHandler: JobHandler<RefreshPayload> = {
    kind: DASHBOARD_REFRESH_TASK,
    // One run recomputes every widget; the next occurrence is the retry.
    retryable: false,
    run: async (job) => {
      const row = await new DashboardsRepo(this.db).findLive(job.payload.dashboard_id)
      if (!row) return { widgets: 0, skipped: 'the dashboard was deleted' }
      const results = await this.#computeAll(row, row.widgets.filter(isDataWidget))
      return { widgets: results.length, failed: results.filter((held) => held.result.error).length }
    },
  }

  async create(ctx: RequestContext, projectId: string, input: CreateDashboardParsed): Promise<Dashboard> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: 'dashboards' })
    const widgets = await this.#prepare(ctx, projectId, input.widgets, [])
    const row = await this.db.transaction().execute(async (trx) => {
      const created = await new DashboardsRepo(trx).insert({
        organization_id: tenant.principal.organizationId,
        project_id: projectId,
        name: input.name,
        description: input.description ?? null,
        widgets,
        refresh: input.refresh ?? NO_SCHEDULE,
        computed_as: computedAsOf(ctx),
      })
      const scheduled = await this.#putSchedule(trx, ctx, created)
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dashboard', {
        action: 'dashboard.create',
        id: created.id,
        details: { project_id: projectId, name: created.name, widgets: widgets.length },
      })
      return scheduled
    })
    return this.#toDashboard(row, new Map())
  }

  async list(ctx: RequestContext, projectId: string, query: ListQuery): Promise<Page<DashboardSummary>> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'dashboards' })
    const rows = await new DashboardsRepo(this.db).list(
      tenant.principal.organizationId,
      projectId,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, (row) => ({ ...summaryOf(row), widget_count: row.widgets.length }))
  }

  /**
   * The configuration and every widget's data, as JSON text (`Dashboard`): cached results, and the
   * missing ones computed now. Text rather than an object so that each result is serialized once
   * and then spliced in, however often the dashboard is opened.
   */
  async open(ctx: RequestContext, projectId: string, id: string): Promise<string> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'dashboards' })
    const row = await this.#find(tenant, projectId, id)
    const widgets = row.widgets.filter(isDataWidget)
    const viewer = await this.#ownViewer(tenant, row)
    const cached = viewer ? await this.#viewerCached(row, widgets, viewer) : await this.#cached(row, widgets)
    const missing = widgets.filter((widget) => !cached.has(widget.id))
    for (const held of await this.#computeAll(row, missing, viewer)) cached.set(held.widgetId, held)
    const parts = row.widgets.map((widget) => {
      const held = cached.get(widget.id)
      return spliceJson(
        JSON.stringify(widget),
        'data',
        held ? (held.json ??= JSON.stringify(toWidgetData(held))) : 'null',
      )
    })
    return spliceJson(JSON.stringify(summaryOf(row)), 'widgets', `[${parts.join(',')}]`)
  }

  async update(ctx: RequestContext, projectId: string, id: string, input: UpdateDashboardParsed): Promise<Dashboard> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: 'dashboards' })
    const current = await this.#find(tenant, projectId, id)
    const widgets = input.widgets && (await this.#prepare(ctx, projectId, input.widgets, current.widgets))
    const row = await this.db.transaction().execute(async (trx) => {
      const repo = new DashboardsRepo(trx)
      const changed = await repo.update(id, {
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(widgets === undefined ? {} : { widgets }),
        ...(input.refresh === undefined ? {} : { refresh: input.refresh }),
        computed_as: computedAsOf(ctx),
      })
      if (!changed) throw errors.notFound('dashboard', id)
      if (widgets)
        await repo.keepResults(
          id,
          widgets.map((widget) => widget.id),
        )
      // Also when only the widgets changed: the schedule's job acts as the caller of the last save.
      const scheduled = await this.#putSchedule(trx, ctx, changed)
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dashboard', {
        action: 'dashboard.update',
        id,
        details: { fields: Object.keys(input) },
      })
      return scheduled
    })
    return this.#toDashboard(row, await this.#cached(row, row.widgets.filter(isDataWidget)))
  }

  async delete(ctx: RequestContext, projectId: string, id: string): Promise<void> {
    const tenant = await this.deps.projects.require(ctx, projectId, { write: 'dashboards' })
    await this.#find(tenant, projectId, id)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new DashboardsRepo(trx).archive(id))) throw errors.notFound('dashboard', id)
      await this.deps.scheduler.remove(trx, DASHBOARD_REFRESH_TASK, id)
      await this.deps.audit.recordTenantWrite(trx, ctx, tenant.principal, 'dashboard', {
        action: 'dashboard.delete',
        id,
        details: { project_id: projectId },
      })
    })
  }

  /** Recomputes every widget now and returns the dashboard with the new data. */
  async refresh(ctx: RequestContext, projectId: string, id: string): Promise<Dashboard> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'dashboards' })
    const row = await this.#find(tenant, projectId, id)
    const viewer = await this.#ownViewer(tenant, row)
    const computed = await this.#computeAll(row, row.widgets.filter(isDataWidget), viewer)
    return this.#toDashboard(row, new Map(computed.map((held) => [held.widgetId, held])))
  }

  /** One widget's data: the cached result (computed when missing), or a new one with `refresh`. */
  async widgetData(
    ctx: RequestContext,
    projectId: string,
    id: string,
    widgetId: string,
    refresh: boolean,
  ): Promise<WidgetDataResponse> {
    const tenant = await this.deps.projects.require(ctx, projectId, { use: 'dashboards' })
    const row = await this.#find(tenant, projectId, id)
    const widget = row.widgets.find((candidate) => candidate.id === widgetId)
    if (!widget) throw errors.notFound('widget', widgetId)
    if (!isDataWidget(widget)) throw errors.validation(`widget ${widgetId} is a text widget: it has no data`)
    const viewer = await this.#ownViewer(tenant, row)
    const held = refresh
      ? undefined
      : (viewer ? await this.#viewerCached(row, [widget], viewer) : await this.#cached(row, [widget])).get(widget.id)
    const data = held ?? (await this.#computeAll(row, [widget], viewer))[0]!
    return { widget_id: widgetId, ...toWidgetData(data) }
  }

  /**
   * Checks the widgets and pins what they run: each one's columns are found without reading data
   * and `config` is checked against them; a question is turned into SQL unless the same widget
   * already had it answered. Throws a 422 naming the place (`widgets.2.config.y`).
   */
  async #prepare(
    ctx: RequestContext,
    projectId: string,
    inputs: readonly WidgetInputParsed[],
    previous: readonly StoredWidget[],
  ): Promise<StoredWidget[]> {
    const before = new Map(previous.map((widget) => [widget.id, widget]))
    const prepared: StoredWidget[] = []
    for (const [index, input] of inputs.entries()) {
      const at = `widgets.${index}`
      const base = { id: input.id ?? newId(), title: input.title, position: input.position }
      if (input.type === 'text') {
        prepared.push({
          ...base,
          type: 'text',
          query_id: null,
          sql: null,
          question: null,
          resolved_sql: null,
          parameters: null,
          config: input.config,
        })
        continue
      }
      const widget: DataWidget = {
        ...base,
        type: input.type,
        query_id: input.query_id ?? null,
        sql: input.sql ?? null,
        question: input.question ?? null,
        resolved_sql: null,
        parameters: input.parameters ?? null,
        config: input.config,
      }
      if (widget.question !== null) {
        const earlier = before.get(widget.id)
        widget.resolved_sql =
          earlier?.question === widget.question && earlier.resolved_sql
            ? earlier.resolved_sql
            : await this.deps.ask.translate(ctx, projectId, widget.question, `${at}.question`)
      }
      const source = sourceFieldOf(widget)
      const { sql, parameters } = await this.#resolve(ctx, projectId, widget).catch((error: unknown) => {
        if (isAppError(error, 'not_found')) throw errors.invalidField(`${at}.${source}`, error.message)
        throw withinWidget(error, at)
      })
      const columns = await this.deps.sql.describe(ctx, projectId, sql, parameters).catch((error: unknown) => {
        if (isAppError(error, 'query_error')) throw errors.invalidField(`${at}.${source}`, error.message)
        throw error
      })
      checkConfig(widget, columns, (key) => `${at}.config.${key}`)
      prepared.push(widget)
    }
    return prepared
  }

  /** The SQL a widget runs and the values of its parameters. */
  async #resolve(
    caller: RequestContext,
    projectId: string,
    widget: DataWidget,
  ): Promise<{ sql: string; parameters?: Record<string, QueryParameter>; use: 'query' | 'ask' }> {
    if (widget.query_id !== null) {
      const run = await this.deps.savedQueries.resolveRun(caller, projectId, widget.query_id, widget.parameters ?? {})
      return { sql: run.sql, parameters: run.parameters, use: 'query' }
    }
    if (widget.resolved_sql !== null) return { sql: widget.resolved_sql, use: 'ask' }
    return { sql: widget.sql!, use: 'query' }
  }

  /**
   * A viewer whose column masks or row filters differ from the author's: widgets compute as them,
   * and their results are kept apart, for callers under the same policies. Undefined for everyone else.
   */
  async #ownViewer(viewer: TenantContext, row: DashboardRow): Promise<OwnViewer | undefined> {
    const author = requireTenant(authorOf(row))
    const [viewerKey, authorKey] = await Promise.all([
      this.deps.sql.accessKey(viewer, row.project_id),
      this.deps.sql.accessKey(author, row.project_id),
    ])
    return viewerKey === authorKey ? undefined : { context: viewer, key: viewerKey }
  }

  /**
   * The results held for callers under the viewer's policies that are as fresh as the shared ones:
   * computed for the widget's current definition, and not before the shared result was.
   */
  async #viewerCached(
    row: DashboardRow,
    widgets: readonly DataWidget[],
    viewer: OwnViewer,
  ): Promise<Map<string, HeldResult>> {
    const shared = new Map((await new DashboardsRepo(this.db).stamps(row.id)).map((stamp) => [stamp.widget_id, stamp]))
    const found = new Map<string, HeldResult>()
    for (const widget of widgets) {
      const held = this.#viewerHeld.get(viewerKeyOf(viewer, widget))
      const since = shared.get(widget.id)?.computed_at.getTime() ?? 0
      if (held && held.sourceKey === sourceKeyOf(widget) && held.computedAt >= since) found.set(widget.id, held)
    }
    return found
  }

  /**
   * Runs each widget's query as the dashboard's author and stores the results, or as a viewer of
   * their own (see #ownViewer) without storing them; a failure is the widget's error.
   */
  async #computeAll(
    row: DashboardRow,
    widgets: readonly DataWidget[],
    viewer?: OwnViewer,
  ): Promise<(HeldResult & { widgetId: string })[]> {
    const author = viewer?.context ?? authorOf(row)
    const repo = new DashboardsRepo(this.db)
    const computed: (HeldResult & { widgetId: string })[] = []
    const queue = [...widgets]
    const worker = async () => {
      for (let widget = queue.shift(); widget; widget = queue.shift()) {
        const result = await this.#compute(author, row.project_id, widget, viewer !== undefined)
        const computedAt = new Date()
        const held = { sourceKey: sourceKeyOf(widget), computedAt: computedAt.getTime(), result }
        if (viewer) this.#viewerHeld.set(viewerKeyOf(viewer, widget), held)
        else {
          await repo.putResult(row.id, widget.id, held.sourceKey, result, computedAt)
          this.#held.set(widget.id, held)
        }
        computed.push({ widgetId: widget.id, ...held })
      }
    }
    await Promise.all(Array.from({ length: Math.min(COMPUTE_CONCURRENCY, widgets.length) }, worker))
    return computed
  }

  /** `asViewer`: the caller opens the dashboard, which is what lets them run its widgets. */
  async #compute(
    author: RequestContext,
    projectId: string,
    widget: DataWidget,
    asViewer: boolean,
  ): Promise<StoredWidgetResult> {
    try {
      const { sql, parameters, use } = await this.#resolve(author, projectId, widget)
      const result = await this.deps.sql.run(
        author,
        projectId,
        { sql, limit: rowCapOf(widget), timeout_ms: WIDGET_TIMEOUT_MS },
        undefined,
        { use: asViewer ? 'dashboards' : use, parameters },
      )
      // A saved query edited since the dashboard was saved may no longer return what `config` names.
      checkConfig(widget, result.columns, (key) => `config.${key}`)
      return {
        columns: result.columns,
        rows: result.rows,
        row_count: result.row_count,
        truncated: result.truncated,
        error: null,
      }
    } catch (error) {
      if (!isAppError(error)) this.logger.warn({ err: error, widget_id: widget.id }, 'widget computation failed')
      return { columns: [], rows: [], row_count: 0, truncated: false, error: widgetErrorOf(error) }
    }
  }

  /** The cached results of these widgets that were computed for their current definition. */
  async #cached(row: DashboardRow, widgets: readonly DataWidget[]): Promise<Map<string, HeldResult>> {
    const repo = new DashboardsRepo(this.db)
    const keys = new Map(widgets.map((widget) => [widget.id, sourceKeyOf(widget)]))
    const found = new Map<string, HeldResult>()
    const toRead: string[] = []
    for (const stamp of await repo.stamps(row.id)) {
      if (keys.get(stamp.widget_id) !== stamp.source_key) continue
      const held = this.#held.get(stamp.widget_id)
      if (held && held.sourceKey === stamp.source_key && held.computedAt === stamp.computed_at.getTime()) {
        found.set(stamp.widget_id, held)
      } else {
        toRead.push(stamp.widget_id)
      }
    }
    for (const stored of await repo.results(row.id, toRead)) {
      // Recomputed between the two reads: still a result of the current definition, and newer.
      if (keys.get(stored.widget_id) !== stored.source_key) continue
      const held = { sourceKey: stored.source_key, computedAt: stored.computed_at.getTime(), result: stored.result }
      this.#held.set(stored.widget_id, held)
      found.set(stored.widget_id, held)
    }
    return found
  }

  async #putSchedule(trx: MetadataDb, ctx: RequestContext, row: DashboardRow): Promise<ScheduledDashboard> {
    const info = await this.deps.scheduler.put(trx, {
      organizationId: row.organization_id,
      projectId: row.project_id,
      task: DASHBOARD_REFRESH_TASK,
      key: row.id,
      schedule: row.refresh,
      payload: { dashboard_id: row.id } satisfies RefreshPayload,
      caller: ctx,
    })
    return { ...row, next_refresh_at: info.next_run_at === null ? null : new Date(info.next_run_at) }
  }

  async #find(tenant: TenantContext, projectId: string, id: string): Promise<ScheduledDashboard> {
    const row = await new DashboardsRepo(this.db).find(tenant.principal.organizationId, projectId, id)
    if (!row) throw errors.notFound('dashboard', id)
    return row
  }

  /** `data` of a data widget without a result (a dashboard just saved) is null until it is computed. */
  #toDashboard(row: ScheduledDashboard, results: ReadonlyMap<string, HeldResult>): Dashboard {
    return {
      ...summaryOf(row),
      widgets: row.widgets.map((widget) => {
        const held = results.get(widget.id)
        return { ...widget, data: held ? toWidgetData(held) : null }
      }),
    }
  }
}

/** `object` (the JSON text of an object) with one more member whose value is the JSON text `value`. */
function spliceJson(object: string, key: string, value: string): string {
  return `${object.slice(0, -1)}${object.length > 2 ? ',' : ''}${JSON.stringify(key)}:${value}}`
}

/** Which field of a widget names what it runs: where a 422 about its SQL points. */
function sourceFieldOf(widget: DataWidget): 'query_id' | 'question' | 'sql' {
  if (widget.query_id !== null) return 'query_id'
  return widget.question !== null ? 'question' : 'sql'
}

function summaryOf(row: ScheduledDashboard) {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    name: row.name,
    description: row.description,
    refresh: row.refresh,
    next_refresh_at: toIsoOrNull(row.next_refresh_at),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

function toWidgetData(held: HeldResult): WidgetData {
  return { ...held.result, computed_at: new Date(held.computedAt).toISOString() }
}

function computedAsOf(ctx: RequestContext): Record<string, unknown> {
  return { principal: ctx.principal, request_id: ctx.requestId }
}

function authorOf(row: DashboardRow): RequestContext {
  const stored = row.computed_as as { principal: Principal; request_id: string }
  return { principal: stored.principal, requestId: `dashboard:${row.id}:${stored.request_id}` }
}
