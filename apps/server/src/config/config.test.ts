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

  it('lets approval requests wait 15 days unless told, and refuses a non-positive wait', () => {
    expect(loadConfig({}).approvalExpiryDays).toBe(15)
    expect(loadConfig({ TRIBUTARY_APPROVAL_EXPIRY_DAYS: '30' }).approvalExpiryDays).toBe(30)
    for (const bad of ['0', '-1', '1.5', 'soon']) {
      expect(() => loadConfig({ TRIBUTARY_APPROVAL_EXPIRY_DAYS: bad }), bad).toThrow(/TRIBUTARY_APPROVAL_EXPIRY_DAYS/)
    }
  })

  it('prices queries at nothing unless told, and refuses negative or non-numeric prices', () => {
    expect(loadConfig({}).queryPrices).toEqual({ perTbScanned: 0, perCpuSecond: 0 })
    expect(
      loadConfig({ TRIBUTARY_PRICE_PER_TB_SCANNED: '5', TRIBUTARY_PRICE_PER_CPU_SECOND: '0.00004' }).queryPrices,
    ).toEqual({ perTbScanned: 5, perCpuSecond: 0.00004 })
    for (const [name, bad] of [
      ['TRIBUTARY_PRICE_PER_TB_SCANNED', '-1'],
      ['TRIBUTARY_PRICE_PER_CPU_SECOND', 'cheap'],
      ['TRIBUTARY_PRICE_PER_CPU_SECOND', 'Infinity'],
    ] as const) {
      expect(() => loadConfig({ [name]: bad }), `${name}=${bad}`).toThrow(new RegExp(name))
    }
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

  it('has no language model unless one is configured, and a 60 s timeout for model calls', () => {
    expect(loadConfig({}).ai).toEqual({
      provider: undefined,
      model: undefined,
      baseUrl: undefined,
      apiKey: undefined,
      embeddingModel: undefined,
      timeoutMs: 60_000,
    })
  })

  it('reads the instance language model', () => {
    expect(
      loadConfig({
        TRIBUTARY_AI_PROVIDER: 'openai-compatible',
        TRIBUTARY_AI_MODEL: 'llama3.1',
        TRIBUTARY_AI_BASE_URL: 'http://127.0.0.1:11434/v1/',
        TRIBUTARY_AI_EMBEDDING_MODEL: 'nomic-embed-text',
        TRIBUTARY_AI_TIMEOUT_MS: '5000',
      }).ai,
    ).toEqual({
      provider: 'openai-compatible',
      model: 'llama3.1',
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: undefined,
      embeddingModel: 'nomic-embed-text',
      timeoutMs: 5000,
    })
    expect(
      loadConfig({
        TRIBUTARY_AI_PROVIDER: 'anthropic',
        TRIBUTARY_AI_MODEL: 'claude-3-5-haiku-latest',
        TRIBUTARY_AI_API_KEY: 'k',
      }).ai,
    ).toMatchObject({ provider: 'anthropic', apiKey: 'k' })
  })

  it('refuses AI settings that do not fit together, naming each', () => {
    const refused: [Record<string, string>, RegExp][] = [
      [{ TRIBUTARY_AI_PROVIDER: 'gemini', TRIBUTARY_AI_MODEL: 'x' }, /TRIBUTARY_AI_PROVIDER/],
      [{ TRIBUTARY_AI_PROVIDER: 'openai', TRIBUTARY_AI_API_KEY: 'k' }, /TRIBUTARY_AI_MODEL: is required/],
      [{ TRIBUTARY_AI_PROVIDER: 'openai-compatible', TRIBUTARY_AI_MODEL: 'x' }, /TRIBUTARY_AI_BASE_URL: is required/],
      [{ TRIBUTARY_AI_PROVIDER: 'openai', TRIBUTARY_AI_MODEL: 'gpt-4o' }, /TRIBUTARY_AI_API_KEY: is required/],
      [
        { TRIBUTARY_AI_PROVIDER: 'openai-compatible', TRIBUTARY_AI_MODEL: 'x', TRIBUTARY_AI_BASE_URL: 'ftp://host' },
        /TRIBUTARY_AI_BASE_URL/,
      ],
      [
        {
          TRIBUTARY_AI_PROVIDER: 'anthropic',
          TRIBUTARY_AI_MODEL: 'c',
          TRIBUTARY_AI_API_KEY: 'k',
          TRIBUTARY_AI_EMBEDDING_MODEL: 'e',
        },
        /TRIBUTARY_AI_EMBEDDING_MODEL: Anthropic has no embedding models/,
      ],
      [{ TRIBUTARY_AI_MODEL: 'gpt-4o' }, /TRIBUTARY_AI_MODEL: needs TRIBUTARY_AI_PROVIDER/],
      [{ TRIBUTARY_AI_TIMEOUT_MS: '0' }, /TRIBUTARY_AI_TIMEOUT_MS/],
    ]
    for (const [env, message] of refused) expect(() => loadConfig(env), JSON.stringify(env)).toThrow(message)
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
