import { quoteIdentifier } from './duckdb-sql.js'

/**
 * What one caller may see of the tables a query reads: masked columns and withheld rows. The engine
 * applies it beneath the query's own text (see `applyAccess`), so every door that runs SQL obeys
 * it without code of its own.
 */
export interface QueryAccess {
  /** The caller's attributes, for `current_user_props(name)`; a name missing here reads as NULL. */
  props: Readonly<Record<string, string>>
  /** The policies on one table the query reads (names as the catalog lists them); undefined when none applies. */
  table(table: PolicedTable): TableAccess | undefined
  /**
   * The same for every caller whom the same policies apply to in the same way (their masks, their
   * filters with the props filled in): results may be shared between callers with one key.
   */
  key: string
}

export interface PolicedTable {
  catalog: string
  schema: string
  table: string
  /** Every column of the table, with its DuckDB type. */
  columns: readonly { name: string; type: string }[]
}

export interface TableAccess {
  /** By column name (as the catalog lists it): the column's mask. */
  masks: ReadonlyMap<string, ColumnMask>
  /** A boolean SQL expression over the table's columns; a row for which it is not true is withheld. */
  rowFilter?: string | undefined
}

export interface ColumnMask {
  /** SQL over the table's columns whose value the query sees instead of the column's. */
  expression: string
  /** How the result reports a column carrying it: `hidden` when nothing of the value is left. */
  privacy: 'masked' | 'hidden'
}

export const MASK_KINDS = ['redact', 'nullify', 'last4', 'first4', 'year_only', 'hash', 'custom'] as const
export type MaskKind = (typeof MASK_KINDS)[number]

/** The placeholder a custom mask's expression writes for the column it masks. */
export const CUSTOM_MASK_COLUMN = '{col}'

const TEXT_TYPES = /^(VARCHAR|TEXT|STRING|CHAR|BPCHAR|UUID)(\(|$)/i
const DATE_TYPES = /^(DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE|TIMESTAMPTZ|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS)$/i

/** Why a mask cannot apply to a column of this DuckDB type; undefined when it can. */
export function maskTypeProblem(kind: MaskKind, type: string): string | undefined {
  if ((kind === 'last4' || kind === 'first4') && !TEXT_TYPES.test(type)) {
    return `mask '${kind}' needs a text column; this one is ${type}`
  }
  if (kind === 'year_only' && !DATE_TYPES.test(type)) {
    return `mask 'year_only' needs a date or timestamp column; this one is ${type}`
  }
  return undefined
}

/**
 * The SQL a mask puts in place of a column of type `type`. `custom`: the policy's expression, with
 * `{col}` standing for the column. Nulls stay null (but for `nullify`, everything is).
 */
export function maskSql(kind: MaskKind, column: string, type: string, custom?: string): ColumnMask {
  const c = quoteIdentifier(column)
  const text = `CAST(${c} AS VARCHAR)`
  switch (kind) {
    case 'redact':
      return { expression: `CASE WHEN ${c} IS NULL THEN NULL ELSE '****' END`, privacy: 'masked' }
    case 'nullify':
      return { expression: `CAST(NULL AS ${type})`, privacy: 'hidden' }
    case 'last4':
      return {
        expression: `repeat('*', greatest(length(${text}) - 4, 0)) || right(${text}, 4)`,
        privacy: 'masked',
      }
    case 'first4':
      return { expression: `left(${text}, 4) || repeat('*', greatest(length(${text}) - 4, 0))`, privacy: 'masked' }
    case 'year_only':
      return { expression: `CAST(date_trunc('year', ${c}) AS ${type})`, privacy: 'masked' }
    case 'hash':
      return { expression: `sha256(${text})`, privacy: 'masked' }
    case 'custom':
      return { expression: `(${(custom ?? 'NULL').replaceAll(CUSTOM_MASK_COLUMN, c)})`, privacy: 'masked' }
  }
}

/** `current_user_props(name)`: the function's name, as a query or a row filter writes it. */
export const USER_PROPS_FUNCTION = 'current_user_props'
