import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { isIP } from 'node:net'
import { Readable, Transform } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'

import { type AddressPolicy, bareHost, OutboundRefusedError, type PinnedTarget } from './address-policy.js'

/** Redirects followed for one call, each one checked again by the policy. */
export const MAX_REDIRECTS = 5
/** Largest response body read from an outbound peer, streams of events aside. */
const MAX_BODY_BYTES = 16 * 1024 * 1024

export interface GuardedFetchOptions {
  /**
   * Headers added to requests for this origin only (an agent's credentials): never to another
   * origin a redirect or an agent card points to.
   */
  credentials?: { origin: string; headers: Record<string, string> }
}

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const NULL_BODY = new Set([101, 204, 205, 304])

/**
 * A `fetch` for outbound calls, built on node:http(s) because the undici `Agent` (whose
 * `connect.lookup` would pin addresses) is not a dependency of this server: every hop is checked by
 * the policy, its one checked address is the one connected to (`lookup` answers it, so Host and TLS
 * still use the name), and redirects are followed here, at most five, each checked again. SDK
 * clients (A2A, MCP) take it as their `fetch`.
 */
export class OutboundClient {
  readonly #agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
  }

  constructor(readonly policy: AddressPolicy) {}

  fetch(options: GuardedFetchOptions = {}): FetchLike {
    return (input, init) => this.#fetch(input, init, options)
  }

  close(): void {
    this.#agents.http.destroy()
    this.#agents.https.destroy()
  }

  async #fetch(input: string | URL | Request, init: RequestInit | undefined, options: GuardedFetchOptions) {
    const request = input instanceof Request ? input : undefined
    let url = new URL(request ? request.url : input instanceof URL ? input.href : input)
    let method = (init?.method ?? request?.method ?? 'GET').toUpperCase()
    const headers = new Headers(init?.headers ?? request?.headers)
    let body = await bodyBytes(init?.body ?? (request?.body ? await request.arrayBuffer() : undefined))
    const signal = init?.signal ?? request?.signal ?? undefined
    const redirect = init?.redirect ?? request?.redirect ?? 'follow'
    const credentialNames = Object.keys(options.credentials?.headers ?? {})

    for (let hop = 0; ; hop += 1) {
      const target = await this.policy.resolve(url)
      const hopHeaders = new Headers(headers)
      for (const name of credentialNames) hopHeaders.delete(name)
      if (options.credentials && url.origin === new URL(options.credentials.origin).origin) {
        for (const [name, value] of Object.entries(options.credentials.headers)) hopHeaders.set(name, value)
      }
      const response = await this.#send(target, method, hopHeaders, body, signal)
      const location = response.headers.get('location')
      if (!REDIRECTS.has(response.status) || location === null || redirect === 'manual') return response
      await response.body?.cancel()
      if (redirect === 'error') throw new TypeError(`redirected to ${location}, and redirects were refused`)
      if (hop >= MAX_REDIRECTS) throw new OutboundRefusedError(`more than ${MAX_REDIRECTS} redirects`)
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET'
        body = undefined
        headers.delete('content-type')
      }
      try {
        url = new URL(location, url)
      } catch {
        throw new OutboundRefusedError('redirected to something that is not a URL')
      }
    }
  }

  #send(
    target: PinnedTarget,
    method: string,
    headers: Headers,
    body: Buffer | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const { url } = target
    const hostname = bareHost(url.hostname)
    const secure = url.protocol === 'https:'
    const pinned: LookupFunction = (_host, lookupOptions, callback) => {
      if (lookupOptions.all) callback(null, [{ address: target.address, family: target.family }])
      else callback(null, target.address, target.family)
    }
    const outgoing: Record<string, string> = {}
    headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'host' && name !== 'connection') outgoing[name] = value
    })
    if (body) outgoing['content-length'] = String(body.length)
    return new Promise<Response>((resolve, reject) => {
      const req = (secure ? https : http).request(
        {
          protocol: url.protocol,
          hostname,
          port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
          path: `${url.pathname}${url.search}`,
          method,
          headers: outgoing,
          lookup: pinned,
          agent: secure ? this.#agents.https : this.#agents.http,
          ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {}),
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const responseHeaders = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const item of value) responseHeaders.append(name, item)
            else if (value !== undefined) responseHeaders.set(name, value)
          }
          const status = res.statusCode ?? 0
          if (status < 200 || status > 599) {
            res.destroy()
            reject(new TypeError(`the peer answered with HTTP status ${status}`))
            return
          }
          const streaming = (responseHeaders.get('content-type') ?? '').includes('text/event-stream')
          const source = streaming ? res : res.pipe(limitBytes(MAX_BODY_BYTES))
          if (!streaming) res.on('error', (error) => source.destroy(error))
          const stream =
            NULL_BODY.has(status) || method === 'HEAD'
              ? null
              : (Readable.toWeb(source) as NodeReadableStream<Uint8Array>)
          if (stream === null) res.resume()
          const response = new Response(stream, {
            status,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders,
          })
          Object.defineProperty(response, 'url', { value: url.href })
          resolve(response)
        },
      )
      req.on('error', (error) => reject(abortReason(signal) ?? error))
      req.end(body)
    })
  }
}

function abortReason(signal: AbortSignal | undefined): Error | undefined {
  if (!signal?.aborted) return undefined
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError')
}

function limitBytes(max: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > max) callback(new TypeError(`the peer's answer exceeds ${max} bytes`))
      else callback(null, chunk)
    },
  })
}

async function bodyBytes(body: RequestInit['body'] | ArrayBuffer): Promise<Buffer | undefined> {
  if (body === null || body === undefined) return undefined
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  return Buffer.from(await new Response(body).arrayBuffer())
}
