import type { EmailAction, WebhookAction, WorkflowAction, WorkflowStep } from '@tributary/contract'

import { ExpressionError, type Expression, parseExpression } from '../../lib/expressions/expressions.js'
import { parseJsonTemplate, parseTextTemplate, type Template } from '../../lib/expressions/templates.js'
import { errors } from '../../lib/errors.js'

/** A step's result as conditions and templates see it: `steps.<name>.rows[0].total`. */
export interface StepData {
  rows: Record<string, unknown>[]
  columns: string[]
  /** Rows the step returned (at most the rows kept). */
  row_count: number
}

/** Everything an expression may start from. */
export interface TemplateScope {
  // Expressions read the scope as plain data.
  [root: string]: unknown
  steps: Record<string, StepData>
  workflow: { id: string; name: string }
  run: { id: string | null; started_at: string }
  now: string
}

/** The largest webhook body template; what it renders to may be larger (rows substituted in). */
const MAX_BODY_TEMPLATE_CHARS = 100_000

/** What a webhook sends when its action gives no `body`. */
const DEFAULT_WEBHOOK_BODY = { workflow: '{{workflow}}', run: '{{run}}', steps: '{{steps}}' }

interface TextTemplate {
  stepNames: readonly string[]
  render(scope: TemplateScope): string
}

function text(source: string): TextTemplate {
  const template = parseTextTemplate(source)
  return { stepNames: template.stepNames, render: (scope) => String(template.render(scope)) }
}

export function compileCondition(source: string): Expression {
  return parseExpression(source)
}

export function compileWebhook(action: WebhookAction): {
  headers: Record<string, TextTemplate>
  body: Template
} {
  return {
    headers: Object.fromEntries(Object.entries(action.headers ?? {}).map(([name, value]) => [name, text(value)])),
    body: parseJsonTemplate(action.body === undefined ? DEFAULT_WEBHOOK_BODY : action.body),
  }
}

export function compileEmail(action: EmailAction): { subject: TextTemplate; body: TextTemplate } {
  return { subject: text(action.subject), body: text(action.body) }
}

/**
 * Checks what the schema cannot: step names are unique, each condition parses and names only its
 * own step or earlier ones, each template parses and names existing steps, a CSV attachment names
 * a step. Throws a 422 naming the place (`steps.1.condition`, `actions.0.body`).
 */
export function checkDefinition(
  steps: readonly Pick<WorkflowStep, 'name' | 'condition'>[],
  actions: readonly WorkflowAction[],
) {
  const names = steps.map((step) => step.name)
  for (const [index, step] of steps.entries()) {
    if (names.indexOf(step.name) !== index) {
      throw errors.invalidField(`steps.${index}.name`, `another step is named '${step.name}'`)
    }
    if (step.condition) {
      const field = `steps.${index}.condition`
      const expression = parsed(field, () => compileCondition(step.condition!))
      const known = names.slice(0, index + 1)
      for (const name of expression.stepNames) {
        if (!known.includes(name)) {
          throw errors.invalidField(
            field,
            names.includes(name)
              ? `steps.${name} runs after this step: a condition may use only this step and earlier ones`
              : `there is no step '${name}' (steps: ${names.join(', ')})`,
          )
        }
      }
    }
  }
  const checkNames = (field: string, stepNames: readonly string[]) => {
    const missing = stepNames.find((name) => !names.includes(name))
    if (missing !== undefined) {
      throw errors.invalidField(field, `there is no step '${missing}' (steps: ${names.join(', ')})`)
    }
  }
  for (const [index, action] of actions.entries()) {
    const at = `actions.${index}`
    if (action.type === 'webhook') {
      for (const [name, value] of Object.entries(action.headers ?? {})) {
        checkNames(`${at}.headers.${name}`, parsed(`${at}.headers.${name}`, () => text(value)).stepNames)
      }
      const body = action.body === undefined ? DEFAULT_WEBHOOK_BODY : action.body
      checkNames(`${at}.body`, parsed(`${at}.body`, () => parseJsonTemplate(body)).stepNames)
      // Measured once the template is known to be shallow: stringifying deeper JSON could overflow the stack.
      if (JSON.stringify(body).length > MAX_BODY_TEMPLATE_CHARS) {
        throw errors.invalidField(`${at}.body`, `must be at most ${MAX_BODY_TEMPLATE_CHARS} characters as JSON`)
      }
    } else {
      checkNames(`${at}.subject`, parsed(`${at}.subject`, () => text(action.subject)).stepNames)
      checkNames(`${at}.body`, parsed(`${at}.body`, () => text(action.body)).stepNames)
      if (typeof action.attach_csv === 'string' && !names.includes(action.attach_csv)) {
        throw errors.invalidField(
          `${at}.attach_csv`,
          `there is no step '${action.attach_csv}' (steps: ${names.join(', ')})`,
        )
      }
    }
  }
}

function parsed<T>(field: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    if (error instanceof ExpressionError) throw errors.invalidField(field, error.message)
    throw error
  }
}
