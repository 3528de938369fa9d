import { ListQuery, type Scope } from '@tributary/contract'
import { z } from 'zod'

import type { RequestContext } from '../auth/principal.js'

/** One call of a tool: the caller as the REST routes pass it to services, and the project it is about. */
export interface ToolCall {
  ctx: RequestContext
  /** The project key's own project, or the `project_id` argument of an organization key or a user. */
  projectId: string
  /** Aborted when the client cancels the call or goes away. */
  signal: AbortSignal
}

/**
 * What a caller needs for a tool, in the words of `ProjectsService.require`: `read` the project,
 * `use` a feature (its scope for keys), or `write` an area's contents. A tool the caller could never
 * use is not offered; the service still checks each call, exactly as for REST.
 */
export type ToolNeed = 'read' | { use: Scope } | { write: Scope }

/**
 * An MCP tool a feature module offers, beside its routes. Inputs and outputs are zod objects: the
 * MCP server turns them into JSON Schema, validates the arguments and shapes the structured result.
 * `project_id` is added to every tool's input by the server, which resolves it into `call.projectId`.
 */
export interface Tool<Input extends z.ZodObject = z.ZodObject, Output extends z.ZodObject = z.ZodObject> {
  name: string
  title: string
  description: string
  input: Input
  output: Output
  needs: ToolNeed
  /** The tool acts beyond the project's data (sends webhooks or e-mails): MCP's `openWorldHint`. */
  reachesOutside?: boolean
  run(call: ToolCall, args: z.output<Input>): Promise<z.input<Output>>
}

/** Keeps a tool's handler typed by its schemas, and erases them for lists of tools of every shape. */
export function defineTool<Input extends z.ZodObject, Output extends z.ZodObject>(tool: Tool<Input, Output>): Tool {
  return tool
}

/**
 * The input of a tool that lists a page, as REST's `?limit=&cursor=`. JSON numbers rather than the
 * query string's coerced text, so that the JSON Schema a model reads says `integer`.
 */
export const PageInput = {
  limit: z.number().int().min(1).max(200).default(50),
  cursor: ListQuery.shape.cursor.meta({ description: 'The `next_cursor` of the previous page' }),
}
