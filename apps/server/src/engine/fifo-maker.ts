import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { closeSync, constants, lstatSync, openSync, readdirSync, rmSync } from 'node:fs'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'

const PREFIX = 'tributary-scan-'

/** Every folder of pipes this process made and has not removed yet, for the exit hook. */
const liveDirectories = new Set<string>()
/** Set by the first folder made: the exit hook is in place and orphans of earlier processes are gone. */
let started: Promise<void> | undefined

/**
 * Makes named pipes through one long-lived shell. Node has no mkfifo, and running the mkfifo
 * program once per table forks the whole server every time: tens of milliseconds of a blocked
 * event loop once the process holds a gigabyte. The shell is small, so its forks are cheap.
 *
 * The pipes live in folders it makes (`tributary-scan-<pid>-*` in the temporary directory), which
 * are removed by `removeDirectory`, by `close`, and at the latest when the process exits. What a
 * process killed outright (SIGKILL) left behind, the next one to make a folder removes.
 */
export class FifoMaker {
  #shell: ChildProcessWithoutNullStreams | undefined
  readonly #waiting: { resolve: () => void; reject: (error: Error) => void; path: string }[] = []
  readonly #directories = new Set<string>()

  /** A new private folder for one query's pipes. */
  async directory(): Promise<string> {
    started ??= start()
    await started
    const made = await mkdtemp(path.join(tmpdir(), `${PREFIX}${process.pid}-`))
    this.#directories.add(made)
    liveDirectories.add(made)
    return made
  }

  /** Removes a folder from `directory` and its pipes; safe while a query still uses them (see `removeNow`). */
  removeDirectory(directory: string): void {
    removeNow(directory)
    this.#directories.delete(directory)
  }

  make(fifo: string): Promise<void> {
    if (/[\n\r]/.test(fifo)) return Promise.reject(new Error('a FIFO path cannot hold a line break'))
    const shell = this.#start()
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject, path: fifo })
      shell.stdin.write(`${fifo}\n`)
    })
  }

  /** Stops the helper shell and removes every folder it still has: loads still running fail. */
  close(): void {
    this.#shell?.kill()
    this.#shell = undefined
    for (const directory of this.#directories) this.removeDirectory(directory)
  }

  #start(): ChildProcessWithoutNullStreams {
    if (this.#shell) return this.#shell
    const shell = spawn(
      'sh',
      ['-c', 'while IFS= read -r p; do if mkfifo -m 600 -- "$p"; then echo ok; else echo failed; fi; done'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    )
    let lastError = ''
    shell.stderr.on('data', (chunk: Buffer) => (lastError = chunk.toString().trim()))
    createInterface({ input: shell.stdout }).on('line', (line) => {
      const waiter = this.#waiting.shift()
      if (line === 'ok') waiter?.resolve()
      else waiter?.reject(new Error(`could not create the FIFO ${waiter.path}: ${lastError || line}`))
    })
    const fail = (error: Error) => {
      if (this.#shell === shell) this.#shell = undefined
      for (const waiter of this.#waiting.splice(0)) waiter.reject(error)
    }
    shell.on('error', fail)
    shell.on('exit', () => fail(new Error('the FIFO helper exited')))
    shell.stdin.on('error', () => undefined)
    // It must never keep the process alive on its own.
    shell.unref()
    for (const stream of [shell.stdin, shell.stdout, shell.stderr])
      (stream as unknown as { unref?: () => void }).unref?.()
    this.#shell = shell
    return shell
  }
}

/** Once per process, before its first folder. */
async function start(): Promise<void> {
  // 'exit' listeners must be synchronous; signals the process does not handle skip them.
  process.on('exit', () => liveDirectories.forEach(removeNow))
  const owner = new RegExp(`^${PREFIX}(\\d+)-`)
  const names = await readdir(tmpdir()).catch(() => [])
  for (const name of names) {
    const pid = Number(owner.exec(name)?.[1])
    if (Number.isSafeInteger(pid) && pid !== process.pid && !alive(pid)) removeNow(path.join(tmpdir(), name))
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: alive, and someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Synchronous, so that the exit hook can use it, and never throws: what cannot be removed (another
 * user's folder) stays. A reader blocked opening a pipe would wait for a writer forever once the
 * pipe's name is gone: opening the pipe for reading and writing lets it in (it sees the end of its
 * input when this closes), and a reader that comes after the unlink finds no pipe instead of
 * waiting. A writer already streaming into a pipe keeps its own descriptor.
 */
function removeNow(directory: string): void {
  try {
    for (const name of readdirSync(directory)) {
      const file = path.join(directory, name)
      const fd = lstatSync(file).isFIFO() ? openSync(file, constants.O_RDWR | constants.O_NONBLOCK) : undefined
      try {
        rmSync(file, { force: true })
      } finally {
        if (fd !== undefined) closeSync(fd)
      }
    }
    rmSync(directory, { recursive: true, force: true })
  } catch {
    // Gone already, or not ours.
  } finally {
    liveDirectories.delete(directory)
  }
}
