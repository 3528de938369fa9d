/**
 * Summarises a V8 .cpuprofile (from `BENCH_CPU_PROF=1 npm run bench:api`): where the server's CPU
 * time went, by package and by function (self time), and the inclusive time of chosen functions.
 *
 *   npx tsx bench/api/profile-summary.ts <file.cpuprofile> [--top 25] [--last 15] [--inclusive name ...]
 *
 *   --skip S        ignore the first S seconds (server start-up: module loading, migrations)
 *   --last S        only the last S seconds (the measured run; the server stops right after it)
 *   --inclusive F   also print the time spent in F and everything it calls (F: function name)
 */
import { readFileSync } from 'node:fs'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** The package (or area) a frame belongs to. */
function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame
  if (!url) return /^\(.*\)$/.test(functionName) ? functionName : '(native)'
  const modules = url.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  if (url.startsWith('wasm://')) return 'wasm'
  const app = /\/(apps|packages)\/([^/]+)\/src\/(.*)$/.exec(url)
  if (app) return `${app[1]}/${app[2]}/${app[3]!.split('/').slice(0, -1).join('/') || '.'}`
  return url
}

function parseArgs(argv: string[]) {
  const options = { file: '', top: 25, skipSeconds: 0, lastSeconds: 0, inclusive: [] as string[] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--top') options.top = Number(argv[++i])
    else if (arg === '--skip') options.skipSeconds = Number(argv[++i])
    else if (arg === '--last') options.lastSeconds = Number(argv[++i])
    else if (arg === '--inclusive') options.inclusive.push(argv[++i]!)
    else options.file = arg
  }
  if (!options.file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top N] [--skip S] [--inclusive F]')
  return options
}

function main(): void {
  const options = parseArgs(process.argv.slice(2))
  const profile = JSON.parse(readFileSync(options.file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const selfTime = new Map<number, number>()
  if (options.lastSeconds > 0) {
    const total = profile.timeDeltas.reduce((sum, delta) => sum + delta, 0) / 1e6
    options.skipSeconds = Math.max(options.skipSeconds, total - options.lastSeconds)
  }
  let elapsed = 0
  let wall = 0
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    elapsed += delta
    if (elapsed < options.skipSeconds * 1e6) return
    wall += delta
    selfTime.set(id, (selfTime.get(id) ?? 0) + delta)
  })

  let busy = 0
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  for (const [id, time] of selfTime) {
    const frame = byId.get(id)!.callFrame
    if (frame.functionName === '(idle)') continue
    busy += time
    const area = areaOf(frame)
    areas.set(area, (areas.get(area) ?? 0) + time)
    const where = frame.url
      ? `${frame.url.replace(/^.*\/(node_modules|apps|packages)\//, '$1/')}:${frame.lineNumber + 1}`
      : ''
    const name = `${frame.functionName || '(anonymous)'} ${where}`.trim()
    functions.set(name, (functions.get(name) ?? 0) + time)
  }

  // Inclusive time: a sample counts once for F if F is anywhere on its stack.
  const inclusive = new Map<string, number>(options.inclusive.map((name) => [name, 0]))
  for (const [id, time] of selfTime) {
    const onStack = new Set<string>()
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const name = byId.get(node)!.callFrame.functionName
      if (inclusive.has(name)) onStack.add(name)
    }
    for (const name of onStack) inclusive.set(name, inclusive.get(name)! + time)
  }

  const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)} %`
  const ms = (t: number) => `${(t / 1000).toFixed(0).padStart(7)} ms`
  console.log(options.file)
  console.log(
    `window ${ms(wall)} (first ${options.skipSeconds.toFixed(1)} s skipped), busy ${ms(busy)} (${((busy / wall) * 100).toFixed(0)} %)\n`,
  )
  console.log('Self time by package / area (share of busy time):')
  for (const [area, time] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, options.top)) {
    console.log(`  ${pct(time)} ${ms(time)}  ${area}`)
  }
  console.log('\nSelf time by function:')
  for (const [name, time] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, options.top)) {
    console.log(`  ${pct(time)} ${ms(time)}  ${name}`)
  }
  if (inclusive.size > 0) {
    console.log('\nInclusive time (the function and everything it calls):')
    for (const [name, time] of inclusive) console.log(`  ${pct(time)} ${ms(time)}  ${name}`)
  }
}

main()
