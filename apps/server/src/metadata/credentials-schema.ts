// The metadata tables of the credentials module (issue 14), part of `Database` in schema.ts.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CredentialsTables {}
