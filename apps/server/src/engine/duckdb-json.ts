/**
 * DuckDB's JSON trees (json_serialize_sql, json_serialize_plan), read and written back without
 * changing a number. JSON.parse rounds every integer beyond 2^53: a BIGINT literal, the halves of a
 * HUGEINT or of a wide DECIMAL, UINT64_MAX for an unknown position. Here those are bigints. Going
 * back, DuckDB refuses a DOUBLE written as an integer (JSON.stringify writes 1e10 as `10000000000`
 * and -0 as `0`), so doubles keep a point. Non-finite doubles, which DuckDB writes as the bare words
 * Infinity and NaN, are read and written as such (its own reader then refuses them).
 */

/** The number of an integer token as JavaScript holds it: a number when exact, else a bigint. */
function integer(token: string): number | bigint {
  const number = Number(token)
  return Number.isSafeInteger(number) ? number : BigInt(token)
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y
const WORD = /-?Infinity|NaN|true|false|null/y
const WORDS: Record<string, unknown> = {
  true: true,
  false: false,
  null: null,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  NaN: NaN,
}

const QUOTE = 34
const BACKSLASH = 92
const OPEN_OBJECT = 123
const CLOSE_OBJECT = 125
const OPEN_ARRAY = 91
const CLOSE_ARRAY = 93
const COMMA = 44
const COLON = 58

/** Parses DuckDB's JSON text, integers beyond 2^53 as bigints. */
export function parseDuckJson(text: string): unknown {
  let at = 0
  const fail = (): never => {
    throw new SyntaxError(`invalid JSON from DuckDB at offset ${at}`)
  }
  /** The next character that is not white space, as a char code (NaN at the end). */
  const next = (): number => {
    let code = text.charCodeAt(at)
    while (code === 32 || code === 10 || code === 13 || code === 9) code = text.charCodeAt(++at)
    return code
  }
  const expect = (code: number) => {
    if (next() !== code) fail()
    at++
  }
  const string = (): string => {
    const start = at
    let end = text.indexOf('"', at + 1)
    for (;;) {
      if (end < 0) return fail()
      let backslashes = 0
      while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++
      if (backslashes % 2 === 0) break
      end = text.indexOf('"', end + 1)
    }
    at = end + 1
    const raw = text.slice(start + 1, end)
    // Escapes are JSON.parse's to decode.
    return raw.includes('\\') ? (JSON.parse(text.slice(start, at)) as string) : raw
  }
  const value = (): unknown => {
    const code = next()
    if (code === QUOTE) return string()
    if (code === OPEN_OBJECT) {
      at++
      const object: Record<string, unknown> = {}
      if (next() === CLOSE_OBJECT) {
        at++
        return object
      }
      for (;;) {
        if (next() !== QUOTE) fail()
        const key = string()
        expect(COLON)
        const item = value()
        // As JSON.parse: a key `__proto__` is a property, not the object's prototype.
        if (key === '__proto__') Object.defineProperty(object, key, { value: item, enumerable: true, writable: true })
        else object[key] = item
        const after = next()
        at++
        if (after === CLOSE_OBJECT) return object
        if (after !== COMMA) fail()
      }
    }
    if (code === OPEN_ARRAY) {
      at++
      const array: unknown[] = []
      if (next() === CLOSE_ARRAY) {
        at++
        return array
      }
      for (;;) {
        array.push(value())
        const after = next()
        at++
        if (after === CLOSE_ARRAY) return array
        if (after !== COMMA) fail()
      }
    }
    NUMBER.lastIndex = at
    const number = NUMBER.exec(text)
    if (number) {
      at = NUMBER.lastIndex
      return number[1] === undefined && number[2] === undefined ? integer(number[0]) : Number(number[0])
    }
    WORD.lastIndex = at
    const word = WORD.exec(text)
    if (!word) return fail()
    at = WORD.lastIndex
    return WORDS[word[0]]
  }
  const result = value()
  if (!Number.isNaN(next())) fail()
  return result
}

export interface StringifyOptions {
  /** Keys left out wherever they are, as a JSON.stringify replacer returning undefined would. */
  omit?: ReadonlySet<string>
}

/** DuckDB's types whose values are doubles in its JSON. */
const DOUBLE_TYPES = new Set(['DOUBLE', 'FLOAT'])

/** Where JSON.stringify wrote a stand-in for text of ours: `"\u0000<index>"`. */
const STAND_IN = /"\\u0000(\d+)"/g

/** Writes a tree read by parseDuckJson (or built like one) back as DuckDB reads it. */
export function stringifyDuckJson(tree: unknown, options: StringifyOptions = {}): string {
  // JSON.stringify does the work (several times faster than building the text here); what it cannot
  // write goes in as a stand-in string that starts with U+0000, which JSON.stringify escapes. Strings
  // holding U+0000 themselves are written as stand-ins too, so every one found is one of ours.
  const texts: string[] = []
  const standIn = (text: string) => `\u0000${texts.push(text) - 1}`
  const json = JSON.stringify(tree, function (this: unknown, key: string, value: unknown) {
    if (options.omit?.has(key)) return undefined
    switch (typeof value) {
      case 'bigint':
        return standIn(value.toString())
      case 'string':
        return value.includes('\u0000') ? standIn(JSON.stringify(value)) : value
      case 'number':
        if (!Number.isFinite(value)) return standIn(String(value))
        return key === 'value' && isDoubleValue(this) ? standIn(doubleText(value)) : value
      default:
        return value
    }
  })
  return texts.length === 0 ? json : json.replace(STAND_IN, (_, index: string) => texts[Number(index)]!)
}

/** A Value of a floating point type: `{type: {id: 'DOUBLE', …}, is_null, value}`. */
function isDoubleValue(holder: unknown): boolean {
  const type = (holder as { type?: { id?: unknown } | null }).type
  return typeof type === 'object' && type !== null && DOUBLE_TYPES.has(type.id as string)
}

/** A finite double as DuckDB's reader takes one: with a point or an exponent, -0 keeping its sign. */
function doubleText(value: number): string {
  if (Object.is(value, -0)) return '-0.0'
  const text = String(value)
  return /[.eE]/.test(text) ? text : `${text}.0`
}

/**
 * DuckDB prints a DOUBLE constant as a plain decimal number (`2.5e0` as `2.5`), which it then reads
 * back as a DECIMAL: `0.1e0 + 0.2e0` would become 0.3. Each such constant in a parse tree becomes the
 * cast of its shortest text (as JavaScript writes it, which reads back as the same double) instead.
 * Changes the tree in place; returns whether it found any.
 */
export function castDoubleConstants(tree: unknown): boolean {
  let changed = false
  const visit = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return
    if (Array.isArray(node)) return node.forEach(visit)
    const expression = node as Record<string, unknown>
    const value = expression['value'] as { type: { id: string }; is_null: unknown; value: unknown } | undefined
    if (expression['class'] !== 'CONSTANT' || !isDoubleValue(value) || value!.is_null !== false) {
      return Object.values(expression).forEach(visit)
    }
    const double = value!.value as number
    const cast = {
      class: 'CAST',
      type: 'OPERATOR_CAST',
      alias: expression['alias'],
      query_location: expression['query_location'],
      child: {
        class: 'CONSTANT',
        type: 'VALUE_CONSTANT',
        alias: '',
        query_location: expression['query_location'],
        value: {
          type: { id: 'VARCHAR', type_info: null },
          is_null: false,
          value: Object.is(double, -0) ? '-0' : String(double),
        },
      },
      cast_type: { id: value!.type.id, type_info: null },
      try_cast: false,
    }
    for (const key of Object.keys(expression)) delete expression[key]
    Object.assign(expression, cast)
    changed = true
  }
  visit(tree)
  return changed
}

/**
 * The integer a DuckDB Value holds: a JSON integer (a bigint beyond 2^53), or a HUGEINT's halves
 * `{upper, lower}` (as wide DECIMALs are stored). Undefined for anything else.
 */
export function valueInteger(value: unknown): bigint | undefined {
  const exact = (part: unknown) =>
    typeof part === 'bigint' ? part : Number.isSafeInteger(part) ? BigInt(part as number) : undefined
  if (typeof value !== 'object' || value === null) return exact(value)
  const { upper, lower } = value as Record<string, unknown>
  const high = exact(upper)
  const low = exact(lower)
  return high === undefined || low === undefined ? undefined : (high << 64n) + low
}
