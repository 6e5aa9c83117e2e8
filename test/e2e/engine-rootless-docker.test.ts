// realm on a rootless Docker engine, beside the machine's rootful one: a user of its own runs the real bin/realm
// against Debian's dockerd-rootless.sh (test/engines/rootless-docker.sh installs what is missing and starts it).
// First the flows every engine passes (test/helpers/engine-suite.ts): both workspaces under the allowlist (through
// the relay), push, a killed run recovered, a hostile agent's outputs, `open` and `allowlist` against an outside
// host. Then what differs on a rootless engine: what realm cannot do there is refused in one line each; the copy
// under `open` with apply and push; what the agent writes is the user's, the patch exact; the agent cannot give
// files to subordinate ids, and its setuid file is out of other users' reach.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { dockerSkip } from '../helpers/docker.js'
import { engineSuite } from '../helpers/engine-suite.js'
import { addOrigin, fileEntry, GIT_ENV, makeRepo, treeSnapshot } from '../helpers/repo.js'
import { explain, REALM_BIN, type RealmResult, realmEnv, TEST_IMAGE, TEST_NET_IMAGE } from '../helpers/realm.js'
import { sessionFile } from '../helpers/session.js'
import { tempDir } from '../helpers/temp.js'

const ENGINE = path.resolve(import.meta.dirname, '..', 'engines', 'rootless-docker.sh')
const USER = 'realm-rootless'
const RUN_DIR = '/tmp/realm-rootless-docker'
const SOCKET = `unix://${RUN_DIR}/docker.sock`

/** The engine needs root to set up (a user, its subordinate ids): skipped without it here, loud in CI. */
async function rootlessSkip(): Promise<string | false> {
  const skip = await dockerSkip()
  if (skip) return skip
  if (process.getuid?.() === 0) return false
  const message = 'SKIPPED rootless Docker tests: they set up a user and its engine, which needs root'
  if (process.env.CI) throw new Error(message)
  console.warn(message)
  return message
}

const skip = await rootlessSkip()

/** Starts the engine (installing what is missing) and loads the test images into it; stopped after the file. */
async function startEngine(): Promise<void> {
  const started = await execa(ENGINE, ['start', TEST_IMAGE, TEST_NET_IMAGE], { reject: false, all: true })
  if (started.exitCode !== 0) throw new Error(`the rootless Docker engine did not start:\n${started.all}`)
}
if (!skip) {
  await startEngine()
  after(async () => {
    await execa(ENGINE, ['stop'])
  })
}
const ENGINE_INFO = skip
  ? { SecurityOptions: [], PidsLimit: true }
  : (JSON.parse((await execa('docker', ['info', '--format', '{{json .}}'], { env: { DOCKER_HOST: SOCKET } })).stdout) as {
      SecurityOptions: string[]
      PidsLimit: boolean
    })
/** Without cgroup v2 the engine cannot limit processes, and realm refuses a limit it would drop. */
const PIDS: Record<string, string> = ENGINE_INFO.PidsLimit ? {} : { REALM_PIDS_LIMIT: 'none' }

// The flows every engine passes, as the engine's own user: the core loop and resume in both workspaces (under the
// default allowlist, through the relay), push, a killed run recovered, a hostile agent's outputs, open and allowlist.
engineSuite(
  {
    name: 'a rootless Docker engine',
    env: { DOCKER_HOST: SOCKET, ...PIDS },
    user: skip ? undefined : { uid: Number((await execa('id', ['-u', USER])).stdout) },
  },
  skip,
)

async function idOf(flag: '-u' | '-g'): Promise<number> {
  return Number((await execa('id', [flag, USER])).stdout)
}

describe('realm on a rootless Docker engine: what differs from a rootful one', { skip }, () => {
  let uid: number
  let gid: number
  let tmp: { path: string; cleanup: () => Promise<void> }
  let engineInfo: { SecurityOptions: string[]; PidsLimit: boolean }

  before(async () => {
    uid = await idOf('-u')
    gid = await idOf('-g')
    tmp = await tempDir('realm-rootless-')
    await fs.chown(tmp.path, uid, gid)
    engineInfo = ENGINE_INFO
  })
  after(async () => {
    await tmp?.cleanup()
  })

  /** A program run as the test user, on the rootless engine. */
  function asUser(file: string, args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
    return execa(file, args, {
      cwd: options.cwd ?? tmp.path,
      uid,
      gid,
      env: { ...options.env, DOCKER_HOST: SOCKET, XDG_RUNTIME_DIR: RUN_DIR },
      reject: false,
      input: '',
      timeout: 120_000,
    })
  }

  /** The real bin/realm, as the test user, with its own HOME and REALM_HOME. */
  async function realm(args: string[], cwd: string, home: string, extra: Record<string, string> = {}): Promise<RealmResult> {
    const result = await startRealm(args, cwd, home, extra)
    return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
  }
  function startRealm(args: string[], cwd: string, home: string, extra: Record<string, string> = {}) {
    return asUser(REALM_BIN, args, { cwd, env: realmEnv(home, extra) })
  }

  /** A project and a REALM_HOME (with the HOME inside it) that the test user owns. */
  async function userProject(
    label: string,
    files: Record<string, string | Buffer>,
  ): Promise<{ project: string; home: string; bare: string }> {
    const project = await makeRepo(path.join(tmp.path, label, 'project'), files)
    const bare = path.join(tmp.path, label, 'origin.git')
    await addOrigin(project, bare)
    const home = path.join(tmp.path, label, 'home')
    await fs.mkdir(path.join(home, 'user-home'), { recursive: true, mode: 0o700 })
    await execa('chown', ['-R', `${uid}:${gid}`, path.join(tmp.path, label)])
    return { project, home, bare }
  }

  /** git as the test user, which owns the repositories (root's git would refuse them as another's). */
  async function userGit(cwd: string, ...args: string[]): Promise<string> {
    const result = await asUser('git', args, { cwd, env: GIT_ENV })
    assert.equal(result.exitCode, 0, `git ${args.join(' ')}: ${result.stderr}`)
    return String(result.stdout)
  }

  /** A fresh directory the test user owns. */
  async function userDir(label: string): Promise<string> {
    const dir = await fs.mkdtemp(path.join(tmp.path, `${label}-`))
    await fs.chown(dir, uid, gid)
    return dir
  }

  /** The session's tree, replayed independently: its patches applied with plain git on the commit it started from. */
  async function replayed(home: string, name: string, project: string): Promise<Record<string, string>> {
    const into = path.join(await userDir('replay'), 'tree')
    const meta = JSON.parse(await fs.readFile(sessionFile(home, name, 'session.json'), 'utf8')) as { baseCommit: string }
    await userGit(tmp.path, 'clone', '-q', '--no-checkout', project, into)
    await userGit(into, 'checkout', '-q', meta.baseCommit)
    for (const patch of ['baseline.patch', 'base.patch', 'changes.patch']) {
      const file = sessionFile(home, name, patch)
      if ((await fs.stat(file).catch(() => undefined))?.size) await userGit(into, 'apply', '--binary', file)
    }
    return treeSnapshot(into)
  }

  /** The tree of `branch` in the bare repository `bare`, checked out fresh. */
  async function pushedTree(bare: string, branch: string): Promise<Record<string, string>> {
    const into = path.join(await userDir('pushed'), 'tree')
    await userGit(tmp.path, 'clone', '-q', '--branch', branch, bare, into)
    return treeSnapshot(into)
  }

  /** Everything under `dir` that is not the test user's, or is setuid/setgid: nothing, after any command. */
  async function foreignOrSetuid(dir: string): Promise<string[]> {
    const found = await execa('find', [dir, '(', '!', '-user', String(uid), '-o', '-perm', '/6000', ')', '-printf', '%u %m %P\n'])
    return found.stdout.split('\n').filter(Boolean)
  }

  test('the engine is rootless; what realm cannot do there is refused in one line that says what to do', async () => {
    assert.ok(
      engineInfo.SecurityOptions.some((o) => o.includes('name=rootless')),
      'the engine runs rootless',
    )
    const { project, home } = await userProject('refusals', { 'a.txt': 'a\n' })
    const open: Record<string, string> = engineInfo.PidsLimit ? {} : { REALM_PIDS_LIMIT: 'none' }

    const host = await realm(['new', 'refused', '--network', 'host', 'true'], project, home, open)
    assert.equal(host.code, 1, explain(host))
    assert.match(host.stderr, /^realm: --network host on a rootless Docker engine .* use --network open/)
    for (const result of [host]) {
      assert.equal(result.stderr.trim().split('\n').length, 1, explain(result))
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack')
    }
    if (!engineInfo.PidsLimit) {
      // Without cgroup v2 the engine would drop --pids-limit without a word.
      const pids = await realm(['new', 'refused', '--network', 'open', 'true'], project, home)
      assert.equal(pids.code, 1, explain(pids))
      assert.match(
        pids.stderr,
        /^realm: this Docker engine cannot limit the agent's processes \(a rootless engine without cgroup v2\) — run with --pids-limit none/,
      )
    }
    assert.deepEqual(await fs.readdir(path.join(home, 'sessions')).catch(() => []), [], 'no session left behind')
  })

  // The suite runs the core loop under the allowlist and `open` in the overlay: here the copy under `open`.
  for (const workspace of ['copy'] as const) {
    test(`${workspace} workspace, --network open: new, diff, resume, apply and push; the work is the user's, the patch exact`, async () => {
      const { project, home, bare } = await userProject(`loop-${workspace}`, {
        'a.txt': 'one\n',
        'gone.txt': 'bye\n',
        'script.sh': '#!/bin/sh\necho hi\n',
      })
      const env = { REALM_WORKSPACE: workspace, REALM_NETWORK: 'open', ...(engineInfo.PidsLimit ? {} : { REALM_PIDS_LIMIT: 'none' }) }
      const name = `loop-${workspace}`

      const first = await realm(
        [
          'new',
          name,
          'echo two >> a.txt',
          'rm gone.txt',
          'chmod -x script.sh',
          'printf "\\000\\377" > new.bin',
          'mkdir -p sub && echo deep > sub/deep.txt',
          'ln -s a.txt link',
          'echo "uid=$(id -u)"',
          // The credential broker on the host answers through the engine's user-mode network.
          'echo "broker=$(curl -s -o /dev/null -w "%{http_code}" -m 10 "$ANTHROPIC_BASE_URL/v1/models")"',
        ],
        project,
        home,
        env,
      )
      assert.equal(first.code, 0, explain(first))
      assert.match(first.stderr, new RegExp(`workspace: ${workspace}`))
      assert.match(first.stdout, /^uid=0$/m, "the agent is the container's root, which is the user outside")
      assert.match(first.stdout, /^broker=[1-5]\d\d$/m, 'the broker answered over HTTP')

      const resumed = await realm(['resume', name, 'echo three >> a.txt', 'echo more > sub/more.txt'], project, home, env)
      assert.equal(resumed.code, 0, explain(resumed))

      const tree = await replayed(home, name, project)
      assert.deepEqual(tree, {
        'a.txt': fileEntry('one\ntwo\nthree\n'),
        'script.sh': fileEntry('#!/bin/sh\necho hi\n'),
        'new.bin': fileEntry(Buffer.from([0, 255])),
        link: 'link:a.txt',
        'sub/deep.txt': fileEntry('deep\n'),
        'sub/more.txt': fileEntry('more\n'),
      })

      const diff = await realm(['diff', name], project, home, env)
      assert.equal(diff.code, 0, explain(diff))
      assert.match(diff.stdout, /\+three/)
      assert.match(diff.stdout, /deleted file mode 100644/)

      const pushed = await realm(['push', name], project, home, env)
      assert.equal(pushed.code, 0, explain(pushed))
      assert.deepEqual(await pushedTree(bare, name), tree, 'origin holds exactly the session')

      const applied = await realm(['apply', name], project, home, env)
      assert.equal(applied.code, 0, explain(applied))
      assert.deepEqual(await treeSnapshot(project), tree, 'the working tree holds exactly the session')
      assert.deepEqual(await foreignOrSetuid(project), [], 'the applied files are the user’s')

      assert.deepEqual(await foreignOrSetuid(home), [], "nothing under REALM_HOME is another id's")
      const removed = await realm(['remove', name, '--yes'], project, home, env)
      assert.equal(removed.code, 0, explain(removed))
      assert.deepEqual(await fs.readdir(path.join(home, 'sessions')), [], 'realm removed everything the run left')
    })
  }

  /** Waits until `file` exists (the run's own marker, seen from the host). */
  async function until(file: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await fs.stat(file).catch(() => undefined))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  test('a hostile agent: its files are the user’s, no other id’s; its setuid file is out of other users’ reach; planted links and FIFOs are not followed', async () => {
    const { project, home } = await userProject('hostile', { 'a.txt': 'a\n' })
    const secret = path.join(home, 'user-home', 'secret.txt')
    await fs.writeFile(secret, 'SECRET-OF-THE-USER\n', { mode: 0o600 })
    await fs.chown(secret, uid, gid)
    const env = { REALM_NETWORK: 'open', ...(engineInfo.PidsLimit ? {} : { REALM_PIDS_LIMIT: 'none' }) }
    const name = 'hostile'
    const run = startRealm(
      [
        'new',
        name,
        'cp /bin/sh suid && chmod 4755 suid',
        'cp /bin/sh /realm/out/suid && chmod 4755 /realm/out/suid',
        // Each would leave the user a file owned by a subordinate id, which the user cannot read or remove.
        'mkdir gift && echo x > gift/f',
        'if chown 1000:1000 gift gift/f 2>/dev/null; then echo chown=given; else echo chown=refused; fi',
        'grep CapEff /proc/self/status',
        `ln -sf ${secret} /realm/out/snapshot.patch`,
        'mkfifo /realm/out/snapshot.patch.tmp /realm/out/runs.json',
        'touch /realm/out/hostile-ready',
        'sleep 5',
      ],
      project,
      home,
      env,
    )
    const session = path.join(home, 'sessions', name)
    await until(path.join(session, 'run', 'hostile-ready'))

    const upperSuid = path.join(session, 'layers', 'upper', 'suid')
    const stat = await fs.stat(upperSuid)
    assert.equal(stat.uid, uid, "the agent's file in the upper layer is the user's")
    assert.ok(stat.mode & 0o4000, 'the agent did make it setuid')
    for (const file of [upperSuid, path.join(session, 'run', 'suid')]) {
      const other = await execa('runuser', ['-u', 'nobody', '--', file, '-c', 'id -u'], { reject: false })
      assert.notEqual(other.exitCode, 0, `another user runs ${file}: ${other.stdout}`)
      assert.match(other.stderr, /Permission denied/)
    }
    // Reading the running session goes through the planted link and FIFO neither to the secret nor into a hang.
    const during = await realm(['diff', name], project, home, env)
    assert.doesNotMatch(during.stdout + during.stderr, /SECRET-OF-THE-USER/)

    const result = await run
    assert.equal(result.exitCode, 0, String(result.stderr))
    assert.match(String(result.stdout), /^chown=refused$/m)
    const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(String(result.stdout))
    assert.ok(effective, String(result.stdout))
    for (const [cap, bit] of [
      ['CHOWN', 0n],
      ['SETGID', 6n],
      ['SETUID', 7n],
    ] as const) {
      assert.equal((BigInt(`0x${effective[1]}`) >> bit) & 1n, 0n, `the agent holds ${cap}`)
    }
    assert.deepEqual(await foreignOrSetuid(home), [], 'nothing of another id, nothing setuid under REALM_HOME')
    const applied = await realm(['apply', name], project, home, env)
    assert.equal(applied.code, 0, explain(applied))
    assert.deepEqual(await foreignOrSetuid(project), [], 'the applied files are the user’s, none setuid')
    const removed = await realm(['remove', name, '--yes'], project, home, env)
    assert.equal(removed.code, 0, explain(removed))
  })
})
