import { readdir, rm, stat } from 'node:fs/promises'
import path from 'node:path'

import type { Logger } from '../lib/logger.js'
import type { JobEnding } from './queue.js'

/** Where jobs keep files, each named by its job's id: `results/<id>/`, `exports/<id>/`, `uploads/<id>.upload`. */
export interface JobFileDirs {
  results: string
  exports: string
  uploads: string
}

/**
 * An upload is written before its job exists; one older than this with no job is from a request
 * that never finished (a crash between the two).
 */
const UPLOAD_GRACE_MS = 60 * 60 * 1000

const JOB_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.upload|\.sql)?$/

/**
 * Removes what jobs no longer need: the files of jobs that failed, were cancelled or no longer
 * exist (a server died mid-way), the unfinished `partial*` files in the folders of jobs that
 * succeeded, uploads whose import has ended, and, past `retentionMs` after their job ended, the
 * results and export files of jobs that succeeded (0 keeps them). Queued and running jobs are left
 * alone, whichever server runs them. Entries not named by a job id are never touched. Returns how
 * many were removed.
 */
export async function sweepJobLeftovers(
  dirs: JobFileDirs,
  endings: (ids: string[]) => Promise<ReadonlyMap<string, JobEnding>>,
  logger: Logger,
  retentionMs = 0,
): Promise<number> {
  const found: { dir: keyof JobFileDirs; entry: string; id: string }[] = []
  for (const dir of Object.keys(dirs) as (keyof JobFileDirs)[]) {
    for (const entry of await readdir(dirs[dir]).catch(() => [] as string[])) {
      const match = JOB_FILE.exec(entry)
      if (match && (dir === 'uploads') === (match[2] !== undefined)) found.push({ dir, entry, id: match[1]! })
    }
  }
  if (found.length === 0) return 0
  const known = await endings([...new Set(found.map((item) => item.id))])
  const keptSince = retentionMs > 0 ? Date.now() - retentionMs : -Infinity
  let removed = 0
  const remove = async (target: string) => {
    await rm(target, { recursive: true, force: true })
    removed++
  }
  for (const { dir, entry, id } of found) {
    const target = path.join(dirs[dir], entry)
    const ending = known.get(id)
    const status = ending?.status
    if (status === 'queued' || status === 'running') continue
    if (dir === 'uploads') {
      // An upload removed meanwhile (its import just ended) has no age: nothing to do.
      const age = await stat(target).then(
        (stats) => Date.now() - stats.mtimeMs,
        () => 0,
      )
      if (status !== undefined || age > UPLOAD_GRACE_MS) await remove(target)
    } else if (status === 'succeeded' && (ending!.endedAt?.getTime() ?? Infinity) >= keptSince) {
      for (const inner of await readdir(target).catch(() => [] as string[])) {
        if (inner.startsWith('partial')) await remove(path.join(target, inner))
      }
    } else {
      await remove(target)
    }
  }
  if (removed > 0) logger.info({ removed }, 'removed files that ended jobs had left behind')
  return removed
}
