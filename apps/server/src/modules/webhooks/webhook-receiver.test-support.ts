import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'

import type { WebhookEvent } from '@tributary/contract'

export interface ReceivedRequest {
  path: string
  headers: IncomingHttpHeaders
  /** The raw body, as the signature covers it. */
  body: string
  event: WebhookEvent
}

/** What the receiver answers the n-th request (0-based), after `delayMs`; `hold` never answers. */
export type Answer = { status: number; body?: string; delayMs?: number } | 'hold'

export interface Receiver {
  url: string
  requests: ReceivedRequest[]
  /** Changes what later requests are answered. */
  answer(answer: (request: ReceivedRequest, index: number) => Answer): void
  /** Resolves with the requests once `count` matching ones arrived. */
  waitFor(count: number, match?: (request: ReceivedRequest) => boolean, timeoutMs?: number): Promise<ReceivedRequest[]>
  close(): Promise<void>
}

/** A webhook receiver on 127.0.0.1 that keeps every request it gets; it answers 200 unless told otherwise. */
export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  let answerOf: (request: ReceivedRequest, index: number) => Answer = () => ({ status: 200, body: 'ok' })
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const request = { path: req.url ?? '/', headers: req.headers, body, event: JSON.parse(body) as WebhookEvent }
      const answer = answerOf(request, requests.length)
      requests.push(request)
      if (answer === 'hold') {
        held.push(res)
        return
      }
      const send = () => res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? '')
      if (answer.delayMs) setTimeout(send, answer.delayMs)
      else send()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    answer: (answer) => {
      answerOf = answer
    },
    async waitFor(count, match = () => true, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = requests.filter(match)
        if (found.length >= count) return found
        if (Date.now() > deadline) {
          throw new Error(
            `expected ${count} requests, got ${found.length}: ${JSON.stringify(requests.map((r) => r.event.type))}`,
          )
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    async close() {
      for (const res of held) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
