import { errors } from '../../lib/errors.js'

export const credentialErrors = {
  notFound: (id: string) => errors.notFound('credential', id),
  nameTaken: (name: string) => errors.conflict(`a credential named '${name}' already exists in this project`),
  /** Said of the field that names the credential (`actions.2.credential_id`), as a 422. */
  missing: (field: string, id: string) => errors.invalidField(field, `credential ${id} does not exist in this project`),
  hostNotAllowed: (field: string, name: string, host: string, allowed: readonly string[]) =>
    errors.invalidField(
      field,
      `credential '${name}' may be sent only to ${allowed.join(', ')}; ${host} is not one of its allowed hosts`,
    ),
  unreadable: (field: string, name: string) =>
    errors.invalidField(
      field,
      `credential '${name}' cannot be decrypted with this server's secret key; set its secret again (PATCH secret)`,
    ),
  notHttp: (field: string, url: string) =>
    errors.invalidField(field, `a credential is sent only to http(s) URLs, not to '${url.slice(0, 200)}'`),
  wrongTypeField: (field: 'header_name' | 'username', type: string) =>
    errors.invalidField(field, `is not used by a credential of type '${type}' (change the type and secret with it)`),
  secretNotAscii: () =>
    errors.invalidField('secret', 'must be printable ASCII for this type (it is sent as an HTTP header as is)'),
}
