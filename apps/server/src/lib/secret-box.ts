import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const VERSION = 'v1'
const IV_BYTES = 12

/** Derives a 32-byte key for one purpose from the instance secret, so no two uses share a key. */
export function deriveKey(instanceSecret: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', instanceSecret, Buffer.alloc(0), `tributary:${purpose}`, 32))
}

/**
 * AES-256-GCM for secrets at rest (connection passwords, outbound credentials). A sealed value is
 * `v1.<iv>.<tag>.<ciphertext>` in base64url; tampering makes `open` throw.
 */
export class SecretBox {
  readonly #key: Buffer

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key')
    this.#key = key
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return [VERSION, iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.')
  }

  open(sealed: string): string {
    const [version, iv, tag, ciphertext] = sealed.split('.')
    if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed secret')
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
  }
}
