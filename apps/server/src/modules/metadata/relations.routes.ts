import { createRoute, z } from '@hono/zod-openapi'
import { CreateRelation, Id, listOf, MetadataRelation, RelationListQuery, UpdateRelation } from '@tributary/contract'

import {
  AUTHENTICATED_ERRORS,
  bearerSecurity,
  contextOf,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  WRITE_ERRORS,
} from '../../http/router.js'
import type { RelationsService } from './relations.service.js'

const tags = ['Metadata']
const ProjectParams = z.object({ project_id: Id })
const RelationParams = ProjectParams.extend({ relation_id: Id })

/**
 * `/metadata/relations…`. Mount before the metadata routes: `PUT /metadata/relations/{relation_id}` would
 * otherwise be taken for `PUT /metadata/{catalog}/{schema}`.
 */
export function relationRoutes(relations: RelationsService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/metadata/relations',
        tags,
        summary: 'List relations between tables',
        description:
          'Relations are read from `from` (the referencing side) to `to`. Foreign keys are detected on a metadata ' +
          'refresh (MANY_TO_ONE from the table holding the key; ONE_TO_ONE when the key is also its primary key), ' +
          'cross-source ones inferred by name and value overlap with a `confidence`, and manual ones added here. ' +
          '`catalog` keeps relations with either side in that catalog.',
        security: bearerSecurity,
        request: { params: ProjectParams, query: RelationListQuery },
        responses: {
          200: jsonResponse(listOf(MetadataRelation), 'Relations'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) =>
        c.json(await relations.list(contextOf(c), c.req.valid('param').project_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/projects/{project_id}/metadata/relations',
        tags,
        summary: 'Add a relation',
        description:
          'Both tables and every column must exist (404 naming what does not); paired columns must have compatible ' +
          'types (numbers of any width, text, dates and timestamps relate among themselves; 422 otherwise). Adding ' +
          'a detected relation that was deleted brings it back as a manual one.',
        security: bearerSecurity,
        request: { params: ProjectParams, body: jsonBody(CreateRelation) },
        responses: {
          201: jsonResponse(MetadataRelation, 'The relation'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) =>
        c.json(await relations.create(contextOf(c), c.req.valid('param').project_id, c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/projects/{project_id}/metadata/relations/{relation_id}',
        tags,
        summary: 'Get a relation',
        security: bearerSecurity,
        request: { params: RelationParams },
        responses: {
          200: jsonResponse(MetadataRelation, 'The relation'),
          ...errorResponses(...AUTHENTICATED_ERRORS, 404),
        },
      }),
      async (c) => {
        const { project_id, relation_id } = c.req.valid('param')
        return c.json(await relations.get(contextOf(c), project_id, relation_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/projects/{project_id}/metadata/relations/{relation_id}',
        tags,
        summary: 'Change a relation',
        description:
          'Changes its type, columns or description; what is omitted is kept. An edited detected relation becomes ' +
          '`manual`, so a refresh keeps the edit.',
        security: bearerSecurity,
        request: { params: RelationParams, body: jsonBody(UpdateRelation) },
        responses: {
          200: jsonResponse(MetadataRelation, 'The changed relation'),
          ...errorResponses(...WRITE_ERRORS, 404, 409),
        },
      }),
      async (c) => {
        const { project_id, relation_id } = c.req.valid('param')
        return c.json(await relations.update(contextOf(c), project_id, relation_id, c.req.valid('json')), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/projects/{project_id}/metadata/relations/{relation_id}',
        tags,
        summary: 'Delete a relation',
        description: 'A detected relation stays deleted: later refreshes do not bring it back.',
        security: bearerSecurity,
        request: { params: RelationParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => {
        const { project_id, relation_id } = c.req.valid('param')
        await relations.delete(contextOf(c), project_id, relation_id)
        return c.body(null, 204)
      },
    )
}
