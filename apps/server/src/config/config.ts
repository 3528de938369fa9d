import path from 'node:path'

import { z } from 'zod'

import { parseAllowList } from '../lib/outbound/address-policy.js'

const port = z.coerce.number().int().min(0).max(65535)
const positiveInt = z.coerce.number().int().positive()

/** Every setting the server reads, with its default. Nothing else reads `process.env`. */
const ConfigSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  TRIBUTARY_DATA_DIR: z.string().min(1).default('./.tributary'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_POOL_SIZE: positiveInt.default(10),
  // The prefix is how a bearer token is recognised as a key rather than a session.
  TRIBUTARY_ADMIN_KEY: z
    .string()
    .startsWith('trb_', "must start with 'trb_'")
    .min(24, 'must be at least 24 characters')
    .optional(),
  TRIBUTARY_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRIBUTARY_RATE_LIMIT_PER_MINUTE: positiveInt.default(600),
  TRIBUTARY_BODY_LIMIT_BYTES: positiveInt.default(10 * 1024 * 1024),
  TRIBUTARY_SESSION_TTL_SECONDS: positiveInt.default(3600),
  TRIBUTARY_INVITE_TTL_HOURS: positiveInt.default(168),
  TRIBUTARY_AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
  TRIBUTARY_SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  TRIBUTARY_FILE_ROOTS: z.string().optional(),
  TRIBUTARY_CONNECT_TIMEOUT_MS: positiveInt.default(10_000),
  TRIBUTARY_QUERY_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'must be a size such as 2GB')
    .default('2GB'),
  TRIBUTARY_QUERY_THREADS: positiveInt.default(2),
  TRIBUTARY_EXPORT_LINK_TTL_SECONDS: positiveInt.default(3600),
  // Behind a proxy the request's own host is not the one clients reach: links are built on this.
  TRIBUTARY_PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment')
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  TRIBUTARY_UPLOAD_LIMIT_BYTES: positiveInt.default(1024 * 1024 * 1024),
  TRIBUTARY_RESULT_RETENTION_HOURS: z.coerce.number().int().min(0).default(168),
  // What a query costs (in the currency quotas are set in): per TB read from sources and per CPU-second.
  TRIBUTARY_PRICE_PER_TB_SCANNED: z.coerce.number().finite().min(0).default(0),
  TRIBUTARY_PRICE_PER_CPU_SECOND: z.coerce.number().finite().min(0).default(0),
  // How long a cross-organization approval request waits for the other organization before it expires.
  TRIBUTARY_APPROVAL_EXPIRY_DAYS: positiveInt.default(15),
  TRIBUTARY_JOB_CONCURRENCY: positiveInt.default(2),
  TRIBUTARY_JOB_POLL_INTERVAL_MS: positiveInt.default(1_000),
  TRIBUTARY_JOB_LEASE_MS: z.coerce.number().int().min(1_000).default(30_000),
  TRIBUTARY_JOB_RETRY_DELAY_MS: positiveInt.default(1_000),
  TRIBUTARY_JOB_QUEUE: z.string().min(1).max(500).optional(),
  // The instance's language model; organizations may choose their own. Unset: questions are answered offline.
  TRIBUTARY_AI_PROVIDER: z.enum(['openai', 'anthropic', 'openai-compatible']).optional(),
  TRIBUTARY_AI_MODEL: z.string().min(1).max(200).optional(),
  TRIBUTARY_AI_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  TRIBUTARY_AI_API_KEY: z.string().min(1).optional(),
  TRIBUTARY_AI_EMBEDDING_MODEL: z.string().min(1).max(200).optional(),
  TRIBUTARY_AI_TIMEOUT_MS: positiveInt.default(60_000),
  // Private, loopback and link-local targets of outbound calls (agents) the operator allows.
  TRIBUTARY_OUTBOUND_ALLOW: z
    .string()
    .transform((list) =>
      list
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .superRefine((entries, ctx) => {
      try {
        parseAllowList(entries)
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message })
      }
    })
    .optional(),
  TRIBUTARY_AGENT_TIMEOUT_MS: positiveInt.default(30_000),
  TRIBUTARY_AGENT_MAX_TIMEOUT_MS: positiveInt.default(300_000),
  // Workflow e-mail actions: smtp://user:pass@host:port (STARTTLS when offered) or smtps://… (TLS).
  TRIBUTARY_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  TRIBUTARY_SMTP_FROM: z.string().min(3).max(320).default('Tributary <tributary@localhost>'),
  TRIBUTARY_OUTBOUND_TIMEOUT_MS: positiveInt.default(10_000),
  TRIBUTARY_AGENT_AUDIT_PAYLOADS: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .transform((value) => value === 'true' || value === '1')
    .default(false),
})

export interface Config {
  port: number
  host: string
  dataDir: string
  databaseUrl: string | undefined
  databasePoolSize: number
  adminKey: string | undefined
  secretKey: string | undefined
  logLevel: z.infer<typeof ConfigSchema>['LOG_LEVEL']
  rateLimitPerMinute: number
  bodyLimitBytes: number
  /** What queries cost: per TB scanned and per CPU-second, in the currency quotas are set in. */
  queryPrices: { perTbScanned: number; perCpuSecond: number }
  /** Days a pending cross-organization approval request waits before it expires. */
  approvalExpiryDays: number
  sessionTtlSeconds: number
  inviteTtlHours: number
  authCacheTtlMs: number
  shutdownTimeoutMs: number
  /** Directories that SQLite and file connections may read from: `<data dir>/files` plus the operator's list. */
  fileRoots: readonly string[]
  connectTimeoutMs: number
  /** DuckDB's memory limit and threads for one query. */
  queryMemoryLimit: string
  queryThreads: number
  /** How long a signed export download link works. */
  exportLinkTtlSeconds: number
  /** How long query-job results and export files are kept after their job ended; 0 keeps them. */
  resultRetentionHours: number
  /** The server's address as clients reach it (without a trailing slash), when it differs from the request's. */
  publicUrl: string | undefined
  /** Largest file an import may upload. */
  uploadLimitBytes: number
  /** The job queue: jobs run at once per process, poll interval, lease, first retry delay. */
  jobConcurrency: number
  jobPollIntervalMs: number
  jobLeaseMs: number
  jobRetryDelayMs: number
  /** Processes with the same queue name share jobs; by default those with the same data directory. */
  jobQueue: string
  ai: AiConfig
  /** Entries of TRIBUTARY_OUTBOUND_ALLOW: internal ranges, CIDRs or hosts outbound calls may reach. */
  outboundAllow: readonly string[]
  agents: AgentsConfig
  /** Where workflow e-mail actions are sent from; without a URL, e-mail actions fail with a clear message. */
  smtp: { url: string | undefined; from: string }
  /** How long one webhook request (event delivery or workflow action) may take. */
  outboundTimeoutMs: number
}

/** The agent gateway. */
export interface AgentsConfig {
  /** How long one call of an agent may take unless the call asks for less (or more, up to the maximum). */
  timeoutMs: number
  maxTimeoutMs: number
  /** Whether the audit entry of a gateway call holds what was sent and answered (off: who, which agent, how long, status). */
  auditPayloads: boolean
}

/** The instance's language model, used by organizations that did not choose their own. */
export interface AiConfig {
  /** Unset: no language model, questions are answered by the offline engine. */
  provider: 'openai' | 'anthropic' | 'openai-compatible' | undefined
  model: string | undefined
  baseUrl: string | undefined
  apiKey: string | undefined
  embeddingModel: string | undefined
  /** How long one call of a model may take, organizations' models included. */
  timeoutMs: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Validates the environment once at boot; a bad value stops the server with every problem named. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''))
  const parsed = ConfigSchema.safeParse(present)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  const e = parsed.data
  const dataDir = path.resolve(e.TRIBUTARY_DATA_DIR)
  const operatorRoots = (e.TRIBUTARY_FILE_ROOTS ?? '')
    .split(path.delimiter)
    .map((root) => root.trim())
    .filter(Boolean)
  const relative = operatorRoots.find((root) => !path.isAbsolute(root))
  if (relative)
    throw new ConfigError(`invalid configuration:\n  TRIBUTARY_FILE_ROOTS: '${relative}' is not an absolute path`)
  const aiProblems = aiConfigProblems(e)
  if (aiProblems.length > 0) throw new ConfigError(`invalid configuration:\n  ${aiProblems.join('\n  ')}`)
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    adminKey: e.TRIBUTARY_ADMIN_KEY,
    secretKey: e.TRIBUTARY_SECRET_KEY,
    logLevel: e.LOG_LEVEL,
    rateLimitPerMinute: e.TRIBUTARY_RATE_LIMIT_PER_MINUTE,
    bodyLimitBytes: e.TRIBUTARY_BODY_LIMIT_BYTES,
    queryPrices: Object.freeze({
      perTbScanned: e.TRIBUTARY_PRICE_PER_TB_SCANNED,
      perCpuSecond: e.TRIBUTARY_PRICE_PER_CPU_SECOND,
    }),
    approvalExpiryDays: e.TRIBUTARY_APPROVAL_EXPIRY_DAYS,
    sessionTtlSeconds: e.TRIBUTARY_SESSION_TTL_SECONDS,
    inviteTtlHours: e.TRIBUTARY_INVITE_TTL_HOURS,
    authCacheTtlMs: e.TRIBUTARY_AUTH_CACHE_TTL_MS,
    shutdownTimeoutMs: e.TRIBUTARY_SHUTDOWN_TIMEOUT_MS,
    fileRoots: Object.freeze([path.join(dataDir, 'files'), ...operatorRoots.map((root) => path.resolve(root))]),
    connectTimeoutMs: e.TRIBUTARY_CONNECT_TIMEOUT_MS,
    queryMemoryLimit: e.TRIBUTARY_QUERY_MEMORY_LIMIT,
    queryThreads: e.TRIBUTARY_QUERY_THREADS,
    exportLinkTtlSeconds: e.TRIBUTARY_EXPORT_LINK_TTL_SECONDS,
    publicUrl: e.TRIBUTARY_PUBLIC_URL,
    resultRetentionHours: e.TRIBUTARY_RESULT_RETENTION_HOURS,
    uploadLimitBytes: e.TRIBUTARY_UPLOAD_LIMIT_BYTES,
    jobConcurrency: e.TRIBUTARY_JOB_CONCURRENCY,
    jobPollIntervalMs: e.TRIBUTARY_JOB_POLL_INTERVAL_MS,
    jobLeaseMs: e.TRIBUTARY_JOB_LEASE_MS,
    jobRetryDelayMs: e.TRIBUTARY_JOB_RETRY_DELAY_MS,
    jobQueue: e.TRIBUTARY_JOB_QUEUE ?? dataDir,
    ai: Object.freeze({
      provider: e.TRIBUTARY_AI_PROVIDER,
      model: e.TRIBUTARY_AI_MODEL,
      baseUrl: e.TRIBUTARY_AI_BASE_URL,
      apiKey: e.TRIBUTARY_AI_API_KEY,
      embeddingModel: e.TRIBUTARY_AI_EMBEDDING_MODEL,
      timeoutMs: e.TRIBUTARY_AI_TIMEOUT_MS,
    }),
    outboundAllow: Object.freeze(e.TRIBUTARY_OUTBOUND_ALLOW ?? []),
    agents: Object.freeze({
      timeoutMs: Math.min(e.TRIBUTARY_AGENT_TIMEOUT_MS, e.TRIBUTARY_AGENT_MAX_TIMEOUT_MS),
      maxTimeoutMs: e.TRIBUTARY_AGENT_MAX_TIMEOUT_MS,
      auditPayloads: e.TRIBUTARY_AGENT_AUDIT_PAYLOADS,
    }),
    smtp: Object.freeze({ url: e.TRIBUTARY_SMTP_URL, from: e.TRIBUTARY_SMTP_FROM }),
    outboundTimeoutMs: e.TRIBUTARY_OUTBOUND_TIMEOUT_MS,
  })
}

/**
 * The AI settings that only make sense together. OpenAI and Anthropic need the key here: the SDKs
 * would otherwise read it from their own variables, which this server does not.
 */
function aiConfigProblems(e: z.infer<typeof ConfigSchema>): string[] {
  const provider = e.TRIBUTARY_AI_PROVIDER
  if (!provider) {
    const stray = (
      ['TRIBUTARY_AI_MODEL', 'TRIBUTARY_AI_BASE_URL', 'TRIBUTARY_AI_API_KEY', 'TRIBUTARY_AI_EMBEDDING_MODEL'] as const
    ).filter((name) => e[name] !== undefined)
    return stray.map((name) => `${name}: needs TRIBUTARY_AI_PROVIDER (openai, anthropic or openai-compatible)`)
  }
  const problems: string[] = []
  if (!e.TRIBUTARY_AI_MODEL) problems.push(`TRIBUTARY_AI_MODEL: is required with TRIBUTARY_AI_PROVIDER=${provider}`)
  if (provider === 'openai-compatible' && !e.TRIBUTARY_AI_BASE_URL) {
    problems.push('TRIBUTARY_AI_BASE_URL: is required with TRIBUTARY_AI_PROVIDER=openai-compatible')
  }
  if (provider !== 'openai-compatible' && !e.TRIBUTARY_AI_API_KEY) {
    problems.push(`TRIBUTARY_AI_API_KEY: is required with TRIBUTARY_AI_PROVIDER=${provider}`)
  }
  if (provider === 'anthropic' && e.TRIBUTARY_AI_EMBEDDING_MODEL) {
    problems.push('TRIBUTARY_AI_EMBEDDING_MODEL: Anthropic has no embedding models; leave it unset')
  }
  return problems
}
