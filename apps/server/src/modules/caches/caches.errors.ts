import { errors } from '../../lib/errors.js'

/** A 422 naming the body field at fault, in the shape request validation uses. */
export function invalidField(field: string, message: string) {
  return errors.validation(`${field}: ${message}`, { issues: [{ location: 'body', field, message }] })
}
