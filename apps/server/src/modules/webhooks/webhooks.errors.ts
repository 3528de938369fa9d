import { AppError, errors } from '../../lib/errors.js'
import type { OutboundAttempt } from '../../lib/outbound/signed-request.js'

export const webhookErrors = {
  projectKeyScope: () => errors.authorization('a project key manages only the webhooks of its own project'),
  /**
   * Thrown by a delivery job to have the queue try again later: a 5xx status, so the queue treats it as
   * transient and backs off.
   */
  retry: (attempt: OutboundAttempt) =>
    new AppError('connection_error', `webhook delivery failed: ${attempt.error ?? 'no answer'}; retrying`, {
      status_code: attempt.status,
    }),
}
