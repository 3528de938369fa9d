import { AppError, errors } from '../../lib/errors.js'

const field = (name: string, message: string) => ({ issues: [{ location: 'body', field: name, message }] })

export const importErrors = {
  extraColumns: (names: string[]) =>
    errors.validation(
      `the file has columns the table does not: ${names.join(', ')}; add them to the table or set ignore_extra_columns=true`,
      { extra_columns: names },
    ),
  missingRequired: (names: string[]) =>
    errors.validation(`the file lacks NOT NULL columns of the table: ${names.join(', ')}`, { missing_columns: names }),
  notWhatItSays: (message: string) => errors.validation(`file: ${message}`, field('file', message)),
  noFile: () => errors.validation("file: is required (a multipart field named 'file')", field('file', 'is required')),
  uploadTooLarge: (limit: number) =>
    new AppError('payload_too_large', `the upload exceeds the limit of ${limit} bytes`, { limit_bytes: limit }),
}
