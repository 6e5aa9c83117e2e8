// Any install path: realm copied to a directory whose path has spaces and non-ASCII letters (as under
// "/Users/Jane Doe/…" on macOS), with $REALM_HOME and the project under such paths too, runs a whole session.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { dockerSkip } from '../helpers/docker.js'
import { makeRepo } from '../helpers/repo.js'
import { explain, REALM_BIN, realmEnv, type RealmResult, tempDir } from '../helpers/realm.js'

const skip = await dockerSkip()

const CHECKOUT = path.resolve(path.dirname(REALM_BIN), '..')

describe('install path with spaces and non-ASCII letters', { skip }, () => {
  let tmp: { path: string; cleanup: () => Promise<void> }
  let bin: string
  let home: string
  let project: string

  before(async () => {
    tmp = await tempDir()
    const install = path.join(tmp.path, 'realm test ü', 'réalm 1')
    // What an install holds (package.json "files"): the bundle carries its dependencies, and finds docker/ and
    // package.json relative to itself — so no node_modules, which also proves nothing reaches back to the checkout.
    for (const part of ['bin', 'dist', 'docker', 'package.json']) {
      await fs.cp(path.join(CHECKOUT, part), path.join(install, part), { recursive: true, verbatimSymlinks: true })
    }
    bin = path.join(install, 'bin', 'realm')
    home = path.join(tmp.path, 'home dir ü')
    project = await makeRepo(path.join(tmp.path, 'my prøject'), { 'a.txt': 'a\n' })
  })
  after(async () => tmp.cleanup())

  async function run(args: string[]): Promise<RealmResult> {
    const result = await execa(bin, args, { cwd: project, env: realmEnv(home), extendEnv: true, reject: false, timeout: 120_000 })
    return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
  }

  test('new, list, diff, resume and apply --check run from there', async () => {
    await fs.mkdir(String(realmEnv(home).HOME), { recursive: true })
    const created = await run(['new', 'i13-spaces', 'echo from the agent > "file ü.txt"'])
    assert.equal(created.code, 0, explain(created))
    assert.match(await fs.readFile(path.join(home, 'sessions', 'i13-spaces', 'changes.patch'), 'utf8'), /\+from the agent/)

    const list = await run(['list'])
    assert.ok(list.stdout.includes(project), explain(list))
    const diff = await run(['diff', '--stat', 'i13-spaces'])
    assert.match(diff.stdout, /A file ü\.txt/, explain(diff))
    const resumed = await run(['resume', 'i13-spaces', 'test -f "file ü.txt"'])
    assert.equal(resumed.code, 0, explain(resumed))
    const check = await run(['apply', '--check', 'i13-spaces'])
    assert.equal(check.code, 0, explain(check))
    const version = await run(['--version'])
    assert.match(version.stdout, /\d+\.\d+\.\d+/, 'package.json found beside the install')
  })
})
