import type { GoldenSql } from '@tributary/contract'
import { describe, expect, it } from 'vitest'

import { matchGolden } from './golden-match.js'

let next = 0
function golden(question: string, sql: string, parameters: GoldenSql['parameters'] = []): GoldenSql {
  next += 1
  return {
    id: `00000000-0000-4000-8000-${String(next).padStart(12, '0')}`,
    organization_id: '00000000-0000-4000-8000-000000000000',
    project_id: '00000000-0000-4000-8000-000000000001',
    question,
    sql,
    description: null,
    parameters,
    tables: [],
    created_at: '2025-06-15T12:00:00.000Z',
    updated_at: '2025-06-15T12:00:00.000Z',
  }
}

const perCountry = golden(
  'How many customers are there in each country?',
  'select Country, count(*) from chinook.main.Customer group by Country',
)
const byCountry = golden(
  'Invoices from {{country}}',
  'select * from chinook.main.Invoice where BillingCountry = {{country}}',
  [{ name: 'country', type: 'string', required: true }],
)
const byCountryAndYear = golden(
  'Invoices from {{country}} in {{year}}',
  'select * from chinook.main.Invoice where BillingCountry = {{country}} and year(InvoiceDate) = {{year}}',
  [
    { name: 'country', type: 'string', required: true },
    { name: 'year', type: 'integer', required: true },
  ],
)
const topN = golden(
  'Top {{n}} artists by number of albums',
  'select ar.Name, count(*) from chinook.main.Album al join chinook.main.Artist ar using (ArtistId) group by 1 order by 2 desc limit {{n}}',
  [{ name: 'n', type: 'integer', required: true }],
)
const onDay = golden('Invoices on {{day}}', 'select * from chinook.main.Invoice where InvoiceDate::date = {{day}}', [
  { name: 'day', type: 'date', required: true },
])
const over = golden('Invoices over {{amount}} dollars', 'select * from chinook.main.Invoice where Total > {{amount}}', [
  { name: 'amount', type: 'decimal', required: true },
])
const flagged = golden('Tracks explicit: {{explicit}}', 'select 1 where {{explicit}}', [
  { name: 'explicit', type: 'boolean', required: true },
])
const needsValue = golden(
  'Invoices of customers in a given country',
  'select * from chinook.main.Invoice where BillingCountry = {{country}}',
  [{ name: 'country', type: 'string', required: true }],
)
const withDefault = golden('Big invoices', 'select * from chinook.main.Invoice where Total >= {{min_total}}', [
  { name: 'min_total', type: 'decimal', required: false, default: '20' },
])
const onlyPlaceholder = golden('{{anything}}', 'select {{anything}}', [
  { name: 'anything', type: 'string', required: true },
])

const ALL = [
  perCountry,
  byCountry,
  byCountryAndYear,
  topN,
  onDay,
  over,
  flagged,
  needsValue,
  withDefault,
  onlyPlaceholder,
]

describe('matchGolden', () => {
  it('matches a question exactly, case, spaces and punctuation aside', () => {
    for (const question of [
      'How many customers are there in each country?',
      'how many customers are there in each country',
      '  HOW MANY customers, are there in each country!! ',
    ]) {
      expect(matchGolden(question, ALL)).toEqual({ golden: perCountry, parameters: {}, kind: 'exact' })
    }
  })

  it('does not match other words, even close ones', () => {
    expect(matchGolden('How many customers are there in each city?', ALL)).toBeNull()
    expect(matchGolden('How many customer are there in each country?', ALL)).toBeNull()
    expect(matchGolden('', ALL)).toBeNull()
    expect(matchGolden('?!', ALL)).toBeNull()
  })

  it('uses an exact match only when every required parameter has a value or a default', () => {
    expect(matchGolden('Invoices of customers in a given country', ALL)).toBeNull()
    expect(matchGolden('big invoices', ALL)).toEqual({ golden: withDefault, parameters: {}, kind: 'exact' })
  })

  it('fills a template’s parameters from the question, keeping the value as written', () => {
    expect(matchGolden('Invoices from Germany', ALL)).toEqual({
      golden: byCountry,
      parameters: { country: 'Germany' },
      kind: 'template',
    })
    expect(matchGolden('invoices from "United Kingdom"?', ALL)).toMatchObject({
      golden: byCountry,
      parameters: { country: 'United Kingdom' },
    })
  })

  it('prefers the template with the most words of its own', () => {
    expect(matchGolden('Invoices from France in 2024', ALL)).toEqual({
      golden: byCountryAndYear,
      parameters: { country: 'France', year: 2024 },
      kind: 'template',
    })
  })

  it('reads values as their parameter types, and refuses values that are not', () => {
    expect(matchGolden('top 5 artists by number of albums', ALL)).toMatchObject({ golden: topN, parameters: { n: 5 } })
    expect(matchGolden('top five artists by number of albums', ALL)).toBeNull()
    expect(matchGolden('Invoices on 2024-03-05', ALL)).toMatchObject({
      golden: onDay,
      parameters: { day: '2024-03-05' },
    })
    expect(matchGolden('Invoices on March 5, 2024', ALL)).toMatchObject({ parameters: { day: '2024-03-05' } })
    expect(matchGolden('Invoices on yesterday', ALL)).toBeNull()
    expect(matchGolden('Invoices on 2024-02-30', ALL)).toBeNull()
    expect(matchGolden('Invoices over $12.50 dollars', ALL)).toMatchObject({
      golden: over,
      parameters: { amount: '12.50' },
    })
    expect(matchGolden('Invoices over lots dollars', ALL)).toBeNull()
    expect(matchGolden('tracks explicit: yes', ALL)).toMatchObject({ golden: flagged, parameters: { explicit: true } })
    expect(matchGolden('tracks explicit: maybe', ALL)).toBeNull()
  })

  it('never matches a template made of placeholders alone, and skips undeclared placeholders', () => {
    expect(matchGolden('anything at all', [onlyPlaceholder])).toBeNull()
    const undeclared = golden('Albums by {{artist}}', 'select 1', [])
    expect(matchGolden('Albums by AC/DC', [undeclared])).toBeNull()
  })

  it('is deterministic: the same question and list, the same answer', () => {
    const first = matchGolden('Invoices from Brazil in 2023', ALL)
    for (let i = 0; i < 5; i++) expect(matchGolden('Invoices from Brazil in 2023', ALL)).toEqual(first)
  })
})
