import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { SourceError } from './connector.js'
import { confinePath } from './file-paths.js'

const base = realpathSync(mkdtempSync(path.join(tmpdir(), 'tributary-file-paths-')))
const root = path.join(base, 'root')
const elsewhere = path.join(base, 'elsewhere')
mkdirSync(path.join(root, 'logs'), { recursive: true })
mkdirSync(elsewhere)
writeFileSync(path.join(root, 'data.csv'), 'a\n1\n')
writeFileSync(path.join(root, 'logs', 'a.csv'), 'a\n1\n')
writeFileSync(path.join(elsewhere, 'secret.csv'), 'a\n1\n')
symlinkSync(elsewhere, path.join(root, 'escape'))
// Named in a root by a path through a link: the root as configured and as it resolves both count.
symlinkSync(root, path.join(base, 'root-link'))

afterAll(() => rmSync(base, { recursive: true, force: true }))

async function refusal(requested: string, roots = [root]): Promise<string> {
  const error = await confinePath(requested, roots).catch((caught: unknown) => caught)
  expect(error).toBeInstanceOf(SourceError)
  return (error as Error).message
}

describe('confinePath', () => {
  it.each([
    ['data.csv', path.join(root, 'data.csv')],
    [path.join(root, 'data.csv'), path.join(root, 'data.csv')],
    ['logs/*.csv', path.join(root, 'logs', '*.csv')],
    [path.join(base, 'root-link', 'data.csv'), path.join(root, 'data.csv')],
  ])('resolves %s inside the roots', async (requested, resolved) => {
    expect(await confinePath(requested, [root])).toBe(resolved)
  })

  it('resolves a path through a root configured as a link', async () => {
    expect(await confinePath('data.csv', [path.join(base, 'root-link')])).toBe(path.join(root, 'data.csv'))
  })

  it.each([
    ['an absolute path that exists', path.join(elsewhere, 'secret.csv')],
    ['an absolute path that does not exist', path.join(elsewhere, 'nothing-here.csv')],
    ['a path in a folder that does not exist', '/no/such/folder/x.sqlite'],
    ['a relative path climbing out to a file', '../elsewhere/secret.csv'],
    ['a relative path climbing out to nothing', '../elsewhere/nothing-here.csv'],
    ['a glob outside', path.join(elsewhere, '*.csv')],
    ['a glob outside over nothing', '/no/such/folder/*.csv'],
    ['a symlink that leads out', 'escape/secret.csv'],
  ])('refuses %s as outside the roots, whether or not it exists', async (_label, requested) => {
    expect(await refusal(requested)).toBe(`path ${requested} is outside the allowed file roots (${root})`)
  })

  it('says that a path inside the roots does not exist', async () => {
    expect(await refusal('nope.sqlite')).toBe('path nope.sqlite does not exist')
    expect(await refusal(path.join(root, 'nope', '*.csv'))).toBe(
      `path ${path.join(root, 'nope', '*.csv')} does not exist`,
    )
  })

  it('refuses a glob that climbs out after its wildcard', async () => {
    const requested = [root, 'logs', '*', '..', '..', '..', 'elsewhere', '*.csv'].join(path.sep)
    expect(await refusal(requested)).toBe(`path ${requested}: '..' is not allowed after a wildcard`)
  })

  it('tries each root in turn for a relative path', async () => {
    expect(await confinePath('secret.csv', [root, elsewhere])).toBe(path.join(elsewhere, 'secret.csv'))
    expect(await refusal('missing.csv', [root, elsewhere])).toBe('path missing.csv does not exist')
  })
})
