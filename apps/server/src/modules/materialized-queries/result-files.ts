import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'

import type { Logger } from '../../lib/logger.js'

/**
 * Old result files stay this long after a newer one replaced them: a query that resolved the table
 * just before the switch still finds its file when it attaches it.
 */
const RETIRE_GRACE_MS = 60_000

/** Where materialized results live: `<root>/<project>/<query>/<version>.duckdb`, each file written once. */
export class ResultFiles {
  constructor(
    private readonly root: string,
    private readonly logger: Logger,
    private readonly graceMs = RETIRE_GRACE_MS,
  ) {}

  path(projectId: string, queryId: string, versionId: string): string {
    return path.join(this.#dir(projectId, queryId), `${versionId}.duckdb`)
  }

  /** The path a new version is written to, its folder made. */
  async prepare(projectId: string, queryId: string, versionId: string): Promise<string> {
    await mkdir(this.#dir(projectId, queryId), { recursive: true })
    return this.path(projectId, queryId, versionId)
  }

  /** Removes a version's file (and DuckDB's write-ahead log) once readers that may hold it are done. */
  retire(projectId: string, queryId: string, versionId: string): void {
    const file = this.path(projectId, queryId, versionId)
    this.#later([file, `${file}.wal`])
  }

  /** Removes every version of a query that is no longer materialized. */
  retireAll(projectId: string, queryId: string): void {
    this.#later([this.#dir(projectId, queryId)])
  }

  #later(paths: string[]): void {
    setTimeout(() => {
      for (const target of paths) {
        rm(target, { recursive: true, force: true }).catch((error: unknown) =>
          this.logger.warn({ err: error, path: target }, 'could not remove a materialized result'),
        )
      }
    }, this.graceMs).unref()
  }

  #dir(projectId: string, queryId: string): string {
    return path.join(this.root, projectId, queryId)
  }
}
