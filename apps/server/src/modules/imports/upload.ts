import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'

import { Busboy, type BusboyFileStream } from '@fastify/busboy'
import type { Context } from 'hono'

import { errors } from '../../lib/errors.js'
import { importErrors } from './imports.errors.js'

/** The one route that takes a multipart body: it streams the file and enforces its own size limit. */
const UPLOAD_PATH = /\/projects\/[^/]+\/datasets\/[^/]+\/tables\/[^/]+\/imports\/?$/
const MULTIPART = /^multipart\/form-data\s*;/i

export function isUploadRequest(c: Context): boolean {
  return c.req.method === 'POST' && MULTIPART.test(c.req.header('content-type') ?? '') && UPLOAD_PATH.test(c.req.path)
}

export interface ReceivedUpload {
  /** Where the file now is; the caller owns it. */
  path: string
  fileName: string | null
  sizeBytes: number
  fields: Record<string, string>
}

const MAX_FIELDS = 20
const MAX_FIELD_BYTES = 10_000
// Multipart framing and option fields around the file: a request this much over the limit cannot fit.
const FRAMING_ALLOWANCE = MAX_FIELDS * MAX_FIELD_BYTES + 64 * 1024

/**
 * Streams the `file` part of a multipart request to `target` (never whole in memory) and collects
 * the other fields. Over `limitBytes`: 413 and nothing left on disk.
 */
export async function receiveUpload(request: Request, target: string, limitBytes: number): Promise<ReceivedUpload> {
  const contentType = request.headers.get('content-type') ?? ''
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  if (Number.isFinite(declared) && declared > limitBytes + FRAMING_ALLOWANCE)
    throw importErrors.uploadTooLarge(limitBytes)
  if (!request.body) throw importErrors.noFile()

  const busboy = Busboy({
    headers: { 'content-type': contentType },
    limits: { fileSize: limitBytes, files: 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: MAX_FIELDS + 1 },
  })
  const fields: Record<string, string> = {}
  let file: Promise<{ fileName: string | null; sizeBytes: number; truncated: boolean }> | undefined
  let refused: Error | undefined

  busboy.on('field', (name, value, _nameTruncated, valueTruncated) => {
    if (valueTruncated) refused ??= errors.validation(`${name}: must be at most ${MAX_FIELD_BYTES} bytes`)
    fields[name] = value
  })
  busboy.on('file', (name, stream: BusboyFileStream, fileName) => {
    if (name !== 'file' || file) {
      refused ??= errors.validation(`${name}: unexpected file; send one file in the field 'file'`)
      stream.resume()
      return
    }
    file = writeFile(stream, target, fileName || null)
  })
  busboy.on('fieldsLimit', () => (refused ??= errors.validation(`too many fields (at most ${MAX_FIELDS})`)))
  busboy.on('partsLimit', () => (refused ??= errors.validation(`too many parts (at most ${MAX_FIELDS + 1})`)))

  try {
    try {
      await pipeline(Readable.fromWeb(request.body as WebReadableStream<Uint8Array>), busboy)
    } catch (error) {
      throw refused ?? errors.validation(`body: not a readable multipart upload (${(error as Error).message})`)
    }
    const written = await file
    if (refused) throw refused
    if (!written) throw importErrors.noFile()
    if (written.truncated) throw importErrors.uploadTooLarge(limitBytes)
    return { path: target, fileName: written.fileName, sizeBytes: written.sizeBytes, fields }
  } catch (error) {
    await file?.catch(() => undefined)
    await rm(target, { force: true })
    throw error
  }
}

async function writeFile(stream: BusboyFileStream, target: string, fileName: string | null) {
  let truncated = false
  stream.on('limit', () => {
    truncated = true
  })
  await pipeline(stream, createWriteStream(target))
  return { fileName, sizeBytes: stream.bytesRead, truncated: truncated || stream.truncated }
}
