import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { API, startTestApp, type TestApp } from '../../test/harness.js'

interface Operation {
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> }
  parameters?: { name: string; in: string }[]
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>
  security?: unknown[]
}

const EXPECTED_ROUTES = [
  'GET /health',
  'POST /organizations',
  'GET /organizations',
  'GET /organizations/{organization_id}',
  'PATCH /organizations/{organization_id}',
  'DELETE /organizations/{organization_id}',
  'POST /organizations/{organization_id}/api-keys',
  'GET /organizations/{organization_id}/api-keys',
  'DELETE /organizations/{organization_id}/api-keys/{key_id}',
  'POST /workspaces',
  'GET /workspaces',
  'GET /workspaces/{workspace_id}',
  'PATCH /workspaces/{workspace_id}',
  'DELETE /workspaces/{workspace_id}',
  'POST /projects',
  'GET /projects',
  'GET /projects/{project_id}',
  'PATCH /projects/{project_id}',
  'DELETE /projects/{project_id}',
  'POST /projects/{project_id}/api-keys',
  'GET /projects/{project_id}/api-keys',
  'DELETE /projects/{project_id}/api-keys/{key_id}',
  'POST /users',
  'GET /users',
  'GET /users/me',
  'POST /users/invite',
  'GET /users/{user_id}',
  'PATCH /users/{user_id}',
  'DELETE /users/{user_id}',
  'PATCH /users/{user_id}/role',
  'POST /auth/login',
  'POST /auth/accept-invite',
  'GET /audit-log',
  'GET /connection-types',
  'POST /projects/{project_id}/connections',
  'GET /projects/{project_id}/connections',
  'GET /projects/{project_id}/connections/{connection_id}',
  'PATCH /projects/{project_id}/connections/{connection_id}',
  'DELETE /projects/{project_id}/connections/{connection_id}',
  'POST /projects/{project_id}/connections/{connection_id}/test',
  'GET /projects/{project_id}/catalogs',
  'GET /projects/{project_id}/catalogs/{catalog}/schemas',
  'GET /projects/{project_id}/catalogs/{catalog}/schemas/{schema}/tables',
  'GET /projects/{project_id}/catalogs/{catalog}/schemas/{schema}/tables/{table}',
  'POST /projects/{project_id}/catalogs/{catalog}/refresh',
  'POST /projects/{project_id}/sql',
  'POST /projects/{project_id}/datasets',
  'GET /projects/{project_id}/datasets',
  'GET /projects/{project_id}/datasets/{dataset_id}',
  'PATCH /projects/{project_id}/datasets/{dataset_id}',
  'DELETE /projects/{project_id}/datasets/{dataset_id}',
  'POST /projects/{project_id}/datasets/{dataset_id}/tables',
  'GET /projects/{project_id}/datasets/{dataset_id}/tables',
  'GET /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}',
  'PATCH /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}',
  'DELETE /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}',
  'POST /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/columns',
  'PATCH /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/columns/{column_name}',
  'DELETE /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/columns/{column_name}',
  'POST /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/imports',
  'GET /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/imports',
  'GET /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/imports/{job_id}',
  'POST /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/imports/{job_id}/cancel',
  'POST /projects/{project_id}/datasets/{dataset_id}/tables/{table_id}/exports',
  'POST /projects/{project_id}/queries',
  'GET /projects/{project_id}/queries',
  'GET /projects/{project_id}/queries/{query_id}',
  'PATCH /projects/{project_id}/queries/{query_id}',
  'DELETE /projects/{project_id}/queries/{query_id}',
  'POST /projects/{project_id}/queries/{query_id}/run',
  'GET /projects/{project_id}/metadata',
  'GET /projects/{project_id}/metadata/search',
  'POST /projects/{project_id}/metadata/refresh',
  'GET /projects/{project_id}/metadata/refresh/{job_id}',
  'GET /projects/{project_id}/metadata/callback-secret',
  'GET /projects/{project_id}/metadata/{catalog}/{schema}/{table}',
  'PUT /projects/{project_id}/metadata/{catalog}/{schema}/{table}',
  'PUT /projects/{project_id}/metadata/{catalog}/{schema}',
  'PUT /projects/{project_id}/metadata/{catalog}',
  'GET /projects/{project_id}/metadata/relations',
  'POST /projects/{project_id}/metadata/relations',
  'GET /projects/{project_id}/metadata/relations/{relation_id}',
  'PUT /projects/{project_id}/metadata/relations/{relation_id}',
  'DELETE /projects/{project_id}/metadata/relations/{relation_id}',
  'PUT /projects/{project_id}/metadata/{catalog}/{schema}/{table}/columns/{column}/categorical',
  'DELETE /projects/{project_id}/metadata/{catalog}/{schema}/{table}/columns/{column}/categorical',
  'GET /projects/{project_id}/golden-sql/search',
  'POST /projects/{project_id}/golden-sql',
  'GET /projects/{project_id}/golden-sql',
  'GET /projects/{project_id}/golden-sql/{golden_sql_id}',
  'PUT /projects/{project_id}/golden-sql/{golden_sql_id}',
  'DELETE /projects/{project_id}/golden-sql/{golden_sql_id}',
  'POST /projects/{project_id}/ask',
  'POST /projects/{project_id}/ask/stream',
  'GET /projects/{project_id}/threads',
  'GET /projects/{project_id}/threads/{thread_id}',
  'PATCH /projects/{project_id}/threads/{thread_id}',
  'DELETE /projects/{project_id}/threads/{thread_id}',
  'GET /projects/{project_id}/threads/{thread_id}/messages',
  'POST /projects/{project_id}/threads/{thread_id}/messages/{message_id}/feedback',
  'POST /projects/{project_id}/metadata/{catalog}/{schema}/{table}/generate',
  'GET /projects/{project_id}/questions/suggest',
  'GET /projects/{project_id}/materialized-queries/status',
  'GET /projects/{project_id}/queries/{query_id}/status',
  'POST /projects/{project_id}/queries/{query_id}/refresh',
  'POST /projects/{project_id}/queries/{query_id}/cancel',
  'POST /projects/{project_id}/caches',
  'POST /projects/{project_id}/caches/batch',
  'GET /projects/{project_id}/caches',
  'GET /projects/{project_id}/caches/status',
  'GET /projects/{project_id}/caches/{cache_id}',
  'PUT /projects/{project_id}/caches/{cache_id}',
  'DELETE /projects/{project_id}/caches/{cache_id}',
  'POST /projects/{project_id}/caches/{cache_id}/refresh',
  'POST /projects/{project_id}/caches/{cache_id}/cancel',
  'GET /projects/{project_id}/caches/{cache_id}/history',
  'POST /projects/{project_id}/dashboards',
  'GET /projects/{project_id}/dashboards',
  'GET /projects/{project_id}/dashboards/{dashboard_id}',
  'PATCH /projects/{project_id}/dashboards/{dashboard_id}',
  'DELETE /projects/{project_id}/dashboards/{dashboard_id}',
  'POST /projects/{project_id}/dashboards/{dashboard_id}/refresh',
  'GET /projects/{project_id}/dashboards/{dashboard_id}/widgets/{widget_id}/data',
  'POST /projects/{project_id}/semantic-catalogs',
  'GET /projects/{project_id}/semantic-catalogs',
  'GET /projects/{project_id}/semantic-catalogs/{catalog}',
  'DELETE /projects/{project_id}/semantic-catalogs/{catalog}',
  'POST /projects/{project_id}/semantic-catalogs/{catalog}/tables',
  'GET /projects/{project_id}/semantic-catalogs/{catalog}/tables',
  'DELETE /projects/{project_id}/semantic-catalogs/{catalog}/tables/{table_id}',
  'POST /projects/{project_id}/semantic-catalogs/{catalog}/share',
  'DELETE /projects/{project_id}/semantic-catalogs/{catalog}/share/{target_project_id}',
  'POST /projects/{project_id}/query-jobs',
  'GET /projects/{project_id}/query-jobs',
  'GET /projects/{project_id}/query-jobs/{job_id}',
  'POST /projects/{project_id}/query-jobs/{job_id}/cancel',
  'GET /projects/{project_id}/query-jobs/{job_id}/results',
  'POST /projects/{project_id}/query-jobs/{job_id}/exports',
  'GET /projects/{project_id}/exports',
  'GET /projects/{project_id}/exports/{export_id}',
  'GET /projects/{project_id}/exports/{export_id}/download',
  'GET /export-downloads/{export_id}',
  'GET /organizations/{organization_id}/ai-settings',
  'PUT /organizations/{organization_id}/ai-settings',
  'GET /organizations/{organization_id}/ai-usage',
  'POST /agents',
  'GET /agents',
  'GET /agents/{agent_id}',
  'PATCH /agents/{agent_id}',
  'DELETE /agents/{agent_id}',
  'POST /agents/{agent_id}/test',
  'GET /agents/{agent_id}/tools',
  'GET /agents/{agent_id}/rate-limits',
  'PUT /agents/{agent_id}/rate-limits',
  'POST /projects/{project_id}/agents',
  'GET /projects/{project_id}/agents',
  'DELETE /projects/{project_id}/agents/{agent_id}',
  'POST /agent-gateway/agents/{agent_id}',
  'POST /agent-gateway/agents/{agent_id}/stream',
  'POST /agent-gateway/projects/{project_id}',
  'POST /projects/{project_id}/credentials',
  'GET /projects/{project_id}/credentials',
  'GET /projects/{project_id}/credentials/{credential_id}',
  'PATCH /projects/{project_id}/credentials/{credential_id}',
  'DELETE /projects/{project_id}/credentials/{credential_id}',
  'POST /projects/{project_id}/workflows',
  'GET /projects/{project_id}/workflows',
  'GET /projects/{project_id}/workflows/{workflow_id}',
  'PATCH /projects/{project_id}/workflows/{workflow_id}',
  'DELETE /projects/{project_id}/workflows/{workflow_id}',
  'POST /projects/{project_id}/workflows/{workflow_id}/run',
  'POST /projects/{project_id}/workflows/{workflow_id}/preview',
  'POST /projects/{project_id}/workflows/{workflow_id}/actions/{index}/test',
  'GET /projects/{project_id}/workflows/{workflow_id}/runs',
  'GET /projects/{project_id}/workflows/{workflow_id}/runs/{run_id}',
  'GET /projects/{project_id}/ai-policy',
  'PUT /projects/{project_id}/ai-policy',
  'POST /webhooks',
  'GET /webhooks',
  'GET /webhooks/{webhook_id}',
  'PATCH /webhooks/{webhook_id}',
  'DELETE /webhooks/{webhook_id}',
  'GET /webhooks/{webhook_id}/deliveries',
  'POST /webhooks/{webhook_id}/test',
  'GET /query-quota',
  'PUT /query-quota',
  'GET /query-costs',
  'POST /approvals/project-tenant',
  'POST /approvals/project-dataset',
  'GET /approvals/pending',
  'GET /approvals',
  'GET /approvals/{approval_id}',
  'POST /approvals/{approval_id}/approve',
  'POST /approvals/{approval_id}/reject',
  'POST /approvals/{approval_id}/revoke',
  'POST /projects/{project_id}/privacy-policies',
  'GET /projects/{project_id}/privacy-policies',
  'GET /projects/{project_id}/privacy-policies/{policy_id}',
  'PUT /projects/{project_id}/privacy-policies/{policy_id}',
  'DELETE /projects/{project_id}/privacy-policies/{policy_id}',
  'POST /projects/{project_id}/row-policies',
  'GET /projects/{project_id}/row-policies',
  'GET /projects/{project_id}/row-policies/{policy_id}',
  'PUT /projects/{project_id}/row-policies/{policy_id}',
  'DELETE /projects/{project_id}/row-policies/{policy_id}',
  'POST /projects/{project_id}/column-tags',
  'GET /projects/{project_id}/column-tags',
  'DELETE /projects/{project_id}/column-tags/{tag_id}',
  // MCP Streamable HTTP, beside the REST API (`/mcp`, not under `/api/v1`).
  'POST /mcp',
]

describe('OpenAPI document and docs', () => {
  let app: TestApp
  let document: { openapi: string; paths: Record<string, Record<string, Operation>>; components: any }
  beforeAll(async () => {
    app = await startTestApp('pglite')
    document = (await app.request('GET', `${API}/openapi.json`)).body
  })
  afterAll(() => app.close())

  it('is OpenAPI 3.1 and describes exactly the routes the server answers', () => {
    expect(document.openapi).toBe('3.1.0')
    const routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/^\/api\/v1/, '')}`),
    )
    expect(routes.sort()).toEqual([...EXPECTED_ROUTES].sort())
  })

  it('gives every write a required JSON body schema and every route its error responses', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const label = `${method.toUpperCase()} ${path}`
        // Actions whose body is optional, and the one route that takes a file upload or JSON.
        const isAction = /\/(test|refresh|cancel|run|exports|generate|preview|approve|revoke)$/.test(path)
        const isUpload = method === 'post' && path.endsWith('/imports')
        if ((method === 'post' && !isAction) || method === 'patch') {
          expect(operation.requestBody?.required, label).toBe(!isUpload)
          expect(operation.requestBody?.content['application/json']?.schema, label).toBeDefined()
        }
        if (isUpload) expect(operation.requestBody?.content['multipart/form-data']?.schema, label).toBeDefined()
        if (path.endsWith('/health')) continue
        // A signed download link is its own credential: no key, no key's rate limit.
        if (path.includes('/export-downloads/')) {
          expect(Object.keys(operation.responses), label).toEqual(expect.arrayContaining(['200', '403', '410']))
          expect(operation.security, label).toBeUndefined()
          continue
        }
        const takesInput = Boolean(operation.requestBody || operation.parameters?.length)
        const expected = takesInput ? ['401', '422', '429'] : ['401', '429']
        expect(Object.keys(operation.responses), label).toEqual(expect.arrayContaining(expected))
        for (const status of expected) {
          expect(operation.responses[status]!.content!['application/json']!.schema, `${label} ${status}`).toEqual({
            $ref: '#/components/schemas/Error',
          })
        }
        if (!path.includes('/auth/')) expect(operation.security, label).toEqual([{ bearerAuth: [] }])
      }
    }
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  it('carries the validation rules of the request schemas', () => {
    const schemas = document.components.schemas
    expect(schemas.CreateProject.required).toEqual(['name'])
    expect(schemas.CreateProject.properties.name).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 })
    expect(schemas.CreateProject.additionalProperties).toBe(false)
    expect(schemas.CreateApiKey.properties.scopes.items.enum).toContain('query')
    expect(schemas.UpdateRole.properties.role.enum).toEqual(['admin', 'editor', 'viewer'])
  })

  it('serves interactive docs from local assets', async () => {
    const page = await app.request('GET', '/docs')
    expect(page.status).toBe(200)
    expect(page.body).toContain('SwaggerUIBundle')
    expect(page.body).toContain(`${API}/openapi.json`)
    const bundle = await app.tributary.app.request('/docs/assets/swagger-ui-bundle.js')
    expect(bundle.status).toBe(200)
    expect(bundle.headers.get('content-type')).toContain('javascript')
    expect((await app.request('GET', '/docs/assets/..%2Fpackage.json')).status).toBe(404)
  })
})
