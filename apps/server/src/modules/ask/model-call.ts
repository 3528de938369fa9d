import type { TenantContext } from '../../auth/principal.js'
import type { LanguageModel } from 'ai'

import type { AppError } from '../../lib/errors.js'
import type { SharePolicy } from './ask-prompts.js'

/** A language model chosen for an organization, as the AI module resolves it. */
export interface ResolvedModel {
  model: LanguageModel
  provider: string
  modelId: string
}

/** What the pipeline needs of the AI module: the model, the project's policy, the budget and the bill. */
export interface LanguageModels {
  languageModel(tenant: TenantContext): Promise<ResolvedModel | null>
  policy(tenant: TenantContext, projectId: string): Promise<SharePolicy>
  assertBudget(tenant: TenantContext): Promise<void>
  recordUsage(
    tenant: TenantContext,
    usage: {
      projectId: string
      feature: 'ask' | 'generate' | 'suggest'
      provider: string
      modelId: string
      inputTokens: number
      outputTokens: number
    },
  ): Promise<void>
  providerError(resolved: ResolvedModel, error: unknown): AppError
}

export interface ModelTokens {
  input: number
  output: number
}

/**
 * One call to the language model, as every feature makes it: the budget checked first, a provider's
 * failure turned into a 502 naming it (unless the caller went away), the tokens billed to the project.
 */
export async function callModel<
  T extends { usage: { inputTokens: number | undefined; outputTokens: number | undefined } },
>(
  models: LanguageModels,
  tenant: TenantContext,
  use: { projectId: string; feature: 'ask' | 'generate' | 'suggest'; resolved: ResolvedModel; signal?: AbortSignal },
  call: () => Promise<T>,
): Promise<{ result: T; tokens: ModelTokens }> {
  await models.assertBudget(tenant)
  let result: T
  try {
    result = await call()
  } catch (error) {
    if (use.signal?.aborted) throw use.signal.reason
    throw models.providerError(use.resolved, error)
  }
  const tokens = { input: result.usage.inputTokens ?? 0, output: result.usage.outputTokens ?? 0 }
  await models.recordUsage(tenant, {
    projectId: use.projectId,
    feature: use.feature,
    provider: use.resolved.provider,
    modelId: use.resolved.modelId,
    inputTokens: tokens.input,
    outputTokens: tokens.output,
  })
  return { result, tokens }
}
