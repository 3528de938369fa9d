import { AppError } from '../../lib/errors.js'

export const quotaErrors = {
  exceeded: (period: 'daily' | 'monthly', limit: number, used: number, resetsAt: Date) =>
    new AppError(
      'quota_exceeded',
      `the organization's ${period} query quota (${limit}) is spent (${round(used)} used); ` +
        `it renews at ${resetsAt.toISOString()}, or an organization admin can raise it (PUT /api/v1/query-quota)`,
      { period, limit, used, resets_at: resetsAt.toISOString() },
    ),
}

/** Costs are sums of small fractions: shown to a millionth, as a person reads them. */
const round = (value: number) => Math.round(value * 1e6) / 1e6
