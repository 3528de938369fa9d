import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

/**
 * A type name as people write them: a word or words, an optional `(p)` or `(p, s)`, optional `[]`s.
 * Checked before DuckDB sees the text, which is then spliced into a cast: nothing else gets through.
 */
const TYPE_SHAPE =
  /^[A-Za-z][A-Za-z0-9_]*(?: [A-Za-z][A-Za-z0-9_]*){0,3}(?:\(\s*\d{1,3}\s*(?:,\s*\d{1,3}\s*)?\))?(?:\[\])*$/

/** Pseudo-types DuckDB accepts in a cast but that no column can hold. */
const NOT_STORABLE = new Set(['NULL', 'ANY', 'UNKNOWN', '"NULL"'])

/** Checks column types with DuckDB itself and gives each its canonical name (`int8` → `BIGINT`). */
export class ColumnTypes {
  #connection: Promise<DuckDBConnection> | undefined
  readonly #known = new Map<string, string | null>()

  /** The canonical DuckDB name of `type`, or undefined when it is no type a column can have. */
  async canonical(type: string): Promise<string | undefined> {
    const written = type.trim().replace(/\s+/g, ' ')
    if (!TYPE_SHAPE.test(written)) return undefined
    const cached = this.#known.get(written.toUpperCase())
    if (cached !== undefined) return cached ?? undefined
    let name: string | null = null
    try {
      const result = await (await this.#parser()).runAndReadAll(`SELECT typeof(CAST(NULL AS ${written})) AS t`)
      const value = result.getRowsJS()[0]![0]
      const found = typeof value === 'string' ? value : ''
      name = NOT_STORABLE.has(found.toUpperCase()) ? null : found
    } catch {
      name = null
    }
    if (this.#known.size < 1000) this.#known.set(written.toUpperCase(), name)
    return name ?? undefined
  }

  #parser(): Promise<DuckDBConnection> {
    this.#connection ??= DuckDBInstance.create(':memory:', {
      threads: '1',
      enable_external_access: 'false',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    }).then((instance) => instance.connect())
    return this.#connection
  }
}
