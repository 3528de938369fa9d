/**
 * Every error code the API returns, with its HTTP status (DESIGN §4).
 * `query_error` is 400 for SQL the caller wrote; the server raises it as 500 for SQL it generated.
 */
export const ERROR_STATUS = {
  authentication_error: 401,
  authorization_error: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  validation_error: 422,
  unsupported_media_type: 415,
  payload_too_large: 413,
  rate_limit_exceeded: 429,
  quota_exceeded: 429,
  query_error: 400,
  query_timeout: 408,
  connection_error: 502,
  internal_error: 500,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[]
