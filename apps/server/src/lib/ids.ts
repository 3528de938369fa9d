import { v7 } from 'uuid'

/** Time-ordered ids (UUIDv7): index-friendly and usable as a stable sort key for cursors. */
export const newId = (): string => v7()
