import { createRoute, z } from '@hono/zod-openapi'
import {
  AcceptInvite,
  CreatedUser,
  CreateUser,
  Id,
  Invitation,
  InviteUser,
  ListQuery,
  listOf,
  Login,
  SessionToken,
  UpdateRole,
  UpdateUser,
  User,
} from '@tributary/contract'

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
import type { UsersService } from './users.service.js'

const tags = ['Users']
const UserParams = z.object({ user_id: Id })

export function userRoutes(users: UsersService) {
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/users',
        tags,
        summary: 'Create a user (admins)',
        description:
          'With a `password` the user is `active` and may sign in at once. Without one the user is `invited`: ' +
          '`/auth/login` answers `401` until a password is set with the response’s one-time `setup_token` at ' +
          '`POST /auth/accept-invite` (`{token, password}`), which works as for `POST /users/invite`.',
        security: bearerSecurity,
        request: { body: jsonBody(CreateUser) },
        responses: {
          201: jsonResponse(CreatedUser, 'The new user, with a `setup_token` when created without a password'),
          ...errorResponses(...WRITE_ERRORS, 409),
        },
      }),
      async (c) => c.json(await users.create(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/users',
        tags,
        summary: 'List the organization’s users',
        security: bearerSecurity,
        request: { query: ListQuery },
        responses: { 200: jsonResponse(listOf(User), 'Users'), ...errorResponses(...AUTHENTICATED_ERRORS) },
      }),
      async (c) => c.json(await users.list(contextOf(c), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/users/me',
        tags,
        summary: 'The signed-in user',
        description: 'Needs a session token from `/auth/login`; an API key gets 403.',
        security: bearerSecurity,
        responses: { 200: jsonResponse(User, 'The signed-in user'), ...errorResponses(401, 403, 429) },
      }),
      async (c) => c.json(await users.me(contextOf(c)), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/users/invite',
        tags,
        summary: 'Invite a user (admins)',
        description:
          'Creates the user as `invited` and returns a one-time `invitation_token` for `/auth/accept-invite`. ' +
          'Delivering it (e-mail, chat) is up to the caller.',
        security: bearerSecurity,
        request: { body: jsonBody(InviteUser) },
        responses: { 201: jsonResponse(Invitation, 'The invitation'), ...errorResponses(...WRITE_ERRORS, 409) },
      }),
      async (c) => c.json(await users.invite(contextOf(c), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/users/{user_id}',
        tags,
        summary: 'Get a user',
        security: bearerSecurity,
        request: { params: UserParams },
        responses: { 200: jsonResponse(User, 'The user'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      }),
      async (c) => c.json(await users.get(contextOf(c), c.req.valid('param').user_id), 200),
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/users/{user_id}',
        tags,
        summary: 'Update a user',
        description: 'Admins change anyone; a user may change their own name and password.',
        security: bearerSecurity,
        request: { params: UserParams, body: jsonBody(UpdateUser) },
        responses: { 200: jsonResponse(User, 'The updated user'), ...errorResponses(...WRITE_ERRORS, 404) },
      }),
      async (c) => c.json(await users.update(contextOf(c), c.req.valid('param').user_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/users/{user_id}',
        tags,
        summary: 'Delete (archive) a user (admins)',
        description: 'Refused with 409 for the organization’s last active admin.',
        security: bearerSecurity,
        request: { params: UserParams },
        responses: { 204: { description: 'Deleted' }, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) },
      }),
      async (c) => {
        await users.archive(contextOf(c), c.req.valid('param').user_id)
        return c.body(null, 204)
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/users/{user_id}/role',
        tags,
        summary: 'Change a user’s role (admins)',
        security: bearerSecurity,
        request: { params: UserParams, body: jsonBody(UpdateRole) },
        responses: { 200: jsonResponse(User, 'The updated user'), ...errorResponses(...WRITE_ERRORS, 404, 409) },
      }),
      async (c) => c.json(await users.setRole(contextOf(c), c.req.valid('param').user_id, c.req.valid('json')), 200),
    )
}

/** Sign-in routes: no credentials needed, rate-limited by client address instead. */
export function authRoutes(users: UsersService) {
  const authTags = ['Auth']
  return createRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/auth/login',
        tags: authTags,
        summary: 'Sign in with e-mail and password',
        description: 'Returns a short-lived session token, used as `Authorization: Bearer <token>`.',
        request: { body: jsonBody(Login) },
        responses: { 200: jsonResponse(SessionToken, 'A session'), ...errorResponses(401, 413, 415, 422, 429) },
      }),
      async (c) => c.json(await users.login(c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/auth/accept-invite',
        tags: authTags,
        summary: 'Accept an invitation and set a password',
        description:
          'Takes the `invitation_token` of `POST /users/invite` or the `setup_token` of a user created without a ' +
          'password; either works once, until it expires.',
        request: { body: jsonBody(AcceptInvite) },
        responses: { 200: jsonResponse(SessionToken, 'A session'), ...errorResponses(401, 413, 415, 422, 429) },
      }),
      async (c) => c.json(await users.acceptInvite(c.get('requestId'), c.req.valid('json')), 200),
    )
}
