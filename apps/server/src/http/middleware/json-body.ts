import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'

import { AppError, errors } from '../../lib/errors.js'
import { assertStorableText } from '../../lib/validation.js'
import type { AppEnv } from '../router.js'

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i
// After strict UTF-8 decoding, only a `\u` escape can put NUL or a lone surrogate into a string:
// bodies without one (nearly all) skip the walk over the parsed value.
const RISKY_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/
const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** Caps the body size, before anything reads it. */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw errors.payloadTooLarge(maxBytes)
    },
  })
}

/**
 * For POST, PUT and PATCH. Every body this API takes is UTF-8 JSON: refuse anything else up front,
 * turn a parse failure into a 422 that says where the JSON broke, and refuse any string (or key)
 * that the metadata store could not hold, wherever it sits. `storableText: false` leaves that last
 * check to the handler (MCP, whose tools answer bad arguments as tool errors).
 */
export function requireJsonBody(options: { storableText?: boolean } = {}): MiddlewareHandler<AppEnv> {
  const checkText = options.storableText !== false
  return async function parseJsonBody(c, next) {
    const contentType = c.req.header('content-type')
    const hasBody =
      contentType !== undefined ||
      c.req.header('transfer-encoding') !== undefined ||
      (c.req.header('content-length') ?? '0') !== '0'
    if (!hasBody) return next()
    if (!contentType || !JSON_TYPE.test(contentType)) throw errors.unsupportedMediaType(contentType)
    const charset = CHARSET.exec(contentType)?.[1]?.toLowerCase()
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      throw new AppError('unsupported_media_type', `request body must be UTF-8 JSON, got charset '${charset}'`)
    }
    const encoding = c.req.header('content-encoding')?.trim().toLowerCase()
    if (encoding && encoding !== 'identity') {
      // Decompressing would invite zip bombs past the body limit; nothing here sends compressed bodies.
      throw new AppError(
        'unsupported_media_type',
        `Content-Encoding '${encoding}' is not supported; send the body uncompressed`,
      )
    }

    const text = decodeUtf8(await c.req.arrayBuffer())
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch (error) {
      if (error instanceof SyntaxError) throw errors.validation(`body: malformed JSON (${error.message})`)
      throw error
    }
    if (checkText && RISKY_ESCAPE.test(text)) assertStorableText(body, 'body')
    // The route's validator reads this parse instead of decoding and parsing the body again.
    c.req.bodyCache.json = Promise.resolve(body)
    return next()
  }
}

/** Refuses what is not UTF-8 instead of replacing it with U+FFFD, which would store something else than was sent. */
function decodeUtf8(bytes: ArrayBuffer): string {
  try {
    return UTF8.decode(bytes)
  } catch {
    throw errors.validation(`body: malformed JSON (not valid UTF-8 at byte ${firstInvalidByte(new Uint8Array(bytes))})`)
  }
}

/** The offset of the first byte that does not start a well-formed UTF-8 sequence. */
function firstInvalidByte(bytes: Uint8Array): number {
  let index = 0
  while (index < bytes.length) {
    const sequence = utf8Sequence(bytes[index]!)
    if (!sequence) return index
    const [length, low, high] = sequence
    for (let next = 1; next < length; next++) {
      const byte = bytes[index + next]
      if (byte === undefined || byte < (next === 1 ? low : 0x80) || byte > (next === 1 ? high : 0xbf)) return index
    }
    index += length
  }
  return index
}

/**
 * The length of the sequence a lead byte starts and the range of its second byte (Unicode table
 * 3-7), which shuts out overlong forms, surrogates and code points past U+10FFFF.
 */
function utf8Sequence(lead: number): [length: number, low: number, high: number] | undefined {
  if (lead < 0x80) return [1, 0, 0]
  if (lead >= 0xc2 && lead <= 0xdf) return [2, 0x80, 0xbf]
  if (lead === 0xe0) return [3, 0xa0, 0xbf]
  if (lead === 0xed) return [3, 0x80, 0x9f]
  if (lead >= 0xe1 && lead <= 0xef) return [3, 0x80, 0xbf]
  if (lead === 0xf0) return [4, 0x90, 0xbf]
  if (lead >= 0xf1 && lead <= 0xf3) return [4, 0x80, 0xbf]
  if (lead === 0xf4) return [4, 0x80, 0x8f]
  return undefined
}
