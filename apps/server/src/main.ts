import { writeFile } from 'node:fs/promises'
import path from 'node:path'

import { serve } from '@hono/node-server'

import { createTributary } from './composition.js'
import { ConfigError, loadConfig } from './config/config.js'
import { createLogger } from './lib/logger.js'

async function main(): Promise<void> {
  const config = loadConfig()
  const logger = createLogger(config.logLevel)
  const tributary = await createTributary(config, logger)

  const bootstrap = await tributary.services.apiKeys.bootstrapPlatformKey(config.adminKey)
  if (bootstrap.created && bootstrap.generated) {
    const keyFile = path.join(config.dataDir, 'admin.key')
    await writeFile(keyFile, `${bootstrap.key}\n`, { mode: 0o600 })
    // Printed once, outside the JSON log, so that it is easy to copy and never lands in log storage twice.
    process.stdout.write(`\nTributary platform key (shown once; also saved to ${keyFile}):\n\n  ${bootstrap.key}\n\n`)
  }

  const server = serve({ fetch: tributary.app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info(
      { port: info.port, host: config.host, metadata: tributary.store.kind, data_dir: config.dataDir },
      `Tributary listening on http://${config.host}:${info.port} (docs at /docs)`,
    )
  })

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: finishing in-flight requests')
    const forced = setTimeout(() => {
      logger.error('shutdown timed out; exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs)
    forced.unref()
    // Jobs stop being claimed now; running ones get half the shutdown time, then go back to the
    // queue for the next start (or another process). `close` below waits for this.
    void tributary.platform.jobs.stop(Math.floor(config.shutdownTimeoutMs / 2))
    server.close(() => {
      tributary
        .close()
        .then(() => {
          logger.info('stopped')
          process.exit(0)
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'closing the metadata store failed')
          process.exit(1)
        })
    })
    // Keep-alive sockets with no request in flight would hold `close` open until they time out.
    if ('closeIdleConnections' in server) server.closeIdleConnections()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`)
  } else {
    process.stderr.write(
      `Tributary failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
  }
  process.exit(1)
})
