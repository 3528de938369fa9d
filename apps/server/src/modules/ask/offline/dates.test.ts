import { describe, expect, it } from 'vitest'

import { isoDay, parseDateRange } from './dates.js'
import { tokenize } from './text.js'

/** Sunday 15 June 2025, noon UTC. */
const NOW = new Date('2025-06-15T12:00:00Z')

function range(text: string, now = NOW): [string | null, string | null] | string | null {
  const tokens = tokenize(text)
  const parsed = parseDateRange(tokens, 0, now)
  if (!parsed) return null
  if ('error' in parsed) return `error: ${parsed.error}`
  expect(parsed.end, `"${text}" read to its end`).toBe(tokens.length)
  return [parsed.range.from && isoDay(parsed.range.from), parsed.range.to && isoDay(parsed.range.to)]
}

describe('the offline engine’s date grammar', () => {
  it.each([
    ['in 2024', '2024-01-01', '2025-01-01'],
    ['during 2021', '2021-01-01', '2022-01-01'],
    ['in March 2024', '2024-03-01', '2024-04-01'],
    ['March of 2024', '2024-03-01', '2024-04-01'],
    ['in Dec 2023', '2023-12-01', '2024-01-01'],
    ['in Q1 2023', '2023-01-01', '2023-04-01'],
    ['q4 of 2024', '2024-10-01', '2025-01-01'],
    ['the third quarter of 2022', '2022-07-01', '2022-10-01'],
    ['the last quarter of 2024', '2024-10-01', '2025-01-01'],
    ['the first half of 2022', '2022-01-01', '2022-07-01'],
    ['the second half of 2022', '2022-07-01', '2023-01-01'],
    ['on 2024-02-29', '2024-02-29', '2024-03-01'],
    ['on March 5, 2024', '2024-03-05', '2024-03-06'],
    ['on March 5th 2024', '2024-03-05', '2024-03-06'],
    ['5 March 2024', '2024-03-05', '2024-03-06'],
    ['last year', '2024-01-01', '2025-01-01'],
    ['previous year', '2024-01-01', '2025-01-01'],
    ['this year', '2025-01-01', '2026-01-01'],
    ['the current year', '2025-01-01', '2026-01-01'],
    ['the year before last', '2023-01-01', '2024-01-01'],
    ['last month', '2025-05-01', '2025-06-01'],
    ['this month', '2025-06-01', '2025-07-01'],
    ['last quarter', '2025-01-01', '2025-04-01'],
    ['this quarter', '2025-04-01', '2025-07-01'],
    // weeks start on Monday: 15 June 2025 is a Sunday, in the week of Monday 9 June
    ['this week', '2025-06-09', '2025-06-16'],
    ['last week', '2025-06-02', '2025-06-09'],
    ['today', '2025-06-15', '2025-06-16'],
    ['yesterday', '2025-06-14', '2025-06-15'],
    // rolling windows end with today
    ['in the last 30 days', '2025-05-17', '2025-06-16'],
    ['the past 6 months', '2024-12-16', '2025-06-16'],
    ['the last three years', '2022-06-16', '2025-06-16'],
    ['in the past year', '2024-06-16', '2025-06-16'],
    ['since 2024', '2024-01-01', null],
    ['since March 2024', '2024-03-01', null],
    ['after 2023', '2024-01-01', null],
    ['before 2022', null, '2022-01-01'],
    ['until June 2022', null, '2022-07-01'],
    ['between 2022 and 2023', '2022-01-01', '2024-01-01'],
    ['from January 2022 to June 2022', '2022-01-01', '2022-07-01'],
    ['between Q1 2023 and Q2 2023', '2023-01-01', '2023-07-01'],
    ['in December last year', '2024-12-01', '2025-01-01'],
    ['March of this year', '2025-03-01', '2025-04-01'],
    ['the last quarter of last year', '2024-10-01', '2025-01-01'],
    ['since the start of last year', '2024-01-01', null],
  ])('"%s" is [%s, %s)', (text, from, to) => {
    expect(range(text)).toEqual([from, to])
  })

  it('clamps a month back to the last day of a shorter month', () => {
    expect(range('the past 1 month', new Date('2025-03-31T08:00:00Z'))).toEqual(['2025-03-01', '2025-04-01'])
  })

  it.each([
    ['in March', 'error: "March" needs a year'],
    ['in Q2', 'error: "Q2" needs a year'],
    ['on 2023-02-30', 'error: 2023-02-30 is not a date'],
    ['on February 30 2023', 'error: "February 30 2023" is not a date'],
    ['between 2024 and 2022', 'error: "between 2024 and 2022" is an empty range'],
  ])('"%s" is not a range: %s', (text, error) => {
    expect(range(text)).toBe(error)
  })

  it.each(['the customers', 'top 5', 'more than 2024', 'last 5 invoices', 'may I see'])(
    '"%s" is no date at all',
    (text) => {
      expect(range(text)).toBeNull()
    },
  )

  it('reads nothing from the clock: the same words and "now" give the same range', () => {
    expect(range('last year', new Date('2031-01-01T00:00:00Z'))).toEqual(['2030-01-01', '2031-01-01'])
    expect(range('last year')).toEqual(range('last year'))
  })
})
