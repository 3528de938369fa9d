import { realpath } from 'node:fs/promises'
import path from 'node:path'

import { SourceError } from './connector.js'

const GLOB_CHARS = /[*?[\]{}]/

export const isGlob = (value: string): boolean => GLOB_CHARS.test(value)

/**
 * Resolves a configured path inside the allowed roots, following symlinks first so that no link
 * leads out. A relative path is looked up in each root in turn (the data directory's `files/`
 * first). For a glob, the directory before the first wildcard must be inside a root and the
 * wildcard part may not climb out with `..`.
 */
export async function confinePath(requested: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) throw new SourceError('no file roots are configured; set TRIBUTARY_FILE_ROOTS')
  const realRoots = (await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)))).filter(
    (root): root is string => root !== undefined,
  )
  const candidates = path.isAbsolute(requested) ? [requested] : roots.map((root) => path.resolve(root, requested))
  let lastError: SourceError | undefined
  for (const candidate of candidates) {
    try {
      return await confineOne(requested, candidate, roots, realRoots)
    } catch (error) {
      if (!(error instanceof SourceError)) throw error
      lastError = error
    }
  }
  throw lastError ?? new SourceError(`path ${requested} does not exist`)
}

async function confineOne(
  requested: string,
  absolute: string,
  roots: readonly string[],
  realRoots: readonly string[],
): Promise<string> {
  const segments = absolute.split(path.sep)
  const firstGlob = segments.findIndex((segment) => isGlob(segment))
  const staticPart = firstGlob === -1 ? absolute : segments.slice(0, firstGlob).join(path.sep) || path.sep
  const globPart = firstGlob === -1 ? [] : segments.slice(firstGlob)
  if (globPart.includes('..')) throw new SourceError(`path ${requested}: '..' is not allowed after a wildcard`)

  let resolved: string
  try {
    resolved = await realpath(staticPart)
  } catch {
    throw new SourceError(`path ${requested} does not exist`)
  }
  const inside = realRoots.some(
    (root) => resolved === root || resolved.startsWith(root.endsWith(path.sep) ? root : root + path.sep),
  )
  if (!inside) {
    throw new SourceError(`path ${requested} is outside the allowed file roots (${roots.join(', ')})`)
  }
  return globPart.length ? path.join(resolved, ...globPart) : resolved
}
