import { jwtVerify, SignJWT } from 'jose'

export interface SessionClaims {
  userId: string
  organizationId: string
}

export interface VerifiedSession extends SessionClaims {
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
    const expiresAt = new Date(Date.now() + this.ttlSeconds * 1000)
    const token = await new SignJWT({ org: claims.organizationId })
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
      if (typeof payload.sub !== 'string' || typeof payload.org !== 'string' || payload.exp === undefined) {
        return undefined
      }
      return { userId: payload.sub, organizationId: payload.org, expiresAt: new Date(payload.exp * 1000) }
    } catch {
      return undefined
    }
  }
}
