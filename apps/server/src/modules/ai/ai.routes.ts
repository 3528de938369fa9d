import { createRoute, z } from '@hono/zod-openapi'
import { AiPolicy, AiSettings, AiUsage, AiUsageQuery, Id, UpdateAiPolicy, UpdateAiSettings } from '@tributary/contract'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
} from '../../http/router.js'
import type { AiService } from './ai.service.js'

const tags = ['AI']
const OrganizationParams = z.object({ organization_id: Id })
const ProjectParams = z.object({ project_id: Id })

export function aiRoutes(ai: AiService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/organizations/{organization_id}/ai-settings',
        tags,
        summary: 'Get the organization’s language model settings',
        description:
          'Every member reads them; the API key is never returned (`api_key_set` says whether one is stored). ' +
          '`effective` is the model questions use now: the organization’s, else the instance’s ' +
          '(`TRIBUTARY_AI_*`), else none (the offline engine answers).',
        security: bearerSecurity,
        request: { params: OrganizationParams },
        responses: {
          200: jsonResponse(AiSettings, 'The settings'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await ai.getSettings(contextOf(c), c.req.valid('param').organization_id), 200),
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/organizations/{organization_id}/ai-settings',
        tags,
        summary: 'Choose the organization’s language model',
        description:
          'Organization admins only. Fields left out keep their value. `openai` and `anthropic` need an API key, ' +
          '`openai-compatible` a base URL (Ollama, vLLM, LM Studio). The key is encrypted at rest and write-only; ' +
          'changing the provider or the base URL without giving a key again drops the stored one.',
        security: bearerSecurity,
        request: { params: OrganizationParams, body: jsonBody(UpdateAiSettings) },
        responses: {
          200: jsonResponse(AiSettings, 'The settings as saved'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await ai.updateSettings(contextOf(c), c.req.valid('param').organization_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/organizations/{organization_id}/ai-usage',
        tags,
        summary: 'Tokens spent on language models, and their estimated cost',
        description:
          'By model, feature and project, over `[from, to)` (this month by default), with the monthly budget. ' +
          'Costs are estimates from list prices of known models; models without one (local servers) are ' +
          'counted in `unpriced_tokens`.',
        security: bearerSecurity,
        request: { params: OrganizationParams, query: AiUsageQuery },
        responses: {
          200: jsonResponse(AiUsage, 'The usage'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await ai.usage(contextOf(c), c.req.valid('param').organization_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/ai-policy',
        tags,
        summary: 'What the project lets leave the machine',
        description:
          'Schema and metadata always go to the language model; categorical and sample values unless ' +
          '`share_values` is false; result rows (to write the answer) only when `share_rows` is true.',
        security: bearerSecurity,
        request: { params: ProjectParams },
        responses: {
          200: jsonResponse(AiPolicy, 'The policy'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await ai.getPolicy(contextOf(c), c.req.valid('param').project_id), 200),
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/projects/{project_id}/ai-policy',
        tags,
        summary: 'Change what the project lets leave the machine',
        description: 'Editors and admins, and keys with the `admin` scope. Fields left out keep their value.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(UpdateAiPolicy) },
        responses: {
          200: jsonResponse(AiPolicy, 'The policy as saved'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await ai.updatePolicy(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 200),
    )
}
