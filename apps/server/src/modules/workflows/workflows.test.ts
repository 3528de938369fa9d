import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

import {
  API,
  createOrganization,
  createProject,
  describeEachStore,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js'
import type { PublishedEvent } from '../../events/event-publisher.js'
import { verifySignature } from '../../lib/outbound/signed-request.js'

const CHINOOK_SQLITE = path.resolve(import.meta.dirname, '../../../test/fixtures/chinook/Chinook_Sqlite.sqlite')

/** Invoice totals of Chinook's three best countries: USA 523.06, Canada 303.96, France 195.10. */
const TOP_COUNTRIES =
  'select BillingCountry as country, sum(Total) as total from chinook.main.Invoice ' +
  'group by BillingCountry order by total desc limit 3'

interface Received {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

/**
 * Workflows over Chinook (SQLite) with real peers on 127.0.0.1: an HTTP server that receives
 * webhooks (and answers 500 on `/fail`), and an SMTP server that takes mail (and refuses any
 * recipient at `refuse.example`). Schedules run by moving the scheduler's clock.
 */
describeEachStore('workflows', (kind) => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-workflows-'))
  let app: TestApp
  let orgKey: string
  let projectId: string
  let http: Server
  let hookUrl: string
  let smtp: SMTPServer
  const received: Received[] = []
  const mails: ParsedMail[] = []
  const base = () => `${API}/projects/${projectId}/workflows`

  beforeAll(async () => {
    copyFileSync(CHINOOK_SQLITE, path.join(root, 'chinook.sqlite'))
    http = createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        received.push({ method: request.method!, url: request.url!, headers: request.headers, body })
        // Answers long after any run's time limit in these tests.
        if (request.url === '/slow') {
          setTimeout(() => response.end('late'), 5_000).unref()
          return
        }
        response.writeHead(request.url === '/fail' ? 500 : 200, { 'content-type': 'text/plain' })
        response.end(request.url === '/fail' ? 'broken on purpose' : 'thanks')
      })
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    hookUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (address.address.endsWith('@refuse.example')) {
          const refusal = Object.assign(new Error('mailbox unavailable: no such user here'), { responseCode: 550 })
          callback(refusal)
          return
        }
        callback()
      },
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((mail) => {
            mails.push(mail)
            callback()
          })
          .catch(callback)
      },
    })
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve))
    const smtpPort = (smtp.server.address() as AddressInfo).port
    app = await startTestApp(kind, {
      env: {
        TRIBUTARY_FILE_ROOTS: root,
        TRIBUTARY_OUTBOUND_ALLOW: 'loopback',
        TRIBUTARY_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        TRIBUTARY_SMTP_FROM: 'Tributary <alerts@tributary.test>',
        TRIBUTARY_JOB_RETRY_DELAY_MS: '20',
        TRIBUTARY_JOB_POLL_INTERVAL_MS: '50',
      },
    })
    orgKey = (await createOrganization(app, 'Workflows')).orgKey
    projectId = (await createProject(app, orgKey, 'Alerts')).id
    const connection = await app.request('POST', `${API}/projects/${projectId}/connections`, {
      key: orgKey,
      body: { name: 'chinook', type: 'sqlite', config: { path: 'chinook.sqlite' } },
    })
    expect(connection.status, JSON.stringify(connection.body)).toBe(201)
  })

  afterAll(async () => {
    await app?.close()
    http?.closeAllConnections()
    await new Promise((resolve) => http?.close(resolve))
    await new Promise<void>((resolve) => smtp?.close(() => resolve()))
    rmSync(root, { recursive: true, force: true })
  })

  beforeEach(() => {
    received.length = 0
    mails.length = 0
  })

  let names = 0
  const create = async (body: Record<string, unknown>) => {
    names += 1
    const created = await app.request('POST', base(), { key: orgKey, body: { name: `workflow ${names}`, ...body } })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body as { id: string; revision: number; signing_secret: string; next_run_at: string | null }
  }

  /** Waits for the run to end and returns it. */
  const settle = async (workflowId: string, runId: string) => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const run = await app.request('GET', `${base()}/${workflowId}/runs/${runId}`, { key: orgKey })
      expect(run.status, JSON.stringify(run.body)).toBe(200)
      if (!['pending', 'running'].includes(run.body.status)) return run.body
      if (Date.now() > deadline) throw new Error(`run ${runId} did not end: ${JSON.stringify(run.body)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  const runNow = async (workflowId: string) => {
    const started = await app.request('POST', `${base()}/${workflowId}/run`, { key: orgKey })
    expect(started.status, JSON.stringify(started.body)).toBe(202)
    expect(started.body).toMatchObject({ status: 'pending', trigger: 'manual', workflow_id: workflowId })
    return settle(workflowId, started.body.id)
  }

  it('acts when the condition holds: a signed webhook, a retried failing one, an e-mail with the CSV, a refused one', async () => {
    const workflow = await create({
      steps: [
        { name: 'top', sql: TOP_COUNTRIES, condition: 'steps.top.rows[0].total > 500' },
        { name: 'invoices', sql: 'select count(*) as n from chinook.main.Invoice', stop_if_empty: true },
      ],
      actions: [
        {
          type: 'webhook',
          url: `${hookUrl}/hook`,
          headers: { 'x-run': '{{run.id}}' },
          body: {
            best: '{{steps.top.rows[0].country}}',
            rows: '{{steps.top.rows}}',
            count: '{{steps.invoices.rows[0].n}}',
          },
        },
        { type: 'webhook', url: `${hookUrl}/fail`, retries: 2 },
        {
          type: 'email',
          to: ['ops@example.com'],
          cc: ['boss@example.com'],
          subject: 'Best country: {{steps.top.rows[0].country}}',
          body: '{{steps.invoices.rows[0].n}} invoices in all',
          attach_csv: 'top',
        },
        { type: 'email', to: ['nobody@refuse.example'], subject: 'never', body: 'never' },
      ],
    })
    expect(workflow.revision).toBe(1)
    expect(workflow.signing_secret).toMatch(/^wfsec_/)

    const events: PublishedEvent[] = []
    app.tributary.platform.events.subscribe(async (_trx, event) => {
      events.push(event)
    })
    const run = await runNow(workflow.id)
    expect(run.status, JSON.stringify(run)).toBe('partial_success')
    // Published with the run's end, in the same transaction.
    expect(events.filter((event) => event.type === 'workflow.run.completed')).toMatchObject([
      { projectId, data: { workflow_id: workflow.id, run_id: run.id, status: 'partial_success' } },
    ])
    expect(run.error).toBeNull()
    expect(run.steps).toMatchObject([
      { name: 'top', row_count: 3, error: null, condition_value: true, columns: ['country', 'total'] },
      { name: 'invoices', row_count: 1, error: null },
    ])
    expect(run.steps[0].rows[0]).toMatchObject({ country: 'USA' })
    expect(run.steps[0].duration_ms).toEqual(expect.any(Number))

    const [hook, fail, mail, refused] = run.actions
    expect(hook).toMatchObject({ index: 0, type: 'webhook', status: 'succeeded', error: null })
    expect(hook.attempts).toMatchObject([{ status: 200, ok: true, response: 'thanks' }])
    // Retried twice after the first 500, each attempt kept.
    expect(fail).toMatchObject({ index: 1, status: 'failed', error: 'the target answered HTTP 500' })
    expect(fail.attempts.map((attempt: { status: number }) => attempt.status)).toEqual([500, 500, 500])
    expect(fail.attempts[0].response).toBe('broken on purpose')
    expect(mail).toMatchObject({ index: 2, type: 'email', status: 'succeeded', error: null })
    expect(mail.attempts[0]).toMatchObject({ ok: true, status: 250 })
    // The SMTP server's own words; the other actions ran all the same.
    expect(refused).toMatchObject({ index: 3, type: 'email', status: 'failed' })
    expect(refused.error).toContain('no such user here')

    const hooks = received.filter((request) => request.url === '/hook')
    expect(hooks).toHaveLength(1)
    const delivered = hooks[0]!
    expect(delivered.method).toBe('POST')
    expect(delivered.headers['x-run']).toBe(run.id)
    // What a receiver drops repeats by, should a restarted run send the action again.
    expect(delivered.headers['x-tributary-run-id']).toBe(run.id)
    expect(delivered.headers['x-tributary-workflow-id']).toBe(workflow.id)
    expect(delivered.headers['content-type']).toBe('application/json')
    expect(
      verifySignature(workflow.signing_secret, delivered.body, String(delivered.headers['x-tributary-signature'])),
    ).toBe(true)
    expect(verifySignature('another secret', delivered.body, String(delivered.headers['x-tributary-signature']))).toBe(
      false,
    )
    const body = JSON.parse(delivered.body)
    expect(body).toMatchObject({ best: 'USA', count: 412 })
    expect(body.rows.map((row: { country: string }) => row.country)).toEqual(['USA', 'Canada', 'France'])
    expect(received.filter((request) => request.url === '/fail')).toHaveLength(3)

    expect(mails).toHaveLength(1)
    const [sent] = mails
    expect(sent!.subject).toBe('Best country: USA')
    expect(sent!.text?.trim()).toBe('412 invoices in all')
    expect(sent!.from?.text).toContain('alerts@tributary.test')
    expect(sent!.to).toMatchObject({ text: 'ops@example.com' })
    expect(sent!.cc).toMatchObject({ text: 'boss@example.com' })
    expect(sent!.attachments).toHaveLength(1)
    const [csv] = sent!.attachments
    expect(csv!.filename).toBe('top.csv')
    expect(csv!.contentType).toBe('text/csv')
    expect(csv!.content.toString('utf8')).toBe('country,total\nUSA,523.06\nCanada,303.96\nFrance,195.10\n')

    const runs = await app.request('GET', `${base()}/${workflow.id}/runs`, { key: orgKey })
    expect(runs.status).toBe(200)
    expect(runs.body.data.map((entry: { id: string }) => entry.id)).toEqual([run.id])
  })

  it('stops without acting when a condition is false or a step is empty, and fails on a failing step', async () => {
    const actions = [{ type: 'webhook', url: `${hookUrl}/hook` }]
    const falseCondition = await create({
      steps: [{ name: 'top', sql: TOP_COUNTRIES, condition: 'steps.top.rows[0].total > 10000' }],
      actions,
    })
    const notMet = await runNow(falseCondition.id)
    expect(notMet).toMatchObject({ status: 'condition_not_met', actions: [], error: null })
    expect(notMet.steps).toMatchObject([{ name: 'top', row_count: 3, condition_value: false }])

    const empty = await create({
      steps: [
        {
          name: 'none',
          sql: "select * from chinook.main.Invoice where BillingCountry = 'Atlantis'",
          stop_if_empty: true,
        },
        { name: 'after', sql: 'select 1 as one' },
      ],
      actions,
    })
    const stopped = await runNow(empty.id)
    expect(stopped).toMatchObject({ status: 'condition_not_met', actions: [] })
    expect(stopped.steps).toMatchObject([{ name: 'none', row_count: 0 }])

    const broken = await create({
      steps: [
        { name: 'ok', sql: 'select 1 as one' },
        // Binds when saved, fails when run.
        { name: 'bad', sql: "select error('the source said no') as boom" },
      ],
      actions,
    })
    const failed = await runNow(broken.id)
    expect(failed.status).toBe('failed')
    expect(failed.error.message).toMatch(/^step 1 \(bad\): /)
    expect(failed.steps[1]).toMatchObject({ name: 'bad', row_count: null, error: { code: expect.any(String) } })
    expect(received).toHaveLength(0)
  })

  it('turns a question into SQL once, when saved, and reruns that SQL', async () => {
    const workflow = await create({
      steps: [
        {
          name: 'count',
          question: 'how many invoices are there',
          condition: 'steps.count.rows[0][steps.count.columns[0]] == 412',
        },
      ],
    })
    const read = await app.request('GET', `${base()}/${workflow.id}`, { key: orgKey })
    const [step] = read.body.steps
    expect(step).toMatchObject({ question: 'how many invoices are there', sql: null })
    expect(step.resolved_sql).toMatch(/count/i)
    const run = await runNow(workflow.id)
    expect(run).toMatchObject({ status: 'succeeded', steps: [{ name: 'count', row_count: 1, condition_value: true }] })
    // An edit elsewhere keeps the pinned SQL; a question nobody can answer is refused where it stands.
    const renamed = await app.request('PATCH', `${base()}/${workflow.id}`, {
      key: orgKey,
      body: { revision: 1, name: 'Invoice count' },
    })
    expect(renamed.body.steps[0].resolved_sql).toBe(step.resolved_sql)
    const unanswerable = await app.request('PATCH', `${base()}/${workflow.id}`, {
      key: orgKey,
      body: { revision: 2, steps: [{ name: 'count', question: 'what is the meaning of life' }] },
    })
    expect(unanswerable.status).toBe(422)
    expect(unanswerable.body.error.details.issues[0].field).toBe('steps.0.question')
  })

  it('runs a saved query step with its parameters', async () => {
    const query = await app.request('POST', `${API}/projects/${projectId}/queries`, {
      key: orgKey,
      body: {
        display_name: 'Invoices of a country',
        sql: 'select count(*) as n from chinook.main.Invoice where BillingCountry = {{country}}',
        parameters: [{ name: 'country', type: 'string', required: true }],
      },
    })
    expect(query.status, JSON.stringify(query.body)).toBe(201)
    const refused = await app.request('POST', base(), {
      key: orgKey,
      body: { name: 'no value', steps: [{ name: 'q', query_id: query.body.id }] },
    })
    expect(refused.status).toBe(422)
    expect(refused.body.error.details.issues[0].field).toBe('steps.0.parameters.country')
    const workflow = await create({
      steps: [
        { name: 'q', query_id: query.body.id, parameters: { country: 'Brazil' }, condition: 'steps.q.rows[0].n == 35' },
      ],
    })
    const run = await runNow(workflow.id)
    expect(run).toMatchObject({ status: 'succeeded', steps: [{ name: 'q', rows: [{ n: 35 }], condition_value: true }] })
  })

  it('previews what the actions would send, sending nothing', async () => {
    const workflow = await create({
      steps: [{ name: 'top', sql: TOP_COUNTRIES }],
      actions: [
        { type: 'webhook', url: `${hookUrl}/hook`, method: 'PUT', body: { best: '{{steps.top.rows[0].country}}' } },
        { type: 'email', to: ['ops@example.com'], subject: '{{steps.top.row_count}} countries', body: 'see attached' },
      ],
    })
    const preview = await app.request('POST', `${base()}/${workflow.id}/preview`, { key: orgKey })
    expect(preview.status, JSON.stringify(preview.body)).toBe(200)
    expect(preview.body.status).toBe('succeeded')
    expect(preview.body.steps).toMatchObject([{ name: 'top', row_count: 3 }])
    const [hook, mail] = preview.body.actions
    expect(hook).toMatchObject({
      type: 'webhook',
      problem: null,
      webhook: { method: 'PUT', url: `${hookUrl}/hook`, body: '{"best":"USA"}' },
    })
    // The signing secret never shows.
    expect(JSON.stringify(hook)).not.toContain(workflow.signing_secret)
    expect(hook.webhook.headers['x-tributary-signature']).not.toMatch(/v1=[0-9a-f]{64}/)
    expect(mail).toMatchObject({
      type: 'email',
      problem: null,
      email: {
        to: ['ops@example.com'],
        subject: '3 countries',
        attachment: {
          filename: 'top.csv',
          rows: 3,
          size_bytes: 'country,total\nUSA,523.06\nCanada,303.96\nFrance,195.10\n'.length,
        },
      },
    })
    // Give a stray send time to arrive before checking that none did.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(received).toHaveLength(0)
    expect(mails).toHaveLength(0)
    const runs = await app.request('GET', `${base()}/${workflow.id}/runs`, { key: orgKey })
    expect(runs.body.data).toEqual([])
  })

  it('tests one action with the steps’ real results', async () => {
    const workflow = await create({
      // The condition is false: a test sends anyway.
      steps: [{ name: 'top', sql: TOP_COUNTRIES, condition: 'false' }],
      actions: [
        { type: 'email', to: ['ops@example.com'], subject: 'x', body: 'y' },
        { type: 'webhook', url: `${hookUrl}/hook`, body: { best: '{{steps.top.rows[0].country}}' } },
      ],
    })
    const tested = await app.request('POST', `${base()}/${workflow.id}/actions/1/test`, { key: orgKey })
    expect(tested.status, JSON.stringify(tested.body)).toBe(200)
    expect(tested.body).toMatchObject({ index: 1, type: 'webhook', status: 'succeeded', attempts: [{ status: 200 }] })
    expect(received).toHaveLength(1)
    expect(JSON.parse(received[0]!.body)).toEqual({ best: 'USA' })
    expect(mails).toHaveLength(0)
    const missing = await app.request('POST', `${base()}/${workflow.id}/actions/2/test`, { key: orgKey })
    expect(missing.status).toBe(404)
  })

  it('runs on its schedule, and stops when deactivated, made manual or deleted', async () => {
    const scheduler = app.tributary.platform.scheduler
    const workflow = await create({
      trigger: { type: 'schedule', schedule: { type: 'interval', every: 'PT1H' } },
      steps: [{ name: 'top', sql: TOP_COUNTRIES }],
      actions: [{ type: 'webhook', url: `${hookUrl}/hook` }],
    })
    expect(Date.parse(workflow.next_run_at!) - Date.now()).toBeGreaterThan(50 * 60_000)
    expect(await scheduler.tick(new Date(Date.now() + 2 * 3_600_000))).toBeGreaterThanOrEqual(1)
    const runs = await eventually(async () => {
      const listed = await app.request('GET', `${base()}/${workflow.id}/runs`, { key: orgKey })
      expect(listed.body.data).toHaveLength(1)
      return listed.body.data as { id: string; trigger: string; scheduled_for: string }[]
    })
    expect(runs[0]).toMatchObject({ trigger: 'schedule', scheduled_for: expect.any(String) })
    const run = await settle(workflow.id, runs[0]!.id)
    expect(run.status).toBe('succeeded')
    const body = JSON.parse(received[0]!.body)
    expect(body).toMatchObject({ workflow: { id: workflow.id }, run: { id: run.id } })
    expect(body.steps.top.rows).toHaveLength(3)

    const patch = (changes: Record<string, unknown>, revision: number) =>
      app.request('PATCH', `${base()}/${workflow.id}`, { key: orgKey, body: { revision, ...changes } })
    const paused = await patch({ is_active: false }, 1)
    expect(paused.status, JSON.stringify(paused.body)).toBe(200)
    expect(paused.body).toMatchObject({ revision: 2, is_active: false, next_run_at: null })
    expect(await scheduler.get('workflow.run', workflow.id)).toBeUndefined()
    const resumed = await patch({ is_active: true }, 2)
    expect(resumed.body.next_run_at).toEqual(expect.any(String))
    const manual = await patch({ trigger: { type: 'manual' } }, 3)
    expect(manual.body).toMatchObject({ revision: 4, next_run_at: null })
    expect(await scheduler.get('workflow.run', workflow.id)).toBeUndefined()
    await patch({ trigger: { type: 'schedule', schedule: { type: 'cron', cron: '0 6 * * *', timezone: 'UTC' } } }, 4)
    expect(await scheduler.get('workflow.run', workflow.id)).toBeDefined()
    const deleted = await app.request('DELETE', `${base()}/${workflow.id}`, { key: orgKey })
    expect(deleted.status).toBe(204)
    expect(await scheduler.get('workflow.run', workflow.id)).toBeUndefined()
    expect((await app.request('GET', `${base()}/${workflow.id}`, { key: orgKey })).status).toBe(404)
  })

  it('sends an outbound credential only to its allowed host, and never shows it', async () => {
    const secret = 'hook-token-0123456789'
    const credential = await app.request('POST', `${API}/projects/${projectId}/credentials`, {
      key: orgKey,
      body: { name: `hook token ${names}`, type: 'bearer', secret, allowed_hosts: ['127.0.0.1'] },
    })
    expect(credential.status, JSON.stringify(credential.body)).toBe(201)
    const elsewhere = await app.request('POST', base(), {
      key: orgKey,
      body: {
        name: 'elsewhere',
        steps: [{ name: 'one', sql: 'select 1 as one' }],
        actions: [{ type: 'webhook', url: 'http://localhost:9/hook', credential_id: credential.body.id }],
      },
    })
    expect(elsewhere.status).toBe(422)
    expect(elsewhere.body.error.details.issues[0].field).toBe('actions.0.credential_id')

    const workflow = await create({
      steps: [{ name: 'one', sql: 'select 1 as one' }],
      actions: [{ type: 'webhook', url: `${hookUrl}/hook`, credential_id: credential.body.id }],
    })
    const preview = await app.request('POST', `${base()}/${workflow.id}/preview`, { key: orgKey })
    expect(preview.body.actions[0].webhook.headers.authorization).toBe('[credential]')
    expect(JSON.stringify(preview.body)).not.toContain(secret)
    expect(received).toHaveLength(0)
    const run = await runNow(workflow.id)
    expect(run.status).toBe('succeeded')
    expect(received[0]!.headers.authorization).toBe(`Bearer ${secret}`)
    expect(JSON.stringify(run)).not.toContain(secret)
  })

  it('stops a run over its time limit as timed_out, keeping what it did', async () => {
    const workflow = await create({
      timeout_seconds: 1,
      steps: [{ name: 'top', sql: TOP_COUNTRIES }],
      actions: [
        { type: 'webhook', url: `${hookUrl}/slow`, retries: 0 },
        { type: 'webhook', url: `${hookUrl}/hook` },
      ],
    })
    const run = await runNow(workflow.id)
    expect(run).toMatchObject({
      status: 'timed_out',
      error: { code: 'timed_out' },
      steps: [{ name: 'top', row_count: 3 }],
      actions: [{ index: 0, status: 'failed', error: 'the run was stopped' }],
    })
    // The action after the one cut short never ran.
    expect(received.map((request) => request.url)).toEqual(['/slow'])
  })

  it('refuses an edit based on a revision that is no longer current', async () => {
    const workflow = await create({ steps: [{ name: 'one', sql: 'select 1 as one' }] })
    const first = await app.request('PATCH', `${base()}/${workflow.id}`, {
      key: orgKey,
      body: { revision: 1, description: 'first editor' },
    })
    expect(first.status).toBe(200)
    expect(first.body.revision).toBe(2)
    const second = await app.request('PATCH', `${base()}/${workflow.id}`, {
      key: orgKey,
      body: { revision: 1, description: 'second editor' },
    })
    expect(second.status).toBe(409)
    expect(second.body.error).toMatchObject({ code: 'conflict', details: { current_revision: 2 } })
    const kept = await app.request('GET', `${base()}/${workflow.id}`, { key: orgKey })
    expect(kept.body).toMatchObject({ revision: 2, description: 'first editor' })
  })

  it('answers 422 naming the place for each bad definition', async () => {
    const step = { name: 'top', sql: TOP_COUNTRIES }
    const hook = { type: 'webhook', url: `${hookUrl}/hook` }
    const cases: [Record<string, unknown>, string][] = [
      [{ steps: [] }, 'steps'],
      [{ steps: Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, sql: 'select 1' })) }, 'steps'],
      [{ steps: [step], actions: Array.from({ length: 11 }, () => hook) }, 'actions'],
      [{ steps: [{ name: 'top', sql: 'select 1', question: 'how many?' }] }, 'steps.0'],
      [{ steps: [{ name: 'not a name', sql: 'select 1' }] }, 'steps.0.name'],
      [{ steps: [step, { ...step }] }, 'steps.1.name'],
      [{ steps: [{ ...step, condition: 'steps.top.rows[0].total >' }] }, 'steps.0.condition'],
      [
        {
          steps: [
            { ...step, condition: 'steps.later.rows.length > 0' },
            { name: 'later', sql: 'select 1' },
          ],
        },
        'steps.0.condition',
      ],
      [{ steps: [{ ...step, condition: 'steps.nowhere.row_count > 0' }] }, 'steps.0.condition'],
      [{ steps: [step], actions: [{ ...hook, body: { rows: '{{steps.missing.rows}}' } }] }, 'actions.0.body'],
      [
        { steps: [step], actions: [{ ...hook, headers: { 'x-a': '{{steps.missing.row_count}}' } }] },
        'actions.0.headers.x-a',
      ],
      [{ steps: [step], actions: [{ ...hook, retries: 6 }] }, 'actions.0.retries'],
      [{ steps: [{ name: 'top', sql: 'drop table chinook.main.Invoice' }] }, 'steps.0.sql'],
      [{ steps: [{ name: 'top', sql: "insert into chinook.main.Genre values (99, 'x')" }] }, 'steps.0.sql'],
      [{ steps: [{ name: 'top', sql: 'select 1; delete from chinook.main.Invoice' }] }, 'steps.0.sql'],
      [{ steps: [{ name: 'top', sql: 'select * from chinook.main.NoSuchTable' }] }, 'steps.0.sql'],
      [
        { steps: [step], actions: [{ ...hook, headers: { 'X-Tributary-Signature': 'forged' } }] },
        'actions.0.headers.X-Tributary-Signature',
      ],
      [{ steps: [step], actions: [{ ...hook, headers: { Host: 'internal.example' } }] }, 'actions.0.headers.Host'],
      [
        { steps: [step], actions: [{ ...hook, headers: { 'content-length': '1' } }] },
        'actions.0.headers.content-length',
      ],
      [{ steps: [step], actions: [{ ...hook, headers: { 'x-a': 'a\r\nBcc: x@y.z' } }] }, 'actions.0.headers.x-a'],
      [{ steps: [step], actions: [{ ...hook, body: { rows: 'x'.repeat(100_001) } }] }, 'actions.0.body'],
      [
        { steps: [step], actions: [{ type: 'email', to: ['a@b.co\r\nBcc: x@y.z'], subject: 's', body: 'b' }] },
        'actions.0.to.0',
      ],
      [{ steps: [step], actions: [{ ...hook, url: 'http://10.1.2.3/hook' }] }, 'actions.0.url'],
      [{ steps: [step], actions: [{ ...hook, url: 'ftp://example.com/x' }] }, 'actions.0.url'],
      [
        {
          steps: [step],
          actions: [hook, { type: 'email', to: ['a@example.com'], subject: '{{steps.x.rows}}', body: '' }],
        },
        'actions.1.subject',
      ],
      [
        { steps: [step], actions: [{ type: 'email', to: ['a@example.com'], subject: 's', body: '{{ 1 + }}' }] },
        'actions.0.body',
      ],
      [{ steps: [step], actions: [{ type: 'email', to: [], subject: 's', body: 'b' }] }, 'actions.0.to'],
      [
        {
          steps: [step],
          actions: [{ type: 'email', to: ['a@example.com'], subject: 's', body: 'b', attach_csv: 'nope' }],
        },
        'actions.0.attach_csv',
      ],
      [{ steps: [{ name: 'q', query_id: '0193a0c4-7c1e-7b2a-9d0e-4f1c2b3a4d5e' }] }, 'steps.0.query_id'],
      [{ steps: [step], trigger: { type: 'schedule', schedule: { type: 'none' } } }, 'trigger.schedule'],
      [{ steps: [step], timeout_seconds: 0 }, 'timeout_seconds'],
    ]
    for (const [body, field] of cases) {
      const answer = await app.request('POST', base(), { key: orgKey, body: { name: 'bad', ...body } })
      expect(answer.status, `${field}: ${JSON.stringify(answer.body)}`).toBe(422)
      expect(answer.body.error.code).toBe('validation_error')
      expect(answer.body.error.details.issues[0].field, JSON.stringify(answer.body)).toBe(field)
    }
    const listed = await app.request('GET', base(), { key: orgKey })
    expect(listed.body.data.map((workflow: { name: string }) => workflow.name)).not.toContain('bad')

    const saved = await create({ steps: [step] })
    const patched = await app.request('PATCH', `${base()}/${saved.id}`, {
      key: orgKey,
      body: { revision: saved.revision, steps: [{ name: 'top', sql: 'drop table chinook.main.Invoice' }] },
    })
    expect(patched.status, JSON.stringify(patched.body)).toBe(422)
    expect(patched.body.error.details.issues[0].field).toBe('steps.0.sql')
    const kept = await app.request('GET', `${base()}/${saved.id}`, { key: orgKey })
    expect(kept.body).toMatchObject({ revision: saved.revision, steps: [{ name: 'top', sql: TOP_COUNTRIES }] })
  })
})

describe('workflows without an SMTP server', () => {
  let app: TestApp
  let orgKey: string
  let projectId: string
  beforeAll(async () => {
    app = await startTestApp('pglite', { env: { TRIBUTARY_JOB_POLL_INTERVAL_MS: '50' } })
    orgKey = (await createOrganization(app, 'No mail')).orgKey
    projectId = (await createProject(app, orgKey, 'No mail')).id
  })
  afterAll(() => app?.close())

  it('saves an e-mail action, says so in the preview, and fails only that action when run', async () => {
    const base = `${API}/projects/${projectId}/workflows`
    const created = await app.request('POST', base, {
      key: orgKey,
      body: {
        name: 'mail',
        steps: [{ name: 'one', sql: 'select 1 as one' }],
        actions: [{ type: 'email', to: ['ops@example.com'], subject: 's', body: 'b', attach_csv: false }],
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const preview = await app.request('POST', `${base}/${created.body.id}/preview`, { key: orgKey })
    expect(preview.body.actions[0]).toMatchObject({ problem: expect.stringContaining('TRIBUTARY_SMTP_URL') })
    expect(preview.body.actions[0].email.attachment).toBeNull()
    const started = await app.request('POST', `${base}/${created.body.id}/run`, { key: orgKey })
    const run = await eventually(async () => {
      const read = await app.request('GET', `${base}/${created.body.id}/runs/${started.body.id}`, { key: orgKey })
      expect(read.body.status).not.toMatch(/pending|running/)
      return read.body
    })
    expect(run).toMatchObject({ status: 'partial_success', actions: [{ status: 'failed' }] })
    expect(run.actions[0].error).toContain('not configured')
  })
})

async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
