// The container's least privilege, from inside: no new privileges, a pids limit a fork loop runs into, size caps
// on realm's tmpfs mounts, and each capability realm keeps proven by real work that fails without it (apt-get as
// root, chown, writing and chmod-ing a project file another user owns). realm runs as root here, the one case in
// which the agent holds capabilities at all.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'

import { execa } from 'execa'

import { DEFAULT_CAPS, DEFAULT_PIDS_LIMIT } from '../../lib/container/limits.ts'
import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { ensureHostileImage, HOSTILE_IMAGE } from '../helpers/hostile.js'
import { explain, realm, type RealmResult } from '../helpers/realm.js'

const skip = (await dockerSkip()) || (process.getuid?.() !== 0 && 'SKIPPED: these tests run realm as root')
if (!skip) await ensureHostileImage()

/** The uid that owns some of the project's files, as when realm runs as root on another user's checkout. */
const OTHER = 12345

describe("the container's privileges and limits", { skip }, () => {
  let project: string
  let home: string
  useProject({ 'owned.txt': 'owned\n', 'owned.sh': 'echo hi\n', 'mine.txt': 'mine\n' }, (f) => ({ project, home } = f))
  let count = 0

  async function run(args: string[], script: string[], network = 'open'): Promise<RealmResult> {
    // The files another user owns; the repository itself stays root's, as git wants it.
    await execa('chown', [`${OTHER}:${OTHER}`, path.join(project, 'owned.txt'), path.join(project, 'owned.sh')])
    return realm(['new', `limits-${++count}`, ...args, '--', ...script], {
      cwd: project,
      home,
      env: { REALM_IMAGE: HOSTILE_IMAGE, REALM_NETWORK: network },
      timeout: 300_000,
    })
  }

  /** The default set without `cap`, for --caps. */
  const without = (cap: string) => DEFAULT_CAPS.filter((c) => c !== cap).join(',')

  test('no new privileges, and the default pids limit and tmpfs caps, are in force', async () => {
    const result = await run(
      [],
      [
        'grep NoNewPrivs /proc/self/status',
        'echo "pids.max $(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)"',
        'echo "home $(df -k --output=size "$HOME" | tail -1) git $(df -k --output=size /realm/git | tail -1)"',
      ],
    )
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stdout, /NoNewPrivs:\s+1/)
    assert.match(result.stdout, new RegExp(`pids.max ${DEFAULT_PIDS_LIMIT}\\b`))
    const memKb = Number(/MemTotal:\s+(\d+)/.exec(await fs.readFile('/proc/meminfo', 'utf8'))?.[1])
    const sizes = /home\s+(\d+) git\s+(\d+)/.exec(result.stdout)
    assert.ok(sizes, explain(result))
    for (const size of sizes.slice(1).map(Number))
      assert.ok(Math.abs(size - memKb / 4) < memKb / 100, `${size} kB is a quarter of ${memKb} kB`)
  })

  test('a fork loop stops at the pids limit, and realm, with no capability at all, still saves the work', async () => {
    const fork = [
      "perl -e 'my @kids; for (1..500) { my $p = fork(); last unless defined $p;",
      'if ($p == 0) { sleep 60; exit 0 } push @kids, $p } print "forked ", scalar(@kids), "\\n"; kill "KILL", @kids; waitpid($_, 0) for @kids\'',
    ].join(' ')
    const result = await run(['--pids-limit', '64', '--caps', 'none'], [fork, 'echo done > done.txt'])
    assert.equal(result.code, 0, explain(result))
    const forked = Number(/forked (\d+)/.exec(result.stdout)?.[1])
    assert.ok(forked > 0 && forked < 64, `forked ${forked}\n${explain(result)}`)
    assert.match(result.stderr + result.stdout, /A done\.txt/, explain(result))
  })

  test("each of realm's tmpfs mounts stops at its size cap", async () => {
    const fill = (dir: string) =>
      `if dd if=/dev/zero of=${dir}/fill bs=1M count=16 2>/dev/null; then echo "filled ${dir}"; else echo "capped ${dir}"; fi; rm -f ${dir}/fill`
    const result = await run(['--tmpfs-size', '8m', '--workspace', 'copy'], [fill('"$HOME"'), fill('/realm/git'), fill('/workspace')])
    assert.equal(result.code, 0, explain(result))
    assert.deepEqual(result.stdout.trim().split('\n'), ['capped /realm/home', 'capped /realm/git', 'capped /workspace'], explain(result))
  })

  test('under allowlist, a docker flag that weakens a default, or a --caps that could change the rules, is one line and no run', async () => {
    for (const args of [
      ['--docker-args=--security-opt=seccomp=unconfined'],
      ['--docker-args=--cap-add=SYS_PTRACE'],
      ['--caps', 'CHOWN,NET_ADMIN'],
    ]) {
      const result = await run(args, ['touch ran'], 'allowlist')
      assert.notEqual(result.code, 0, explain(result))
      assert.equal(result.stderr.trim().split('\n').length, 1, explain(result))
      assert.match(result.stderr, /^realm: (--docker-args|--caps): .*--network open\n$/, explain(result))
      await assert.rejects(fs.access(path.join(home, 'sessions', `limits-${count}`)), 'no session was made')
    }
  })

  // Work that needs each kept capability, and fails without it.
  const PROJECT_WORK = {
    DAC_OVERRIDE: 'echo more >> owned.txt',
    FOWNER: 'chmod +x owned.sh',
    CHOWN: `chown ${OTHER}:${OTHER} mine.txt`,
  }

  test("root's ordinary work on another user's files: write, chmod, chown", async () => {
    const result = await run([], Object.values(PROJECT_WORK))
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stderr + result.stdout, /M owned\.txt/, explain(result))
  })

  for (const [cap, line] of Object.entries(PROJECT_WORK)) {
    test(`without ${cap}: '${line}' fails`, async () => {
      const result = await run(['--caps', without(cap)], [line])
      assert.notEqual(result.code, 0, explain(result))
      assert.match(result.stderr + result.stdout, /Operation not permitted|Permission denied/, explain(result))
    })
  }

  const APT = 'apt-get update -qq && apt-get install -y -qq --no-install-recommends hello >/dev/null && hello'

  test('apt-get installs a package as root, with no error or warning', async () => {
    const result = await run([], [`${APT} 2>&1`])
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stdout, /Hello, world!/)
    assert.doesNotMatch(result.stdout, /^(E|W):/m, explain(result))
  })

  for (const cap of ['SETUID', 'SETGID', 'DAC_OVERRIDE']) {
    test(`without ${cap}: apt-get fails`, async () => {
      const result = await run(['--caps', without(cap)], [APT])
      assert.notEqual(result.code, 0, explain(result))
    })
  }
})
