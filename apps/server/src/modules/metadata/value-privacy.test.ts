import type { TableMetadata } from '@tributary/contract'
import { describe, expect, it } from 'vitest'

import { maskSql, type QueryAccess } from '../../engine/access-policy.js'
import { hiddenKey, withoutHiddenValues } from './value-privacy.js'

const column = (name: string, described: 'user' | 'generated') => ({
  name,
  type: 'VARCHAR',
  description: `${name}, as ${described} put it: e.g. ann@example.com`,
  description_source: described,
  is_primary: false,
  is_primary_source: null,
  is_categorical: true,
  categorical_values: [`${name} value`],
  sample_values: [`${name} sample`],
  missing: false,
})

const table = (name: string): TableMetadata => ({
  catalog: 'crm',
  schema: 'main',
  table: name,
  description: `All ${name}, e.g. Ann from Lisbon`,
  source: 'generated',
  use_with_ai: true,
  use_with_ai_source: 'default',
  row_estimate: 3,
  missing: false,
  columns: [column('name', 'user'), column('email', 'generated'), column('city', 'generated')],
  relations: [],
  refreshed_at: null,
  updated_at: null,
})

/** Masks people.email; keeps the caller to some rows of cities. */
const access: QueryAccess = {
  props: {},
  key: 'k',
  table: (policed) =>
    policed.table === 'people'
      ? { masks: new Map([['email', maskSql('redact', 'email', 'VARCHAR')]]) }
      : policed.table === 'cities'
        ? { masks: new Map(), rowFilter: "country = 'PT'" }
        : undefined,
}

describe('values of the data shown beside the metadata', () => {
  it('leaves out what a masked column or a filtered table holds, and what a model wrote from it', () => {
    const [people, cities, other] = withoutHiddenValues(access, [table('people'), table('cities'), table('other')])
    const email = people!.columns.find((entry) => entry.name === 'email')!
    expect(email).toMatchObject({ sample_values: [], categorical_values: [], description: null })
    expect(people!.columns.find((entry) => entry.name === 'name')!.sample_values).toEqual(['name sample'])
    // Some columns stay visible: the table's own description does too.
    expect(people!.description).toBe('All people, e.g. Ann from Lisbon')
    // Under a row filter every value may come from a withheld row; a person's description stays.
    expect(cities!.columns.every((entry) => entry.sample_values.length === 0)).toBe(true)
    expect(cities!.description).toBeNull()
    expect(cities!.columns.find((entry) => entry.name === 'name')!.description).toContain('as user put it')
    expect(other).toEqual(table('other'))
  })

  it('gives the same array, and an empty key, when nothing is hidden', () => {
    const tables = [table('other')]
    expect(withoutHiddenValues(access, tables)).toBe(tables)
    expect(withoutHiddenValues(undefined, tables)).toBe(tables)
    expect(hiddenKey(access, tables)).toBe('')
    expect(hiddenKey(access, [table('people')])).not.toBe('')
  })
})
