import type { ColumnType } from 'kysely'

// Column types shared by schema.ts and the feature schema files it is made of.

export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export type StoredSchedule =
  { type: 'cron'; cron: string; timezone: string } | { type: 'interval'; every: string } | { type: 'none' }
