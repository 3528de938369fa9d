import type {
  AiFeature,
  AiPolicy,
  AiSettings,
  AiUsage,
  AiUsageQuery,
  UpdateAiPolicy,
  UpdateAiSettings,
} from '@tributary/contract'
import { embedMany, type LanguageModel } from 'ai'

import { requirePermission, requireTenant, type Permission } from '../../auth/access.js'
import type { RequestContext, TenantContext } from '../../auth/principal.js'
import type { AiConfig } from '../../config/config.js'
import { type AppError, errors } from '../../lib/errors.js'
import type { SecretBox } from '../../lib/secret-box.js'
import type { Embedder } from '../../lib/text-search.js'
import type { MetadataDb } from '../../metadata/database.js'
import type { AiPolicyRow, AiSettingsRow } from '../../metadata/schema.js'
import { toIso } from '../../metadata/store-errors.js'
import type { AuditService } from '../audit/audit.service.js'
import type { ProjectsService } from '../projects/projects.service.js'
import { aiErrors, providerFailure } from './ai.errors.js'
import { AiRepo, type AiSettingsValues, type UsageGroup } from './ai.repo.js'
import { type LanguageModelProvider, type ModelSettings, timeoutSignal, withTimeout } from './language-models.js'
import { estimatedCost } from './model-prices.js'

/** A language model ready to call, with the names usage and errors report. */
export interface ResolvedModel {
  model: LanguageModel
  provider: string
  modelId: string
}

/** What one call of a model spent, as the features that call models report it. */
export interface ModelUsage {
  projectId: string | null
  feature: AiFeature
  provider: string
  modelId: string
  /** As the AI SDK reports it: undefined when the provider did not say. */
  inputTokens: number | undefined
  outputTokens: number | undefined
}

/** What a project lets leave the machine. */
export interface DataPolicy {
  share_values: boolean
  share_rows: boolean
}

/** Schema and metadata always go to the model; values unless turned off; result rows only when turned on. */
const DEFAULT_POLICY: DataPolicy = { share_values: true, share_rows: false }

/** Settings (org or instance) with the model to use, or none. */
interface EffectiveSettings {
  source: 'organization' | 'instance'
  settings: ModelSettings
  embeddingModel: string | null
}

export interface AiServiceOptions {
  config: AiConfig
  /** Seals organizations' API keys at rest. */
  secrets: SecretBox
  languageModels: LanguageModelProvider
  projects: ProjectsService
  audit: AuditService
}

/**
 * Language models for the rest of the platform (issue 12): which model an organization uses (its own
 * settings over the instance's), what a project lets the model see, and the tokens spent against a
 * monthly budget. The ask pipeline calls `languageModel`, `policy`, `assertBudget`, `recordUsage` and
 * `providerError`; the metadata search calls `embedder`.
 */
export class AiService {
  constructor(
    private readonly db: MetadataDb,
    private readonly options: AiServiceOptions,
  ) {}

  // ── For the features that call models ──────────────────────────────────────────────────────────

  /** The organization's model, else the instance's, else null: questions are then answered offline. */
  async languageModel(tenant: TenantContext): Promise<ResolvedModel | null> {
    const effective = await this.#effective(tenant.principal.organizationId)
    if (!effective) return null
    const { settings } = effective
    return {
      model: withTimeout(this.options.languageModels.languageModel(settings), this.options.config.timeoutMs),
      provider: settings.provider,
      modelId: settings.model,
    }
  }

  /**
   * Embeddings for vector search, when the organization's provider (or the instance's) has an
   * embedding model set; `key` changes whenever the model does, for caches of embedded text. The tokens
   * of every call are counted in the organization's usage, under `feature` and the project.
   */
  async embedder(
    tenant: TenantContext,
    usage: { projectId: string | null; feature: AiFeature } = { projectId: null, feature: 'search' },
  ): Promise<{ embedder: Embedder; key: string } | null> {
    const effective = await this.#effective(tenant.principal.organizationId)
    if (!effective?.embeddingModel) return null
    const settings = { ...effective.settings, model: effective.embeddingModel }
    const model = this.options.languageModels.embeddingModel(settings)
    if (!model) return null
    const { timeoutMs } = this.options.config
    const embedder: Embedder = {
      embed: async (texts) => {
        let result: Awaited<ReturnType<typeof embedMany>>
        try {
          result = await embedMany({ model, values: texts, abortSignal: timeoutSignal(undefined, timeoutMs) })
        } catch (error) {
          throw providerFailure(settings.provider, settings.model, error, timeoutMs)
        }
        // Embedding reads text only: its tokens are input tokens.
        await this.recordUsage(tenant, {
          projectId: usage.projectId,
          feature: usage.feature,
          provider: settings.provider,
          modelId: settings.model,
          inputTokens: result.usage?.tokens,
          outputTokens: 0,
        })
        return result.embeddings
      },
    }
    return { embedder, key: `${settings.provider}:${settings.baseUrl ?? ''}:${settings.model}` }
  }

  /** The project's data policy; the caller has checked access to the project. */
  async policy(tenant: TenantContext, projectId: string): Promise<DataPolicy> {
    const row = await new AiRepo(this.db).policy(tenant.principal.organizationId, projectId)
    return row ? { share_values: row.share_values, share_rows: row.share_rows } : { ...DEFAULT_POLICY }
  }

  /** A `429 quota_exceeded` once the organization spent its monthly token budget. */
  async assertBudget(tenant: TenantContext): Promise<void> {
    const organizationId = tenant.principal.organizationId
    const repo = new AiRepo(this.db)
    const budget = budgetOf(await repo.settings(organizationId))
    if (budget === null) return
    const now = new Date()
    const used = await repo.tokensSince(organizationId, monthStart(now))
    if (used >= budget) throw aiErrors.quotaExceeded(budget, used, nextMonthStart(now))
  }

  async recordUsage(tenant: TenantContext, usage: ModelUsage): Promise<void> {
    await new AiRepo(this.db).recordUsage({
      organization_id: tenant.principal.organizationId,
      project_id: usage.projectId,
      feature: usage.feature,
      provider: usage.provider,
      model: usage.modelId,
      input_tokens: tokens(usage.inputTokens),
      output_tokens: tokens(usage.outputTokens),
    })
  }

  /** A failed call of `resolved` as the client should see it: `502 connection_error` naming the provider. */
  providerError(resolved: ResolvedModel, error: unknown): AppError {
    return providerFailure(resolved.provider, resolved.modelId, error, this.options.config.timeoutMs)
  }

  // ── Settings, policy and usage, through the API ────────────────────────────────────────────────

  /** Every member reads the settings; the API key never leaves the server. */
  async getSettings(ctx: RequestContext, organizationId: string): Promise<AiSettings> {
    this.#organization(ctx, organizationId, 'organization:read')
    return this.#toSettings(organizationId, await new AiRepo(this.db).settings(organizationId))
  }

  /** Organization admins change them; fields left out keep their value. */
  async updateSettings(ctx: RequestContext, organizationId: string, input: UpdateAiSettings): Promise<AiSettings> {
    const tenant = this.#organization(ctx, organizationId, 'organization:admin')
    return this.db.transaction().execute(async (trx) => {
      const repo = new AiRepo(trx)
      const current = await repo.settings(organizationId)
      const values = this.#merge(current, input)
      const row = await repo.saveSettings(organizationId, values)
      await this.options.audit.recordTenantWrite(trx, ctx, tenant.principal, 'ai_settings', {
        action: 'ai_settings.update',
        id: organizationId,
        // Field names only: the key itself is never written anywhere but sealed in its row.
        details: { fields: Object.keys(input), provider: values.provider, model: values.model },
      })
      return this.#toSettings(organizationId, row)
    })
  }

  async getPolicy(ctx: RequestContext, projectId: string): Promise<AiPolicy> {
    const tenant = await this.options.projects.require(ctx, projectId, 'read')
    return toPolicy(projectId, await new AiRepo(this.db).policy(tenant.principal.organizationId, projectId))
  }

  /** Changing what leaves the machine is changing the project: editors, admins, keys with `admin`. */
  async updatePolicy(ctx: RequestContext, projectId: string, input: UpdateAiPolicy): Promise<AiPolicy> {
    const tenant = await this.options.projects.require(ctx, projectId, { write: 'admin' })
    const organizationId = tenant.principal.organizationId
    return this.db.transaction().execute(async (trx) => {
      const repo = new AiRepo(trx)
      const current = (await repo.policy(organizationId, projectId)) ?? DEFAULT_POLICY
      const row = await repo.savePolicy(organizationId, projectId, {
        share_values: input.share_values ?? current.share_values,
        share_rows: input.share_rows ?? current.share_rows,
      })
      await this.options.audit.recordTenantWrite(trx, ctx, tenant.principal, 'ai_policy', {
        action: 'ai_policy.update',
        id: projectId,
        details: { share_values: row.share_values, share_rows: row.share_rows },
      })
      return toPolicy(projectId, row)
    })
  }

  /** Tokens and estimated cost in `[from, to)`, by model, feature and project, with the month's budget. */
  async usage(ctx: RequestContext, organizationId: string, query: AiUsageQuery): Promise<AiUsage> {
    this.#organization(ctx, organizationId, 'organization:read')
    const now = new Date()
    const from = query.from ?? monthStart(now)
    const to = query.to ?? now
    if (from >= to) throw aiErrors.invalidField('from', 'must be before to (which is now when left out)')
    const repo = new AiRepo(this.db)
    const [groups, settings, usedThisMonth] = await Promise.all([
      repo.usageGroups(organizationId, from, to),
      repo.settings(organizationId),
      repo.tokensSince(organizationId, monthStart(now)),
    ])
    const budget = budgetOf(settings)
    return {
      organization_id: organizationId,
      from: from.toISOString(),
      to: to.toISOString(),
      total: totals(groups),
      by_model: grouped(groups, (group) => `${group.provider}\u0000${group.model}`).map((part) => ({
        provider: part[0]!.provider,
        model: part[0]!.model,
        ...totals(part),
      })),
      by_feature: grouped(groups, (group) => group.feature).map((part) => ({
        feature: part[0]!.feature,
        ...totals(part),
      })),
      by_project: grouped(groups, (group) => group.project_id ?? '').map((part) => ({
        project_id: part[0]!.project_id,
        ...totals(part),
      })),
      budget: {
        monthly_token_budget: budget,
        month_starts_at: monthStart(now).toISOString(),
        used_this_month: usedThisMonth,
        remaining: budget === null ? null : Math.max(0, budget - usedThisMonth),
      },
    }
  }

  // ── Inside ─────────────────────────────────────────────────────────────────────────────────────

  /** Another organization is missing, never forbidden; then the permission. */
  #organization(ctx: RequestContext, organizationId: string, permission: Permission): TenantContext {
    const tenant = requireTenant(ctx)
    if (tenant.principal.organizationId !== organizationId) throw errors.notFound('organization', organizationId)
    return requirePermission(ctx, permission)
  }

  async #effective(organizationId: string): Promise<EffectiveSettings | null> {
    const chosen = chooseModel(await new AiRepo(this.db).settings(organizationId), this.options.config)
    if (!chosen) return null
    const { sealedKey, ...settings } = chosen.settings
    return {
      source: chosen.source,
      settings: { ...settings, apiKey: sealedKey === null ? settings.apiKey : this.#open(sealedKey) },
      embeddingModel: chosen.embeddingModel,
    }
  }

  #open(sealed: string): string {
    try {
      return this.options.secrets.open(sealed)
    } catch (error) {
      throw aiErrors.unreadableKey(error)
    }
  }

  /**
   * The stored settings after a change, checked as a whole. A key stays only with the provider and
   * URL it was given for: changing either without a new key drops it.
   */
  #merge(current: AiSettingsRow | undefined, input: UpdateAiSettings): AiSettingsValues {
    const pick = <K extends keyof UpdateAiSettings>(field: K, stored: NonNullable<UpdateAiSettings[K]> | null) =>
      input[field] === undefined ? stored : (input[field] ?? null)
    const provider = pick('provider', current?.provider ?? null)
    const baseUrl = pick('base_url', current?.base_url ?? null)
    const movedKey = provider !== (current?.provider ?? null) || baseUrl !== (current?.base_url ?? null)
    let sealedKey: string | null = null
    if (input.api_key) sealedKey = this.options.secrets.seal(input.api_key)
    else if (input.api_key === undefined && !movedKey) sealedKey = current?.api_key ?? null
    const values: AiSettingsValues = {
      provider,
      model: pick('model', current?.model ?? null),
      base_url: baseUrl,
      api_key: sealedKey,
      embedding_model: pick('embedding_model', current?.embedding_model ?? null),
      monthly_token_budget: pick('monthly_token_budget', budgetOf(current)),
    }
    checkSettings(values, input, movedKey && current?.api_key != null)
    return values
  }

  #toSettings(organizationId: string, row: AiSettingsRow | undefined): AiSettings {
    const chosen = chooseModel(row, this.options.config)
    return {
      organization_id: organizationId,
      provider: row?.provider ?? null,
      model: row?.model ?? null,
      base_url: row?.base_url ?? null,
      api_key_set: Boolean(row?.api_key),
      embedding_model: row?.embedding_model ?? null,
      monthly_token_budget: budgetOf(row),
      effective: chosen
        ? {
            source: chosen.source,
            provider: chosen.settings.provider,
            model: chosen.settings.model,
            embedding_model: chosen.embeddingModel,
          }
        : { source: 'none', provider: null, model: null, embedding_model: null },
      updated_at: row ? toIso(row.updated_at) : null,
    }
  }
}

/**
 * The organization's own model when it chose one, none when it chose `none`, else the instance's.
 * An organization's key is still sealed here.
 */
function chooseModel(
  row: AiSettingsRow | undefined,
  config: AiConfig,
): (Omit<EffectiveSettings, 'settings'> & { settings: ModelSettings & { sealedKey: string | null } }) | null {
  if (row?.provider === 'none') return null
  if (row?.provider && row.model) {
    return {
      source: 'organization',
      settings: {
        provider: row.provider,
        model: row.model,
        baseUrl: row.base_url ?? undefined,
        sealedKey: row.api_key,
      },
      embeddingModel: row.embedding_model,
    }
  }
  if (!config.provider || !config.model) return null
  return {
    source: 'instance',
    settings: {
      provider: config.provider,
      model: config.model,
      baseUrl: config.baseUrl,
      apiKey: config.apiKey,
      sealedKey: null,
    },
    embeddingModel: config.embeddingModel ?? null,
  }
}

/** Settings that do not fit together are a 422 naming the field to fix. */
function checkSettings(values: AiSettingsValues, input: UpdateAiSettings, droppedKey: boolean): void {
  const { provider } = values
  if (provider === null || provider === 'none') {
    const why =
      provider === null ? 'the instance’s provider is used while `provider` is null' : 'the provider is `none`'
    for (const field of ['model', 'base_url', 'api_key', 'embedding_model'] as const) {
      if (input[field] !== undefined && input[field] !== null) {
        throw aiErrors.invalidField(field, `cannot be set: ${why}; set \`provider\` too`)
      }
    }
    // What belonged to the organization's own provider goes with it.
    values.model = null
    values.base_url = null
    values.api_key = null
    values.embedding_model = null
    return
  }
  if (values.model === null) throw aiErrors.invalidField('model', `is required with provider '${provider}'`)
  if (provider === 'openai-compatible' && values.base_url === null) {
    throw aiErrors.invalidField(
      'base_url',
      "is required with provider 'openai-compatible' (Ollama: http://127.0.0.1:11434/v1)",
    )
  }
  if (provider !== 'openai-compatible' && values.api_key === null) {
    throw aiErrors.invalidField(
      'api_key',
      droppedKey
        ? `give the API key again: a stored key is dropped when provider or base_url changes`
        : `is required with provider '${provider}'`,
    )
  }
  if (provider === 'anthropic' && values.embedding_model !== null) {
    throw aiErrors.invalidField('embedding_model', 'Anthropic has no embedding models; leave it null')
  }
}

function toPolicy(projectId: string, row: AiPolicyRow | undefined): AiPolicy {
  return {
    project_id: projectId,
    share_values: row?.share_values ?? DEFAULT_POLICY.share_values,
    share_rows: row?.share_rows ?? DEFAULT_POLICY.share_rows,
    updated_at: row ? toIso(row.updated_at) : null,
  }
}

function budgetOf(row: AiSettingsRow | undefined): number | null {
  const value = row?.monthly_token_budget
  return value === null || value === undefined ? null : Number(value)
}

/** A token count as stored: a whole, non-negative number (0 when the provider did not say). */
function tokens(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.round(value) : 0
}

function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
}

function nextMonthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
}

function grouped(groups: readonly UsageGroup[], keyOf: (group: UsageGroup) => string): UsageGroup[][] {
  const parts = new Map<string, UsageGroup[]>()
  for (const group of groups) {
    const key = keyOf(group)
    const part = parts.get(key)
    if (part) part.push(group)
    else parts.set(key, [group])
  }
  // Most tokens first: what a reader looks for.
  return [...parts.values()].sort((a, b) => totalTokens(b) - totalTokens(a))
}

const totalTokens = (groups: readonly UsageGroup[]) =>
  groups.reduce((sum, group) => sum + group.input_tokens + group.output_tokens, 0)

function totals(groups: readonly UsageGroup[]) {
  let requests = 0
  let inputTokens = 0
  let outputTokens = 0
  let cost: number | null = null
  let unpriced = 0
  for (const group of groups) {
    requests += group.requests
    inputTokens += group.input_tokens
    outputTokens += group.output_tokens
    const groupCost = estimatedCost(group.provider, group.model, group.input_tokens, group.output_tokens)
    if (groupCost === null) unpriced += group.input_tokens + group.output_tokens
    else cost = (cost ?? 0) + groupCost
  }
  return {
    requests,
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    // Cents of a cent would only be noise.
    estimated_cost_usd: cost === null ? null : Math.round(cost * 1_000_000) / 1_000_000,
    unpriced_tokens: unpriced,
  }
}
