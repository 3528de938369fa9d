import type { ImportJob } from '@tributary/contract'

import type { ApiResponse, TestApp } from '../../../test/harness.js'

/** A multipart upload through the app, as a browser or curl would send it. */
export async function uploadFile(
  app: TestApp,
  key: string,
  path: string,
  content: string | Uint8Array,
  fileName: string,
  fields: Record<string, string> = {},
): Promise<ApiResponse> {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  form.append('file', new Blob([content]), fileName)
  const response = await app.tributary.app.request(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  })
  const text = await response.text()
  const body: unknown = text ? JSON.parse(text) : text
  return { status: response.status, body, headers: response.headers }
}

/** Polls an import until it ends. */
export async function waitForImport(app: TestApp, key: string, path: string, timeoutMs = 30_000): Promise<ImportJob> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const response = await app.request<ImportJob>('GET', path, { key })
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(response.body)}`)
    if (['succeeded', 'failed', 'cancelled'].includes(response.body.status)) return response.body
    if (Date.now() > deadline) throw new Error(`import still ${response.body.status} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
