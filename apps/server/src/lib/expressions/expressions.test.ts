import { describe, expect, it } from 'vitest'

import { ExpressionError, parseExpression } from './expressions.js'
import { parseJsonTemplate, parseTextTemplate } from './templates.js'

const scope = {
  steps: {
    revenue: { rows: [{ day: '2026-12-05', total: '70.50', orders: '12' }], row_count: 1 },
    avg: { rows: [{ avg: 100 }], row_count: 1 },
    empty: { rows: [], row_count: 0 },
    sales: {
      rows: [
        { country: 'USA', amount: '10.00' },
        { country: 'France', amount: 5 },
        { country: 'Chile', amount: null },
      ],
    },
  },
  workflow: { name: 'Revenue watch', id: 'wf_1' },
  run: { id: 'run_1', started_at: new Date('2026-12-06T03:00:00Z') },
  now: '2026-12-06T03:00:00.000Z',
}

function evaluate(source: string, values: Record<string, unknown> = scope): unknown {
  return parseExpression(source).evaluate(values)
}

function parseError(source: string, options?: { roots?: readonly string[] }): string {
  try {
    parseExpression(source, options)
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError)
    return (error as Error).message
  }
  throw new Error(`expected ${JSON.stringify(source)} not to parse`)
}

function runtimeError(source: string, values: Record<string, unknown> = scope): string {
  const expression = parseExpression(source)
  try {
    expression.evaluate(values)
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError)
    return (error as Error).message
  }
  throw new Error(`expected ${JSON.stringify(source)} to fail when evaluated`)
}

describe('parseExpression', () => {
  it('evaluates the issue example over PostgreSQL numeric strings and lists the steps it reads', () => {
    const expression = parseExpression('steps.revenue.rows[0].total < 0.8 * steps.avg.rows[0].avg')
    expect(expression.source).toBe('steps.revenue.rows[0].total < 0.8 * steps.avg.rows[0].avg')
    expect(expression.stepNames).toEqual(['revenue', 'avg'])
    expect(expression.evaluate(scope)).toBe(true)
    const healthy = { steps: { revenue: { rows: [{ total: '95.10' }] }, avg: { rows: [{ avg: '100' }] } } }
    expect(expression.evaluate(healthy)).toBe(false)
  })

  it('lists step names in order of first use, once each, in dotted and bracket form', () => {
    const expression = parseExpression(
      "steps['b'].rows[0].x > 1 ? steps.a.row_count : steps.b.row_count + len(steps['c d'].rows)",
    )
    expect(expression.stepNames).toEqual(['b', 'a', 'c d'])
    expect(parseExpression('1 + 2').stepNames).toEqual([])
  })

  it('computes literals, arithmetic, precedence and unary minus', () => {
    expect(evaluate('1 + 2 * 3')).toBe(7)
    expect(evaluate('(1 + 2) * 3')).toBe(9)
    expect(evaluate('7 % 4 - -1')).toBe(4)
    expect(evaluate('10 / 4')).toBe(2.5)
    expect(evaluate('-steps.revenue.rows[0].orders')).toBe(-12)
    expect(evaluate("'text'")).toBe('text')
    expect(evaluate('"double"')).toBe('double')
    expect(evaluate('null')).toBe(null)
    expect(evaluate('true')).toBe(true)
    expect(evaluate('1.5e3')).toBe(1500)
  })

  it('treats canonical decimal strings as numbers and other strings as text', () => {
    expect(evaluate('steps.revenue.rows[0].orders == 12')).toBe(true)
    expect(evaluate('steps.revenue.rows[0].total + 0.5')).toBe(71)
    expect(evaluate("'007' == 7")).toBe(false)
    expect(evaluate("'1e3' == 1000")).toBe(false)
    expect(evaluate("'10' > '9'")).toBe(true)
    expect(evaluate("'b' > 'a'")).toBe(true)
    expect(evaluate("steps.revenue.rows[0].day >= '2026-12-01'")).toBe(true)
  })

  it('compares dates with dates and ISO strings', () => {
    expect(evaluate('run.started_at == now')).toBe(true)
    expect(evaluate("run.started_at < '2026-12-07'")).toBe(true)
  })

  it('uses strict equality, with == and === (and != and !==) as synonyms', () => {
    expect(evaluate("workflow.name == 'Revenue watch'")).toBe(true)
    expect(evaluate("workflow.name === 'Revenue watch'")).toBe(true)
    expect(evaluate('workflow.name != 1')).toBe(true)
    expect(evaluate("true == 'true'")).toBe(false)
    expect(evaluate("0 == ''")).toBe(false)
    expect(evaluate('1 !== 1')).toBe(false)
  })

  it('makes comparisons with null or undefined false, except equality with null', () => {
    expect(evaluate('steps.empty.rows[0].total < 1')).toBe(false)
    expect(evaluate('steps.empty.rows[0].total >= 1')).toBe(false)
    expect(evaluate('steps.sales.rows[2].amount > 0')).toBe(false)
    expect(evaluate('steps.sales.rows[2].amount <= 0')).toBe(false)
    expect(evaluate('steps.empty.rows[0] == null')).toBe(true)
    expect(evaluate('steps.sales.rows[2].amount == null')).toBe(true)
    expect(evaluate('steps.sales.rows[0].amount == null')).toBe(false)
    expect(evaluate('steps.sales.rows[0].amount != null')).toBe(true)
    expect(evaluate('steps.missing == null')).toBe(true)
  })

  it('supports logical operators, their word forms and the ternary, short-circuiting', () => {
    expect(evaluate('steps.avg.row_count > 0 && steps.empty.row_count == 0')).toBe(true)
    expect(evaluate('steps.avg.row_count > 0 and steps.empty.row_count > 0')).toBe(false)
    expect(evaluate('steps.empty.row_count > 0 or not steps.empty.rows')).toBe(true)
    expect(evaluate('!steps.empty.rows')).toBe(true)
    expect(evaluate("steps.revenue.rows[0].name || 'n/a'")).toBe('n/a')
    expect(evaluate("steps.empty.row_count > 0 ? 'some' : 'none'")).toBe('none')
    // The right side would throw if evaluated.
    expect(evaluate('false && 1 / 0')).toBe(false)
    expect(evaluate("true || 'x' * 2")).toBe(true)
    expect(evaluate('steps.empty.rows[0] && steps.empty.rows[0].total * 2')).toBe(undefined)
  })

  it('counts numeric zero strings and empty arrays as false', () => {
    expect(evaluate("'0' ? 1 : 2")).toBe(2)
    expect(evaluate("'0.00' || 'zero'")).toBe('zero')
    expect(evaluate("'no' ? 1 : 2")).toBe(1)
    expect(evaluate('steps.sales.rows ? 1 : 2')).toBe(1)
  })

  it('reads members: dots, indexes, quoted names, computed keys, missing as undefined', () => {
    expect(evaluate('steps.revenue.rows[0]')).toEqual({ day: '2026-12-05', total: '70.50', orders: '12' })
    expect(evaluate("steps['revenue']['rows'][0]['total']")).toBe('70.50')
    expect(evaluate('steps.sales.rows[steps.avg.row_count].country')).toBe('France')
    expect(evaluate("steps.sales.rows['1'].country")).toBe('France')
    expect(evaluate('steps.sales.rows.length')).toBe(3)
    expect(evaluate('steps.sales.rows[9]')).toBe(undefined)
    expect(evaluate('steps.sales.rows[-1]')).toBe(undefined)
    expect(evaluate('steps.sales.rows[0.5]')).toBe(undefined)
    expect(evaluate('steps.revenue.nope.deeper.still')).toBe(undefined)
    expect(evaluate('workflow.name.length')).toBe(undefined)
    expect(evaluate('steps.revenue?.rows[0].orders')).toBe('12')
    expect(evaluate('steps', {})).toBe(undefined)
  })

  it('calls the whitelisted functions', () => {
    expect(evaluate('abs(-3)')).toBe(3)
    expect(evaluate('round(2.5)')).toBe(3)
    expect(evaluate('round(-2.5)')).toBe(-3)
    expect(evaluate('round(1.005, 2)')).toBe(1.01)
    expect(evaluate('round(steps.revenue.rows[0].total / 3, 1)')).toBe(23.5)
    expect(evaluate('floor(2.7) + ceil(2.1)')).toBe(5)
    expect(evaluate('min(3, 1, 2)')).toBe(1)
    expect(evaluate('max(3, steps.revenue.rows[0].orders)')).toBe(12)
    expect(evaluate("min(steps.sales.rows, 'amount')")).toBe(5)
    expect(evaluate("max(steps.sales.rows, 'amount')")).toBe(10)
    expect(evaluate("max(steps.empty.rows, 'amount')")).toBe(null)
    expect(evaluate('len(steps.sales.rows) + len(workflow.name)')).toBe(16)
    expect(evaluate('count(steps.sales.rows)')).toBe(3)
    expect(evaluate("sum(steps.sales.rows, 'amount')")).toBe(15)
    expect(evaluate("avg(steps.sales.rows, 'amount')")).toBe(7.5)
    expect(evaluate("avg(steps.empty.rows, 'amount')")).toBe(null)
    expect(evaluate('sum(steps.empty.rows)')).toBe(0)
  })

  it('reports syntax errors with what and where', () => {
    expect(parseError('steps.a.rows[0].total < 0.8 * )')).toBe('expected expression after * at character 30')
    expect(parseError('(steps.a.x + 1))')).toBe("unexpected ')' at character 15")
    expect(parseError('steps.a.x steps.b.x')).toBe("unexpected 's' at character 10")
    expect(parseError('steps.a.x, 1')).toBe("unexpected ',' at character 9")
    expect(parseError('steps.a.x; 1')).toBe("unexpected ';' at character 9")
    expect(parseError('(1, 2)')).toBe("unexpected ',' at character 2")
    expect(parseError('(1 + 2')).toBe('unclosed ( at character 6')
    expect(parseError('steps.a.rows[0')).toBe('unclosed [ at character 14')
    expect(parseError("'abc")).toBe('unclosed quote after "abc" at character 4')
    expect(parseError('1 +')).toBe('unexpected end of expression at character 3')
    expect(parseError('steps.a.')).toBe('unexpected end of expression at character 8')
    expect(parseError('1 ? 2')).toBe('expected : at character 5')
    expect(parseError('steps.a.x = 1')).toBe("unexpected '=' at character 10")
    expect(parseError('@')).toBe("unexpected '@' at character 0")
    expect(parseError('')).toBe('the expression is empty')
    expect(parseError('   ')).toBe('the expression is empty')
    expect(parseError('()')).toBe('the expression is empty')
  })

  it('refuses unknown names at parse time, naming them', () => {
    expect(parseError('revenue.rows[0].total > 1')).toBe(
      "unknown name 'revenue'; expressions start from steps, workflow, run, now",
    )
    expect(parseError('sum > 1')).toContain("unknown name 'sum' (sum is a function: call it as sum(…))")
    expect(parseError('steps.a.x > limit', { roots: ['steps'] })).toBe(
      "unknown name 'limit'; expressions start from steps",
    )
    expect(parseExpression('row.total > 1', { roots: ['row'] }).evaluate({ row: { total: 2 } })).toBe(true)
    expect(parseError('now', { roots: ['steps'] })).toContain("unknown name 'now'")
  })

  it('refuses dynamic step names, since the steps an expression reads must be known when saved', () => {
    expect(parseError('steps[0].rows')).toBe("a step must be named in steps[0]: write steps.name or steps['name']")
    expect(parseError('steps[workflow.name].rows')).toContain('a step must be named')
  })

  it('refuses operators and syntax outside the language', () => {
    expect(parseError('1 | 2')).toBe("the operator '|' is not supported")
    expect(parseError('2 ** 3')).toBe("the operator '**' is not supported")
    expect(parseError('steps.a.x ?? 1')).toBe("the operator '??' is not supported")
    expect(parseError('~1')).toBe("the operator '~' is not supported")
    expect(parseError("+'1'")).toBe("the operator '+' is not supported")
    expect(parseError('this')).toBe("'this' is not available in expressions")
    expect(parseError('this.constructor')).toBe("'this' is not available in expressions")
    expect(parseError('[1, 2]')).toContain('array literals')
    expect(parseError('1e999')).toBe('the number 1e999 is out of range')
  })

  it('refuses calls outside the whitelist and wrong arities', () => {
    expect(parseError('eval("1")')).toMatch(/^eval\(…\) is not a function that expressions may call; available: abs,/)
    expect(parseError('steps.a.rows.map(1)')).toContain('steps.a.rows.map(…) is not a function')
    expect(parseError('steps.a.constructor("return process")()')).toContain('is not')
    expect(parseError('Function("return 1")()')).toContain('is not a function that expressions may call')
    expect(parseError('abs()')).toBe('abs() takes 1 argument, got 0')
    expect(parseError('round(1, 2, 3)')).toBe('round() takes 1 to 2 arguments, got 3')
    expect(parseError('min()')).toBe('min() takes at least 1 argument, got 0')
  })

  it('never reaches prototypes or constructors', () => {
    for (const source of [
      'steps.a.constructor',
      'steps.a.__proto__',
      'steps.a.prototype',
      "steps.a['constructor']",
      "steps['__proto__']",
      "workflow['constructor']['constructor']",
    ]) {
      expect(parseError(source)).toMatch(/^the property '(constructor|__proto__|prototype)' is not accessible/)
    }
    // Keys computed at run time are checked when evaluated.
    const hostile = { steps: { a: { rows: [{ k: 'constructor' }, { k: '__proto__' }] } } }
    expect(runtimeError('steps.a.rows[steps.a.rows[0].k]', hostile)).toBe(
      "the property 'constructor' is not accessible (in steps.a.rows[steps.a.rows[0].k])",
    )
    expect(runtimeError('workflow[steps.a.rows[1].k]', { ...hostile, workflow: {} })).toContain("'__proto__'")
    // Inherited members are not own properties: they read as undefined.
    expect(evaluate('workflow.toString', { workflow: {} })).toBe(undefined)
    expect(evaluate('workflow.hasOwnProperty', { workflow: {} })).toBe(undefined)
    expect(evaluate("steps.a.rows['map']", hostile)).toBe(undefined)
    // Functions and class internals in the scope are never handed out.
    expect(evaluate('workflow.fn', { workflow: { fn: () => 1 } })).toBe(undefined)
    // A JSON row with an own "__proto__" key cannot be used to reach anything either.
    const parsed: unknown = JSON.parse('{"rows":[{"__proto__":{"polluted":true}}]}')
    expect(evaluate("sum(steps.x.rows, '__proto__')", { steps: { x: parsed } })).toBe(0)
    expect(({} as Record<string, unknown>)['polluted']).toBe(undefined)
  })

  it('bounds length and nesting without exhausting the stack', () => {
    expect(parseError('1'.repeat(2001))).toBe('the expression is longer than 2000 characters')
    expect(parseExpression(`${'1 + '.repeat(60)}1`).evaluate({})).toBe(61)
    expect(parseError('('.repeat(65) + '1' + ')'.repeat(65))).toBe(
      'brackets are nested more than 64 deep at character 64',
    )
    expect(parseError('steps.a' + '[0]'.repeat(500))).toMatch(/nested more than 64|too complex/)
    expect(parseError('!'.repeat(1999) + '1')).toBe('the expression is too complex (more than 64 levels of operators)')
    expect(parseError('-'.repeat(1999) + '1')).toMatch(/too complex/)
    expect(parseError(`${'1 + '.repeat(499)}1`)).toMatch(/too complex/)
    expect(parseExpression("'(((((((' == '[[[[[[[['").evaluate({})).toBe(false)
    expect(parseExpression(`${'('.repeat(30)}1${')'.repeat(30)}`).evaluate({})).toBe(1)
  })

  it('reports runtime type errors by the source of the failing operand', () => {
    expect(runtimeError('steps.revenue.rows[0].total < 0.8 * steps.avg.rows[1].avg')).toBe(
      'steps.avg.rows[1].avg is undefined, not a number',
    )
    expect(runtimeError('workflow.name * 2')).toBe('workflow.name is the string "Revenue watch", not a number')
    expect(runtimeError('steps.sales.rows + 1')).toBe('steps.sales.rows is an array of 3, not a number')
    expect(runtimeError('-steps.revenue')).toBe('steps.revenue is an object, not a number')
    expect(runtimeError('true + 1')).toBe('true is true, not a number')
    expect(runtimeError('1 / (steps.avg.row_count - 1)')).toBe('division by zero in 1 / (steps.avg.row_count - 1)')
    expect(runtimeError('5 % 0')).toBe('division by zero in 5 % 0')
    expect(runtimeError('1e308 * 10')).toBe('1e308 * 10 is out of range')
    expect(runtimeError('workflow.name > 3')).toBe(
      'cannot compare workflow.name (the string "Revenue watch") with 3 (3) in workflow.name > 3',
    )
    expect(runtimeError('true < 1')).toMatch(/^cannot compare true/)
    expect(runtimeError('steps.sales.rows[workflow]')).toBe(
      'workflow is an object; a property name must be a string or number',
    )
    expect(runtimeError("sum(steps.sales.rows, 'country')")).toBe(
      'sum(): steps.sales.rows[0].country is the string "USA", not a number',
    )
    expect(runtimeError('sum(steps.revenue)')).toBe('sum(): steps.revenue is an object, not an array')
    expect(runtimeError('avg(steps.sales.rows, 1)')).toBe('avg(): the column 1 must be a string, got 1')
    expect(runtimeError('len(steps.avg.row_count)')).toBe('len(): steps.avg.row_count is 1, not an array or string')
    expect(runtimeError('round(1, 0.5)')).toMatch(/^round\(\): the number of digits must be a whole number/)
    expect(runtimeError("min(steps.sales.rows, 'amount', 1)")).toMatch(/give either numbers or one array/)
    expect(runtimeError("abs('x')")).toBe(`'x' is the string "x", not a number`)
  })

  it('can be evaluated many times against different scopes', () => {
    const expression = parseExpression('count(steps.q.rows) > 1')
    expect(expression.evaluate({ steps: { q: { rows: [1, 2] } } })).toBe(true)
    expect(expression.evaluate({ steps: { q: { rows: [1] } } })).toBe(false)
  })
})

describe('parseJsonTemplate', () => {
  it('puts a whole-placeholder string in as the value and interpolates the others', () => {
    const template = parseJsonTemplate({
      text: 'Revenue {{ steps.revenue.rows[0].total }} is below {{ round(0.8 * steps.avg.rows[0].avg) }} ({{workflow.name}})',
      rows: '{{ steps.sales.rows }}',
      count: '{{ count(steps.sales.rows) }}',
      missing: '{{ steps.revenue.rows[0].nope }}',
      inline_rows: 'rows: {{ steps.empty.rows }}, first: {{ steps.avg.rows[0] }}',
      started: '{{ run.started_at }}',
      nested: [{ ok: true, n: 1, none: null, label: 'plain {text}' }, '{{ steps.avg.row_count > 0 }}'],
      '{{ keys.are.not.templated }}': 'x',
    })
    expect(template.stepNames).toEqual(['revenue', 'avg', 'sales', 'empty'])
    expect(template.render(scope)).toEqual({
      text: 'Revenue 70.50 is below 80 (Revenue watch)',
      rows: scope.steps.sales.rows,
      count: 3,
      missing: null,
      inline_rows: 'rows: [], first: {"avg":100}',
      started: '2026-12-06T03:00:00.000Z',
      nested: [{ ok: true, n: 1, none: null, label: 'plain {text}' }, true],
      '{{ keys.are.not.templated }}': 'x',
    })
  })

  it('keeps a "__proto__" key as a plain key', () => {
    const body: unknown = JSON.parse('{"__proto__": {"polluted": "{{ workflow.name }}"}}')
    const rendered = parseJsonTemplate(body).render(scope) as Record<string, unknown>
    expect(Object.getPrototypeOf(rendered)).toBe(Object.prototype)
    expect(Object.hasOwn(rendered, '__proto__')).toBe(true)
    expect(rendered['polluted']).toBe(undefined)
  })

  it('renders scalars and strings without placeholders as they are', () => {
    expect(parseJsonTemplate('no placeholders').render({})).toBe('no placeholders')
    expect(parseJsonTemplate(42).render({})).toBe(42)
    expect(parseJsonTemplate(null).render({})).toBe(null)
    expect(parseJsonTemplate('').render({})).toBe('')
  })

  it('names the placeholder that does not parse and where it is', () => {
    expect(() => parseJsonTemplate({ a: ['ok', 'total: {{ steps.x.rows[0].total * }}'] })).toThrow(
      '{{ steps.x.rows[0].total * }}: unexpected end of expression at character 34',
    )
    expect(() => parseJsonTemplate('{{ revenue }}')).toThrow("unknown name 'revenue'")
    expect(() => parseJsonTemplate('total {{ steps.x')).toThrow("'{{' is not closed with '}}' at character 6")
    expect(() => parseJsonTemplate('{{ revenue }}')).toThrow("{{ revenue }} at character 0: unknown name 'revenue'")
    expect(() => parseJsonTemplate('{{}}')).toThrow('the expression is empty')
  })

  it('refuses values that are not JSON and bodies nested too deeply', () => {
    expect(() => parseJsonTemplate({ when: new Date() })).toThrow('a template must be JSON')
    let deep: unknown = 'leaf'
    for (let level = 0; level < 100; level++) deep = [deep]
    expect(() => parseJsonTemplate(deep)).toThrow('nested more than 64 levels deep')
  })

  it('throws ExpressionError when a placeholder fails at render time', () => {
    const template = parseJsonTemplate({ ratio: '{{ steps.revenue.rows[0].total / steps.empty.row_count }}' })
    expect(() => template.render(scope)).toThrow(ExpressionError)
  })
})

describe('parseTextTemplate', () => {
  it('interpolates every placeholder, objects and arrays as JSON, nothing for null', () => {
    const template = parseTextTemplate(
      'Subject: {{workflow.name}}: {{ count(steps.sales.rows) }} rows, first {{ steps.sales.rows[0] }}, ' +
        "amount {{ steps.sales.rows[2].amount }}!, quoted {{ steps.x.y == '}}' ? 1 : 'ok' }}, {{ steps.avg.rows }}",
    )
    expect(template.stepNames).toEqual(['sales', 'x', 'avg'])
    expect(template.render(scope)).toBe(
      'Subject: Revenue watch: 3 rows, first {"country":"USA","amount":"10.00"}, amount !, quoted ok, [{"avg":100}]',
    )
  })

  it('renders a text without placeholders unchanged, and a lone placeholder as text', () => {
    expect(parseTextTemplate('Hello } { }').render({})).toBe('Hello } { }')
    expect(parseTextTemplate('{{ count(steps.sales.rows) }}').render(scope)).toBe('3')
  })

  it('names the placeholder that does not parse', () => {
    expect(() => parseTextTemplate('Hi {{ steps.a.b ) }}')).toThrow("{{ steps.a.b ) }}: unexpected ')' at character 16")
    expect(() => parseTextTemplate('{{ process.env }}')).toThrow("unknown name 'process'")
  })
})
