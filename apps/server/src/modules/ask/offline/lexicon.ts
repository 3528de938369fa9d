import type { MetadataColumn, MetadataRelation, TableMetadata } from '@tributary/contract'

import type { AskSchema } from '../ask-schema.js'
import { nameWords, QUIET, type Token, tokenize, variants } from './text.js'

/**
 * What the words of a question can name in the semantic layer: tables, columns and categorical values,
 * by their names and, more weakly, by the words of their descriptions. Built once per schema.
 */

export interface TableInfo {
  meta: TableMetadata
  /** `catalog.schema.table`, lower case: a key. */
  key: string
  /** Quoted `"catalog"."schema"."table"`. */
  sqlName: string
  columns: ColumnInfo[]
  primary: ColumnInfo[]
  /** What names a row: `Name`, else `FirstName` + `LastName`, else `Title`, else the one column ending in `Name`. */
  label: ColumnInfo[]
  dates: ColumnInfo[]
}

export interface ColumnInfo {
  table: TableInfo
  column: MetadataColumn
  name: string
  numeric: boolean
  date: boolean
  /** A key (primary, or on either side of a relation): never summed or averaged. */
  key: boolean
}

export type Ref =
  | { kind: 'table'; table: TableInfo }
  | { kind: 'column'; column: ColumnInfo }
  | { kind: 'value'; column: ColumnInfo; value: string }

/** How strongly words name something: the whole name, a categorical value, part of a name, a description word. */
export const STRENGTH = { name: 3, value: 3, partial: 2, description: 1 } as const

interface Entry {
  words: string[]
  ref: Ref
  strength: number
  /** Only as written so ("US", not the pronoun "us"). */
  written?: string
}

export interface Lexicon {
  tables: TableInfo[]
  relations: MetadataRelation[]
  byFirstWord: Map<string, Entry[]>
}

export interface PhraseMatch {
  /** Index after the phrase. */
  end: number
  /** What the phrase may name, strongest first. */
  refs: { ref: Ref; strength: number }[]
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|DECIMAL|NUMERIC|DOUBLE|FLOAT|REAL)/i
const DATE = /^(DATE|TIMESTAMP)/i

/** Words that say nothing about a column when found in its description. */
const DESCRIPTION_STOP = new Set(
  (
    'a an the of in on at to for from by with and or is are was were be been it its this that these those as ' +
    'each per one two any all some which who what when where how not no than then there their them they we our ' +
    'row rows table tables column columns value values id ids key keys number numbers name names date dates'
  ).split(' '),
)

/**
 * Words people use for measures that schemas rarely name that way, and the column names they stand for.
 * Weak (as description words): a name or a description wins, and two columns of one concept are ambiguous.
 */
const CONCEPTS: { words: string[]; columns: RegExp }[] = [
  {
    words: ['revenue', 'sale', 'turnover', 'income', 'spent', 'spending', 'amount', 'earning', 'money'],
    columns: /^(total|total_?amount|amount|revenue|sales)$/i,
  },
  { words: ['length', 'duration', 'long'], columns: /^(milliseconds|duration|duration_?ms|length|seconds)$/i },
  { words: ['size', 'file size'], columns: /^(bytes|size|file_?size|size_?bytes)$/i },
  { words: ['cost'], columns: /price$/i },
]

/**
 * Other names of common categorical values ("US" for USA). `written`: only as written so, where the words
 * are also common words ("us").
 */
const VALUE_ALIASES: Record<string, { words: string[]; written?: string }[]> = {
  usa: [{ words: ['us'], written: 'US' }, { words: ['u', 's'], written: 'U S' }, { words: ['united', 'state'] }],
  'united states': [{ words: ['usa'] }, { words: ['us'], written: 'US' }, { words: ['u', 's'], written: 'U S' }],
  'united kingdom': [{ words: ['uk'] }, { words: ['u', 'k'], written: 'U K' }],
  uk: [{ words: ['united', 'kingdom'] }],
}

/**
 * Keyed by the schema's tables (with its relations checked): a schema reused with another "now" (the ask
 * service's cache hands out one per question) keeps its lexicon.
 */
const cache = new WeakMap<object, { relations: AskSchema['relations']; lexicon: Lexicon }>()

export function lexiconOf(schema: AskSchema): Lexicon {
  const cached = cache.get(schema.tables)
  if (cached && cached.relations === schema.relations) return cached.lexicon
  const lexicon = build(schema)
  cache.set(schema.tables, { relations: schema.relations, lexicon })
  return lexicon
}

export const quoteName = (name: string): string => `"${name.replaceAll('"', '""')}"`

function build(schema: AskSchema): Lexicon {
  const relationColumns = new Set<string>()
  for (const relation of schema.relations) {
    for (const side of [relation.from, relation.to]) {
      for (const column of side.columns) relationColumns.add(columnKey(side.catalog, side.schema, side.table, column))
    }
  }
  const tables: TableInfo[] = []
  for (const meta of schema.tables) {
    if (meta.missing || !meta.use_with_ai) continue
    const table: TableInfo = {
      meta,
      key: `${meta.catalog}.${meta.schema}.${meta.table}`.toLowerCase(),
      sqlName: [meta.catalog, meta.schema, meta.table].map(quoteName).join('.'),
      columns: [],
      primary: [],
      label: [],
      dates: [],
    }
    for (const column of meta.columns) {
      if (column.missing) continue
      const info: ColumnInfo = {
        table,
        column,
        name: column.name,
        numeric: NUMERIC.test(column.type),
        date: DATE.test(column.type),
        key:
          column.is_primary ||
          relationColumns.has(columnKey(meta.catalog, meta.schema, meta.table, column.name)) ||
          /(^|[^a-z])id$/i.test(column.name) ||
          /[a-z]Id$/.test(column.name),
      }
      table.columns.push(info)
      if (column.is_primary) table.primary.push(info)
      if (info.date) table.dates.push(info)
    }
    table.label = labelOf(table)
    tables.push(table)
  }

  // A description word that is a name in the schema ("customers" in "purchases by customers") names that, not this.
  const nameWordSet = new Set(
    schema.tables.flatMap((meta) => [
      ...nameWords(meta.table),
      ...meta.columns.flatMap((column) => nameWords(column.name)),
    ]),
  )
  const tableWordSet = new Set(schema.tables.flatMap((meta) => nameWords(meta.table)))
  const byFirstWord = new Map<string, Entry[]>()
  const add = (words: string[], ref: Ref, strength: number, written?: string) => {
    if (words.length === 0) return
    const list = byFirstWord.get(words[0]!) ?? []
    list.push(written ? { words, ref, strength, written } : { words, ref, strength })
    byFirstWord.set(words[0]!, list)
  }
  // "support rep" for the Employee a SupportRepId refers to: a reference named for its role
  const byKey = new Map(tables.map((table) => [table.key, table]))
  for (const relation of schema.relations) {
    if (isSelf(relation) || relation.from.columns.length !== 1) continue
    const ends = [
      { side: relation.from, other: relation.to },
      { side: relation.to, other: relation.from },
    ]
    for (const { side, other } of ends) {
      const words = nameWords(side.columns[0]!)
      const owner = byKey.get(`${side.catalog}.${side.schema}.${side.table}`.toLowerCase())
      const target = byKey.get(`${other.catalog}.${other.schema}.${other.table}`.toLowerCase())
      if (!owner || !target || words.length < 2 || words.at(-1) !== 'id') continue
      // the referring column, not the key it refers to
      if (owner.primary.some((column) => column.name === side.columns[0])) continue
      const role = words.slice(0, -1)
      const targetWords = nameWords(target.meta.table)
      if (role.join(' ') === targetWords.join(' ') || role.every((word) => QUIET.has(word))) continue
      // a table's name (even of a table hidden from AI) is never a role
      if (schema.tables.some((table) => nameWords(table.table).join(' ') === role.join(' '))) continue
      add(role, { kind: 'table', table: target }, STRENGTH.partial)
    }
  }
  for (const table of tables) {
    const tableWords = nameWords(table.meta.table)
    add(tableWords, { kind: 'table', table }, STRENGTH.name)
    describe(table.meta.description, nameWordSet, (word) => add([word], { kind: 'table', table }, STRENGTH.description))
    for (const column of table.columns) {
      const words = nameWords(column.name)
      const ref: Ref = { kind: 'column', column }
      const info = column
      add(words, ref, STRENGTH.name)
      // "invoice total", "track unit price": the table's words, then the column's
      const prefixed = startsWith(words, tableWords) ? words : [...tableWords, ...words]
      add(prefixed, ref, STRENGTH.name)
      // "country" for BillingCountry: the column's last words, unless they only say "id"
      for (let start = 1; start < words.length; start++) {
        const tail = words.slice(start)
        if ((tail.length === 1 && tail[0] === 'id') || tail.every((word) => QUIET.has(word))) continue
        add(tail, ref, STRENGTH.partial)
      }
      describe(column.column.description, nameWordSet, (word) => add([word], ref, STRENGTH.description))
      // Common words for common measures ("revenue" for a Total, "length" for Milliseconds), weakly.
      if (info.numeric && !info.key) {
        for (const concept of CONCEPTS) {
          if (concept.columns.test(column.name))
            for (const word of concept.words) add(word.split(' '), ref, STRENGTH.description)
        }
      }
      // "job title" for the Title of a table of people
      if (!info.numeric && !info.date && table.label.length === 2 && /^(job_?)?title$/i.test(column.name)) {
        for (const words of [['job', 'title'], ['job'], ['position']]) add(words, ref, STRENGTH.description)
      }
      // "hired" for HireDate: a date column's words before "date", unless they name a table
      if (info.date && words.length > 1 && words.at(-1) === 'date') {
        const head = words.slice(0, -1)
        if (!head.every((word) => tableWordSet.has(word))) add(head, ref, STRENGTH.partial)
      }
      if (column.column.is_categorical) {
        for (const value of column.column.categorical_values) {
          const valueWords = tokenize(value).map((token) => token.stem)
          if (valueWords.length > 0 && valueWords.length <= 8)
            add(valueWords, { kind: 'value', column, value }, STRENGTH.value)
          for (const alias of VALUE_ALIASES[value.toLowerCase()] ?? [])
            add(alias.words, { kind: 'value', column, value }, STRENGTH.value, alias.written)
        }
      }
    }
  }
  return { tables, relations: schema.relations.filter((relation) => !isSelf(relation)), byFirstWord }
}

const isSelf = (relation: MetadataRelation) =>
  relation.from.catalog === relation.to.catalog &&
  relation.from.schema === relation.to.schema &&
  relation.from.table === relation.to.table

const columnKey = (catalog: string, schema: string, table: string, column: string) =>
  `${catalog}.${schema}.${table}.${column}`.toLowerCase()

const startsWith = (words: readonly string[], prefix: readonly string[]) =>
  prefix.length <= words.length && prefix.every((word, i) => words[i] === word)

function describe(description: string | null, names: ReadonlySet<string>, each: (word: string) => void) {
  if (!description) return
  const seen = new Set<string>()
  for (const token of tokenize(description)) {
    if (
      token.number !== undefined ||
      DESCRIPTION_STOP.has(token.text) ||
      QUIET.has(token.text) ||
      token.stem.length < 3
    )
      continue
    if (seen.has(token.stem) || names.has(token.stem)) continue
    seen.add(token.stem)
    each(token.stem)
  }
}

function labelOf(table: TableInfo): ColumnInfo[] {
  const text = table.columns.filter((column) => !column.numeric && !column.date && !column.key)
  const named = (name: string) => text.find((column) => column.name.toLowerCase() === name)
  const name = named('name')
  if (name) return [name]
  const first = named('firstname') ?? named('first_name')
  const last = named('lastname') ?? named('last_name')
  if (first && last) return [first, last]
  const title = named('title')
  if (title) return [title]
  const endingInName = text.filter((column) => /name$/i.test(column.name))
  return endingInName.length === 1 ? endingInName : []
}

/** Does the token stand for the word, as written or in another form (`hired` for `hire`)? */
function tokenIs(token: Token, word: string): boolean {
  return token.stem === word || token.text === word || variants(token.text).includes(word)
}

/**
 * The longest phrase of the semantic layer starting at `i`, with everything it may name; null when none.
 * Description words only count when no name or value starts there.
 */
export function matchPhrase(lexicon: Lexicon, tokens: readonly Token[], i: number): PhraseMatch | null {
  const first = tokens[i]
  if (!first) return null
  const keys = new Set([first.stem, first.text, ...variants(first.text)])
  let best: PhraseMatch | null = null
  for (const key of keys) {
    for (const entry of lexicon.byFirstWord.get(key) ?? []) {
      const fits = entry.words.every((word, k) => tokens[i + k] !== undefined && tokenIs(tokens[i + k]!, word))
      if (!fits) continue
      const end = i + entry.words.length
      // A value made of common words ("ON", "It") only when written as the data writes it.
      if (entry.written !== undefined) {
        const written = tokens
          .slice(i, end)
          .map((token) => token.raw)
          .join(' ')
        if (written !== entry.written) continue
      } else if (entry.ref.kind === 'value' && entry.words.every((word) => QUIET.has(word))) {
        const written = tokens
          .slice(i, end)
          .map((token) => token.raw)
          .join(' ')
        if (written !== entry.ref.value) continue
      }
      if (!best || end > best.end) best = { end, refs: [] }
      if (end === best.end && !best.refs.some((known) => sameRef(known.ref, entry.ref))) {
        best.refs.push({ ref: entry.ref, strength: entry.strength })
      }
    }
  }
  if (!best) return null
  const strongest = Math.max(...best.refs.map((ref) => ref.strength))
  // A description word never competes with a name.
  best.refs = best.refs
    .filter((ref) => strongest === STRENGTH.description || ref.strength > STRENGTH.description)
    .sort((a, b) => b.strength - a.strength)
  return best
}

function sameRef(a: Ref, b: Ref): boolean {
  if (a.kind !== b.kind) return false
  if (a.kind === 'table') return a.table === (b as typeof a).table
  if (a.kind === 'column') return a.column === (b as typeof a).column
  return a.column === (b as typeof a).column && a.value === (b as typeof a).value
}

/** One step of a join path: from `from` to `to` through a relation, with whether it multiplies rows. */
export interface JoinStep {
  from: TableInfo
  to: TableInfo
  on: [string, string][]
  /** Following it repeats rows of `from` (one-to-many). */
  fansOut: boolean
}

export type PathResult = { ok: true; steps: JoinStep[] } | { ok: false; reason: string }

/**
 * The shortest join path between two tables along known relations; refused when there is none or when
 * two different paths are equally short (which one was meant is then a guess).
 */
export function joinPath(lexicon: Lexicon, from: TableInfo, to: TableInfo): PathResult {
  if (from === to) return { ok: true, steps: [] }
  const byKey = new Map(lexicon.tables.map((table) => [table.key, table]))
  const keyOf = (ref: { catalog: string; schema: string; table: string }) =>
    `${ref.catalog}.${ref.schema}.${ref.table}`.toLowerCase()
  const edges = new Map<TableInfo, JoinStep[]>()
  for (const relation of lexicon.relations) {
    const a = byKey.get(keyOf(relation.from))
    const b = byKey.get(keyOf(relation.to))
    if (!a || !b || relation.from.columns.length !== relation.to.columns.length) continue
    const pairs = relation.from.columns.map((column, k) => [column, relation.to.columns[k]!] as [string, string])
    const forward = relation.type === 'ONE_TO_MANY'
    const backward = relation.type === 'MANY_TO_ONE'
    push(edges, a, { from: a, to: b, on: pairs, fansOut: forward })
    push(edges, b, { from: b, to: a, on: pairs.map(([x, y]) => [y, x] as [string, string]), fansOut: backward })
  }
  // Breadth first, counting the shortest paths to each table.
  const distance = new Map<TableInfo, number>([[from, 0]])
  const ways = new Map<TableInfo, number>([[from, 1]])
  const previous = new Map<TableInfo, JoinStep>()
  let frontier = [from]
  while (frontier.length > 0 && !distance.has(to)) {
    const next: TableInfo[] = []
    for (const table of frontier) {
      for (const step of edges.get(table) ?? []) {
        const d = distance.get(table)! + 1
        const known = distance.get(step.to)
        if (known === undefined) {
          distance.set(step.to, d)
          ways.set(step.to, ways.get(table)!)
          previous.set(step.to, step)
          next.push(step.to)
        } else if (known === d) {
          ways.set(step.to, ways.get(step.to)! + ways.get(table)!)
        }
      }
    }
    frontier = next
  }
  if (!distance.has(to)) return { ok: false, reason: `no known relation links ${from.meta.table} to ${to.meta.table}` }
  if (ways.get(to)! > 1) {
    return { ok: false, reason: `${from.meta.table} and ${to.meta.table} are linked in more than one way` }
  }
  const steps: JoinStep[] = []
  for (let at = to; at !== from;) {
    const step = previous.get(at)!
    steps.unshift(step)
    at = step.from
  }
  return { ok: true, steps }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key) ?? []
  list.push(value)
  map.set(key, list)
}
