import { z } from 'zod'

import { Description, Id, Name, Timestamp } from './common.js'

const atLeastOneField = (body: object) => Object.keys(body).length > 0
const atLeastOneFieldMessage = { message: 'provide at least one field to change' }

export const Organization = z
  .object({
    id: Id,
    name: z.string(),
    description: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Organization' })
export type Organization = z.infer<typeof Organization>

export const CreateOrganization = z
  .strictObject({ name: Name, description: Description.optional() })
  .meta({ id: 'CreateOrganization' })
export type CreateOrganization = z.infer<typeof CreateOrganization>

export const UpdateOrganization = z
  .strictObject({ name: Name.optional(), description: Description.nullable().optional() })
  .refine(atLeastOneField, atLeastOneFieldMessage)
  .meta({ id: 'UpdateOrganization' })
export type UpdateOrganization = z.infer<typeof UpdateOrganization>

export const Workspace = z
  .object({
    id: Id,
    organization_id: Id,
    name: z.string(),
    description: z.string().nullable(),
    is_default: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Workspace' })
export type Workspace = z.infer<typeof Workspace>

export const CreateWorkspace = z
  .strictObject({ name: Name, description: Description.optional() })
  .meta({ id: 'CreateWorkspace' })
export type CreateWorkspace = z.infer<typeof CreateWorkspace>

export const UpdateWorkspace = z
  .strictObject({ name: Name.optional(), description: Description.nullable().optional() })
  .refine(atLeastOneField, atLeastOneFieldMessage)
  .meta({ id: 'UpdateWorkspace' })
export type UpdateWorkspace = z.infer<typeof UpdateWorkspace>

export const Project = z
  .object({
    id: Id,
    organization_id: Id,
    workspace_id: Id,
    name: z.string(),
    description: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Project' })
export type Project = z.infer<typeof Project>

export const CreateProject = z
  .strictObject({ name: Name, description: Description.optional(), workspace_id: Id.optional() })
  .meta({ id: 'CreateProject' })
export type CreateProject = z.infer<typeof CreateProject>

export const UpdateProject = z
  .strictObject({
    name: Name.optional(),
    description: Description.nullable().optional(),
    workspace_id: Id.optional(),
  })
  .refine(atLeastOneField, atLeastOneFieldMessage)
  .meta({ id: 'UpdateProject' })
export type UpdateProject = z.infer<typeof UpdateProject>
