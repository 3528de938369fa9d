import MiniSearch, { type SearchResult } from 'minisearch'
import { stemmer } from 'stemmer'

/**
 * Full-text search over small collections of documents (a project's tables, its golden SQL), with
 * weighted fields, built on minisearch (BM25+ ranking over a radix tree, prefix and fuzzy lookups).
 *
 * Text is analysed the same way on both sides: identifiers are split into words (`InvoiceLine` →
 * invoice line, `customer_id` → customer id, `Address2` → address 2), accents folded, words lower-cased,
 * stop words dropped and the rest Porter-stemmed. Queries are further expanded at query time with the
 * synonym table below (`band` → artist), so the everyday words people type reach the words schemas use.
 * An optional `Embedder` adds vector similarity to the lexical score (the seam for embedding providers).
 */

/**
 * Everyday words → the words schemas use for them. Applied to the words of a query only (never to
 * documents), not transitively, and a synonym counts a little less than the word itself. Keys and
 * values are analysed like any text (so `selling` also covers `sell`, `sells`), a key may be two words.
 */
export const SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  // Who makes the music
  band: ['artist'],
  group: ['artist'],
  musician: ['artist'],
  singer: ['artist'],
  performer: ['artist'],
  writer: ['composer'],
  songwriter: ['composer'],
  author: ['composer', 'artist'],
  // What they make
  record: ['album'],
  release: ['album'],
  lp: ['album'],
  ep: ['album'],
  disc: ['album'],
  cd: ['album'],
  song: ['track'],
  tune: ['track'],
  recording: ['track'],
  single: ['track'],
  piece: ['track'],
  kind: ['genre', 'type'],
  style: ['genre'],
  category: ['genre', 'type'],
  music: ['genre', 'track'],
  format: ['media type'],
  encoding: ['media type'],
  mix: ['playlist'],
  compilation: ['playlist'],
  duration: ['milliseconds'],
  length: ['milliseconds'],
  long: ['milliseconds'],
  size: ['bytes'],
  // Who buys
  client: ['customer'],
  buyer: ['customer'],
  shopper: ['customer'],
  purchaser: ['customer'],
  consumer: ['customer'],
  patron: ['customer'],
  subscriber: ['customer'],
  account: ['customer'],
  company: ['customer'],
  // What they buy, and what it brings in
  purchase: ['invoice', 'order', 'sale'],
  bought: ['invoice', 'order', 'purchase'],
  buy: ['invoice', 'order', 'purchase'],
  order: ['invoice', 'sale'],
  sale: ['invoice', 'order'],
  sold: ['invoice line', 'quantity'],
  selling: ['invoice line', 'quantity'],
  seller: ['invoice line'],
  bill: ['invoice'],
  receipt: ['invoice'],
  transaction: ['invoice'],
  payment: ['invoice'],
  spending: ['invoice', 'total'],
  spent: ['invoice', 'total'],
  spend: ['invoice', 'total'],
  revenue: ['invoice', 'total'],
  income: ['invoice', 'total'],
  earning: ['invoice', 'total'],
  turnover: ['invoice', 'total'],
  'line item': ['invoice line'],
  item: ['invoice line'],
  price: ['unit price', 'total'],
  cost: ['unit price', 'total'],
  amount: ['total', 'quantity'],
  value: ['total'],
  // Who works there
  staff: ['employee'],
  worker: ['employee', 'staff'],
  colleague: ['employee'],
  personnel: ['employee'],
  rep: ['employee', 'support rep'],
  representative: ['employee', 'support rep'],
  agent: ['employee', 'support rep'],
  salesperson: ['employee', 'support rep'],
  'sales rep': ['employee', 'support rep'],
  'account manager': ['employee', 'support rep'],
  manager: ['employee', 'reports to'],
  boss: ['employee', 'reports to'],
  supervisor: ['employee', 'reports to'],
  hired: ['hire date'],
  // Where and when
  nation: ['country'],
  land: ['country'],
  living: ['country', 'city', 'address'],
  lives: ['country', 'city', 'address'],
  located: ['country', 'city', 'address'],
  based: ['country', 'city', 'address'],
  resident: ['country', 'city', 'address'],
  town: ['city'],
  region: ['state', 'country'],
  province: ['state'],
  zip: ['postal code'],
  postcode: ['postal code'],
  telephone: ['phone'],
  mobile: ['phone'],
  mail: ['email'],
  yearly: ['year', 'date'],
  annual: ['year', 'date'],
  monthly: ['month', 'date'],
  weekly: ['week', 'date'],
  daily: ['day', 'date'],
  year: ['date'],
  month: ['date'],
  day: ['date'],
  birthday: ['birth date'],
  born: ['birth date'],
  // Naming
  called: ['name', 'title'],
  named: ['name', 'title'],
}

/** Words too common in questions to tell tables apart. Kept short: a word that may name a column (name, first, number, total) is not here. */
const STOP_WORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does doing done for from had has have having he her ' +
    'here hers him his how i if in into is it its itself me my of off on once only or other our ours out over ' +
    'own please same she should so some such than that the their theirs them then there these they this those ' +
    'through to too under until up very was we were what whats which while who whom whose why will with would ' +
    'you your yours all any each every per most more many much top list show give find get tell made make ' +
    'let lets when where'
  ).split(' '),
)

/** A word of a text: as written, and the term the index knows it by (folded, lower-case, stemmed). */
export interface AnalyzedWord {
  surface: string
  term: string
}

const WORD_RUN = /[\p{L}\p{N}]+/gu
/** Acronyms before a capitalised word (`HTTPServer` → HTTP, Server), capitalised or lower words, digits. */
const IDENTIFIER_PART = /\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+|\p{Lu}+|\p{N}+|\p{L}+/gu
const COMBINING_MARKS = /\p{M}+/gu

function fold(word: string): string {
  return word.normalize('NFD').replace(COMBINING_MARKS, '').toLowerCase()
}

const stems = new Map<string, string>()
function stem(word: string): string {
  let found = stems.get(word)
  if (found === undefined) {
    found = /^\p{N}+$/u.test(word) ? word : stemmer(word)
    if (stems.size > 200_000) stems.clear()
    stems.set(word, found)
  }
  return found
}

/** Marks the term of a whole identifier, which only an exact lookup reaches (no prefix or fuzzy match). */
const COMPOUND = '_'

/**
 * Splits a text into index terms. Each run of letters and digits is split at case changes and digits;
 * a run made of several parts also yields the whole run as a compound term (`InvoiceLine` → invoice,
 * line, _invoiceline) so that a query writing it in one piece (`invoiceline`) still matches, without
 * the prefix `invo` counting it twice. Stop words are dropped (not inside identifiers).
 */
export function analyze(text: string): AnalyzedWord[] {
  const words: AnalyzedWord[] = []
  for (const [run] of text.matchAll(WORD_RUN)) {
    const parts = run.match(IDENTIFIER_PART) ?? [run]
    if (parts.length === 1) {
      const folded = fold(run)
      if (!STOP_WORDS.has(folded)) words.push({ surface: run, term: stem(folded) })
      continue
    }
    for (const part of parts) words.push({ surface: part, term: stem(fold(part)) })
    words.push({ surface: run, term: COMPOUND + stem(fold(run)) })
  }
  return words
}

/** The synonym table analysed once: stemmed key (one or two terms, space-separated) → stemmed schema terms. */
function compileSynonyms(table: Readonly<Record<string, readonly string[]>>): Map<string, string[]> {
  const compiled = new Map<string, string[]>()
  for (const [key, targets] of Object.entries(table)) {
    const keyTerms = analyzeSimple(key)
    if (keyTerms.length === 0 || keyTerms.length > 2) continue
    const joined = keyTerms.join(' ')
    const into = compiled.get(joined) ?? []
    for (const target of targets) for (const term of analyzeSimple(target)) if (!into.includes(term)) into.push(term)
    compiled.set(joined, into)
  }
  return compiled
}

/** Terms of a plain phrase, stop words aside, without whole-run terms: for synonym keys and targets. */
function analyzeSimple(text: string): string[] {
  const terms: string[] = []
  for (const [run] of text.matchAll(WORD_RUN)) {
    for (const part of run.match(IDENTIFIER_PART) ?? [run]) {
      const folded = fold(part)
      if (!STOP_WORDS.has(folded)) terms.push(stem(folded))
    }
  }
  return terms
}

const BUILT_IN_SYNONYMS = compileSynonyms(SYNONYMS)

/**
 * Vector similarity for the seam: an embedding provider turns texts into vectors (all of one length),
 * one per text, in order. A first search hands it every document at once: batching is its business.
 */
export interface Embedder {
  embed(texts: string[]): Promise<number[][]>
}

/** A searchable field: its name (reported in matches), its weight, and how to read it from a document. */
export interface TextField<D> {
  name: string
  /** Relative weight of a match in this field (default 1). */
  boost?: number
  /** A text, or a list of values (column names, categorical values) each reported on its own when it matches. */
  get: (doc: D) => string | readonly string[] | null | undefined
}

export interface TextIndexOptions<D> {
  id: (doc: D) => string
  fields: readonly TextField<D>[]
  /** Extra synonyms, merged with the built-in table. */
  synonyms?: Readonly<Record<string, readonly string[]>>
  embedder?: Embedder
  /** Share of the score given to vector similarity when an embedder is configured (default 0.4). */
  vectorWeight?: number
}

export interface SearchOptions<D> {
  /** Default 10. */
  limit?: number
  /** Documents for which this returns false are never returned. */
  filter?: (doc: D) => boolean
}

/** What matched in one field. */
export interface TextMatch {
  field: string
  /** For a list field, the values that matched (a column name, a categorical value); for a text field, the words. */
  matched: string[]
  /** The query's words that led there, as typed (lower-case), before synonyms. */
  query: string[]
}

export interface TextHit<D> {
  id: string
  doc: D
  /**
   * Relevance, higher is better: the BM25+ score (comparable within one answer only), or, with an
   * embedder, `(1 - vectorWeight) × score / best score + vectorWeight × cosine similarity`, in 0..1.
   */
  score: number
  /** Share (0..1) of the query's words (stop words aside) that matched this document, directly or by a synonym. */
  coverage: number
  matches: TextMatch[]
}

export interface TextIndex<D> {
  readonly size: number
  add(docs: Iterable<D>): void
  remove(id: string): void
  has(id: string): boolean
  search(query: string, options?: SearchOptions<D>): Promise<TextHit<D>[]>
  /** The lexical search alone, synchronously (no embedder involved). */
  searchText(query: string, options?: SearchOptions<D>): TextHit<D>[]
}

/**
 * A term of an expanded query: its weight, how it is looked up, and the query words it stands for.
 * `loose` (prefix and fuzzy) is for the stems of typed words, `prefix` for typed words as written
 * (`employ` stems to `emploi` but is a prefix of `employe`), `exact` for synonyms and compounds.
 */
interface QueryTerm {
  weight: number
  lookup: Lookup
  from: Set<string>
}

type Lookup = 'exact' | 'prefix' | 'loose'
const LOOSENESS: Record<Lookup, number> = { exact: 0, prefix: 1, loose: 2 }

const SYNONYM_WEIGHT = 0.7
const PREFIX_MIN_LENGTH = 4
const FUZZY_MIN_LENGTH = 5
const MAX_QUERY_WORDS = 64

export function createTextIndex<D>(options: TextIndexOptions<D>): TextIndex<D> {
  return new MiniSearchIndex(options)
}

class MiniSearchIndex<D> implements TextIndex<D> {
  readonly #docs = new Map<string, D>()
  readonly #fields: readonly TextField<D>[]
  readonly #fieldsByName: Map<string, TextField<D>>
  readonly #boost: Record<string, number>
  readonly #synonyms: Map<string, string[]>
  readonly #search: MiniSearch<D>
  readonly #id: (doc: D) => string
  readonly #embedder: Embedder | undefined
  readonly #vectorWeight: number
  readonly #vectors = new Map<string, number[]>()
  #embedding: Promise<void> | undefined

  constructor(options: TextIndexOptions<D>) {
    this.#id = options.id
    this.#fields = options.fields
    this.#fieldsByName = new Map(options.fields.map((field) => [field.name, field]))
    this.#boost = Object.fromEntries(options.fields.map((field) => [field.name, field.boost ?? 1]))
    this.#synonyms = options.synonyms
      ? mergeSynonyms(BUILT_IN_SYNONYMS, compileSynonyms(options.synonyms))
      : BUILT_IN_SYNONYMS
    this.#embedder = options.embedder
    this.#vectorWeight = Math.min(1, Math.max(0, options.vectorWeight ?? 0.4))
    this.#search = new MiniSearch<D>({
      idField: '__id',
      fields: options.fields.map((field) => field.name),
      extractField: (doc, fieldName) => {
        if (fieldName === '__id') return this.#id(doc)
        return fieldText(this.#fieldsByName.get(fieldName)?.get(doc))
      },
      tokenize: (text) => analyze(text).map((word) => word.term),
      processTerm: (term) => term,
    })
  }

  get size(): number {
    return this.#docs.size
  }

  /** Adds documents; one whose id is already indexed (or repeated in `docs`) replaces the earlier one. */
  add(docs: Iterable<D>): void {
    const fresh = new Map<string, D>()
    for (const doc of docs) fresh.set(this.#id(doc), doc)
    for (const [id, doc] of fresh) {
      this.remove(id)
      this.#docs.set(id, doc)
    }
    this.#search.addAll([...fresh.values()])
  }

  remove(id: string): void {
    if (!this.#docs.has(id)) return
    this.#search.discard(id)
    this.#docs.delete(id)
    this.#vectors.delete(id)
  }

  has(id: string): boolean {
    return this.#docs.has(id)
  }

  searchText(query: string, options: SearchOptions<D> = {}): TextHit<D>[] {
    const limit = options.limit ?? 10
    const { terms, words } = this.#expand(query)
    if (terms.size === 0) return []
    return this.#lexical(terms, options.filter)
      .slice(0, limit)
      .map((result) => this.#hit(result, result.score, terms, words))
  }

  async search(query: string, options: SearchOptions<D> = {}): Promise<TextHit<D>[]> {
    if (!this.#embedder) return this.searchText(query, options)
    const limit = options.limit ?? 10
    const { terms, words } = this.#expand(query)
    const lexical = terms.size ? this.#lexical(terms, options.filter) : []
    const best = lexical[0]?.score ?? 0
    const [queryVector] = await this.#embedder.embed([query])
    await this.#embedPending()
    const scored = new Map<string, { lexical: SearchResult | undefined; score: number }>()
    for (const result of lexical) scored.set(String(result.id), { lexical: result, score: 0 })
    for (const [id, vector] of this.#vectors) {
      const doc = this.#docs.get(id)
      if (doc === undefined || (options.filter && !options.filter(doc))) continue
      const entry = scored.get(id) ?? { lexical: undefined, score: 0 }
      const lexicalShare = entry.lexical && best > 0 ? entry.lexical.score / best : 0
      const similarity = queryVector ? Math.max(0, cosine(queryVector, vector)) : 0
      entry.score = (1 - this.#vectorWeight) * lexicalShare + this.#vectorWeight * similarity
      scored.set(id, entry)
    }
    return [...scored.entries()]
      .filter(([, entry]) => entry.score > 0)
      .sort((a, b) => b[1].score - a[1].score || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([id, entry]) =>
        entry.lexical
          ? this.#hit(entry.lexical, entry.score, terms, words)
          : { id, doc: this.#docs.get(id)!, score: entry.score, coverage: 0, matches: [] },
      )
  }

  #lexical(terms: Map<string, QueryTerm>, filter: ((doc: D) => boolean) | undefined): SearchResult[] {
    const results = this.#search.search([...terms.keys()].join(' '), {
      boost: this.#boost,
      combineWith: 'OR',
      tokenize: (text) => text.split(' '),
      processTerm: (term) => term,
      boostTerm: (term) => terms.get(term)?.weight ?? 1,
      prefix: (term) => (terms.get(term)?.lookup ?? 'exact') !== 'exact' && term.length >= PREFIX_MIN_LENGTH,
      fuzzy: (term) => (terms.get(term)?.lookup === 'loose' && term.length >= FUZZY_MIN_LENGTH ? 0.2 : false),
      maxFuzzy: 1,
      weights: { prefix: 0.4, fuzzy: 0.25 },
      ...(filter ? { filter: (result: SearchResult) => filter(this.#docs.get(String(result.id))!) } : {}),
    })
    // minisearch multiplies a document's score by the number of query terms it matched. One typed word
    // expands into several terms (stem, surface form, compound, synonyms), so that count would favour
    // documents matching many expansions of one word over documents matching more of the words typed:
    // the multiplier becomes the number of typed words matched instead.
    for (const result of results) {
      const covered = new Set<string>()
      for (const queryTerm of result.queryTerms) {
        for (const from of terms.get(queryTerm)?.from ?? []) for (const word of from.split(' ')) covered.add(word)
      }
      result.score = (result.score / Math.max(1, result.queryTerms.length)) * covered.size
    }
    return results.sort((a, b) => b.score - a.score)
  }

  /** The query's terms with synonyms added, and the distinct words it was typed with. */
  #expand(query: string): { terms: Map<string, QueryTerm>; words: Set<string> } {
    const analyzed = analyze(query).slice(0, MAX_QUERY_WORDS)
    const terms = new Map<string, QueryTerm>()
    const words = new Set<string>()
    const add = (term: string, weight: number, lookup: Lookup, from: string) => {
      const entry = terms.get(term)
      if (entry) {
        entry.weight = Math.max(entry.weight, weight)
        if (LOOSENESS[lookup] > LOOSENESS[entry.lookup]) entry.lookup = lookup
        entry.from.add(from)
      } else {
        terms.set(term, { weight, lookup, from: new Set([from]) })
      }
    }
    analyzed.forEach((word, i) => {
      const surface = fold(word.surface)
      words.add(surface)
      if (word.term.startsWith(COMPOUND)) {
        add(word.term, 1, 'exact', surface)
      } else {
        add(word.term, 1, 'loose', surface)
        if (surface !== word.term) add(surface, 1, 'prefix', surface)
        // A word typed in one piece may be an identifier's compound term (`playlisttrack`).
        add(COMPOUND + word.term, 1, 'exact', surface)
      }
      for (const term of this.#synonyms.get(word.term) ?? []) add(term, SYNONYM_WEIGHT, 'exact', surface)
      const next = analyzed[i + 1]
      if (next) {
        const phrase = `${surface} ${fold(next.surface)}`
        for (const term of this.#synonyms.get(`${word.term} ${next.term}`) ?? []) {
          add(term, SYNONYM_WEIGHT, 'exact', phrase)
        }
      }
    })
    return { terms, words }
  }

  /** Which fields, values and query words a result matched, read again from the document (only for the hits returned). */
  #hit(result: SearchResult, score: number, terms: Map<string, QueryTerm>, words: Set<string>): TextHit<D> {
    const id = String(result.id)
    const doc = this.#docs.get(id)!
    const byField = new Map<string, Map<string, Set<string>>>()
    const matchedWords = new Set<string>()
    for (const [docTerm, fields] of Object.entries(result.match)) {
      const from = new Set<string>()
      for (const queryTerm of result.queryTerms) {
        if (queryTerm === docTerm || docTerm.startsWith(queryTerm) || withinOneEdit(queryTerm, docTerm)) {
          for (const word of terms.get(queryTerm)?.from ?? []) from.add(word)
        }
      }
      for (const word of from) for (const part of word.split(' ')) matchedWords.add(part)
      for (const field of fields) {
        const entry = byField.get(field) ?? new Map<string, Set<string>>()
        entry.set(docTerm, from)
        byField.set(field, entry)
      }
    }
    const matches: TextMatch[] = []
    for (const field of this.#fields) {
      const found = byField.get(field.name)
      if (!found) continue
      const value = field.get(doc)
      const matched: string[] = []
      const query = new Set<string>()
      const items = typeof value === 'string' ? [value] : (value ?? [])
      for (const item of items) {
        const words = analyze(item).filter((word) => found.has(word.term))
        if (words.length === 0) continue
        for (const word of words) for (const from of found.get(word.term)!) query.add(from)
        if (typeof value === 'string') {
          for (const word of words) if (!matched.includes(word.surface)) matched.push(word.surface)
        } else if (!matched.includes(item)) {
          matched.push(item)
        }
      }
      if (matched.length) matches.push({ field: field.name, matched, query: [...query] })
    }
    const coverage = words.size ? [...words].filter((word) => matchedWords.has(word)).length / words.size : 0
    return { id, doc, score, coverage, matches }
  }

  /** Embeds the documents that have no vector yet; concurrent searches wait for one another's batch. */
  async #embedPending(): Promise<void> {
    while (this.#embedding) await this.#embedding
    const pending = [...this.#docs.entries()].filter(([id]) => !this.#vectors.has(id))
    const embedder = this.#embedder
    if (pending.length === 0 || !embedder) return
    this.#embedding = (async () => {
      const vectors = await embedder.embed(
        pending.map(([, doc]) => this.#fields.map((field) => fieldText(field.get(doc))).join('\n')),
      )
      pending.forEach(([id, doc], i) => {
        const vector = vectors[i]
        // A document replaced or removed meanwhile keeps no stale vector.
        if (vector && this.#docs.get(id) === doc) this.#vectors.set(id, vector)
      })
    })().finally(() => {
      this.#embedding = undefined
    })
    await this.#embedding
  }
}

function fieldText(value: string | readonly string[] | null | undefined): string {
  if (value === null || value === undefined) return ''
  return typeof value === 'string' ? value : value.join('\n')
}

function mergeSynonyms(base: Map<string, string[]>, extra: Map<string, string[]>): Map<string, string[]> {
  const merged = new Map(base)
  for (const [key, terms] of extra) merged.set(key, [...new Set([...(merged.get(key) ?? []), ...terms])])
  return merged
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0
  let normA = 0
  let normB = 0
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    dot += a[i]! * b[i]!
    normA += a[i]! * a[i]!
    normB += b[i]! * b[i]!
  }
  return normA && normB ? dot / Math.sqrt(normA * normB) : 0
}

/** Whether two terms are at most one insertion, deletion or substitution apart (as the fuzzy lookup allows). */
function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i += 1
  if (a.length === b.length) return a.slice(i + 1) === b.slice(i + 1)
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1)
}

/**
 * Built indexes kept per key (a project), rebuilt when the key's version changes (a fingerprint of
 * what was indexed, e.g. the latest `updated_at` and a count) or after `invalidate`. Concurrent
 * requests for the same key and version share one build; the least recently used entries go first.
 */
export class TextIndexCache<D> {
  readonly #entries = new Map<string, { version: string; index: Promise<TextIndex<D>> }>()

  constructor(private readonly maxEntries = 100) {}

  get(key: string, version: string, build: () => Promise<TextIndex<D>>): Promise<TextIndex<D>> {
    const entry = this.#entries.get(key)
    this.#entries.delete(key)
    if (entry && entry.version === version) {
      this.#entries.set(key, entry)
      return entry.index
    }
    const index = build()
    const fresh = { version, index }
    this.#entries.set(key, fresh)
    // A failed build is not kept: the next request tries again.
    index.catch(() => {
      if (this.#entries.get(key) === fresh) this.#entries.delete(key)
    })
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!)
    return index
  }

  invalidate(key: string): void {
    this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }
}
