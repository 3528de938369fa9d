import { constants } from 'node:fs'
import { copyFile, mkdir, rm } from 'node:fs/promises'
import path from 'node:path'

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

import { quoteIdentifier, quoteLiteral } from '../engine/duckdb-sql.js'
import { newId } from '../lib/ids.js'

export interface SnapshotStoreOptions {
  /** `<data dir>`: each user keeps its snapshots in a folder of its own under it. */
  root: string
  memoryLimit: string
  threads: number
  /** How long a replaced version stays on disk. */
  retireGraceMs?: number
}

/** The versions of one thing (a cache, a materialized query): `<root>/<kind>/<project>/<owner>/`. */
export interface SnapshotLocation {
  dir: string
}

/** A version file being written: not yet named by any pointer, so no reader sees it. */
export interface PendingVersion {
  versionId: string
  path: string
}

/** The alias an edited version is attached under (see `edit`). */
export const SNAPSHOT_ALIAS = 'snapshot'

// A query that resolved the current version just before a switch still attaches its file: old
// versions stay this long after they are replaced.
const RETIRE_GRACE_MS = 60_000

/**
 * Whole-table snapshots as versioned DuckDB files, written once and then only read. A writer makes
 * a new version beside the current one and its owner switches a pointer in the metadata store in
 * one transaction; readers attach the version the pointer named when they looked, so they see the
 * old or the new, never a mix. Replaced versions are removed after a grace period. Which version is
 * current is recorded by the owner, never here.
 */
export class SnapshotStore {
  /** How long replaced versions stay; tests shorten it to see files go. */
  retireGraceMs: number

  constructor(private readonly options: SnapshotStoreOptions) {
    this.retireGraceMs = options.retireGraceMs ?? RETIRE_GRACE_MS
  }

  location(kind: string, projectId: string, ownerId: string): SnapshotLocation {
    return { dir: path.join(this.options.root, kind, projectId, ownerId) }
  }

  versionPath(location: SnapshotLocation, versionId: string): string {
    return path.join(location.dir, `${versionId}.duckdb`)
  }

  /** A path for a new, empty version. */
  async create(location: SnapshotLocation): Promise<PendingVersion> {
    await mkdir(location.dir, { recursive: true })
    const versionId = newId()
    return { versionId, path: this.versionPath(location, versionId) }
  }

  /**
   * A new version starting as a copy of `fromVersionId`, to be changed with `edit`. The copy is a
   * reflink where the file system can (no data copied), a plain copy elsewhere.
   */
  async copy(location: SnapshotLocation, fromVersionId: string): Promise<PendingVersion> {
    const pending = await this.create(location)
    try {
      await copyFile(this.versionPath(location, fromVersionId), pending.path, constants.COPYFILE_FICLONE)
    } catch (error) {
      await this.discard(pending)
      throw error
    }
    return pending
  }

  /**
   * Runs `work` on a private DuckDB with the pending version attached as `snapshot` (writable),
   * then checkpoints and closes it so that the file is complete. Aborting `signal` interrupts DuckDB.
   * `alongside` are other files attached read-only under the given aliases (a delta to merge).
   */
  async edit<T>(
    pending: PendingVersion,
    work: (connection: DuckDBConnection) => Promise<T>,
    signal?: AbortSignal,
    alongside: Readonly<Record<string, string>> = {},
  ): Promise<T> {
    return this.#session(pending.path, false, work, signal, alongside)
  }

  /** Runs `work` with a current version attached read-only as `snapshot` (its columns, say). */
  async read<T>(
    location: SnapshotLocation,
    versionId: string,
    work: (connection: DuckDBConnection) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.#session(this.versionPath(location, versionId), true, work, signal, {})
  }

  async #session<T>(
    file: string,
    readOnly: boolean,
    work: (connection: DuckDBConnection) => Promise<T>,
    signal: AbortSignal | undefined,
    alongside: Readonly<Record<string, string>>,
  ): Promise<T> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(this.options.threads),
      memory_limit: this.options.memoryLimit,
      autoinstall_known_extensions: 'false',
    })
    const connection = await instance.connect()
    const interrupt = () => connection.interrupt()
    signal?.addEventListener('abort', interrupt, { once: true })
    try {
      if (signal?.aborted) throw signal.reason
      // Values with a zone read and print in UTC, as query results do.
      await connection.run("SET TimeZone = 'UTC'")
      await connection.run(`ATTACH ${quoteLiteral(file)} AS ${SNAPSHOT_ALIAS}${readOnly ? ' (READ_ONLY)' : ''}`)
      for (const [alias, other] of Object.entries(alongside)) {
        await connection.run(`ATTACH ${quoteLiteral(other)} AS ${quoteIdentifier(alias)} (READ_ONLY)`)
      }
      const result = await work(connection)
      await connection.run(`DETACH ${SNAPSHOT_ALIAS}`)
      return result
    } catch (error) {
      throw signal?.aborted ? signal.reason : error
    } finally {
      signal?.removeEventListener('abort', interrupt)
      connection.closeSync()
      instance.closeSync()
    }
  }

  /** Removes a version no pointer ever named (a failed or cancelled write), now. */
  async discard(pending: PendingVersion): Promise<void> {
    await rm(pending.path, { force: true })
    await rm(`${pending.path}.wal`, { force: true })
  }

  /** Removes a replaced version once readers that resolved it before the switch are done. */
  retire(location: SnapshotLocation, versionId: string): void {
    const file = this.versionPath(location, versionId)
    this.#later(async () => {
      await rm(file, { force: true })
      await rm(`${file}.wal`, { force: true })
    })
  }

  /** Removes every version of a location (its owner is gone), after the grace period. */
  retireAll(location: SnapshotLocation): void {
    this.#later(() => rm(location.dir, { recursive: true, force: true }))
  }

  #later(remove: () => Promise<void>): void {
    setTimeout(() => void remove().catch(() => undefined), this.retireGraceMs).unref()
  }
}
