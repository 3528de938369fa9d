import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export const API_KEY_PREFIX = 'trb_'
const DISPLAY_PREFIX_LENGTH = 12

/** A new secret token: a recognisable prefix and 32 random bytes. */
export function generateToken(prefix = API_KEY_PREFIX): string {
  return prefix + randomBytes(32).toString('base64url')
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

/** What a listing may show of a key: enough to recognise it, too little to use it. */
export function displayPrefix(token: string): string {
  return token.slice(0, DISPLAY_PREFIX_LENGTH)
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
