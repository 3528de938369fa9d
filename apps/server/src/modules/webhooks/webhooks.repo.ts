import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { OutboundAttempt } from '../../lib/outbound/signed-request.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { WebhookDeliveryRow, WebhookRow } from '../../metadata/webhooks-schema.js'

export interface NewWebhook {
  organization_id: string
  project_id: string | null
  url: string
  events: readonly string[]
  description: string | null
  is_active: boolean
  signing_secret: string
}

export type WebhookChanges = Partial<Omit<NewWebhook, 'organization_id'>>

export interface NewDelivery {
  webhook_id: string
  organization_id: string
  project_id: string | null
  event_id: string
  event_type: string
  body: string
}

export type DeliveryWithWebhook = WebhookDeliveryRow & { webhook: WebhookRow }

export class WebhooksRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewWebhook): Promise<WebhookRow> {
    return this.db
      .insertInto('webhooks')
      .values({ id: newId(), ...values, events: JSON.stringify(values.events) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async find(organizationId: string, id: string): Promise<WebhookRow | undefined> {
    return this.#live(organizationId).where('id', '=', id).executeTakeFirst()
  }

  /** The organization's webhooks, or only one project's (what a project key manages). */
  async list(organizationId: string, projectId: string | undefined, after: string | undefined, limit: number) {
    let query = this.#live(organizationId)
    if (projectId) query = query.where('project_id', '=', projectId)
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async update(organizationId: string, id: string, changes: WebhookChanges): Promise<WebhookRow | undefined> {
    const { events, ...rest } = changes
    return this.db
      .updateTable('webhooks')
      .set({ ...rest, ...(events ? { events: JSON.stringify(events) } : {}), updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  async archive(organizationId: string, id: string): Promise<boolean> {
    const row = await this.db
      .updateTable('webhooks')
      .set({ archived_at: new Date(), updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returning('id')
      .executeTakeFirst()
    return row !== undefined
  }

  /** The active webhooks an event of this type in this project goes to. */
  async subscribers(organizationId: string, projectId: string, type: string): Promise<WebhookRow[]> {
    return this.#live(organizationId)
      .where('is_active', '=', true)
      .where((eb) => eb.or([eb('project_id', 'is', null), eb('project_id', '=', projectId)]))
      .where(sql<boolean>`(events @> '["*"]'::jsonb or events @> ${JSON.stringify([type])}::jsonb)`)
      .orderBy('id')
      .execute()
  }

  /** Inserts the deliveries; those of an event a webhook already has (a second publication) are skipped. */
  async insertDeliveries(values: readonly NewDelivery[]): Promise<WebhookDeliveryRow[]> {
    if (values.length === 0) return []
    return this.db
      .insertInto('webhook_deliveries')
      .values(values.map((value) => ({ id: newId(), ...value })))
      .onConflict((oc) => oc.columns(['webhook_id', 'event_id']).doNothing())
      .returningAll()
      .execute()
  }

  async delivery(id: string): Promise<DeliveryWithWebhook | undefined> {
    const delivery = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst()
    if (!delivery) return undefined
    const webhook = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', delivery.webhook_id)
      .executeTakeFirstOrThrow()
    return { ...delivery, webhook }
  }

  /** A webhook's deliveries, newest first. */
  async deliveries(webhookId: string, before: string | undefined, limit: number): Promise<WebhookDeliveryRow[]> {
    let query = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId)
    if (before) query = query.where('id', '<', before)
    return query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute()
  }

  /**
   * Appends one attempt and sets the outcome, only while the delivery is still pending: a delivery
   * that has ended (sent by a run that lost its lease) is left as it is. Undefined then.
   */
  async recordAttempt(
    id: string,
    attempt: OutboundAttempt | undefined,
    outcome: { status: 'pending' | 'succeeded' | 'failed'; error: string | null },
  ): Promise<WebhookDeliveryRow | undefined> {
    return this.db
      .updateTable('webhook_deliveries')
      .set({
        ...(attempt ? { attempts: sql`attempts || ${JSON.stringify([attempt])}::jsonb` } : {}),
        status: outcome.status,
        error: outcome.error,
        updated_at: new Date(),
        ...(outcome.status === 'pending' ? {} : { completed_at: new Date() }),
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst()
  }

  #live(organizationId: string) {
    return this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('archived_at', 'is', null)
  }
}
