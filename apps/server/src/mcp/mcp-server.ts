import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Resource,
  type Tool as ToolDefinition,
} from '@modelcontextprotocol/sdk/types.js'
import { Id, type TableMetadata } from '@tributary/contract'
import { z } from 'zod'

import { mayUse, mayWriteContent } from '../auth/access.js'
import type { TenantContext, TenantPrincipal } from '../auth/principal.js'
import { errorEnvelope } from '../http/error-handler.js'
import { errors } from '../lib/errors.js'
import type { Logger } from '../lib/logger.js'
import { assertStorableText, validationError } from '../lib/validation.js'
import type { Tool } from './tool.js'

export interface TableKey {
  catalog: string
  schema: string
  table: string
}

/** What resources and the prompt read, from the modules that own it (handed over by the composition root). */
export interface ProjectTables {
  /** The projects the caller sees, at most `limit`: resources of an organization key or a user span them. */
  projects(ctx: TenantContext, limit: number): Promise<{ id: string; name: string }[]>
  /** A page of a project's tables with their metadata, as `describe_table` gives it, in a stable order. */
  tables(
    ctx: TenantContext,
    projectId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ data: TableMetadata[]; next_cursor: string | null }>
  table(ctx: TenantContext, projectId: string, key: TableKey): Promise<TableMetadata>
}

export interface McpOptions {
  tools: readonly Tool[]
  tables: ProjectTables
  logger: Logger
  version: string
  /** Resources per page of `resources/list` (default 100). */
  resourcePageSize?: number
}

const SERVER_NAME = 'tributary'
export const TABLE_URI_TEMPLATE = 'tributary://{project}/{catalog}/{schema}/{table}'
const TABLE_URI = /^tributary:\/\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/
const RESOURCE_PAGE_SIZE = 100
/** Projects whose tables an organization key or a user lists as resources; the template reaches the rest. */
const LISTED_PROJECTS = 200
/** Tables and columns the prompt names at most, so that it stays a primer rather than a dump. */
const PROMPT_TABLES = 100
const PROMPT_COLUMNS = 40
export const EXPLORE_PROMPT = 'explore_project'

const PROJECT_ID_DESCRIPTION =
  'The project. Optional with a project key (its own project); required with an organization key or a user session.'

const INSTRUCTIONS =
  'Tributary: query a project’s data across its sources with one SQL dialect (DuckDB, tables named ' +
  '`catalog.schema.table`). Start with `list_catalogs`, `search_metadata` or the `explore_project` prompt, read ' +
  'a table with `describe_table`, look for known-good SQL with `search_golden_sql`, then `run_sql` (read-only) ' +
  'or `ask` a question in plain words.'

interface PreparedTool {
  tool: Tool
  input: z.ZodObject
  definition: ToolDefinition
}

/**
 * The MCP server over the tools the modules offer. Tool definitions (JSON Schema) are prepared once;
 * each HTTP request gets a fresh protocol `Server` bound to its caller, so any process can answer
 * any request and nothing is kept between them.
 */
export class McpService {
  readonly #tools = new Map<string, PreparedTool>()

  constructor(private readonly options: McpOptions) {
    for (const tool of options.tools) {
      if (this.#tools.has(tool.name)) throw new Error(`MCP tool '${tool.name}' is offered twice`)
      const input = tool.input.extend({ project_id: Id.optional().meta({ description: PROJECT_ID_DESCRIPTION }) })
      const write = typeof tool.needs === 'object' && 'write' in tool.needs
      this.#tools.set(tool.name, {
        tool,
        input,
        definition: {
          name: tool.name,
          title: tool.title,
          description: tool.description,
          inputSchema: jsonSchema(input, 'input'),
          // A fresh object, so that a contract schema's own id does not make the root a `$ref`.
          outputSchema: jsonSchema(tool.output.extend({}), 'output'),
          annotations: {
            title: tool.title,
            readOnlyHint: !write,
            destructiveHint: false,
            idempotentHint: tool.needs === 'read',
            // Most tools reach only the project's own catalogs; a few send webhooks or e-mails.
            openWorldHint: tool.reachesOutside === true,
          },
        },
      })
    }
  }

  /** A protocol server for one caller: it lists only the tools that caller may use. */
  server(ctx: TenantContext): Server {
    const server = new Server(
      { name: SERVER_NAME, title: 'Tributary', version: this.options.version },
      { capabilities: { tools: {}, resources: {}, prompts: {} }, instructions: INSTRUCTIONS },
    )
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [...this.#tools.values()]
        .filter((prepared) => offered(ctx.principal, prepared.tool))
        .map((prepared) => prepared.definition),
    }))
    server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      this.#call(ctx, request.params.name, request.params.arguments, extra.signal),
    )
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
      resourceTemplates: [
        {
          uriTemplate: TABLE_URI_TEMPLATE,
          name: 'table',
          title: 'Table metadata',
          description:
            'A table’s semantic metadata (description, columns, categorical values, relations) as JSON; `project` ' +
            'is the project id and each name is percent-encoded.',
          mimeType: 'application/json',
        },
      ],
    }))
    server.setRequestHandler(ListResourcesRequestSchema, (request) =>
      guard(ctx, this.options.logger, () => this.#resources(ctx, request.params?.cursor)),
    )
    server.setRequestHandler(ReadResourceRequestSchema, (request) =>
      guard(ctx, this.options.logger, async () => {
        const { uri } = request.params
        const { projectId, key } = parseTableUri(uri)
        const table = await this.options.tables.table(ctx, projectOf(ctx.principal, projectId), key)
        return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(table) }] }
      }),
    )
    server.setRequestHandler(ListPromptsRequestSchema, () => ({
      prompts: [
        {
          name: EXPLORE_PROMPT,
          title: 'Explore a project',
          description: 'Primes the assistant with the project’s tables, columns and relations, and how to query them.',
          arguments: [{ name: 'project_id', description: PROJECT_ID_DESCRIPTION, required: false }],
        },
      ],
    }))
    server.setRequestHandler(GetPromptRequestSchema, (request) =>
      guard(ctx, this.options.logger, async () => {
        if (request.params.name !== EXPLORE_PROMPT) throw errors.notFound('prompt', request.params.name)
        const given = request.params.arguments?.project_id
        const projectId = projectOf(ctx.principal, given === '' ? undefined : given)
        const { data: tables } = await this.options.tables.tables(ctx, projectId, { limit: PROMPT_TABLES + 1 })
        return {
          description: `The tables of project ${projectId}`,
          messages: [{ role: 'user' as const, content: { type: 'text' as const, text: primer(projectId, tables) } }],
        }
      }),
    )
    return server
  }

  async #call(ctx: TenantContext, name: string, args: unknown, signal: AbortSignal): Promise<CallToolResult> {
    try {
      const prepared = this.#tools.get(name)
      if (!prepared) throw errors.notFound('tool', name)
      const parsed = prepared.input.safeParse(args ?? {})
      if (!parsed.success) throw validationError(parsed.error, 'arguments')
      assertStorableText(parsed.data, 'arguments')
      const { project_id, ...rest } = parsed.data as { project_id?: string }
      const projectId = projectOf(ctx.principal, project_id)
      const result = await prepared.tool.run({ ctx, projectId, signal }, rest)
      // Parsing drops what the output schema does not name, so the result always fits what tools/list said.
      const structured = prepared.tool.output.parse(result)
      return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured }
    } catch (error) {
      const { error: envelope } = errorEnvelope(error, ctx.requestId, this.options.logger)
      return { content: [{ type: 'text', text: `${envelope.code}: ${envelope.message}` }], isError: true }
    }
  }

  /**
   * One page of the tables of the projects the caller sees, project after project. The cursor says
   * which project and where in its tables the next page starts.
   */
  async #resources(
    ctx: TenantContext,
    cursor: string | undefined,
  ): Promise<{ resources: Resource[]; nextCursor?: string }> {
    const { principal } = ctx
    const projects =
      principal.kind === 'project'
        ? [{ id: principal.projectId }]
        : await this.options.tables.projects(ctx, LISTED_PROJECTS)
    const pageSize = this.options.resourcePageSize ?? RESOURCE_PAGE_SIZE
    let { project, after } = decodeResourceCursor(cursor)
    const resources: Resource[] = []
    while (project < projects.length && resources.length < pageSize) {
      const projectId = projects[project]!.id
      const page = await this.options.tables.tables(ctx, projectId, {
        limit: pageSize - resources.length,
        cursor: after,
      })
      for (const table of page.data) {
        resources.push({
          uri: tableUri(projectId, table),
          name: `${table.catalog}.${table.schema}.${table.table}`,
          ...(table.description ? { description: table.description } : {}),
          mimeType: 'application/json',
        })
      }
      if (page.next_cursor === null) {
        project += 1
        after = undefined
      } else {
        after = page.next_cursor
      }
    }
    return project < projects.length
      ? { resources, nextCursor: encodeResourceCursor({ project, after }) }
      : { resources }
  }
}

function offered(principal: TenantPrincipal, tool: Tool): boolean {
  const { needs } = tool
  if (needs === 'read') return true
  return 'use' in needs ? mayUse(principal, needs.use) : mayWriteContent(principal, needs.write)
}

/**
 * The project a call is about. A project key's own project when none is named; another one is
 * missing, exactly as through the API. Organization keys and users name it on every call.
 */
function projectOf(principal: TenantPrincipal, given: string | undefined): string {
  if (principal.kind === 'project') {
    if (given !== undefined && given !== principal.projectId) throw errors.notFound('project', given)
    return principal.projectId
  }
  if (given === undefined) {
    throw errors.validation('project_id: is required with an organization key or a user session', {
      issues: [{ location: 'arguments', field: 'project_id', message: 'is required' }],
    })
  }
  // Prompt arguments are plain strings: an id that is no UUID names no project.
  if (!Id.safeParse(given).success) throw errors.notFound('project', JSON.stringify(given))
  return given
}

interface ResourceCursor {
  project: number
  after?: string | undefined
}

function encodeResourceCursor(cursor: ResourceCursor): string {
  return Buffer.from(JSON.stringify([cursor.project, cursor.after ?? null])).toString('base64url')
}

function decodeResourceCursor(cursor: string | undefined): ResourceCursor {
  if (cursor === undefined) return { project: 0 }
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(decoded) && decoded.length === 2) {
      const [project, after] = decoded as unknown[]
      if (Number.isSafeInteger(project) && (project as number) >= 0 && (after === null || typeof after === 'string')) {
        return { project: project as number, after: after ?? undefined }
      }
    }
  } catch {
    // Reported below, as any other cursor this server did not hand out.
  }
  throw errors.validation('cursor: not a cursor from resources/list')
}

export function tableUri(projectId: string, key: TableKey): string {
  const segments = [key.catalog, key.schema, key.table].map(encodeURIComponent)
  return `tributary://${encodeURIComponent(projectId)}/${segments.join('/')}`
}

function parseTableUri(uri: string): { projectId: string; key: TableKey } {
  const match = TABLE_URI.exec(uri)
  if (!match) throw errors.validation(`uri: must look like ${TABLE_URI_TEMPLATE}`)
  try {
    const [projectId, catalog, schema, table] = match.slice(1).map((part) => decodeURIComponent(part))
    if (!Id.safeParse(projectId).success) throw errors.validation('uri: the project must be a project id (a UUID)')
    assertStorableText([catalog, schema, table], 'uri')
    return { projectId: projectId!, key: { catalog: catalog!, schema: schema!, table: table! } }
  } catch (error) {
    if (error instanceof URIError) throw errors.validation('uri: malformed percent-encoding')
    throw error
  }
}

/**
 * Resource and prompt failures are protocol errors (they have no `isError` result): a missing table
 * is `ResourceNotFound`, bad input `InvalidParams`, and the message carries our error code.
 */
async function guard<T>(ctx: TenantContext, logger: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    const { error: envelope } = errorEnvelope(error, ctx.requestId, logger)
    const code =
      envelope.code === 'not_found'
        ? RESOURCE_NOT_FOUND
        : envelope.code === 'internal_error'
          ? ErrorCode.InternalError
          : ErrorCode.InvalidParams
    throw new McpError(code, `${envelope.code}: ${envelope.message}`)
  }
}

/** MCP's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002

function primer(projectId: string, tables: readonly TableMetadata[]): string {
  const usable = tables.slice(0, PROMPT_TABLES).filter((table) => table.use_with_ai && !table.missing)
  const lines = [
    `You are helping someone explore the data of Tributary project ${projectId}.`,
    'Queries use DuckDB’s SQL dialect and name tables `catalog.schema.table`; tables of different catalogs join ' +
      'freely. Only read-only queries run.',
    'Tools: `search_metadata` finds tables for a question, `describe_table` reads one (columns, categorical ' +
      'values, relations), `search_golden_sql` finds known-good SQL, `run_sql` runs a query, `ask` answers a ' +
      'question in plain words, and `list_saved_queries` / `run_saved_query` reuse saved work.',
    '',
    usable.length === 0 ? 'The project has no tables AI may use yet.' : 'Tables:',
  ]
  for (const table of usable) {
    const estimate = table.row_estimate === null ? '' : ` (about ${table.row_estimate} rows)`
    lines.push(
      `- ${table.catalog}.${table.schema}.${table.table}${estimate}${table.description ? `: ${table.description}` : ''}`,
    )
    const columns = table.columns.filter((column) => !column.missing)
    const shown = columns.slice(0, PROMPT_COLUMNS).map((column) => {
      const notes = [
        column.is_primary ? 'primary key' : '',
        column.description ?? '',
        column.is_categorical && column.categorical_values.length > 0
          ? `values: ${column.categorical_values.slice(0, 10).join(', ')}`
          : '',
      ].filter(Boolean)
      return `${column.name} ${column.type}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`
    })
    if (columns.length > shown.length) shown.push(`… ${columns.length - shown.length} more`)
    lines.push(`  columns: ${shown.join(', ')}`)
    for (const relation of table.relations) {
      const from = `${relation.from.catalog}.${relation.from.schema}.${relation.from.table}`
      const to = `${relation.to.catalog}.${relation.to.schema}.${relation.to.table}`
      lines.push(`  relation: ${from}(${relation.from.columns.join(', ')}) → ${to}(${relation.to.columns.join(', ')})`)
    }
  }
  if (tables.length > PROMPT_TABLES) {
    lines.push(`(Only the first ${PROMPT_TABLES} tables are listed: use \`search_metadata\` for the rest.)`)
  }
  return lines.join('\n')
}

function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): ToolDefinition['inputSchema'] {
  // Draft 7, as the SDK's own server writes it: clients validate with Ajv, which defaults to it.
  const converted: Record<string, unknown> = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' })
  delete converted.$schema
  return converted as ToolDefinition['inputSchema']
}
