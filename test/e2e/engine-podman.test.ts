// realm on Podman, the real engine, both ways people have it: its own CLI (REALM_ENGINE=podman), rootful and
// rootless (a user of its own with subordinate ids, keep-id), and Docker's CLI on Podman's Docker-compatible
// socket (DOCKER_HOST). On each: a new session whose secret file stays hidden (or is refused where there is no
// overlay), whose work comes back exact and the user's, with no setuid file left. Through the socket, which the
// shared engine suite (engine-podman-suite.test.ts) does not cover, also the rest of a session's life: resume
// (copy), diff, apply, push, an interrupted run that the next command recovers, and the enforcing network modes
// through the relay (the sidecar with no network, realm's proxy the only way out).
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { podmanFacts } from '../../lib/net/podman-network.ts'
import { dockerSkip } from '../helpers/docker.js'
import { addOrigin, makeRepo } from '../helpers/repo.js'
import { explain, REALM_BIN, realmEnv, type RealmResult, tempDir } from '../helpers/realm.js'
import { ensurePodman, loadTestImage, podmanContainer, type RootlessUser, rootlessUser, startPodmanService } from '../helpers/podman.js'

const dockerSkipped = await dockerSkip()
const podmanProblem = dockerSkipped ? undefined : await ensurePodman()
if (podmanProblem && process.env.CI) throw new Error(`the Podman tests need Podman: ${podmanProblem}`)
const skip = dockerSkipped || podmanProblem || (process.getuid?.() !== 0 ? 'the Podman tests set up users and run as root' : false)

interface Engine {
  label: string
  /** argv prefix realm and podman run under (the rootless user's), none for root */
  prefix: () => string[]
  /** the podman program as realm's user runs it */
  podman: () => string[]
  env: () => Record<string, string>
  /** the uid that must own everything realm leaves */
  owner: () => number
  /** whether realm gets an overlay there (else the copy, and hidden files are refused) */
  overlay: boolean
  /**
   * Whether engine-podman-suite.test.ts runs the shared flows (resume, apply, push, an interrupted run, a hostile
   * agent's outputs, allowlist) on this engine: here it then runs only what is Podman's own (hidden files through
   * its overlays, the files the user's).
   */
  inSharedSuite: boolean
  setUp(dir: string): Promise<void>
  tearDown(): Promise<void>
}

const PROJECT = {
  'a.txt': 'one\ntwo\n',
  'gone.txt': 'to be deleted\n',
  'old name.txt': 'renamed content that is long enough to be detected\n',
  'script.sh': '#!/bin/sh\necho hi\n',
  '.env': 'SECRET=host-only\n',
}

/** Every entry under `dir` (lstat, never followed): its path, kind, mode and owner. */
async function walk(dir: string): Promise<Array<{ path: string; kind: string; mode: number; uid: number }>> {
  const out: Array<{ path: string; kind: string; mode: number; uid: number }> = []
  for (const name of await fs.readdir(dir)) {
    const full = path.join(dir, name)
    const stat = await fs.lstat(full)
    const kind = stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : stat.isSymbolicLink() ? 'link' : 'special'
    out.push({ path: full, kind, mode: stat.mode & 0o7777, uid: stat.uid })
    if (stat.isDirectory()) out.push(...(await walk(full)))
  }
  return out
}

function engineSuite(engine: Engine): void {
  describe(`Podman: ${engine.label}`, { skip, timeout: 600_000 }, () => {
    let dir: string
    let cleanup: () => Promise<void>
    let project: string
    let home: string
    let bare: string

    before(async () => {
      const temp = await tempDir('realm-podman-')
      dir = temp.path
      cleanup = temp.cleanup
      await fs.chmod(dir, 0o755)
      project = await makeRepo(path.join(dir, 'project'), PROJECT)
      bare = path.join(dir, 'origin.git')
      await execa('git', ['init', '-q', '--bare', bare])
      await addOrigin(project, bare)
      home = path.join(dir, 'home')
      await fs.mkdir(path.join(home, 'user-home'), { recursive: true, mode: 0o700 })
      await fs.chmod(home, 0o700)
      await engine.setUp(dir)
      await execa('chown', ['-R', `${engine.owner()}:${engine.owner()}`, dir])
    })
    after(async () => {
      await engine.tearDown()
      await cleanup()
    })

    const run = (args: string[], extra: Record<string, string> = {}) => {
      const env = { ...realmEnv(home), ...engine.env(), ...extra }
      const prefix = engine.prefix()
      const argv = prefix.length
        ? [...prefix, ...Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])), REALM_BIN, ...args]
        : [REALM_BIN, ...args]
      return execa(argv[0], argv.slice(1), {
        cwd: project,
        env: prefix.length ? {} : env,
        extendEnv: !prefix.length,
        reject: false,
        input: '',
        timeout: 180_000,
      })
    }
    const realm = async (args: string[], extra?: Record<string, string>): Promise<RealmResult> => {
      const result = await run(args, extra)
      return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
    }

    const workspace = engine.overlay ? 'overlay' : 'copy'
    // Where there is no overlay, the secret file must be shown for any run to go ahead.
    const shown: Record<string, string> = engine.overlay ? {} : { REALM_SHOW: '.env' }

    if (!engine.overlay)
      test('no overlay here: a run that would hide secret files is refused in one line, an overlay asked for too', async () => {
        const hiding = await realm(['new', 'hiding', '--network', 'open', 'true'])
        assert.notEqual(hiding.code, 0, explain(hiding))
        assert.match(
          hiding.stderr,
          /^realm: cannot hide 1 secret file \(\.env\) from the agent: Podman's Docker-compatible socket/,
          explain(hiding),
        )
        assert.equal(hiding.stderr.trim().split('\n').length, 1, explain(hiding))
        const overlay = await realm(['new', 'overlay', '--network', 'open', '--workspace', 'overlay', 'true'], shown)
        assert.notEqual(overlay.code, 0, explain(overlay))
        assert.match(overlay.stderr, /cannot use an overlay workspace: .* — use --workspace copy/, explain(overlay))
      })

    test(`new (${workspace}): the agent sees no secret, and its work comes back exact, as the user`, async () => {
      const script = [
        engine.overlay ? 'test ! -e .env && test ! -e /realm/project/.env' : 'test -e .env',
        'printf "\\000\\377binary\\n" > new.bin',
        'rm gone.txt',
        'git mv "old name.txt" "new name ü.txt"',
        'chmod -x script.sh && chmod +x a.txt',
        'ln -s a.txt link',
        'echo committed > committed.txt && git add committed.txt && git commit -qm "agent commit"',
        'echo "after commit" >> a.txt',
        // hostile: a setuid shell in the upper layer and in the output directory
        'cp /bin/sh suid && chmod 4755 suid && cp /bin/sh /realm/out/suid && chmod 4755 /realm/out/suid',
      ]
      const result = await realm(['new', 'pod', '--network', 'open', '--workspace', workspace, ...script], shown)
      assert.equal(result.code, 0, explain(result))
      assert.match(result.stderr, new RegExp(`workspace: ${workspace}`), explain(result))
      if (engine.overlay) assert.match(result.stderr, /hid 1 secret file from the agent \(\.env\)/)
      const entries = await walk(home)
      assert.deepEqual(
        entries.filter((e) => e.uid !== engine.owner()),
        [],
        "everything under REALM_HOME is the user's",
      )
      assert.deepEqual(
        entries.filter((e) => e.kind === 'special' || (e.mode & 0o6000) !== 0),
        [],
        'no setuid file or FIFO left',
      )
      assert.deepEqual(
        entries.filter((e) => e.kind !== 'link' && (e.mode & 0o077) !== 0),
        [],
        "realm's state is private",
      )
    })

    // On Podman's own CLI the shared suite (engine-podman-suite.test.ts) runs these flows; here, Docker's CLI on its socket.
    if (!engine.inSharedSuite) {
      test('resume (copy) builds on it; diff, apply and push carry the exact tree', async () => {
        const result = await realm(
          ['resume', 'pod', '--network', 'open', '--workspace', 'copy', 'test -f committed.txt', 'echo second > second.txt'],
          shown,
        )
        assert.equal(result.code, 0, explain(result))
        assert.match(result.stderr, /workspace: copy/, explain(result))
        const diff = await realm(['diff', 'pod', '--color', 'never'])
        assert.equal(diff.code, 0, explain(diff))
        for (const file of ['new.bin', 'committed.txt', 'second.txt', 'link'])
          assert.match(diff.stdout, new RegExp(`^diff --git a/${file} b/${file}$`, 'm'))
        assert.doesNotMatch(diff.stdout, /\.env/)

        const apply = await realm(['apply', 'pod'], shown)
        assert.equal(apply.code, 0, explain(apply))
        const read = (rel: string) => fs.readFile(path.join(project, rel))
        assert.deepEqual(await read('new.bin'), Buffer.from([0, 255, ...Buffer.from('binary\n')]))
        assert.equal(String(await read('a.txt')), 'one\ntwo\nafter commit\n')
        assert.equal(String(await read('new name ü.txt')), PROJECT['old name.txt'])
        assert.equal(String(await read('second.txt')), 'second\n')
        assert.equal(await fs.readlink(path.join(project, 'link')), 'a.txt')
        assert.equal((await fs.stat(path.join(project, 'a.txt'))).mode & 0o111, 0o111)
        assert.equal((await fs.stat(path.join(project, 'script.sh'))).mode & 0o111, 0)
        assert.equal((await fs.stat(path.join(project, 'suid'))).mode & 0o6000, 0, 'no setuid bit comes back')
        await assert.rejects(fs.stat(path.join(project, 'gone.txt')))
        assert.equal(String(await read('.env')), PROJECT['.env'], "the host's secret is untouched")
        assert.deepEqual(
          (await walk(project)).filter((e) => e.uid !== engine.owner()),
          [],
          "the applied files are the user's",
        )

        const push = await realm(['push', 'pod'], shown)
        assert.equal(push.code, 0, explain(push))
        const pushed = await execa('git', ['--git-dir', bare, 'show', 'pod:second.txt'], {
          reject: false,
          env: { GIT_CONFIG_GLOBAL: '/dev/null' },
        })
        assert.equal(pushed.stdout, 'second', explain(push))
      })

      test('an interrupted run (kill -9 of realm) is recovered by the next command', async () => {
        const child = run(['resume', 'pod', '--network', 'open', 'echo late > late.txt', 'sleep 300'], shown)
        const container = await podmanContainer(engine.podman(), 'pod')
        await new Promise((resolve) => setTimeout(resolve, 4_500)) // a snapshot is taken every 3 s
        child.kill('SIGKILL')
        const [cmd, ...args] = engine.podman()
        await execa(cmd, [...args, 'stop', '-t', '2', container], { reject: false })
        await child.catch(() => undefined)
        const next = await realm(['resume', 'pod', '--network', 'open', 'test -f late.txt'], shown)
        assert.equal(next.code, 0, explain(next))
        assert.match(next.stderr, /recovered the interrupted run of 'pod'/, explain(next))
      })

      test('allowlist and model: no way out but the proxy, which lets the allowed address through; the broker answers', async () => {
        const probe = (name: string, curl: string) => `printf '${name}=%s\\n' "$(curl -s -o /dev/null -m 5 -w '%{http_code}' ${curl})"`
        const script = [
          probe('direct', `--noproxy '*' ${hostService}`),
          probe('proxied', `--proxy "$HTTP_PROXY" --noproxy '' ${hostService}`),
          probe('broker', `--noproxy '*' "$ANTHROPIC_BASE_URL/v1/models"`),
          'echo netted > netted.txt',
        ].join('\n')
        for (const mode of ['allowlist', 'model'] as const) {
          const result = await realm(['resume', 'pod', '--network', mode, '--allow', hostAddress, '--', script], shown)
          assert.equal(result.code, 0, explain(result))
          assert.match(result.stdout, /^direct=000$/m, explain(result))
          assert.match(result.stdout, new RegExp(`^proxied=${mode === 'allowlist' ? '200' : '403'}$`, 'm'), explain(result))
          // the broker is reached (it answers; the model API itself is out of this test's reach)
          assert.doesNotMatch(result.stdout, /^broker=000$/m, explain(result))
          assert.match(result.stderr, new RegExp(`^realm: blocked .*${hostAddress.replace(/\./g, '\\.')}`, 'm'), explain(result))
        }
        const diff = await realm(['diff', 'pod', '--color', 'never'])
        assert.match(diff.stdout, /^diff --git a\/netted\.txt b\/netted\.txt$/m, explain(diff))
      })
    }
  })
}

// A service on the host's own address, which the agent may reach only through realm's proxy, and only when allowed.
let hostAddress = ''
let hostService = ''
const hostServer = http.createServer((_request, response) => response.end('host service\n'))
before(async () => {
  const facts = podmanFacts(false)
  if (facts.kind !== 'podman') return
  await new Promise<void>((resolve) => hostServer.listen(0, facts.host, resolve))
  const port = (hostServer.address() as AddressInfo).port
  hostAddress = `${facts.host}:${port}`
  hostService = `http://${hostAddress}/`
})
after(() => hostServer.close())

let service: { stop(): Promise<void> } | undefined
let user: RootlessUser | undefined

engineSuite({
  label: 'rootful, its own CLI',
  prefix: () => [],
  podman: () => ['podman'],
  env: () => ({ REALM_ENGINE: 'podman' }),
  owner: () => 0,
  overlay: true,
  inSharedSuite: true,
  setUp: (dir) => loadTestImage(['podman'], dir),
  tearDown: async () => {},
})

engineSuite({
  label: "rootful, Docker's CLI on its socket",
  prefix: () => [],
  podman: () => ['podman'],
  env: () => ({ REALM_ENGINE: 'docker', DOCKER_HOST: `unix://${socketPath}` }),
  owner: () => 0,
  overlay: false,
  inSharedSuite: false,
  async setUp(dir) {
    await loadTestImage(['podman'], dir)
    socketPath = path.join(dir, 'podman.sock')
    service = await startPodmanService(socketPath)
  },
  tearDown: async () => service?.stop(),
})
let socketPath = ''

engineSuite({
  label: 'rootless, its own CLI (keep-id)',
  prefix: () => user?.as() ?? [],
  podman: () => [...(user?.as() ?? []), 'podman'],
  // Podman's storage (and its configuration: overlay) is under the user's own HOME.
  env: () => ({ REALM_ENGINE: 'podman', HOME: user?.home ?? '' }),
  owner: () => user?.uid ?? -1,
  overlay: true,
  inSharedSuite: true,
  async setUp(dir) {
    user = await rootlessUser(dir)
    await execa('chown', [`${user.uid}:${user.gid}`, dir])
    await loadTestImage([...user.as(), 'podman'], dir)
  },
  tearDown: async () => {},
})

let rootlessService: { stop(): Promise<void> } | undefined
let socketUser: RootlessUser | undefined

engineSuite({
  label: "rootless, Docker's CLI on its socket",
  prefix: () => socketUser?.as() ?? [],
  podman: () => [...(socketUser?.as() ?? []), 'podman'],
  env: () => ({
    REALM_ENGINE: 'docker',
    HOME: socketUser?.home ?? '',
    DOCKER_HOST: `unix://${socketUser?.runtimeDir}/podman/podman.sock`,
  }),
  owner: () => socketUser?.uid ?? -1,
  overlay: false,
  inSharedSuite: false,
  async setUp(dir) {
    socketUser = await rootlessUser(dir)
    await execa('chown', [`${socketUser.uid}:${socketUser.gid}`, dir])
    await loadTestImage([...socketUser.as(), 'podman'], dir)
    const socket = path.join(socketUser.runtimeDir, 'podman', 'podman.sock')
    await fs.mkdir(path.dirname(socket), { recursive: true })
    await execa('chown', [`${socketUser.uid}:${socketUser.gid}`, path.dirname(socket)])
    rootlessService = await startPodmanService(socket, [...socketUser.as(), 'podman'])
  },
  tearDown: async () => rootlessService?.stop(),
})
