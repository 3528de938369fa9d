import { ERROR_STATUS, type ErrorCode } from '@tributary/contract'

/** The one error type whose message may reach a client. Anything else becomes `internal_error`. */
export class AppError extends Error {
  override name = 'AppError'
  readonly status: number

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, { cause: options?.cause })
    this.status = options?.status ?? ERROR_STATUS[code]
  }
}

/** Duck-typed so that it survives duplicated module copies (tests, workers). */
export function isAppError(value: unknown, code?: ErrorCode): value is AppError {
  return (
    value instanceof Error && value.name === 'AppError' && (code === undefined || (value as AppError).code === code)
  )
}

export const errors = {
  authentication: (message = 'missing, unknown, revoked or expired credentials') =>
    new AppError('authentication_error', message),
  authorization: (message: string) => new AppError('authorization_error', message),
  notFound: (resource: string, id?: string) =>
    new AppError('not_found', id ? `${resource} ${id} not found` : `${resource} not found`),
  conflict: (message: string, details?: unknown) => new AppError('conflict', message, details),
  validation: (message: string, details?: unknown) => new AppError('validation_error', message, details),
  /** A 422 naming the one place in the body (`widgets.2.config.x`, `steps.1.condition`) that is wrong. */
  invalidField: (field: string, message: string) =>
    new AppError('validation_error', `${field}: ${message}`, { issues: [{ location: 'body', field, message }] }),
  payloadTooLarge: (limitBytes: number) =>
    new AppError('payload_too_large', `request body exceeds the limit of ${limitBytes} bytes`, {
      limit_bytes: limitBytes,
    }),
  unsupportedMediaType: (contentType: string | undefined) =>
    new AppError(
      'unsupported_media_type',
      `request body must be JSON (Content-Type: application/json), got ${contentType ? `'${contentType}'` : 'none'}`,
    ),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError('rate_limit_exceeded', `rate limit exceeded; retry in ${retryAfterSeconds} s`, {
      retry_after_seconds: retryAfterSeconds,
    }),
}

/** For exhaustive switches: the compiler proves this is never reached. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`)
}
