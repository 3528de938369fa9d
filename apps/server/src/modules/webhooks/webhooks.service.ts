import type {
  CreatedWebhook,
  CreateWebhook,
  DeliveredEventType,
  ListQuery,
  Page,
  UpdatedWebhook,
  UpdateWebhook,
  Webhook,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEvent,
  WebhookTestResult,
} from '@tributary/contract'

import { requirePermission, requireProjectWrite, requireTenant } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { EventSink } from '../../events/event-publisher.js'
import type { JobHandler, JobQueue, RunningJob } from '../../jobs/queue.js'
import { errors } from '../../lib/errors.js'
import { newId } from '../../lib/ids.js'
import type { OutboundClient } from '../../lib/outbound/guarded-fetch.js'
import { isRetryable, type OutboundAttempt, sendOutbound } from '../../lib/outbound/signed-request.js'
import { decodeCursor, toPage } from '../../lib/pagination.js'
import type { SecretBox } from '../../lib/secret-box.js'
import { generateToken } from '../../lib/secrets.js'
import type { MetadataDb } from '../../metadata/database.js'
import { toIso, toIsoOrNull } from '../../metadata/store-errors.js'
import type { WebhookDeliveryRow, WebhookRow } from '../../metadata/webhooks-schema.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { webhookErrors } from './webhooks.errors.js'
import { WebhooksRepo } from './webhooks.repo.js'

export const WEBHOOK_DELIVERY_KIND = 'webhook.delivery'
const SECRET_PREFIX = 'whsec_'
/** Attempts per delivery: with the queue's doubling backoff the last comes 15 base delays after the first. */
const MAX_ATTEMPTS = 5

interface DeliveryPayload {
  delivery_id: string
}

export interface WebhooksOptions {
  /** How long one attempt waits for the target's answer. */
  timeoutMs: number
}

/**
 * Event webhooks (issue 14). Organization admins (users with role admin, organization keys with
 * `admin`) manage every webhook of the organization; a project key with `admin` manages those of its
 * own project. Each published event becomes one delivery per subscribed webhook, written in the
 * publisher's transaction and sent by a durable job, so a restart loses none.
 */
export class WebhooksService {
  constructor(
    private readonly db: MetadataDb,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
    private readonly outbound: OutboundClient,
    private readonly secrets: SecretBox,
    private readonly options: WebhooksOptions,
  ) {}

  readonly jobHandler: JobHandler<DeliveryPayload> = {
    kind: WEBHOOK_DELIVERY_KIND,
    // Sending again after a crash may repeat an event; receivers drop repeats by its id.
    retryable: true,
    maxAttempts: MAX_ATTEMPTS,
    run: (job, ctx) => this.#deliver(job, ctx.signal),
  }

  /** Subscribed to the platform's events: runs in the transaction that publishes the event. */
  readonly enqueueDeliveries: EventSink = async (trx, event) => {
    const repo = new WebhooksRepo(trx)
    const webhooks = await repo.subscribers(event.organizationId, event.projectId, event.type)
    if (webhooks.length === 0) return
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      created_at: toIso(event.occurredAt),
      organization_id: event.organizationId,
      project_id: event.projectId,
      data: event.data,
    } satisfies WebhookEvent)
    const rows = await repo.insertDeliveries(
      webhooks.map((webhook) => ({
        webhook_id: webhook.id,
        organization_id: event.organizationId,
        project_id: event.projectId,
        event_id: event.id,
        event_type: event.type,
        body,
      })),
    )
    for (const row of rows) {
      await this.jobs.enqueue(trx, {
        // The job shares the delivery's id, so the delivery log can read how the job ended.
        id: row.id,
        kind: WEBHOOK_DELIVERY_KIND,
        organizationId: event.organizationId,
        projectId: event.projectId,
        payload: { delivery_id: row.id },
      })
    }
  }

  async create(ctx: RequestContext, input: CreateWebhook): Promise<CreatedWebhook> {
    const { principal } = requireTenant(ctx)
    const projectId = input.project_id ?? (principal.kind === 'project' ? principal.projectId : null)
    if (projectId !== null) await this.projects.require(ctx, projectId, 'read')
    const tenant = this.#requireManager(ctx, projectId)
    await this.#checkUrl(input.url)
    const secret = generateToken(SECRET_PREFIX)
    return this.db.transaction().execute(async (trx) => {
      const row = await new WebhooksRepo(trx).insert({
        organization_id: tenant.principal.organizationId,
        project_id: projectId,
        url: input.url,
        events: input.events,
        description: input.description ?? null,
        is_active: input.is_active,
        signing_secret: this.secrets.seal(secret),
      })
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'webhook', {
        action: 'webhook.create',
        id: row.id,
        details: { url: row.url, events: row.events, project_id: row.project_id },
      })
      return { ...toWebhook(row), signing_secret: secret }
    })
  }

  async list(ctx: RequestContext, query: ListQuery): Promise<Page<Webhook>> {
    const { principal } = requireTenant(ctx)
    const projectId = principal.kind === 'project' ? principal.projectId : null
    this.#requireManager(ctx, projectId)
    const rows = await new WebhooksRepo(this.db).list(
      principal.organizationId,
      projectId ?? undefined,
      decodeCursor(query.cursor),
      query.limit,
    )
    return toPage(rows, query.limit, toWebhook)
  }

  async get(ctx: RequestContext, id: string): Promise<Webhook> {
    return toWebhook((await this.#findManaged(ctx, id)).row)
  }

  async update(ctx: RequestContext, id: string, input: UpdateWebhook): Promise<UpdatedWebhook> {
    const { tenant, row: current } = await this.#findManaged(ctx, id)
    if (input.project_id !== undefined && input.project_id !== current.project_id) {
      if (input.project_id !== null) await this.projects.require(ctx, input.project_id, 'read')
      this.#requireManager(ctx, input.project_id)
    }
    if (input.url !== undefined) await this.#checkUrl(input.url)
    const secret = input.rotate_secret ? generateToken(SECRET_PREFIX) : undefined
    return this.db.transaction().execute(async (trx) => {
      const row = await new WebhooksRepo(trx).update(tenant.principal.organizationId, id, {
        ...(input.url === undefined ? {} : { url: input.url }),
        ...(input.events === undefined ? {} : { events: input.events }),
        ...(input.project_id === undefined ? {} : { project_id: input.project_id }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.is_active === undefined ? {} : { is_active: input.is_active }),
        ...(secret === undefined ? {} : { signing_secret: this.secrets.seal(secret) }),
      })
      if (!row) throw errors.notFound('webhook', id)
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'webhook', {
        action: 'webhook.update',
        id,
        details: { fields: Object.keys(input) },
      })
      return { ...toWebhook(row), ...(secret === undefined ? {} : { signing_secret: secret }) }
    })
  }

  /** Archives the webhook; its pending deliveries are given up when their jobs run. */
  async archive(ctx: RequestContext, id: string): Promise<void> {
    const { tenant } = await this.#findManaged(ctx, id)
    await this.db.transaction().execute(async (trx) => {
      if (!(await new WebhooksRepo(trx).archive(tenant.principal.organizationId, id))) {
        throw errors.notFound('webhook', id)
      }
      await this.audit.recordTenantWrite(trx, ctx, tenant.principal, 'webhook', { action: 'webhook.delete', id })
    })
  }

  async deliveries(ctx: RequestContext, id: string, query: ListQuery): Promise<Page<WebhookDelivery>> {
    await this.#findManaged(ctx, id)
    const repo = new WebhooksRepo(this.db)
    const rows = await repo.deliveries(id, decodeCursor(query.cursor), query.limit)
    return toPage(await this.#settleAbandoned(repo, rows), query.limit, toDelivery)
  }

  /**
   * A delivery whose job ended without the handler recording an outcome (the server died during
   * its last attempt, and the queue failed the job when reclaiming it; or the job was cancelled)
   * would read `pending` forever: it is marked failed when the log is read.
   */
  async #settleAbandoned(repo: WebhooksRepo, rows: WebhookDeliveryRow[]): Promise<WebhookDeliveryRow[]> {
    const pending = rows.filter((row) => row.status === 'pending').map((row) => row.id)
    if (pending.length === 0) return rows
    const endings = await this.jobs.endings(pending)
    return Promise.all(
      rows.map(async (row) => {
        const ending = endings.get(row.id)
        if (row.status !== 'pending' || (ending?.status !== 'failed' && ending?.status !== 'cancelled')) return row
        const error =
          ending.status === 'cancelled'
            ? 'not sent: the delivery job was cancelled'
            : 'gave up: the delivery job ended without an outcome (the server stopped during its last attempt)'
        return (await repo.recordAttempt(row.id, undefined, { status: 'failed', error })) ?? row
      }),
    )
  }

  /** Sends a `ping` now, once, and records it as a delivery. A failed attempt is an answer, not an error. */
  async test(ctx: RequestContext, id: string, signal?: AbortSignal): Promise<WebhookTestResult> {
    const { row: webhook } = await this.#findManaged(ctx, id)
    const event: WebhookEvent = {
      id: newId(),
      type: 'ping',
      created_at: new Date().toISOString(),
      organization_id: webhook.organization_id,
      project_id: webhook.project_id,
      data: { webhook_id: webhook.id, message: 'a test event sent by POST /webhooks/{webhook_id}/test' },
    }
    const body = JSON.stringify(event)
    const repo = new WebhooksRepo(this.db)
    // A fresh event id: the insert cannot meet an existing delivery.
    const [delivery] = (await repo.insertDeliveries([
      {
        webhook_id: webhook.id,
        organization_id: webhook.organization_id,
        project_id: webhook.project_id,
        event_id: event.id,
        event_type: 'ping',
        body,
      },
    ])) as [WebhookDeliveryRow]
    let attempt: OutboundAttempt
    try {
      attempt = await this.#send(webhook, delivery, signal)
    } catch (error) {
      // The caller went away: no ping is left pending with no job to end it.
      await repo.recordAttempt(delivery.id, undefined, { status: 'failed', error: 'the test request was cancelled' })
      throw error
    }
    const recorded = await repo.recordAttempt(delivery.id, attempt, {
      status: attempt.ok ? 'succeeded' : 'failed',
      error: attempt.error,
    })
    return { ok: attempt.ok, attempt: toAttempt(attempt), delivery: toDelivery(recorded!), event }
  }

  async #deliver(job: RunningJob<DeliveryPayload>, signal: AbortSignal): Promise<Record<string, unknown>> {
    const repo = new WebhooksRepo(this.db)
    const delivery = await repo.delivery(job.payload.delivery_id)
    // Ended already (a run again after a crash, or after a lost lease): nothing is sent twice.
    if (!delivery || delivery.status !== 'pending') return { delivery_status: delivery?.status ?? 'missing' }
    const { webhook } = delivery
    if (webhook.archived_at !== null || !webhook.is_active) {
      const error = webhook.archived_at ? 'the webhook was deleted' : 'the webhook was deactivated'
      await repo.recordAttempt(delivery.id, undefined, { status: 'failed', error: `not sent: ${error}` })
      return { delivery_status: 'failed' }
    }
    const attempt = await this.#send(webhook, delivery, signal)
    const retry = !attempt.ok && isRetryable(attempt) && job.attempt < job.maxAttempts
    const status = attempt.ok ? 'succeeded' : retry ? 'pending' : 'failed'
    let error: string | null = null
    if (status === 'failed') {
      error = isRetryable(attempt)
        ? `gave up after ${job.attempt} attempts: ${attempt.error ?? 'no answer'}`
        : attempt.error
    }
    const recorded = await repo.recordAttempt(delivery.id, attempt, { status, error })
    if (retry && recorded) throw webhookErrors.retry(attempt)
    return { delivery_status: recorded?.status ?? 'ended elsewhere', status_code: attempt.status }
  }

  #send(webhook: WebhookRow, delivery: WebhookDeliveryRow, signal?: AbortSignal): Promise<OutboundAttempt> {
    return sendOutbound(this.outbound, {
      url: webhook.url,
      method: 'POST',
      headers: {
        'x-tributary-event': delivery.event_type,
        'x-tributary-event-id': delivery.event_id,
        'x-tributary-delivery-id': delivery.id,
      },
      body: delivery.body,
      signingSecret: this.secrets.open(webhook.signing_secret),
      timeoutMs: this.options.timeoutMs,
      ...(signal ? { signal } : {}),
    })
  }

  /** A webhook of the caller's organization that the caller manages; out of reach reads as missing. */
  async #findManaged(ctx: RequestContext, id: string): Promise<{ tenant: TenantContext; row: WebhookRow }> {
    const { principal } = requireTenant(ctx)
    const row = await new WebhooksRepo(this.db).find(principal.organizationId, id)
    if (!row || (principal.kind === 'project' && row.project_id !== principal.projectId)) {
      throw errors.notFound('webhook', id)
    }
    return { tenant: this.#requireManager(ctx, row.project_id), row }
  }

  /** Organization admins manage every webhook; a project key with `admin`, those of its own project. */
  #requireManager(ctx: RequestContext, projectId: string | null): TenantContext {
    const tenant = requireTenant(ctx)
    if (tenant.principal.kind !== 'project') return requirePermission(ctx, 'organization:admin')
    if (projectId === null) throw webhookErrors.projectKeyScope()
    return requireProjectWrite(ctx, projectId)
  }

  /** Refuses what no delivery could reach; a name that does not resolve yet, deliveries retry. */
  async #checkUrl(url: string): Promise<void> {
    const refusal = await this.outbound.policy.refusalOf(url)
    if (refusal) throw errors.invalidField('url', refusal)
  }
}

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    organization_id: row.organization_id,
    project_id: row.project_id,
    url: row.url,
    events: row.events,
    description: row.description,
    is_active: row.is_active,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  }
}

function toAttempt(attempt: OutboundAttempt): WebhookAttempt {
  return {
    status_code: attempt.status,
    ok: attempt.ok,
    response_excerpt: attempt.response,
    error: attempt.error,
    duration_ms: attempt.duration_ms,
    at: attempt.at,
  }
}

function toDelivery(row: WebhookDeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event_id: row.event_id,
    event_type: row.event_type as DeliveredEventType,
    status: row.status,
    attempts: row.attempts.map(toAttempt),
    error: row.error,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    completed_at: toIsoOrNull(row.completed_at),
  }
}
