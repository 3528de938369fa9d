import { randomBytes } from 'node:crypto'

import { describe, expect, it } from 'vitest'

import { deriveKey, SecretBox } from './secret-box.js'

describe('SecretBox', () => {
  const secret = randomBytes(32)
  const box = new SecretBox(deriveKey(secret, 'connection-secrets'))

  it('round-trips, with a fresh IV each time', () => {
    const a = box.seal('p@ss wörd 🔑')
    const b = box.seal('p@ss wörd 🔑')
    expect(a).not.toBe(b)
    expect(a).not.toContain('p@ss')
    expect(box.open(a)).toBe('p@ss wörd 🔑')
    expect(box.open(b)).toBe('p@ss wörd 🔑')
  })

  it('refuses a tampered value and another purpose’s key', () => {
    const sealed = box.seal('secret')
    const parts = sealed.split('.')
    const flipped = Buffer.from(parts[3]!, 'base64url')
    flipped[0] = flipped[0]! ^ 1
    parts[3] = flipped.toString('base64url')
    expect(() => box.open(parts.join('.'))).toThrow()
    expect(() => new SecretBox(deriveKey(secret, 'sessions')).open(sealed)).toThrow()
    expect(() => box.open('plaintext')).toThrow('not a sealed secret')
  })
})
