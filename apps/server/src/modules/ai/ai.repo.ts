import { sql } from 'kysely'

import { newId } from '../../lib/ids.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AiPolicyRow, AiSettingsRow } from '../../metadata/schema.js'

export interface AiSettingsValues {
  provider: AiSettingsRow['provider']
  model: string | null
  base_url: string | null
  /** Sealed. */
  api_key: string | null
  embedding_model: string | null
  monthly_token_budget: number | null
}

export interface NewAiUsage {
  organization_id: string
  project_id: string | null
  feature: 'ask' | 'generate' | 'suggest' | 'search'
  provider: string
  model: string
  input_tokens: number
  output_tokens: number
}

/** Tokens of one project, feature and model over a period. */
export interface UsageGroup {
  project_id: string | null
  feature: NewAiUsage['feature']
  provider: string
  model: string
  requests: number
  input_tokens: number
  output_tokens: number
}

export class AiRepo {
  constructor(private readonly db: MetadataDb) {}

  async settings(organizationId: string): Promise<AiSettingsRow | undefined> {
    return this.db
      .selectFrom('ai_settings')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .executeTakeFirst()
  }

  async saveSettings(organizationId: string, values: AiSettingsValues): Promise<AiSettingsRow> {
    return this.db
      .insertInto('ai_settings')
      .values({ organization_id: organizationId, ...values })
      .onConflict((conflict) => conflict.column('organization_id').doUpdateSet({ ...values, updated_at: new Date() }))
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async policy(organizationId: string, projectId: string): Promise<AiPolicyRow | undefined> {
    return this.db
      .selectFrom('ai_policies')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('project_id', '=', projectId)
      .executeTakeFirst()
  }

  async savePolicy(
    organizationId: string,
    projectId: string,
    values: { share_values: boolean; share_rows: boolean },
  ): Promise<AiPolicyRow> {
    return this.db
      .insertInto('ai_policies')
      .values({ project_id: projectId, organization_id: organizationId, ...values })
      .onConflict((conflict) =>
        conflict
          .column('project_id')
          .doUpdateSet({ ...values, updated_at: new Date() })
          // A project id of another organization never reaches here; the guard keeps it that way.
          .where('ai_policies.organization_id', '=', organizationId),
      )
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async recordUsage(values: NewAiUsage): Promise<void> {
    await this.db
      .insertInto('ai_usage')
      .values({ id: newId(), ...values })
      .execute()
  }

  /** Tokens spent by the organization since `from`. */
  async tokensSince(organizationId: string, from: Date): Promise<number> {
    const row = await this.db
      .selectFrom('ai_usage')
      .select(sql<number>`coalesce(sum(input_tokens + output_tokens), 0)::float8`.as('tokens'))
      .where('organization_id', '=', organizationId)
      .where('created_at', '>=', from)
      .executeTakeFirstOrThrow()
    return Number(row.tokens)
  }

  /** Usage in `[from, to)`, by project, feature and model. */
  async usageGroups(organizationId: string, from: Date, to: Date): Promise<UsageGroup[]> {
    const rows = await this.db
      .selectFrom('ai_usage')
      .select([
        'project_id',
        'feature',
        'provider',
        'model',
        sql<number>`count(*)::float8`.as('requests'),
        sql<number>`sum(input_tokens)::float8`.as('input_tokens'),
        sql<number>`sum(output_tokens)::float8`.as('output_tokens'),
      ])
      .where('organization_id', '=', organizationId)
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .groupBy(['project_id', 'feature', 'provider', 'model'])
      .execute()
    return rows.map((row) => ({
      ...row,
      requests: Number(row.requests),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
    }))
  }
}
