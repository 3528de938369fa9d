import type { Token } from './text.js'

/**
 * The offline engine's date grammar: absolute and relative ranges read from the question's words, as
 * half-open UTC day ranges [from, to). `now` is injected, so the same question always means the same days.
 *
 *   in 2024 · in March 2024 · March of 2024 · in Q1 2024 · the first quarter of 2024 · on 2024-03-05 ·
 *   on March 5, 2024 · 5 March 2024 · last/previous/this/current year|quarter|month|week · today · yesterday ·
 *   last|past N days|weeks|months|years (a rolling window ending today) · the past year|month|week (rolling) ·
 *   since X · after X · before X · until|through X · between X and Y · from X to|until|through Y
 *
 * A month or a quarter without a year is not a range here ("in March": of which year?), it is an error.
 */

export interface DateRange {
  /** Inclusive; null: open. */
  from: Date | null
  /** Exclusive; null: open. */
  to: Date | null
  /** The words it was read from, for the explanation. */
  text: string
}

export type DateParse = { range: DateRange; end: number } | { error: string; end: number } | null

const MONTHS: Record<string, number> = {
  january: 0,
  jan: 0,
  february: 1,
  feb: 1,
  march: 2,
  mar: 2,
  april: 3,
  apr: 3,
  may: 4,
  june: 5,
  jun: 5,
  july: 6,
  jul: 6,
  august: 7,
  aug: 7,
  september: 8,
  sep: 8,
  sept: 8,
  october: 9,
  oct: 9,
  november: 10,
  nov: 10,
  december: 11,
  dec: 11,
}

const ORDINAL_QUARTERS: Record<string, number> = { first: 1, second: 2, third: 3, fourth: 4, last: 4 }
const UNITS = new Set(['day', 'week', 'month', 'quarter', 'year'])
type Unit = 'day' | 'week' | 'month' | 'quarter' | 'year'

const day = (year: number, month: number, date = 1) => new Date(Date.UTC(year, month, date))
const startOfDay = (now: Date) => day(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())

function add(date: Date, unit: Unit, n: number): Date {
  const y = date.getUTCFullYear()
  const m = date.getUTCMonth()
  const d = date.getUTCDate()
  switch (unit) {
    case 'day':
      return day(y, m, d + n)
    case 'week':
      return day(y, m, d + 7 * n)
    case 'month':
      return clampedMonth(y, m + n, d)
    case 'quarter':
      return clampedMonth(y, m + 3 * n, d)
    case 'year':
      return clampedMonth(y + n, m, d)
  }
}

/** Same day of another month, or its last day when it has fewer (31 March − 1 month = 28/29 February). */
function clampedMonth(year: number, month: number, date: number): Date {
  const last = day(year, month + 1, 0).getUTCDate()
  return day(year, month, Math.min(date, last))
}

/** The calendar unit holding `date`: its first day. Weeks start on Monday. */
function startOf(date: Date, unit: Unit): Date {
  const y = date.getUTCFullYear()
  const m = date.getUTCMonth()
  switch (unit) {
    case 'day':
      return startOfDay(date)
    case 'week':
      return day(y, m, date.getUTCDate() - ((date.getUTCDay() + 6) % 7))
    case 'month':
      return day(y, m)
    case 'quarter':
      return day(y, m - (m % 3))
    case 'year':
      return day(y, 0)
  }
}

const isYear = (token: Token | undefined): token is Token & { number: number } =>
  token?.number !== undefined && /^\d{4}$/.test(token.text) && token.number >= 1900 && token.number <= 2100

const words = (tokens: readonly Token[], start: number, end: number) =>
  tokens
    .slice(start, end)
    .map((token) => token.raw)
    .join(' ')

const unitOf = (token: Token | undefined): Unit | null => (token && UNITS.has(token.stem) ? (token.stem as Unit) : null)

/** A year at `j`: written (2024) or relative (last year, this year); with the index after it. */
function yearAt(tokens: readonly Token[], j: number, now: Date): { year: number; end: number } | null {
  const token = tokens[j]
  if (isYear(token)) return { year: token.number, end: j + 1 }
  const offset = { last: -1, previous: -1, this: 0, current: 0 }[token?.text ?? '']
  if (offset !== undefined && tokens[j + 1]?.stem === 'year') return { year: now.getUTCFullYear() + offset, end: j + 2 }
  return null
}

/** A period (a day, month, quarter or year) starting at `i`, with the index after it. */
function period(tokens: readonly Token[], i: number, now: Date): DateParse {
  const token = tokens[i]
  if (!token) return null
  const next = tokens[i + 1]
  if (token.isoDate) {
    const [y, m, d] = token.isoDate.split('-').map(Number) as [number, number, number]
    const from = day(y, m - 1, d)
    if (from.getUTCMonth() !== m - 1) return { error: `${token.raw} is not a date`, end: i + 1 }
    return { range: { from, to: add(from, 'day', 1), text: token.raw }, end: i + 1 }
  }
  if (isYear(token)) {
    return { range: { from: day(token.number, 0), to: day(token.number + 1, 0), text: token.raw }, end: i + 1 }
  }
  // q1 2024, q1 of 2024
  const quarter = /^q([1-4])$/.exec(token.text)
  const ordinalQuarter =
    ORDINAL_QUARTERS[token.text] !== undefined &&
    next?.stem === 'quarter' &&
    (token.text !== 'last' ||
      isYear(tokens[i + 2]) ||
      (tokens[i + 2]?.text === 'of' && yearAt(tokens, i + 3, now) !== null))
  if (quarter || ordinalQuarter) {
    const q = quarter ? Number(quarter[1]) : ORDINAL_QUARTERS[token.text]!
    let j = quarter ? i + 1 : i + 2
    if (tokens[j]?.text === 'of') j++
    const year = yearAt(tokens, j, now)
    if (!year) return { error: `"${words(tokens, i, j)}" needs a year`, end: j }
    const from = day(year.year, 3 * (q - 1))
    return { range: { from, to: add(from, 'quarter', 1), text: words(tokens, i, year.end) }, end: year.end }
  }
  const month = MONTHS[token.text]
  if (month !== undefined && !(token.text === 'may' && !isYear(next) && countDay(next) === null)) {
    // March 5 2024, March 5th, 2024
    const date = countDay(next)
    if (date !== null && isYear(tokens[i + 2])) {
      return single(tokens, i, i + 3, tokens[i + 2]!.number!, month, date)
    }
    let j = i + 1
    if (tokens[j]?.text === 'of') j++
    const year = yearAt(tokens, j, now)
    if (year) {
      const from = day(year.year, month)
      return { range: { from, to: add(from, 'month', 1), text: words(tokens, i, year.end) }, end: year.end }
    }
    return { error: `"${token.raw}" needs a year`, end: i + 1 }
  }
  // 5 March 2024
  const date = countDay(token)
  if (date !== null && next && MONTHS[next.text] !== undefined && isYear(tokens[i + 2])) {
    return single(tokens, i, i + 3, tokens[i + 2]!.number!, MONTHS[next.text]!, date)
  }
  // the first half of 2024
  if ((token.text === 'first' || token.text === 'second') && next?.text === 'half') {
    let j = i + 2
    if (tokens[j]?.text === 'of') j++
    const year = tokens[j]
    if (!isYear(year)) return { error: `"${words(tokens, i, j)}" needs a year`, end: j }
    const from = day(year.number, token.text === 'first' ? 0 : 6)
    return { range: { from, to: add(from, 'month', 6), text: words(tokens, i, j + 1) }, end: j + 1 }
  }
  // the year (month, quarter, week) before last
  if (unitOf(token) && next?.text === 'before' && tokens[i + 2]?.text === 'last') {
    const unit = unitOf(token)!
    const from = add(startOf(now, unit), unit, -2)
    return { range: { from, to: add(from, unit, 1), text: words(tokens, i, i + 3) }, end: i + 3 }
  }
  // relative: last year, this month, the past 3 months, last 30 days, today, yesterday
  if (token.text === 'today' || token.text === 'yesterday') {
    const from = add(startOfDay(now), 'day', token.text === 'today' ? 0 : -1)
    return { range: { from, to: add(from, 'day', 1), text: token.raw }, end: i + 1 }
  }
  if (['last', 'previous', 'past', 'this', 'current'].includes(token.text)) {
    const unit = unitOf(next)
    if (unit) {
      if (token.text === 'past') {
        const to = add(startOfDay(now), 'day', 1)
        return { range: { from: add(to, unit, -1), to, text: words(tokens, i, i + 2) }, end: i + 2 }
      }
      const from = add(startOf(now, unit), unit, token.text === 'this' || token.text === 'current' ? 0 : -1)
      return { range: { from, to: add(from, unit, 1), text: words(tokens, i, i + 2) }, end: i + 2 }
    }
    const n = countDay(next)
    const rolling = unitOf(tokens[i + 2])
    if (n !== null && n > 0 && rolling && token.text !== 'this' && token.text !== 'current') {
      const to = add(startOfDay(now), 'day', 1)
      return { range: { from: add(to, rolling, -n), to, text: words(tokens, i, i + 3) }, end: i + 3 }
    }
  }
  return null
}

function single(
  tokens: readonly Token[],
  i: number,
  end: number,
  year: number,
  month: number,
  date: number,
): DateParse {
  const from = day(year, month, date)
  if (from.getUTCMonth() !== month) return { error: `"${words(tokens, i, end)}" is not a date`, end }
  return { range: { from, to: add(from, 'day', 1), text: words(tokens, i, end) }, end }
}

const NUMBER_WORDS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve']

function countDay(token: Token | undefined): number | null {
  if (!token) return null
  if (token.number !== undefined && Number.isInteger(token.number) && token.number >= 1 && token.number <= 366) {
    return token.currency ? null : token.number
  }
  const word = NUMBER_WORDS.indexOf(token.text)
  return word >= 0 ? word + 1 : null
}

const LEADING = new Set(['in', 'during', 'for', 'of', 'on', 'over', 'within'])

/**
 * A date range starting at `i` (after an optional `in`, `during`, `on`, `the`, …), or null when the words
 * there are not a date. An error names a date that cannot be read as a range.
 */
export function parseDateRange(tokens: readonly Token[], i: number, now: Date): DateParse {
  let j = i
  while (tokens[j] && (LEADING.has(tokens[j]!.text) || tokens[j]!.text === 'the')) j++
  const head = tokens[j]?.text
  if (
    head === 'since' ||
    head === 'after' ||
    head === 'before' ||
    head === 'until' ||
    head === 'through' ||
    head === 'till'
  ) {
    // since the start of last year: since last year
    let k = j + 1
    if (
      tokens[k]?.text === 'the' &&
      ['start', 'beginning'].includes(tokens[k + 1]?.text ?? '') &&
      tokens[k + 2]?.text === 'of'
    ) {
      k += 3
    }
    const point = period(tokens, k, now)
    if (!point || 'error' in point) return point
    const { from, to } = point.range
    const text = `${tokens[j]!.raw} ${point.range.text}`
    const range =
      head === 'since'
        ? { from, to: null }
        : head === 'after'
          ? { from: to, to: null }
          : head === 'before'
            ? { from: null, to: from }
            : { from: null, to }
    return { range: { ...range, text }, end: point.end }
  }
  if (head === 'between' || head === 'from') {
    const first = period(tokens, j + 1, now)
    if (!first || 'error' in first) return first
    const joiner = tokens[first.end]?.text
    const ok = head === 'between' ? joiner === 'and' : joiner === 'to' || joiner === 'until' || joiner === 'through'
    if (!ok) return head === 'from' ? null : { error: `"between ${first.range.text}" needs an end`, end: first.end }
    const second = period(tokens, first.end + 1, now)
    if (!second) return { error: `"${words(tokens, j, first.end + 2)}" does not end with a date`, end: first.end + 1 }
    if ('error' in second) return second
    const range = { from: first.range.from, to: second.range.to, text: words(tokens, j, second.end) }
    if (range.from && range.to && range.from >= range.to)
      return { error: `"${range.text}" is an empty range`, end: second.end }
    return { range, end: second.end }
  }
  const found = period(tokens, j, now)
  if (!found) return null
  return found
}

/** `YYYY-MM-DD` of a range boundary. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10)
}
