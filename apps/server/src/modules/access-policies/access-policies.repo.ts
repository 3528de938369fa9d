import { newId } from '../../lib/ids.js'
import type {
  ColumnTagRow,
  ColumnTagsTable,
  PrivacyPoliciesTable,
  PrivacyPolicyRow,
  RowPoliciesTable,
  RowPolicyRow,
} from '../../metadata/access-policies-schema.js'
import type { MetadataDb } from '../../metadata/database.js'

type Owned = 'id' | 'created_at' | 'updated_at'
export type PrivacyPolicyValues = Omit<PrivacyPoliciesTable, Owned>
export type RowPolicyValues = Omit<RowPoliciesTable, Owned>
export type ColumnTagValues = Omit<ColumnTagsTable, 'id' | 'created_at'>

type PolicyTable = 'privacy_policies' | 'row_policies'

/** What `accessFor` reads of the caller besides the principal. */
export interface CallerRow {
  email: string
  name: string | null
  attributes: Record<string, string>
}

/**
 * A project's privacy policies, row policies and column tags; every statement names the
 * organization and the project, so no id reaches across.
 */
export class AccessPoliciesRepo {
  constructor(private readonly db: MetadataDb) {}

  async insertPrivacy(values: PrivacyPolicyValues): Promise<PrivacyPolicyRow> {
    return this.db
      .insertInto('privacy_policies')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async insertRow(values: RowPolicyValues): Promise<RowPolicyRow> {
    return this.db
      .insertInto('row_policies')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findPrivacy(organizationId: string, projectId: string, id: string): Promise<PrivacyPolicyRow | undefined> {
    return this.#privacy(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  async findRow(organizationId: string, projectId: string, id: string): Promise<RowPolicyRow | undefined> {
    return this.#rows(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  async listPrivacy(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    return this.#privacy(organizationId, projectId)
      .selectAll()
      .$if(after !== undefined, (query) => query.where('id', '>', after!))
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async listRow(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    return this.#rows(organizationId, projectId)
      .selectAll()
      .$if(after !== undefined, (query) => query.where('id', '>', after!))
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  /** Every privacy policy of a project, oldest first (the first mask on a column wins). */
  async allPrivacy(organizationId: string, projectId: string): Promise<PrivacyPolicyRow[]> {
    return this.#privacy(organizationId, projectId).selectAll().orderBy('created_at').orderBy('id').execute()
  }

  async allRow(organizationId: string, projectId: string): Promise<RowPolicyRow[]> {
    return this.#rows(organizationId, projectId).selectAll().orderBy('created_at').orderBy('id').execute()
  }

  async replacePrivacy(
    organizationId: string,
    projectId: string,
    id: string,
    values: Omit<PrivacyPolicyValues, 'organization_id' | 'project_id'>,
  ): Promise<PrivacyPolicyRow | undefined> {
    return this.db
      .updateTable('privacy_policies')
      .set({ ...values, updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
  }

  async replaceRow(
    organizationId: string,
    projectId: string,
    id: string,
    values: Omit<RowPolicyValues, 'organization_id' | 'project_id'>,
  ): Promise<RowPolicyRow | undefined> {
    return this.db
      .updateTable('row_policies')
      .set({ ...values, updated_at: new Date() })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
  }

  async delete(table: PolicyTable | 'column_tags', organizationId: string, projectId: string, id: string) {
    const row = await this.db
      .deleteFrom(table)
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .returning('id')
      .executeTakeFirst()
    return row !== undefined
  }

  async insertTag(values: ColumnTagValues): Promise<ColumnTagRow> {
    return this.db
      .insertInto('column_tags')
      .values({ id: newId(), ...values })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async listTags(
    organizationId: string,
    projectId: string,
    options: { after?: string | undefined; limit?: number; tag?: string | undefined },
  ): Promise<ColumnTagRow[]> {
    return this.#tags(organizationId, projectId)
      .selectAll()
      .$if(options.tag !== undefined, (query) => query.where('tag', '=', options.tag!))
      .$if(options.after !== undefined, (query) => query.where('id', '>', options.after!))
      .orderBy('id')
      .$if(options.limit !== undefined, (query) => query.limit(options.limit! + 1))
      .execute()
  }

  /** The tagged columns of a project carrying one of `tags`. */
  async columnsTagged(organizationId: string, projectId: string, tags: readonly string[]): Promise<ColumnTagRow[]> {
    if (tags.length === 0) return []
    return this.#tags(organizationId, projectId).selectAll().where('tag', 'in', tags).execute()
  }

  async user(organizationId: string, id: string): Promise<CallerRow | undefined> {
    return this.db
      .selectFrom('users')
      .select(['email', 'name', 'attributes'])
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst()
  }

  async apiKey(organizationId: string, id: string): Promise<Pick<CallerRow, 'name' | 'attributes'> | undefined> {
    return this.db
      .selectFrom('api_keys')
      .select(['name', 'attributes'])
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst()
  }

  #privacy(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('privacy_policies')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
  }

  #rows(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('row_policies')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
  }

  #tags(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('column_tags')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
  }
}
