import { createRoute, z } from '@hono/zod-openapi'
import {
  CreatedWebhook,
  CreateWebhook,
  Id,
  ListQuery,
  listOf,
  UpdatedWebhook,
  UpdateWebhook,
  Webhook,
  WebhookDelivery,
  WebhookTestResult,
} from '@tributary/contract'

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
import type { WebhooksService } from './webhooks.service.js'

const tags = ['Webhooks']
const WebhookParams = z.object({ webhook_id: Id })

const MANAGERS =
  'Organization admins (users with role `admin`, organization keys with the `admin` scope) manage every webhook ' +
  'of the organization; a project key with `admin` manages only its own project’s. Others get 403.'
const SIGNED =
  'Each event is a POST of a `WebhookEvent` with the headers `X-Tributary-Event`, `X-Tributary-Event-Id`, ' +
  '`X-Tributary-Delivery-Id` and `X-Tributary-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(signing_secret, ' +
  't + "." + raw body)>`. A 2xx answer is a success; no answer, 408, 429 and 5xx are retried with exponential ' +
  'backoff, 5 attempts in all; other answers fail the delivery at once.'

export function webhooksRoutes(webhooks: WebhooksService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhooks',
        tags,
        summary: 'Subscribe a URL to events',
        description:
          `${MANAGERS} ${SIGNED} The target must be http(s); an address in a private, loopback, link-local, ` +
          'unique-local, CGNAT or multicast range is refused (422) unless the operator allows it with ' +
          '`TRIBUTARY_OUTBOUND_ALLOW`. `signing_secret` is in this response only.',
        security: bearerSecurity,
        request: { body: jsonBody(CreateWebhook) },
        responses: { 201: jsonResponse(CreatedWebhook, 'The webhook'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => c.json(await webhooks.create(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhooks',
        tags,
        summary: 'List webhooks',
        description: `${MANAGERS} A project key lists its project’s webhooks.`,
        security: bearerSecurity,
        request: { query: ListQuery },
        responses: { 200: jsonResponse(listOf(Webhook), 'Webhooks'), ...errorResponses(...AUTHENTICATED_ERRORS) },
      }),
      async (c) => c.json(await webhooks.list(contextOf(c), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhooks/{webhook_id}',
        tags,
        summary: 'Get a webhook',
        description: MANAGERS,
        security: bearerSecurity,
        request: { params: WebhookParams },
        responses: { 200: jsonResponse(Webhook, 'The webhook'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => c.json(await webhooks.get(contextOf(c), c.req.valid('param').webhook_id), 200),
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/webhooks/{webhook_id}',
        tags,
        summary: 'Change a webhook or rotate its secret',
        description: `${MANAGERS} With \`rotate_secret: true\` the new \`signing_secret\` is in this response only.`,
        security: bearerSecurity,
        request: { params: WebhookParams, body: jsonBody(UpdateWebhook) },
        responses: {
          200: jsonResponse(UpdatedWebhook, 'The webhook'),
          ...errorResponses(...WRITE_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await webhooks.update(contextOf(c), c.req.valid('param').webhook_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/webhooks/{webhook_id}',
        tags,
        summary: 'Delete (archive) a webhook',
        description: `${MANAGERS} Deliveries not yet sent are given up.`,
        security: bearerSecurity,
        request: { params: WebhookParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        await webhooks.archive(contextOf(c), c.req.valid('param').webhook_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhooks/{webhook_id}/deliveries',
        tags,
        summary: 'List a webhook’s deliveries, newest first',
        description: `${MANAGERS} Each with its status and every attempt: status code, the start of the answer, error, duration.`,
        security: bearerSecurity,
        request: { params: WebhookParams, query: ListQuery },
        responses: {
          200: jsonResponse(listOf(WebhookDelivery), 'Deliveries'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await webhooks.deliveries(contextOf(c), c.req.valid('param').webhook_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhooks/{webhook_id}/test',
        tags,
        summary: 'Send a ping event now',
        description:
          `${MANAGERS} One attempt, no retries, recorded as a delivery. A target that fails is still a 200: ` +
          'the outcome is in `ok` and `attempt`.',
        security: bearerSecurity,
        request: { params: WebhookParams },
        responses: {
          200: jsonResponse(WebhookTestResult, 'What the target answered'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => c.json(await webhooks.test(contextOf(c), c.req.valid('param').webhook_id, c.req.raw.signal), 200),
    )
}
