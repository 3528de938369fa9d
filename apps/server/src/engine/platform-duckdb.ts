import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

export interface PlatformDuckDBOptions {
  memoryLimit: string
  threads: number
}

/**
 * One long-lived in-memory DuckDB for the platform's own SQL over its own files: reading result
 * pages, writing exports, checking and loading uploads. It may read and write files, so user SQL
 * never runs here: that goes through `SqlEngine`, which locks its instances down.
 */
export class PlatformDuckDB {
  #instance: Promise<DuckDBInstance> | undefined

  constructor(private readonly options: PlatformDuckDBOptions) {}

  /** A fresh connection: each task gets its own, so one can be interrupted without touching others. */
  async connect(): Promise<DuckDBConnection> {
    this.#instance ??= DuckDBInstance.create(':memory:', {
      threads: String(this.options.threads),
      memory_limit: this.options.memoryLimit,
    }).then(async (instance) => {
      const setup = await instance.connect()
      // Timestamps with time zones read and write in UTC, as in query results.
      await setup.run("SET TimeZone = 'UTC'")
      setup.closeSync()
      return instance
    })
    return (await this.#instance).connect()
  }

  /** Runs `task` on a fresh connection and closes it afterwards. */
  async withConnection<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.connect()
    try {
      return await task(connection)
    } finally {
      connection.closeSync()
    }
  }

  async close(): Promise<void> {
    const instance = this.#instance
    this.#instance = undefined
    if (instance) (await instance).closeSync()
  }
}
