import { Cron } from 'croner'
import { z } from 'zod'

import { Id, Timestamp } from './common.js'
import { JobStatus } from './jobs.js'

/** No schedule runs more often than this: each run is a job, with its history row. */
export const SCHEDULE_MIN_INTERVAL_SECONDS = 60

/** An ISO-8601 duration split into calendar parts (whose length varies) and a fixed part. */
export interface IsoDuration {
  years: number
  months: number
  /** Weeks, days, hours, minutes and seconds, in milliseconds (a day is 24 hours). */
  ms: number
}

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/

/** `P1D`, `PT6H`, `P1DT12H`, `P2W`, …; undefined when `text` is not such a duration. */
export function parseIsoDuration(text: string): IsoDuration | undefined {
  const match = DURATION.exec(text.trim().toUpperCase())
  if (!match) return undefined
  const [years, months, weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0))
  const ms = ((((weeks! * 7 + days!) * 24 + hours!) * 60 + minutes!) * 60 + seconds!) * 1000
  return { years: years!, months: months!, ms }
}

/** Why `text` is not a usable interval (a duration of at least a minute), or undefined when it is. */
export function intervalProblem(text: string): string | undefined {
  const duration = parseIsoDuration(text)
  if (!duration) return `'${text}' is not an ISO-8601 duration such as PT6H or P1D`
  if (duration.years === 0 && duration.months === 0 && duration.ms < SCHEDULE_MIN_INTERVAL_SECONDS * 1000) {
    return `must be at least ${SCHEDULE_MIN_INTERVAL_SECONDS} seconds (PT1M)`
  }
  return undefined
}

/** Why `timezone` is not an IANA time zone this runtime knows, or undefined when it is one. */
export function timezoneProblem(timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone })
    return undefined
  } catch {
    return `'${timezone}' is not a known IANA time zone such as Europe/Lisbon or UTC`
  }
}

/** Parses a five- or six-field cron expression (six: seconds first); throws when croner refuses it. */
export function parseCron(expression: string, timezone: string): Cron {
  return new Cron(expression.trim(), { paused: true, timezone, mode: '5-or-6-parts' })
}

/** Why `expression` is not a usable cron expression in `timezone`, or undefined when it is one. */
export function cronProblem(expression: string, timezone: string): string | undefined {
  let cron: Cron
  try {
    cron = parseCron(expression, timezone)
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern: /, '')
    return `'${expression}' is not a five- or six-field cron expression (${reason})`
  }
  const fields = expression.trim().split(/\s+/)
  // With a seconds field, only a single second keeps a schedule at most once a minute.
  if (fields.length === 6 && !/^[0-5]?\d$/.test(fields[0]!)) {
    return 'the seconds field must be one second (0-59): schedules run at most once a minute'
  }
  if (cron.nextRun() === null) return `'${expression}' never runs`
  return undefined
}

const CronSchedule = z
  .strictObject({
    type: z.literal('cron'),
    cron: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').meta({
      description: 'Five fields (minute hour day month weekday), or six with seconds first',
      example: '0 3 * * *',
    }),
    timezone: z
      .string()
      .max(100, 'must be at most 100 characters')
      .default('UTC')
      .meta({ description: 'IANA time zone the cron fields are read in (DST-correct)', example: 'Europe/Lisbon' }),
  })
  .superRefine((schedule, ctx) => {
    const badZone = timezoneProblem(schedule.timezone)
    if (badZone) {
      ctx.addIssue({ code: 'custom', message: badZone, path: ['timezone'] })
      return
    }
    const badCron = cronProblem(schedule.cron, schedule.timezone)
    if (badCron) ctx.addIssue({ code: 'custom', message: badCron, path: ['cron'] })
  })

const IntervalSchedule = z.strictObject({
  type: z.literal('interval'),
  every: z
    .string()
    .max(100, 'must be at most 100 characters')
    .superRefine((every, ctx) => {
      const problem = intervalProblem(every)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    })
    .meta({ description: 'ISO-8601 duration of at least a minute', example: 'PT6H' }),
})

const NoSchedule = z.strictObject({ type: z.literal('none') })

export const Schedule = z.discriminatedUnion('type', [CronSchedule, IntervalSchedule, NoSchedule]).meta({
  id: 'Schedule',
  description:
    'When something runs on its own: `cron` (with a time zone), `interval` (counted from the previous due ' +
    'time) or `none`. After downtime, missed occurrences collapse into one run.',
})
export type Schedule = z.infer<typeof Schedule>

export const ScheduleRun = z
  .object({
    id: Id,
    scheduled_for: Timestamp.meta({ description: 'The due time this run is for' }),
    started_at: Timestamp.nullable(),
    ended_at: Timestamp.nullable(),
    status: JobStatus,
    rows: z.number().int().nullable().meta({ description: 'Rows the run wrote, when the task reports it' }),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    job_id: Id,
  })
  .meta({ id: 'ScheduleRun' })
export type ScheduleRun = z.infer<typeof ScheduleRun>
