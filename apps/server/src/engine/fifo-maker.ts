import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'

/**
 * Makes named pipes through one long-lived shell. Node has no mkfifo, and running the mkfifo
 * program once per table forks the whole server every time: tens of milliseconds of a blocked
 * event loop once the process holds a gigabyte. The shell is small, so its forks are cheap.
 */
export class FifoMaker {
  #shell: ChildProcessWithoutNullStreams | undefined
  readonly #waiting: { resolve: () => void; reject: (error: Error) => void; path: string }[] = []

  make(path: string): Promise<void> {
    if (/[\n\r]/.test(path)) return Promise.reject(new Error('a FIFO path cannot hold a line break'))
    const shell = this.#start()
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject, path })
      shell.stdin.write(`${path}\n`)
    })
  }

  close(): void {
    this.#shell?.kill()
    this.#shell = undefined
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
