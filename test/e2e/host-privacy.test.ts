// Nothing the container writes is usable by anyone else on the host. A hostile agent (the stand-in, in a real
// Debian image with setcap and perl) plants, in every mount it can write that lies on the host's disk (the
// overlay's upper layer, the output directory, the conversation history): a setuid and a setgid copy of a shell,
// a device node (mknod), a file capability (setcap), a FIFO and a socket, and opens each mount up with chmod 777.
// A second uid on the host then tries to reach and run them, while the agent sleeps and again after `kill -9` of
// realm; the next command that writes recovers the run, after which nothing of the kind is left under $REALM_HOME. Run for
// realm as root and as a user whose home is 0755 (as many distributions make homes).
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { docker, dockerSkip, sessionContainer, waitInContainer } from '../helpers/docker.js'
import { asUid, dockerSocketGroup, ensureHostileImage, HOSTILE_IMAGE, type Uid, walk } from '../helpers/hostile.js'
import { explain, REALM_BIN, type RealmResult, realmEnv, tempDir } from '../helpers/realm.js'
import { makeRepo } from '../helpers/repo.js'

const skip = (await dockerSkip()) || (process.getuid?.() !== 0 && 'SKIPPED: the privilege tests need root (setpriv to other uids)')
if (!skip) await ensureHostileImage()

/** The other local user: no account, no groups. */
const PROBER: Uid = { uid: 12345 }
/** The user who runs realm in the non-root case: no account either, only the Docker socket's group. */
const USER_UID = 12346

/** Each writable mount: where the agent sees it, and where it lies under the session directory on the host. */
const MOUNTS = [
  { inside: '/workspace', host: path.join('layers', 'upper') },
  { inside: '/realm/out', host: 'run' },
  { inside: '/realm/claude-history', host: 'claude-history' },
]

/** The agent's attack on one writable directory; what succeeds that must not is noted in /tmp/succeeded. */
function plant(dir: string): string[] {
  return [
    `cp /bin/sh ${dir}/rootsh && chmod 4755 ${dir}/rootsh`,
    `cp /bin/sh ${dir}/groupsh && chmod 2755 ${dir}/groupsh`,
    `if mknod ${dir}/mem c 1 1 2>/dev/null; then echo "mknod ${dir}" >> /tmp/succeeded; fi`,
    `if setcap cap_setuid+ep ${dir}/rootsh 2>/dev/null; then echo "setcap ${dir}" >> /tmp/succeeded; fi`,
    `mkfifo ${dir}/fifo`,
    `perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => shift, Listen => 1) or die' ${dir}/sock`,
    `chmod 0777 ${dir}`,
  ]
}

const SCRIPT = [
  'echo work > work.txt',
  'touch /tmp/succeeded',
  ...MOUNTS.flatMap((m) => plant(m.inside)),
  'touch /tmp/planted',
  'sleep 300',
]

/** What a second uid can do with what the agent planted: each attempt it made that worked. */
async function probe(sessionDir: string): Promise<string[]> {
  const worked: string[] = []
  for (const mount of MOUNTS) {
    const dir = path.join(sessionDir, mount.host)
    for (const shell of ['rootsh', 'groupsh']) {
      const run = await asUid(PROBER, [path.join(dir, shell), '-p', '-c', 'echo "ran as euid $(id -u) egid $(id -g)"'])
      if (run.exitCode === 0 || String(run.stdout).includes('ran as')) worked.push(`ran ${mount.host}/${shell}: ${run.stdout}`)
    }
    for (const name of ['mem', 'fifo', 'sock', 'rootsh']) {
      if ((await asUid(PROBER, ['test', '-e', path.join(dir, name)])).exitCode === 0) worked.push(`reached ${mount.host}/${name}`)
    }
    if ((await asUid(PROBER, ['ls', dir])).exitCode === 0) worked.push(`listed ${mount.host}`)
  }
  return worked
}

/** The directories above the writable mounts, which the container cannot reach: these keep other uids out. */
function privateChain(realmHome: string, session: string): string[] {
  const dir = path.join(realmHome, 'sessions', session)
  return [realmHome, path.join(realmHome, 'sessions'), dir, path.join(dir, 'layers')]
}

for (const as of ['root', 'user'] as const) {
  describe(`realm as ${as}: what the agent plants is out of another uid's reach, and gone after the run`, { skip }, () => {
    let tmp: { path: string; cleanup: () => Promise<void> }
    let userHome: string
    let project: string
    let realmHome: string
    const user: Uid | undefined = as === 'user' ? { uid: USER_UID, groups: [dockerSocketGroup()] } : undefined

    before(async () => {
      tmp = await tempDir()
      // Everything above $REALM_HOME is open to other uids, as a 0755 home is: only realm's own modes protect it.
      await fs.chmod(tmp.path, 0o755)
      userHome = path.join(tmp.path, 'home')
      await fs.mkdir(userHome, { mode: 0o755 })
      project = await makeRepo(path.join(userHome, 'project'), { 'a.txt': 'a\n' })
      if (user) await execa('chown', ['-R', `${user.uid}:${user.uid}`, userHome])
      await fs.chmod(userHome, 0o755)
      realmHome = path.join(userHome, '.realm')
    })
    after(async () => {
      for (const line of (await docker('ps', '-aq', '--filter', 'name=^realm-privacy-')).split('\n').filter(Boolean)) {
        await docker('rm', '-f', line).catch(() => undefined)
      }
      await tmp.cleanup()
    })

    function env(): Record<string, string | undefined> {
      return realmEnv(realmHome, { HOME: userHome, REALM_IMAGE: HOSTILE_IMAGE, REALM_NETWORK: process.env.REALM_NETWORK ?? 'open' })
    }

    /** bin/realm as the case's user, in the project. */
    function start(args: string[]) {
      const argv = [process.execPath, REALM_BIN, ...args]
      const options = { cwd: project, env: env(), extendEnv: true, reject: false, timeout: 180_000 } as const
      return user ? asUid(user, argv, options) : execa(argv[0], argv.slice(1), options)
    }

    async function realmAs(args: string[]): Promise<RealmResult> {
      const result = await start(args)
      return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
    }

    test('during the run, after kill -9 of realm, and after the next command recovers the run', async () => {
      const name = 'privacy'
      const child = start(['new', name, ...SCRIPT])
      const container = await sessionContainer(name, 90_000)
      await waitInContainer(container, '/tmp/planted', 60_000)
      const sessionDir = path.join(realmHome, 'sessions', name)

      // The attack got this far: the setuid shells lie on the host's disk, in each mount, and each mount is 0777.
      for (const mount of MOUNTS) {
        const rootsh = await fs.lstat(path.join(sessionDir, mount.host, 'rootsh'))
        assert.equal(rootsh.mode & 0o4000, 0o4000, `a setuid shell in ${mount.host}`)
        assert.equal((await fs.lstat(path.join(sessionDir, mount.host))).mode & 0o777, 0o777, `${mount.host} opened up`)
      }
      // mknod and setcap fail inside: CAP_MKNOD and CAP_SETFCAP are dropped.
      assert.equal((await docker('exec', container, 'cat', '/tmp/succeeded')).trim(), '')
      for (const dir of privateChain(realmHome, name)) assert.equal((await fs.stat(dir)).mode & 0o777, 0o700, dir)
      assert.deepEqual(await probe(sessionDir), [], 'during the run')

      child.kill('SIGKILL')
      // (docker's client, realm's child, stays attached to the container until the recovery below stops it)
      await new Promise((resolve) => setTimeout(resolve, 500))
      assert.equal((await docker('inspect', '-f', '{{.State.Running}}', container)).trim(), 'true', 'the agent outlives realm')
      assert.deepEqual(await probe(sessionDir), [], 'after kill -9 of realm')

      // A reader writes nothing (the run is still the container's); a writer recovers the run first.
      const check = await realmAs(['apply', '--check', name])
      await child.catch(() => undefined)
      assert.equal(check.code, 0, explain(check))
      assert.match(check.stderr, /recovered the interrupted run/, explain(check))
      const diff = await realmAs(['diff', name, '--color', 'never'])
      assert.match(diff.stdout, /\+\+\+ b\/work\.txt/, explain(diff))

      const entries = await walk(realmHome)
      const special = entries.filter((e) => !['dir', 'file', 'link'].includes(e.kind) || (e.mode & 0o6000) !== 0)
      assert.deepEqual(special, [], 'no setuid, setgid, device, FIFO or socket under $REALM_HOME')
      const open = entries.filter((e) => e.kind !== 'link' && (e.mode & 0o077) !== 0)
      assert.deepEqual(open, [], "realm's state is 0700/0600")
      assert.deepEqual(await probe(sessionDir), [], 'after the recovery')
    })

    test('after a run that ends by itself, nothing of it is left either', async () => {
      const result = await realmAs(['resume', 'privacy', ...SCRIPT.filter((line) => !line.startsWith('sleep')), 'echo more > more.txt'])
      assert.equal(result.code, 0, explain(result))
      const entries = await walk(realmHome)
      assert.deepEqual(
        entries.filter(
          (e) => !['dir', 'file', 'link'].includes(e.kind) || (e.mode & 0o6000) !== 0 || (e.kind !== 'link' && (e.mode & 0o077) !== 0),
        ),
        [],
      )
    })
  })
}
