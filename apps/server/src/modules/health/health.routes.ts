import { createRoute, z } from '@hono/zod-openapi'

import { createRouter, jsonResponse } from '../../http/router.js'
import type { MetadataStore } from '../../metadata/database.js'

const Health = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.record(z.string(), z.enum(['ok', 'failing'])),
  })
  .meta({ id: 'Health' })

const CHECK_TIMEOUT_MS = 2_000

export function healthRoutes(store: Pick<MetadataStore, 'ping'>) {
  return createRouter().openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['Health'],
      summary: 'Liveness and dependency checks (no auth)',
      responses: {
        200: jsonResponse(Health, 'Every check passes'),
        503: jsonResponse(Health, 'At least one check fails'),
      },
    }),
    async (c) => {
      const metadata = await withTimeout(store.ping(), CHECK_TIMEOUT_MS).then(
        () => 'ok' as const,
        () => 'failing' as const,
      )
      return metadata === 'ok'
        ? c.json({ status: 'ok' as const, checks: { metadata } }, 200)
        : c.json({ status: 'unavailable' as const, checks: { metadata } }, 503)
    },
  )
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
