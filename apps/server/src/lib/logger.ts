import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'tributary' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Defence in depth: credentials never reach a log line even if someone logs a request.
    redact: {
      paths: [
        '*.authorization',
        '*.password',
        '*.token',
        '*.key',
        'headers.authorization',
        'req.headers.authorization',
      ],
      censor: '[redacted]',
    },
  })
}
