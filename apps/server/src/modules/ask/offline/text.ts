/**
 * Words as the offline engine compares them: lower case, split on anything that is not a letter or a
 * digit (so `AC/DC` is `ac dc` and `BillingCountry` is `billing country`), plurals folded.
 */

export interface Token {
  /** Lower case, as written. */
  text: string
  /** Plural folded (`invoices` → `invoice`, `countries` → `country`). */
  stem: string
  /** As written in the question, for values quoted back. */
  raw: string
  /** A number: digits with an optional decimal part; `$10` is 10 with `currency`. */
  number?: number
  /** An ISO date written `YYYY-MM-DD`. */
  isoDate?: string
  currency?: boolean
}

const TOKEN = /(\d{4}-\d{2}-\d{2})|([$€£]?)(\d+(?:[.,]\d+)*)(?:st|nd|rd|th)?\b|([\p{L}\p{N}]+)/gu

/** Words of a name, split at case changes, digits and punctuation: `InvoiceLine` → `invoice`, `line`. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((word) => stem(word.toLowerCase()))
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  for (const match of text.replace(/[’‘]/g, "'").matchAll(TOKEN)) {
    const [raw, iso, currency, digits, word] = match
    if (iso) {
      tokens.push({ text: iso, stem: iso, raw, isoDate: iso })
    } else if (digits !== undefined) {
      const plain = digits.replace(/,(?=\d{3}\b)/g, '')
      const value = /^\d+(\.\d+)?$/.test(plain) ? Number(plain) : Number.NaN
      const token: Token = { text: digits.toLowerCase(), stem: digits.toLowerCase(), raw }
      if (Number.isFinite(value)) token.number = value
      if (currency) token.currency = true
      tokens.push(token)
    } else if (word) {
      const lower = word.toLowerCase()
      // A possessive's `s` (customer's) says nothing.
      if (lower === 's' && tokens.length > 0 && /'s$/i.test(text.slice(0, (match.index ?? 0) + 1))) continue
      tokens.push({ text: lower, stem: stem(lower), raw })
    }
  }
  return tokens
}

const KEEP_S = /(ss|us|is|ics|ous|sis|ies?)$/

/** Folds English plurals; leaves everything else as it is. */
export function stem(word: string): string {
  if (word === 'ids') return 'id'
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`
  if (/(sses|shes|ches|xes|zes)$/.test(word)) return word.slice(0, -2)
  if (word.endsWith('s') && !KEEP_S.test(word)) return word.slice(0, -1)
  return word
}

/** Other forms a word may take in names: `hired` → `hire`, `sold` stays; tried after the word itself. */
/** Words whose other form is not a suffix away: `born` for a birth date. */
const IRREGULAR: Record<string, string> = { born: 'birth' }

export function variants(word: string): string[] {
  const out: string[] = IRREGULAR[word] ? [IRREGULAR[word]] : []
  if (word.endsWith('ed') && word.length > 4) out.push(word.slice(0, -1), word.slice(0, -2))
  if (word.endsWith('ing') && word.length > 5) out.push(word.slice(0, -3), `${word.slice(0, -3)}e`)
  return out
}

const NUMBER_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  fifteen: 15,
  twenty: 20,
  fifty: 50,
  hundred: 100,
}

/** A count written as digits or as a word (`five`). */
export function countOf(token: Token | undefined): number | null {
  if (!token) return null
  if (token.number !== undefined && Number.isInteger(token.number) && !token.currency) return token.number
  return NUMBER_WORDS[token.text] ?? null
}

/** Two phrases as the same words, in order. */
export function samePhrase(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((word, i) => word === b[i])
}

/** Words that carry no meaning of their own in a question (nor in a description). */
export const QUIET = new Set(
  (
    'a an the of is are was were be been being what show me list give get find tell display all there do does did ' +
    'have has had i we you please our my in on at for from with to that those these it its s any some whose ' +
    'only just whole overall ever exist exists existing currently much can could would will shall should ' +
    'let see return returned where their them they records record row rows entries entry ' +
    'altogether together here made registered stored known data database listed recorded billed live lives ' +
    'living located based work works catalog store shop dollars dollar usd composed written'
  ).split(' '),
)
