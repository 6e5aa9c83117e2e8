import assert from 'node:assert/strict'
import { test } from 'node:test'

import { DEFAULT_CAPS, DEFAULT_PIDS_LIMIT, readLimits } from '../../lib/container/limits.ts'
import { csvField, overlayPathProblem, planDockerRun, type RunPlanInput } from '../../lib/container/plan.ts'

function input(over: Partial<RunPlanInput> = {}): RunPlanInput {
  return {
    image: 'img:1',
    containerName: 'realm-s1-abc',
    tty: false,
    user: { uid: 1000, gid: 1000 },
    projectRoot: '/home/u/proj',
    sessionDir: '/home/u/.realm/sessions/s1',
    runDir: '/home/u/.realm/sessions/s1/run',
    realmLib: '/opt/realm/docker',
    workspace: { kind: 'copy' },
    env: { REALM_MODE: 'new' },
    passEnv: ['ANTHROPIC_API_KEY'],
    mounts: [],
    limits: readLimits({}, {}),
    extraArgs: ['--memory', '4g'],
    command: ['claude', '--dangerously-skip-permissions', '-p', 'hi'],
    ...over,
  }
}

test("a throwaway container, realm's entrypoint, the project read-only, the image and command last", () => {
  const args = planDockerRun(input())
  assert.deepEqual(args.slice(0, 3), ['run', '--rm', '-i'])
  assert.ok(!args.includes('-t'), 'no -t without a terminal')
  assert.deepEqual(args.slice(args.indexOf('--user'), args.indexOf('--user') + 2), ['--user', '1000:1000'])
  assert.ok(args.includes('type=bind,src=/home/u/proj,dst=/realm/project,readonly'))
  assert.ok(args.includes('type=bind,src=/home/u/.realm/sessions/s1/run,dst=/realm/out'))
  assert.deepEqual(args.slice(-6), ['img:1', '/realm/lib/entrypoint.sh', 'claude', '--dangerously-skip-permissions', '-p', 'hi'])
  // extra docker args come before the image, so they are docker's, not the agent's
  assert.ok(args.indexOf('--memory') < args.indexOf('img:1'))
})

test('-t only with a terminal', () => {
  assert.ok(planDockerRun(input({ tty: true })).includes('-t'))
})

test('secrets are passed by name only', () => {
  const args = planDockerRun(input())
  assert.ok(args.includes('ANTHROPIC_API_KEY'))
  assert.ok(!args.some((a) => a.startsWith('ANTHROPIC_API_KEY=')))
})

test('the only writable host mounts are the run directory and what the caller adds', () => {
  const args = planDockerRun(input({ mounts: [{ source: '/h/.claude', target: '/realm/home/.claude', readonly: false }] }))
  const writable = args.filter((a, i) => args[i - 1] === '--mount' && a.includes('type=bind') && !a.endsWith(',readonly'))
  assert.deepEqual(writable, [
    'type=bind,src=/home/u/.realm/sessions/s1/run,dst=/realm/out',
    'type=bind,src=/h/.claude,dst=/realm/home/.claude',
  ])
})

test('an overlay workspace is an anonymous volume, removed with the container', () => {
  const args = planDockerRun(input({ workspace: { kind: 'overlay', upper: '/r/upper', work: '/r/work' } }))
  const volume = args.find((a) => a.startsWith('type=volume'))
  assert.equal(
    volume,
    'type=volume,dst=/workspace,volume-driver=local,volume-nocopy=true,volume-opt=type=overlay,volume-opt=device=overlay,"volume-opt=o=lowerdir=/home/u/proj,upperdir=/r/upper,workdir=/r/work"',
  )
  assert.ok(!args.includes('--tmpfs') || !args.includes('/workspace:rw,exec,mode=1777'))
})

test("paths with commas are quoted for docker's CSV; overlays refuse , and :", () => {
  assert.equal(csvField('src=/a,b'), '"src=/a,b"')
  assert.equal(csvField('src=/a"b'), '"src=/a""b"')
  assert.equal(csvField('src=/plain'), 'src=/plain')
  assert.ok(overlayPathProblem('/a,b'))
  assert.ok(overlayPathProblem('/a:b'))
  assert.equal(overlayPathProblem('/a b/ü'), undefined)
})

test('with files to hide, the workspace and the project are both seen through the layer that removes them', () => {
  const hideLayer = '/r/hide'
  for (const workspace of [{ kind: 'overlay', upper: '/r/upper', work: '/r/work' } as const, { kind: 'copy' } as const]) {
    const args = planDockerRun(input({ workspace, hideLayer }))
    const volumes = args.filter((a, i) => args[i - 1] === '--mount' && a.startsWith('type=volume'))
    assert.ok(
      volumes.includes(
        'type=volume,dst=/realm/project,volume-driver=local,volume-nocopy=true,volume-opt=type=overlay,volume-opt=device=overlay,volume-opt=o=lowerdir=/r/hide:/home/u/proj',
      ),
      'the project: two lower layers and no upper one, which the kernel mounts read-only',
    )
    assert.ok(!args.some((a) => a.includes('dst=/realm/project') && a.startsWith('type=bind')), 'no plain view of the project')
    if (workspace.kind === 'overlay')
      assert.ok(volumes.some((v) => v.includes('"volume-opt=o=lowerdir=/r/hide:/home/u/proj,upperdir=/r/upper')))
  }
})

/** The values of every `flag` in `args`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((word, i) => (args[i - 1] === flag ? [word] : []))
}

test('least privilege by default: no new privileges, every capability dropped but the kept few, a pids limit', () => {
  const args = planDockerRun(input())
  assert.deepEqual(values(args, '--security-opt'), ['no-new-privileges'])
  assert.deepEqual(values(args, '--cap-drop'), ['ALL'])
  assert.deepEqual(values(args, '--cap-add'), [...DEFAULT_CAPS])
  assert.deepEqual(values(args, '--pids-limit'), [String(DEFAULT_PIDS_LIMIT)])
  // realm's flags come before the user's docker args, so a flag of theirs that docker lets override wins
  assert.ok(args.indexOf('--pids-limit') < args.indexOf('--memory'))
})

test("each of realm's tmpfs mounts has a size cap", () => {
  const tmpfs = values(planDockerRun(input()), '--tmpfs')
  assert.deepEqual(tmpfs, [
    '/workspace:rw,exec,mode=1777,size=25%',
    '/realm/home:rw,exec,mode=1777,size=25%',
    '/realm/git:rw,mode=1777,size=25%',
  ])
  const overlay = values(planDockerRun(input({ workspace: { kind: 'overlay', upper: '/r/upper', work: '/r/work' } })), '--tmpfs')
  assert.deepEqual(overlay, ['/realm/home:rw,exec,mode=1777,size=25%', '/realm/git:rw,mode=1777,size=25%'])
})

test('each default can be changed: flags first, then variables', () => {
  const limits = readLimits({ caps: 'cap_chown,net_bind_service', pidsLimit: 100, tmpfsSize: '2G' }, { REALM_PIDS_LIMIT: '7' })
  const args = planDockerRun(input({ limits }))
  assert.deepEqual(values(args, '--cap-add'), ['CHOWN', 'NET_BIND_SERVICE'])
  assert.deepEqual(values(args, '--pids-limit'), ['100'])
  assert.ok(values(args, '--tmpfs').every((t) => t.endsWith(',size=2g')))
  const off = readLimits({}, { REALM_CAPS: 'none', REALM_PIDS_LIMIT: 'none', REALM_TMPFS_SIZE: 'none', REALM_NEW_PRIVILEGES: '1' })
  const bare = planDockerRun(input({ limits: off }))
  assert.deepEqual(values(bare, '--cap-add'), [])
  assert.deepEqual(values(bare, '--cap-drop'), ['ALL'])
  assert.ok(!bare.includes('--pids-limit') && !bare.includes('--security-opt'))
  assert.ok(values(bare, '--tmpfs').every((t) => !t.includes('size=')))
  assert.deepEqual(values(planDockerRun(input({ limits: readLimits({ newPrivileges: true }, {}) })), '--security-opt'), [])
})

test('a value realm cannot use is one line naming its source and an example', () => {
  assert.throws(() => readLimits({ caps: 'CHOWN,FLY' }, {}), /^UserError: --caps: 'FLY' is not a capability — .*CHOWN/)
  assert.throws(() => readLimits({}, { REALM_CAPS: ',' }), /REALM_CAPS: ',' is not a capability/)
  assert.throws(() => readLimits({ pidsLimit: '-1' }, {}), /--pids-limit: '-1' is not a number .* 'none'/)
  assert.throws(() => readLimits({}, { REALM_PIDS_LIMIT: '0' }), /REALM_PIDS_LIMIT: '0'/)
  assert.throws(() => readLimits({ tmpfsSize: '3 GB' }, {}), /--tmpfs-size: '3 GB' is not a size/)
  assert.throws(() => readLimits({}, { REALM_TMPFS_SIZE: '150%' }), /REALM_TMPFS_SIZE/)
  assert.deepEqual(readLimits({ tmpfsSize: '512m' }, {}).tmpfsSize, '512m')
})
