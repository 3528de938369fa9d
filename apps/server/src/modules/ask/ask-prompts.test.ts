import type { TableMetadata } from '@tributary/contract'
import { describe, expect, it } from 'vitest'

import { tablesOutside } from './ask-pipeline.js'
import { extractSql, localAnswer } from './ask-prompts.js'

describe('extractSql', () => {
  it('takes the first sql block of a reply', () => {
    expect(extractSql('Sure:\n```sql\nselect 1;\n```\nand more ```sql\nselect 2\n```')).toEqual({ sql: 'select 1' })
    expect(extractSql('```\nWITH x AS (select 1) select * from x\n```')).toEqual({
      sql: 'WITH x AS (select 1) select * from x',
    })
  })

  it('reads a bare query, and refuses what is not one', () => {
    expect(extractSql('select 1')).toEqual({ sql: 'select 1' })
    expect(extractSql('```sql\nDROP TABLE x\n```')).toEqual({ problem: 'the reply holds no SELECT query' })
    expect(extractSql('I would look at the invoices')).toEqual({ problem: 'the reply holds no SELECT query' })
  })

  it('hears the model say the schema cannot answer', () => {
    expect(extractSql('UNANSWERABLE: there is no weather data')).toEqual({ unanswerable: 'there is no weather data' })
  })
})

describe('tablesOutside', () => {
  const table = (catalog: string, schema: string, name: string) => ({ catalog, schema, table: name }) as TableMetadata
  const allowed = [table('chinook', 'main', 'Invoice'), table('pg', 'public', 'orders')]

  it('names the tables a query reads that questions may not use', () => {
    expect(tablesOutside('select * from chinook.main.Invoice i join pg.public.orders o on true', allowed)).toEqual([])
    expect(tablesOutside('select * from chinook.main."Employee"', allowed)).toEqual(['chinook.main.Employee'])
    expect(tablesOutside('select * from CHINOOK.MAIN.INVOICE', allowed)).toEqual([])
  })

  it('matches names written shorter at the end of a full name, and ignores CTEs', () => {
    expect(tablesOutside('select * from main.Invoice', allowed)).toEqual([])
    expect(tablesOutside('with orders as (select 1) select * from orders', allowed)).toEqual([])
    expect(tablesOutside('select * from other.main.Invoice', allowed)).toEqual(['other.main.Invoice'])
  })
})

describe('localAnswer', () => {
  it('says the single value, or how many rows and the first', () => {
    expect(localAnswer(null, [{ name: 'n' }], [[83]], 1, false)).toBe('n: 83.')
    expect(localAnswer('Counted invoices.', [{ name: 'n' }], [[83]], 1, false)).toBe('Counted invoices. n: 83.')
    expect(localAnswer(null, [{ name: 'a' }, { name: 'b' }], [['x', 1.234]], 3, true)).toBe(
      '3 or more rows; the first is a: x, b: 1.23.',
    )
    expect(localAnswer(null, [{ name: 'a' }], [], 0, false)).toBe('No rows match.')
  })
})
