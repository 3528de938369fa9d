import { connect } from 'node:net'
import { PassThrough } from 'node:stream'

import { ERROR_STATUS, type ErrorCode } from '@tributary/contract'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  createProjectKey,
  describeEachStore,
  listen,
  startTestApp,
  type Listening,
  type ApiResponse,
  type TestApp,
} from './harness.js'

/**
 * Bad input across every route: each case names the request, the status and error code it must
 * get, and the field its message must name. Validation does not depend on the store, so the table
 * runs on PGlite; the conflicts, which the store's unique indexes decide, run on both stores.
 */

type Caller = 'org' | 'platform' | 'none'

interface BadInputCase {
  name: string
  method: string
  /**
   * Under the API base unless it starts with '!'. Filled in: `{org}`, `{project}`, `{workspace}`,
   * `{default_workspace}`, `{user}`, `{org_key}`, `{project_key}`, `{dataset}`, `{table}`, `{missing}`.
   */
  path: string
  /** Who calls; the organization key (admin scope) unless said otherwise. */
  as?: Caller
  /** JSON-encoded with Content-Type application/json. */
  body?: unknown
  /** Sent as is; Content-Type application/json unless `headers` says otherwise. */
  raw?: string
  /** Sent as bytes with no Content-Type at all. */
  bytes?: string
  /** Sent as these bytes, with Content-Type application/json unless `headers` says otherwise. */
  binary?: Uint8Array
  headers?: Record<string, string>
  status: number
  code: ErrorCode
  /** A substring the error message must contain, naming the offending field. */
  field?: string
}

/** Text and raw bytes, one after another, as one body. */
function bytesOf(...parts: (string | number[])[]): Uint8Array {
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))))
}

/** A well-formed UUID that names nothing. */
const MISSING = '0190f2a1-0000-7000-8000-000000000000'
const FAR_FUTURE = '2999-01-01T00:00:00.000Z'

// prettier-ignore
const CASES: BadInputCase[] = [
  // Malformed JSON
  { name: 'truncated JSON', method: 'POST', path: '/projects', raw: '{"name": "trunc', status: 422, code: 'validation_error', field: 'malformed JSON' },
  { name: 'JSON with trailing garbage', method: 'POST', path: '/projects', raw: '{"name": "x"} garbage', status: 422, code: 'validation_error', field: 'malformed JSON' },
  { name: 'a JSON string instead of an object', method: 'POST', path: '/projects', raw: '"just a string"', status: 422, code: 'validation_error', field: 'expected object' },
  { name: 'a JSON array instead of an object', method: 'POST', path: '/workspaces', raw: '[{"name": "x"}]', status: 422, code: 'validation_error', field: 'expected object' },
  { name: 'a JSON number instead of an object', method: 'PATCH', path: '/projects/{project}', raw: '42', status: 422, code: 'validation_error', field: 'expected object' },
  { name: 'JSON null instead of an object', method: 'POST', path: '/users', raw: 'null', status: 422, code: 'validation_error', field: 'expected object' },
  { name: 'an empty body with a JSON content type', method: 'POST', path: '/projects', raw: '', status: 422, code: 'validation_error', field: 'malformed JSON' },
  { name: 'single quotes are not JSON', method: 'POST', path: '/auth/login', as: 'none', raw: "{'email': 'a@b.co'}", status: 422, code: 'validation_error', field: 'malformed JSON' },
  { name: 'truncated JSON on accept-invite', method: 'POST', path: '/auth/accept-invite', as: 'none', raw: '{"token": "t', status: 422, code: 'validation_error', field: 'malformed JSON' },

  // Content types
  { name: 'a text/plain body', method: 'POST', path: '/projects', raw: '{"name": "plain"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', field: 'text/plain' },
  { name: 'a form-urlencoded body', method: 'POST', path: '/workspaces', raw: 'name=form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type', field: 'application/x-www-form-urlencoded' },
  { name: 'an XML body on a PATCH', method: 'PATCH', path: '/projects/{project}', raw: '<name>x</name>', headers: { 'content-type': 'application/xml' }, status: 415, code: 'unsupported_media_type', field: 'application/xml' },
  { name: 'a text/plain login', method: 'POST', path: '/auth/login', as: 'none', raw: '{"email": "a@b.co", "password": "x"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', field: 'text/plain' },
  { name: 'a body without any Content-Type', method: 'POST', path: '/projects', bytes: '{"name": "no content type"}', status: 415, code: 'unsupported_media_type', field: 'Content-Type' },
  { name: 'a body without any Content-Type on a PATCH', method: 'PATCH', path: '/workspaces/{workspace}', bytes: '{"name": "no content type"}', status: 415, code: 'unsupported_media_type', field: 'Content-Type' },

  // Ids that are not UUIDs, in every kind of path parameter
  { name: 'non-UUID organization_id', method: 'GET', path: '/organizations/not-a-uuid', as: 'platform', status: 422, code: 'validation_error', field: 'organization_id' },
  { name: 'non-UUID organization_id on its keys', method: 'POST', path: '/organizations/123/api-keys', as: 'platform', body: { name: 'k' }, status: 422, code: 'validation_error', field: 'organization_id' },
  { name: 'non-UUID organization key_id', method: 'DELETE', path: '/organizations/{org}/api-keys/key-1', as: 'platform', status: 422, code: 'validation_error', field: 'key_id' },
  { name: 'non-UUID workspace_id', method: 'GET', path: '/workspaces/default', status: 422, code: 'validation_error', field: 'workspace_id' },
  { name: 'non-UUID workspace_id on DELETE', method: 'DELETE', path: '/workspaces/1', status: 422, code: 'validation_error', field: 'workspace_id' },
  { name: 'non-UUID project_id', method: 'GET', path: '/projects/1', status: 422, code: 'validation_error', field: 'project_id' },
  { name: 'non-UUID project_id with a UUID-like shape', method: 'GET', path: '/projects/0190f2a1-0000-7000-8000-00000000000g', status: 422, code: 'validation_error', field: 'project_id' },
  { name: 'non-UUID project_id on PATCH', method: 'PATCH', path: '/projects/abc', body: { name: 'x' }, status: 422, code: 'validation_error', field: 'project_id' },
  { name: 'non-UUID project key_id', method: 'DELETE', path: '/projects/{project}/api-keys/nope', status: 422, code: 'validation_error', field: 'key_id' },
  { name: 'non-UUID user_id', method: 'GET', path: '/users/abc', status: 422, code: 'validation_error', field: 'user_id' },
  { name: 'non-UUID user_id on the role route', method: 'PATCH', path: '/users/42/role', body: { role: 'viewer' }, status: 422, code: 'validation_error', field: 'user_id' },
  { name: 'non-UUID workspace_id filter', method: 'GET', path: '/projects?workspace_id=nope', status: 422, code: 'validation_error', field: 'workspace_id' },
  { name: 'non-UUID organization_id audit filter', method: 'GET', path: '/audit-log?organization_id=nope', as: 'platform', status: 422, code: 'validation_error', field: 'organization_id' },
  { name: 'non-UUID workspace_id in a body', method: 'POST', path: '/projects', body: { name: 'x', workspace_id: 'nope' }, status: 422, code: 'validation_error', field: 'workspace_id' },

  // Missing required fields, and null for them
  { name: 'project without a name', method: 'POST', path: '/projects', body: {}, status: 422, code: 'validation_error', field: 'name' },
  { name: 'workspace without a name', method: 'POST', path: '/workspaces', body: { description: 'd' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'organization without a name', method: 'POST', path: '/organizations', as: 'platform', body: {}, status: 422, code: 'validation_error', field: 'name' },
  { name: 'organization key without a name', method: 'POST', path: '/organizations/{org}/api-keys', as: 'platform', body: { scopes: ['*'] }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'project key without a name', method: 'POST', path: '/projects/{project}/api-keys', body: {}, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a null password on create', method: 'POST', path: '/users', body: { email: 'nopass@example.com', password: null }, status: 422, code: 'validation_error', field: 'password' },
  { name: 'user without an e-mail', method: 'POST', path: '/users', body: { password: 'long enough password' }, status: 422, code: 'validation_error', field: 'email' },
  { name: 'invitation without an e-mail', method: 'POST', path: '/users/invite', body: { role: 'viewer' }, status: 422, code: 'validation_error', field: 'email' },
  { name: 'role change without a role', method: 'PATCH', path: '/users/{user}/role', body: {}, status: 422, code: 'validation_error', field: 'role' },
  { name: 'login without a password', method: 'POST', path: '/auth/login', as: 'none', body: { email: 'a@example.com' }, status: 422, code: 'validation_error', field: 'password' },
  { name: 'accept-invite without a token', method: 'POST', path: '/auth/accept-invite', as: 'none', body: { password: 'long enough password' }, status: 422, code: 'validation_error', field: 'token' },
  { name: 'null project name', method: 'POST', path: '/projects', body: { name: null }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'null role', method: 'PATCH', path: '/users/{user}/role', body: { role: null }, status: 422, code: 'validation_error', field: 'role' },
  { name: 'null login e-mail', method: 'POST', path: '/auth/login', as: 'none', body: { email: null, password: 'x' }, status: 422, code: 'validation_error', field: 'email' },

  // Wrongly typed fields
  { name: 'a number for a name', method: 'POST', path: '/projects', body: { name: 42 }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a boolean for a workspace name', method: 'POST', path: '/workspaces', body: { name: true }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a huge number for a name', method: 'POST', path: '/projects', raw: '{"name": 123456789012345678901234567890e300}', status: 422, code: 'validation_error', field: 'name' },
  { name: 'a number for a description', method: 'PATCH', path: '/projects/{project}', body: { description: 7 }, status: 422, code: 'validation_error', field: 'description' },
  { name: 'a string for scopes', method: 'POST', path: '/projects/{project}/api-keys', body: { name: 'k', scopes: 'admin' }, status: 422, code: 'validation_error', field: 'scopes' },
  { name: 'an object for a role', method: 'PATCH', path: '/users/{user}/role', body: { role: { name: 'admin' } }, status: 422, code: 'validation_error', field: 'role' },
  { name: 'an array for an e-mail', method: 'POST', path: '/users/invite', body: { email: ['a@example.com'] }, status: 422, code: 'validation_error', field: 'email' },
  { name: 'a number for expires_at', method: 'POST', path: '/organizations/{org}/api-keys', as: 'platform', body: { name: 'k', expires_at: 4102444800 }, status: 422, code: 'validation_error', field: 'expires_at' },

  // Unknown enum values
  { name: "role 'owner' on create", method: 'POST', path: '/users', body: { email: 'owner@example.com', password: 'long enough password', role: 'owner' }, status: 422, code: 'validation_error', field: 'role' },
  { name: "role 'owner' on invite", method: 'POST', path: '/users/invite', body: { email: 'owner@example.com', role: 'owner' }, status: 422, code: 'validation_error', field: 'role' },
  { name: "role 'owner' on a role change", method: 'PATCH', path: '/users/{user}/role', body: { role: 'owner' }, status: 422, code: 'validation_error', field: 'role' },
  { name: "role 'Admin' (case matters)", method: 'PATCH', path: '/users/{user}/role', body: { role: 'Admin' }, status: 422, code: 'validation_error', field: 'role' },
  { name: "scope 'superuser' on a project key", method: 'POST', path: '/projects/{project}/api-keys', body: { name: 'k', scopes: ['query', 'superuser'], expires_at: FAR_FUTURE }, status: 422, code: 'validation_error', field: 'scopes' },
  { name: "scope 'superuser' on an organization key", method: 'POST', path: '/organizations/{org}/api-keys', as: 'platform', body: { name: 'k', scopes: ['superuser'] }, status: 422, code: 'validation_error', field: 'scopes' },
  { name: 'an empty scope list', method: 'POST', path: '/projects/{project}/api-keys', body: { name: 'k', scopes: [] }, status: 422, code: 'validation_error', field: 'scopes' },

  // Unknown extra fields (every body is a strict object)
  { name: 'an unknown field on a project', method: 'POST', path: '/projects', body: { name: 'x', owner: 'me' }, status: 422, code: 'validation_error', field: 'owner' },
  { name: 'is_default: false on the default workspace', method: 'PATCH', path: '/workspaces/{default_workspace}', body: { is_default: false }, status: 422, code: 'validation_error', field: 'is_default' },
  { name: 'is_default on a workspace update', method: 'PATCH', path: '/workspaces/{workspace}', body: { is_default: true }, status: 422, code: 'validation_error', field: 'is_default' },
  { name: 'organization_id on a project', method: 'POST', path: '/projects', body: { name: 'x', organization_id: MISSING }, status: 422, code: 'validation_error', field: 'organization_id' },
  { name: 'status on a user', method: 'POST', path: '/users', body: { email: 'extra@example.com', password: 'long enough password', status: 'active' }, status: 422, code: 'validation_error', field: 'status' },
  { name: 'role on a user update', method: 'PATCH', path: '/users/{user}', body: { role: 'admin' }, status: 422, code: 'validation_error', field: 'role' },
  { name: 'an unknown field on login', method: 'POST', path: '/auth/login', as: 'none', body: { email: 'a@example.com', password: 'x', remember_me: true }, status: 422, code: 'validation_error', field: 'remember_me' },
  { name: 'project_id on an organization key', method: 'POST', path: '/organizations/{org}/api-keys', as: 'platform', body: { name: 'k', project_id: MISSING }, status: 422, code: 'validation_error', field: 'project_id' },
  { name: 'an unknown query parameter', method: 'GET', path: '/projects?sort=name', status: 422, code: 'validation_error', field: 'sort' },
  { name: '__proto__ in a body', method: 'POST', path: '/projects', raw: '{"__proto__": {"polluted": true}, "name": "proto"}', status: 422, code: 'validation_error', field: '__proto__' },
  { name: 'constructor.prototype in a body', method: 'POST', path: '/workspaces', raw: '{"constructor": {"prototype": {"polluted": true}}, "name": "ctor"}', status: 422, code: 'validation_error', field: 'constructor' },
  { name: '__proto__ in a query', method: 'GET', path: '/workspaces?__proto__=1', status: 422, code: 'validation_error', field: '__proto__' },

  // Lengths and blank names
  { name: 'a 201-character project name', method: 'POST', path: '/projects', body: { name: 'n'.repeat(201) }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a 201-character organization name', method: 'POST', path: '/organizations', as: 'platform', body: { name: 'o'.repeat(201) }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a 201-character workspace rename', method: 'PATCH', path: '/workspaces/{workspace}', body: { name: 'w'.repeat(201) }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a 2001-character workspace description', method: 'POST', path: '/workspaces', body: { name: 'long', description: 'd'.repeat(2001) }, status: 422, code: 'validation_error', field: 'description' },
  { name: 'a 2001-character project description', method: 'PATCH', path: '/projects/{project}', body: { description: 'd'.repeat(2001) }, status: 422, code: 'validation_error', field: 'description' },
  { name: 'an empty project name', method: 'POST', path: '/projects', body: { name: '' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a whitespace-only project name', method: 'POST', path: '/projects', body: { name: '   ' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a whitespace-only workspace rename', method: 'PATCH', path: '/workspaces/{workspace}', body: { name: '\t \n' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a whitespace-only user name', method: 'PATCH', path: '/users/{user}', body: { name: '  ' }, status: 422, code: 'validation_error', field: 'name' },

  // NUL characters, which PostgreSQL text cannot hold
  { name: 'a NUL character in a project name', method: 'POST', path: '/projects', body: { name: 'nul\u0000name' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a NUL character in an organization name', method: 'POST', path: '/organizations', as: 'platform', body: { name: 'org\u0000' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a NUL character in a workspace description', method: 'PATCH', path: '/workspaces/{workspace}', body: { description: 'd\u0000d' }, status: 422, code: 'validation_error', field: 'description' },
  { name: 'a NUL character in a user name', method: 'PATCH', path: '/users/{user}', body: { name: '\u0000' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a NUL character in an audit filter', method: 'GET', path: '/audit-log?action=project%00create', status: 422, code: 'validation_error', field: 'action' },

  // NUL and lone surrogates wherever a store lookup or write would meet them (the hostile probe's 500s)
  { name: 'a NUL catalog in a path', method: 'GET', path: '/projects/{project}/catalogs/%00/schemas', status: 422, code: 'validation_error', field: 'catalog' },
  { name: 'a NUL catalog on its tables', method: 'GET', path: '/projects/{project}/catalogs/%00/schemas/main/tables', status: 422, code: 'validation_error', field: 'catalog' },
  { name: 'a NUL inside a schema name in a path', method: 'GET', path: '/projects/{project}/catalogs/internal/schemas/a%00b/tables', status: 422, code: 'validation_error', field: 'schema' },
  { name: 'a NUL table in a path', method: 'GET', path: '/projects/{project}/catalogs/internal/schemas/main/tables/%00', status: 422, code: 'validation_error', field: 'table' },
  { name: 'a NUL catalog to refresh', method: 'POST', path: '/projects/{project}/catalogs/%00/refresh', status: 422, code: 'validation_error', field: 'catalog' },
  { name: 'a NUL column name in a path', method: 'DELETE', path: '/projects/{project}/datasets/{dataset}/tables/{table}/columns/%00', status: 422, code: 'validation_error', field: 'column_name' },
  { name: 'a NUL in the SQL of a query job', method: 'POST', path: '/projects/{project}/query-jobs', body: { sql: 'select 1\u0000' }, status: 422, code: 'validation_error', field: 'sql' },
  { name: 'a lone surrogate in the SQL of a query job', method: 'POST', path: '/projects/{project}/query-jobs', body: { sql: "select '\ud800' as s" }, status: 422, code: 'validation_error', field: 'sql' },
  { name: 'a NUL in the SQL of an import', method: 'POST', path: '/projects/{project}/datasets/{dataset}/tables/{table}/imports', body: { sql: "select 'a\u0000' as v" }, status: 422, code: 'validation_error', field: 'sql' },
  { name: 'a lone low surrogate in the SQL of an import', method: 'POST', path: '/projects/{project}/datasets/{dataset}/tables/{table}/imports', body: { sql: "select '\udc00' as v" }, status: 422, code: 'validation_error', field: 'sql' },
  { name: 'a NUL in a connection config value', method: 'POST', path: '/projects/{project}/connections', body: { name: 'nul', type: 'postgresql', config: { host: '127.0.0.1', database: 'a\u0000b', user: 'postgres' } }, status: 422, code: 'validation_error', field: 'config.database' },
  { name: 'a NUL in a connection config key', method: 'POST', path: '/projects/{project}/connections', body: { name: 'nul', type: 'postgresql', config: { host: '127.0.0.1', 'x\u0000': 1 } }, status: 422, code: 'validation_error', field: 'config."x\\u0000"' },
  { name: 'a lone surrogate deep in a connection config', method: 'POST', path: '/projects/{project}/connections', body: { name: 'deep', type: 'postgresql', config: { options: [{ value: 'ok' }, { value: 'x\ud83d' }] } }, status: 422, code: 'validation_error', field: 'config.options.1.value' },
  { name: 'a NUL in an unknown body field', method: 'POST', path: '/projects', body: { name: 'ok', extra: '\u0000' }, status: 422, code: 'validation_error', field: 'extra' },

  // Bodies that are not UTF-8 JSON as sent
  { name: 'Content-Encoding gzip on a plain body', method: 'POST', path: '/projects', raw: '{"name": "gzip"}', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, status: 415, code: 'unsupported_media_type', field: 'gzip' },
  { name: 'Content-Encoding deflate on a PATCH', method: 'PATCH', path: '/projects/{project}', raw: '{"name": "deflate"}', headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' }, status: 415, code: 'unsupported_media_type', field: 'deflate' },
  { name: 'charset=utf-16 with a UTF-8 body', method: 'POST', path: '/projects', raw: '{"name": "utf16"}', headers: { 'content-type': 'application/json; charset=utf-16' }, status: 415, code: 'unsupported_media_type', field: 'utf-16' },
  { name: 'a quoted charset=latin1', method: 'POST', path: '/workspaces', raw: '{"name": "latin"}', headers: { 'content-type': 'application/json; charset="iso-8859-1"' }, status: 415, code: 'unsupported_media_type', field: 'iso-8859-1' },
  { name: 'invalid UTF-8 bytes inside a JSON string', method: 'POST', path: '/projects', binary: bytesOf('{"name": "bad', [0xff, 0xfe], 'utf8"}'), status: 422, code: 'validation_error', field: 'not valid UTF-8 at byte 13' },
  { name: 'a Latin-1 byte inside a JSON string', method: 'PATCH', path: '/workspaces/{workspace}', binary: bytesOf('{"name": "caf', [0xe9], '"}'), status: 422, code: 'validation_error', field: 'UTF-8' },
  { name: 'an overlong UTF-8 NUL', method: 'POST', path: '/projects', binary: bytesOf('{"name": "x', [0xc0, 0x80], '"}'), status: 422, code: 'validation_error', field: 'UTF-8' },
  { name: 'a UTF-8-encoded surrogate', method: 'POST', path: '/projects/{project}/query-jobs', binary: bytesOf('{"sql": "select \'', [0xed, 0xa0, 0x80], '\'"}'), status: 422, code: 'validation_error', field: 'UTF-8' },
  { name: 'a UTF-8 sequence cut at the end of the body', method: 'POST', path: '/projects', binary: bytesOf('{"name": "x"}', [0xe2, 0x82]), status: 422, code: 'validation_error', field: 'UTF-8' },

  // E-mail and password
  { name: 'an invalid e-mail on create', method: 'POST', path: '/users', body: { email: 'not-an-email', password: 'long enough password' }, status: 422, code: 'validation_error', field: 'email' },
  { name: 'an invalid e-mail on invite', method: 'POST', path: '/users/invite', body: { email: 'someone@' }, status: 422, code: 'validation_error', field: 'email' },
  { name: 'an invalid e-mail on login', method: 'POST', path: '/auth/login', as: 'none', body: { email: 'a b@example.com', password: 'x' }, status: 422, code: 'validation_error', field: 'email' },
  { name: 'a 9-character password on create', method: 'POST', path: '/users', body: { email: 'short@example.com', password: '123456789' }, status: 422, code: 'validation_error', field: 'password' },
  { name: 'a short password on update', method: 'PATCH', path: '/users/{user}', body: { password: 'short' }, status: 422, code: 'validation_error', field: 'password' },
  { name: 'a short password on accept-invite', method: 'POST', path: '/auth/accept-invite', as: 'none', body: { token: 'trbinv_x', password: 'short' }, status: 422, code: 'validation_error', field: 'password' },
  { name: 'an empty login password', method: 'POST', path: '/auth/login', as: 'none', body: { email: 'a@example.com', password: '' }, status: 422, code: 'validation_error', field: 'password' },

  // expires_at
  { name: 'expires_at in the past', method: 'POST', path: '/projects/{project}/api-keys', body: { name: 'k', expires_at: '2001-01-01T00:00:00Z' }, status: 422, code: 'validation_error', field: 'expires_at' },
  { name: 'expires_at not ISO', method: 'POST', path: '/organizations/{org}/api-keys', as: 'platform', body: { name: 'k', expires_at: 'tomorrow' }, status: 422, code: 'validation_error', field: 'expires_at' },
  { name: 'expires_at as a bare date', method: 'POST', path: '/projects/{project}/api-keys', body: { name: 'k', expires_at: '2999-01-01' }, status: 422, code: 'validation_error', field: 'expires_at' },

  // List query parameters
  { name: 'limit=0', method: 'GET', path: '/projects?limit=0', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'limit=201', method: 'GET', path: '/workspaces?limit=201', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'limit=abc', method: 'GET', path: '/users?limit=abc', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'limit=-1', method: 'GET', path: '/organizations?limit=-1', as: 'platform', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'limit=1.5', method: 'GET', path: '/audit-log?limit=1.5', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'a huge limit', method: 'GET', path: '/projects/{project}/api-keys?limit=99999999999999999999999', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'limit=1e400', method: 'GET', path: '/organizations/{org}/api-keys?limit=1e400', as: 'platform', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'a garbage cursor', method: 'GET', path: '/projects?cursor=garbage', status: 422, code: 'validation_error', field: 'cursor' },
  { name: 'a garbage audit cursor', method: 'GET', path: '/audit-log?cursor=%F0%9F%92%A5', status: 422, code: 'validation_error', field: 'cursor' },
  { name: 'an over-long cursor', method: 'GET', path: `/users?cursor=${'a'.repeat(201)}`, status: 422, code: 'validation_error', field: 'cursor' },
  { name: 'an over-long audit action filter', method: 'GET', path: `/audit-log?action=${'a'.repeat(101)}`, status: 422, code: 'validation_error', field: 'action' },

  // PATCH with nothing to change
  { name: 'PATCH project {}', method: 'PATCH', path: '/projects/{project}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'PATCH workspace {}', method: 'PATCH', path: '/workspaces/{workspace}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'PATCH user {}', method: 'PATCH', path: '/users/{user}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'PATCH organization {}', method: 'PATCH', path: '/organizations/{org}', as: 'platform', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },

  // Well-formed ids that name nothing
  { name: 'an unknown project', method: 'GET', path: '/projects/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'an unknown workspace', method: 'PATCH', path: '/workspaces/{missing}', body: { name: 'x' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'an unknown user', method: 'DELETE', path: '/users/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'an unknown user on the role route', method: 'PATCH', path: '/users/{missing}/role', body: { role: 'viewer' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'an unknown organization', method: 'GET', path: '/organizations/{missing}', as: 'platform', status: 404, code: 'not_found', field: MISSING },
  { name: 'a key for an unknown project', method: 'POST', path: '/projects/{missing}/api-keys', body: { name: 'k' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'an unknown project key', method: 'DELETE', path: '/projects/{project}/api-keys/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'an unknown organization key', method: 'DELETE', path: '/organizations/{org}/api-keys/{missing}', as: 'platform', status: 404, code: 'not_found', field: MISSING },
  { name: 'a project in an unknown workspace', method: 'POST', path: '/projects', body: { name: 'orphan', workspace_id: MISSING }, status: 422, code: 'validation_error', field: 'workspace_id' },
  { name: 'a project key’s id on the organization key route', method: 'DELETE', path: '/organizations/{org}/api-keys/{project_key}', as: 'platform', status: 404, code: 'not_found' },
  { name: 'an organization key’s id on the project key route', method: 'DELETE', path: '/projects/{project}/api-keys/{org_key}', status: 404, code: 'not_found' },

  // SQL the engine refuses to finish (the table's app gives a query 64MB)
  { name: 'a query that needs more memory than a query may have', method: 'POST', path: '/projects/{project}/sql', body: { sql: "select length(string_agg(repeat('x', 1000000))) from range(2000)" }, status: 400, code: 'query_error', field: 'TRIBUTARY_QUERY_MEMORY_LIMIT' },
  { name: 'a list built whole in memory, beyond what the memory limit can stop', method: 'POST', path: '/projects/{project}/sql', body: { sql: 'select list(range(1e9))' }, status: 400, code: 'query_error', field: 'would build a list of 1,000,000,000 elements' },

  // Golden SQL
  { name: 'golden SQL without sql', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: 'q' }, status: 422, code: 'validation_error', field: 'sql' },
  { name: 'golden SQL with an empty question', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: '  ', sql: 'select 1' }, status: 422, code: 'validation_error', field: 'question' },
  { name: 'golden SQL with an unknown field', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: 'q', sql: 'select 1', answer: 42 }, status: 422, code: 'validation_error', field: 'answer' },
  { name: 'golden SQL that does not parse', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: 'q', sql: 'selec 1' }, status: 422, code: 'validation_error', field: 'syntax error' },
  { name: 'golden SQL naming a missing catalog', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: 'q', sql: 'select * from nowhere.main.t' }, status: 422, code: 'validation_error', field: 'nowhere' },
  { name: 'golden SQL that writes', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: 'q', sql: 'drop table internal.main.t' }, status: 422, code: 'validation_error', field: 'sql: ' },
  { name: 'golden SQL using an undeclared parameter', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: 'q', sql: 'select {{n}} as n' }, status: 422, code: 'validation_error', field: "declares no 'n'" },
  { name: 'golden SQL declaring an unused parameter', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: 'q', sql: 'select 1', parameters: [{ name: 'n', type: 'integer' }] }, status: 422, code: 'validation_error', field: 'parameters.0.name' },
  { name: 'golden SQL with a parameter of no known type', method: 'POST', path: '/projects/{project}/golden-sql', body: { question: 'q', sql: 'select {{n}} as n', parameters: [{ name: 'n', type: 'money' }] }, status: 422, code: 'validation_error', field: 'parameters' },
  { name: 'ask without a question', method: 'POST', path: '/projects/{project}/ask', body: {}, status: 422, code: 'validation_error', field: 'question' },
  { name: 'ask an empty question', method: 'POST', path: '/projects/{project}/ask', body: { question: '   ' }, status: 422, code: 'validation_error', field: 'question' },
  { name: 'ask a 10,000-character question', method: 'POST', path: '/projects/{project}/ask', body: { question: 'x'.repeat(10_000) }, status: 422, code: 'validation_error', field: 'question' },
  { name: 'ask with a question that is not text', method: 'POST', path: '/projects/{project}/ask', body: { question: 42 }, status: 422, code: 'validation_error', field: 'question' },
  { name: 'ask with a NUL in the question', method: 'POST', path: '/projects/{project}/ask', body: { question: 'how\u0000many' }, status: 422, code: 'validation_error', field: 'question' },
  { name: 'ask with a limit of 0', method: 'POST', path: '/projects/{project}/ask', body: { question: 'q', limit: 0 }, status: 422, code: 'validation_error', field: 'limit' },
  { name: 'ask with a thread id that is not a UUID', method: 'POST', path: '/projects/{project}/ask', body: { question: 'q', thread_id: 'abc' }, status: 422, code: 'validation_error', field: 'thread_id' },
  { name: 'ask in a thread that does not exist', method: 'POST', path: '/projects/{project}/ask', body: { question: 'q', thread_id: MISSING }, status: 404, code: 'not_found', field: 'thread' },
  { name: 'ask with an unknown field', method: 'POST', path: '/projects/{project}/ask', body: { question: 'q', model: 'gpt-5' }, status: 422, code: 'validation_error', field: 'model' },
  { name: 'ask as broken JSON', method: 'POST', path: '/projects/{project}/ask', raw: '{"question": ', status: 422, code: 'validation_error' },
  { name: 'stream an empty question', method: 'POST', path: '/projects/{project}/ask/stream', body: { question: '' }, status: 422, code: 'validation_error', field: 'question' },
  { name: 'PATCH a thread with an empty title', method: 'PATCH', path: '/projects/{project}/threads/{missing}', body: { title: '' }, status: 422, code: 'validation_error', field: 'title' },
  { name: 'PATCH a thread that does not exist', method: 'PATCH', path: '/projects/{project}/threads/{missing}', body: { title: 't' }, status: 404, code: 'not_found', field: 'thread' },
  { name: 'threads with a limit of 1000', method: 'GET', path: '/projects/{project}/threads?limit=1000', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'messages with a forged cursor', method: 'GET', path: '/projects/{project}/threads/{missing}/messages?cursor=zzz', status: 404, code: 'not_found', field: 'thread' },
  { name: 'feedback without correct', method: 'POST', path: '/projects/{project}/threads/{missing}/messages/{missing}/feedback', body: {}, status: 422, code: 'validation_error', field: 'correct' },
  { name: 'feedback saving a wrong answer without SQL', method: 'POST', path: '/projects/{project}/threads/{missing}/messages/{missing}/feedback', body: { correct: false, save_as_golden_sql: true }, status: 422, code: 'validation_error', field: 'sql' },
  { name: 'feedback on a thread that does not exist', method: 'POST', path: '/projects/{project}/threads/{missing}/messages/{missing}/feedback', body: { correct: true }, status: 404, code: 'not_found', field: 'thread' },
  { name: 'suggest 500 questions', method: 'GET', path: '/projects/{project}/questions/suggest?limit=500', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'generate descriptions of a missing table', method: 'POST', path: '/projects/{project}/metadata/internal/main/nope/generate', status: 404, code: 'not_found' },
  { name: 'PUT golden SQL {}', method: 'PUT', path: '/projects/{project}/golden-sql/{missing}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'an unknown golden SQL', method: 'GET', path: '/projects/{project}/golden-sql/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'PUT an unknown golden SQL', method: 'PUT', path: '/projects/{project}/golden-sql/{missing}', body: { question: 'x' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'DELETE an unknown golden SQL', method: 'DELETE', path: '/projects/{project}/golden-sql/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'golden SQL of an unknown project', method: 'GET', path: '/projects/{missing}/golden-sql', status: 404, code: 'not_found', field: MISSING },
  { name: 'a golden SQL id that is not a UUID', method: 'GET', path: '/projects/{project}/golden-sql/nope', status: 422, code: 'validation_error', field: 'golden_sql_id' },
  { name: 'a golden SQL search without q', method: 'GET', path: '/projects/{project}/golden-sql/search', status: 422, code: 'validation_error', field: 'q' },
  { name: 'a golden SQL search with a blank q', method: 'GET', path: '/projects/{project}/golden-sql/search?q=%20%20', status: 422, code: 'validation_error', field: 'q' },
  { name: 'a golden SQL search with an over-long q', method: 'GET', path: `/projects/{project}/golden-sql/search?q=${'a'.repeat(1001)}`, status: 422, code: 'validation_error', field: 'q' },
  { name: 'a golden SQL search with limit=51', method: 'GET', path: '/projects/{project}/golden-sql/search?q=x&limit=51', status: 422, code: 'validation_error', field: 'limit' },

  // AI settings, usage and data policy
  { name: 'AI settings with an unknown provider', method: 'PUT', path: '/organizations/{org}/ai-settings', body: { provider: 'gemini', model: 'x' }, status: 422, code: 'validation_error', field: 'provider' },
  { name: 'AI settings with an ftp base URL', method: 'PUT', path: '/organizations/{org}/ai-settings', body: { provider: 'openai-compatible', model: 'x', base_url: 'ftp://127.0.0.1/v1' }, status: 422, code: 'validation_error', field: 'base_url' },
  { name: 'AI settings with credentials in the base URL', method: 'PUT', path: '/organizations/{org}/ai-settings', body: { provider: 'openai-compatible', model: 'x', base_url: 'http://u:p@127.0.0.1/v1' }, status: 422, code: 'validation_error', field: 'base_url' },
  { name: 'an OpenAI-compatible provider without a base URL', method: 'PUT', path: '/organizations/{org}/ai-settings', body: { provider: 'openai-compatible', model: 'llama3.1' }, status: 422, code: 'validation_error', field: 'base_url' },
  { name: 'a provider without a model', method: 'PUT', path: '/organizations/{org}/ai-settings', body: { provider: 'openai', api_key: 'k' }, status: 422, code: 'validation_error', field: 'model' },
  { name: 'OpenAI without an API key', method: 'PUT', path: '/organizations/{org}/ai-settings', body: { provider: 'openai', model: 'gpt-4o' }, status: 422, code: 'validation_error', field: 'api_key' },
  { name: 'a negative token budget', method: 'PUT', path: '/organizations/{org}/ai-settings', body: { monthly_token_budget: -1 }, status: 422, code: 'validation_error', field: 'monthly_token_budget' },
  { name: 'AI settings with an unknown field', method: 'PUT', path: '/organizations/{org}/ai-settings', body: { temperature: 2 }, status: 422, code: 'validation_error', field: 'temperature' },
  { name: 'PUT AI settings {}', method: 'PUT', path: '/organizations/{org}/ai-settings', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'a text/plain AI settings body', method: 'PUT', path: '/organizations/{org}/ai-settings', raw: '{"provider": "none"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', field: 'text/plain' },
  { name: 'AI settings of another organization', method: 'GET', path: '/organizations/{missing}/ai-settings', status: 404, code: 'not_found', field: MISSING },
  { name: 'AI settings of an organization id that is not a UUID', method: 'GET', path: '/organizations/nope/ai-settings', status: 422, code: 'validation_error', field: 'organization_id' },
  { name: 'AI usage from a day that is no date', method: 'GET', path: '/organizations/{org}/ai-usage?from=yesterday', status: 422, code: 'validation_error', field: 'from' },
  { name: 'AI usage ending before it starts', method: 'GET', path: '/organizations/{org}/ai-usage?from=2026-11-02&to=2026-11-01', status: 422, code: 'validation_error', field: 'to' },
  { name: 'AI usage with an unknown parameter', method: 'GET', path: '/organizations/{org}/ai-usage?since=2026-11-01', status: 422, code: 'validation_error', field: 'since' },
  { name: 'an AI policy that is not a boolean', method: 'PUT', path: '/projects/{project}/ai-policy', body: { share_rows: 'yes' }, status: 422, code: 'validation_error', field: 'share_rows' },
  { name: 'PUT an AI policy {}', method: 'PUT', path: '/projects/{project}/ai-policy', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'the AI policy of an unknown project', method: 'GET', path: '/projects/{missing}/ai-policy', status: 404, code: 'not_found', field: MISSING },

  // Semantic catalogs and saved queries by name
  { name: 'a semantic catalog without a name', method: 'POST', path: '/projects/{project}/semantic-catalogs', body: {}, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a semantic catalog name that is no identifier', method: 'POST', path: '/projects/{project}/semantic-catalogs', body: { name: 'Sales Data' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a semantic catalog named queries', method: 'POST', path: '/projects/{project}/semantic-catalogs', body: { name: 'queries' }, status: 422, code: 'validation_error', field: 'reserved' },
  { name: 'a semantic catalog named like an engine-internal catalog', method: 'POST', path: '/projects/{project}/semantic-catalogs', body: { name: '__s0_pg' }, status: 422, code: 'validation_error', field: 'reserved' },
  { name: 'a semantic catalog with an unknown field', method: 'POST', path: '/projects/{project}/semantic-catalogs', body: { name: 'ok', colour: 'red' }, status: 422, code: 'validation_error', field: 'colour' },
  { name: 'an unknown semantic catalog', method: 'GET', path: '/projects/{project}/semantic-catalogs/nowhere', status: 404, code: 'not_found', field: 'nowhere' },
  { name: 'semantic catalogs of an unknown project', method: 'GET', path: '/projects/{missing}/semantic-catalogs', status: 404, code: 'not_found', field: MISSING },
  { name: 'publishing into an unknown semantic catalog', method: 'POST', path: '/projects/{project}/semantic-catalogs/nowhere/tables', body: { table: 't', query_id: MISSING }, status: 404, code: 'not_found', field: 'nowhere' },
  { name: 'publishing a table name that is no identifier', method: 'POST', path: '/projects/{project}/semantic-catalogs/nowhere/tables', body: { table: '1 table', query_id: MISSING }, status: 422, code: 'validation_error', field: 'table' },
  { name: 'publishing a query id that is not a UUID', method: 'POST', path: '/projects/{project}/semantic-catalogs/nowhere/tables', body: { table: 't', query_id: 'nope' }, status: 422, code: 'validation_error', field: 'query_id' },
  { name: 'a semantic table id that is not a UUID', method: 'DELETE', path: '/projects/{project}/semantic-catalogs/nowhere/tables/nope', status: 422, code: 'validation_error', field: 'table_id' },
  { name: 'sharing without a project', method: 'POST', path: '/projects/{project}/semantic-catalogs/nowhere/share', body: {}, status: 422, code: 'validation_error', field: 'project_id' },
  { name: 'revoking a share of a project id that is not a UUID', method: 'DELETE', path: '/projects/{project}/semantic-catalogs/nowhere/share/nope', status: 422, code: 'validation_error', field: 'target_project_id' },
  { name: 'a saved query schema that is no identifier', method: 'POST', path: '/projects/{project}/queries', body: { display_name: 'q', sql: 'select 1', schema: 'my-schema' }, status: 422, code: 'validation_error', field: 'schema' },
  { name: 'a saved query by a name that is none', method: 'POST', path: '/projects/{project}/sql', body: { sql: 'select * from queries.main.nothing_saved' }, status: 400, code: 'query_error', field: 'nothing_saved' },

  // Materialized queries and caches of source tables
  { name: "Peaka's schedule form with no cron in it", method: 'POST', path: '/projects/{project}/queries', body: { display_name: 'm', sql: 'select 1', query_type: 'MATERIALIZED', schedule: { expression: 'often' } }, status: 422, code: 'validation_error', field: 'schedule.expression' },
  { name: "Peaka's schedule form every 10 seconds", method: 'POST', path: '/projects/{project}/queries', body: { display_name: 'm', sql: 'select 1', query_type: 'MATERIALIZED', schedule: { expression: 'PT10S' } }, status: 422, code: 'validation_error', field: 'schedule.expression' },
  { name: 'a materialized query every 10 seconds', method: 'POST', path: '/projects/{project}/queries', body: { display_name: 'm', sql: 'select 1', query_type: 'MATERIALIZED', schedule: { type: 'interval', every: 'PT10S' } }, status: 422, code: 'validation_error', field: 'schedule.every' },
  { name: 'a materialized query in an unknown time zone', method: 'POST', path: '/projects/{project}/queries', body: { display_name: 'm', sql: 'select 1', query_type: 'MATERIALIZED', schedule: { type: 'cron', cron: '0 3 * * *', timezone: 'Mars/Olympus' } }, status: 422, code: 'validation_error', field: 'schedule.timezone' },
  { name: 'a schedule on a standard query', method: 'POST', path: '/projects/{project}/queries', body: { display_name: 'm', sql: 'select 1', schedule: { type: 'none' } }, status: 422, code: 'validation_error', field: 'schedule' },
  { name: 'the status of an unknown query', method: 'GET', path: '/projects/{project}/queries/{missing}/status', status: 404, code: 'not_found', field: MISSING },
  { name: 'the status of a query id that is no UUID', method: 'GET', path: '/projects/{project}/queries/abc/status', status: 422, code: 'validation_error', field: 'query_id' },
  { name: 'refreshing an unknown query', method: 'POST', path: '/projects/{project}/queries/{missing}/refresh', status: 404, code: 'not_found', field: MISSING },
  { name: 'cancelling an unknown query', method: 'POST', path: '/projects/{project}/queries/{missing}/cancel', status: 404, code: 'not_found', field: MISSING },
  { name: 'a cache refreshed on an invalid cron', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'nowhere', schema: 'main', table: 't', full_refresh_schedule: { type: 'cron', cron: '61 * * * *' } }, status: 422, code: 'validation_error', field: 'full_refresh_schedule.cron' },
  { name: 'cancelling an unknown cache', method: 'POST', path: '/projects/{project}/caches/{missing}/cancel', status: 404, code: 'not_found', field: MISSING },

  // Project metadata
  { name: 'metadata of an unknown catalog', method: 'GET', path: '/projects/{project}/metadata?catalog=nowhere', status: 404, code: 'not_found', field: 'catalog nowhere' },
  { name: 'metadata of an unknown schema', method: 'GET', path: '/projects/{project}/metadata?catalog=internal&schema=nowhere', status: 404, code: 'not_found', field: 'schema internal.nowhere' },
  { name: 'metadata of a table in an unknown schema', method: 'GET', path: '/projects/{project}/metadata/internal/main/nowhere', status: 404, code: 'not_found', field: 'schema internal.main' },
  { name: 'metadata with a cursor from nowhere', method: 'GET', path: '/projects/{project}/metadata?cursor=bm9wZQ', status: 422, code: 'validation_error', field: 'cursor' },
  { name: 'metadata with limit=0', method: 'GET', path: '/projects/{project}/metadata?limit=0', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'metadata of an unknown project', method: 'GET', path: '/projects/{missing}/metadata', status: 404, code: 'not_found', field: MISSING },
  { name: 'PUT metadata {}', method: 'PUT', path: '/projects/{project}/metadata/internal/main/nowhere', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'PUT metadata of a table in an unknown schema', method: 'PUT', path: '/projects/{project}/metadata/internal/main/nowhere', body: { description: 'x' }, status: 404, code: 'not_found', field: 'schema internal.main' },
  { name: 'PUT metadata with an unknown field', method: 'PUT', path: '/projects/{project}/metadata/internal/main/nowhere', body: { colour: 'red' }, status: 422, code: 'validation_error', field: 'colour' },
  { name: 'PUT metadata with a column without a name', method: 'PUT', path: '/projects/{project}/metadata/internal/main/nowhere', body: { columns: [{ description: 'x' }] }, status: 422, code: 'validation_error', field: 'columns.0.name' },
  { name: 'PUT metadata with use_with_ai a string', method: 'PUT', path: '/projects/{project}/metadata/internal/main/nowhere', body: { use_with_ai: 'yes' }, status: 422, code: 'validation_error', field: 'use_with_ai' },
  { name: 'PUT use_with_ai of an unknown catalog', method: 'PUT', path: '/projects/{project}/metadata/nowhere', body: { use_with_ai: false }, status: 404, code: 'not_found', field: 'catalog nowhere' },
  { name: 'PUT use_with_ai of an unknown schema', method: 'PUT', path: '/projects/{project}/metadata/internal/nowhere', body: { use_with_ai: false }, status: 404, code: 'not_found', field: 'schema internal.nowhere' },
  { name: 'PUT use_with_ai without use_with_ai', method: 'PUT', path: '/projects/{project}/metadata/internal', body: {}, status: 422, code: 'validation_error', field: 'use_with_ai' },
  { name: 'a refresh of an unknown catalog', method: 'POST', path: '/projects/{project}/metadata/refresh', body: { catalog: 'nowhere' }, status: 404, code: 'not_found', field: 'catalog nowhere' },
  { name: 'a refresh calling back to an ftp URL', method: 'POST', path: '/projects/{project}/metadata/refresh', body: { callback_url: 'ftp://127.0.0.1/x' }, status: 422, code: 'validation_error', field: 'callback_url' },
  { name: 'a refresh calling back to no URL', method: 'POST', path: '/projects/{project}/metadata/refresh', body: { callback_url: 'not a url' }, status: 422, code: 'validation_error', field: 'callback_url' },
  { name: 'a refresh calling back with credentials in the URL', method: 'POST', path: '/projects/{project}/metadata/refresh', body: { callback_url: 'https://user:pw@example.com/' }, status: 422, code: 'validation_error', field: 'callback_url' },
  { name: 'an unknown metadata refresh', method: 'GET', path: '/projects/{project}/metadata/refresh/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'a metadata refresh id that is not a UUID', method: 'GET', path: '/projects/{project}/metadata/refresh/nope', status: 422, code: 'validation_error', field: 'job_id' },
  { name: 'a metadata search without q', method: 'GET', path: '/projects/{project}/metadata/search', status: 422, code: 'validation_error', field: 'q' },
  { name: 'a metadata search with limit=101', method: 'GET', path: '/projects/{project}/metadata/search?q=x&limit=101', status: 422, code: 'validation_error', field: 'limit' },

  // Relations and categorical values
  { name: 'a relation without to', method: 'POST', path: '/projects/{project}/metadata/relations', body: { from: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] } }, status: 422, code: 'validation_error', field: 'to' },
  { name: 'a relation with no columns', method: 'POST', path: '/projects/{project}/metadata/relations', body: { from: { catalog: 'internal', schema: 'target', table: 'target', columns: [] }, to: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] } }, status: 422, code: 'validation_error', field: 'from.columns' },
  { name: 'a relation of an unknown type', method: 'POST', path: '/projects/{project}/metadata/relations', body: { from: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] }, to: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] }, type: 'MANY_TO_MANY' }, status: 422, code: 'validation_error', field: 'type' },
  { name: 'a relation with an unknown field', method: 'POST', path: '/projects/{project}/metadata/relations', body: { from: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] }, to: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] }, weight: 1 }, status: 422, code: 'validation_error', field: 'weight' },
  { name: 'a relation from an unknown table', method: 'POST', path: '/projects/{project}/metadata/relations', body: { from: { catalog: 'internal', schema: 'target', table: 'nowhere', columns: ['v'] }, to: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] } }, status: 404, code: 'not_found', field: 'internal.target.nowhere' },
  { name: 'a relation to an unknown column', method: 'POST', path: '/projects/{project}/metadata/relations', body: { from: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] }, to: { catalog: 'internal', schema: 'target', table: 'target', columns: ['nope'] } }, status: 404, code: 'not_found', field: 'internal.target.target.nope' },
  { name: 'a relation pairing two columns with one', method: 'POST', path: '/projects/{project}/metadata/relations', body: { from: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] }, to: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v', 'w'] } }, status: 422, code: 'validation_error', field: 'to.columns' },
  { name: 'a relation of a column to itself', method: 'POST', path: '/projects/{project}/metadata/relations', body: { from: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] }, to: { catalog: 'internal', schema: 'target', table: 'target', columns: ['v'] } }, status: 422, code: 'validation_error', field: 'to' },
  { name: 'relations of an unknown origin', method: 'GET', path: '/projects/{project}/metadata/relations?origin=guessed', status: 422, code: 'validation_error', field: 'origin' },
  { name: 'a relation id that is not a UUID', method: 'GET', path: '/projects/{project}/metadata/relations/nope', status: 422, code: 'validation_error', field: 'relation_id' },
  { name: 'an unknown relation', method: 'GET', path: '/projects/{project}/metadata/relations/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'PUT an unknown relation', method: 'PUT', path: '/projects/{project}/metadata/relations/{missing}', body: { type: 'ONE_TO_ONE' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'DELETE an unknown relation', method: 'DELETE', path: '/projects/{project}/metadata/relations/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'PUT relation {}', method: 'PUT', path: '/projects/{project}/metadata/relations/{missing}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'PUT relation with no columns', method: 'PUT', path: '/projects/{project}/metadata/relations/{missing}', body: { from_columns: [] }, status: 422, code: 'validation_error', field: 'from_columns' },
  { name: 'relations of an unknown project', method: 'GET', path: '/projects/{missing}/metadata/relations', status: 404, code: 'not_found', field: MISSING },
  { name: 'categorical values with limit=0', method: 'PUT', path: '/projects/{project}/metadata/internal/target/target/columns/v/categorical', body: { limit: 0 }, status: 422, code: 'validation_error', field: 'limit' },
  { name: 'categorical values with limit=1001', method: 'PUT', path: '/projects/{project}/metadata/internal/target/target/columns/v/categorical', body: { limit: 1001 }, status: 422, code: 'validation_error', field: 'limit' },
  { name: 'categorical values refreshed on no schedule', method: 'PUT', path: '/projects/{project}/metadata/internal/target/target/columns/v/categorical', body: { refresh: 'P1X' }, status: 422, code: 'validation_error', field: 'refresh' },
  { name: 'categorical values refreshed every 10 seconds', method: 'PUT', path: '/projects/{project}/metadata/internal/target/target/columns/v/categorical', body: { refresh: 'PT10S' }, status: 422, code: 'validation_error', field: 'refresh' },
  { name: 'categorical values with a six-field cron', method: 'PUT', path: '/projects/{project}/metadata/internal/target/target/columns/v/categorical', body: { refresh: '* * * * * *' }, status: 422, code: 'validation_error', field: 'refresh' },
  { name: 'categorical values with an unknown field', method: 'PUT', path: '/projects/{project}/metadata/internal/target/target/columns/v/categorical', body: { colour: 'red' }, status: 422, code: 'validation_error', field: 'colour' },
  { name: 'categorical values of an unknown column', method: 'PUT', path: '/projects/{project}/metadata/internal/target/target/columns/nope/categorical', body: {}, status: 404, code: 'not_found', field: 'internal.target.target.nope' },
  { name: 'categorical values of an unknown table', method: 'PUT', path: '/projects/{project}/metadata/internal/target/nowhere/columns/v/categorical', body: {}, status: 404, code: 'not_found', field: 'internal.target.nowhere' },
  { name: 'DELETE categorical values of a column that has none', method: 'DELETE', path: '/projects/{project}/metadata/internal/target/target/columns/v/categorical', status: 404, code: 'not_found', field: 'categorical column internal.target.target.v' },

  // Caches (issue 11)
  { name: 'a cache without a table', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'x', schema: 'main' }, status: 422, code: 'validation_error', field: 'table' },
  { name: 'a cache with an unknown field', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'x', schema: 'main', table: 't', ttl: 5 }, status: 422, code: 'validation_error', field: 'ttl' },
  { name: 'a cache with a cron of seven fields', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'x', schema: 'main', table: 't', full_refresh_schedule: { type: 'cron', cron: '0 0 0 * * * *' } }, status: 422, code: 'validation_error', field: 'full_refresh_schedule' },
  { name: 'a cache in an unknown time zone', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'x', schema: 'main', table: 't', full_refresh_schedule: { type: 'cron', cron: '0 * * * *', timezone: 'Europe/Atlantis' } }, status: 422, code: 'validation_error', field: 'full_refresh_schedule' },
  { name: 'a cache refreshed every 30 seconds', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'x', schema: 'main', table: 't', incremental_schedule: { type: 'interval', every: 'PT30S' } }, status: 422, code: 'validation_error', field: 'incremental_schedule' },
  { name: 'a cache with an empty primary key', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'x', schema: 'main', table: 't', incremental: { cursor_column: 'id', primary_key: [] } }, status: 422, code: 'validation_error', field: 'incremental.primary_key' },
  { name: 'a cache of an internal table', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'internal', schema: 'target', table: 'target' }, status: 422, code: 'validation_error', field: 'catalog' },
  { name: 'a cache of an unknown catalog', method: 'POST', path: '/projects/{project}/caches', body: { catalog: 'nowhere', schema: 'main', table: 't' }, status: 404, code: 'not_found', field: 'nowhere' },
  { name: 'a cache batch of no tables', method: 'POST', path: '/projects/{project}/caches/batch', body: { tables: [] }, status: 422, code: 'validation_error', field: 'tables' },
  { name: 'a cache batch with a bad table', method: 'POST', path: '/projects/{project}/caches/batch', body: { tables: [{ catalog: 'x', schema: 'main' }] }, status: 422, code: 'validation_error', field: 'tables.0.table' },
  { name: 'PUT cache {}', method: 'PUT', path: '/projects/{project}/caches/{missing}', body: {}, status: 422, code: 'validation_error', field: 'at least one schedule' },
  { name: 'PUT cache with its table', method: 'PUT', path: '/projects/{project}/caches/{missing}', body: { table: 'other' }, status: 422, code: 'validation_error', field: 'table' },
  { name: 'a cache refresh of an unknown mode', method: 'POST', path: '/projects/{project}/caches/{missing}/refresh', body: { mode: 'partial' }, status: 422, code: 'validation_error', field: 'mode' },
  { name: 'a cache id that is not a UUID', method: 'GET', path: '/projects/{project}/caches/nope', status: 422, code: 'validation_error', field: 'cache_id' },
  { name: 'an unknown cache', method: 'GET', path: '/projects/{project}/caches/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'a refresh of an unknown cache', method: 'POST', path: '/projects/{project}/caches/{missing}/refresh', body: {}, status: 404, code: 'not_found', field: MISSING },
  { name: 'DELETE an unknown cache', method: 'DELETE', path: '/projects/{project}/caches/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'cache history with limit=0', method: 'GET', path: '/projects/{project}/caches/{missing}/history?limit=0', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'a cache status with an unknown filter', method: 'GET', path: '/projects/{project}/caches/status?table=t', status: 422, code: 'validation_error', field: 'table' },

  // Dashboards (issue 14): what the contract refuses before any query is described
  { name: 'a dashboard without a name', method: 'POST', path: '/projects/{project}/dashboards', body: { widgets: [] }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'a dashboard of 51 widgets', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: Array(51).fill({ type: 'text', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, config: { content: 'x' } }) }, status: 422, code: 'validation_error', field: 'widgets' },
  { name: 'a widget of an unknown type', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: [{ type: 'gauge', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, sql: 'select 1', config: {} }] }, status: 422, code: 'validation_error', field: 'widgets.0.type' },
  { name: 'a widget with two sources', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: [{ type: 'table', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, sql: 'select 1', question: 'how many', config: {} }] }, status: 422, code: 'validation_error', field: 'widgets.0.question' },
  { name: 'a bar widget without y', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: [{ type: 'bar', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, sql: 'select 1 as a', config: { x: 'a' } }] }, status: 422, code: 'validation_error', field: 'widgets.0.config.y' },
  { name: 'a text widget without content', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: [{ type: 'text', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, config: {} }] }, status: 422, code: 'validation_error', field: 'widgets.0.config.content' },
  { name: 'a widget at a negative position', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: [{ ...{ type: 'text', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, config: { content: 'x' } }, position: { x: -1, y: 0, w: 1, h: 1 } }] }, status: 422, code: 'validation_error', field: 'widgets.0.position.x' },
  { name: 'a widget with an unknown field', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: [{ ...{ type: 'text', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, config: { content: 'x' } }, colour: 'red' }] }, status: 422, code: 'validation_error', field: 'colour' },
  { name: 'two widgets of one id', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: [{ ...{ type: 'text', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, config: { content: 'x' } }, id: '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e' }, { ...{ type: 'text', title: 't', position: { x: 0, y: 0, w: 1, h: 1 }, config: { content: 'x' } }, id: '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e' }] }, status: 422, code: 'validation_error', field: 'widgets.1.id' },
  { name: 'a dashboard refreshed every 30 seconds', method: 'POST', path: '/projects/{project}/dashboards', body: { name: 'd', widgets: [], refresh: { type: 'interval', every: 'PT30S' } }, status: 422, code: 'validation_error', field: 'refresh' },
  { name: 'PATCH dashboard {}', method: 'PATCH', path: '/projects/{project}/dashboards/{missing}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'a dashboard id that is not a UUID', method: 'GET', path: '/projects/{project}/dashboards/nope', status: 422, code: 'validation_error', field: 'dashboard_id' },
  { name: 'an unknown dashboard', method: 'GET', path: '/projects/{project}/dashboards/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'a refresh of an unknown dashboard', method: 'POST', path: '/projects/{project}/dashboards/{missing}/refresh', status: 404, code: 'not_found', field: MISSING },
  { name: 'the data of a widget of an unknown dashboard', method: 'GET', path: '/projects/{project}/dashboards/{missing}/widgets/{missing}/data', status: 404, code: 'not_found', field: MISSING },
  { name: 'widget data with refresh=maybe', method: 'GET', path: '/projects/{project}/dashboards/{missing}/widgets/{missing}/data?refresh=maybe', status: 422, code: 'validation_error', field: 'refresh' },

  // Agents (issue 13): this app allows no internal address, so loopback and private endpoints are refused
  { name: 'an agent of an unknown protocol', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'SOAP', endpoint_url: 'http://203.0.113.10/' }, status: 422, code: 'validation_error', field: 'protocol' },
  { name: 'an agent on ftp://', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'ftp://203.0.113.10/agent' }, status: 422, code: 'validation_error', field: 'endpoint_url' },
  { name: 'an agent at a relative URL', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: '/agent' }, status: 422, code: 'validation_error', field: 'endpoint_url' },
  { name: 'an agent at a private address', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://10.0.0.1/agent' }, status: 422, code: 'validation_error', field: '10.0.0.1 is a private address' },
  { name: 'an agent on loopback without the allow-list', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'MCP', endpoint_url: 'http://127.0.0.1:8080/mcp' }, status: 422, code: 'validation_error', field: 'loopback' },
  { name: 'an agent on IPv4-mapped loopback', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'MCP', endpoint_url: 'http://[::ffff:127.0.0.1]/mcp' }, status: 422, code: 'validation_error', field: 'loopback' },
  { name: 'an agent on the metadata service address', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://169.254.169.254/latest' }, status: 422, code: 'validation_error', field: 'link-local' },
  { name: 'an agent on an IPv6 unique-local address', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://[fd00::1]/' }, status: 422, code: 'validation_error', field: 'unique-local' },
  { name: 'an agent URL with credentials in it', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://user:pw@203.0.113.10/' }, status: 422, code: 'validation_error', field: 'credentials' },
  { name: 'an agent without a name', method: 'POST', path: '/agents', body: { protocol: 'A2A', endpoint_url: 'http://203.0.113.10/' }, status: 422, code: 'validation_error', field: 'name' },
  { name: 'an agent with an unknown field', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://203.0.113.10/', secret: 'x' }, status: 422, code: 'validation_error', field: 'secret' },
  { name: 'an agent with capabilities that are not an object', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://203.0.113.10/', capabilities: 'all' }, status: 422, code: 'validation_error', field: 'capabilities' },
  { name: 'an agent with an unknown auth type', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://203.0.113.10/', auth: { type: 'basic', secret: 'x' } }, status: 422, code: 'validation_error', field: 'type' },
  { name: 'an agent credential in the Host header', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://203.0.113.10/', auth: { type: 'header', header_name: 'Host', secret: 'x' } }, status: 422, code: 'validation_error', field: 'header_name' },
  { name: 'an agent credential with a line break', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://203.0.113.10/', auth: { type: 'bearer', secret: 'x\r\nX-Injected: 1' } }, status: 422, code: 'validation_error', field: 'secret' },
  { name: 'an agent role without a project', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://203.0.113.10/', role: 'analyst' }, status: 422, code: 'validation_error', field: 'role' },
  { name: 'an agent for an unknown project', method: 'POST', path: '/agents', body: { name: 'a', protocol: 'A2A', endpoint_url: 'http://203.0.113.10/', project_id: MISSING }, status: 404, code: 'not_found', field: MISSING },
  { name: 'agents with limit=0', method: 'GET', path: '/agents?limit=0', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'agents with a forged cursor', method: 'GET', path: '/agents?cursor=bm9wZQ', status: 422, code: 'validation_error', field: 'cursor' },
  { name: 'an agent id that is not a UUID', method: 'GET', path: '/agents/nope', status: 422, code: 'validation_error', field: 'agent_id' },
  { name: 'an unknown agent', method: 'GET', path: '/agents/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'PATCH agent {}', method: 'PATCH', path: '/agents/{missing}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'PATCH an unknown agent', method: 'PATCH', path: '/agents/{missing}', body: { name: 'x' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'DELETE an unknown agent', method: 'DELETE', path: '/agents/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'a test of an unknown agent', method: 'POST', path: '/agents/{missing}/test', status: 404, code: 'not_found', field: MISSING },
  { name: 'tools of an unknown agent', method: 'GET', path: '/agents/{missing}/tools', status: 404, code: 'not_found', field: MISSING },
  { name: 'a rate limit of 0', method: 'PUT', path: '/agents/{missing}/rate-limits', body: { max_requests_per_second: 0 }, status: 422, code: 'validation_error', field: 'max_requests_per_second' },
  { name: 'a fractional rate limit', method: 'PUT', path: '/agents/{missing}/rate-limits', body: { max_requests_per_minute: 1.5 }, status: 422, code: 'validation_error', field: 'max_requests_per_minute' },
  { name: 'a rate limit as text', method: 'PUT', path: '/agents/{missing}/rate-limits', body: { max_requests_per_hour: 'many' }, status: 422, code: 'validation_error', field: 'max_requests_per_hour' },
  { name: 'rate limits of an unknown agent', method: 'PUT', path: '/agents/{missing}/rate-limits', body: { max_requests_per_hour: 10 }, status: 404, code: 'not_found', field: MISSING },
  { name: 'assigning an unknown agent', method: 'POST', path: '/projects/{project}/agents', body: { agent_id: MISSING }, status: 404, code: 'not_found', field: MISSING },
  { name: 'assigning an agent id that is not a UUID', method: 'POST', path: '/projects/{project}/agents', body: { agent_id: 'nope' }, status: 422, code: 'validation_error', field: 'agent_id' },
  { name: 'agents of an unknown project', method: 'GET', path: '/projects/{missing}/agents', status: 404, code: 'not_found', field: MISSING },
  // Webhooks
  { name: 'a webhook for an unknown event type', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['query_job.exploded'] }, status: 422, code: 'validation_error', field: 'events.0' },
  { name: 'a webhook for no events', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: [] }, status: 422, code: 'validation_error', field: 'events' },
  { name: 'a webhook for too many events', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: Array.from({ length: 12 }, () => 'import.failed') }, status: 422, code: 'validation_error', field: 'events' },
  { name: 'a webhook naming an event twice', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['import.failed', 'import.failed'] }, status: 422, code: 'validation_error', field: 'twice' },
  { name: "a webhook for '*' and more", method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['*', 'import.failed'] }, status: 422, code: 'validation_error', field: 'events' },
  { name: 'a webhook for a ping', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['ping'] }, status: 422, code: 'validation_error', field: 'events.0' },
  { name: 'a webhook events string', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: '*' }, status: 422, code: 'validation_error', field: 'events' },
  { name: 'a webhook without events', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook' }, status: 422, code: 'validation_error', field: 'events' },
  { name: 'a webhook on ftp://', method: 'POST', path: '/webhooks', body: { url: 'ftp://203.0.113.10/hook', events: ['*'] }, status: 422, code: 'validation_error', field: 'url' },
  { name: 'a webhook at a relative URL', method: 'POST', path: '/webhooks', body: { url: '/hook', events: ['*'] }, status: 422, code: 'validation_error', field: 'url' },
  { name: 'a webhook URL with credentials in it', method: 'POST', path: '/webhooks', body: { url: 'https://user:pw@203.0.113.10/hook', events: ['*'] }, status: 422, code: 'validation_error', field: 'url' },
  { name: 'a webhook at a private address', method: 'POST', path: '/webhooks', body: { url: 'http://10.0.0.1/hook', events: ['*'] }, status: 422, code: 'validation_error', field: '10.0.0.1 is a private address' },
  { name: 'a webhook on loopback without the allow-list', method: 'POST', path: '/webhooks', body: { url: 'http://127.0.0.1:8080/hook', events: ['*'] }, status: 422, code: 'validation_error', field: 'loopback' },
  { name: 'a webhook on the metadata service address', method: 'POST', path: '/webhooks', body: { url: 'http://169.254.169.254/latest', events: ['*'] }, status: 422, code: 'validation_error', field: 'link-local' },
  { name: 'a webhook with an oversized description', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['*'], description: 'x'.repeat(2001) }, status: 422, code: 'validation_error', field: 'description' },
  { name: 'a webhook with is_active as text', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['*'], is_active: 'yes' }, status: 422, code: 'validation_error', field: 'is_active' },
  { name: 'a webhook with an unknown field', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['*'], secret: 'mine' }, status: 422, code: 'validation_error', field: 'secret' },
  { name: 'a webhook for an unknown project', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['*'], project_id: MISSING }, status: 404, code: 'not_found', field: MISSING },
  { name: 'a webhook project id that is not a UUID', method: 'POST', path: '/webhooks', body: { url: 'http://203.0.113.10/hook', events: ['*'], project_id: 'nope' }, status: 422, code: 'validation_error', field: 'project_id' },
  { name: 'webhooks with limit=0', method: 'GET', path: '/webhooks?limit=0', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'webhooks with a forged cursor', method: 'GET', path: '/webhooks?cursor=bm9wZQ', status: 422, code: 'validation_error', field: 'cursor' },
  { name: 'a webhook id that is not a UUID', method: 'GET', path: '/webhooks/nope', status: 422, code: 'validation_error', field: 'webhook_id' },
  { name: 'an unknown webhook', method: 'GET', path: '/webhooks/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'PATCH webhook {}', method: 'PATCH', path: '/webhooks/{missing}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'PATCH webhook rotate_secret false', method: 'PATCH', path: '/webhooks/{missing}', body: { rotate_secret: false }, status: 422, code: 'validation_error', field: 'rotate_secret' },
  { name: 'PATCH webhook to a private address', method: 'PATCH', path: '/webhooks/{missing}', body: { url: 'http://10.0.0.1/hook' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'PATCH an unknown webhook', method: 'PATCH', path: '/webhooks/{missing}', body: { is_active: false }, status: 404, code: 'not_found', field: MISSING },
  { name: 'DELETE an unknown webhook', method: 'DELETE', path: '/webhooks/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'deliveries of an unknown webhook', method: 'GET', path: '/webhooks/{missing}/deliveries', status: 404, code: 'not_found', field: MISSING },
  { name: 'deliveries with limit=201', method: 'GET', path: '/webhooks/{missing}/deliveries?limit=201', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'a test of an unknown webhook', method: 'POST', path: '/webhooks/{missing}/test', status: 404, code: 'not_found', field: MISSING },
  // Query quota and costs
  { name: 'a negative daily query limit', method: 'PUT', path: '/query-quota', body: { daily_limit: -1, monthly_limit: null }, status: 422, code: 'validation_error', field: 'daily_limit' },
  { name: 'a negative monthly query limit', method: 'PUT', path: '/query-quota', body: { daily_limit: null, monthly_limit: -0.01 }, status: 422, code: 'validation_error', field: 'monthly_limit' },
  { name: 'a query limit as text', method: 'PUT', path: '/query-quota', body: { daily_limit: '5', monthly_limit: null }, status: 422, code: 'validation_error', field: 'daily_limit' },
  { name: 'a query quota without its monthly limit', method: 'PUT', path: '/query-quota', body: { daily_limit: 5 }, status: 422, code: 'validation_error', field: 'monthly_limit' },
  { name: 'a query quota with an unknown field', method: 'PUT', path: '/query-quota', body: { daily_limit: 1, monthly_limit: 1, weekly_limit: 1 }, status: 422, code: 'validation_error', field: 'weekly_limit' },
  { name: 'query costs with page_size=101', method: 'GET', path: '/query-costs?page_size=101', status: 422, code: 'validation_error', field: 'page_size' },
  { name: 'query costs with page=0', method: 'GET', path: '/query-costs?page=0', status: 422, code: 'validation_error', field: 'page' },
  // Cross-organization approvals
  { name: 'an approval request without a project', method: 'POST', path: '/approvals/project-tenant', body: { tenant_id: MISSING }, status: 422, code: 'validation_error', field: 'project_id' },
  { name: 'an approval request for a tenant that is no UUID', method: 'POST', path: '/approvals/project-tenant', body: { project_id: MISSING, tenant_id: 'nope' }, status: 422, code: 'validation_error', field: 'tenant_id' },
  { name: 'an approval request of an unknown project', method: 'POST', path: '/approvals/project-tenant', body: { project_id: MISSING, tenant_id: MISSING }, status: 404, code: 'not_found', field: MISSING },
  { name: 'a dataset approval request without a dataset', method: 'POST', path: '/approvals/project-dataset', body: { project_id: MISSING }, status: 422, code: 'validation_error', field: 'dataset_id' },
  { name: 'a shared catalog name with spaces', method: 'POST', path: '/approvals/project-dataset', body: { project_id: MISSING, dataset_id: MISSING, catalog: 'Bad Name' }, status: 422, code: 'validation_error', field: 'catalog' },
  { name: 'a shared catalog named internal', method: 'POST', path: '/approvals/project-dataset', body: { project_id: MISSING, dataset_id: MISSING, catalog: 'internal' }, status: 422, code: 'validation_error', field: 'catalog' },
  { name: 'an approval request with an unknown field', method: 'POST', path: '/approvals/project-dataset', body: { project_id: MISSING, dataset_id: MISSING, access: 'write' }, status: 422, code: 'validation_error', field: 'access' },
  { name: 'approvals of an unknown status', method: 'GET', path: '/approvals?status=done', status: 422, code: 'validation_error', field: 'status' },
  { name: 'approvals of a project id that is no UUID', method: 'GET', path: '/approvals?project_id=nope', status: 422, code: 'validation_error', field: 'project_id' },
  { name: 'approvals in no known direction', method: 'GET', path: '/approvals?direction=sideways', status: 422, code: 'validation_error', field: 'direction' },
  { name: 'approvals from a made-up cursor', method: 'GET', path: '/approvals?cursor=nope', status: 422, code: 'validation_error', field: 'cursor' },
  { name: 'approvals by the thousand', method: 'GET', path: '/approvals?limit=1000', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'an approval id that is not a UUID', method: 'GET', path: '/approvals/nope', status: 422, code: 'validation_error', field: 'approval_id' },
  { name: 'an unknown approval', method: 'GET', path: '/approvals/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'approving an unknown approval', method: 'POST', path: '/approvals/{missing}/approve', status: 404, code: 'not_found', field: MISSING },
  { name: 'rejecting without a reason', method: 'POST', path: '/approvals/{missing}/reject', body: {}, status: 422, code: 'validation_error', field: 'rejection_reason' },
  { name: 'rejecting with a blank reason', method: 'POST', path: '/approvals/{missing}/reject', body: { rejection_reason: '   ' }, status: 422, code: 'validation_error', field: 'rejection_reason' },
  { name: 'revoking an unknown approval', method: 'POST', path: '/approvals/{missing}/revoke', status: 404, code: 'not_found', field: MISSING },
  // Workflows
  { name: 'a workflow of six steps', method: 'POST', path: '/projects/{project}/workflows', body: { name: 'w', steps: Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, sql: 'select 1' })) }, status: 422, code: 'validation_error', field: 'steps' },
  { name: 'a workflow of eleven actions', method: 'POST', path: '/projects/{project}/workflows', body: { name: 'w', steps: [{ name: 's', sql: 'select 1' }], actions: Array.from({ length: 11 }, () => ({ type: 'webhook', url: 'http://203.0.113.10/hook' })) }, status: 422, code: 'validation_error', field: 'actions' },
  { name: 'a workflow condition that does not parse', method: 'POST', path: '/projects/{project}/workflows', body: { name: 'w', steps: [{ name: 's', sql: 'select 1', condition: 'steps.s.rows[0].x >' }] }, status: 422, code: 'validation_error', field: 'steps.0.condition' },
  { name: 'a workflow template naming a missing step', method: 'POST', path: '/projects/{project}/workflows', body: { name: 'w', steps: [{ name: 's', sql: 'select 1' }], actions: [{ type: 'webhook', url: 'http://203.0.113.10/hook', body: { rows: '{{steps.gone.rows}}' } }] }, status: 422, code: 'validation_error', field: 'actions.0.body' },
  { name: 'a workflow webhook to a private address', method: 'POST', path: '/projects/{project}/workflows', body: { name: 'w', steps: [{ name: 's', sql: 'select 1' }], actions: [{ type: 'webhook', url: 'http://10.0.0.1/hook' }] }, status: 422, code: 'validation_error', field: 'actions.0.url' },
  { name: 'a workflow webhook retried six times', method: 'POST', path: '/projects/{project}/workflows', body: { name: 'w', steps: [{ name: 's', sql: 'select 1' }], actions: [{ ...{ type: 'webhook', url: 'http://203.0.113.10/hook' }, retries: 6 }] }, status: 422, code: 'validation_error', field: 'actions.0.retries' },
  { name: 'a workflow step with both sql and a question', method: 'POST', path: '/projects/{project}/workflows', body: { name: 'w', steps: [{ name: 's', sql: 'select 1', question: 'how many?' }] }, status: 422, code: 'validation_error', field: 'exactly one of query_id, sql or question' },
  { name: 'a workflow of an unknown trigger', method: 'POST', path: '/projects/{project}/workflows', body: { name: 'w', trigger: { type: 'webhook' }, steps: [{ name: 's', sql: 'select 1' }] }, status: 422, code: 'validation_error', field: 'type' },
  { name: 'PATCH workflow without its revision', method: 'PATCH', path: '/projects/{project}/workflows/{missing}', body: { name: 'x' }, status: 422, code: 'validation_error', field: 'revision' },
  { name: 'PATCH an unknown workflow', method: 'PATCH', path: '/projects/{project}/workflows/{missing}', body: { revision: 1, name: 'x' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'a workflow id that is not a UUID', method: 'GET', path: '/projects/{project}/workflows/nope', status: 422, code: 'validation_error', field: 'workflow_id' },
  { name: 'running an unknown workflow', method: 'POST', path: '/projects/{project}/workflows/{missing}/run', status: 404, code: 'not_found', field: MISSING },
  { name: 'a workflow action index that is no number', method: 'POST', path: '/projects/{project}/workflows/{missing}/actions/first/test', status: 422, code: 'validation_error', field: 'index' },
  { name: 'a workflow action index past the last', method: 'POST', path: '/projects/{project}/workflows/{missing}/actions/10/test', status: 422, code: 'validation_error', field: 'index' },
  { name: 'workflow runs with limit=0', method: 'GET', path: '/projects/{project}/workflows/{missing}/runs?limit=0', status: 422, code: 'validation_error', field: 'limit' },
  { name: 'an unknown workflow run', method: 'GET', path: '/projects/{project}/workflows/{missing}/runs/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'removing an agent that is not assigned', method: 'DELETE', path: '/projects/{project}/agents/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'a gateway call to an unknown agent', method: 'POST', path: '/agent-gateway/agents/{missing}', body: { message: 'hi' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'a gateway call with a numeric message', method: 'POST', path: '/agent-gateway/agents/{missing}', body: { message: 42 }, status: 422, code: 'validation_error', field: 'message' },
  { name: 'a gateway call with timeout_ms=0', method: 'POST', path: '/agent-gateway/agents/{missing}', body: { message: 'hi', timeout_ms: 0 }, status: 422, code: 'validation_error', field: 'timeout_ms' },
  { name: 'a gateway stream to an unknown agent', method: 'POST', path: '/agent-gateway/agents/{missing}/stream', body: { message: 'hi' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'a project gateway call without a message', method: 'POST', path: '/agent-gateway/projects/{project}', body: {}, status: 422, code: 'validation_error', field: 'message' },
  { name: 'a project gateway call to an unknown project', method: 'POST', path: '/agent-gateway/projects/{missing}', body: { message: 'hi' }, status: 404, code: 'not_found', field: MISSING },

  // Outbound credentials
  { name: 'a credential without a secret', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'secret' },
  { name: 'a credential with an empty secret', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: '', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'secret' },
  { name: 'a credential secret with a line break', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 'a\nb', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'secret' },
  { name: 'a bearer secret that is not ASCII', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 'clé', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'secret' },
  { name: 'a credential of an unknown type', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'oauth', secret: 's', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'type' },
  { name: 'a header credential without header_name', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'header', secret: 's', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'header_name' },
  { name: 'a header credential on Content-Type', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'header', header_name: 'Content-Type', secret: 's', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'header_name' },
  { name: 'a header credential on the signature header', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'header', header_name: 'X-Tributary-Signature', secret: 's', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'header_name' },
  { name: 'a basic credential without username', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'basic', secret: 's', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'username' },
  { name: 'a basic username with a colon', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'basic', username: 'a:b', secret: 's', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'username' },
  { name: 'a bearer credential with a username', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', username: 'u', secret: 's', allowed_hosts: ['example.com'] }, status: 422, code: 'validation_error', field: 'username' },
  { name: 'a credential without allowed hosts', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 's', allowed_hosts: [] }, status: 422, code: 'validation_error', field: 'allowed_hosts' },
  { name: 'a credential for 21 hosts', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 's', allowed_hosts: Array.from({ length: 21 }, (_, i) => `h${i}.example.com`) }, status: 422, code: 'validation_error', field: 'allowed_hosts' },
  { name: 'an allowed host with a scheme', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 's', allowed_hosts: ['https://example.com'] }, status: 422, code: 'validation_error', field: 'allowed_hosts.0' },
  { name: 'an allowed host with a path', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 's', allowed_hosts: ['example.com', 'example.com/hook'] }, status: 422, code: 'validation_error', field: 'allowed_hosts.1' },
  { name: 'an allowed host wildcard over a TLD', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 's', allowed_hosts: ['*.com'] }, status: 422, code: 'validation_error', field: 'allowed_hosts.0' },
  { name: 'an allowed host with port 70000', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 's', allowed_hosts: ['example.com:70000'] }, status: 422, code: 'validation_error', field: 'allowed_hosts.0' },
  { name: 'an allowed host that is no host name', method: 'POST', path: '/projects/{project}/credentials', body: { name: 'c', type: 'bearer', secret: 's', allowed_hosts: ['exa mple.com'] }, status: 422, code: 'validation_error', field: 'allowed_hosts.0' },
  { name: 'PATCH credential {}', method: 'PATCH', path: '/projects/{project}/credentials/{missing}', body: {}, status: 422, code: 'validation_error', field: 'at least one field' },
  { name: 'PATCH a credential type without a new secret', method: 'PATCH', path: '/projects/{project}/credentials/{missing}', body: { type: 'bearer' }, status: 422, code: 'validation_error', field: 'secret' },
  { name: 'PATCH an unknown credential', method: 'PATCH', path: '/projects/{project}/credentials/{missing}', body: { secret: 'new' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'DELETE an unknown credential', method: 'DELETE', path: '/projects/{project}/credentials/{missing}', status: 404, code: 'not_found', field: MISSING },
  { name: 'a credential id that is not a UUID', method: 'GET', path: '/projects/{project}/credentials/nope', status: 422, code: 'validation_error', field: 'credential_id' },
  { name: 'credentials of an unknown project', method: 'GET', path: '/projects/{missing}/credentials', status: 404, code: 'not_found', field: MISSING },

  // Access policies: masks, row filters, column tags, attributes
  { name: 'a privacy policy on a missing column', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'nope', mask: 'redact' }, status: 422, code: 'validation_error', field: 'column' },
  { name: 'a privacy policy on a missing table', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'nope', column: 'v', mask: 'redact' }, status: 422, code: 'validation_error', field: 'table' },
  { name: 'a privacy policy on a missing catalog', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'nowhere', schema: 'target', table: 'target', column: 'v', mask: 'redact' }, status: 422, code: 'validation_error', field: 'catalog' },
  { name: 'year_only on a text column', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', mask: 'year_only' }, status: 422, code: 'validation_error', field: 'mask' },
  { name: 'an unknown mask', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', mask: 'scramble' }, status: 422, code: 'validation_error', field: 'mask' },
  { name: 'a custom mask without {col}', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', mask: 'custom', expression: "'x'" }, status: 422, code: 'validation_error', field: 'expression' },
  { name: 'a custom mask with a subquery', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', mask: 'custom', expression: '(select max(v) from internal.target.target) || {col}' }, status: 422, code: 'validation_error', field: 'expression' },
  { name: 'a privacy policy with both a column and a tag', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', tag: 'pii', mask: 'redact' }, status: 422, code: 'validation_error', field: 'catalog' },
  { name: 'a privacy policy excepting an unknown role', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', mask: 'redact', except_roles: ['owner'] }, status: 422, code: 'validation_error', field: 'except_roles.0' },
  { name: 'a privacy policy excepting 51 users', method: 'POST', path: '/projects/{project}/privacy-policies', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', mask: 'redact', except_users: Array.from({ length: 51 }, () => MISSING) }, status: 422, code: 'validation_error', field: 'except_users' },
  { name: 'PUT an unknown privacy policy', method: 'PUT', path: '/projects/{project}/privacy-policies/{missing}', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', mask: 'redact' }, status: 404, code: 'not_found', field: MISSING },
  { name: 'a privacy policy id that is not a UUID', method: 'GET', path: '/projects/{project}/privacy-policies/nope', status: 422, code: 'validation_error', field: 'policy_id' },
  { name: 'a row filter that does not parse', method: 'POST', path: '/projects/{project}/row-policies', body: { catalog: 'internal', schema: 'target', table: 'target', filter: 'v =' }, status: 422, code: 'validation_error', field: 'filter' },
  { name: 'a row filter on another table', method: 'POST', path: '/projects/{project}/row-policies', body: { catalog: 'internal', schema: 'target', table: 'target', filter: 'v IN (select v from internal.target.target)' }, status: 422, code: 'validation_error', field: 'filter' },
  { name: 'a row filter on an unknown column', method: 'POST', path: '/projects/{project}/row-policies', body: { catalog: 'internal', schema: 'target', table: 'target', filter: "nope = 'x'" }, status: 422, code: 'validation_error', field: 'filter' },
  { name: 'a row filter that is not boolean', method: 'POST', path: '/projects/{project}/row-policies', body: { catalog: 'internal', schema: 'target', table: 'target', filter: 'v' }, status: 422, code: 'validation_error', field: 'filter' },
  { name: 'a second statement in a row filter', method: 'POST', path: '/projects/{project}/row-policies', body: { catalog: 'internal', schema: 'target', table: 'target', filter: "v = 'x'; drop table t" }, status: 422, code: 'validation_error', field: 'filter' },
  { name: 'a row filter of 4001 characters', method: 'POST', path: '/projects/{project}/row-policies', body: { catalog: 'internal', schema: 'target', table: 'target', filter: 'x'.repeat(4001) }, status: 422, code: 'validation_error', field: 'filter' },
  { name: 'a row policy without a filter', method: 'POST', path: '/projects/{project}/row-policies', body: { catalog: 'internal', schema: 'target', table: 'target' }, status: 422, code: 'validation_error', field: 'filter' },
  { name: 'a column tag that is no tag name', method: 'POST', path: '/projects/{project}/column-tags', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'v', tag: 'P I I' }, status: 422, code: 'validation_error', field: 'tag' },
  { name: 'a column tag on a missing column', method: 'POST', path: '/projects/{project}/column-tags', body: { catalog: 'internal', schema: 'target', table: 'target', column: 'nope', tag: 'pii' }, status: 422, code: 'validation_error', field: 'column' },
  { name: 'a user attribute with a built-in name', method: 'PATCH', path: '/users/{user}', body: { attributes: { email: 'x' } }, status: 422, code: 'validation_error', field: 'attributes.email' },
  { name: 'a user attribute name in capitals', method: 'PATCH', path: '/users/{user}', body: { attributes: { Region: 'x' } }, status: 422, code: 'validation_error', field: 'attributes.Region' },
  { name: 'a user attribute that is not text', method: 'PATCH', path: '/users/{user}', body: { attributes: { region: 1 } }, status: 422, code: 'validation_error', field: 'attributes.region' },
  { name: 'a key attribute of 1001 characters', method: 'POST', path: '/projects/{project}/api-keys', body: { name: 'k', attributes: { region: 'x'.repeat(1001) } }, status: 422, code: 'validation_error', field: 'attributes.region' },

  // Routes and methods
  { name: 'an unknown route', method: 'GET', path: '/nope', status: 404, code: 'not_found', field: '/api/v1/nope' },
  { name: 'an unknown route without credentials', method: 'GET', path: '/nope', as: 'none', status: 401, code: 'authentication_error' },
  { name: 'PUT on the projects collection', method: 'PUT', path: '/projects', body: { name: 'x' }, status: 404, code: 'not_found', field: 'PUT' },
  { name: 'DELETE on the workspaces collection', method: 'DELETE', path: '/workspaces', status: 404, code: 'not_found', field: 'DELETE' },
  { name: 'POST on a project', method: 'POST', path: '/projects/{project}', body: { name: 'x' }, status: 404, code: 'not_found', field: 'POST' },
  { name: 'GET on login', method: 'GET', path: '/auth/login', status: 404, code: 'not_found', field: 'GET' },
  { name: 'an unknown path outside the API', method: 'GET', path: '!/nope', as: 'none', status: 404, code: 'not_found', field: '/nope' },
  // MCP at /mcp: the same body checks as the API; what passes them is JSON-RPC, answered by the protocol
  { name: 'MCP: truncated JSON', method: 'POST', path: '!/mcp', raw: '{"jsonrpc": "2.0", "id": 1, "method": "tools/li', status: 422, code: 'validation_error', field: 'malformed JSON' },
  { name: 'MCP: not JSON', method: 'POST', path: '!/mcp', bytes: 'tools/list', status: 415, code: 'unsupported_media_type', field: 'none' },
  { name: 'MCP: a compressed body', method: 'POST', path: '!/mcp', raw: '{}', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, status: 415, code: 'unsupported_media_type', field: 'gzip' },
  { name: 'MCP: no credentials', method: 'POST', path: '!/mcp', as: 'none', body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, status: 401, code: 'authentication_error' },
  { name: 'MCP: the platform key', method: 'POST', path: '!/mcp', as: 'platform', body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, status: 403, code: 'authorization_error', field: 'platform key' },
]

/**
 * SQL that a hand-written reading would take for something else, which runs as DuckDB reads it:
 * [what it is, the SQL, its rows as the API writes them].
 */
const ODD_SQL: [string, string, unknown[][]][] = [
  ['a backslash-escaped quote, then what looks like a comment', "SELECT E'\\'; --' AS s", [["'; --"]]],
  [
    'a dollar-quoted string holding a quote and a comment',
    "select $$it's; -- not a comment$$ as s",
    [["it's; -- not a comment"]],
  ],
  ['a nested comment holding semicolons', 'select 1 /* one /* two; */ still; */ + 1 as n', [[2]]],
  [
    'an integer beyond 2^53, and a double',
    'select 9007199254740993 as n, 0.1e0 + 0.2e0 as d',
    [['9007199254740993', 0.30000000000000004]],
  ],
]

/** The ids a path may name, made once per app. */
interface Fixture {
  org: string
  orgKey: string
  orgKeyId: string
  project: string
  projectKeyId: string
  workspace: string
  defaultWorkspace: string
  user: string
  dataset: string
  table: string
}

function fillPath(template: string, f: Fixture): string {
  const path = template
    .replaceAll('{org}', f.org)
    .replaceAll('{project}', f.project)
    .replaceAll('{workspace}', f.workspace)
    .replaceAll('{default_workspace}', f.defaultWorkspace)
    .replaceAll('{user}', f.user)
    .replaceAll('{org_key}', f.orgKeyId)
    .replaceAll('{project_key}', f.projectKeyId)
    .replaceAll('{dataset}', f.dataset)
    .replaceAll('{table}', f.table)
    .replaceAll('{missing}', MISSING)
  // A leading '!' means "outside the API base".
  return path.startsWith('!') ? path.slice(1) : `${API}${path}`
}

async function send(app: TestApp, f: Fixture, c: BadInputCase): Promise<ApiResponse> {
  const key = c.as === 'platform' ? app.platformKey : c.as === 'none' ? undefined : f.orgKey
  const url = fillPath(c.path, f)
  if (c.bytes !== undefined) {
    // A body with no Content-Type: bytes, so that fetch does not add text/plain.
    const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {}
    const response = await app.tributary.app.request(url, {
      method: c.method,
      headers,
      body: new TextEncoder().encode(c.bytes),
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : text }
  }
  if (c.binary !== undefined) {
    const response = await app.tributary.app.request(url, {
      method: c.method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(c.headers ?? { 'content-type': 'application/json' }),
      },
      body: c.binary,
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : text }
  }
  if (c.raw !== undefined) {
    return app.request(c.method, url, {
      key,
      rawBody: c.raw,
      headers: c.headers ?? { 'content-type': 'application/json' },
    })
  }
  return app.request(c.method, url, { key, body: c.body, ...(c.headers ? { headers: c.headers } : {}) })
}

/** The one error envelope, with the request id of the response header. */
function expectEnvelope(response: ApiResponse, status: number, code: ErrorCode, requestIds?: Set<string>) {
  const context = JSON.stringify(response.body)
  expect(response.status, context).toBe(status)
  expect(ERROR_STATUS[code]).toBe(status)
  expect(response.headers.get('content-type') ?? '').toContain('application/json')
  expect(response.body, context).toMatchObject({ error: { code, message: expect.any(String) } })
  const { error } = response.body
  expect(Object.keys(error).sort()).toEqual(
    ['code', 'message', 'request_id', ...(error.details === undefined ? [] : ['details'])].sort(),
  )
  expect(typeof error.request_id).toBe('string')
  expect(error.request_id.length).toBeGreaterThan(0)
  expect(error.request_id).toBe(response.headers.get('x-request-id'))
  expect(context).not.toMatch(/\bat .+:\d+:\d+|node_modules|\.ts\b/)
  if (requestIds) {
    expect(requestIds.has(error.request_id)).toBe(false)
    requestIds.add(error.request_id)
  }
  if (code === 'validation_error' && error.details?.issues) {
    for (const issue of error.details.issues) {
      expect(['body', 'query', 'path']).toContain(issue.location)
      expect(typeof issue.message).toBe('string')
    }
  }
}

type Item = Record<string, unknown> & { id: string }

/** Every item of a list, following cursors. */
async function listAll(app: TestApp, key: string, path: string): Promise<Item[]> {
  const items: Item[] = []
  let cursor: string | null = null
  do {
    const separator = path.includes('?') ? '&' : '?'
    const page: ApiResponse<{ data: Item[]; next_cursor: string | null }> = await app.request(
      'GET',
      `${API}${path}${separator}limit=200${cursor ? `&cursor=${cursor}` : ''}`,
      {
        key,
      },
    )
    expect(page.status, JSON.stringify(page.body)).toBe(200)
    items.push(...page.body.data)
    cursor = page.body.next_cursor
  } while (cursor)
  return items
}

async function snapshot(app: TestApp, f: Fixture) {
  const [organizations, workspaces, projects, users, orgKeys, projectKeys, audit] = await Promise.all([
    listAll(app, app.platformKey, '/organizations'),
    listAll(app, f.orgKey, '/workspaces'),
    listAll(app, f.orgKey, '/projects'),
    listAll(app, f.orgKey, '/users'),
    listAll(app, app.platformKey, `/organizations/${f.org}/api-keys`),
    listAll(app, f.orgKey, `/projects/${f.project}/api-keys`),
    listAll(app, app.platformKey, '/audit-log'),
  ])
  const strip = (items: Item[]) =>
    items.map(({ last_used_at: _used, ...rest }) => rest).sort((a, b) => a.id.localeCompare(b.id))
  return {
    organizations: strip(organizations),
    workspaces: strip(workspaces),
    projects: strip(projects),
    users: strip(users),
    orgKeys: strip(orgKeys),
    projectKeys: strip(projectKeys),
    auditIds: audit.map((entry) => entry.id).sort(),
  }
}

async function makeFixture(app: TestApp): Promise<Fixture> {
  const { organization, orgKey, orgKeyId } = await createOrganization(app, 'Bad Input Org')
  const project = await createProject(app, orgKey, 'Target project')
  const projectKey = await createProjectKey(app, orgKey, project.id, ['query'])
  const workspace = await app.request('POST', `${API}/workspaces`, { key: orgKey, body: { name: 'Empty workspace' } })
  expect(workspace.status).toBe(201)
  const user = await app.request('POST', `${API}/users`, {
    key: orgKey,
    body: { email: `target-${Math.random().toString(36).slice(2)}@example.com`, password: 'long enough password' },
  })
  expect(user.status).toBe(201)
  const dataset = await app.request('POST', `${API}/projects/${project.id}/datasets`, {
    key: orgKey,
    body: { name: 'target' },
  })
  expect(dataset.status, JSON.stringify(dataset.body)).toBe(201)
  const table = await app.request('POST', `${API}/projects/${project.id}/datasets/${dataset.body.id}/tables`, {
    key: orgKey,
    body: { name: 'target', schema: [{ name: 'v', type: 'VARCHAR' }] },
  })
  expect(table.status, JSON.stringify(table.body)).toBe(201)
  return {
    org: organization.id,
    orgKey,
    orgKeyId,
    project: project.id,
    projectKeyId: projectKey.id,
    workspace: workspace.body.id,
    defaultWorkspace: project.workspace_id,
    user: user.body.id,
    dataset: dataset.body.id,
    table: table.body.id,
  }
}

describe('bad input [pglite]', () => {
  let app: TestApp
  let f: Fixture
  let before: Awaited<ReturnType<typeof snapshot>>
  const requestIds = new Set<string>()

  beforeAll(async () => {
    // A small memory limit makes a query that needs more fail within a second.
    app = await startTestApp('pglite', { env: { TRIBUTARY_QUERY_MEMORY_LIMIT: '64MB' } })
    f = await makeFixture(app)
    before = await snapshot(app, f)
  })
  afterAll(() => app?.close())

  it('has a broad table', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(45)
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length)
  })

  it.each(CASES)('$method $path, $name → $status $code', async (c) => {
    const response = await send(app, f, c)
    expectEnvelope(response, c.status, c.code, requestIds)
    if (c.field !== undefined) expect(response.body.error.message).toContain(c.field)
  })

  it('left nothing half-written and polluted no prototype', async () => {
    expect(await snapshot(app, f)).toEqual(before)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  describe('odd but valid input is stored verbatim', () => {
    // The only writes that may change the store after the table above.
    const created = { projects: 0, workspaces: 0 }

    it.each([
      ['unicode and emoji', '🚀 Projekt Ünïcødé 日本語 — ok'],
      ['SQL-looking text', "'; drop table projects; --"],
      ['quotes and backslashes', 'O\'Brien "quoted" \\ back\\slash'],
      ['a 200-character name', 'x'.repeat(200)],
      ['HTML', '<script>alert(1)</script>'],
    ])('%s', async (_label, name) => {
      const response = await app.request('POST', `${API}/projects`, { key: f.orgKey, body: { name } })
      expect(response.status, JSON.stringify(response.body)).toBe(201)
      created.projects++
      expect(response.body.name).toBe(name)
      const read = await app.request('GET', `${API}/projects/${response.body.id}`, { key: f.orgKey })
      expect(read.status).toBe(200)
      expect(read.body.name).toBe(name)
      const listed = await listAll(app, f.orgKey, '/projects')
      expect(listed.filter((project) => project.name === name)).toHaveLength(1)
    })

    it('a 2000-character description and a padded name, trimmed', async () => {
      const description = 'd'.repeat(2000)
      const response = await app.request('POST', `${API}/workspaces`, {
        key: f.orgKey,
        body: { name: '  Padded name  ', description },
      })
      expect(response.status, JSON.stringify(response.body)).toBe(201)
      created.workspaces++
      expect(response.body).toMatchObject({ name: 'Padded name', description })
    })

    it('a charset parameter on the JSON content type', async () => {
      const response = await app.request('POST', `${API}/projects`, {
        key: f.orgKey,
        rawBody: JSON.stringify({ name: 'charset' }),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      })
      expect(response.status, JSON.stringify(response.body)).toBe(201)
      created.projects++
    })

    it('a lone UTF-16 surrogate is refused or kept, never silently replaced', async () => {
      const name = 'lone \ud800 surrogate'
      const response = await app.request('POST', `${API}/projects`, { key: f.orgKey, body: { name } })
      if (response.status === 201) created.projects++
      if (response.status === 422) {
        expectEnvelope(response, 422, 'validation_error')
        expect(response.body.error.message).toContain('name')
      } else {
        expect(response.status, JSON.stringify(response.body)).toBe(201)
        expect(response.body.name).toBe(name)
      }
    })

    it('after all of it, the writes that succeeded are the only change', async () => {
      const after = await snapshot(app, f)
      expect(after.organizations).toEqual(before.organizations)
      expect(after.users).toEqual(before.users)
      expect(after.orgKeys).toEqual(before.orgKeys)
      expect(after.projectKeys).toEqual(before.projectKeys)
      expect(after.workspaces).toHaveLength(before.workspaces.length + created.workspaces)
      expect(after.projects).toHaveLength(before.projects.length + created.projects)
      expect(after.auditIds).toHaveLength(before.auditIds.length + created.workspaces + created.projects)
      expect(created).toEqual({ projects: expect.any(Number), workspaces: 1 })
      expect(created.projects).toBeGreaterThanOrEqual(6)
    })
  })

  describe('odd but valid SQL runs as written, at once and as a query job', () => {
    it.each(ODD_SQL)('%s', async (_label, sql, rows) => {
      const project = `${API}/projects/${f.project}`
      const answer = await app.request('POST', `${project}/sql`, { key: f.orgKey, body: { sql } })
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(answer.body.rows).toEqual(rows)

      const created = await app.request('POST', `${project}/query-jobs`, { key: f.orgKey, body: { sql } })
      expect(created.status, JSON.stringify(created.body)).toBe(202)
      const job = `${project}/query-jobs/${created.body.id}`
      const status = async () => (await app.request('GET', job, { key: f.orgKey })).body.status
      await expect.poll(status, { timeout: 30_000, interval: 25 }).toMatch(/^(succeeded|failed|cancelled)$/)
      expect(await status()).toBe('succeeded')
      const results = await app.request('GET', `${job}/results`, { key: f.orgKey })
      expect(results.status, JSON.stringify(results.body)).toBe(200)
      expect(results.body.rows).toEqual(rows)
    })
  })
})

/**
 * What only a real socket can send: a body that stops short, a client that leaves mid-request, and
 * raw bytes through the Node adapter that `main.ts` serves with.
 */
describe('bad input over real HTTP [pglite]', () => {
  let app: TestApp
  let server: Listening
  let orgKey: string
  let project: string
  const logs: Record<string, any>[] = []

  beforeAll(async () => {
    const stream = new PassThrough()
    stream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line))
    })
    app = await startTestApp('pglite', { logger: pino({ level: 'info' }, stream) })
    orgKey = (await createOrganization(app, 'Socket Org')).orgKey
    project = (await createProject(app, orgKey, 'Socket project')).id
    server = await listen(app)
  })
  afterAll(async () => {
    await server?.close()
    await app?.close()
  })

  /** The request's head, with its own request id so that its log lines can be found. */
  function head(method: string, path: string, requestId: string, headers: Record<string, string | number>) {
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Authorization: Bearer ${orgKey}`]
    lines.push(`X-Request-Id: ${requestId}`, 'Connection: close')
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
    return `${lines.join('\r\n')}\r\n\r\n`
  }

  /**
   * Writes `request` on a fresh socket, then `finish`es it: `end` closes the sending side only (the
   * answer can still arrive), `destroy` drops the connection, `wait` waits for the server to close
   * it. Resolves with everything that came back.
   */
  function exchange(request: (string | Uint8Array)[], finish: 'end' | 'destroy' | 'wait'): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1')
      let received = ''
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
      socket.on('error', (error: NodeJS.ErrnoException) =>
        error.code === 'ECONNRESET' ? resolve(received) : reject(error),
      )
      socket.on('close', () => resolve(received))
      socket.on('connect', () => {
        for (const part of request) socket.write(part)
        if (finish === 'end') socket.end()
        // Long enough for the server to be reading the body when the connection goes.
        if (finish === 'destroy') setTimeout(() => socket.destroy(), 100)
      })
    })
  }

  function parse(response: string) {
    const [statusLine = '', ...rest] = response.split('\r\n')
    const body = rest.slice(rest.indexOf('') + 1).join('\r\n')
    return { status: Number(statusLine.split(' ')[1]), body: body ? JSON.parse(body) : undefined }
  }

  async function logsOf(requestId: string) {
    // The request log line comes last, once the handler has answered.
    await expect.poll(() => logs.some((line) => line.request_id === requestId && line.status !== undefined)).toBe(true)
    return logs.filter((line) => line.request_id === requestId)
  }

  function expectClientAbortLogged(lines: Record<string, any>[]) {
    const json = JSON.stringify(lines)
    expect(
      lines.some((line) => line.level === 40 && /client closed the connection/.test(line.msg)),
      json,
    ).toBe(true)
    expect(
      lines.filter((line) => line.level >= 50),
      json,
    ).toEqual([])
    expect(json).not.toContain('internal_error')
    expect(json).not.toContain('unhandled error')
    const status = lines.find((line) => line.status !== undefined)?.status
    expect(status).toBeGreaterThanOrEqual(400)
    expect(status).toBeLessThan(500)
  }

  it.each([
    ['the sending side closed (the answer can still arrive)', 'end'],
    ['the connection dropped', 'destroy'],
  ] as const)('a body cut short, %s, is a client abort: a 4xx, logged as a warning', async (_label, finish) => {
    const requestId = `cut-short-${finish}`
    const headers = { 'Content-Type': 'application/json', 'Content-Length': 100 }
    const response = await exchange([head('POST', `${API}/projects`, requestId, headers), '{"name": "tr'], finish)
    if (finish === 'end') expect(response).toMatch(/^HTTP\/1\.1 4\d\d /)
    expectClientAbortLogged(await logsOf(requestId))
  })

  it('a chunked body cut short is a client abort too', async () => {
    const requestId = 'cut-short-chunked'
    const headers = { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }
    await exchange([head('POST', `${API}/projects`, requestId, headers), '40\r\n{"name": "chun'], 'destroy')
    expectClientAbortLogged(await logsOf(requestId))
  })

  it('raw invalid UTF-8 in a JSON string is refused, and nothing is stored', async () => {
    const body = bytesOf('{"name": "raw ', [0xc3, 0x28], ' bytes"}')
    const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length }
    const response = parse(await exchange([head('POST', `${API}/projects`, 'raw-utf8', headers), body], 'wait'))
    expect(response.status, JSON.stringify(response.body)).toBe(422)
    expect(response.body.error).toMatchObject({ code: 'validation_error', request_id: 'raw-utf8' })
    expect(response.body.error.message).toContain('not valid UTF-8 at byte 14')
    const projects = await app.request('GET', `${API}/projects?limit=200`, { key: orgKey })
    expect(projects.body.data.map((item: { name: string }) => item.name)).toEqual(['Socket project'])
  })

  it.each([
    ['Content-Encoding gzip', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, 'gzip'],
    ['charset=utf-16', { 'Content-Type': 'application/json; charset=utf-16' }, 'utf-16'],
  ])('%s on a UTF-8 body is refused with 415', async (label, headers, named) => {
    const body = '{"name": "sent as is"}'
    const requestId = `refused-${named}`
    const raw = await exchange(
      [head('POST', `${API}/projects`, requestId, { ...headers, 'Content-Length': body.length }), body],
      'wait',
    )
    const response = parse(raw)
    expect(response.status, label).toBe(415)
    expect(response.body.error.code).toBe('unsupported_media_type')
    expect(response.body.error.message).toContain(named)
  })

  it('NUL in a path segment is a 422 naming the parameter', async () => {
    const path = `${API}/projects/${project}/catalogs/%00/schemas`
    const response = parse(await exchange([head('GET', path, 'nul-path', {})], 'wait'))
    expect(response.status, JSON.stringify(response.body)).toBe(422)
    expect(response.body.error.message).toContain('catalog: must not contain NUL characters')
    expect(response.body.error.details.issues).toEqual([
      { location: 'path', field: 'catalog', message: 'must not contain NUL characters' },
    ])
  })

  it('logged no error at all', () => {
    expect(logs.filter((line) => line.level >= 50)).toEqual([])
  })
})

interface ConflictFixture {
  orgKey: string
  defaultWorkspace: string
  analytics: string
  empty: string
  churnDefault: string
  churnAnalytics: string
  admin: string
  adminEmail: string
}

interface ConflictCase {
  name: string
  method: string
  path: (f: ConflictFixture) => string
  body?: (f: ConflictFixture) => unknown
  status: number
  code: ErrorCode
  message: string
}

// prettier-ignore
const CONFLICTS: ConflictCase[] = [
  { name: 'a workspace name taken in the organization', method: 'POST', path: () => '/workspaces', body: () => ({ name: 'Analytics' }), status: 409, code: 'conflict', message: 'Analytics' },
  { name: 'a workspace name taken, in another case and padded', method: 'POST', path: () => '/workspaces', body: () => ({ name: '  ANALYTICS ' }), status: 409, code: 'conflict', message: 'already exists' },
  { name: 'renaming a workspace to a taken name', method: 'PATCH', path: (f) => `/workspaces/${f.empty}`, body: () => ({ name: 'analytics' }), status: 409, code: 'conflict', message: 'already exists' },
  { name: 'a project name taken in the default workspace', method: 'POST', path: () => '/projects', body: () => ({ name: 'Churn' }), status: 409, code: 'conflict', message: 'already exists' },
  { name: 'a project name taken in a named workspace', method: 'POST', path: () => '/projects', body: (f) => ({ name: 'churn', workspace_id: f.analytics }), status: 409, code: 'conflict', message: 'already exists' },
  { name: 'moving a project next to a namesake', method: 'PATCH', path: (f) => `/projects/${f.churnDefault}`, body: (f) => ({ workspace_id: f.analytics }), status: 409, code: 'conflict', message: 'already exists' },
  { name: 'a taken user e-mail', method: 'POST', path: () => '/users', body: (f) => ({ email: f.adminEmail, password: 'long enough password' }), status: 409, code: 'conflict', message: 'e-mail' },
  { name: 'a taken user e-mail in capitals', method: 'POST', path: () => '/users', body: (f) => ({ email: f.adminEmail.toUpperCase(), password: 'long enough password' }), status: 409, code: 'conflict', message: 'e-mail' },
  { name: 'inviting a taken e-mail', method: 'POST', path: () => '/users/invite', body: (f) => ({ email: f.adminEmail }), status: 409, code: 'conflict', message: 'e-mail' },
  { name: 'deleting the default workspace', method: 'DELETE', path: (f) => `/workspaces/${f.defaultWorkspace}`, status: 409, code: 'conflict', message: 'default workspace' },
  { name: 'deleting a workspace that holds projects', method: 'DELETE', path: (f) => `/workspaces/${f.analytics}`, status: 409, code: 'conflict', message: 'project' },
  { name: 'demoting the last admin', method: 'PATCH', path: (f) => `/users/${f.admin}/role`, body: () => ({ role: 'viewer' }), status: 409, code: 'conflict', message: 'admin' },
  { name: 'deleting the last admin', method: 'DELETE', path: (f) => `/users/${f.admin}`, status: 409, code: 'conflict', message: 'admin' },
]

describeEachStore('bad input: conflicts', (kind) => {
  let app: TestApp
  let f: ConflictFixture
  let before: Record<string, unknown>
  const requestIds = new Set<string>()

  async function state() {
    const [workspaces, projects, users, audit] = await Promise.all([
      listAll(app, f.orgKey, '/workspaces'),
      listAll(app, f.orgKey, '/projects'),
      listAll(app, f.orgKey, '/users'),
      listAll(app, f.orgKey, '/audit-log'),
    ])
    return { workspaces, projects, users, auditIds: audit.map((entry) => entry.id) }
  }

  beforeAll(async () => {
    app = await startTestApp(kind)
    const { orgKey } = await createOrganization(app, `Conflict Org ${kind}`)
    const analytics = await app.request('POST', `${API}/workspaces`, { key: orgKey, body: { name: 'Analytics' } })
    const empty = await app.request('POST', `${API}/workspaces`, { key: orgKey, body: { name: 'Empty' } })
    expect([analytics.status, empty.status]).toEqual([201, 201])
    const churnDefault = await createProject(app, orgKey, 'Churn')
    // The same name in another workspace is fine.
    const churnAnalytics = await createProject(app, orgKey, 'Churn', { workspace_id: analytics.body.id })
    const adminEmail = `admin-${kind}-${Math.random().toString(36).slice(2)}@example.com`
    const admin = await app.request('POST', `${API}/users`, {
      key: orgKey,
      body: { email: adminEmail, password: 'long enough password', role: 'admin' },
    })
    expect(admin.status, JSON.stringify(admin.body)).toBe(201)
    f = {
      orgKey,
      defaultWorkspace: churnDefault.workspace_id,
      analytics: analytics.body.id,
      empty: empty.body.id,
      churnDefault: churnDefault.id,
      churnAnalytics: churnAnalytics.id,
      admin: admin.body.id,
      adminEmail,
    }
    before = await state()
  })
  afterAll(() => app?.close())

  it.each(CONFLICTS)('$method $name → $status $code', async (c) => {
    const response = await app.request(c.method, `${API}${c.path(f)}`, {
      key: f.orgKey,
      ...(c.body ? { body: c.body(f) } : {}),
    })
    expectEnvelope(response, c.status, c.code, requestIds)
    expect(response.body.error.message).toContain(c.message)
    expect(response.body.error.message).not.toMatch(/undefined|null/)
  })

  it('changed nothing: same workspaces, projects, users and audit log', async () => {
    expect(await state()).toEqual(before)
    const churn = await app.request('GET', `${API}/projects/${f.churnDefault}`, { key: f.orgKey })
    expect(churn.body.workspace_id).toBe(f.defaultWorkspace)
    const admin = await app.request('GET', `${API}/users/${f.admin}`, { key: f.orgKey })
    expect(admin.body).toMatchObject({ role: 'admin', status: 'active' })
  })
})
