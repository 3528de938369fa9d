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
 *
 * A path outside the roots is refused as such whether or not it exists, so the answer never tells
 * what is there.
 */
export async function confinePath(requested: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) throw new SourceError('no file roots are configured; set TRIBUTARY_FILE_ROOTS')
  const realRoots = (await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)))).filter(
    (root): root is string => root !== undefined,
  )
  const confinement: Confinement = {
    requested,
    // A root counts as written and as it resolves: a path may name it either way.
    allowed: [...roots.map((root) => path.resolve(root)), ...realRoots],
    realRoots,
    outside: () => new OutsideRootsError(`path ${requested} is outside the allowed file roots (${roots.join(', ')})`),
  }
  const candidates = path.isAbsolute(requested) ? [requested] : roots.map((root) => path.resolve(root, requested))
  let inside: SourceError | undefined
  let outside: SourceError | undefined
  for (const candidate of candidates) {
    try {
      return await confineOne(candidate, confinement)
    } catch (error) {
      if (!(error instanceof SourceError)) throw error
      // What went wrong inside a root says more than being outside another.
      if (error instanceof OutsideRootsError) outside ??= error
      else inside ??= error
    }
  }
  throw inside ?? outside ?? confinement.outside()
}

interface Confinement {
  requested: string
  allowed: readonly string[]
  realRoots: readonly string[]
  outside: () => OutsideRootsError
}

class OutsideRootsError extends SourceError {}

async function confineOne(absolute: string, { requested, allowed, realRoots, outside }: Confinement): Promise<string> {
  const segments = absolute.split(path.sep)
  const firstGlob = segments.findIndex((segment) => isGlob(segment))
  const staticPart = firstGlob === -1 ? absolute : segments.slice(0, firstGlob).join(path.sep) || path.sep
  const globPart = firstGlob === -1 ? [] : segments.slice(firstGlob)
  if (globPart.includes('..')) throw new SourceError(`path ${requested}: '..' is not allowed after a wildcard`)
  // Named outside every root, it is refused alike whether it is missing or leads elsewhere: only a
  // link that leads inside (`/srv/data` → a root) gets it in.
  const namedInside = within(path.resolve(staticPart), allowed)
  let resolved: string
  try {
    resolved = await realpath(staticPart)
  } catch {
    throw namedInside ? new SourceError(`path ${requested} does not exist`) : outside()
  }
  // A symlink inside a root may lead out of it.
  if (!within(resolved, realRoots)) throw outside()
  return globPart.length ? path.join(resolved, ...globPart) : resolved
}

function within(candidate: string, roots: readonly string[]): boolean {
  return roots.some(
    (root) => candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep),
  )
}
