import type { SourceColumn } from '../../engine/connectors/source-catalog.js'
import type { StoredMetadataColumn } from '../../metadata/schema.js'

/** What a refresh learned about one table besides its columns. */
export interface Detected {
  /** The primary key's columns; undefined when the source says nothing about keys (files, internal). */
  primaryKey?: ReadonlySet<string> | undefined
  /** Sample values by column; a column absent here keeps the samples it had. */
  samples?: ReadonlyMap<string, string[]> | undefined
}

export function newColumn(source: SourceColumn): StoredMetadataColumn {
  return {
    name: source.name,
    type: source.type,
    source_type: source.source_type,
    description: null,
    description_source: null,
    is_primary: false,
    primary_source: null,
    is_categorical: false,
    categorical_values: [],
    categorical_limit: null,
    categorical_refresh: null,
    sample_values: [],
    lineage: null,
    missing: false,
  }
}

/**
 * A table's columns as its catalog lists them now, with what was stored about each kept: names are
 * matched exactly. Stored columns the catalog no longer lists stay, after the present ones, marked
 * `missing`. Without a catalog listing (`current` undefined: the source could not be read) the stored
 * columns are returned as they are. What a person wrote (`*_source: 'user'`) is never replaced.
 */
export function mergeColumns(
  current: readonly SourceColumn[] | undefined,
  stored: readonly StoredMetadataColumn[] | undefined,
  detected: Detected = {},
): StoredMetadataColumn[] {
  if (!current) return [...(stored ?? [])]
  const byName = new Map((stored ?? []).map((column) => [column.name, column]))
  const seen = new Set<string>()
  const merged = current.map((source) => {
    seen.add(source.name)
    const previous = byName.get(source.name)
    const column: StoredMetadataColumn = previous
      ? { ...newColumn(source), ...previous, type: source.type, source_type: source.source_type, missing: false }
      : newColumn(source)
    if (detected.primaryKey && column.primary_source !== 'user') {
      column.is_primary = detected.primaryKey.has(source.name)
      column.primary_source = column.is_primary ? 'detected' : null
    }
    if (source.lineage?.length) column.lineage = source.lineage
    // What the catalog itself says fills in where no one wrote anything.
    if (source.description && (!column.description || column.description_source === 'detected')) {
      column.description = source.description
      column.description_source = 'detected'
    }
    const samples = detected.samples?.get(source.name)
    if (samples) column.sample_values = samples
    return column
  })
  for (const column of stored ?? []) {
    if (!seen.has(column.name)) merged.push({ ...column, missing: true })
  }
  return merged
}
