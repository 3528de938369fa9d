import { jwtVerify, SignJWT } from 'jose'

export interface SessionClaims {
  userId: string
  organizationId: string
}

export interface VerifiedSession extends SessionClaims {
  issuedAt: Date
  expiresAt: Date
}

const ISSUER = 'tributary'
const AUDIENCE = 'tributary-api'

/** Short-lived HS256 JWTs signed with the instance secret. */
export class SessionTokens {
  readonly #key: Uint8Array

  constructor(
    secret: Uint8Array,
    private readonly ttlSeconds: number,
  ) {
    this.#key = secret
  }

  async issue(claims: SessionClaims): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = Date.now()
    const expiresAt = new Date(issuedAt + this.ttlSeconds * 1000)
    // `iat` has one-second resolution; a password change must void a token issued a moment before it.
    const token = await new SignJWT({ org: claims.organizationId, iat_ms: issuedAt })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.#key)
    return { token, expiresAt }
  }

  /** Undefined for anything that is not a valid, unexpired token of ours. */
  async verify(token: string): Promise<VerifiedSession | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
      })
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.org !== 'string' ||
        payload.exp === undefined ||
        typeof payload.iat_ms !== 'number'
      ) {
        return undefined
      }
      return {
        userId: payload.sub,
        organizationId: payload.org,
        issuedAt: new Date(payload.iat_ms),
        expiresAt: new Date(payload.exp * 1000),
      }
    } catch {
      return undefined
    }
  }
}
