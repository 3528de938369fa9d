// The metadata tables of the workflows module (issue 14), part of `Database` in schema.ts.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface WorkflowsTables {}
