import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'

const REPO_ROOT = path.resolve(import.meta.dirname, '../../..')

/**
 * What `npm start` runs, read from package.json so that the tests start the server exactly as it is
 * documented: `exec` makes the shell give its process to node, so that a signal to npm's child is a
 * signal to the server.
 */
export const START_SCRIPT = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
).scripts.start!

function nodeArguments(): string[] {
  const [exec, node, ...args] = START_SCRIPT.split(/\s+/)
  if (exec !== 'exec' || node !== 'node') throw new Error(`unexpected start script: ${START_SCRIPT}`)
  return args
}

export interface ServerProcessOptions {
  timeoutMs?: number
  /** `node` (default): the start script's command itself. `npm`: `npm start`, as an operator types it. */
  via?: 'node' | 'npm'
}

export interface ServerProcess {
  baseUrl: string
  /** The process started: node itself, or npm. */
  child: ChildProcess
  /** The process that serves: the child, or under npm the node process that npm's shell became. */
  serverPid: number
  /** Everything the process printed so far. */
  output(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Starts the server as its own process, as an operator runs it. */
export async function startServerProcess(
  env: Record<string, string>,
  timeoutOrOptions: number | ServerProcessOptions = {},
): Promise<ServerProcess> {
  const { timeoutMs = 60_000, via = 'node' } =
    typeof timeoutOrOptions === 'number' ? { timeoutMs: timeoutOrOptions } : timeoutOrOptions
  const port = await freePort()
  // Node itself with tsx's loader, not the tsx launcher: one process, so a signal (SIGKILL too) reaches the server.
  const child = spawn(via === 'npm' ? 'npm' : process.execPath, via === 'npm' ? ['start'] : nodeArguments(), {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const baseUrl = `http://127.0.0.1:${port}`

  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`)
    try {
      const response = await fetch(`${baseUrl}/api/v1/health`)
      if (response.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killTree(child.pid!)
      throw new Error(`server did not become healthy in ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  return {
    baseUrl,
    child,
    serverPid: via === 'npm' ? onlyChildOf(child.pid!) : child.pid!,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode
      // npm passes SIGTERM and SIGINT on to the server, but nothing can pass on a SIGKILL.
      if (signal === 'SIGKILL') killTree(child.pid!)
      else child.kill(signal)
      const [code] = (await once(child, 'exit')) as [number | null]
      return code
    },
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** The one child process of `pid` (Linux). */
function onlyChildOf(pid: number): number {
  const children = childrenOf(pid)
  if (children.length !== 1) throw new Error(`expected one child of ${pid}, found [${children.join(', ')}]`)
  return children[0]!
}

function killTree(pid: number): void {
  for (const child of childrenOf(pid)) killTree(child)
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** Whether a process is still there (a zombie counts as gone: it no longer runs). */
export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
