import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['apps/**/*.test.ts', 'packages/**/*.test.ts'],
    globalSetup: ['apps/server/test/global-setup.ts'],
    // CI also keeps a machine-readable summary, from which .ci/run prints a plain closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'coverage/vitest-results.json' }]] : ['default'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only make PGlite start-ups and argon2 hashes fight each other.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
})
