// `npm run bench`: how long `realm new` takes next to a bare `docker run --rm <image> true`, for repositories of
// several sizes and for each workspace strategy, plus how fast the CLI starts.
//
// Every figure is a median over interleaved repetitions (docker, realm overlay, realm copy, then again), so
// drift on a busy machine hits all of them alike, and each realm figure is read as a ratio to docker measured
// in the same run. This is a measurement, not a test: it exits 0 even when a target is missed, but says so.
//
//   npm run bench -- [--reps N] [--sizes 10,5k,20k,5k+ignored] [--strategies overlay,copy] [--keep]
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'

import { ensureTestImage } from '../test/helpers/docker.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const REALM_BIN = path.join(ROOT, 'bin', 'realm')
const IMAGE = process.env.REALM_TEST_IMAGE ?? 'realm-test:latest'
const STRATEGIES = ['overlay', 'copy'] as const
type Strategy = (typeof STRATEGIES)[number]
const TARGET: Record<Strategy, number> = { overlay: 1.5, copy: 3 }
const CLI_TARGET_SECONDS = 0.2
const LIST_SESSIONS = 500

interface Size {
  label: string
  files: number
  bytes: number
  ignored?: { files: number; bytes: number }
}

const SIZES: Size[] = [
  { label: '10', files: 10, bytes: 1024 },
  { label: '5k', files: 5_000, bytes: 4096 },
  { label: '20k', files: 20_000, bytes: 8192 },
  { label: '5k+ignored', files: 5_000, bytes: 4096, ignored: { files: 30_000, bytes: 1024 } },
]

function describe(size: Size): string {
  const kb = (b: number) => (b >= 1024 ? `${b / 1024} KB` : `${b} B`)
  const base = `${size.files.toLocaleString('en-US')} files × ${kb(size.bytes)}`
  return size.ignored ? `${base} + ${size.ignored.files.toLocaleString('en-US')} ignored × ${kb(size.ignored.bytes)}` : base
}

// ---------------------------------------------------------------------------------------------------------------
// options

const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    sizes: { type: 'string' },
    strategies: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
})
if (opts.help) {
  console.log(
    `usage: npm run bench -- [--reps N (>= 3, default 5)] [--sizes ${SIZES.map((s) => s.label).join(',')}] [--strategies overlay,copy] [--keep]`,
  )
  process.exit(0)
}
const reps = Number(opts.reps)
if (!Number.isInteger(reps) || reps < 3) fatal(`--reps must be a whole number >= 3, not '${opts.reps}'`)
const sizes = opts.sizes
  ? opts.sizes
      .split(',')
      .map(
        (label) =>
          SIZES.find((s) => s.label === label.trim()) ?? fatal(`unknown size '${label}' (known: ${SIZES.map((s) => s.label).join(', ')})`),
      )
  : SIZES
const strategies = opts.strategies
  ? opts.strategies
      .split(',')
      .map((s) => ((STRATEGIES as readonly string[]).includes(s.trim()) ? (s.trim() as Strategy) : fatal(`unknown strategy '${s}'`)))
  : [...STRATEGIES]

function fatal(message: string): never {
  console.error(`bench: ${message}`)
  process.exit(2)
}

// ---------------------------------------------------------------------------------------------------------------
// temp dirs, removed on exit and on Ctrl-C

const tmpRoot = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'realm-bench-')))
const children = new Set<ReturnType<typeof spawn>>()
let cleaned = false
function cleanup(): void {
  if (cleaned) return
  cleaned = true
  if (opts.keep) {
    console.error(`bench: kept ${tmpRoot}`)
    return
  }
  try {
    fs.rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 3 })
  } catch (error) {
    // An overlay's work dir can be left root-owned with mode 000 by a run that was cut short.
    console.error(`bench: could not remove ${tmpRoot}: ${(error as Error).message}`)
  }
}
process.on('exit', cleanup)
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) return
    interrupted = true
    console.error(`\nbench: ${signal}, stopping and cleaning up`)
    // realm stops its container gracefully on SIGTERM; wait (up to 20 s) for it, so nothing still uses the temp dirs.
    const pending = [...children].map(
      (child) =>
        new Promise((resolve) => {
          child.once('close', resolve)
          child.kill('SIGTERM')
        }),
    )
    void Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 20_000))]).then(() => {
      cleanup()
      process.exit(130)
    })
  })
}

// ---------------------------------------------------------------------------------------------------------------
// processes

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Bench User',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench User',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}:\n${r.stderr}`)
  return r.stdout
}

interface Timed {
  seconds: number
  code: number | null
  stdout: string
  stderr: string
}

/** Wall time from spawn to exit; stdin is /dev/null, so nothing sees a terminal. */
function timed(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    if (interrupted) return // never settles: the signal handler exits once the running children are gone
    const start = process.hrtime.bigint()
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      children.delete(child)
      resolve({ seconds, code, stdout, stderr })
    })
  })
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function realmEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...GIT_ENV,
    REALM_HOME: home,
    REALM_IMAGE: IMAGE,
    HOME: path.join(home, 'user-home'),
    ANTHROPIC_API_KEY: 'bench-key-not-real',
    NO_COLOR: '1',
    ...extra,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// test repositories

/** Random printable text, sliced per file (with a unique first line), so every blob differs. */
const POOL = randomBytes(48 * 1024)
  .toString('base64')
  .replace(/(.{79})/g, '$1\n')

function content(rel: string, bytes: number, i: number): string {
  const head = `// ${rel}\n`
  const need = Math.max(0, bytes - head.length)
  const from = (i * 131) % (POOL.length - need)
  return head + POOL.slice(from, from + need)
}

/** Writes `count` files of `bytes` each under dir, 100 to a directory, nested two levels like a source tree. */
function writeTree(root: string, dir: string, count: number, bytes: number, ext: string): void {
  for (let i = 0; i < count; i++) {
    const rel = path.join(dir, `pkg${Math.floor(i / 1000)}`, `mod${Math.floor(i / 100) % 10}`, `file${i}.${ext}`)
    if (i % 100 === 0) fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true })
    fs.writeFileSync(path.join(root, rel), content(rel, bytes, i))
  }
}

function makeRepo(size: Size): string {
  const root = path.join(tmpRoot, 'repos', size.label.replace(/[^A-Za-z0-9]/g, '_'))
  fs.mkdirSync(root, { recursive: true })
  git(root, 'init', '-q', '-b', 'main')
  git(root, 'config', 'gc.auto', '0')
  git(root, 'config', 'commit.gpgSign', 'false')
  fs.writeFileSync(path.join(root, 'README.md'), `# bench repository: ${describe(size)}\n`)
  writeTree(root, 'src', size.files - 1, size.bytes, 'ts')
  if (size.ignored) {
    fs.writeFileSync(path.join(root, '.gitignore'), 'node_modules/\n')
    writeTree(root, 'node_modules', size.ignored.files, size.ignored.bytes, 'js')
  }
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '-m', 'bench repository')
  // As a clone would have it: one pack (no delta search, which would only cost time here).
  git(root, 'repack', '-adq', '--window=0')
  git(root, 'prune-packed')
  return root
}

// ---------------------------------------------------------------------------------------------------------------
// the runs

let sessionCounter = 0

async function realmNew(home: string, repo: string, strategy: Strategy): Promise<number> {
  const name = `bench-${strategy}-${++sessionCounter}`
  const env = realmEnv(home, { REALM_WORKSPACE: strategy })
  const run = await timed(REALM_BIN, ['new', name, 'echo x > one-file.txt'], { cwd: repo, env })
  const patch = (() => {
    try {
      return fs.readFileSync(path.join(home, 'sessions', name, 'changes.patch'), 'utf8')
    } catch {
      return ''
    }
  })()
  const output = run.stdout + run.stderr
  const problem =
    run.code !== 0
      ? `exit ${run.code}`
      : !patch.includes('one-file.txt')
        ? 'changes.patch lacks one-file.txt'
        : new RegExp(`workspace: ${strategy === 'overlay' ? 'copy' : 'overlay'}`).test(output)
          ? `the run did not use the ${strategy} workspace`
          : undefined
  // not timed
  const removed = await timed(REALM_BIN, ['remove', name, '--yes'], { cwd: repo, env })
  if (problem) throw new Error(`realm new (${strategy}) failed: ${problem}\n${output}`)
  if (removed.code !== 0) throw new Error(`realm remove ${name} failed:\n${removed.stdout}${removed.stderr}`)
  return run.seconds
}

async function dockerTrue(): Promise<number> {
  const run = await timed('docker', ['run', '--rm', IMAGE, 'true'])
  if (run.code !== 0) throw new Error(`docker run --rm ${IMAGE} true failed:\n${run.stderr}`)
  return run.seconds
}

interface Row {
  size: Size
  strategy: Strategy
  docker: number
  realm: number
  ratio: number
  pass: boolean
}

async function benchSize(size: Size, home: string): Promise<Row[]> {
  const t0 = Date.now()
  const repo = makeRepo(size)
  process.stderr.write(`bench: ${size.label}: repository of ${describe(size)} made in ${((Date.now() - t0) / 1000).toFixed(1)} s; `)
  // One untimed round first: page cache, docker's image layers, node's compile cache.
  await dockerTrue()
  for (const strategy of strategies) await realmNew(home, repo, strategy)
  const dockerTimes: number[] = []
  const realmTimes: Record<Strategy, number[]> = { overlay: [], copy: [] }
  for (let rep = 0; rep < reps; rep++) {
    dockerTimes.push(await dockerTrue())
    for (const strategy of strategies) realmTimes[strategy].push(await realmNew(home, repo, strategy))
    process.stderr.write(`${rep + 1}/${reps} `)
  }
  process.stderr.write('\n')
  fs.rmSync(repo, { recursive: true, force: true })
  const docker = median(dockerTimes)
  return strategies.map((strategy) => {
    const realm = median(realmTimes[strategy])
    const ratio = realm / docker
    return { size, strategy, docker, realm, ratio, pass: ratio <= TARGET[strategy] }
  })
}

/** 500 sessions in the documented layout, written straight to disk. */
function fakeSessions(home: string, count: number): void {
  const project = path.join(tmpRoot, 'some-project')
  const patch =
    'diff --git a/one-file.txt b/one-file.txt\nnew file mode 100644\nindex 0000000000000000000000000000000000000000..587be6b4c3f93f93c489c0111bba5596147a26cb\n--- /dev/null\n+++ b/one-file.txt\n@@ -0,0 +1 @@\n+x\n'
  for (let i = 0; i < count; i++) {
    const dir = path.join(home, 'sessions', `session-${String(i).padStart(3, '0')}`)
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'project_dir'), `${project}\n`)
    fs.writeFileSync(path.join(dir, 'created_at'), `${new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString()}\n`)
    fs.writeFileSync(
      path.join(dir, 'session.json'),
      `${JSON.stringify({ version: 1, baseCommit: 'a'.repeat(40), branch: 'main', subdir: '', image: IMAGE }, null, 2)}\n`,
    )
    fs.writeFileSync(path.join(dir, 'changes.patch'), patch)
  }
}

async function cliStart(
  label: string,
  args: string[],
  home: string,
  check: (r: Timed) => boolean,
): Promise<{ label: string; seconds: number; pass: boolean }> {
  const env = realmEnv(home)
  const times: number[] = []
  const runs = Math.max(10, reps)
  await timed(REALM_BIN, args, { cwd: tmpRoot, env }) // warm-up
  for (let i = 0; i < runs; i++) {
    const r = await timed(REALM_BIN, args, { cwd: tmpRoot, env })
    if (r.code !== 0 || !check(r)) throw new Error(`realm ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`)
    times.push(r.seconds)
  }
  const seconds = median(times)
  return { label, seconds, pass: seconds < CLI_TARGET_SECONDS }
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) fatal('dist/ is missing: run `npm run build` (npm run bench does)')
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' })
  if (info.status !== 0) fatal(`no Docker engine: ${(info.stderr || info.error?.message || '').trim().split('\n')[0]}`)
  await ensureTestImage()

  const node = process.version
  const gitVersion = git(tmpRoot, '--version').trim()
  console.log(
    `realm bench — ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${node}, ${gitVersion}, docker ${info.stdout.trim()}, image ${IMAGE}`,
  )
  console.log(`median of ${reps} interleaved runs; realm new runs a stand-in agent that writes one file`)
  console.log('')

  const home = path.join(tmpRoot, 'home')
  const rows: Row[] = []
  const header = `${'size'.padEnd(12)}${'workspace'.padEnd(10)}${'docker'.padStart(8)}${'realm'.padStart(8)}${'ratio'.padStart(8)}   target`
  const lines: string[] = []
  for (const size of sizes) {
    for (const row of await benchSize(size, home)) {
      rows.push(row)
      lines.push(
        `${size.label.padEnd(12)}${row.strategy.padEnd(10)}${row.docker.toFixed(2).padStart(7)}s${row.realm.toFixed(2).padStart(7)}s${row.ratio.toFixed(2).padStart(8)}   ≤ ${TARGET[row.strategy]}  ${row.pass ? 'PASS' : 'FAIL'}`,
      )
    }
  }

  const listHome = path.join(tmpRoot, 'list-home')
  fakeSessions(listHome, LIST_SESSIONS)
  const cli = [
    await cliStart('realm --version', ['--version'], home, (r) => r.stdout.includes('0.')),
    await cliStart(
      `realm list (${LIST_SESSIONS} sessions)`,
      ['list'],
      listHome,
      (r) => r.stdout.trim().split('\n').length === LIST_SESSIONS + 1,
    ),
  ]

  console.log('')
  console.log(header)
  for (const line of lines) console.log(line)
  console.log('')
  for (const c of cli)
    console.log(`${c.label.padEnd(30)}${c.seconds.toFixed(3).padStart(8)}s   < ${CLI_TARGET_SECONDS}  ${c.pass ? 'PASS' : 'FAIL'}`)
  console.log('')
  for (const size of sizes) console.log(`  ${size.label.padEnd(12)}${describe(size)}`)
  console.log('')
  const missed = [
    ...rows.filter((r) => !r.pass).map((r) => `${r.size.label} ${r.strategy}: ratio ${r.ratio.toFixed(2)} > ${TARGET[r.strategy]}`),
    ...cli.filter((c) => !c.pass).map((c) => `${c.label}: ${c.seconds.toFixed(3)} s >= ${CLI_TARGET_SECONDS} s`),
  ]
  if (missed.length) console.log(`MISSED ${missed.length} target(s):\n${missed.map((m) => `  - ${m}`).join('\n')}`)
  else console.log('all targets met')
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
