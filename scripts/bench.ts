// `npm run bench`: how long `realm new` takes next to a bare `docker run --rm <image> true`, for repositories of
// several sizes and for each workspace strategy, plus how fast the CLI starts.
//
// Every figure is a median over interleaved repetitions (docker, realm overlay, realm copy, then again), so
// drift on a busy machine hits all of them alike, and each realm figure is read as a ratio to docker measured
// in the same run. This is a measurement, not a test: it exits 0 even when a target is missed, but says so.
//
// The big-patch section times realm's diff, apply and push on a session whose patch is 10,000 files and 50 MB,
// each next to the plain git command that does the same job on the same patch (no Docker needed).
//
// The snapshot section times `realm new` with an agent that writes 30,000 ignored files (as an npm install does)
// while it works, with the entrypoint's snapshots at their default interval and with them off: what they cost.
//
//   npm run bench -- [--reps N] [--sizes 10,5k,20k,5k+ignored] [--strategies overlay,copy] [--only new,cli,big-patch,snapshot] [--keep]
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { parseArgs } from 'node:util'

import { createSession, updateSession } from '../lib/session/store.js'
import { ensureTestImage } from '../test/helpers/docker.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const REALM_BIN = path.join(ROOT, 'bin', 'realm')
const IMAGE = process.env.REALM_TEST_IMAGE ?? 'realm-test:latest'
const STRATEGIES = ['overlay', 'copy'] as const
type Strategy = (typeof STRATEGIES)[number]
const TARGET: Record<Strategy, number> = { overlay: 1.5, copy: 3 }
const CLI_TARGET_SECONDS = 0.2
const LIST_SESSIONS = 500
/**
 * What `--only` can pick: realm new against docker (and its network modes), the CLI's start, the big patch, the
 * snapshots' cost.
 */
const SECTIONS = ['new', 'cli', 'big-patch', 'snapshot'] as const
type Section = (typeof SECTIONS)[number]

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
    only: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
})
if (opts.help) {
  console.log(
    `usage: npm run bench -- [--reps N (>= 3, default 5)] [--sizes ${SIZES.map((s) => s.label).join(',')}] [--strategies overlay,copy] [--only ${SECTIONS.join(',')}] [--keep]`,
  )
  process.exit(0)
}
const only = new Set(
  opts.only
    ? opts.only
        .split(',')
        .map((name) =>
          (SECTIONS as readonly string[]).includes(name.trim())
            ? (name.trim() as Section)
            : fatal(`unknown section '${name}' (known: ${SECTIONS.join(', ')})`),
        )
    : SECTIONS,
)
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

/**
 * Wall time from spawn to exit; stdin is /dev/null, so nothing sees a terminal. `discard`: stdout is read as it
 * comes (a pipe, as a user's `| less` would be) but only counted, in `stdoutBytes`, not kept.
 */
function timed(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; discard?: boolean } = {},
): Promise<Timed & { stdoutBytes: number }> {
  return new Promise((resolve, reject) => {
    if (interrupted) return // never settles: the signal handler exits once the running children are gone
    const start = process.hrtime.bigint()
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let stdout = ''
    let stdoutBytes = 0
    const decoder = new StringDecoder('utf8')
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdoutBytes += d.length
      if (!options.discard) stdout += decoder.write(d)
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      children.delete(child)
      resolve({ seconds, code, stdout, stderr, stdoutBytes })
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
    // the default network policy (allowlist) runs realm's sidecar, built for tests from this machine's binaries
    REALM_NET_IMAGE: process.env.REALM_TEST_NET_IMAGE ?? 'realm-test-net:latest',
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

async function realmNew(
  home: string,
  repo: string,
  strategy: Strategy,
  network = 'allowlist',
  extra: Record<string, string> = {},
): Promise<number> {
  const name = `bench-${strategy}-${++sessionCounter}`
  const env = realmEnv(home, { REALM_WORKSPACE: strategy, REALM_NETWORK: network, ...extra })
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
// network modes: the start ratio of the smallest repository (overlay) under each --network mode

const NETWORK_MODES = ['allowlist', 'model', 'open', 'host'] as const
/**
 * The default policy once more without standby sidecars (REALM_NET_STANDBY=0), as the first run after ten
 * quiet minutes is: each run then starts a sidecar of its own.
 */
const COLD = 'allowlist, no standby'

async function benchNetworkModes(home: string): Promise<string[]> {
  const repo = makeRepo({ ...SIZES[0], label: `${SIZES[0].label}-network` })
  const times: Record<string, number[]> = { docker: [], [COLD]: [] }
  for (const mode of NETWORK_MODES) times[mode] = []
  const cold = () => realmNew(home, repo, 'overlay', 'allowlist', { REALM_NET_STANDBY: '0' })
  for (const mode of NETWORK_MODES) await realmNew(home, repo, 'overlay', mode) // warm-up
  await cold()
  for (let i = 0; i < reps; i++) {
    times.docker.push(await dockerTrue())
    for (const mode of NETWORK_MODES) times[mode].push(await realmNew(home, repo, 'overlay', mode))
    times[COLD].push(await cold())
  }
  const docker = median(times.docker)
  /** One row: the median of `label`'s runs against docker's; `after`: the verdict or a note. */
  const row = (label: string, after: (ratio: number) => string) => {
    const realm = median(times[label])
    const ratio = realm / docker
    return `network ${label.padEnd(10)}${docker.toFixed(2).padStart(7)}s${realm.toFixed(2).padStart(7)}s${ratio.toFixed(2).padStart(8)}${after(ratio)}`
  }
  const lines = NETWORK_MODES.map((mode) =>
    row(mode, (ratio) => {
      if (mode !== 'allowlist') return `   (${SIZES[0].label} files, overlay)`
      // The default policy's own targets: its start ratio, and what it costs over an unfiltered network.
      if (ratio > NETWORK_TARGET) networkMissed.push(`network allowlist: ratio ${ratio.toFixed(2)} > ${NETWORK_TARGET}`)
      return `   ≤ ${NETWORK_TARGET}  ${ratio <= NETWORK_TARGET ? 'PASS' : 'FAIL'}   (${SIZES[0].label} files, overlay)`
    }),
  )
  lines.push(row(COLD, () => '   (the first run after ten quiet minutes)'))
  const cost = median(times.allowlist) - median(times.open)
  const costPass = cost <= POLICY_COST_SECONDS
  if (!costPass) networkMissed.push(`the default policy costs ${cost.toFixed(2)} s over --network open (> ${POLICY_COST_SECONDS} s)`)
  lines.push(
    `the default policy over --network open: ${cost >= 0 ? '+' : ''}${cost.toFixed(2)} s   ≤ ${POLICY_COST_SECONDS} s  ${costPass ? 'PASS' : 'FAIL'}`,
  )
  return lines
}

/** Targets of the default network policy (allowlist): its start ratio, and its cost over an open network. */
const NETWORK_TARGET = 2
const POLICY_COST_SECONDS = 0.1
/** Targets the network section missed, for the summary at the end. */
const networkMissed: string[] = []

// ---------------------------------------------------------------------------------------------------------------
// big patch: realm's commands on a session whose patch is 10,000 files and about 50 MB (9,000 files added, 1,000
// modified: what an agent that generates code leaves), each next to the plain git command that does the same job
// on the same patch, interleaved in the same run. The session is made without Docker, through realm's store.

const BIG = { modified: 1_000, added: 9_000, lines: 84 }
const BIG_TARGET = 2
const BIG_MEMORY_TARGET = 3
/** How realm stores patches (lib/git/exec.ts PATCH_OPTIONS), for the patch git cuts here. */
const PATCH_ARGS = ['--binary', '--full-index', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', '-M']

/** Lines that source files share, so that files compress and delta like code does; each line then gets its own tail. */
const CODE_LINES = Array.from({ length: 512 }, (_, i) => {
  const words = randomBytes(24).toString('base64').replace(/[+/=]/g, 'x')
  return `  const ${words.slice(0, 8)} = ${words.slice(8, 14)}(${words.slice(14, 24)}, ${i})`
})

/** File `i`'s text, generation `gen` (a modified file differs from generation 0 in every seventh line). */
function codeFile(i: number, gen = 0): string {
  let text = `// file ${i}\n`
  for (let n = 0; n < BIG.lines; n++) {
    const line = CODE_LINES[(i * 7919 + n * 104729) % CODE_LINES.length]
    text += `${line} // ${i}.${n}${gen && n % 7 === 3 ? ` changed ${gen}` : ''}\n`
  }
  return text
}

/** A repository with the files the agent will modify, committed with pinned dates: the same commit every time. */
function bigBase(root: string): string {
  fs.mkdirSync(root, { recursive: true })
  git(root, 'init', '-q', '-b', 'main')
  git(root, 'config', 'gc.auto', '0')
  git(root, 'config', 'user.name', GIT_ENV.GIT_AUTHOR_NAME)
  git(root, 'config', 'user.email', GIT_ENV.GIT_AUTHOR_EMAIL)
  for (let i = 0; i < BIG.modified; i++) {
    const rel = path.join('src', `m${Math.floor(i / 100)}`, `file${i}.ts`)
    if (i % 100 === 0) fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true })
    fs.writeFileSync(path.join(root, rel), codeFile(i))
  }
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '-m', 'base')
  return git(root, 'rev-parse', 'HEAD').trim()
}

interface BigPatch {
  base: string
  /** a repository holding the agent's work as a commit, for git's side */
  gitside: string
  agent: string
  /** the patch from base to agent, as realm stores it */
  patch: string
  bytes: number
}

function makeBigPatch(dir: string): BigPatch {
  const gitside = path.join(dir, 'gitside')
  const base = bigBase(gitside)
  for (let i = 0; i < BIG.modified; i++)
    fs.writeFileSync(path.join(gitside, 'src', `m${Math.floor(i / 100)}`, `file${i}.ts`), codeFile(i, 1))
  for (let i = 0; i < BIG.added; i++) {
    const rel = path.join('gen', `p${Math.floor(i / 1000)}`, `d${Math.floor(i / 100) % 10}`, `gen${i}.ts`)
    if (i % 100 === 0) fs.mkdirSync(path.join(gitside, path.dirname(rel)), { recursive: true })
    fs.writeFileSync(path.join(gitside, rel), codeFile(BIG.modified + i))
  }
  // As a user who made this commit by hand would have it: loose objects, as `git commit` writes them.
  git(gitside, 'add', '-A')
  git(gitside, 'commit', '-q', '-m', 'agent')
  const agent = git(gitside, 'rev-parse', 'HEAD').trim()
  const patch = path.join(dir, 'big.patch')
  const out = fs.openSync(patch, 'w')
  const r = spawnSync('git', ['diff-tree', '-r', ...PATCH_ARGS, base, agent], {
    cwd: gitside,
    env: { ...process.env, ...GIT_ENV },
    stdio: ['ignore', out, 'pipe'],
  })
  fs.closeSync(out)
  if (r.status !== 0) throw new Error(`git diff-tree failed:\n${r.stderr}`)
  return { base, gitside, agent, patch, bytes: fs.statSync(patch).size }
}

/** A project at the base commit with a bare origin, and a session of it whose one run patch is the big patch. */
async function bigSession(dir: string, home: string, name: string, big: BigPatch): Promise<string> {
  const project = path.join(dir, 'project')
  if (bigBase(project) !== big.base) throw new Error('the project is not at the base commit')
  const origin = path.join(dir, 'origin.git')
  git(dir, 'init', '-q', '--bare', origin)
  git(project, 'remote', 'add', 'origin', origin)
  git(project, 'push', '-q', 'origin', 'main')
  process.env.REALM_HOME = home // where the store writes
  const session = await createSession(name, project, { version: 1, baseCommit: big.base, branch: 'main', subdir: '', image: IMAGE })
  await updateSession(session, { 'changes.patch': { copyFrom: big.patch } })
  return project
}

interface BigRow {
  label: string
  git: string
  realm: number
  plain: number
}

/** Median wall times of `realm` and `plain`, run in turn `reps` times after one untimed round; `reset` runs before each. */
async function pair(
  realm: () => Promise<Timed>,
  plain: () => Promise<Timed>,
  reset: () => Promise<void> | void = () => undefined,
): Promise<{ realm: number; plain: number }> {
  const times = { realm: [] as number[], plain: [] as number[] }
  for (let i = 0; i <= reps; i++) {
    await reset()
    const r = await realm()
    await reset()
    const p = await plain()
    if (i > 0) {
      times.realm.push(r.seconds)
      times.plain.push(p.seconds)
    }
  }
  return { realm: median(times.realm), plain: median(times.plain) }
}

function ok(what: string, r: Timed, check = true): Timed {
  if (r.code !== 0 || !check) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`)
  return r
}

async function benchBigPatch(): Promise<string[]> {
  const dir = path.join(tmpRoot, 'big')
  const home = path.join(dir, 'home')
  const t0 = Date.now()
  const big = makeBigPatch(dir)
  const project = await bigSession(path.join(dir, 'read'), home, 'big', big)
  process.stderr.write(`bench: big patch of ${(big.bytes / 1e6).toFixed(1)} MB made in ${((Date.now() - t0) / 1000).toFixed(1)} s; `)
  const env = realmEnv(home)
  const gitEnv = { ...process.env, ...GIT_ENV }
  const realmIn =
    (cwd: string, ...args: string[]) =>
    () =>
      timed(REALM_BIN, args, { cwd, env, discard: true })
  const gitIn =
    (cwd: string, ...args: string[]) =>
    () =>
      timed('git', args, { cwd, env: gitEnv, discard: true })
  const checked =
    (
      what: string,
      run: () => Promise<Timed & { stdoutBytes: number }>,
      check: (r: Timed & { stdoutBytes: number }) => boolean = () => true,
    ) =>
    async () => {
      const r = await run()
      return ok(what, r, check(r))
    }
  const rows: BigRow[] = []

  // What the same commands cost on a patch of one file: realm's start (and its session checks), git's too.
  const tiny = path.join(dir, 'tiny.patch')
  const whole = fs.readFileSync(big.patch)
  fs.writeFileSync(tiny, whole.subarray(0, whole.indexOf('\ndiff --git ', 1) + 1))
  process.env.REALM_HOME = home
  const tinySession = await createSession('tiny', project, { version: 1, baseCommit: big.base, branch: 'main', subdir: '', image: IMAGE })
  await updateSession(tinySession, { 'changes.patch': { copyFrom: tiny } })
  for (const command of ['diff --stat', 'apply --check']) {
    const [verb, flag] = command.split(' ')
    const gitCommand = `git apply ${flag}`
    const fixed = await pair(
      checked(`realm ${command} (1 file)`, realmIn(project, verb, 'tiny', flag)),
      checked(`${gitCommand} (1 file)`, gitIn(project, 'apply', flag, tiny)),
    )
    rows.push({ label: `realm ${command}, 1 file`, git: `${gitCommand}, 1 file: the fixed costs`, realm: fixed.realm, plain: fixed.plain })
  }
  process.stderr.write('1-file ')

  const stat = await pair(
    checked('realm diff --stat', realmIn(project, 'diff', 'big', '--stat')),
    checked('git apply --stat', gitIn(project, 'apply', '--stat', big.patch)),
  )
  rows.push({ label: 'realm diff --stat', git: 'git apply --stat', realm: stat.realm, plain: stat.plain })
  process.stderr.write('stat ')

  const diff = await pair(
    checked('realm diff', realmIn(project, 'diff', 'big'), (r) => r.stdoutBytes > big.bytes * 0.9),
    checked('git diff', gitIn(big.gitside, 'diff', '--patch-with-stat', '-M', big.base, big.agent)),
  )
  rows.push({ label: 'realm diff (to a pipe)', git: 'git diff --patch-with-stat of the trees', realm: diff.realm, plain: diff.plain })
  process.stderr.write('diff ')

  const check = await pair(
    checked('realm apply --check', realmIn(project, 'apply', 'big', '--check'), (r) => /apply cleanly/.test(r.stderr)),
    checked('git apply --check', gitIn(project, 'apply', '--check', big.patch)),
  )
  rows.push({ label: 'realm apply --check', git: 'git apply --check', realm: check.realm, plain: check.plain })
  process.stderr.write('check ')

  const clean = () => {
    git(project, 'reset', '-q', '--hard')
    git(project, 'clean', '-fdq')
  }
  const apply = await pair(
    checked('realm apply', realmIn(project, 'apply', 'big'), (r) => /applied the session's changes/.test(r.stderr)),
    checked('git apply', gitIn(project, 'apply', big.patch)),
    clean,
  )
  clean()
  rows.push({ label: 'realm apply', git: 'git apply', realm: apply.realm, plain: apply.plain })
  process.stderr.write('apply ')

  // Every push starts afresh: realm's in a new project (no object of the patch in it yet) to a new origin,
  // git's from the repository that has the agent's commit, to a new origin that has the base.
  let round = 0
  const push = await pair(
    async () => {
      const where = path.join(dir, `push-${++round}`)
      const pushed = await bigSession(where, home, `push-${round}`, big)
      return ok('realm push', await realmIn(pushed, 'push', `push-${round}`)())
    },
    async () => {
      const origin = path.join(dir, `git-origin-${round}.git`)
      git(dir, 'init', '-q', '--bare', origin)
      git(big.gitside, 'push', '-q', origin, `${big.base}:refs/heads/main`)
      return ok('git push', await gitIn(big.gitside, 'push', '-q', origin, `${big.agent}:refs/heads/agent`)())
    },
  )
  rows.push({ label: 'realm push', git: 'git push of the same commit', realm: push.realm, plain: push.plain })
  process.stderr.write('push\n')

  // Memory: the most realm diff held at once, for a patch it streams.
  let rss: number | undefined
  if (fs.existsSync('/usr/bin/time')) {
    const r = ok(
      'realm diff',
      await timed('/usr/bin/time', ['-f', 'maxrss %M', REALM_BIN, 'diff', 'big'], { cwd: project, env, discard: true }),
    )
    rss = Number(/maxrss (\d+)/.exec(r.stderr)?.[1]) * 1024
  }

  const lines = [
    `big patch: ${(BIG.modified + BIG.added).toLocaleString('en-US')} files (${BIG.added.toLocaleString('en-US')} added, ${BIG.modified.toLocaleString('en-US')} modified), ${(big.bytes / 1e6).toFixed(1)} MB; median of ${reps} runs, realm and git in turn`,
    `${'command'.padEnd(28)}${'realm'.padStart(8)}${'git'.padStart(8)}${'ratio'.padStart(8)}   target       git command`,
  ]
  for (const row of rows) {
    const ratio = row.realm / row.plain
    // The 1-file rows are for reading the others by: what any run of either costs, whatever the patch.
    const fixed = row.label.endsWith('1 file')
    if (!fixed && ratio > BIG_TARGET) bigMissed.push(`${row.label}: ${ratio.toFixed(2)}× ${row.git}`)
    const verdict = fixed ? '        ' : `≤ ${BIG_TARGET}  ${ratio <= BIG_TARGET ? 'PASS' : 'FAIL'}`
    lines.push(
      `${row.label.padEnd(28)}${row.realm.toFixed(2).padStart(7)}s${row.plain.toFixed(2).padStart(7)}s${ratio.toFixed(2).padStart(8)}   ${verdict}   ${row.git}`,
    )
  }
  if (rss === undefined) lines.push('realm diff max RSS: not measured (no /usr/bin/time)')
  else {
    const times = rss / big.bytes
    if (times >= BIG_MEMORY_TARGET) bigMissed.push(`realm diff max RSS ${times.toFixed(2)}× the patch`)
    lines.push(
      `realm diff max RSS ${(rss / 1e6).toFixed(0)} MB for a ${(big.bytes / 1e6).toFixed(1)} MB patch: ${times.toFixed(2)}×   < ${BIG_MEMORY_TARGET}  ${times < BIG_MEMORY_TARGET ? 'PASS' : 'FAIL'}`,
    )
  }
  return lines
}

/** Targets the big-patch section missed, for the summary at the end. */
const bigMissed: string[] = []

// ---------------------------------------------------------------------------------------------------------------
// snapshots: while the agent works the entrypoint captures its work every REALM_SNAPSHOT_SECONDS (default 3). An
// agent that writes 30,000 ignored files (an npm install) must not pay more than 5% of its run for that. The
// target is read from the snapshots themselves: REALM_TRACE has the entrypoint mark each one's start and end, and
// their sum is set against the run's time. The same agent, doing the same fixed amount of work, also runs with
// snapshots off (an interval longer than the run, passed the supported way: REALM_DOCKER_ARGS), interleaved, for
// the wall-clock difference; runs of half a minute differ by a few percent from one to the next on their own, so
// that figure is shown, not judged.

const SNAPSHOT = { ignored: 30_000, batches: 30, seconds: 15, target: 0.05 }

/** Iterations of the shell's counting loop per second on this machine (the container runs this machine's sh). */
function shellLoopsPerSecond(): number {
  const loops = 300_000
  const start = process.hrtime.bigint()
  const r = spawnSync('sh', ['-c', `n=0; while [ $n -lt ${loops} ]; do n=$((n+1)); done`])
  if (r.status !== 0) throw new Error('sh counting loop failed')
  return loops / (Number(process.hrtime.bigint() - start) / 1e9)
}

/**
 * The stand-in agent's script: in each of SNAPSHOT.batches rounds it writes its share of the ignored files into
 * node_modules/, then counts (CPU-bound work) for its share of SNAPSHOT.seconds, so snapshots keep meeting a
 * growing node_modules. A fixed amount of work, not a fixed time: whatever the snapshots take shows in the run.
 */
function heavyAgent(loops: number): string {
  const perBatch = SNAPSHOT.ignored / SNAPSHOT.batches
  const work = Math.round((loops * SNAPSHOT.seconds) / SNAPSHOT.batches)
  return [
    'i=0',
    `while [ $i -lt ${SNAPSHOT.batches} ]; do`,
    '  mkdir -p node_modules/pkg$i/lib',
    `  j=0; while [ $j -lt ${perBatch} ]; do echo "module.exports = '$i.$j'" > node_modules/pkg$i/lib/f$j.js; j=$((j+1)); done`,
    `  n=0; while [ $n -lt ${work} ]; do n=$((n+1)); done`,
    '  i=$((i+1))',
    'done',
    'echo done > agent-work.txt',
  ].join('\n')
}

/** The seconds the entrypoint's snapshots took, and how many there were, from its REALM_TRACE lines. */
function snapshotTime(stderr: string): { seconds: number; count: number } {
  let seconds = 0
  let count = 0
  let started: number | undefined
  for (const line of stderr.split('\n')) {
    const match = /^realm-trace (\d+) entrypoint: (snapshot|snapshot taken)$/.exec(line)
    if (!match) continue
    const at = Number(match[1])
    if (match[2] === 'snapshot') started = at
    else if (started !== undefined) {
      seconds += (at - started) / 1000
      count++
      started = undefined
    }
  }
  return { seconds, count }
}

async function heavyRun(
  home: string,
  repo: string,
  strategy: Strategy,
  script: string,
  snapshots: boolean,
): Promise<{ seconds: number; snapshots: { seconds: number; count: number } }> {
  const name = `snap-${strategy}-${++sessionCounter}`
  const env = realmEnv(home, {
    REALM_WORKSPACE: strategy,
    REALM_TRACE: '1',
    // The entrypoint's interval, set for this run alone; a day is longer than any run here.
    ...(snapshots ? {} : { REALM_DOCKER_ARGS: '-e REALM_SNAPSHOT_SECONDS=86400' }),
  })
  const run = await timed(REALM_BIN, ['new', name, script], { cwd: repo, env })
  let patch = ''
  try {
    patch = fs.readFileSync(path.join(home, 'sessions', name, 'changes.patch'), 'utf8')
  } catch {}
  const problem =
    run.code !== 0
      ? `exit ${run.code}`
      : !patch.includes('agent-work.txt')
        ? 'changes.patch lacks agent-work.txt'
        : patch.includes('node_modules/')
          ? 'changes.patch has ignored files'
          : undefined
  const removed = await timed(REALM_BIN, ['remove', name, '--yes'], { cwd: repo, env }) // not timed
  if (problem)
    throw new Error(`realm new (${strategy}, snapshots ${snapshots ? 'on' : 'off'}) failed: ${problem}\n${run.stdout}${run.stderr}`)
  if (removed.code !== 0) throw new Error(`realm remove ${name} failed:\n${removed.stdout}${removed.stderr}`)
  return { seconds: run.seconds, snapshots: snapshotTime(run.stderr) }
}

async function benchSnapshots(home: string): Promise<string[]> {
  const repo = makeRepo({ label: 'snapshot', files: 10, bytes: 1024 })
  fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n')
  git(repo, 'add', '.gitignore')
  git(repo, 'commit', '-q', '-m', 'ignore node_modules')
  const script = heavyAgent(shellLoopsPerSecond())
  const lines = [
    `snapshots: an agent writes ${SNAPSHOT.ignored.toLocaleString('en-US')} ignored files in ${SNAPSHOT.batches} rounds between about ${SNAPSHOT.seconds} s of work; realm new with snapshots every 3 s (the default) and off; median of ${reps}`,
    `${'workspace'.padEnd(12)}${'off'.padStart(8)}${'on'.padStart(8)}${'wall diff'.padStart(11)}${'snapshots'.padStart(11)}${'share'.padStart(8)}   target (share of the run in snapshots)`,
  ]
  for (const strategy of strategies) {
    process.stderr.write(`bench: snapshots, ${strategy}: `)
    const times = { on: [] as number[], off: [] as number[], share: [] as number[], spent: [] as number[], count: [] as number[] }
    for (let i = 0; i <= reps; i++) {
      const off = await heavyRun(home, repo, strategy, script, false)
      const on = await heavyRun(home, repo, strategy, script, true)
      // The first round is not counted: page cache, docker's image layers, node's compile cache.
      if (i > 0) {
        times.off.push(off.seconds)
        times.on.push(on.seconds)
        times.spent.push(on.snapshots.seconds)
        times.count.push(on.snapshots.count)
        times.share.push(on.snapshots.seconds / on.seconds)
      }
      process.stderr.write(i === 0 ? 'warm-up ' : `${i}/${reps} `)
    }
    process.stderr.write('\n')
    const off = median(times.off)
    const on = median(times.on)
    const share = median(times.share)
    if (median(times.count) === 0) snapshotMissed.push(`snapshots (${strategy}): none was traced`)
    if (share > SNAPSHOT.target) snapshotMissed.push(`snapshots (${strategy}): ${(share * 100).toFixed(1)}% of the run`)
    const pass = share <= SNAPSHOT.target && median(times.count) > 0
    lines.push(
      `${strategy.padEnd(12)}${off.toFixed(2).padStart(7)}s${on.toFixed(2).padStart(7)}s${`${((on / off - 1) * 100).toFixed(1)}%`.padStart(11)}${`${median(times.spent).toFixed(2)}s/${median(times.count)}`.padStart(11)}${`${(share * 100).toFixed(1)}%`.padStart(8)}   ≤ ${SNAPSHOT.target * 100}%  ${pass ? 'PASS' : 'FAIL'}`,
    )
  }
  fs.rmSync(repo, { recursive: true, force: true })
  return lines
}

/** Targets the snapshot section missed, for the summary at the end. */
const snapshotMissed: string[] = []

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) fatal('dist/ is missing: run `npm run build` (npm run bench does)')
  // Only realm new and the snapshot runs need the engine.
  let docker = 'not used'
  if (only.has('new') || only.has('snapshot')) {
    const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' })
    if (info.status !== 0) fatal(`no Docker engine: ${(info.stderr || info.error?.message || '').trim().split('\n')[0]}`)
    await ensureTestImage()
    docker = info.stdout.trim()
  }

  const node = process.version
  const gitVersion = git(tmpRoot, '--version').trim()
  console.log(
    `realm bench — ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${node}, ${gitVersion}, docker ${docker}, image ${IMAGE}`,
  )
  if (only.has('new')) console.log(`median of ${reps} interleaved runs; realm new runs a stand-in agent that writes one file`)
  console.log('')

  const home = path.join(tmpRoot, 'home')
  const rows: Row[] = []
  const header = `${'size'.padEnd(12)}${'workspace'.padEnd(10)}${'docker'.padStart(8)}${'realm'.padStart(8)}${'ratio'.padStart(8)}   target`
  const lines: string[] = []
  let networkLines: string[] = []
  if (only.has('new')) {
    for (const size of sizes) {
      for (const row of await benchSize(size, home)) {
        rows.push(row)
        lines.push(
          `${size.label.padEnd(12)}${row.strategy.padEnd(10)}${row.docker.toFixed(2).padStart(7)}s${row.realm.toFixed(2).padStart(7)}s${row.ratio.toFixed(2).padStart(8)}   ≤ ${TARGET[row.strategy]}  ${row.pass ? 'PASS' : 'FAIL'}`,
        )
      }
    }
    networkLines = await benchNetworkModes(home)
  }

  const cli: Array<{ label: string; seconds: number; pass: boolean }> = []
  if (only.has('cli')) {
    const listHome = path.join(tmpRoot, 'list-home')
    fakeSessions(listHome, LIST_SESSIONS)
    cli.push(
      await cliStart('realm --version', ['--version'], home, (r) => r.stdout.includes('0.')),
      await cliStart(
        `realm list (${LIST_SESSIONS} sessions)`,
        ['list'],
        listHome,
        (r) => r.stdout.trim().split('\n').length === LIST_SESSIONS + 1,
      ),
    )
  }

  const bigLines = only.has('big-patch') ? await benchBigPatch() : []
  const snapshotLines = only.has('snapshot') ? await benchSnapshots(home) : []

  if (only.has('new')) {
    console.log('')
    console.log(header)
    for (const line of lines) console.log(line)
    console.log('')
    for (const line of networkLines) console.log(line)
  }
  if (only.has('cli')) {
    console.log('')
    for (const c of cli)
      console.log(`${c.label.padEnd(30)}${c.seconds.toFixed(3).padStart(8)}s   < ${CLI_TARGET_SECONDS}  ${c.pass ? 'PASS' : 'FAIL'}`)
  }
  if (only.has('big-patch')) {
    console.log('')
    for (const line of bigLines) console.log(line)
  }
  if (only.has('snapshot')) {
    console.log('')
    for (const line of snapshotLines) console.log(line)
  }
  if (only.has('new')) {
    console.log('')
    for (const size of sizes) console.log(`  ${size.label.padEnd(12)}${describe(size)}`)
  }
  console.log('')
  const missed = [
    ...rows.filter((r) => !r.pass).map((r) => `${r.size.label} ${r.strategy}: ratio ${r.ratio.toFixed(2)} > ${TARGET[r.strategy]}`),
    ...cli.filter((c) => !c.pass).map((c) => `${c.label}: ${c.seconds.toFixed(3)} s >= ${CLI_TARGET_SECONDS} s`),
    ...networkMissed,
    ...bigMissed,
    ...snapshotMissed,
  ]
  if (missed.length) console.log(`MISSED ${missed.length} target(s):\n${missed.map((m) => `  - ${m}`).join('\n')}`)
  else console.log('all targets met')
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
