import { errors } from '../../lib/errors.js'

export const accessPolicyErrors = {
  privacyNotFound: (id: string) => errors.notFound('privacy policy', id),
  rowNotFound: (id: string) => errors.notFound('row policy', id),
  tagNotFound: (id: string) => errors.notFound('column tag', id),
  tagTaken: (tag: string, column: string) => errors.conflict(`column ${column} carries the tag '${tag}' already`),
  notManager: () =>
    errors.authorization(
      'only organization admins (and keys with the admin scope) may change privacy policies, row policies and column tags',
    ),
  unknownCatalog: (catalog: string) => errors.invalidField('catalog', `the project has no catalog '${catalog}'`),
  unknownTable: (name: string, message: string) => errors.invalidField('table', `${name} cannot be read: ${message}`),
  unknownColumn: (column: string, table: string) => errors.invalidField('column', `${table} has no column '${column}'`),
  wrongMaskType: (problem: string) => errors.invalidField('mask', problem),
  taggedWrongType: (column: string, problem: string) =>
    errors.invalidField('mask', `column ${column} carries the tag: ${problem}`),
  badExpression: (field: 'expression' | 'filter', problem: string) => errors.invalidField(field, problem),
  tagDoesNotSuit: (tag: string, policyId: string, column: string, problem: string) =>
    errors.invalidField('tag', `privacy policy ${policyId} masks tag '${tag}' and cannot mask ${column}: ${problem}`),
  filterNotBoolean: (type: string) =>
    errors.invalidField('filter', `must be a boolean expression; this one is ${type}`),
}
