import { newId } from '../../lib/ids.js'
import type { CredentialRow, CredentialsTable } from '../../metadata/credentials-schema.js'
import type { MetadataDb } from '../../metadata/database.js'

export interface NewCredential {
  organization_id: string
  project_id: string
  name: string
  description: string | null
  type: CredentialsTable['type']
  header_name: string | null
  username: string | null
  secret: string
  allowed_hosts: string[]
}

export type CredentialChanges = Partial<Omit<NewCredential, 'organization_id' | 'project_id'>>

/** A project's credentials; every statement names the organization and the project, so no id reaches across. */
export class CredentialsRepo {
  constructor(private readonly db: MetadataDb) {}

  async insert(values: NewCredential): Promise<CredentialRow> {
    return this.db
      .insertInto('credentials')
      .values({ id: newId(), ...values, allowed_hosts: JSON.stringify(values.allowed_hosts) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async find(organizationId: string, projectId: string, id: string): Promise<CredentialRow | undefined> {
    return this.#ofProject(organizationId, projectId).selectAll().where('id', '=', id).executeTakeFirst()
  }

  async list(organizationId: string, projectId: string, after: string | undefined, limit: number) {
    return this.#ofProject(organizationId, projectId)
      .selectAll()
      .$if(after !== undefined, (query) => query.where('id', '>', after!))
      .orderBy('id')
      .limit(limit + 1)
      .execute()
  }

  async update(
    organizationId: string,
    projectId: string,
    id: string,
    changes: CredentialChanges,
  ): Promise<CredentialRow | undefined> {
    const { allowed_hosts, ...rest } = changes
    const now = new Date()
    return this.db
      .updateTable('credentials')
      .set({
        ...rest,
        ...(allowed_hosts ? { allowed_hosts: JSON.stringify(allowed_hosts) } : {}),
        ...(changes.secret ? { secret_updated_at: now } : {}),
        updated_at: now,
      })
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
  }

  async delete(organizationId: string, projectId: string, id: string): Promise<CredentialRow | undefined> {
    return this.db
      .deleteFrom('credentials')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
  }

  #ofProject(organizationId: string, projectId: string) {
    return this.db
      .selectFrom('credentials')
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
  }
}
