import { AppError, errors } from '../../lib/errors.js'

export const connectionErrors = {
  unknownType: (type: string, known: string[]) =>
    errors.validation(`type: unknown connection type '${type}'; one of ${known.join(', ')}`, {
      issues: [{ location: 'body', field: 'type', message: `must be one of ${known.join(', ')}` }],
    }),
  invalidConfig: (message: string) =>
    errors.validation(`config: ${message}`, { issues: [{ location: 'body', field: 'config', message }] }),
  catalogTaken: (catalog: string) =>
    errors.conflict(`catalog '${catalog}' is already used in this project; choose another "catalog"`),
  /** The source refused or failed: the platform is fine, the upstream is not. */
  source: (message: string, cause?: unknown) => new AppError('connection_error', message, undefined, { cause }),
}
