import { type ChildProcess, fork } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import type { WorkerReply, WorkerRequest } from './duckdb-worker.js'

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'duckdb-worker.ts')

/** The preloaded DuckDB, in its own process (see duckdb-worker.ts), that benchmarks time as the reference. */
export class DuckDbWorker {
  readonly #child: ChildProcess
  readonly #pending = new Map<number | undefined, { resolve(reply: WorkerReply): void; reject(e: Error): void }>()
  #next = 1

  constructor() {
    this.#child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#child.on('message', (reply: WorkerReply) => {
      const id = reply.type === 'ready' ? undefined : reply.id
      const waiting = this.#pending.get(id)
      this.#pending.delete(id)
      if (reply.type === 'error') waiting?.reject(new Error(reply.message))
      else waiting?.resolve(reply)
    })
    this.#child.on('exit', (code) => {
      for (const waiting of this.#pending.values()) waiting.reject(new Error(`the DuckDB worker exited (${code})`))
      this.#pending.clear()
    })
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  #ask(id: number | undefined, request: WorkerRequest): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#child.send(request)
    })
  }

  /** Loads `tables` (`{ name in memory: table in the file }`; default the TPC-H-like ones) from a DuckDB file. */
  async init(file: string, threads: number, tables?: Record<string, string>): Promise<void> {
    await this.#ask(undefined, { type: 'init', file, threads, ...(tables ? { tables } : {}) })
  }

  async rows(sql: string): Promise<unknown[][]> {
    const id = this.#next++
    const reply = await this.#ask(id, { type: 'query', id, sql, read: true })
    return reply.type === 'result' ? (reply.rows ?? []) : []
  }

  async run(sql: string): Promise<void> {
    const id = this.#next++
    await this.#ask(id, { type: 'query', id, sql, read: false })
  }

  close(): void {
    if (this.#child.connected) this.#child.disconnect()
  }
}
