import type { z } from 'zod'

/** A column as the platform sees it: its DuckDB type, and the type the source declared. */
export interface SourceColumn {
  name: string
  /** A DuckDB type name: `BIGINT`, `VARCHAR`, `DECIMAL(10,2)`, `TIMESTAMPTZ`, … */
  type: string
  nullable: boolean
  /** The type as the source spells it, e.g. `character varying(120)` or `tinyint(3) unsigned`. */
  source_type: string
}

export interface SourceTable {
  name: string
  kind: 'table' | 'view'
  columns: SourceColumn[]
}

export interface SourceSchema {
  name: string
  tables: SourceTable[]
}

/** Everything a source exposes, read in as few round trips as the source allows. */
export interface SourceCatalog {
  schemas: SourceSchema[]
}

/** What a connector may rely on from the platform. */
export interface ConnectorContext {
  /** Absolute, symlink-free directories that file paths (SQLite, files) must stay inside. */
  fileRoots: readonly string[]
  /** How long to wait for a source to accept a connection. */
  connectTimeoutMs: number
}

/** A live session with one source. Sources are only ever read, in read-only sessions where they have them. */
export interface SourceSession {
  introspect(): Promise<SourceCatalog>
  close(): Promise<void>
}

/**
 * One kind of source. Adding a source type is one folder with one of these, registered in
 * `registry.ts`. `Config` is validated by `configSchema` before `connect` ever sees it.
 */
export interface Connector<Config = unknown> {
  readonly type: string
  readonly displayName: string
  readonly category: 'database' | 'files'
  readonly configSchema: z.ZodType<Config>
  /** Config fields that are secrets: encrypted at rest, write-only in the API, never logged. */
  readonly secretFields: readonly string[]
  connect(config: Config, context: ConnectorContext): Promise<SourceSession>
  /**
   * Checks that need the platform but not the source, run when a connection is saved (file paths
   * inside the allowed roots). Throws SourceError.
   */
  checkConfig?(config: Config, context: ConnectorContext): Promise<void>
}

/**
 * A source refused or failed: the message must tell a person what to fix (wrong password,
 * unknown host, refused, database missing, TLS), and must never carry a secret.
 */
export class SourceError extends Error {
  override name = 'SourceError'
}
