import { errors } from '../../lib/errors.js'

export const userErrors = {
  emailTaken: (email: string) => errors.conflict(`a user with e-mail ${email} already exists`),
  lastAdmin: () => errors.conflict('the organization needs at least one active admin; promote another user first'),
  invalidCredentials: () => errors.authentication('e-mail or password is wrong'),
  invalidInvitation: () => errors.authentication('the invitation token is invalid, used or expired'),
  notAUser: () =>
    errors.authorization('/users/me describes a signed-in user; this request is authenticated with an API key'),
}
