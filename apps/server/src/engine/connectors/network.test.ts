import { describe, expect, inject, it } from 'vitest'

import { serviceSkipReason } from '../../../test/fixtures/chinook.js'
import type { ConnectorContext } from './connector.js'
import { postgresqlConnector } from './postgresql/postgresql-connector.js'
import { mysqlConnector } from './mysql/mysql-connector.js'
import { errorParts, redactPassword, sourceError } from './network.js'

const REALISTIC = 'Tr0ub4dor&3-horse'

describe('redactPassword', () => {
  it.each([
    // A short password is taken out only where it stands alone.
    ['x', 'database "x_db" does not exist', 'database "x_db" does not exist'],
    ['x', 'extra data after last expected column', 'extra data after last expected column'],
    ['x', 'password=x host=db', 'password=*** host=db'],
    ['x', 'column "x" does not exist', 'column "***" does not exist'],
    ['', 'anything at all', 'anything at all'],
    [
      REALISTIC,
      `connect postgres://reader:${REALISTIC}@db:5432/dw failed`,
      'connect postgres://reader:***@db:5432/dw failed',
    ],
    [REALISTIC, `password "${REALISTIC}" rejected, ${REALISTIC}!`, 'password "***" rejected, ***!'],
    [REALISTIC, `${REALISTIC}x is another word`, `${REALISTIC}x is another word`],
    // Characters that mean something in a regular expression mean nothing here.
    ['a.b*(c)[d]$', 'a.b*(c)[d]$ and aXbb(c)[d]$', '*** and aXbb(c)[d]$'],
    ['-secret-', 'pw=-secret- end', 'pw=*** end'],
    ['pässwörd', 'pässwörd pässwördé', '*** pässwördé'],
  ])('password %j in %j', (password, text, expected) => {
    expect(redactPassword(text, password)).toBe(expected)
  })

  it('scrubs the message a source error is built from, settings included', () => {
    expect(sourceError(`host '${REALISTIC}.invalid' was not found`, { password: REALISTIC }).message).toBe(
      "host '***.invalid' was not found",
    )
    expect(sourceError("database 'dw' does not exist on db:5432", { password: 'x' }).message).toBe(
      "database 'dw' does not exist on db:5432",
    )
  })

  it('reaches the message errorParts gives, and the code is kept', () => {
    const error = Object.assign(new Error(`bad password ${REALISTIC}`), { code: '28P01' })
    expect(errorParts(error, { password: REALISTIC })).toEqual({ code: '28P01', message: 'bad password ***' })
    expect(errorParts('x marks the spot', { password: 'x' })).toEqual({
      code: undefined,
      message: '*** marks the spot',
    })
  })
})

const context: ConnectorContext = { fileRoots: [], connectTimeoutMs: 3000 }
const postgresUrl = inject('postgresUrl')

describe.skipIf(!postgresUrl)('PostgreSQL errors with a password that is also text', () => {
  it.each(['x', 's', REALISTIC])('password %j leaves the message whole', async (password) => {
    const url = new URL(postgresUrl!)
    const config = {
      host: url.hostname,
      port: Number(url.port || 5432),
      // "e", "x", "s", "i", "t" and "t" all occur in the message below.
      database: 'no_such_database_exists',
      user: decodeURIComponent(url.username) || 'postgres',
      password,
      ssl: 'disable' as const,
    }
    const error = await postgresqlConnector.connect(config, context).catch((caught: unknown) => caught)
    expect((error as Error).message).toBe(
      `database 'no_such_database_exists' does not exist on ${config.host}:${config.port}`,
    )
  })
})

const mysqlSkipReason = await serviceSkipReason('mysql')

describe.skipIf(mysqlSkipReason !== null)(
  `MySQL errors with a password that is also text${mysqlSkipReason ? ` [skipped: ${mysqlSkipReason}]` : ''}`,
  () => {
    it.each(['s', REALISTIC])('password %j leaves the message whole', async (password) => {
      const url = new URL(process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/')
      const config = {
        host: url.hostname,
        port: Number(url.port || 3306),
        database: 'mysql',
        user: 'no_such_user_exists',
        password,
        ssl: 'disable' as const,
      }
      const error = await mysqlConnector.connect(config, context).catch((caught: unknown) => caught)
      const message = (error as Error).message
      expect(message).toMatch(
        /^password authentication failed for user 'no_such_user_exists' — check the user name and password \(Access denied for user 'no_such_user_exists'@'[^']+' \(using password: YES\)\)$/,
      )
      expect(message).not.toContain('***')
    })
  },
)
