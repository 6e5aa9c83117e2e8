import assert from 'node:assert/strict'
import { test } from 'node:test'

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
