// The metadata tables of the webhooks module (issue 14), part of `Database` in schema.ts.
import type { ColumnType, Selectable } from 'kysely'

import type { NullableTimestamp, Timestamp } from './column-types.js'

import type { OutboundAttempt } from '../lib/outbound/signed-request.js'

export interface WebhooksTable {
  id: string
  organization_id: string
  /** Only this project's events; null: every project of the organization. */
  project_id: string | null
  url: string
  /** Event types, or `['*']`. */
  events: ColumnType<string[], string, string>
  description: string | null
  is_active: ColumnType<boolean, boolean | undefined, boolean>
  /** Sealed with the outbound secret box; returned only when it is made. */
  signing_secret: string
  created_at: Timestamp
  updated_at: Timestamp
  archived_at: NullableTimestamp
}

export interface WebhookDeliveriesTable {
  id: string
  webhook_id: string
  organization_id: string
  project_id: string | null
  event_id: string
  event_type: string
  /** The JSON body exactly as every attempt sends it (the signature covers these bytes). */
  body: string
  status: ColumnType<'pending' | 'succeeded' | 'failed', 'pending' | 'succeeded' | 'failed' | undefined>
  attempts: ColumnType<OutboundAttempt[], string | undefined, string>
  error: string | null
  created_at: Timestamp
  updated_at: Timestamp
  completed_at: NullableTimestamp
}

export interface WebhooksTables {
  webhooks: WebhooksTable
  webhook_deliveries: WebhookDeliveriesTable
}

export type WebhookRow = Selectable<WebhooksTable>
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>
