export * from './errors.js'
export * from './schemas/access.js'
export * from './schemas/common.js'
export * from './schemas/tenancy.js'
