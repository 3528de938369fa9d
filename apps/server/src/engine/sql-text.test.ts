import { describe, expect, it } from 'vitest'

import { bindParameters, ParameterError, placeholderNames, sqlTokens } from './sql-text.js'

describe('placeholders', () => {
  it.each([
    ['SELECT {{a}}, {{ b }}, {{a}}', ['a', 'b', 'a']],
    ["SELECT '{{a}}', 'it''s {{a}}', \"{{a}}\"", []],
    ['SELECT 1 -- {{a}}\n, {{b}}', ['b']],
    ['SELECT /* {{a}} /* nested {{a}} */ {{a}} */ {{c}}', ['c']],
    ['SELECT $$ {{a}} $$, $tag$ {{a}} $tag$, {{d}}', ['d']],
    ['SELECT $t1$ {{a}} $t1$, {{d}}', ['d']],
    ['SELECT {{1a}}, {a}, {{a-b}}', []],
    // A backslash escapes the quote in E'…' only; elsewhere it is an ordinary character.
    ["SELECT E'\\'{{a}}', {{b}}", ['b']],
    ["SELECT e'\\\\', {{b}}", ['b']],
    ["SELECT '\\', {{b}}", ['b']],
    ["SELECT x'{{a}}', U&'{{a}}', U&\"{{a}}\", {{b}}", ['b']],
    ['SELECT a$b$ + {{c}}', ['c']],
  ])('%s', (sql, names) => {
    expect(placeholderNames(sql)).toEqual(names)
  })

  it('binds each placeholder as a cast parameter and writes literals only for planning', () => {
    const bound = bindParameters("SELECT {{v}} WHERE x = '{{v}}'", { v: { type: 'string', value: "a'; --" } })
    expect(bound.sql).toBe("SELECT CAST($v AS VARCHAR) WHERE x = '{{v}}'")
    expect(bound.values).toEqual({ v: "a'; --" })
    expect(bound.planningSql).toBe("SELECT CAST('a''; --' AS VARCHAR) WHERE x = '{{v}}'")
  })

  it('refuses a placeholder without a value, and a value holding a NUL', () => {
    expect(() => bindParameters('SELECT {{v}}', {})).toThrow(ParameterError)
    expect(() => bindParameters('SELECT {{v}}', { v: { type: 'string', value: 'a\0b' } })).toThrow('NUL')
  })
})

describe('sqlTokens', () => {
  const texts = (sql: string) =>
    [...sqlTokens(sql)].map((token) => `${token.kind} ${sql.slice(token.start, token.end)}`)

  it('keeps a `;` inside strings, quoted names and comments out of the tokens', () => {
    expect(texts("select E'\\'; --', $q$;$q$ /* ; /* ; */ ; */, \"a;b\", U&'c;d' -- ;\n; x")).toEqual([
      'word select',
      "string E'\\'; --'",
      'symbol ,',
      'string $q$;$q$',
      'symbol ,',
      'quoted "a;b"',
      'symbol ,',
      'word U',
      'symbol &',
      "string 'c;d'",
      'symbol ;',
      'word x',
    ])
  })
})
