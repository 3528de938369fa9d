import { createHash } from 'node:crypto'

import { WIDGET_ROW_CAPS } from '@tributary/contract'

import { errors } from '../../lib/errors.js'
import type { StoredWidget } from '../../metadata/dashboards-schema.js'

/** The task of dashboards' refresh schedules, and the job kind each occurrence runs as. */
export const DASHBOARD_REFRESH_TASK = 'dashboards.refresh'

/** A widget that draws query results: every type but `text`. */
export type DataWidget = StoredWidget & { type: Exclude<StoredWidget['type'], 'text'> }

export const isDataWidget = (widget: StoredWidget): widget is DataWidget => widget.type !== 'text'

export const rowCapOf = (widget: DataWidget) => WIDGET_ROW_CAPS[widget.type]

/** A place in `config` that names a result column, and whether the column must hold numbers. */
interface ColumnUse {
  key: string
  column: string
  numeric: boolean
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|DECIMAL|FLOAT|DOUBLE|REAL|NUMERIC)\b/i

/** The columns a widget's `config` names, by type (the contract has checked the shapes). */
function columnUses(widget: DataWidget): ColumnUse[] {
  const config = widget.config
  const uses: ColumnUse[] = []
  const add = (key: string, value: unknown, numeric: boolean) => {
    if (typeof value === 'string') uses.push({ key, column: value, numeric })
  }
  const addFormats = () => {
    for (const column of Object.keys((config.formats as Record<string, unknown> | undefined) ?? {})) {
      add(`formats.${column}`, column, false)
    }
  }
  switch (widget.type) {
    case 'metric':
      add('value', config.value, true)
      add('comparison', config.comparison, true)
      break
    case 'table':
      for (const column of (config.columns as string[] | undefined) ?? []) add('columns', column, false)
      addFormats()
      break
    case 'bar':
    case 'line':
    case 'area':
      add('x', config.x, false)
      for (const column of config.y as string[]) add('y', column, true)
      add('series', config.series, false)
      addFormats()
      break
    case 'pie':
      add('label', config.label, false)
      add('value', config.value, true)
      break
    case 'scatter':
      add('x', config.x, true)
      add('y', config.y, true)
      add('size', config.size, true)
      add('series', config.series, false)
      addFormats()
      break
  }
  return uses
}

/**
 * Checks that every column `config` names is one the widget's query returns, and that axes and
 * values that are measured hold numbers. Throws a 422 at `fieldOf(<config key>)`.
 */
export function checkConfig(
  widget: DataWidget,
  columns: readonly { name: string; type: string }[],
  fieldOf: (key: string) => string,
): void {
  const types = new Map(columns.map((column) => [column.name, column.type]))
  for (const use of columnUses(widget)) {
    const type = types.get(use.column)
    if (type === undefined) {
      throw errors.invalidField(
        fieldOf(use.key),
        `the query returns no column '${use.column}' (it returns ${columns.map((column) => `'${column.name}'`).join(', ') || 'none'})`,
      )
    }
    if (use.numeric && !NUMERIC.test(type)) {
      throw errors.invalidField(
        fieldOf(use.key),
        `column '${use.column}' is ${type}: a ${widget.type} needs numbers here`,
      )
    }
  }
}

/**
 * What a widget's result depends on: a cached result computed for another definition (the SQL,
 * the saved query or its values changed, or the type and so the row cap) is not this widget's.
 */
export function sourceKeyOf(widget: DataWidget): string {
  const source = [widget.type, widget.query_id, widget.resolved_sql ?? widget.sql, widget.parameters]
  return createHash('sha256').update(JSON.stringify(source)).digest('base64url')
}

/** A small least-recently-used map: reads move an entry to the back, inserts beyond `capacity` drop the front. */
export class Lru<K, V> {
  readonly #entries = new Map<K, V>()

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value === undefined) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  set(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as K)
  }

  delete(key: K): void {
    this.#entries.delete(key)
  }
}
