import { afterAll, beforeAll, expect, it } from 'vitest'

import { API, describeEachStore, startTestApp, type TestApp } from '../../../test/harness.js'
import { healthRoutes } from './health.routes.js'

describeEachStore('health', (kind) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp(kind)
  })
  afterAll(() => app.close())

  it('answers ok without credentials', async () => {
    const response = await app.request('GET', `${API}/health`)
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ status: 'ok', checks: { metadata: 'ok' } })
    expect(response.headers.get('x-request-id')).toBeTruthy()
  })
})

it('answers 503 naming the failing check when the metadata store is down', async () => {
  const routes = healthRoutes({ ping: () => Promise.reject(new Error('connection refused')) })
  const response = await routes.request('/health')
  expect(response.status).toBe(503)
  expect(await response.json()).toEqual({ status: 'unavailable', checks: { metadata: 'failing' } })
})
