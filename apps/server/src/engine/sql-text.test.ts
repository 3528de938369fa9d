import { describe, expect, it } from 'vitest'

import { bindParameters, placeholderNames, withoutTrailingSemicolon } from './sql-text.js'

describe('placeholders', () => {
  it.each([
    ['SELECT {{a}}, {{ b }}, {{a}}', ['a', 'b', 'a']],
    ["SELECT '{{a}}', 'it''s {{a}}', \"{{a}}\"", []],
    ['SELECT 1 -- {{a}}\n, {{b}}', ['b']],
    ['SELECT /* {{a}} /* nested {{a}} */ {{a}} */ {{c}}', ['c']],
    ['SELECT $$ {{a}} $$, $tag$ {{a}} $tag$, {{d}}', ['d']],
    ['SELECT {{1a}}, {a}, {{a-b}}', []],
  ])('%s', (sql, names) => {
    expect(placeholderNames(sql)).toEqual(names)
  })

  it('binds each placeholder as a cast parameter and writes literals only for planning', () => {
    const bound = bindParameters("SELECT {{v}} WHERE x = '{{v}}'", { v: { type: 'string', value: "a'; --" } })
    expect(bound.sql).toBe("SELECT CAST($v AS VARCHAR) WHERE x = '{{v}}'")
    expect(bound.values).toEqual({ v: "a'; --" })
    expect(bound.planningSql).toBe("SELECT CAST('a''; --' AS VARCHAR) WHERE x = '{{v}}'")
  })
})

describe('withoutTrailingSemicolon', () => {
  it.each([
    ['SELECT 1', 'SELECT 1'],
    ['SELECT 1;', 'SELECT 1'],
    ['SELECT 1 ; -- done\n  ', 'SELECT 1 '],
    ["SELECT ';' /* ; */", "SELECT ';' /* ; */"],
    ['SELECT 1;; /* x */', 'SELECT 1'],
  ])('%j', (sql, expected) => {
    expect(withoutTrailingSemicolon(sql)).toBe(expected)
  })
})
