// The flows every engine must pass, with the real bin/realm: an engine's own test file describes the engine
// (the environment that points realm at it, the local user realm runs as, how an image gets there) and calls
// engineSuite. The core loop (new → diff → apply) and resume under each workspace strategy, push to a bare
// repository, a run whose realm is killed and which the next command recovers, a hostile agent's outputs (a link
// to a host secret, a FIFO, an 8 GB sparse file) and setuid files, and the network policy under `open` and
// `allowlist`. The host's Docker is covered by the other e2e files; this suite is for the engines besides it.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { PLACEHOLDERS } from '../../lib/net/broker.js'
import { type EngineCommand, sessionContainer, waitInContainer } from './docker.js'
import { asUid, type Uid, walk } from './hostile.js'
import { type OutsideHost, startOutsideHost } from './outside-host.js'
import { explain, REALM_BIN, type RealmResult, realm, realmEnv, TEST_IMAGE, TEST_NET_IMAGE, tempDir } from './realm.js'
import { addOrigin, type FileChange, fileEntry, makeRepo, pushedTree, repoState, treeSnapshot } from './repo.js'
import { sessionFile, sessionTree } from './session.js'

export interface EngineUnderTest {
  /** how the tests name it: "remote Docker over tcp", "rootless Podman" */
  name: string
  /** what points realm (and the engine's CLI) at it: DOCKER_HOST, REALM_ENGINE, … */
  env: Record<string, string>
  /** the engine's CLI, for the suite's own look at a run's container (default: docker) */
  program?: 'docker' | 'podman'
  /** runs realm (and that CLI) as this local user, as for a rootless engine; realm runs as root otherwise */
  user?: Uid
  /** makes a host image available to the engine (the test image and the network sidecar's) */
  loadImage?: (image: string) => Promise<void>
  /** the workspace strategies to run the core loop under (default both) */
  workspaces?: Array<'overlay' | 'copy'>
  /**
   * While realm cannot yet enforce `allowlist` on this engine: its one-line refusal, which the allowlist test
   * then expects instead of the enforced policy. Drop it once realm enforces the policy there.
   */
  allowlistRefusal?: RegExp
  /**
   * While realm's broker is out of reach of this engine's containers under `open` (the agent then gets no
   * credential from this machine): the open test checks that the key stays out, not that the model API answers.
   * Drop it once the broker is reached there.
   */
  openWithoutBroker?: boolean
  /**
   * Lines the engine itself prints on stderr at every run, which the one-line checks leave out (rootless Podman
   * on cgroups v1: "Resource limits are not supported and ignored …").
   */
  engineNotice?: RegExp
}

/** What the agent writes in the core loop, and the tree it leaves, computed here independently of realm. */
const PROJECT: Record<string, FileChange> = {
  'a.txt': 'one\ntwo\nthree\n',
  'bin.dat': Buffer.from([0, 1, 2, 255, 0]),
  'gone.txt': 'to be deleted\n',
  'run.sh': { mode: 0o755, data: '#!/bin/sh\necho run\n' },
  'sub/keep.txt': 'keep\n',
}
const CORE_SCRIPT = [
  'sed -i s/two/TWO/ a.txt',
  'printf "\\000\\377agent\\n" > new.bin',
  'rm gone.txt',
  'chmod +x a.txt',
  'echo agent > sub/agent.txt',
]
const CORE_TREE: Record<string, string> = {
  'a.txt': fileEntry('one\nTWO\nthree\n', true),
  'bin.dat': fileEntry(Buffer.from([0, 1, 2, 255, 0])),
  'new.bin': fileEntry(Buffer.from([0, 255, ...Buffer.from('agent\n')])),
  'run.sh': fileEntry('#!/bin/sh\necho run\n', true),
  'sub/keep.txt': fileEntry('keep\n'),
  'sub/agent.txt': fileEntry('agent\n'),
}

const SECRET = `SECRET-${randomBytes(8).toString('hex')}`
const OUT = '/realm/out'

/** Regular files under `dir` (never following a link) whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await walk(dir).catch(() => [])) {
    if (entry.kind !== 'file') continue
    const stat = await fs.lstat(entry.path)
    if (stat.size <= 64 * 1024 * 1024 && (await fs.readFile(entry.path)).includes(needle)) found.push(entry.path)
  }
  return found
}

export function engineSuite(engine: EngineUnderTest, skip: string | false): void {
  const program = engine.program ?? 'docker'
  const user = engine.user
  /** stderr's lines, less the engine's own notices */
  const ownLines = (stderr: string) =>
    stderr
      .trim()
      .split('\n')
      .filter((line) => !engine.engineNotice?.test(line))
  const cliEnv = { ...engine.env, HOME: undefined }

  /** The engine's CLI, as realm's user. */
  const cli: EngineCommand = async (args) => {
    const options = { env: cliEnv, extendEnv: true, reject: false } as const
    const result = user ? await asUid(user, [program, ...args], options) : await execa(program, args, options)
    return { exitCode: result.exitCode, stdout: String(result.stdout) }
  }

  describe(`realm on ${engine.name}`, { skip, timeout: 15 * 60_000 }, () => {
    let tmp: { path: string; cleanup: () => Promise<void> }
    let home: string
    let userHome: string
    let counter = 0

    before(async () => {
      for (const image of [TEST_IMAGE, TEST_NET_IMAGE]) await engine.loadImage?.(image)
      tmp = await tempDir('realm-engine-')
      home = path.join(tmp.path, 'home')
      // The user's home, outside $REALM_HOME, with a secret only the user can read.
      userHome = path.join(tmp.path, 'user')
      await fs.mkdir(path.join(userHome, '.ssh'), { recursive: true })
      await fs.writeFile(path.join(userHome, '.ssh', 'id_secret'), `${SECRET}\n`, { mode: 0o600 })
      if (user) {
        await fs.mkdir(home, { mode: 0o700 })
        await execa('chown', ['-R', `${user.uid}:${user.uid}`, tmp.path])
      }
    })
    after(async () => tmp?.cleanup())

    /**
     * `dir` as the test's own git may read it: git refuses a repository another uid owns (and takes no
     * safe.directory from the command line), so a repository of realm's user is read from a copy of root's.
     */
    async function readable(dir: string): Promise<string> {
      if (!user) return dir
      const copy = path.join(tmp.path, 'read', path.basename(dir))
      await fs.rm(copy, { recursive: true, force: true })
      await fs.mkdir(path.dirname(copy), { recursive: true })
      await execa('cp', ['-a', dir, copy])
      await execa('chown', ['-R', '0:0', copy])
      return copy
    }

    /** A fresh repository of `files` (with `origin`, a bare repository beside it, when asked), owned by realm's user. */
    async function project(files: Record<string, FileChange> = PROJECT, origin?: string): Promise<string> {
      const root = await makeRepo(path.join(tmp.path, `p${++counter}`), files)
      if (origin) await addOrigin(root, origin)
      if (user) for (const dir of [root, origin ?? root]) await execa('chown', ['-R', `${user.uid}:${user.uid}`, dir])
      return root
    }

    function options(env: Record<string, string>, timeout: number) {
      const all = realmEnv(home, { HOME: userHome, ...engine.env, ...env })
      return { env: all, extendEnv: true, reject: false, timeout, stripFinalNewline: false, input: '' } as const
    }

    /** bin/realm against the engine, as its user, in `cwd`. */
    async function run(args: string[], cwd: string, env: Record<string, string> = {}, timeout = 180_000): Promise<RealmResult> {
      if (!user) return realm(args, { cwd, home, env: { HOME: userHome, ...engine.env, ...env }, timeout })
      const result = await asUid(user, [process.execPath, REALM_BIN, ...args], { cwd, ...options(env, timeout) })
      return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
    }

    /** bin/realm started without waiting, to be killed. */
    function start(args: string[], cwd: string) {
      const argv = [process.execPath, REALM_BIN, ...args]
      return user ? asUid(user, argv, { cwd, ...options({}, 180_000) }) : execa(argv[0], argv.slice(1), { cwd, ...options({}, 180_000) })
    }

    async function ok(args: string[], cwd: string, env: Record<string, string> = {}): Promise<RealmResult> {
      const result = await run(args, cwd, env)
      assert.equal(result.code, 0, explain(result))
      return result
    }

    for (const workspace of engine.workspaces ?? (['overlay', 'copy'] as const)) {
      const env = { REALM_WORKSPACE: workspace }
      let root: string

      test(`${workspace} workspace: new, diff and apply; the project is only read until apply`, async () => {
        root = await project()
        const before = await repoState(await readable(root))
        await ok(['new', `core-${workspace}`, ...CORE_SCRIPT], root, env)
        assert.deepEqual(await repoState(await readable(root)), before, 'the project is only read')
        assert.deepEqual(await sessionTree(home, `core-${workspace}`, await readable(root)), CORE_TREE)

        const diff = await ok(['diff', `core-${workspace}`, '--color', 'never'], root)
        assert.match(diff.stdout, /^Session: 4 files changed/m, explain(diff))
        for (const file of ['a.txt', 'gone.txt', 'new.bin', 'sub/agent.txt'])
          assert.match(diff.stdout, new RegExp(`^diff --git a/${file} b/${file}$`, 'm'), explain(diff))

        await ok(['apply', `core-${workspace}`], root)
        assert.deepEqual(await treeSnapshot(root), CORE_TREE, "the working tree is the agent's")
      })

      test(`${workspace} workspace: resume starts from the session and its patch accumulates`, async () => {
        const name = `core-${workspace}`
        await ok(['resume', name, 'test -f sub/agent.txt', 'echo second > second.txt'], root, env)
        assert.match(await fs.readFile(sessionFile(home, name, 'base.patch'), 'utf8'), /sub\/agent\.txt/)
        const changes = await fs.readFile(sessionFile(home, name, 'changes.patch'), 'utf8')
        assert.match(changes, /second\.txt/)
        assert.doesNotMatch(changes, /agent\.txt/)
        assert.deepEqual(await sessionTree(home, name, await readable(root)), { ...CORE_TREE, 'second.txt': fileEntry('second\n') })
      })
    }

    test('push: the session goes to a branch of a bare repository on disk', async () => {
      const bare = path.join(tmp.path, 'origin.git')
      const root = await project(PROJECT, bare)
      await ok(['new', 'pushed', ...CORE_SCRIPT], root)
      const pushed = await ok(['push', 'pushed'], root)
      assert.match(pushed.stderr, /pushed [0-9a-f]{12} to origin\/pushed/)
      assert.deepEqual(await pushedTree(await readable(bare), 'pushed'), CORE_TREE)
    })

    test('realm killed mid-run: the next command recovers the run', async () => {
      const root = await project()
      const name = 'killed'
      await ok(['new', name, 'echo earlier > earlier.txt'], root)
      const child = start(['resume', name, 'echo one > one.txt; echo two > two.txt', 'touch /tmp/marker', 'sleep 300'], root)
      const container = await sessionContainer(name, 90_000, cli)
      await waitInContainer(container, '/tmp/marker', 60_000, cli)
      await new Promise((resolve) => setTimeout(resolve, 4_500)) // a snapshot is taken every 3 s
      child.kill('SIGKILL')
      await cli(['stop', '-t', '1', container]) // the entrypoint makes its final capture
      await child.catch(() => undefined)

      const resumed = await ok(['resume', name, 'echo three > three.txt'], root)
      assert.match(resumed.stderr, /recovered the interrupted run of 'killed'/, explain(resumed))
      const tree = await sessionTree(home, name, await readable(root))
      for (const file of ['earlier.txt', 'one.txt', 'two.txt', 'three.txt']) assert.ok(tree[file], `${file} in ${Object.keys(tree)}`)
    })

    describe('a hostile agent', () => {
      let root: string
      const patches = async () => {
        const files: Record<string, string | undefined> = {}
        for (const file of ['baseline.patch', 'base.patch', 'changes.patch'])
          files[file] = await fs.readFile(sessionFile(home, 'victim', file), 'utf8').catch(() => undefined)
        return files
      }
      before(async () => {
        root = await project()
        await ok(['new', 'victim', 'echo earlier > earlier.txt'], root)
      })

      const plant = {
        'link to a host secret': () => `ln -sfn ${path.join(userHome, '.ssh', 'id_secret')} ${OUT}/changes.patch`,
        FIFO: () => `rm -f ${OUT}/changes.patch && mkfifo ${OUT}/changes.patch`,
        '8 GB sparse file': () => `rm -f ${OUT}/changes.patch && truncate -s 8G ${OUT}/changes.patch`,
      }
      for (const [kind, script] of Object.entries(plant))
        test(`changes.patch replaced by a ${kind}: the run is refused with one line, earlier work intact`, async () => {
          const before = await patches()
          // A directory where realm's own write of the file would go keeps it from replacing the plant.
          const result = await run(['resume', 'victim', 'echo more > more.txt', script(), `mkdir -p ${OUT}/changes.patch.tmp`], root)
          assert.notEqual(result.code, 0, explain(result))
          const lines = ownLines(result.stderr)
          assert.equal(lines.length, 1, `one line\n${explain(result)}`)
          assert.match(lines[0], /^realm: refused this run's output: changes\.patch /, explain(result))
          assert.deepEqual(await patches(), before, "the session's earlier patches are intact")
          assert.deepEqual(await filesContaining(home, SECRET), [], 'no secret under $REALM_HOME')
        })

      test('setuid and setgid files, FIFOs and open modes left behind: none of it stays under $REALM_HOME', async () => {
        const script = ['/workspace', OUT].flatMap((dir) => [
          `cp /bin/sh ${dir}/rootsh && chmod 4755 ${dir}/rootsh`,
          `cp /bin/sh ${dir}/groupsh && chmod 2755 ${dir}/groupsh`,
          `mkfifo ${dir}/fifo`,
          `chmod 0777 ${dir}`,
        ])
        await ok(['resume', 'victim', ...script, 'echo after > after.txt'], root)
        const entries = await walk(home)
        const special = entries.filter((e) => !['dir', 'file', 'link'].includes(e.kind) || (e.mode & 0o6000) !== 0)
        assert.deepEqual(special, [], 'no setuid, setgid, device, FIFO or socket under $REALM_HOME')
        assert.deepEqual(
          entries.filter((e) => e.kind !== 'link' && (e.mode & 0o077) !== 0),
          [],
          "realm's state is 0700/0600",
        )
      })
    })

    describe('the network policy', { skip: process.getuid?.() !== 0 && 'SKIPPED: the outside host is a network namespace (root)' }, () => {
      let outside: OutsideHost
      let api: http.Server
      let apiUrl: string
      let apiKeys: Array<string | undefined>
      before(async () => {
        outside = await startOutsideHost()
        apiKeys = []
        api = http.createServer((req, res) => {
          apiKeys.push(req.headers['x-api-key'] as string | undefined)
          res.end('model-api\n')
        })
        await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
        apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
      })
      after(async () => {
        await outside?.stop()
        api?.close()
      })

      /** The agent's probes: each prints `name=<http status>` (000: no connection). */
      function probes(): string {
        const direct = (name: string, url: string) =>
          `printf '${name}=%s\\n' "$(curl -s -o /dev/null -m 4 --noproxy '*' -w '%{http_code}' ${url})"`
        const proxied = (name: string, url: string) =>
          `printf '${name}=%s\\n' "$(curl -s -o /dev/null -m 6 --proxy "$HTTP_PROXY" --noproxy '' -w '%{http_code}' ${url})"`
        return [
          direct('outside', `http://${outside.address}:8080/`),
          direct('model-api', '-H "x-api-key: $ANTHROPIC_API_KEY" "$ANTHROPIC_BASE_URL/v1/ping"'),
          'if [ -n "$HTTP_PROXY" ]; then',
          proxied('proxy-allowed-name', `http://${outside.allowedName}:8080/`),
          proxied('proxy-other-name', `http://${outside.blockedName}:8080/`),
          'fi',
          `printf 'placeholder=%s\\n' "$ANTHROPIC_API_KEY"`,
          `printf 'sentinel-env=%s\\n' "$(env | grep -c sk-real-SENTINEL)"`,
        ].join('\n')
      }

      async function runMode(mode: 'open' | 'allowlist') {
        const root = await project({ 'a.txt': 'a\n' })
        const args = ['new', `net-${mode}`, '--network', mode, '--allow', `${outside.allowedName}:8080`, '--', probes()]
        const result = await run(args, root, { ANTHROPIC_BASE_URL: apiUrl, ANTHROPIC_API_KEY: 'sk-real-SENTINEL' })
        const seen = Object.fromEntries(
          [...result.stdout.matchAll(/^([a-z-]+)=(\d{3})$/gm)].map((m) => [m[1], m[2] === '200' ? 'open' : 'closed']),
        )
        return { result, seen }
      }

      test(`open: the outside is reachable${engine.openWithoutBroker ? '' : ', the model API through the broker'}; the key stays out`, async () => {
        apiKeys.length = 0
        const { result, seen } = await runMode('open')
        assert.equal(result.code, 0, explain(result))
        assert.match(result.stdout, /^sentinel-env=0$/m, "the real key is nowhere in the agent's environment")
        if (engine.openWithoutBroker) {
          assert.equal(seen.outside, 'open', explain(result))
          assert.ok(
            apiKeys.every((k) => k !== 'sk-real-SENTINEL'),
            'nothing the agent sent carried the real key',
          )
          return
        }
        assert.deepEqual(seen, { outside: 'open', 'model-api': 'open' }, explain(result))
        assert.match(result.stdout, new RegExp(`^placeholder=${PLACEHOLDERS.ANTHROPIC_API_KEY}$`, 'm'))
        assert.ok(apiKeys.length > 0 && apiKeys.every((k) => k === 'sk-real-SENTINEL'), 'the model API got the real key from the broker')
      })

      if (engine.allowlistRefusal) {
        const refusal = engine.allowlistRefusal
        test('allowlist: refused with one line while realm cannot enforce it on this engine; the agent never starts', async () => {
          const { result, seen } = await runMode('allowlist')
          assert.notEqual(result.code, 0, explain(result))
          const lines = ownLines(result.stderr)
          assert.equal(lines.length, 1, `one line\n${explain(result)}`)
          assert.match(lines[0], refusal, explain(result))
          assert.deepEqual(seen, {}, 'no probe ran')
        })
      } else {
        test('allowlist: the broker and the allowed name through the proxy only; the blocked line names the rest', async () => {
          apiKeys.length = 0
          const { result, seen } = await runMode('allowlist')
          assert.equal(result.code, 0, explain(result))
          assert.deepEqual(
            seen,
            { outside: 'closed', 'model-api': 'open', 'proxy-allowed-name': 'open', 'proxy-other-name': 'closed' },
            explain(result),
          )
          assert.ok(apiKeys.length > 0 && apiKeys.every((k) => k === 'sk-real-SENTINEL'), 'the model API got the real key from the broker')
          const line = result.stderr.split('\n').find((l) => l.startsWith('realm: blocked '))
          assert.ok(line, explain(result))
          assert.match(line, new RegExp(outside.blockedName.replaceAll('.', '\\.')))
        })
      }
    })
  })
}
