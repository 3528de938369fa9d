import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { z } from 'zod'

import { SourceError, type Connector, type ScanRequest, type SourceColumn, type SourceTable } from '../connector.js'
import { confinePath, isGlob } from '../file-paths.js'
import {
  ALL_OPS,
  type ColumnFilterRule,
  doubleQuoted,
  scanTail,
  NULL_OPS,
  singleQuoted,
  storableText,
} from '../filter-sql.js'

const FORMATS = ['csv', 'tsv', 'parquet', 'json', 'ndjson'] as const
type FileFormat = (typeof FORMATS)[number]

export const FilesConfig = z.strictObject({
  path: z.string().min(1, 'must not be empty').max(4096),
  format: z.enum(FORMATS).optional().meta({ description: 'Inferred from the file extension when absent' }),
  header: z.boolean().optional().meta({ description: 'CSV/TSV: whether the first line names the columns' }),
  delimiter: z.string().min(1).max(4).optional(),
  quote: z.string().length(1).optional(),
})
export type FilesConfig = z.infer<typeof FilesConfig>

const EXTENSIONS: [RegExp, FileFormat][] = [
  [/\.csv(\.gz)?$/i, 'csv'],
  [/\.tsv(\.gz)?$/i, 'tsv'],
  [/\.parquet$/i, 'parquet'],
  [/\.(ndjson|jsonl)(\.gz)?$/i, 'ndjson'],
  [/\.json(\.gz)?$/i, 'json'],
]

/**
 * CSV/TSV, Parquet and JSON files, read by DuckDB where they lie. A file is a table, a directory
 * makes one table of each readable file in it, and a glob is one table over every file it matches.
 * Everything is in the schema `main`.
 */
export const filesConnector: Connector<FilesConfig> = {
  type: 'files',
  displayName: 'Files (CSV, Parquet, JSON)',
  category: 'files',
  configSchema: FilesConfig,
  secretFields: [],
  async checkConfig(config, context) {
    await confinePath(config.path, context.fileRoots)
  },
  async connect(config, context) {
    const resolved = await confinePath(config.path, context.fileRoots)
    const sources = await listSources(resolved, config)
    const duckdb = await describer()
    return {
      async introspect() {
        const tables: SourceTable[] = []
        for (const source of sources) {
          const reader = readerSql(source.location, source.format, config)
          let described: { column_name: string; column_type: string; null: string }[]
          try {
            const result = await duckdb.runAndReadAll(`describe select * from ${reader}`)
            described = result.getRowObjectsJS() as typeof described
          } catch (error) {
            throw new SourceError(`cannot read ${source.label} as ${source.format}: ${firstLine(error)}`)
          }
          tables.push({
            name: source.table,
            kind: 'table',
            columns: described.map((column) => ({
              name: column.column_name,
              type: column.column_type,
              nullable: column.null !== 'NO',
              source_type: `${source.format}:${column.column_type}`,
            })),
          })
        }
        tables.sort((a, b) => a.name.localeCompare(b.name))
        return { schemas: [{ name: 'main', tables }] }
      },
      nativeReader(request) {
        const source = request.schema === 'main' ? sources.find((s) => s.table === request.table) : undefined
        if (!source) throw new SourceError(`there is no table ${request.schema}.${request.table} in ${config.path}`)
        return filesReaderSql(request, readerSql(source.location, source.format, config))
      },
      async close() {},
    }
  },
}

interface FileSource {
  table: string
  location: string
  format: FileFormat
  label: string
}

async function listSources(resolved: string, config: FilesConfig): Promise<FileSource[]> {
  if (isGlob(resolved)) {
    const format = config.format ?? formatOf(resolved)
    if (!format) throw new SourceError(`cannot tell the format of ${config.path}; set "format"`)
    const table = tableName(path.basename(staticDirectory(resolved)))
    return [{ table, location: resolved, format, label: config.path }]
  }
  const info = await stat(resolved)
  if (info.isFile()) {
    const format = config.format ?? formatOf(resolved)
    if (!format) throw new SourceError(`cannot tell the format of ${config.path}; set "format"`)
    return [{ table: tableName(path.basename(resolved)), location: resolved, format, label: config.path }]
  }
  const entries = await readdir(resolved, { withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .flatMap((entry) => {
      const format = config.format ?? formatOf(entry.name)
      return format
        ? [{ table: tableName(entry.name), location: path.join(resolved, entry.name), format, label: entry.name }]
        : []
    })
}

const formatOf = (file: string): FileFormat | undefined => EXTENSIONS.find(([pattern]) => pattern.test(file))?.[1]

/** `Sales 2024.csv.gz` → `sales_2024`: a name that needs no quoting in SQL. */
export function tableName(file: string): string {
  const stem = file.replace(/(\.(csv|tsv|parquet|ndjson|jsonl|json))?(\.gz)?$/i, '')
  const name = stem
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
  return /^[a-z_]/.test(name) ? name : `t_${name}`
}

function staticDirectory(glob: string): string {
  const segments = glob.split(path.sep)
  const firstGlob = segments.findIndex((segment) => isGlob(segment))
  return segments.slice(0, firstGlob).join(path.sep)
}

const literal = (value: string) => `'${value.replaceAll("'", "''")}'`

/** The DuckDB reader for one source, with the CSV options the connection sets. */
export function readerSql(location: string, format: FileFormat, config: FilesConfig): string {
  switch (format) {
    case 'parquet':
      return `read_parquet(${literal(location)})`
    case 'json':
      return `read_json_auto(${literal(location)})`
    case 'ndjson':
      return `read_ndjson_auto(${literal(location)})`
    case 'csv':
    case 'tsv': {
      const options = [
        config.header === undefined ? undefined : `header = ${config.header}`,
        config.delimiter !== undefined
          ? `delim = ${literal(config.delimiter)}`
          : format === 'tsv'
            ? `delim = ${literal('\t')}`
            : undefined,
        config.quote === undefined ? undefined : `quote = ${literal(config.quote)}`,
        // PostgreSQL and most exporters write "" for an empty string; it must not become NULL.
        'allow_quoted_nulls = false',
      ].filter(Boolean)
      return `read_csv(${[literal(location), ...options].join(', ')})`
    }
  }
}

/**
 * `SELECT <columns> FROM <reader> WHERE <filters> LIMIT n` for DuckDB itself. DuckDB compares exactly
 * as the engine does, so every filter goes in: Parquet skips row groups by their statistics, and for
 * CSV and JSON the engine at least never holds the rows the filter drops.
 */
export function filesReaderSql(request: ScanRequest, reader: string): string {
  if (request.columns.length === 0) throw new TypeError('a scan needs at least one column')
  const select = request.columns.map((column) => doubleQuoted(column.name)).join(', ')
  return `SELECT ${select} FROM ${reader}${scanTail(request, duckdbFilterRule)}`
}

/** Scalar types, whose constants can be written as a cast string; nested types are not compared. */
const SCALAR = /^([A-Z_ ]+|DECIMAL\(\d+,\d+\))$/i

function duckdbFilterRule(column: SourceColumn): ColumnFilterRule {
  const q = doubleQuoted(column.name)
  if (!SCALAR.test(column.type)) return { lhs: q, ops: NULL_OPS, literal: () => undefined }
  return {
    lhs: q,
    ops: ALL_OPS,
    literal: (value) => {
      if (typeof value === 'boolean' || typeof value === 'bigint') return String(value)
      if (typeof value === 'number') {
        return Number.isFinite(value) ? String(value) : `CAST(${singleQuoted(String(value))} AS DOUBLE)`
      }
      const text = storableText(value)
      if (text === undefined) return undefined
      // A string constant takes the column's type, as the engine's own comparison did.
      return column.type === 'VARCHAR' ? singleQuoted(text) : `CAST(${singleQuoted(text)} AS ${column.type})`
    },
  }
}

let shared: Promise<DuckDBConnection> | undefined

/** One small in-process DuckDB for reading file schemas; queries run off the event loop. */
function describer(): Promise<DuckDBConnection> {
  shared ??= DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '256MB' }).then((instance) =>
    instance.connect(),
  )
  return shared
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]
