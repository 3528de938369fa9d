import { sqlTokens } from '../../engine/sql-text.js'

/** Words that end a table reference in FROM / JOIN rather than alias it. */
const CLAUSE_WORDS = new Set(
  (
    'where join inner left right full outer cross natural semi anti positional asof on using group order limit ' +
    'offset having union except intersect window qualify lateral pivot unpivot tablesample sample select from ' +
    'returning fetch for'
  ).split(' '),
)

/** Words before `(` that open a subquery or a list rather than call a function. */
const NOT_CALLS = new Set([
  'from',
  'join',
  'in',
  'exists',
  'as',
  'any',
  'all',
  'some',
  'not',
  'lateral',
  'on',
  'and',
  'or',
])

const MAX_TABLES = 50

interface Token {
  kind: 'word' | 'string' | 'quoted' | 'symbol'
  text: string
  /** Lower-case word, for keyword checks (empty for other kinds). */
  word: string
}

/**
 * The tables an SQL query names after FROM and JOIN, as written (`pg.public."Invoice"` → pg.public.Invoice),
 * deduplicated without regard to case; names of its CTEs and table functions aside. Read from the text
 * with the engine's lexer, for search: the planner, not this, decides what a query reads.
 */
export function tablesNamed(sql: string): string[] {
  const tokens: Token[] = []
  for (const token of sqlTokens(sql)) {
    const text = sql.slice(token.start, token.end)
    tokens.push({ kind: token.kind, text, word: token.kind === 'word' ? text.toLowerCase() : '' })
  }
  const ctes = new Set<string>()
  tokens.forEach((token, i) => {
    if (isName(token) && tokens[i + 1]?.word === 'as' && tokens[i + 2]?.text === '(')
      ctes.add(nameOf(token).toLowerCase())
  })
  const found = new Map<string, string>()
  const parens: ('call' | 'group')[] = []
  let i = 0
  while (i < tokens.length) {
    const token = tokens[i]!
    if (token.text === '(') {
      const before = tokens[i - 1]
      parens.push(before && isName(before) && !NOT_CALLS.has(before.word) ? 'call' : 'group')
    } else if (token.text === ')') {
      parens.pop()
    } else if ((token.word === 'from' || token.word === 'join') && parens.at(-1) !== 'call') {
      // FROM a, b JOIN c: every reference of the list, until a clause word.
      let j = i + 1
      for (;;) {
        const read = readName(tokens, j)
        if (!read) break
        j = read.next
        if (tokens[j]?.text === '(') break // a table function
        const key = read.name.toLowerCase()
        if (!ctes.has(key) && !found.has(key) && found.size < MAX_TABLES) found.set(key, read.name)
        if (tokens[j]?.word === 'as') j += 1
        const alias = tokens[j]
        if (alias && isName(alias) && !CLAUSE_WORDS.has(alias.word)) j += 1
        if (tokens[j]?.text !== ',') break
        j += 1
      }
      i = j
      continue
    }
    i += 1
  }
  return [...found.values()]
}

function isName(token: Token): boolean {
  return token.kind === 'quoted' || token.kind === 'word'
}

function nameOf(token: Token): string {
  return token.kind === 'quoted' ? token.text.slice(1, -1).replaceAll('""', '"') : token.text
}

/** `a`, `a.b`, `"A"."b".c` from `start`: the dotted name and where reading stopped. */
function readName(tokens: Token[], start: number): { name: string; next: number } | undefined {
  const first = tokens[start]
  if (!first || !isName(first) || CLAUSE_WORDS.has(first.word)) return undefined
  const parts = [nameOf(first)]
  let j = start + 1
  while (tokens[j]?.text === '.' && tokens[j + 1] && isName(tokens[j + 1]!)) {
    parts.push(nameOf(tokens[j + 1]!))
    j += 2
  }
  return { name: parts.join('.'), next: j }
}
