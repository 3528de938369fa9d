import type { AddressInfo } from 'node:net'

import { serve } from '@hono/node-server'

export const API = '/api/v1'

/** Serves `fetch` on a free loopback port: its base URL, and how to stop it. */
export async function serveOnLoopback(
  fetch: (request: Request) => Response | Promise<Response>,
): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** A JSON call of the API at `baseUrl` with a key; anything but 2xx throws, with what the server said. */
export function apiClient(baseUrl: string) {
  return async <T>(method: string, url: string, key: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${baseUrl}${API}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${text}`)
    return JSON.parse(text) as T
  }
}
