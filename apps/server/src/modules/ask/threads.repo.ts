import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AskFeedbackRecord, AskMessageRow, AskMessagesTable, AskThreadRow } from '../../metadata/schema.js'

/** Who a thread belongs to: only they see it. */
export interface ThreadOwner {
  organizationId: string
  projectId: string
  type: 'api_key' | 'user'
  id: string
}

export type NewAskMessage = Omit<
  {
    [K in keyof AskMessagesTable]: AskMessageRow[K]
  },
  'id' | 'thread_id' | 'organization_id' | 'project_id' | 'created_at' | 'feedback'
>

export class ThreadsRepo {
  constructor(private readonly db: MetadataDb) {}

  async create(owner: ThreadOwner, title: string): Promise<AskThreadRow> {
    return this.db
      .insertInto('ask_threads')
      .values({
        id: newId(),
        organization_id: owner.organizationId,
        project_id: owner.projectId,
        title,
        created_by_type: owner.type,
        created_by_id: owner.id,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async find(owner: ThreadOwner, id: string): Promise<AskThreadRow | undefined> {
    return this.#owned(owner).selectAll().where('id', '=', id).executeTakeFirst()
  }

  async list(owner: ThreadOwner, after: string | undefined, limit: number): Promise<AskThreadRow[]> {
    let query = this.#owned(owner).selectAll()
    if (after) query = query.where('id', '<', after)
    // Newest first: ids are time-ordered (UUIDv7).
    return query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute()
  }

  async rename(owner: ThreadOwner, id: string, title: string): Promise<AskThreadRow | undefined> {
    return this.db
      .updateTable('ask_threads')
      .set({ title, updated_at: sql`now()` })
      .where('organization_id', '=', owner.organizationId)
      .where('project_id', '=', owner.projectId)
      .where('created_by_type', '=', owner.type)
      .where('created_by_id', '=', owner.id)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
  }

  async archive(owner: ThreadOwner, id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('ask_threads')
      .set({ archived_at: sql`now()`, updated_at: sql`now()` })
      .where('organization_id', '=', owner.organizationId)
      .where('project_id', '=', owner.projectId)
      .where('created_by_type', '=', owner.type)
      .where('created_by_id', '=', owner.id)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  /** Adds a message and counts it on its thread, together. */
  async addMessage(thread: AskThreadRow, message: NewAskMessage): Promise<AskMessageRow> {
    const row = await this.db
      .insertInto('ask_messages')
      .values({
        ...message,
        id: newId(),
        thread_id: thread.id,
        organization_id: thread.organization_id,
        project_id: thread.project_id,
        columns: JSON.stringify(message.columns),
        rows: JSON.stringify(message.rows),
        steps: JSON.stringify(message.steps),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    await this.db
      .updateTable('ask_threads')
      .set({ message_count: sql`message_count + 1`, updated_at: sql`now()` })
      .where('id', '=', thread.id)
      .execute()
    return row
  }

  async messages(thread: AskThreadRow, after: string | undefined, limit: number): Promise<AskMessageRow[]> {
    let query = this.db.selectFrom('ask_messages').selectAll().where('thread_id', '=', thread.id)
    if (after) query = query.where('id', '>', after)
    return query
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  /** The latest answered turns of a thread, newest first. */
  async recentAnswered(thread: AskThreadRow, count: number): Promise<AskMessageRow[]> {
    return this.db
      .selectFrom('ask_messages')
      .selectAll()
      .where('thread_id', '=', thread.id)
      .where('answered', '=', true)
      .where('sql', 'is not', null)
      .orderBy('id', 'desc')
      .limit(count)
      .execute()
  }

  async message(thread: AskThreadRow, id: string): Promise<AskMessageRow | undefined> {
    return this.db
      .selectFrom('ask_messages')
      .selectAll()
      .where('thread_id', '=', thread.id)
      .where('id', '=', id)
      .executeTakeFirst()
  }

  async setFeedback(messageId: string, feedback: AskFeedbackRecord): Promise<AskMessageRow> {
    return this.db
      .updateTable('ask_messages')
      .set({ feedback: JSON.stringify(feedback) })
      .where('id', '=', messageId)
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  #owned(owner: ThreadOwner) {
    return this.db
      .selectFrom('ask_threads')
      .where('organization_id', '=', owner.organizationId)
      .where('project_id', '=', owner.projectId)
      .where('created_by_type', '=', owner.type)
      .where('created_by_id', '=', owner.id)
      .where('archived_at', 'is', null)
  }
}
