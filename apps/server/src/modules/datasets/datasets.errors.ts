import { errors } from '../../lib/errors.js'

const field = (name: string, message: string) => ({ issues: [{ location: 'body', field: name, message }] })

export const datasetErrors = {
  datasetNameTaken: (name: string) =>
    errors.conflict(`a dataset named '${name}' already exists in this project; choose another "name"`),
  tableNameTaken: (name: string) =>
    errors.conflict(`a table named '${name}' already exists in this dataset; choose another "name"`),
  unknownType: (path: string, type: string) =>
    errors.validation(
      `${path}: '${type}' is not a DuckDB column type (e.g. BIGINT, VARCHAR, DECIMAL(18,2), TIMESTAMPTZ, JSON)`,
      field(path, 'unknown type'),
    ),
  duplicateColumn: (path: string, name: string) =>
    errors.validation(`${path}: column '${name}' appears twice (names are case-insensitive)`, field(path, 'duplicate')),
  columnNotFound: (name: string) => errors.notFound('column', name),
  lastColumn: () => errors.validation('a table needs at least one column: add another before dropping this one'),
  notNullWithRows: (name: string) =>
    errors.validation(
      `column '${name}' cannot be NOT NULL: the table has rows and they have no value for it; ` +
        'add it as nullable, fill it, then make it NOT NULL',
      field('nullable', 'the table has rows'),
    ),
  /** A retype or NOT NULL that a stored value does not allow. */
  rewriteRefused: (message: string, column: string, sample: string | null) =>
    errors.validation(message, { column, sample_value: sample }),
  /** Someone else changed the table between our read and our switch. */
  concurrentChange: () => errors.conflict('the table was changed by another import or column change meanwhile; retry'),
}
