// The processes realm starts on its way to `docker run` (common/spawn.ts): exit codes, output, a program that is
// not installed; and the user's git settings read through it from a real repository.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

import { runProgram } from '../../lib/common/spawn.ts'
import { readGitSettings } from '../../lib/git/settings.ts'

test('runProgram: the exit code and both outputs whole, with realm environment extended', async () => {
  const result = await runProgram('sh', ['-c', 'printf "out\\n\\0two"; printf "$EXTRA" >&2; exit 3'], { env: { EXTRA: 'err' } })
  assert.equal(result.exitCode, 3)
  assert.equal(result.stdout, 'out\n\0two')
  assert.equal(result.stderr, 'err')
  assert.equal(result.error, undefined)
})

test('runProgram: a program that is not installed is ENOENT, never a rejection', async () => {
  const result = await runProgram('realm-no-such-program', ['x'])
  assert.equal(result.exitCode, undefined)
  assert.equal(result.error?.code, 'ENOENT')
})

test('runProgram: a program ended by a signal has no exit code', async () => {
  const result = await runProgram('sh', ['-c', 'kill -TERM $$'])
  assert.equal(result.exitCode, undefined)
  assert.equal(result.signal, 'SIGTERM')
})

test("readGitSettings: the repository's identity and the global excludes file, read with the user's git", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-settings-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const home = path.join(dir, 'home')
  const repo = path.join(dir, 'repo')
  fs.mkdirSync(home)
  fs.writeFileSync(path.join(home, 'ignore-these'), '*.log\n')
  const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(home, '.gitconfig') }
  execFileSync('git', ['init', '-q', repo], { env })
  execFileSync('git', ['config', '--global', 'core.excludesFile', '~/ignore-these'], { env })
  execFileSync('git', ['config', 'user.name', 'Ada Lovelace'], { cwd: repo, env })
  execFileSync('git', ['config', 'user.email', 'ada@example.com'], { cwd: repo, env })
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    const settings = await readGitSettings(repo, home, env)
    assert.deepEqual(settings.identity, { name: 'Ada Lovelace', email: 'ada@example.com' })
    assert.equal(settings.excludes, '*.log\n')
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
    Object.assign(process.env, saved)
  }
})
