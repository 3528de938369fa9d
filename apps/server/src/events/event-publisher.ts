import type { EventType } from '@tributary/contract'

import { newId } from '../lib/ids.js'
import type { MetadataDb } from '../metadata/database.js'

/** Something that happened in a project that other systems may subscribe to (event webhooks). */
export interface PlatformEvent {
  type: EventType
  organizationId: string
  projectId: string
  /** What the subscriber receives as the event's `data`: ids, statuses, counts; never rows. */
  data: Record<string, unknown>
}

export interface PublishedEvent extends PlatformEvent {
  id: string
  occurredAt: Date
}

/**
 * Records what an event causes (webhook deliveries) in the caller's transaction, so that an event
 * is kept exactly when the change it reports is.
 */
export type EventSink = (trx: MetadataDb, event: PublishedEvent) => Promise<void>

/**
 * The one place events are published. Built before the modules, so that the job queue and every
 * module can publish; the module that acts on events (webhooks) subscribes when it is built.
 */
export class EventPublisher {
  readonly #sinks: EventSink[] = []

  constructor(private readonly now: () => Date = () => new Date()) {}

  subscribe(sink: EventSink): void {
    this.#sinks.push(sink)
  }

  /** Call inside the transaction that makes the change the event reports. */
  async publish(trx: MetadataDb, event: PlatformEvent): Promise<PublishedEvent> {
    const published: PublishedEvent = { ...event, id: newId(), occurredAt: this.now() }
    for (const sink of this.#sinks) await sink(trx, published)
    return published
  }
}
