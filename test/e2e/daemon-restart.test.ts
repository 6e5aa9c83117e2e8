// A Docker daemon restart mid-run loses at most one snapshot interval of work. The test starts a second, private
// daemon of its own (own socket, data root, exec root, pid file, containerd namespace, bridge), so the suite's
// main engine is left alone, loads the test image into it, and kills and restarts it while an agent writes a
// line every 200 ms: once with realm still running (it saves the last snapshot itself), once after realm was
// killed too (the next command recovers it).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa, type ResultPromise } from 'execa'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { explain, realm, settled, startRealm, TEST_IMAGE, tempDir } from '../helpers/realm.js'
import { sessionFile } from '../helpers/session.js'

const skip = (await dockerSkip()) || (await privateDaemonProblem())

/** The entrypoint's default snapshot interval (REALM_SNAPSHOT_SECONDS), in seconds. */
const INTERVAL = 3

/** Why a private daemon cannot run here (undefined when it can): it needs dockerd and root. */
async function privateDaemonProblem(): Promise<string | undefined> {
  const found = await execa('dockerd', ['--version'], { reject: false }).catch(() => undefined)
  let problem: string | undefined
  if (found?.exitCode !== 0) problem = 'dockerd is not installed'
  else if (process.getuid?.() !== 0) problem = 'starting a private dockerd needs root'
  if (problem && process.env.CI)
    throw new Error(`the daemon-restart test needs a private Docker daemon and CI cannot start one: ${problem}`)
  if (problem) console.warn(`SKIPPED daemon-restart test: ${problem}`)
  return problem
}

class PrivateDaemon {
  private process: ResultPromise | undefined
  readonly socket: string

  constructor(private readonly dir: string) {
    this.socket = path.join(dir, 'docker.sock')
  }

  get env(): Record<string, string> {
    return { DOCKER_HOST: `unix://${this.socket}` }
  }

  /** The daemon's own bridge, made for it (a name of at most 15 characters; an address from a test range). */
  readonly bridge = `rt${randomBytes(4).toString('hex')}`

  async makeBridge(): Promise<void> {
    await execa('ip', ['link', 'add', this.bridge, 'type', 'bridge'])
    await execa('ip', ['addr', 'add', '198.18.213.1/24', 'dev', this.bridge])
  }

  async start(): Promise<void> {
    await fs.rm(path.join(this.dir, 'dockerd.pid'), { force: true }) // left by a daemon that was killed
    this.process = execa(
      'dockerd',
      [
        ...['--data-root', path.join(this.dir, 'data'), '--exec-root', path.join(this.dir, 'exec')],
        ...['--pidfile', path.join(this.dir, 'dockerd.pid'), '-H', `unix://${this.socket}`],
        // A bridge of its own and no firewall rules: nothing of the host's networking changes (runs use --network
        // host). Not --bridge=none: with that, dockerd deletes the host's docker0, the main engine's bridge.
        ...[`--bridge=${this.bridge}`, '--iptables=false', '--ip6tables=false', '--ip-masq=false'],
        ...['--containerd-namespace', 'realm-test-private', '--containerd-plugins-namespace', 'realm-test-private-plugins'],
      ],
      { reject: false, stdio: ['ignore', 'ignore', 'pipe'], all: false },
    )
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { env: this.env, reject: false })
      if (info.exitCode === 0) return
      if (this.process.exitCode !== null && this.process.exitCode !== undefined) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const ended = await Promise.race([this.process, new Promise((resolve) => setTimeout(resolve, 100, undefined))])
    throw new Error(`the private dockerd did not start: ${String((ended as { stderr?: string })?.stderr ?? '').slice(-2000)}`)
  }

  /** The containerd that dockerd started for itself, which outlives a dockerd killed outright. */
  private async containerdPid(): Promise<number | undefined> {
    const text = await fs.readFile(path.join(this.dir, 'exec', 'containerd', 'containerd.pid'), 'utf8').catch(() => '')
    return Number(text.trim()) || undefined
  }

  /**
   * Kills the daemon as a crash or `systemctl restart` would: dockerd and its containerd at once. The containers'
   * shims live on, and the restarted daemon cleans them up (no live-restore).
   */
  async kill(): Promise<void> {
    const containerd = await this.containerdPid()
    this.process?.kill('SIGKILL')
    await this.process
    if (containerd) {
      try {
        process.kill(containerd, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    // Where PID 1 reaps no orphans (some container and VM inits), the killed containerd stays a zombie, which the
    // restarted dockerd would take for a live containerd and wait for: its pid file goes, as a reboot would clear it.
    await fs.rm(path.join(this.dir, 'exec', 'containerd', 'containerd.pid'), { force: true })
  }

  /** Stops the daemon for good: its containers stop with it; then what it mounted under `dir` is released. */
  async stop(): Promise<void> {
    this.process?.kill('SIGTERM')
    await this.process
    // A container whose daemon did not come back keeps its shim: nothing else would ever end it.
    for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
      const cmdline = await fs.readFile(path.join('/proc', pid, 'cmdline'), 'utf8').catch(() => '')
      if (/^\d+$/.test(pid) && cmdline.startsWith('/usr/bin/containerd-shim') && cmdline.includes(`${this.dir}/`)) {
        process.kill(Number(pid), 'SIGKILL')
      }
    }
    const mounts = (await fs.readFile('/proc/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? '')
    for (const mount of mounts.filter((m) => m.startsWith(`${this.dir}/`)).reverse()) {
      await execa('umount', ['-l', mount], { reject: false })
    }
    await execa('ip', ['link', 'del', this.bridge], { reject: false })
  }
}

/** The last line the agent wrote, as the session's saved patches have it. */
async function lastSavedLine(home: string, name: string, file: 'changes.patch' | 'base.patch'): Promise<number> {
  const patch = await fs.readFile(sessionFile(home, name, file), 'utf8')
  const lines = [...patch.matchAll(/^\+(\d+)$/gm)].map((m) => Number(m[1]))
  assert.ok(lines.length > 0, `no work saved in ${file}:\n${patch}`)
  return Math.max(...lines)
}

describe('a daemon restart mid-run', { skip }, () => {
  let project: string
  let home: string
  let dir: { path: string; cleanup: () => Promise<void> }
  let daemon: PrivateDaemon
  useProject({ 'a.txt': 'a\n' }, (f) => ({ project, home } = f))

  before(async () => {
    // A short path: a unix socket's path has a length limit.
    dir = await tempDir('rd-')
    daemon = new PrivateDaemon(dir.path)
    await daemon.makeBridge()
    await daemon.start()
    await execa('docker', ['save', TEST_IMAGE]).pipe('docker', ['load'], { env: daemon.env })
  })
  after(async () => {
    await daemon?.stop()
    await dir?.cleanup()
  })

  // The agent appends the milliseconds since the epoch to log.txt every 200 ms: the saved log says when its last
  // line was written, so the loss is measured against the moment the daemon died.
  const AGENT = 'touch /tmp/marker; while true; do date +%s%3N >> log.txt; sleep 0.2; done'

  async function startRun(name: string) {
    const env = { ...daemon.env, REALM_NETWORK: 'host' }
    const child = startRealm(['new', name, AGENT], { cwd: project, home, env })
    const deadline = Date.now() + 60_000
    for (;;) {
      const ps = await execa('docker', ['ps', '-q', '--filter', `name=^realm-${name}-`], { env: daemon.env, reject: false })
      if (ps.stdout.trim()) break
      if (Date.now() > deadline) throw new Error(`no container for ${name}: ${explain(await settled(child))}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL * 1000)) // a few snapshots' worth of work
    return { child, env }
  }

  test('realm still running: it saves the last snapshot, and nothing older than one interval is lost', async () => {
    const name = 'restart-live'
    const { child, env } = await startRun(name)
    const killedAt = Date.now()
    await daemon.kill()
    const result = await settled(child)
    await daemon.start()
    assert.match(result.stderr, /its last snapshot was saved/, explain(result))
    const last = await lastSavedLine(home, name, 'changes.patch')
    assert.ok(killedAt - last <= (INTERVAL + 1) * 1000, `the saved work ends ${killedAt - last} ms before the daemon died`)
    const diff = await realm(['diff', '--stat', name], { cwd: project, home, env })
    assert.match(diff.stdout, /A log\.txt/, explain(diff))
  })

  test('realm killed too: the next command recovers the last snapshot after the restart', async () => {
    const name = 'restart-dead'
    const { child, env } = await startRun(name)
    child.kill('SIGKILL')
    const killedAt = Date.now()
    await daemon.kill()
    await child.catch(() => undefined) // its output pipes close once docker's client, its child, has gone too
    await daemon.start()

    const list = await realm(['list'], { cwd: project, home, env })
    assert.match(list.stdout, /restart-dead .*interrupted run not yet saved/, explain(list))
    const resume = await realm(['resume', name, 'true'], { cwd: project, home, env })
    assert.equal(resume.code, 0, explain(resume))
    // The restarted daemon stops what its predecessor left running, and the entrypoint may capture on the way out.
    assert.match(resume.stderr, /recovered the interrupted run of 'restart-dead' \(its (last snapshot|final capture)\)/, explain(resume))
    const last = await lastSavedLine(home, name, 'base.patch')
    assert.ok(killedAt - last <= (INTERVAL + 1) * 1000, `the saved work ends ${killedAt - last} ms before the daemon died`)
  })
})
