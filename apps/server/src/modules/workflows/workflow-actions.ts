import type { ActionAttempt, EmailAction, WebhookAction, WorkflowActionResult } from '@tributary/contract'
import { setTimeout as sleep } from 'node:timers/promises'

import { stringify } from 'csv-stringify/sync'
import nodemailer from 'nodemailer'

import type { OutboundClient } from '../../lib/outbound/guarded-fetch.js'
import { isRetryable, sendOutbound } from '../../lib/outbound/signed-request.js'
import type { StepData, TemplateScope } from './workflow-definition.js'
import { compileEmail, compileWebhook } from './workflow-definition.js'

/** Longest wait between two attempts of a webhook, however many came before. */
const MAX_BACKOFF_MS = 60_000
/** How much of an SMTP server's answer is kept with an attempt. */
const KEPT_REPLY_CHARS = 2_000

/** A webhook request as it would be sent, before signing and credentials. */
export interface RenderedWebhook {
  method: WebhookAction['method']
  url: string
  headers: Record<string, string>
  body: string
}

export function renderWebhook(action: WebhookAction, scope: TemplateScope): RenderedWebhook {
  const templates = compileWebhook(action)
  const headers = Object.fromEntries(
    Object.entries(templates.headers).map(([name, template]) => [name, template.render(scope)]),
  )
  // A run restarted after a shutdown may send an action again: these let the receiver drop repeats.
  headers['x-tributary-workflow-id'] = scope.workflow.id
  if (scope.run.id !== null) headers['x-tributary-run-id'] = scope.run.id
  return { method: action.method, url: action.url, headers, body: JSON.stringify(templates.body.render(scope)) }
}

export interface WebhookDelivery {
  client: OutboundClient
  signingSecret: string
  /** Outbound credential headers for the URL's origin, opened for this delivery only. */
  credentials: { origin: string; headers: Record<string, string> } | undefined
  timeoutMs: number
  /** First wait between attempts; each later one doubles it. */
  retryDelayMs: number
  signal: AbortSignal
}

/**
 * Sends until the target accepts, refuses for good (a 4xx, the address policy) or the retries are
 * used up, waiting twice as long after each failure. Every attempt is kept.
 */
export async function deliverWebhook(
  index: number,
  request: RenderedWebhook,
  retries: number,
  delivery: WebhookDelivery,
): Promise<WorkflowActionResult> {
  const attempts: ActionAttempt[] = []
  for (let attempt = 0; ; attempt += 1) {
    const sent = await sendOutbound(delivery.client, {
      ...request,
      signingSecret: delivery.signingSecret,
      ...(delivery.credentials ? { credentials: delivery.credentials } : {}),
      timeoutMs: delivery.timeoutMs,
      signal: delivery.signal,
    })
    attempts.push(sent)
    if (sent.ok) return { index, type: 'webhook', status: 'succeeded', error: null, attempts }
    if (attempt >= retries || !isRetryable(sent)) {
      return { index, type: 'webhook', status: 'failed', error: sent.error, attempts }
    }
    await sleep(Math.min(delivery.retryDelayMs * 2 ** attempt, MAX_BACKOFF_MS), undefined, { signal: delivery.signal })
  }
}

/** An e-mail as it would be sent. */
export interface RenderedEmail {
  from: string
  to: string[]
  cc: string[]
  subject: string
  body: string
  attachment: { filename: string; content: string; rows: number } | null
}

export function renderEmail(action: EmailAction, scope: TemplateScope, from: string): RenderedEmail {
  const templates = compileEmail(action)
  const attached = action.attach_csv === false ? undefined : (action.attach_csv ?? lastStep(scope.steps))
  const step = attached === undefined ? undefined : scope.steps[attached]
  return {
    from,
    to: action.to,
    cc: action.cc ?? [],
    // A header cannot hold a line break: a template that renders one must not add headers.
    subject: templates.subject.render(scope).replace(/[\r\n]+/g, ' '),
    body: templates.body.render(scope),
    attachment:
      attached === undefined || !step
        ? null
        : { filename: `${attached}.csv`, content: toCsv(step), rows: step.rows.length },
  }
}

/** The step's rows (those the run kept) as CSV with a header line; nested values as JSON. */
function toCsv(step: StepData): string {
  return stringify(
    step.rows.map((row) => step.columns.map((column) => row[column])),
    {
      header: true,
      columns: step.columns,
      cast: { object: (value) => JSON.stringify(value), boolean: (value) => String(value) },
    },
  )
}

export interface SmtpSettings {
  url: string | undefined
  timeoutMs: number
}

export const NO_SMTP = 'e-mail is not configured on this server (TRIBUTARY_SMTP_URL is not set)'

/**
 * Sends one e-mail through the configured SMTP server. A refusal (a rejected recipient, a server
 * that will not take the message) fails the action with the server's own words.
 */
export async function deliverEmail(
  index: number,
  email: RenderedEmail,
  smtp: SmtpSettings,
): Promise<WorkflowActionResult> {
  const at = new Date().toISOString()
  const started = performance.now()
  const attempt = (ok: boolean, response: string, error: string | null): WorkflowActionResult => {
    const duration = Math.round((performance.now() - started) * 100) / 100
    const code = /^(\d{3})/.exec(response)?.[1]
    const kept: ActionAttempt = {
      status: code ? Number(code) : null,
      ok,
      response: response.slice(0, KEPT_REPLY_CHARS),
      error,
      duration_ms: duration,
      at,
    }
    return { index, type: 'email', status: ok ? 'succeeded' : 'failed', error, attempts: [kept] }
  }
  if (!smtp.url) return attempt(false, '', NO_SMTP)
  const transport = nodemailer.createTransport(smtp.url, {
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
  })
  try {
    const info = await transport.sendMail({
      from: email.from,
      to: email.to,
      ...(email.cc.length > 0 ? { cc: email.cc } : {}),
      subject: email.subject,
      text: email.body,
      ...(email.attachment
        ? {
            attachments: [
              { filename: email.attachment.filename, content: email.attachment.content, contentType: 'text/csv' },
            ],
          }
        : {}),
    })
    const rejected = (info.rejected ?? []).map(String)
    if (rejected.length > 0) {
      const reasons = ((info as { rejectedErrors?: Error[] }).rejectedErrors ?? [])
        .map((error) => error.message)
        .join('; ')
      return attempt(false, info.response, `refused for ${rejected.join(', ')}: ${reasons || info.response}`)
    }
    return attempt(true, info.response, null)
  } catch (error) {
    const { message, response } = error as Error & { response?: string }
    return attempt(false, response ?? '', message)
  } finally {
    transport.close()
  }
}

function lastStep(steps: Readonly<Record<string, StepData>>): string | undefined {
  return Object.keys(steps).at(-1)
}
