// Finding the project's secret files on a real disk (ignored directories searched, git's own skipped, symlinks
// taken as they are), the tracked ones among them, and the layer of whiteouts that hides them.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'

import { findHidden, makeHideLayer, trackedHidden, userHideMatcher } from '../../lib/run/hidden.ts'
import { useRealmHome } from '../helpers/fixture.js'
import { git, makeRepo, writeFiles } from '../helpers/repo.js'

const { fresh, home } = await useRealmHome()

async function project(): Promise<string> {
  const root = await makeRepo(fresh('project'), { '.gitignore': 'node_modules/\nbuild/\n', 'config/.env': 'tracked\n', 'a.js': 'a\n' })
  await writeFiles(root, {
    '.env': 'untracked\n',
    '.env.example': 'template\n',
    'node_modules/pkg/test/key.pem': 'ignored, deep\n',
    'build/out/.env.production': 'ignored\n',
    'private/a.txt': 'a directory hidden whole\n',
    'private/id_rsa': 'below it\n',
    'src/main.ts': 'code\n',
  })
  await fs.symlink('../elsewhere/.env', path.join(root, 'src', '.env'))
  // git's own files are the repository, not the working tree
  await writeFiles(path.join(root, '.git'), { 'secrets.json': 'not searched\n' })
  return root
}

test('every directory is searched but .git; symlinks count as files; a directory rule hides it whole', async () => {
  const root = await project()
  const matcher = await userHideMatcher({ hide: ['private/'] }, { REALM_HOME: home })
  assert.deepEqual(await findHidden(root, matcher), [
    '.env',
    'build/out/.env.production',
    'config/.env',
    'node_modules/pkg/test/key.pem',
    'private',
    'src/.env',
  ])
})

test('$REALM_HOME/hide, REALM_HIDE and REALM_SHOW are read; nothing hidden when everything is shown', async () => {
  const root = await project()
  await fs.mkdir(home, { recursive: true })
  await fs.writeFile(path.join(home, 'hide'), 'a.js\n!node_modules/**\n')
  try {
    const env = { REALM_HOME: home, REALM_HIDE: 'main.ts', REALM_SHOW: '.env' }
    assert.deepEqual(await findHidden(root, await userHideMatcher({}, env)), [
      'a.js',
      'build/out/.env.production',
      'private/id_rsa',
      'src/main.ts',
    ])
    assert.deepEqual(await findHidden(root, await userHideMatcher({ show: ['*'] }, env)), [])
  } finally {
    await fs.rm(path.join(home, 'hide'))
  }
})

test('the tracked ones: in the index or in the commit, below a hidden directory too', async () => {
  const root = await project()
  await writeFiles(root, { 'private/tracked.txt': 'x\n' })
  await git(root, 'add', '-f', 'private/tracked.txt')
  const head = await git(root, 'rev-parse', 'HEAD')
  assert.deepEqual(await trackedHidden(root, head, ['.env', 'config/.env', 'private']), ['config/.env', 'private/tracked.txt'])
  assert.deepEqual(await trackedHidden(root, head, []), [])
})

test('the hide layer: a whiteout for each, in directories that look like the project', async () => {
  const root = await project()
  await fs.chmod(path.join(root, 'config'), 0o750)
  const layer = fresh('layer')
  await makeHideLayer(layer, root, ['.env', 'config/.env', 'node_modules/pkg/test/key.pem'])
  for (const rel of ['.env', 'config/.env', 'node_modules/pkg/test/key.pem']) {
    const stat = await fs.lstat(path.join(layer, rel))
    assert.ok(stat.isCharacterDevice() && stat.rdev === 0, `${rel} is a 0/0 whiteout`)
  }
  const [shown, real] = await Promise.all([fs.stat(path.join(layer, 'config')), fs.stat(path.join(root, 'config'))])
  assert.equal(shown.mode & 0o7777, 0o750)
  assert.equal(Math.round(shown.mtimeMs), Math.round(real.mtimeMs))
  assert.deepEqual((await fs.readdir(layer)).sort(), ['.env', 'config', 'node_modules'])
})
