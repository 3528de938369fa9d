import path from 'node:path'

import { describe, expect, it } from 'vitest'

import { ConfigError, loadConfig } from './config.js'

describe('loadConfig', () => {
  it('runs on defaults alone', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: path.resolve('.tributary'),
      databaseUrl: undefined,
      logLevel: 'info',
      rateLimitPerMinute: 600,
      bodyLimitBytes: 10 * 1024 * 1024,
      sessionTtlSeconds: 3600,
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('reads and converts every setting', () => {
    const config = loadConfig({
      PORT: '9000',
      DATABASE_URL: 'postgresql://u:p@db:5432/meta',
      TRIBUTARY_RATE_LIMIT_PER_MINUTE: '42',
      TRIBUTARY_BODY_LIMIT_BYTES: '1024',
      LOG_LEVEL: 'warn',
    })
    expect(config).toMatchObject({
      port: 9000,
      databaseUrl: 'postgresql://u:p@db:5432/meta',
      rateLimitPerMinute: 42,
      bodyLimitBytes: 1024,
      logLevel: 'warn',
    })
  })

  it('takes an operator platform key only with the trb_ prefix that marks keys', () => {
    expect(loadConfig({ TRIBUTARY_ADMIN_KEY: 'trb_0123456789abcdefghijklmn' }).adminKey).toBe(
      'trb_0123456789abcdefghijklmn',
    )
    expect(() => loadConfig({ TRIBUTARY_ADMIN_KEY: '0123456789abcdefghijklmnop' })).toThrow(/TRIBUTARY_ADMIN_KEY.*trb_/)
  })

  it('takes a public URL for links, without its trailing slash, and refuses anything but http(s) without a query', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined()
    expect(loadConfig({ TRIBUTARY_PUBLIC_URL: 'https://data.example.com/tributary/' }).publicUrl).toBe(
      'https://data.example.com/tributary',
    )
    for (const bad of ['data.example.com', 'ftp://data.example.com', 'https://data.example.com/?a=1']) {
      expect(() => loadConfig({ TRIBUTARY_PUBLIC_URL: bad }), bad).toThrow(/TRIBUTARY_PUBLIC_URL/)
    }
  })

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({ port: 8080, databaseUrl: undefined })
  })

  it('names every bad setting at once', () => {
    const attempt = () =>
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', TRIBUTARY_ADMIN_KEY: 'short' })
    expect(attempt).toThrow(ConfigError)
    try {
      attempt()
    } catch (error) {
      for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'TRIBUTARY_ADMIN_KEY']) {
        expect((error as Error).message).toContain(name)
      }
    }
  })
})
