import { errors } from '../../lib/errors.js'

export const metadataErrors = {
  unknownCatalog: (catalog: string) => errors.notFound('catalog', catalog),
  unknownSchema: (catalog: string, schema: string) => errors.notFound('schema', `${catalog}.${schema}`),
  unknownTable: (catalog: string, schema: string, table: string) =>
    errors.notFound('table', `${catalog}.${schema}.${table}`),
  unknownColumn: (catalog: string, schema: string, table: string, column: string) =>
    errors.notFound('column', `${catalog}.${schema}.${table}.${column}`),
  badCursor: () => errors.validation('cursor: not a cursor returned by this list', { field: 'cursor' }),
  duplicateColumn: (column: string) =>
    errors.validation(`columns: '${column}' is named twice`, {
      issues: [{ location: 'body', field: 'columns', message: `'${column}' is named twice` }],
    }),
}
