import { z } from 'zod'

/**
 * What other systems can subscribe to with event webhooks (issue 14). `ping` is only sent by a
 * webhook's test; it cannot be subscribed to.
 */
export const EVENT_TYPES = [
  'query_job.succeeded',
  'query_job.failed',
  'import.succeeded',
  'import.failed',
  'export.succeeded',
  'export.failed',
  'cache.refreshed',
  'cache.failed',
  'metadata.refreshed',
  'metadata.failed',
  'workflow.run.completed',
] as const
export const EventType = z.enum(EVENT_TYPES)
export type EventType = z.infer<typeof EventType>
