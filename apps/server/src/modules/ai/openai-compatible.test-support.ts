import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

/** A request the fake server received. */
export interface SeenRequest {
  url: string
  authorization: string | undefined
  body: RequestBody | null
}

/** The fields of a chat or embeddings request this server reads. */
interface RequestBody {
  model?: string
  input?: string[]
  [field: string]: unknown
}

export interface FakeOpenAI {
  /** `http://127.0.0.1:<port>/v1`, as `base_url` takes it. */
  baseUrl: string
  seen: SeenRequest[]
  close(): Promise<void>
}

/**
 * A stand-in OpenAI-compatible server on 127.0.0.1 (Ollama, vLLM and LM Studio speak this protocol),
 * so that the real provider path is tested without the network. It accepts the key `good-key` only;
 * the model `broken` answers 500; chat answers `select 42 as answer` with 21 + 5 tokens; embeddings
 * are `[text length, 1, 0]`.
 */
export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const seen: SeenRequest[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let raw = ''
    request.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')))
    request.on('end', () => {
      const body = raw ? (JSON.parse(raw) as RequestBody) : null
      seen.push({ url: request.url ?? '', authorization: request.headers.authorization, body })
      const send = (status: number, payload: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(JSON.stringify(payload))
      }
      if (request.headers.authorization !== 'Bearer good-key') {
        return send(401, { error: { message: 'invalid api key', type: 'invalid_request_error' } })
      }
      if (request.url === '/v1/chat/completions' && body?.model === 'broken') {
        return send(500, { error: { message: 'the model crashed' } })
      }
      if (request.url === '/v1/chat/completions') {
        return send(200, {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1_700_000_000,
          model: body?.model,
          choices: [
            { index: 0, message: { role: 'assistant', content: 'select 42 as answer' }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 },
        })
      }
      if (request.url === '/v1/embeddings') {
        const inputs = body?.input ?? []
        return send(200, {
          object: 'list',
          data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: [text.length, 1, 0] })),
          model: body?.model,
          usage: { prompt_tokens: 4, total_tokens: 4 },
        })
      }
      send(404, { error: { message: 'no such route' } })
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    seen,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
