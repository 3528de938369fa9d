import { z } from 'zod'

import { Description, Id, Text, Timestamp } from './common.js'
import { EVENT_TYPES } from './events.js'

const ALL_EVENTS = '*'

const WebhookUrl = z
  .string()
  .trim()
  .max(2000, 'must be at most 2000 characters')
  .pipe(Text)
  .refine((value) => URL.canParse(value), 'must be an absolute URL')
  .refine((value) => !URL.canParse(value) || /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL')
  // fetch refuses such URLs, and a credential in a URL would be shown to everyone who reads the webhook.
  .refine((value) => {
    if (!URL.canParse(value)) return true
    const url = new URL(value)
    return url.username === '' && url.password === ''
  }, 'must not carry a user name or password')
  .meta({
    description:
      'Where events are POSTed. Private, loopback and link-local addresses are refused unless the operator ' +
      'allows them (`TRIBUTARY_OUTBOUND_ALLOW`)',
    example: 'https://hooks.example.com/tributary',
  })

const EventSelection = z
  .array(
    z.enum([ALL_EVENTS, ...EVENT_TYPES], {
      error: `must be '*' or one of ${EVENT_TYPES.map((type) => `'${type}'`).join(', ')}`,
    }),
    { error: 'must be an array of event types' },
  )
  .min(1, "must name at least one event type, or '*' for all")
  .max(EVENT_TYPES.length, `must name at most ${EVENT_TYPES.length} event types`)
  .refine((events) => new Set(events).size === events.length, 'must not name an event type twice')
  .refine((events) => !events.includes(ALL_EVENTS) || events.length === 1, "'*' must stand alone")
  .meta({
    description: `The event types to receive, or \`["*"]\` for every type: ${EVENT_TYPES.map((type) => `\`${type}\``).join(', ')}`,
    example: ['query_job.failed', 'import.failed'],
  })

export const Webhook = z
  .object({
    id: Id,
    organization_id: Id,
    project_id: Id.nullable().meta({ description: 'Only events of this project; null: every project' }),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    is_active: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Webhook' })
export type Webhook = z.infer<typeof Webhook>

const SigningSecret = z.string().meta({
  description:
    'Shown once: the key of the HMAC-SHA256 in `X-Tributary-Signature` (`t=<unix seconds>,v1=<hex of ' +
    'HMAC(secret, t + "." + raw body)>`). Stored encrypted; `PATCH` with `rotate_secret` makes a new one',
  example: 'whsec_3q2-7wX…',
})

export const CreatedWebhook = Webhook.extend({ signing_secret: SigningSecret }).meta({ id: 'CreatedWebhook' })
export type CreatedWebhook = z.infer<typeof CreatedWebhook>

export const UpdatedWebhook = Webhook.extend({ signing_secret: SigningSecret.optional() }).meta({
  id: 'UpdatedWebhook',
})
export type UpdatedWebhook = z.infer<typeof UpdatedWebhook>

export const CreateWebhook = z
  .strictObject({
    url: WebhookUrl,
    events: EventSelection,
    project_id: Id.optional().meta({
      description: 'Receive only this project’s events (a project key: always its own project)',
    }),
    description: Description.optional(),
    is_active: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .meta({ id: 'CreateWebhook' })
export type CreateWebhook = z.infer<typeof CreateWebhook>

export const UpdateWebhook = z
  .strictObject({
    url: WebhookUrl.optional(),
    events: EventSelection.optional(),
    project_id: Id.nullable().optional().meta({ description: 'null: events of every project' }),
    description: Description.nullable().optional(),
    is_active: z.boolean({ error: 'must be true or false' }).optional(),
    rotate_secret: z
      .literal(true, { error: 'must be true (leave it out to keep the secret)' })
      .optional()
      .meta({ description: 'Replaces the signing secret; the new one is in this response only' }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateWebhook' })
export type UpdateWebhook = z.infer<typeof UpdateWebhook>

export const DeliveredEventType = z.enum([...EVENT_TYPES, 'ping']).meta({ id: 'DeliveredEventType' })
export type DeliveredEventType = z.infer<typeof DeliveredEventType>

/**
 * What a webhook receives: the body of each POST, signed in `X-Tributary-Signature`, with the
 * headers `X-Tributary-Event` (the type), `X-Tributary-Event-Id` and `X-Tributary-Delivery-Id`.
 */
export const WebhookEvent = z
  .object({
    id: Id.meta({ description: 'The event: the same in every retry, so receivers can drop repeats' }),
    type: DeliveredEventType,
    created_at: Timestamp,
    organization_id: Id,
    project_id: Id.nullable(),
    data: z.record(z.string(), z.unknown()).meta({ description: 'Ids, statuses and counts; never rows' }),
  })
  .meta({ id: 'WebhookEvent' })
export type WebhookEvent = z.infer<typeof WebhookEvent>

export const WebhookAttempt = z
  .object({
    status_code: z.number().int().nullable().meta({ description: 'null when no answer came' }),
    ok: z.boolean(),
    response_excerpt: z.string().meta({ description: 'The start of the answer (2000 characters at most)' }),
    error: z.string().nullable(),
    duration_ms: z.number(),
    at: Timestamp,
  })
  .meta({ id: 'WebhookAttempt' })
export type WebhookAttempt = z.infer<typeof WebhookAttempt>

export const WebhookDeliveryStatus = z.enum(['pending', 'succeeded', 'failed']).meta({
  id: 'WebhookDeliveryStatus',
  description:
    '`pending` until an attempt succeeds or it is given up: no answer, 408, 429 and 5xx are retried with backoff ' +
    '(5 attempts in all); another 4xx or an address the policy refuses fails it at once',
})
export type WebhookDeliveryStatus = z.infer<typeof WebhookDeliveryStatus>

export const WebhookDelivery = z
  .object({
    id: Id,
    webhook_id: Id,
    event_id: Id,
    event_type: DeliveredEventType,
    status: WebhookDeliveryStatus,
    attempts: z.array(WebhookAttempt),
    error: z.string().nullable().meta({ description: 'Why a failed delivery was given up' }),
    created_at: Timestamp,
    updated_at: Timestamp,
    completed_at: Timestamp.nullable(),
  })
  .meta({ id: 'WebhookDelivery' })
export type WebhookDelivery = z.infer<typeof WebhookDelivery>

export const WebhookTestResult = z
  .object({
    ok: z.boolean(),
    attempt: WebhookAttempt,
    delivery: WebhookDelivery,
    event: WebhookEvent,
  })
  .meta({ id: 'WebhookTestResult', description: '`event` is the ping as sent: every event has its shape' })
export type WebhookTestResult = z.infer<typeof WebhookTestResult>
