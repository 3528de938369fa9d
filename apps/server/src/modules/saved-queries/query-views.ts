import { bindParameters, ParameterError, type QueryParameter } from '../../engine/sql-text.js'
import type { SavedQueryRow } from '../../metadata/schema.js'
import { toBindable } from './parameters.js'

/**
 * A saved query as a table of the `queries` catalog (and under semantic tables): its SQL with every
 * parameter's value written in, as a run without values would bind them (a default, or NULL for an
 * optional parameter without one). A required parameter has no such value: `error` says so.
 */
export interface SavedQueryView {
  id: string
  projectId: string
  schema: string
  /** The table name: the display name, matched case-insensitively. */
  name: string
  description: string | null
  /** One read-only query with no placeholders left; empty when `error` is set. */
  sql: string
  error?: string
  /** Parameters that need a value: a view cannot be read without one. */
  required: string[]
}

export function savedQueryView(row: SavedQueryRow): SavedQueryView {
  const base = {
    id: row.id,
    projectId: row.project_id,
    schema: row.sql_schema ?? 'main',
    name: row.display_name,
    description: row.description,
  }
  const required = row.parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name)
  if (required.length > 0) {
    const list = required.map((name) => `{{${name}}}`).join(', ')
    return {
      ...base,
      sql: '',
      required,
      error: `saved query '${row.display_name}' needs a value for ${list}, which a table cannot give; give each parameter a default`,
    }
  }
  const values: Record<string, QueryParameter> = {}
  for (const parameter of row.parameters) {
    const bound = toBindable(parameter.type, parameter.default ?? null)
    values[parameter.name] = { type: parameter.type, value: bound.ok ? bound.value : null }
  }
  try {
    // The planning text: each value written in as a typed literal, so the query is plain SQL.
    return { ...base, sql: bindParameters(row.sql, values).planningSql, required }
  } catch (error) {
    if (error instanceof ParameterError) return { ...base, sql: '', required, error: error.message }
    throw error
  }
}
