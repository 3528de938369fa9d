import { quoteIdentifier, quoteLiteral } from '../../../engine/duckdb-sql.js'
import type { AskSchema, OfflineAnswer, PreviousTurn } from '../ask-schema.js'
import { type DateRange, isoDay, parseDateRange } from './dates.js'
import {
  type ColumnInfo,
  joinPath,
  type JoinStep,
  type Lexicon,
  lexiconOf,
  matchPhrase,
  type Ref,
  STRENGTH,
  type TableInfo,
} from './lexicon.js'
import { countOf, QUIET, type Token, tokenize } from './text.js'

/**
 * The offline engine: a question answered from the semantic layer alone, with no language model.
 *
 * Every word of the question must be understood: as a word of the grammar (how many, total, average,
 * top 5, per, in March 2024, more than 10, …), a word that says nothing (the, show, of, …), or a name of
 * the semantic layer (a table, a column, a categorical value, a word of a description). Anything else, and
 * anything that could mean two things (a column in two tables, two paths between tables, a sum over a
 * join that repeats rows), is answered `{answered: false, reason}` naming it: a refusal is better than a
 * wrong answer. Golden SQL is matched before this, by `matchGolden`.
 *
 * Pure and synchronous: the lexicon is built once per schema object and kept in a WeakMap.
 */
export function answerOffline(question: string, schema: AskSchema, previous?: PreviousTurn): OfflineAnswer {
  const lexicon = lexiconOf(schema)
  if (lexicon.tables.length === 0) return refuse('no table may be used to answer questions')
  const scanned = scan(question, lexicon, schema.now)
  if (!scanned.ok) return refuse(scanned.reason)
  let items = scanned.items
  if (
    scanned.followUp ||
    !(items.some(isSubject) || (items.some((item) => item.kind === 'names') && items.some(isValueItem)))
  ) {
    if (!previous) {
      return refuse(
        scanned.followUp
          ? 'this reads as a follow-up question, and there is no previous question to follow'
          : 'the question names nothing to count, sum or list',
      )
    }
    const before = scan(previous.question, lexicon, schema.now)
    if (!before.ok) return refuse(`the previous question was not one the offline engine understood: ${before.reason}`)
    const prior = interpret(before.items, lexicon)
    if (!prior.ok || !sameSql(prior.sql, previous.sql)) {
      return refuse('the previous answer was not written by the offline engine, so it cannot be changed here')
    }
    items = merge(before.items, items)
  }
  const result = interpret(items, lexicon)
  return result.ok ? { answered: true, sql: result.sql, explanation: result.explanation } : refuse(result.reason)
}

const refuse = (reason: string): OfflineAnswer => ({ answered: false, reason })
const sameSql = (a: string, b: string) => a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim()

// ---------------------------------------------------------------------------------------------------------
// Words → items

type Aggregate = 'count' | 'sum' | 'avg' | 'min' | 'max'
type Direction = 'desc' | 'asc'
type Op = '>' | '>=' | '<' | '<=' | '='
type DateUnit = 'year' | 'quarter' | 'month' | 'week' | 'day'

type Item =
  | { kind: 'aggregate'; aggregate: Aggregate; text: string }
  | { kind: 'distinct' }
  | {
      kind: 'superlative'
      direction: Direction
      text: string
      /** "the oldest employee": ranked by this date (a birth date) rather than by a count. */
      byDate?: ColumnInfo
    }
  | { kind: 'top'; direction: Direction; n: number | null; text: string }
  | { kind: 'number'; n: number; text: string }
  | { kind: 'group'; text: string }
  | { kind: 'by' }
  | { kind: 'which' }
  | {
      kind: 'schema'
      refs: { ref: Ref; strength: number }[]
      text: string
      /** The quiet words right before it ("the", "in"): a table beside a value only qualifies it across few. */
      gap?: string[]
    }
  | {
      kind: 'compare'
      op: Op
      value: number
      text: string
      currency?: boolean
      /** "above the average invoice total": compared with the column's average over the whole table. */
      average?: boolean
      /** "artist id 22": a key column equal to a number. */
      key?: boolean
    }
  /** "no composer", "has a fax": a column empty or filled in; "no albums": no row of a table. */
  | { kind: 'null'; isNull: boolean; target: SchemaItemOf; text: string }
  | { kind: 'date'; range: DateRange }
  | { kind: 'dategroup'; unit: DateUnit; text: string; which?: boolean }
  /** "first and last name": a person's name columns. */
  | { kind: 'names' }
  /** "with their …": the columns after it are shown beside the name. */
  | { kind: 'with' }
  /** "in minutes": the unit a duration measure is shown in. */
  | { kind: 'unit'; unit: 'second' | 'minute' | 'hour' }

type SchemaItem = Extract<Item, { kind: 'schema' }>
interface SchemaItemOf {
  kind: 'schema'
  refs: { ref: Ref; strength: number }[]
  text: string
  gap?: string[]
}

/** Words the engine understands and does not answer: a refusal names them. */
const UNSUPPORTED: Record<string, string> = {
  not: 'negation ("not")',
  no: 'negation ("no")',
  without: 'negation ("without")',
  except: 'exclusions ("except")',
  excluding: 'exclusions ("excluding")',
  never: 'negation ("never")',
  or: 'alternatives ("or")',
  nor: 'negation ("nor")',
  percent: 'percentages',
  percentage: 'percentages',
  ratio: 'ratios',
  share: 'shares of a total',
  median: 'medians',
  growth: 'growth rates',
  compare: 'comparisons',
  compared: 'comparisons',
  versus: 'comparisons',
  vs: 'comparisons',
  difference: 'differences',
  increase: 'changes over time',
  decrease: 'changes over time',
  trend: 'trends',
  than: 'comparisons ("than")',
  why: 'explanations ("why")',
  predict: 'predictions',
  forecast: 'predictions',
  delete: 'changes to data',
  update: 'changes to data',
  insert: 'changes to data',
  drop: 'changes to data',
}

const PHRASES: { words: string[]; item: Item | null }[] = [
  { words: ['how', 'many'], item: { kind: 'aggregate', aggregate: 'count', text: 'how many' } },
  { words: ['number', 'of'], item: { kind: 'aggregate', aggregate: 'count', text: 'number of' } },
  { words: ['count', 'of'], item: { kind: 'aggregate', aggregate: 'count', text: 'count of' } },
  { words: ['count'], item: { kind: 'aggregate', aggregate: 'count', text: 'count' } },
  { words: ['sum', 'of'], item: { kind: 'aggregate', aggregate: 'sum', text: 'sum of' } },
  { words: ['sum'], item: { kind: 'aggregate', aggregate: 'sum', text: 'sum' } },
  { words: ['average'], item: { kind: 'aggregate', aggregate: 'avg', text: 'average' } },
  { words: ['avg'], item: { kind: 'aggregate', aggregate: 'avg', text: 'average' } },
  { words: ['mean'], item: { kind: 'aggregate', aggregate: 'avg', text: 'average' } },
  { words: ['maximum'], item: { kind: 'aggregate', aggregate: 'max', text: 'maximum' } },
  { words: ['max'], item: { kind: 'aggregate', aggregate: 'max', text: 'maximum' } },
  { words: ['minimum'], item: { kind: 'aggregate', aggregate: 'min', text: 'minimum' } },
  { words: ['min'], item: { kind: 'aggregate', aggregate: 'min', text: 'minimum' } },
  { words: ['different'], item: { kind: 'distinct' } },
  { words: ['distinct'], item: { kind: 'distinct' } },
  { words: ['unique'], item: { kind: 'distinct' } },
  { words: ['most'], item: { kind: 'superlative', direction: 'desc', text: 'most' } },
  { words: ['highest'], item: { kind: 'superlative', direction: 'desc', text: 'highest' } },
  { words: ['largest'], item: { kind: 'superlative', direction: 'desc', text: 'largest' } },
  { words: ['biggest'], item: { kind: 'superlative', direction: 'desc', text: 'biggest' } },
  { words: ['greatest'], item: { kind: 'superlative', direction: 'desc', text: 'greatest' } },
  { words: ['least'], item: { kind: 'superlative', direction: 'asc', text: 'least' } },
  { words: ['fewest'], item: { kind: 'superlative', direction: 'asc', text: 'fewest' } },
  { words: ['lowest'], item: { kind: 'superlative', direction: 'asc', text: 'lowest' } },
  { words: ['smallest'], item: { kind: 'superlative', direction: 'asc', text: 'smallest' } },
  { words: ['grouped', 'by'], item: { kind: 'group', text: 'grouped by' } },
  { words: ['group', 'by'], item: { kind: 'group', text: 'grouped by' } },
  { words: ['broken', 'down', 'by'], item: { kind: 'group', text: 'broken down by' } },
  { words: ['split', 'by'], item: { kind: 'group', text: 'split by' } },
  { words: ['for', 'each'], item: { kind: 'group', text: 'for each' } },
  { words: ['for', 'every'], item: { kind: 'group', text: 'for each' } },
  { words: ['in', 'each'], item: { kind: 'group', text: 'in each' } },
  { words: ['per'], item: { kind: 'group', text: 'per' } },
  { words: ['each'], item: { kind: 'group', text: 'each' } },
  { words: ['every'], item: { kind: 'group', text: 'each' } },
  { words: ['by'], item: { kind: 'by' } },
  { words: ['which'], item: { kind: 'which' } },
  { words: ['what'], item: { kind: 'which' } },
  { words: ['who'], item: { kind: 'which' } },
  { words: ['yearly'], item: { kind: 'dategroup', unit: 'year', text: 'per year' } },
  { words: ['annual'], item: { kind: 'dategroup', unit: 'year', text: 'per year' } },
  { words: ['annually'], item: { kind: 'dategroup', unit: 'year', text: 'per year' } },
  { words: ['quarterly'], item: { kind: 'dategroup', unit: 'quarter', text: 'per quarter' } },
  { words: ['monthly'], item: { kind: 'dategroup', unit: 'month', text: 'per month' } },
  { words: ['weekly'], item: { kind: 'dategroup', unit: 'week', text: 'per week' } },
  { words: ['daily'], item: { kind: 'dategroup', unit: 'day', text: 'per day' } },
  { words: ['best', 'selling'], item: { kind: 'superlative', direction: 'desc', text: 'best selling' } },
  { words: ['best', 'sellers'], item: { kind: 'superlative', direction: 'desc', text: 'best selling' } },
  { words: ['how', 'much'], item: null },
  { words: ['are', 'there'], item: null },
  { words: ['in', 'total'], item: null },
  { words: ['total', 'number', 'of'], item: { kind: 'aggregate', aggregate: 'count', text: 'number of' } },
]

const COMPARISONS: { words: string[]; op: Op }[] = [
  { words: ['more', 'than'], op: '>' },
  { words: ['greater', 'than'], op: '>' },
  { words: ['higher', 'than'], op: '>' },
  { words: ['larger', 'than'], op: '>' },
  { words: ['bigger', 'than'], op: '>' },
  { words: ['over'], op: '>' },
  { words: ['above'], op: '>' },
  { words: ['exceeding'], op: '>' },
  { words: ['at', 'least'], op: '>=' },
  { words: ['or', 'more'], op: '>=' },
  { words: ['less', 'than'], op: '<' },
  { words: ['fewer', 'than'], op: '<' },
  { words: ['lower', 'than'], op: '<' },
  { words: ['smaller', 'than'], op: '<' },
  { words: ['under'], op: '<' },
  { words: ['below'], op: '<' },
  { words: ['at', 'most'], op: '<=' },
  { words: ['equal', 'to'], op: '=' },
  { words: ['exactly'], op: '=' },
  { words: ['of', 'exactly'], op: '=' },
  { words: ['only'], op: '=' },
  { words: ['just'], op: '=' },
]

/** "longer than 10 minutes": comparisons of a length, with the length column's unit converted. */
const LENGTH_COMPARISONS: { words: string[]; op: Op }[] = [
  { words: ['longer', 'than'], op: '>' },
  { words: ['shorter', 'than'], op: '<' },
]
const DURATIONS: Record<string, number> = { millisecond: 1, second: 1000, minute: 60_000, hour: 3_600_000 }

/** Words that say a column is empty, or that there is no row of a table ("no composer", "no albums"). */
const NEGATIONS = [
  ['don', 't', 'have'],
  ['doesn', 't', 'have'],
  ['didn', 't', 'have'],
  ['do', 'not', 'have'],
  ['does', 'not', 'have'],
  ['no'],
  ['without'],
  ['missing'],
  ['lacking'],
  ['lack'],
  ['lacks'],
]
/** Words that say a column is filled in ("has a company", "with a fax number"). */
const HAS_ONE = [
  ['has', 'a'],
  ['has', 'an'],
  ['have', 'a'],
  ['have', 'an'],
  ['having', 'a'],
  ['with', 'a'],
  ['with', 'an'],
]
/** Words after a column that say nothing more about it ("a company name", "a fax number filled in"). */
const COLUMN_FILLER = new Set([
  'name',
  'number',
  'address',
  'value',
  'field',
  'filled',
  'in',
  'set',
  'given',
  'recorded',
  'provided',
  'entered',
])
/** Verbs that say rows of a table were sold: read through the line table that sells them. */
const SOLD = new Set(['sold', 'sell', 'bought', 'purchased', 'ordered'])
/** "when was the first invoice": the earliest or latest date of a table. */
const FIRST_LAST: Record<string, 'min' | 'max'> = {
  first: 'min',
  earliest: 'min',
  latest: 'max',
  newest: 'max',
  last: 'max',
}

const UNIT_WORDS: Record<string, DateUnit> = {
  year: 'year',
  quarter: 'quarter',
  month: 'month',
  week: 'week',
  day: 'day',
}

const NAME_PHRASES = [
  ['first', 'and', 'last', 'name'],
  ['first', 'name', 'and', 'last', 'name'],
  ['full', 'name'],
]
const WITH_PHRASES = [
  ['with', 'their'],
  ['with', 'its'],
  ['along', 'with'],
  ['and', 'their'],
  ['including', 'their'],
]
const ADJECTIVES: Record<string, { direction: Direction; concept: string }> = {
  longest: { direction: 'desc', concept: 'length' },
  shortest: { direction: 'asc', concept: 'length' },
}

const fitsStems = (tokens: readonly Token[], i: number, words: readonly string[]) =>
  words.every((word, k) => tokens[i + k]?.stem === word)

const FOLLOW_UP_OPENERS = [['and'], ['what', 'about'], ['how', 'about'], ['now'], ['same'], ['but']]

type Scan = { ok: true; items: Item[]; followUp: boolean } | { ok: false; reason: string }

const fits = (tokens: readonly Token[], i: number, words: readonly string[]) =>
  words.every((word, k) => tokens[i + k]?.text === word)

function scan(question: string, lexicon: Lexicon, now: Date): Scan {
  const tokens = tokenize(question)
  if (tokens.length === 0) return { ok: false, reason: 'the question has no words' }
  const items: Item[] = []
  const skipped: string[] = []
  const push = (item: Item) => {
    if (item.kind === 'schema') item.gap = skipped.slice()
    skipped.length = 0
    items.push(item)
  }
  let i = 0
  let followUp = false
  for (const opener of FOLLOW_UP_OPENERS) {
    if (fits(tokens, 0, opener)) {
      followUp = true
      i = opener.length
      break
    }
  }
  while (i < tokens.length) {
    const token = tokens[i]!
    // n or more
    if (token.number !== undefined && fits(tokens, i + 1, ['or', 'more'])) {
      push({ kind: 'compare', op: '>=', value: token.number, text: `${token.raw} or more` })
      i += 3
      continue
    }
    // longer than 10 minutes, shorter than the average track
    const lengthComparison = LENGTH_COMPARISONS.find((candidate) => fits(tokens, i, candidate.words))
    if (lengthComparison) {
      const j = i + lengthComparison.words.length
      const lengths = conceptMeasures(lexicon, 'length', token.raw)
      const value = tokens[j]
      const factor = DURATIONS[tokens[j + 1]?.stem ?? '']
      const text = `${lengthComparison.words.join(' ')} ${tokens
        .slice(j, j + 2)
        .map((t) => t.raw)
        .join(' ')}`
      if (value?.number !== undefined && !value.isoDate && factor !== undefined) {
        // The length column's own unit: milliseconds or seconds, said by its name.
        const units = [...new Set(lengths.map((ref) => durationUnitOf((ref.ref as { column: ColumnInfo }).column)))]
        if (units.length !== 1 || units[0] === null)
          return { ok: false, reason: `"${text}": the unit of the length is unknown` }
        push({ kind: 'schema', refs: lengths, text: 'length' })
        push({ kind: 'compare', op: lengthComparison.op, value: (value.number * factor) / units[0]!, text })
        i = j + 2
        continue
      }
      const average = averageOf(tokens, j, lexicon)
      if (average && average.table) {
        const own = lengths.filter((ref) => (ref.ref as { column: ColumnInfo }).column.table === average.table)
        if (own.length !== 1) return { ok: false, reason: `"${text}": which length of ${average.table.meta.table}?` }
        push({
          kind: 'compare',
          op: lengthComparison.op,
          value: Number.NaN,
          text: `${lengthComparison.words.join(' ')} the average`,
          average: true,
        })
        push({ kind: 'schema', refs: own, text: 'length' })
        i = average.end
        continue
      }
      return { ok: false, reason: `did not understand "${text}": longer than what?` }
    }
    // comparisons: more than 10, at least 5, over $20
    const comparison = COMPARISONS.find((candidate) => fits(tokens, i, candidate.words))
    if (comparison) {
      // above the average invoice total
      const average = averageOf(tokens, i + comparison.words.length, lexicon)
      if (average && average.column) {
        push({
          kind: 'compare',
          op: comparison.op,
          value: Number.NaN,
          text: `${comparison.words.join(' ')} the average`,
          average: true,
        })
        push(average.column)
        i = average.end
        continue
      }
      const value = tokens[i + comparison.words.length]
      const number = value?.number ?? countOf(value)
      if (value && number !== null && !value.isoDate) {
        push({
          kind: 'compare',
          op: comparison.op,
          value: number,
          text: `${comparison.words.join(' ')} ${value.raw}`,
          currency:
            value.currency === true ||
            ['dollar', 'euro', 'usd'].includes(tokens[i + comparison.words.length + 1]?.stem ?? ''),
        })
        i += comparison.words.length + 1
        continue
      }
    }
    // dates
    const date = parseDateRange(tokens, i, now)
    if (date) {
      if ('error' in date) return { ok: false, reason: `the date ${date.error}` }
      push({ kind: 'date', range: date.range })
      i = date.end
      continue
    }
    // per year, by month, each quarter
    const next = tokens[i + 1]
    if ((['per', 'by', 'each', 'every'].includes(token.text) || token.text === 'for') && next) {
      const offset = token.text === 'for' && ['each', 'every'].includes(next.text) ? 2 : 1
      const unit = token.text === 'for' && offset === 1 ? undefined : UNIT_WORDS[tokens[i + offset]?.stem ?? '']
      if (unit) {
        push({ kind: 'dategroup', unit, text: `per ${unit}` })
        i += offset + 1
        if (tokens[i]?.text === 'number') i++
        continue
      }
    }
    // "(month number)" after a grouping by month says how it is shown
    if (
      UNIT_WORDS[token.text] &&
      next?.text === 'number' &&
      items.some((item) => item.kind === 'dategroup' && item.unit === UNIT_WORDS[token.text])
    ) {
      i += 2
      continue
    }
    // in minutes, in seconds, in hours
    if (token.text === 'in' && ['second', 'minute', 'hour'].includes(next?.stem ?? '')) {
      push({ kind: 'unit', unit: next!.stem as 'second' | 'minute' | 'hour' })
      i += 2
      continue
    }
    // which month, what year: a date grouping
    if ((token.text === 'which' || token.text === 'what') && next && UNIT_WORDS[next.text]) {
      push({ kind: 'dategroup', unit: UNIT_WORDS[next.text]!, text: `per ${next.text}`, which: true })
      i += 2
      if (tokens[i]?.text === 'number') i++
      continue
    }
    // first and last name(s), first name and last name, full name
    const names = NAME_PHRASES.find((words) => fits(tokens, i, words) || fitsStems(tokens, i, words))
    if (names) {
      push({ kind: 'names' })
      i += names.length
      continue
    }
    const withWords = WITH_PHRASES.find((words) => fits(tokens, i, words))
    if (withWords) {
      push({ kind: 'with' })
      i += withWords.length
      continue
    }
    // when was the first invoice, date of the most recent invoice
    if (token.text === 'when' || (token.text === 'date' && next?.text === 'of')) {
      let j = i + 1
      while (tokens[j] && ['was', 'is', 'did', 'of', 'the', 'our', 'my', 'your', 'their'].includes(tokens[j]!.text)) j++
      const found = firstOrLast(tokens, j, lexicon)
      if (found) {
        push({ kind: 'aggregate', aggregate: found.aggregate, text: found.text })
        push({
          kind: 'schema',
          refs: [{ ref: { kind: 'column', column: found.column }, strength: STRENGTH.name }],
          text: found.column.name,
        })
        i = found.end
        continue
      }
    }
    // the oldest employee, the youngest customer: by birth date
    if (token.text === 'oldest' || token.text === 'youngest') {
      const phrase = matchPhrase(lexicon, tokens, i + 1)
      const table = phrase?.refs.length === 1 && phrase.refs[0]!.ref.kind === 'table' ? phrase.refs[0]!.ref.table : null
      const births = table?.dates.filter((column) => /birth/i.test(column.name)) ?? []
      if (births.length === 1) {
        push({
          kind: 'superlative',
          direction: token.text === 'oldest' ? 'asc' : 'desc',
          text: token.raw,
          byDate: births[0]!,
        })
        i++
        continue
      }
    }
    // no composer, without a fax number, doesn't have a state; no albums
    const negation = NEGATIONS.find((words) => fits(tokens, i, words))
    if (negation) {
      const found = columnAfter(tokens, i + negation.length, lexicon, true)
      if (found) {
        push({ kind: 'null', isNull: true, target: found.item, text: `${negation.join(' ')} ${found.item.text}` })
        i = found.end
        continue
      }
    }
    // has a company name filled in, with a fax number
    const hasOne = HAS_ONE.find((words) => fits(tokens, i, words))
    if (hasOne) {
      const found = columnAfter(tokens, i + hasOne.length, lexicon, false)
      if (found) {
        push({ kind: 'null', isNull: false, target: found.item, text: `${hasOne.join(' ')} ${found.item.text}` })
        i = found.end
        continue
      }
    }
    // never sold, never been bought: no row of the line table that sells it
    if (token.text === 'never') {
      let j = i + 1
      if (['been', 'was', 'were'].includes(tokens[j]?.text ?? '')) j++
      const sold = SOLD.has(tokens[j]?.text ?? '') ? soldThrough(lexicon, items) : null
      if (sold) {
        push({
          kind: 'null',
          isNull: true,
          target: {
            kind: 'schema',
            refs: [{ ref: { kind: 'table', table: sold.line }, strength: STRENGTH.name }],
            text: sold.line.meta.table,
          },
          text: `never ${tokens[j]!.raw}`,
        })
        i = j + 1
        continue
      }
    }
    // tracks sold, how many different tracks were bought, which media type sold the most tracks
    if (SOLD.has(token.text)) {
      const rewritten = rewriteSold(tokens, i, items, lexicon)
      if (rewritten) {
        if ('reason' in rewritten) return { ok: false, reason: rewritten.reason }
        items.splice(0, items.length, ...rewritten.items)
        skipped.length = 0
        i = rewritten.end
        continue
      }
    }
    // "in bytes" after the bytes were named: the column's own unit
    if (token.text === 'in' && next && namesColumnAlready(items, next.stem)) {
      i += 2
      continue
    }
    // longest, shortest: a superlative of the length
    const adjective = ADJECTIVES[token.text]
    if (adjective) {
      const concept = matchPhrase(lexicon, [{ text: adjective.concept, stem: adjective.concept, raw: token.raw }], 0)
      const measures = concept?.refs.filter((ref) => ref.ref.kind === 'column' && isMeasure(ref.ref.column)) ?? []
      if (measures.length > 0) {
        push({ kind: 'superlative', direction: adjective.direction, text: token.raw })
        push({ kind: 'schema', refs: measures, text: `${adjective.concept}` })
        i++
        continue
      }
    }
    // top 5, bottom 3, top (all, ranked), the 5 …
    if (token.text === 'top' || token.text === 'bottom') {
      const n = countOf(next)
      const direction: Direction = token.text === 'top' ? 'desc' : 'asc'
      push({ kind: 'top', direction, n, text: n === null ? token.text : `${token.text} ${n}` })
      i += n === null ? 1 : 2
      continue
    }
    // "total" is a sum unless it names a column ("invoice total", "the total of …" is a sum)
    if (token.text === 'total' || token.text === 'totals') {
      if (fits(tokens, i + 1, ['number', 'of'])) {
        push({ kind: 'aggregate', aggregate: 'count', text: 'number of' })
        i += 3
        continue
      }
      const after = i + 1 + (fits(tokens, i + 1, ['of']) ? 1 : 0)
      // "the total of all invoices": the table's own total
      let skip = after
      while (tokens[skip] && ['all', 'the', 'our', 'every'].includes(tokens[skip]!.text)) skip++
      const ofTable = after > i + 1 ? matchPhrase(lexicon, tokens, skip) : null
      // (plural, "the totals of invoices", they are the column's values)
      const ownTotal =
        token.text === 'total' && ofTable?.refs.length === 1 && ofTable.refs[0]!.ref.kind === 'table'
          ? ofTable.refs[0]!.ref.table.columns.filter((column) => isMeasure(column) && /^total$/i.test(column.name))
          : []
      if (ownTotal.length === 1) {
        push({ kind: 'aggregate', aggregate: 'sum', text: 'total' })
        push({
          kind: 'schema',
          refs: [{ ref: { kind: 'column', column: ownTotal[0]! }, strength: STRENGTH.name }],
          text: tokens
            .slice(skip, ofTable!.end)
            .map((t) => t.raw)
            .join(' '),
        })
        i = ofTable!.end
        continue
      }
      const phrase = matchPhrase(lexicon, tokens, after)
      const namesMeasure = phrase?.refs.some((ref) => ref.ref.kind === 'column' && isMeasure(ref.ref.column))
      const namesTable = phrase?.refs.some((ref) => ref.ref.kind === 'table')
      if (namesMeasure || (namesTable && token.text === 'total' && fits(tokens, i + 1, ['of']))) {
        push({ kind: 'aggregate', aggregate: 'sum', text: 'total' })
        i = after
        continue
      }
    }
    // "albums with every track longer than 5 minutes": a condition on all rows of a group, not a grouping
    if (token.text === 'every' || token.text === 'each') {
      const named = matchPhrase(lexicon, tokens, i + 1)
      const then = named ? tokens.slice(named.end) : []
      if (
        named &&
        [...COMPARISONS, ...LENGTH_COMPARISONS].some(
          (candidate) => fits(then, 0, candidate.words) || fits(then, 1, candidate.words),
        )
      )
        return {
          ok: false,
          reason: `the offline engine does not answer conditions on every row ("${token.raw} … ${then[0]?.raw ?? ''}")`,
        }
    }
    const phrase = PHRASES.find((candidate) => fits(tokens, i, candidate.words))
    const schemaPhrase = matchPhrase(lexicon, tokens, i)
    if (phrase && (!schemaPhrase || schemaPhrase.end <= i + phrase.words.length || phrase.words.length > 1)) {
      if (phrase.item) push(phrase.item)
      i += phrase.words.length
      continue
    }
    if (schemaPhrase) {
      const last = items.at(-1)
      if (last?.kind === 'schema' && sameColumns(last.refs, schemaPhrase.refs)) {
        // "track length in milliseconds": two names of one column
        i = schemaPhrase.end
        continue
      }
      push({
        kind: 'schema',
        refs: schemaPhrase.refs,
        text: tokens
          .slice(i, schemaPhrase.end)
          .map((t) => t.raw)
          .join(' '),
      })
      i = schemaPhrase.end
      // "artist id 22": a key equal to a number
      const id = tokens[i]
      if (
        id?.number !== undefined &&
        Number.isInteger(id.number) &&
        !id.currency &&
        schemaPhrase.refs.every((ref) => ref.ref.kind === 'column' && ref.ref.column.key && ref.ref.column.numeric)
      ) {
        push({ kind: 'compare', op: '=', value: id.number, text: `= ${id.raw}`, key: true })
        i++
      }
      continue
    }
    const n = countOf(token)
    if (n !== null) {
      push({ kind: 'number', n, text: token.raw })
      i++
      continue
    }
    if (QUIET.has(token.text) || (token.text === 'and' && items.length > 0)) {
      skipped.push(token.text)
      i++
      continue
    }
    const unsupported = UNSUPPORTED[token.text]
    if (unsupported) return { ok: false, reason: `the offline engine does not answer ${unsupported}` }
    if (token.number !== undefined) return { ok: false, reason: `did not understand what ${token.raw} refers to` }
    return { ok: false, reason: `did not understand "${token.raw}": no table, column, value or description uses it` }
  }
  return { ok: true, items, followUp }
}

function sameColumns(a: readonly { ref: Ref }[], b: readonly { ref: Ref }[]): boolean {
  const columnsOf = (refs: readonly { ref: Ref }[]) =>
    refs.every((ref) => ref.ref.kind === 'column')
      ? new Set(refs.map((ref) => (ref.ref as { column: ColumnInfo }).column))
      : null
  const x = columnsOf(a)
  const y = columnsOf(b)
  return x !== null && y !== null && x.size === y.size && [...x].every((column) => y.has(column))
}

/** Columns of a concept ("length") that are measures, as schema refs. */
function conceptMeasures(lexicon: Lexicon, concept: string, raw: string): { ref: Ref; strength: number }[] {
  const found = matchPhrase(lexicon, [{ text: concept, stem: concept, raw }], 0)
  return found?.refs.filter((ref) => ref.ref.kind === 'column' && isMeasure(ref.ref.column)) ?? []
}

/** Milliseconds in one unit of a duration column, from its name; null when its name does not say. */
function durationUnitOf(column: ColumnInfo): number | null {
  if (/(^|_)ms$|millis|milliseconds/i.test(column.name)) return 1
  if (/^seconds$|_seconds$|_secs?$/i.test(column.name)) return 1000
  return null
}

/** "the average invoice total", "the average track": the column (or, for a table, the table) averaged. */
function averageOf(
  tokens: readonly Token[],
  i: number,
  lexicon: Lexicon,
): { column?: SchemaItem; table?: TableInfo; end: number } | null {
  let j = i
  while (['the', 'an', 'a'].includes(tokens[j]?.text ?? '')) j++
  if (!['average', 'mean', 'avg'].includes(tokens[j]?.text ?? '')) return null
  const phrase = matchPhrase(lexicon, tokens, j + 1)
  if (!phrase) return null
  const text = tokens
    .slice(j + 1, phrase.end)
    .map((t) => t.raw)
    .join(' ')
  const measures = phrase.refs.filter((ref) => ref.ref.kind === 'column' && isMeasure(ref.ref.column))
  if (measures.length > 0 && measures.length === phrase.refs.length)
    return { column: { kind: 'schema', refs: measures, text }, end: phrase.end }
  if (phrase.refs.length === 1 && phrase.refs[0]!.ref.kind === 'table')
    return { table: phrase.refs[0]!.ref.table, end: phrase.end }
  return null
}

/** "the first invoice": the aggregate of the one date of the table named after a first or last word. */
function firstOrLast(
  tokens: readonly Token[],
  i: number,
  lexicon: Lexicon,
): { aggregate: 'min' | 'max'; column: ColumnInfo; end: number; text: string } | null {
  let j = i
  let aggregate: 'min' | 'max' | undefined
  if (fits(tokens, j, ['most', 'recent'])) {
    aggregate = 'max'
    j += 2
  } else {
    aggregate = FIRST_LAST[tokens[j]?.text ?? '']
    j++
  }
  if (!aggregate) return null
  const phrase = matchPhrase(lexicon, tokens, j)
  const table = phrase?.refs.length === 1 && phrase.refs[0]!.ref.kind === 'table' ? phrase.refs[0]!.ref.table : null
  if (!table || table.dates.length !== 1) return null
  return { aggregate, column: table.dates[0]!, end: phrase!.end, text: aggregate === 'min' ? 'first' : 'latest' }
}

/**
 * The column (or, after a negation, the table) named after "no", "has a": with the words that say nothing
 * more skipped ("a company name filled in"). A filled-in column is only read so at the end of a clause.
 */
function columnAfter(
  tokens: readonly Token[],
  i: number,
  lexicon: Lexicon,
  negated: boolean,
): { item: SchemaItem; end: number } | null {
  let j = i
  while (['a', 'an', 'any'].includes(tokens[j]?.text ?? '')) j++
  const phrase = matchPhrase(lexicon, tokens, j)
  if (!phrase) return null
  const onlyTable = phrase.refs.every((ref) => ref.ref.kind === 'table')
  const onlyColumns = phrase.refs.every((ref) => ref.ref.kind === 'column')
  if (!(onlyColumns || (negated && onlyTable))) return null
  let end = phrase.end
  while (tokens[end] && COLUMN_FILLER.has(tokens[end]!.text)) end++
  const after = tokens[end]
  if (!negated && after && !['and', 'who', 'that', 'which', 'from', 'living', 'based'].includes(after.text)) return null
  const text = tokens
    .slice(j, phrase.end)
    .map((t) => t.raw)
    .join(' ')
  return { item: { kind: 'schema', refs: phrase.refs, text }, end }
}

/** An earlier item names a column of this one word ("bytes"): "in bytes" then only repeats its unit. */
function namesColumnAlready(items: readonly Item[], word: string): boolean {
  return items.some(
    (item) =>
      item.kind === 'schema' && item.refs.some((ref) => ref.ref.kind === 'column' && nameIs(ref.ref.column.name, word)),
  )
}
const nameIs = (name: string, word: string) => name.toLowerCase() === word || stemOf(name.toLowerCase()) === word
const stemOf = (word: string) => tokenize(word)[0]?.stem ?? word

/** Quantity and price columns of a table of lines (an invoice's or an order's). */
const QUANTITY = /^(quantity|qty)$/i
const PRICE = /^(unit_?price|price)$/i

/** The one table of lines that sells rows of `table` (many-to-one to it, with a quantity), and its key to it. */
function lineTableOf(
  lexicon: Lexicon,
  table: TableInfo,
): { line: TableInfo; key: ColumnInfo; quantity: ColumnInfo } | null {
  const found = lexicon.tables.flatMap((line) => {
    const quantity = line.columns.filter((column) => QUANTITY.test(column.name) && isMeasure(column))
    if (line === table || quantity.length !== 1) return []
    const path = joinPath(lexicon, line, table)
    if (!path.ok || path.steps.length !== 1 || path.steps[0]!.fansOut || path.steps[0]!.on.length !== 1) return []
    const key = line.columns.find((column) => column.name === path.steps[0]!.on[0]![0])
    return key ? [{ line, key, quantity: quantity[0]! }] : []
  })
  return found.length === 1 ? found[0]! : null
}

/** The table sold, named right before "sold" ("tracks that have never been sold"). */
function soldThrough(lexicon: Lexicon, items: readonly Item[]): ReturnType<typeof lineTableOf> {
  const table = tableOf(items.at(-1))
  return table ? lineTableOf(lexicon, table) : null
}

/**
 * "how many tracks were sold" (the quantity of lines), "how many different tracks were sold" (the distinct
 * keys of the lines), "total quantity of tracks sold", "which media type sold the most tracks".
 */
function rewriteSold(
  tokens: readonly Token[],
  i: number,
  items: readonly Item[],
  lexicon: Lexicon,
): { items: Item[]; end: number } | { reason: string } | null {
  const quantityItem = (column: ColumnInfo, text: string): Item => ({
    kind: 'schema',
    refs: [{ ref: { kind: 'column', column }, strength: STRENGTH.name }],
    text,
  })
  // which media type sold the most tracks
  let j = i + 1
  while (tokens[j]?.text === 'the') j++
  const superlative = PHRASES.find((phrase) => phrase.item?.kind === 'superlative' && fits(tokens, j, phrase.words))
  if (superlative) {
    const phrase = matchPhrase(lexicon, tokens, j + superlative.words.length)
    const table = phrase?.refs.length === 1 && phrase.refs[0]!.ref.kind === 'table' ? phrase.refs[0]!.ref.table : null
    const sold = table ? lineTableOf(lexicon, table) : null
    if (!sold) return { reason: `did not understand what was ${tokens[i]!.raw}` }
    return {
      items: [...items, superlative.item!, quantityItem(sold.quantity, `${table!.meta.table} ${tokens[i]!.raw}`)],
      end: phrase!.end,
    }
  }
  const table = tableOf(items.at(-1))
  const sold = table ? lineTableOf(lexicon, table) : null
  if (!sold) return null
  const out = items.slice(0, -1)
  let k = out.length - 1
  let distinct = false
  while (
    k >= 0 &&
    (out[k]!.kind === 'distinct' || (out[k]!.kind === 'schema' && only(out[k] as SchemaItem, 'value')))
  ) {
    if (out[k]!.kind === 'distinct') distinct = true
    k--
  }
  const before = out[k]
  const text = `${(items.at(-1) as SchemaItem).text} ${tokens[i]!.raw}`
  if (before?.kind === 'aggregate' && before.aggregate === 'count') {
    if (distinct) out.push(quantityItem(sold.key, text))
    else {
      out[k] = { kind: 'aggregate', aggregate: 'sum', text: 'number of' }
      out.push(quantityItem(sold.quantity, text))
    }
    return { items: out, end: i + 1 }
  }
  // "total quantity of tracks sold": the table only says what the quantity is of
  if (
    before?.kind === 'schema' &&
    before.refs.some((ref) => ref.ref.kind === 'column' && ref.ref.column === sold.quantity)
  ) {
    return { items: out, end: i + 1 }
  }
  return { reason: `did not understand what "${text}" asks` }
}

const isSubject = (item: Item) =>
  item.kind === 'aggregate' ||
  item.kind === 'superlative' ||
  item.kind === 'top' ||
  (item.kind === 'schema' && item.refs.some((ref) => ref.ref.kind !== 'value'))

const isMeasure = (column: ColumnInfo) => column.numeric && !column.key
const isValueItem = (item: Item) =>
  item.kind === 'schema' && item.refs.length > 0 && item.refs.every((ref) => ref.ref.kind === 'value')
/** Column names that hold an amount of money. */
const MONEY = /^(total|total_?amount|amount|revenue|sales|price|unit_?price)$/i

/** A follow-up's items over the previous question's: its dates, groups, ranking and values on the same columns replace theirs. */
function merge(before: readonly Item[], after: readonly Item[]): Item[] {
  const hasDate = after.some((item) => item.kind === 'date')
  const hasGroup = after.some((item) => item.kind === 'group' || item.kind === 'dategroup' || item.kind === 'by')
  const hasTop = after.some((item) => item.kind === 'top' || item.kind === 'number')
  const valueColumns = new Set(
    after.flatMap((item) => (item.kind === 'schema' ? item.refs.filter(isValueRef).map((ref) => ref.ref.column) : [])),
  )
  const kept: Item[] = []
  for (let k = 0; k < before.length; k++) {
    const item = before[k]!
    if (hasDate && item.kind === 'date') continue
    if (hasTop && item.kind === 'top') {
      kept.push({ ...item, n: null })
      continue
    }
    if (hasTop && item.kind === 'number') continue
    if (hasGroup && (item.kind === 'group' || item.kind === 'by' || item.kind === 'dategroup')) {
      // the group word and what it groups by
      if (item.kind !== 'dategroup' && before[k + 1]?.kind === 'schema') k++
      continue
    }
    if (
      item.kind === 'schema' &&
      item.refs.every(isValueRef) &&
      item.refs.some((ref) => valueColumns.has(ref.ref.column))
    ) {
      continue
    }
    kept.push(item)
  }
  const additions = hasTop ? after.map((item) => (item.kind === 'number' ? { ...item } : item)) : after
  return [...kept, ...additions]
}

const isValueRef = (ref: { ref: Ref }): ref is { ref: Extract<Ref, { kind: 'value' }>; strength: number } =>
  ref.ref.kind === 'value'

// ---------------------------------------------------------------------------------------------------------
// Items → a query

interface Measure {
  aggregate: Aggregate
  /** Counted rows of this table (count), or the column aggregated. */
  table?: TableInfo
  column?: ColumnInfo
  /** Summed as `column * times` (a line's price times its quantity). */
  times?: ColumnInfo
  distinct: boolean
  text: string
  /** Named by a common word for it ("revenue"), not by its name: another column of that concept may stand in. */
  concept?: boolean
}

type Dimension =
  { kind: 'table'; table: TableInfo } | { kind: 'column'; column: ColumnInfo } | { kind: 'date'; unit: DateUnit }

interface Filter {
  column: ColumnInfo
  op: Op | 'is null' | 'is not null'
  /** A categorical value (text), a number, or the column's average over its whole table. */
  value: string | number | { average: true } | null
}

interface Query {
  root: TableInfo
  measure: Measure | null
  dimensions: Dimension[]
  filters: Filter[]
  dates: { column: ColumnInfo | null; range: DateRange }[]
  rank: { direction: Direction; n: number | null; by: ColumnInfo | null; labelOnly: boolean } | null
  projection: ColumnInfo[]
  /** Columns shown beside the row's name ("with their length"), not instead of it. */
  extras: ColumnInfo[]
  /** "first and last name" was asked for. */
  names: boolean
  /** Index of a "with their" item; columns after it are extras. */
  withAt: number
  /** The unit a duration in milliseconds is shown in. */
  unit?: 'second' | 'minute' | 'hour' | null
  /** A condition on the count (HAVING); `hideMeasure`: the count only selects, it is not shown. */
  having?: { op: Op; value: number; hideMeasure: boolean } | null
  mentioned: TableInfo[]
  /** Tables with no row for the root's row ("artists with no albums"). */
  absent: TableInfo[]
  /** Tables a value is read through ("metal tracks"): joined, nothing of them shown. */
  through: TableInfo[]
  /** The groups are counted, not shown ("how many tracks are on more than 3 playlists"). */
  countGroups?: boolean
}

type Interpretation = { ok: true; sql: string; explanation: string } | { ok: false; reason: string }

class Refusal extends Error {}
const fail = (reason: string): never => {
  throw new Refusal(reason)
}

function interpret(items: readonly Item[], lexicon: Lexicon): Interpretation {
  try {
    // "average number of tracks per album": the average of a count or total per group
    const k = items.findIndex(
      (item, n) =>
        item.kind === 'aggregate' &&
        item.aggregate === 'avg' &&
        items[n + 1]?.kind === 'aggregate' &&
        ['count', 'sum'].includes((items[n + 1] as { aggregate: Aggregate }).aggregate),
    )
    if (k >= 0) {
      const query = build([...items.slice(0, k), ...items.slice(k + 1)], lexicon)
      if (query.dimensions.length !== 1 || query.rank || query.having)
        fail('an average of a count or a total needs one thing it is per ("per album")')
      const inner = renderWithLines(query, lexicon)
      const name = inner.measureName!
      return {
        ok: true,
        sql: `SELECT avg(${quoteIdentifier(name)}) AS ${quoteIdentifier(`average_${name}`)}\nFROM (\n${inner.sql}\n) AS per_group`,
        explanation: `The average, over the groups, of: ${inner.explanation.charAt(0).toLowerCase()}${inner.explanation.slice(1)}`,
      }
    }
    const query = build(items, lexicon)
    const { sql, explanation } = renderWithLines(query, lexicon)
    return { ok: true, sql, explanation }
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message }
    throw error
  }
}

/**
 * The query as SQL; when a revenue named by its common word ("revenue", "sales") would be counted more than
 * once across the join (an invoice total per genre), the revenue of the lines instead: price × quantity of
 * the one table of lines below it, which reaches the rest without repeating rows.
 */
function renderWithLines(query: Query, lexicon: Lexicon): ReturnType<typeof render> {
  try {
    return render(query, lexicon)
  } catch (error) {
    const measure = query.measure
    if (!(error instanceof Refusal) || !/more than once/.test(error.message)) throw error
    if (measure?.aggregate !== 'sum' || !measure.column || !measure.concept || !MONEY.test(measure.column.name))
      throw error
    const lines = lexicon.tables.flatMap((line) => {
      const price = line.columns.filter((column) => PRICE.test(column.name) && isMeasure(column))
      const quantity = line.columns.filter((column) => QUANTITY.test(column.name) && isMeasure(column))
      if (line === measure.column!.table || price.length !== 1 || quantity.length !== 1) return []
      const path = joinPath(lexicon, line, measure.column!.table)
      return path.ok && path.steps.length === 1 && !path.steps[0]!.fansOut
        ? [{ line, price: price[0]!, quantity: quantity[0]! }]
        : []
    })
    if (lines.length !== 1) throw error
    const { line, price, quantity } = lines[0]!
    return render(
      { ...query, root: line, measure: { ...measure, column: price, times: quantity, text: 'revenue' } },
      lexicon,
    )
  }
}

const tables = (item: SchemaItem) =>
  item.refs.filter((ref) => ref.ref.kind === 'table').map((ref) => (ref.ref as { table: TableInfo }).table)
const columns = (item: SchemaItem) =>
  item.refs
    .filter((ref) => ref.ref.kind === 'column')
    .map((ref) => ({ column: (ref.ref as { column: ColumnInfo }).column, strength: ref.strength }))
const values = (item: SchemaItem) =>
  item.refs.filter(isValueRef).map((ref) => ({ column: ref.ref.column, value: ref.ref.value }))
const only = (item: SchemaItem, kind: Ref['kind']) => item.refs.every((ref) => ref.ref.kind === kind)

const TIGHT = new Set(['the', 'of', 'a', 'an', 'called', 'named', 'titled', 'in'])

/** The table one of two items names, when the two stand side by side ("the album X", "Rock genre"). */
function tight(first: Item | undefined, second: Item | undefined): TableInfo | null {
  if (first?.kind !== 'schema' || second?.kind !== 'schema') return null
  if (!(second.gap ?? []).every((word) => TIGHT.has(word))) return null
  return tableOf(first) ?? tableOf(second)
}

/** The single table an item names, when all it names is one table. */
function tableOf(item: Item | undefined): TableInfo | null {
  if (item?.kind !== 'schema' || !only(item, 'table')) return null
  const found = tables(item)
  return found.length === 1 ? found[0]! : null
}

function build(items: readonly Item[], lexicon: Lexicon): Query {
  const used = new Set<number>()
  const at = (k: number) => items[k]
  let measure:
    (Omit<Measure, 'column'> & { columns?: { column: ColumnInfo; strength: number }[]; schemaText?: string }) | null =
    null
  const dimensionItems: { item: SchemaItem | null; unit?: DateUnit; which?: boolean }[] = []
  let names = false
  let unit: 'second' | 'minute' | 'hour' | null = null
  let byTable = false
  let withAt = -1
  let rank: {
    direction: Direction
    n: number | null
    superlative: boolean
    byColumns?: { column: ColumnInfo; strength: number }[]
  } | null = null
  const compares: Compare[] = []
  const nulls: Extract<Item, { kind: 'null' }>[] = []
  const dates: { range: DateRange; target: SchemaItem | null }[] = []
  const valueItems: { item: SchemaItem; neighbours: TableInfo[] }[] = []
  const mentioned: TableInfo[] = []
  let pendingN: number | null = null
  let having: { op: Op; value: number; table: TableInfo; text: string } | null = null
  /** "over $15": the one money column of the tables named around it. */
  const moneyColumn = (...near: (Item | undefined)[]): SchemaItem | null => {
    const owners = near.map(tableOf).filter((t): t is TableInfo => t !== null)
    const money = owners.flatMap((t) => t.columns.filter((c) => isMeasure(c) && MONEY.test(c.name)))
    return money.length === 1
      ? {
          kind: 'schema',
          refs: [{ ref: { kind: 'column', column: money[0]! }, strength: STRENGTH.name }],
          text: money[0]!.name,
        }
      : null
  }

  /** The next item that says what to aggregate: values before it ("how many Jazz tracks") are filters. */
  const nextContent = (k: number): number => {
    let j = k + 1
    for (;;) {
      const item = at(j)
      if (item?.kind === 'distinct') j++
      else if (item?.kind === 'schema' && item.refs.every(isValueRef) && at(j + 1)?.kind === 'schema') j++
      else return j
    }
  }

  for (let k = 0; k < items.length; k++) {
    if (used.has(k)) continue
    const item = items[k]!
    switch (item.kind) {
      case 'aggregate': {
        const j = nextContent(k)
        const target = at(j)
        const distinct = items.slice(k + 1, j).some((between) => between.kind === 'distinct')
        for (let v = k + 1; v < j; v++) {
          const between = at(v)
          if (between?.kind === 'schema') {
            valueItems.push({
              item: between,
              neighbours: [tight(at(v - 1), between), tight(between, at(v + 1))].filter(
                (t): t is TableInfo => t !== null,
              ),
            })
            used.add(v)
          }
        }
        // "…: first name, last name, average": the measure said again at the end
        if (measure && target === undefined && item.aggregate === measure.aggregate) break
        if (measure) fail(`two measures in one question ("${measure.text}" and "${item.text}")`)
        const counted = tableOf(at(k - 1))
        if (item.aggregate === 'count' && item.text === 'count' && counted && target?.kind !== 'schema') {
          measure = { aggregate: 'count', table: counted, distinct: false, text: 'count' }
          mentioned.push(counted)
          used.add(k - 1)
          break
        }
        const first = tableOf(at(0))
        if (item.aggregate === 'count' && target === undefined && first && !used.has(0) && !measure) {
          // "tracks longer than 10 minutes: how many?"
          measure = { aggregate: 'count', table: first, distinct: false, text: item.text }
          mentioned.push(first)
          used.add(0)
          break
        }
        if (target?.kind !== 'schema')
          fail(`"${item.text}" is not followed by what to ${item.aggregate === 'count' ? 'count' : 'aggregate'}`)
        let schemaItem = target as SchemaItem
        used.add(j)
        const qualified = at(j + 1)
        if (
          tableOf(schemaItem) &&
          qualified?.kind === 'schema' &&
          columns(qualified).length > 0 &&
          !(item.aggregate === 'count' && !distinct)
        ) {
          // "maximum track length": the table only says where the column is
          mentioned.push(tableOf(schemaItem)!)
          schemaItem = qualified
          used.add(j + 1)
        }
        const table = tableOf(schemaItem)
        if (item.aggregate === 'count' && table && !distinct) {
          measure = { aggregate: 'count', table, distinct: false, text: item.text }
          mentioned.push(table)
        } else {
          const cols = columns(schemaItem)
          if (cols.length === 0)
            fail(
              `"${item.text} ${schemaItem.text}": say which column to ${item.aggregate === 'count' ? 'count' : 'aggregate'}`,
            )
          measure = {
            aggregate: item.aggregate,
            distinct: distinct || item.aggregate === 'count',
            columns: cols,
            text: item.text,
            schemaText: schemaItem.text,
          }
        }
        break
      }
      case 'superlative': {
        if (item.byDate) {
          rank = {
            direction: item.direction,
            n: null,
            superlative: true,
            byColumns: [{ column: item.byDate, strength: STRENGTH.name }],
          }
          break
        }
        if (item.text === 'best selling') {
          // what sells best is said after ("by revenue"); without it, there is no ranking
          rank = { direction: 'desc', n: null, superlative: true }
          break
        }
        const target = at(k + 1)
        const table = tableOf(target)
        if (!rank) rank = { direction: item.direction, n: null, superlative: true }
        const following = at(k + 2)
        if (
          table &&
          following?.kind === 'schema' &&
          columns(following).some((candidate) => isMeasure(candidate.column) && candidate.column.table === table)
        ) {
          // "the biggest invoice amount": the table says where the measure is
          rank.byColumns = columns(following).filter((candidate) => candidate.column.table === table)
          mentioned.push(table)
          used.add(k + 1)
          used.add(k + 2)
        } else if (table) {
          if (measure) fail(`two measures in one question ("${measure.text}" and "${item.text}")`)
          measure = { aggregate: 'count', table, distinct: false, text: `number of ${(target as SchemaItem).text}` }
          mentioned.push(table)
          used.add(k + 1)
        } else if (target?.kind === 'schema' && columns(target).some((candidate) => isMeasure(candidate.column))) {
          rank.byColumns = columns(target).filter((candidate) => isMeasure(candidate.column))
          used.add(k + 1)
        }
        break
      }
      case 'top': {
        rank = { direction: item.direction, n: item.n, superlative: false }
        break
      }
      case 'number': {
        if (pendingN !== null) fail(`did not understand what ${item.text} refers to`)
        pendingN = item.n
        break
      }
      case 'group':
      case 'by': {
        const target = at(k + 1)
        if (target?.kind === 'aggregate' && item.kind === 'by') break // "top 5 artists by number of albums"
        if (target?.kind !== 'schema') {
          if (item.kind === 'by') break
          fail(`"${item.text}" is not followed by what to group by`)
        }
        const schemaItem = target as SchemaItem
        if (item.kind === 'by' && only(schemaItem, 'value')) break // "albums by AC/DC": a filter
        const then = at(k + 2)
        if (item.kind === 'by' && then?.kind === 'compare' && then.key) break // "albums by artist id 22": a filter
        if (
          item.kind === 'by' &&
          columns(schemaItem).some((candidate) => isMeasure(candidate.column)) &&
          !tableOf(schemaItem)
        ) {
          // "top 5 invoices by total": what the ranking is by
          rank ??= { direction: 'desc', n: null, superlative: false }
          rank.byColumns = columns(schemaItem).filter((candidate) => isMeasure(candidate.column))
          used.add(k + 1)
          break
        }
        if (item.kind === 'by' && tableOf(schemaItem)) byTable = true
        dimensionItems.push({ item: schemaItem })
        used.add(k + 1)
        break
      }
      case 'dategroup': {
        if (!dimensionItems.some((dimension) => dimension.unit === item.unit)) {
          dimensionItems.push({ item: null, unit: item.unit, which: item.which === true })
        }
        break
      }
      case 'which':
        break
      case 'compare': {
        const before = at(k - 1)
        const after = at(k + 1)
        if (item.key || item.average) {
          // the column is the one named right before (a key) or after (an average)
          const target = item.key ? before : after
          if (target?.kind !== 'schema') fail(`did not understand "${item.text}"`)
          used.add(item.key ? k - 1 : k + 1)
          // "invoices whose total is under the average invoice total": the column said twice
          if (
            item.average &&
            before?.kind === 'schema' &&
            !used.has(k - 1) &&
            sameColumns(before.refs, (target as SchemaItem).refs)
          )
            used.add(k - 1)
          compares.push({
            op: item.op,
            value: item.value,
            text: item.text,
            target: target as SchemaItem,
            key: item.key === true,
            average: item.average === true,
          })
          break
        }
        const numericIn = (candidate: Item | undefined) =>
          candidate?.kind === 'schema' && columns(candidate).some((c) => c.column.numeric) ? candidate : null
        let target = numericIn(after) ?? (used.has(k - 1) ? null : numericIn(before))
        if (!target && tableOf(after) && !having) {
          // "albums with more than 20 tracks": a condition on a count
          having = {
            op: item.op,
            value: item.value,
            table: tableOf(after)!,
            text: `${item.text} ${(after as SchemaItem).text}`,
          }
          used.add(k + 1)
          break
        }
        if (!target && item.currency) target = moneyColumn(before, after)
        if (target === after) used.add(k + 1)
        else if (target) used.add(k - 1)
        else target = null
        compares.push({ op: item.op, value: item.value, text: item.text, target })
        break
      }
      case 'date': {
        const before = at(k - 1)
        const target =
          before?.kind === 'schema' && !used.has(k - 1) && columns(before).some((c) => c.column.date) ? before : null
        if (target) used.add(k - 1)
        dates.push({ range: item.range, target })
        break
      }
      case 'schema': {
        if (item.refs.some(isValueRef) && item.refs.every((ref) => ref.ref.kind === 'value')) {
          const neighbours = [tight(at(k - 1), item), tight(item, at(k + 1))].filter(
            (table): table is TableInfo => table !== null,
          )
          valueItems.push({ item, neighbours })
        }
        break
      }
      case 'distinct':
        break
      case 'null':
        nulls.push(item)
        break
      case 'names':
        names = true
        break
      case 'with':
        withAt = k
        break
      case 'unit':
        if (unit) fail('two units in one question')
        unit = item.unit
        break
    }
  }

  // What is left of the schema items: tables (the subject, or context), columns (projections).
  const free: SchemaItem[] = []
  items.forEach((item, k) => {
    if (item.kind !== 'schema' || used.has(k) || valueItems.some((value) => value.item === item)) return
    free.push(item)
    mentioned.push(...tables(item))
  })
  // A ranking with a number before it: "the 5 artists with the most albums"
  if (pendingN !== null) {
    if (!rank || rank.n !== null) fail(`did not understand what ${pendingN} refers to`)
    rank!.n = pendingN
  } else if (rank?.superlative && rank.n === null) {
    // "which genre has the most tracks": the one
    rank.n = 1
  }

  // The subject (root) table.
  let root: TableInfo | null = null
  let measureColumn: ColumnInfo | null = null
  if (measure?.table) root = measure.table
  else if (measure?.columns) {
    const wanted =
      measure.aggregate === 'count'
        ? measure.columns
        : measure.columns.filter(
            (c) =>
              isMeasure(c.column) || (c.column.date && (measure!.aggregate === 'min' || measure!.aggregate === 'max')),
          )
    if (wanted.length === 0) fail(`"${measure.schemaText}" is not a number to ${measure.text}`)
    measureColumn = pick(wanted, mentioned, null, lexicon, `"${measure.schemaText}"`)
    root = measureColumn.table
  }
  // "revenue per country": a quantity named by its description is summed
  if (!measure) {
    const quantities = free.filter(
      (item) =>
        item.refs.length > 0 &&
        item.refs.every(
          (ref) => ref.ref.kind === 'column' && ref.strength === STRENGTH.description && isMeasure(ref.ref.column),
        ),
    )
    // "revenue per rep: first name, last name and revenue": one quantity said again
    while (quantities.length > 1 && sameColumns(quantities[0]!.refs, quantities.at(-1)!.refs)) {
      free.splice(free.indexOf(quantities.pop()!), 1)
    }
    if (quantities.length > 1)
      fail(`two quantities in one question ("${quantities[0]!.text}" and "${quantities[1]!.text}")`)
    if (
      quantities.length === 1 &&
      !rank?.byColumns &&
      !(rank && !rank.superlative) &&
      !(withAt >= 0 && items.indexOf(quantities[0]!) > withAt)
    ) {
      const quantity = quantities[0]!
      free.splice(free.indexOf(quantity), 1)
      measure = {
        aggregate: 'sum',
        distinct: false,
        text: 'total',
        columns: columns(quantity),
        schemaText: quantity.text,
      }
      const wanted = columns(quantity)
      measureColumn = pick(wanted, mentioned, null, lexicon, `"${quantity.text}"`)
      root = measureColumn.table
    }
  }
  const freeTables = free.filter((item) => tableOf(item))
  const freeOther = free.filter((item) => !tableOf(item))
  const dimensionTables = dimensionItems.flatMap((dimension) => (dimension.item ? [tableOf(dimension.item)] : []))
  if (!root && rank?.byColumns) {
    // "top 5 invoices by total": rows of the table ranked by one of its columns
    const rankedColumn = pick(
      rank.byColumns,
      [...mentioned, ...dimensionTables.filter((t): t is TableInfo => t !== null)],
      null,
      lexicon,
      'the ranking',
    )
    const rowsOf = freeTables.find((item) => tableOf(item) === rankedColumn.table)
    if (rowsOf && dimensionItems.length === 0) {
      root = rankedColumn.table
      return finish(
        {
          root,
          measure: null,
          dimensions: [],
          filters: [],
          dates: [],
          rank: {
            direction: rank.direction,
            n: rank.n,
            by: rankedColumn,
            labelOnly: rank.superlative && pendingN === null,
          },
          projection: [],
          extras: [],
          names,
          withAt,
          mentioned,
          absent: [],
          through: [],
        },
        {
          freeTables: freeTables.filter((item) => item !== rowsOf),
          freeOther,
          valueItems,
          compares,
          nulls,
          dates,
          lexicon,
          items,
        },
      )
    }
    const explicitGroups = dimensionItems.filter((dimension) => !dimension.which)
    const nothingRanked =
      rank.superlative &&
      pendingN === null &&
      freeTables.length === 0 &&
      explicitGroups.length === dimensionItems.length &&
      !freeOther.some((item) => columns(item).some((c) => !isMeasure(c.column)))
    if (nothingRanked) {
      // "the largest invoice total": the maximum
      const aggregate = rank.direction === 'desc' ? 'max' : 'min'
      measure = {
        aggregate,
        distinct: false,
        text: aggregate === 'max' ? 'maximum' : 'minimum',
        columns: rank.byColumns,
      }
      rank = null
    } else {
      measure = { aggregate: 'sum', distinct: false, text: 'total', columns: rank.byColumns }
    }
    measureColumn = rankedColumn
    root = rankedColumn.table
  }
  if (byTable && dimensionItems.length > 1) {
    fail('"by" a table and another grouping: is it a grouping or who did it? the offline engine does not guess')
  }
  let hideMeasure = false
  let countGroupsOf: TableInfo | null = null
  if (having) {
    if (!measure) {
      // "which billing countries have more than 20 invoices": counted, shown by what is grouped
      measure = { aggregate: 'count', table: having.table, distinct: false, text: 'number of' }
      mentioned.push(having.table)
      root = having.table
      hideMeasure = true
    } else if (
      measure.aggregate === 'count' &&
      measure.table &&
      measure.table !== having.table &&
      !measure.distinct &&
      dimensionItems.length === 0
    ) {
      // "how many tracks are on more than 3 playlists": the tracks that have them, counted
      countGroupsOf = measure.table
      measure = { aggregate: 'count', table: having.table, distinct: false, text: 'number of' }
      mentioned.push(having.table)
      root = having.table
      hideMeasure = true
    } else if (!(measure.aggregate === 'count' && measure.table === having.table)) {
      fail(`"${having.text}": a condition on a count of something else than what is counted`)
    }
  }
  if (!root) {
    // No measure: rows of the one table named.
    let subjects = [...new Set(freeTables.map((item) => tableOf(item)!))]
    if (
      subjects.length === 1 &&
      freeOther.length > 0 &&
      freeTables.every((item) => qualifies(item, items, valueItems, lexicon))
    ) {
      // "track names in the Grunge playlist": the playlist only says where the value is; the rows are the tracks
      const shown = freeOther.map((item) => pick(columns(item), mentioned, null, lexicon, `"${item.text}"`))
      const owners = [...new Set(shown.map((column) => column.table))]
      if (owners.length === 1 && owners[0] !== subjects[0] && !shown.some(isMeasure)) subjects = owners
    }
    if (subjects.length === 0 && freeOther.length === 0 && names) {
      // "who is the general manager? first and last name": the one table of people the values are of
      const people = [...new Set(valueItems.flatMap(({ item }) => values(item).map((v) => v.column.table)))]
      if (people.length === 1 && people[0]!.label.length === 2) subjects.push(people[0]!)
    }
    if (subjects.length === 0 && freeOther.length > 0) {
      // "genre names": the table of the columns named
      // (a measure alone, "what is the total", is not a listing)
      const shown = freeOther.map((item) => pick(columns(item), mentioned, null, lexicon, `"${item.text}"`))
      const owners = new Set(shown.map((column) => column.table))
      if (owners.size === 1 && !shown.some(isMeasure)) subjects.push(...owners)
    }
    if (subjects.length === 0) {
      if (rank) fail('a ranking needs what to rank by ("by number of …", "with the most …")')
      fail(
        freeOther.length > 0
          ? `"${freeOther[0]!.text}" alone does not say which rows to read`
          : 'the question names no table',
      )
    }
    root = subjects[0]!
    if (dimensionItems.length > 0)
      fail(`grouping ${root.meta.table} needs something to count or sum ("how many", "total …")`)
    if (rank) fail('a ranking needs what to rank by ("by number of …", "with the most …")')
  }

  const measureSource = (measure as { columns?: { column: ColumnInfo; strength: number }[] } | null)?.columns
  const query: Query = {
    root,
    measure: measure
      ? {
          aggregate: measure.aggregate,
          distinct: measure.distinct,
          text: measure.text,
          ...(measure.table ? { table: measure.table } : {}),
          ...(measureColumn ? { column: measureColumn } : {}),
        }
      : null,
    dimensions: [],
    filters: [],
    dates: [],
    rank: rank
      ? { direction: rank.direction, n: rank.n, by: null, labelOnly: rank.superlative && pendingN === null }
      : null,
    projection: [],
    extras: [],
    names,
    withAt,
    mentioned,
    absent: [],
    through: [],
  }
  if (query.measure?.column && measureSource) {
    query.measure.concept = measureSource.some(
      (c) => c.column === query.measure!.column && c.strength === STRENGTH.description,
    )
  }
  for (const dimension of dimensionItems) {
    if (dimension.unit) {
      query.dimensions.push({ kind: 'date', unit: dimension.unit })
      continue
    }
    const table = tableOf(dimension.item!)
    if (table) query.dimensions.push({ kind: 'table', table })
    else {
      const cols = columns(dimension.item!).filter((c) => !c.column.numeric || c.column.key || !isMeasure(c.column))
      if (cols.length === 0) fail(`cannot group by "${dimension.item!.text}"`)
      query.dimensions.push({
        kind: 'column',
        column: pick(cols, mentioned, root, lexicon, `"${dimension.item!.text}"`),
      })
    }
  }
  if (countGroupsOf) {
    query.dimensions.push({ kind: 'table', table: countGroupsOf })
    query.countGroups = true
  }
  // A ranking of a free table: "which genre has the most tracks", "top 5 artists by number of albums"
  let remainingTables = freeTables.filter((item) => tableOf(item) !== root)
  query.having = having ? { op: having.op, value: having.value, hideMeasure } : null
  query.unit = unit
  if (query.rank || having || (query.measure && query.dimensions.length === 0 && remainingTables.length > 0)) {
    if (query.dimensions.length === 0) {
      const ranked = remainingTables.filter((item) => !qualifies(item, items, valueItems, lexicon))
      if (ranked.length === 1 && query.measure) {
        query.dimensions.push({ kind: 'table', table: tableOf(ranked[0])! })
        remainingTables = remainingTables.filter((item) => item !== ranked[0])
      } else if ((query.rank || having) && query.measure) {
        const rankedColumns = freeOther.filter((item) => columns(item).some((c) => !isMeasure(c.column)))
        if (rankedColumns.length === 1) {
          const cols = columns(rankedColumns[0]!).filter((c) => !isMeasure(c.column))
          query.dimensions.push({
            kind: 'column',
            column: pick(cols, mentioned, root, lexicon, `"${rankedColumns[0]!.text}"`),
          })
          freeOther.splice(freeOther.indexOf(rankedColumns[0]!), 1)
        }
      }
    }
    if (query.rank && query.dimensions.length === 0)
      fail('a ranking needs what is ranked ("which artist", "top 5 genres")')
    if (having && query.dimensions.length === 0) fail(`"${having.text}": say of what (which albums, which countries)`)
    if (query.rank && !query.measure) fail('a ranking needs what to rank by')
  }
  return finish(query, { freeTables: remainingTables, freeOther, valueItems, compares, nulls, dates, lexicon, items })
}

/**
 * A table named right before or after a value only says where the value is ("the genre Rock", "Rock genre"),
 * or what has it ("metal tracks": tracks of the genre Metal, each track one genre).
 */
function qualifies(
  item: SchemaItem,
  items: readonly Item[],
  valueItems: readonly { item: SchemaItem }[],
  lexicon: Lexicon,
): boolean {
  const k = items.indexOf(item)
  const table = tableOf(item)
  if (!table) return false
  return [items[k - 1], items[k + 1]].some(
    (near) =>
      near?.kind === 'schema' &&
      valueItems.some((value) => value.item === near) &&
      values(near).some((v) => v.column.table === table || belongsTo(lexicon, table, v.column.table)),
  )
}

/** Each row of `from` has at most one row of `to` (a path of many-to-one steps). */
function belongsTo(lexicon: Lexicon, from: TableInfo, to: TableInfo): boolean {
  const path = joinPath(lexicon, from, to)
  return path.ok && path.steps.length > 0 && !path.steps.some((step) => step.fansOut)
}

interface Compare {
  op: Op
  value: number
  text: string
  target: SchemaItem | null
  key?: boolean
  average?: boolean
}

interface Leftovers {
  freeTables: SchemaItem[]
  freeOther: SchemaItem[]
  valueItems: { item: SchemaItem; neighbours: TableInfo[] }[]
  compares: Compare[]
  nulls: Extract<Item, { kind: 'null' }>[]
  dates: { range: DateRange; target: SchemaItem | null }[]
  lexicon: Lexicon
  items: readonly Item[]
}

/** Which column a categorical value filters (see `finish`). */
function resolveValue(
  item: SchemaItem,
  neighbours: readonly TableInfo[],
  query: Query,
  lexicon: Lexicon,
): { column: ColumnInfo; value: string } {
  const found = values(item)
  const columnsOf = (list: readonly { column: ColumnInfo }[]) => [...new Set(list.map((v) => v.column))]
  const named = (list: readonly { column: ColumnInfo }[]) =>
    columnsOf(list)
      .map((c) => `${c.table.meta.table}.${c.name}`)
      .join(' and ')
  const one = (list: readonly { column: ColumnInfo; value: string }[]) =>
    columnsOf(list).length === 1 ? list[0]! : null
  // "the genre Rock", "Rock genre": the table named beside it says where it is
  const near = found.filter((v) => neighbours.includes(v.column.table))
  if (near.length > 0) return one(near) ?? fail(`"${item.text}" is a value of ${named(near)}: say which`)
  if (columnsOf(found).length === 1) return found[0]!
  // Several columns hold it. The same kind of column (Customer.Country, Invoice.BillingCountry): the root's
  // own, else the one in a table the question names. Different kinds (an artist, an album title): only when
  // just one of them can be reached without repeating rows.
  const kinds = new Set(columnsOf(found).map(kindOf))
  if (kinds.size === 1) {
    const inRoot = found.filter((v) => v.column.table === query.root)
    const inMentioned = found.filter((v) => query.mentioned.includes(v.column.table))
    const choice = (inRoot.length > 0 ? one(inRoot) : null) ?? (inRoot.length === 0 ? one(inMentioned) : null)
    if (choice) return choice
  }
  const direct = found.filter((v) => {
    if (v.column.table === query.root) return true
    const path = joinPath(lexicon, query.root, v.column.table)
    return path.ok && !path.steps.some((step) => step.fansOut)
  })
  if (kinds.size > 1 && direct.length > 0 && columnsOf(direct).length === 1) {
    const others = found.filter((v) => !direct.includes(v))
    if (others.every((v) => v.column.table !== query.root)) return direct[0]!
  }
  return fail(`"${item.text}" is a value of ${named(found)}: say which`)
}

/** What a column holds: its last word (`BillingCountry` → country), or its table for a name or title. */
function kindOf(column: ColumnInfo): string {
  const words = column.name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
  const last = words.at(-1) ?? ''
  return last === 'name' || last === 'title' ? `${column.table.key}.${column.name.toLowerCase()}` : last
}

function finish(query: Query, left: Leftovers): Query {
  const { root } = query
  const lexicon = left.lexicon
  for (const { item, neighbours } of left.valueItems) {
    const value = resolveValue(item, neighbours, query, lexicon)
    if (query.filters.some((filter) => filter.column === value.column)) {
      fail(
        `two values of ${value.column.table.meta.table}.${value.column.name}: "and" or "or"? the offline engine does not guess`,
      )
    }
    query.filters.push({ column: value.column, op: '=', value: value.value })
  }
  for (const compare of left.compares) {
    if (!compare.target) fail(`"${compare.text}": say which column (more than 10 what?)`)
    const cols = columns(compare.target!).filter(
      (c) => c.column.numeric && (compare.key ? c.column.key : !c.column.key),
    )
    if (cols.length === 0) fail(`"${compare.target!.text}" is not a number to compare`)
    const column = pick(cols, query.mentioned, root, lexicon, `"${compare.target!.text}"`)
    if (compare.average && column.table !== root)
      fail(`"${compare.text} ${compare.target!.text}": an average of another table than ${root.meta.table}`)
    query.filters.push({ column, op: compare.op, value: compare.average ? { average: true } : compare.value })
  }
  for (const item of left.nulls) {
    const table = tableOf(item.target)
    if (table) {
      if (!item.isNull) fail(`"${item.text}": the offline engine only reads "no …" of a table`)
      query.absent.push(table)
      continue
    }
    const column = pick(columns(item.target), query.mentioned, root, lexicon, `"${item.target.text}"`)
    if (column.table !== root)
      fail(`"${item.text}": ${column.table.meta.table}.${column.name} is not a column of ${root.meta.table}`)
    query.filters.push({ column, op: item.isNull ? 'is null' : 'is not null', value: null })
  }
  // An average over the whole table is only certain when nothing else narrows the rows.
  if (
    query.filters.some((filter) => typeof filter.value === 'object' && filter.value !== null) &&
    (query.filters.length > 1 || left.dates.length > 0 || query.absent.length > 0 || query.dimensions.length > 0)
  ) {
    fail(
      'a comparison with an average together with other conditions: the average of which rows? the offline engine does not guess',
    )
  }
  for (const date of left.dates) {
    let column: ColumnInfo | null = null
    if (date.target)
      column = pick(
        columns(date.target).filter((c) => c.column.date),
        query.mentioned,
        root,
        lexicon,
        `"${date.target.text}"`,
      )
    if (query.dates.length > 0) fail('two date ranges in one question')
    query.dates.push({ column: column ?? dateColumnOf(root, lexicon), range: date.range })
  }
  if (query.dates.length === 0 && query.dimensions.some((d) => d.kind === 'date')) {
    query.dates.push({ column: dateColumnOf(root, lexicon), range: { from: null, to: null, text: '' } })
  }
  // Columns named and not used: what a listing shows ("names of artists"); elsewhere not understood.
  for (const item of left.freeOther) {
    const cols = columns(item)
    if (cols.length === 0) fail(`did not understand "${item.text}"`)
    // "…: first name, last name and total": what the answer shows anyway, said again
    const shownAnyway = (column: ColumnInfo) =>
      column === query.measure?.column ||
      query.dimensions.some(
        (d) => (d.kind === 'table' && d.table.label.includes(column)) || (d.kind === 'column' && d.column === column),
      )
    if (query.measure && !query.rank?.labelOnly && cols.some((c) => shownAnyway(c.column))) continue
    if (query.measure) fail(`did not understand what "${item.text}" does in this question`)
    const column = pick(cols, query.mentioned, root, lexicon, `"${item.text}"`)
    if (query.filters.some((filter) => filter.column === column && filter.op === '=')) {
      fail(`"${item.text}" is both shown and filtered on: the offline engine only matches whole values`)
    }
    const extra = query.withAt >= 0 && left.items.indexOf(item) > query.withAt
    ;(extra ? query.extras : query.projection).push(column)
  }
  if (query.names) {
    const people = query.measure ? query.dimensions.flatMap((d) => (d.kind === 'table' ? [d.table] : [])) : [root]
    if (!people.some((table) => table.label.length === 2)) fail('"first and last name": nothing here has them')
  }
  // Tables named and not part of the query: not understood.
  const used = new Set(involved(query))
  for (const item of left.freeTables) {
    const table = tableOf(item)!
    if (used.has(table)) continue
    if (qualifies(item, left.items, left.valueItems, lexicon)) {
      // "revenue from metal tracks": read through the tracks
      query.through.push(table)
      continue
    }
    fail(`did not understand how "${item.text}" relates to ${root.meta.table}`)
  }
  return query
}

function dateColumnOf(root: TableInfo, lexicon: Lexicon): ColumnInfo {
  if (root.dates.length === 1) return root.dates[0]!
  if (root.dates.length > 1)
    fail(`${root.meta.table} has more than one date (${root.dates.map((c) => c.name).join(', ')}): say which`)
  // The nearest table it belongs to (many-to-one) with exactly one date.
  const reachable = lexicon.tables
    .filter((table) => table !== root && table.dates.length > 0)
    .map((table) => ({ table, path: joinPath(lexicon, root, table) }))
    .filter((found) => found.path.ok && !found.path.steps.some((step) => step.fansOut))
    .map((found) => ({ table: found.table, length: (found.path as { steps: JoinStep[] }).steps.length }))
  if (reachable.length === 0) fail(`${root.meta.table} has no date to filter on`)
  const nearest = Math.min(...reachable.map((found) => found.length))
  const closest = reachable.filter((found) => found.length === nearest)
  if (closest.length > 1 || closest[0]!.table.dates.length > 1)
    fail(`which date of ${root.meta.table} is meant is unclear`)
  return closest[0]!.table.dates[0]!
}

/**
 * One column among candidates: those in the root table, then in tables the question names, then the only
 * one; then the strongest match if it alone is strongest. Anything else is ambiguous.
 */
function pick(
  candidates: readonly { column: ColumnInfo; strength: number }[],
  mentioned: readonly TableInfo[],
  root: TableInfo | null,
  lexicon: Lexicon,
  what: string,
): ColumnInfo {
  void lexicon
  const unique = [...new Map(candidates.map((c) => [c.column, c])).values()]
  const tiers = [
    unique.filter((c) => root !== null && c.column.table === root),
    unique.filter((c) => mentioned.includes(c.column.table)),
    unique,
  ]
  for (const tier of tiers) {
    if (tier.length === 0) continue
    const strongest = Math.max(...tier.map((c) => c.strength))
    const best = tier.filter((c) => c.strength === strongest)
    if (best.length === 1) return best[0]!.column
    // "invoice ids": the invoice's own key, not the keys that refer to it
    const primary = best.filter((c) => c.column.column.is_primary)
    if (
      primary.length === 1 &&
      best.every(
        (c) =>
          c === primary[0] || (c.column.key && c.column.name.toLowerCase() === primary[0]!.column.name.toLowerCase()),
      )
    )
      return primary[0]!.column
    fail(`${what} could be ${best.map((c) => `${c.column.table.meta.table}.${c.column.name}`).join(' or ')}: say which`)
  }
  return fail(`${what} names no column`)
}

/** Tables a query reads, beyond its root. */
function involved(query: Query): TableInfo[] {
  const out: TableInfo[] = []
  if (query.measure?.column) out.push(query.measure.column.table)
  if (query.measure?.times) out.push(query.measure.times.table)
  if (query.measure?.table) out.push(query.measure.table)
  for (const dimension of query.dimensions) {
    if (dimension.kind === 'table') out.push(dimension.table)
    if (dimension.kind === 'column') out.push(dimension.column.table)
  }
  for (const filter of query.filters) out.push(filter.column.table)
  for (const date of query.dates) if (date.column) out.push(date.column.table)
  for (const column of query.projection) out.push(column.table)
  if (query.rank?.by) out.push(query.rank.by.table)
  out.push(...query.through)
  return out
}

// ---------------------------------------------------------------------------------------------------------
// A query → SQL

function render(query: Query, lexicon: Lexicon): { sql: string; explanation: string; measureName?: string } {
  const { root } = query
  const aliases = new Map<TableInfo, string>([[root, root.meta.table]])
  const joins: string[] = []
  let fansOut = false
  for (const table of involved(query)) {
    if (aliases.has(table)) continue
    const path = joinPath(lexicon, root, table)
    if (!path.ok) fail(path.reason)
    for (const step of (path as { steps: JoinStep[] }).steps) {
      if (step.fansOut) fansOut = true
      if (aliases.has(step.to)) continue
      let alias = step.to.meta.table
      while ([...aliases.values()].includes(alias)) alias = `${alias}_`
      aliases.set(step.to, alias)
      const on = step.on
        .map(
          ([a, b]) =>
            `${quoteIdentifier(aliases.get(step.from)!)}.${quoteIdentifier(a)} = ${quoteIdentifier(alias)}.${quoteIdentifier(b)}`,
        )
        .join(' AND ')
      joins.push(`JOIN ${step.to.sqlName} AS ${quoteIdentifier(alias)} ON ${on}`)
    }
  }
  const ref = (column: ColumnInfo) => `${quoteIdentifier(aliases.get(column.table)!)}.${quoteIdentifier(column.name)}`
  const described = (column: ColumnInfo) => `${column.table.meta.table}.${column.name}`

  const where: string[] = []
  const conditions: string[] = []
  for (const filter of query.filters) {
    if (filter.op === 'is null' || filter.op === 'is not null') {
      where.push(`${ref(filter.column)} ${filter.op.toUpperCase()}`)
      conditions.push(`${described(filter.column)} ${filter.op === 'is null' ? 'is empty' : 'is filled in'}`)
      continue
    }
    if (typeof filter.value === 'object' && filter.value !== null) {
      // the column's average over its whole table
      where.push(
        `${ref(filter.column)} ${filter.op} (SELECT avg(${quoteIdentifier(filter.column.name)}) FROM ${filter.column.table.sqlName})`,
      )
      conditions.push(`${described(filter.column)} ${filter.op} its average`)
      continue
    }
    const text = filter.value as string | number
    const value =
      typeof text === 'number'
        ? numberLiteral(text)
        : filter.column.numeric && /^-?\d+(\.\d+)?$/.test(text)
          ? text
          : quoteLiteral(text)
    where.push(`${ref(filter.column)} ${filter.op} ${value}`)
    conditions.push(`${described(filter.column)} ${filter.op} ${typeof text === 'number' ? text : `“${text}”`}`)
  }
  for (const table of query.absent) {
    // No row of `table` hangs off the root's row: the path from the root, first step one-to-many.
    const path = joinPath(lexicon, root, table)
    if (!path.ok) fail(path.reason)
    const steps = (path as { steps: JoinStep[] }).steps
    if (steps.length === 0 || !steps[0]!.fansOut) fail(`"no ${table.meta.table}": ${root.meta.table} has at most one`)
    const inner = new Map<TableInfo, string>()
    const innerRef = (t: TableInfo, column: string) =>
      `${quoteIdentifier(t === root ? aliases.get(root)! : inner.get(t)!)}.${quoteIdentifier(column)}`
    steps.forEach((step, n) => inner.set(step.to, `absent_${n + 1}`))
    const [first, ...rest] = steps
    const joinsSql = rest
      .map(
        (step) =>
          ` JOIN ${step.to.sqlName} AS ${quoteIdentifier(inner.get(step.to)!)} ON ${step.on.map(([a, b]) => `${innerRef(step.from, a)} = ${innerRef(step.to, b)}`).join(' AND ')}`,
      )
      .join('')
    const link = first!.on.map(([a, b]) => `${innerRef(first!.to, b)} = ${innerRef(root, a)}`).join(' AND ')
    where.push(
      `NOT EXISTS (SELECT 1 FROM ${first!.to.sqlName} AS ${quoteIdentifier(inner.get(first!.to)!)}${joinsSql} WHERE ${link})`,
    )
    conditions.push(`no ${table.meta.table} row belongs to it`)
  }
  for (const date of query.dates) {
    if (!date.column) continue
    const literal = (day: Date) => `${/^DATE$/i.test(date.column!.column.type) ? 'DATE' : 'TIMESTAMP'} '${isoDay(day)}'`
    if (date.range.from) where.push(`${ref(date.column)} >= ${literal(date.range.from)}`)
    if (date.range.to) where.push(`${ref(date.column)} < ${literal(date.range.to)}`)
    if (date.range.text) conditions.push(`${described(date.column)} ${date.range.text}`)
  }
  const whereSql = where.length > 0 ? `\nWHERE ${where.join('\n  AND ')}` : ''
  const from = `FROM ${root.sqlName} AS ${quoteIdentifier(aliases.get(root)!)}${joins.map((join) => `\n${join}`).join('')}`
  const condition = conditions.length > 0 ? `, where ${conditions.join(' and ')}` : ''

  if (!query.measure) {
    if (query.unit) fail(`"in ${query.unit}s" needs a total, an average, a minimum or a maximum`)
    // Rows of the root table
    const base = query.projection.length > 0 ? query.projection : root.label
    const shownColumns = [...new Set([...base, ...query.extras])]
    let shown = base.length > 0 ? shownColumns.map(ref).join(', ') : `${quoteIdentifier(aliases.get(root)!)}.*`
    let source = `${from}${whereSql}`
    if (fansOut) {
      // "the artist of the album X": each row once, those with a match across the join (a semi-join)
      if (query.rank || root.primary.length !== 1 || !shownColumns.every((column) => column.table === root))
        fail(`rows of ${root.meta.table} would repeat across this join`)
      // A number compared across the join ("customers who spent more than 45") may mean each row or their
      // total: only values and dates are read as "some row has it".
      const across = query.filters.filter((filter) => filter.column.table !== root)
      if (across.some((filter) => typeof filter.value !== 'string'))
        fail(`"${described(across[0]!.column)}" of each row or of them all? the offline engine does not guess`)
      const listed = quoteIdentifier(`listed_${root.meta.table}`)
      const key = root.primary[0]!
      shown =
        base.length > 0
          ? shownColumns.map((column) => `${listed}.${quoteIdentifier(column.name)}`).join(', ')
          : `${listed}.*`
      source = `FROM ${root.sqlName} AS ${listed}\nWHERE ${listed}.${quoteIdentifier(key.name)} IN (\n  SELECT ${ref(key)}\n  ${from.replaceAll('\n', '\n  ')}${whereSql.replaceAll('\n', '\n  ')}\n)`
    }
    // Listing categories ("the cities where we have customers") lists each one once.
    const distinct =
      !query.rank &&
      query.projection.length > 0 &&
      shownColumns.every((column) => column.column.is_categorical && !root.label.includes(column))
    let sql = `SELECT ${distinct ? 'DISTINCT ' : ''}${shown}\n${source}`
    let ranking = ''
    if (query.rank?.by) {
      const direction = query.rank.direction === 'desc' ? 'DESC' : 'ASC'
      const tieBreak = root.primary.map((column) => `, ${ref(column)}`).join('')
      sql += `\nORDER BY ${ref(query.rank.by)} ${direction}${tieBreak}`
      if (query.rank.n !== null) sql += `\nLIMIT ${query.rank.n}`
      ranking = `, ${query.rank.n !== null ? `the ${query.rank.n} ` : ''}with the ${query.rank.direction === 'desc' ? 'highest' : 'lowest'} ${query.rank.by.name}`
    }
    const what = base.length > 0 ? shownColumns.map(described).join(', ') : `rows of ${root.meta.table}`
    return { sql, explanation: `Lists ${what}${condition}${ranking}.` }
  }

  const measure = query.measure
  let expression: string
  let measureName: string
  let measureText: string
  if (measure.aggregate === 'count' && !measure.column) {
    if (fansOut) {
      if (root.primary.length !== 1) fail(`counting ${root.meta.table} across this join needs a single-column key`)
      expression = `count(DISTINCT ${ref(root.primary[0]!)})`
    } else {
      expression = 'count(*)'
    }
    measureName = `${root.meta.table.toLowerCase()}_count`
    measureText = `the number of ${root.meta.table} rows`
  } else {
    const column = measure.column!
    if (
      fansOut &&
      (measure.aggregate === 'sum' ||
        measure.aggregate === 'avg' ||
        (measure.aggregate === 'count' && !measure.distinct))
    ) {
      fail(
        `${measure.aggregate === 'avg' ? 'an average' : 'a total'} of ${described(column)} across ${[...aliases.keys()]
          .filter((t) => t !== root)
          .map((t) => t.meta.table)
          .join(', ')} would count rows more than once`,
      )
    }
    const fn = measure.aggregate
    expression = `${fn}(${measure.distinct && fn === 'count' ? 'DISTINCT ' : ''}${ref(column)}${measure.times ? ` * ${ref(measure.times)}` : ''})`
    if (query.unit) {
      // a duration in milliseconds, shown in seconds, minutes or hours
      if (fn === 'count' || !/^milliseconds$/i.test(column.name))
        fail(`cannot show ${described(column)} in ${query.unit}s`)
      expression = `${expression} / ${{ second: '1000.0', minute: '60000.0', hour: '3600000.0' }[query.unit]}`
    }
    measureName = measure.times ? 'revenue' : `${fn === 'count' ? 'distinct' : fn}_${column.name}`.toLowerCase()
    const words = {
      count: 'the number of distinct',
      sum: 'the total',
      avg: 'the average',
      min: 'the smallest',
      max: 'the largest',
    }
    measureText = `${words[fn]} ${described(column)}${measure.times ? ` × ${described(measure.times)}` : ''}`
  }

  const selects: string[] = []
  const groups: string[] = []
  const orders: string[] = []
  const groupTexts: string[] = []
  for (const dimension of query.dimensions) {
    if (dimension.kind === 'date') {
      const date = query.dates[0]?.column
      if (!date) fail('grouping by date needs a date column')
      // Within one calendar year, months and quarters are their numbers (1–12, 1–4); across years, their first day.
      const range = query.dates[0]!.range
      const oneYear =
        range.from !== null &&
        range.to !== null &&
        range.from.getUTCFullYear() === new Date(range.to.getTime() - 1).getUTCFullYear()
      const expr =
        dimension.unit === 'year'
          ? `year(${ref(date!)})`
          : dimension.unit === 'day'
            ? `CAST(${ref(date!)} AS DATE)`
            : oneYear && (dimension.unit === 'month' || dimension.unit === 'quarter')
              ? `${dimension.unit}(${ref(date!)})`
              : `CAST(date_trunc('${dimension.unit}', ${ref(date!)}) AS DATE)`
      selects.push(`${expr} AS ${quoteIdentifier(dimension.unit)}`)
      groups.push(expr)
      orders.push(expr)
      groupTexts.push(`per ${dimension.unit} of ${described(date!)}`)
    } else if (dimension.kind === 'column') {
      // A ranking of values leaves out the rows without one (no composer is not a composer).
      if (query.rank || query.having) where.push(`${ref(dimension.column)} IS NOT NULL`)
      selects.push(ref(dimension.column))
      groups.push(ref(dimension.column))
      orders.push(ref(dimension.column))
      groupTexts.push(`per ${described(dimension.column)}`)
    } else {
      const table = dimension.table
      if (table.label.length === 0) fail(`${table.meta.table} has no name column to show for each row`)
      for (const column of table.label) {
        selects.push(ref(column))
        orders.push(ref(column))
      }
      groups.push(...table.primary.map(ref), ...table.label.map(ref))
      groupTexts.push(`per ${table.meta.table} (${table.label.map((c) => c.name).join(' ')})`)
    }
  }
  const labelOnly = query.rank?.labelOnly === true && query.rank.n === 1
  if (!labelOnly && !query.having?.hideMeasure) selects.push(`${expression} AS ${quoteIdentifier(measureName)}`)
  const groupedWhere = where.length > 0 ? `\nWHERE ${where.join('\n  AND ')}` : ''
  let sql = `SELECT ${selects.join(', ')}\n${from}${groupedWhere}`
  if (groups.length > 0) sql += `\nGROUP BY ${[...new Set(groups)].join(', ')}`
  if (query.having) {
    if (groups.length === 0) fail('a condition on a count needs what is counted per')
    sql += `\nHAVING ${expression} ${query.having.op} ${numberLiteral(query.having.value)}`
  }
  let ranking = ''
  if (query.rank) {
    if (groups.length === 0) fail('a ranking needs what is ranked')
    const ordered = labelOnly || query.having?.hideMeasure ? expression : quoteIdentifier(measureName)
    sql += `\nORDER BY ${ordered} ${query.rank.direction === 'desc' ? 'DESC' : 'ASC'}, ${orders.join(', ')}`
    if (query.rank.n !== null) sql += `\nLIMIT ${query.rank.n}`
    ranking =
      query.rank.n === null
        ? ', ranked'
        : `, the ${query.rank.n} ${query.rank.direction === 'desc' ? 'highest' : 'lowest'}`
  } else if (groups.length > 0) {
    const dated = query.dimensions.some((d) => d.kind === 'date')
    sql += dated
      ? `\nORDER BY ${orders.join(', ')}`
      : `\nORDER BY ${query.having?.hideMeasure ? expression : quoteIdentifier(measureName)} DESC, ${orders.join(', ')}`
  }
  const grouping = groupTexts.length > 0 ? ` ${groupTexts.join(' and ')}` : ''
  if (query.countGroups) {
    const counted = `${groupTexts.join(' and ').replace(/^per /, '')}`
    return {
      sql: `SELECT count(*) AS ${quoteIdentifier('count')}\nFROM (\n${sql}\n) AS ${quoteIdentifier('groups')}`,
      explanation: `Counts each ${counted} with ${measureText} ${query.having!.op} ${query.having!.value}${condition}.`,
    }
  }
  const explanation = `Computes ${measureText}${grouping}${condition}${ranking}.`
  return { sql, explanation: explanation.charAt(0).toUpperCase() + explanation.slice(1), measureName }
}

function numberLiteral(value: number): string {
  if (!Number.isFinite(value)) fail('a number could not be read')
  return String(value)
}
