import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

import type { Config } from './config.js'

const SECRET_FILE = 'secret.key'

/**
 * The instance secret signs session tokens (and later encrypts connection secrets). It comes from
 * TRIBUTARY_SECRET_KEY, or from a key file created once, readable only by its owner, in the data
 * directory, so that sessions survive restarts.
 */
export async function loadInstanceSecret(config: Pick<Config, 'secretKey' | 'dataDir'>): Promise<Uint8Array> {
  if (config.secretKey) return new TextEncoder().encode(config.secretKey)
  const file = path.join(config.dataDir, SECRET_FILE)
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await mkdir(config.dataDir, { recursive: true })
  const secret = randomBytes(32)
  try {
    await writeFile(file, `${secret.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
    return secret
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url')
  }
}
