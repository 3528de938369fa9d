/**
 * The "DuckDB over data already loaded" baseline, in a process of its own: holding the four tables in
 * the benchmark's process would make that process gigabytes larger, and Tributary, which runs there,
 * pays for a large process (each child process it spawns costs a fork of it). Driven by run.ts over
 * the IPC channel: `init` loads the tables from the DuckDB copy into memory, then each `query` runs
 * one statement and answers with its rows as JSON.
 */
import { DuckDBInstance } from '@duckdb/node-api'

export type WorkerRequest =
  | {
      type: 'init'
      file: string
      threads: number
      /** Tables to load, as `{ name in memory: table in the file }` (default: the four TPC-H-like tables). */
      tables?: Record<string, string>
    }
  | { type: 'query'; id: number; sql: string; read: boolean }

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; rows?: unknown[][] }
  | { type: 'error'; id: number | undefined; message: string }

const TPCH_TABLES = ['lineitem', 'orders', 'customer', 'nation']

const send = (reply: WorkerReply) => process.send!(reply)

const instance = await DuckDBInstance.create(':memory:', { memory_limit: '8GB' })
const connection = await instance.connect()

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  if (request.type === 'init') {
    await connection.run(`ATTACH '${request.file.replaceAll("'", "''")}' AS copy (READ_ONLY)`)
    const tables = request.tables ?? Object.fromEntries(TPCH_TABLES.map((table) => [table, table]))
    for (const [name, from] of Object.entries(tables)) {
      await connection.run(`CREATE OR REPLACE TABLE memory.main.${name} AS SELECT * FROM copy.main.${from}`)
    }
    await connection.run('DETACH copy')
    // Loaded with every core; measured with Tributary's thread count.
    await connection.run(`SET threads = ${request.threads}`)
    return { type: 'ready' }
  }
  if (request.read) {
    const reader = await connection.runAndReadAll(request.sql)
    return { type: 'result', id: request.id, rows: reader.getRowsJson() }
  }
  await connection.run(request.sql)
  return { type: 'result', id: request.id }
}

process.on('message', (request: WorkerRequest) => {
  handle(request).then(send, (error: unknown) =>
    send({
      type: 'error',
      id: request.type === 'query' ? request.id : undefined,
      message: error instanceof Error ? error.message : String(error),
    }),
  )
})
process.on('disconnect', () => {
  connection.closeSync()
  instance.closeSync()
  process.exit(0)
})
