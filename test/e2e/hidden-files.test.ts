// Secret files stay on the host: an agent that searches everything it can read (the workspace, realm's mounts,
// its HOME) by content and by name finds none of the project's secret files, tracked, untracked or ignored, at
// the root or below it, in either workspace and on resume; --show brings one back; a file the agent creates at
// a hidden path is in the patch; and apply and push never delete or change the user's hidden files.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { before, describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { addOrigin, fileEntry, git, pushedTree, writeFiles } from '../helpers/repo.js'
import { explain, realm } from '../helpers/realm.js'
import { sessionFile } from '../helpers/session.js'

const skip = await dockerSkip()

const SENTINEL = 'REALM-SENTINEL'

/** Each kind of secret file, with a sentinel of its own in it. */
const TRACKED = { 'server.pem': `${SENTINEL}-tracked-root\n`, 'config/.env': `${SENTINEL}-tracked-sub\n` }
const UNTRACKED = { '.env': `${SENTINEL}-untracked-root\n`, 'keys/id_ed25519': `${SENTINEL}-untracked-sub\n` }
const IGNORED = { '.env.local': `${SENTINEL}-ignored-root\n`, 'secrets/prod.key': `${SENTINEL}-ignored-sub\n` }
const NAMES = ['server.pem', '.env', 'id_ed25519', '.env.local', 'prod.key']

/**
 * The searching agent: grep for the sentinel and find by name through everything it can read, print what it
 * found and fail if anything; the template next to the secrets must still be there.
 */
const SEARCH = [
  `{ grep -rla ${SENTINEL} /workspace /realm "$HOME"; find /workspace /realm "$HOME" \\( ${NAMES.map((n) => `-name ${n}`).join(' -o ')} \\) -print; } >/tmp/found 2>/dev/null || :`,
  'if [ -s /tmp/found ]; then echo "FOUND:"; cat /tmp/found; exit 3; fi',
  'test -f .env.example',
  // the agent's own git does not show the tracked ones as deleted
  'if git status --porcelain | grep -q "^ D"; then git status --porcelain; exit 4; fi',
]

describe('secret files stay on the host', { skip }, () => {
  let tmp: string
  let project: string
  let home: string
  useProject(
    { 'app.js': 'app\n', '.gitignore': '.env.local\nsecrets/\n', '.env.example': 'KEY=\n', ...TRACKED },
    (f) => ({ tmp, project, home } = f),
  )
  before(async () => writeFiles(project, { ...UNTRACKED, ...IGNORED, 'notes.md': 'not a secret\n' }))

  const hostFiles = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.keys({ ...TRACKED, ...UNTRACKED, ...IGNORED }).map(async (p) => [p, await fs.readFile(path.join(project, p), 'utf8')]),
      ),
    )

  for (const strategy of ['overlay', 'copy']) {
    test(`${strategy}: the agent finds no secret file by content or name, on new and on resume`, async () => {
      const env = { REALM_WORKSPACE: strategy }
      const name = `search-${strategy}`
      const first = await realm(['new', name, '--include-ignored', ...SEARCH], { cwd: project, home, env })
      assert.equal(first.code, 0, explain(first))
      assert.match(
        first.stderr,
        /realm: hid 6 secret files from the agent \(\.env, \.env\.local, config\/\.env, …\) — show with --show PATTERN/,
      )
      assert.match(first.stderr, /This run: no changes/, 'the absence of the hidden files is no change')
      assert.doesNotMatch(first.stderr, /left out/, 'nor an edit made on the host during the run')
      const baseline = await fs.readFile(sessionFile(home, name, 'baseline.patch'), 'utf8')
      assert.doesNotMatch(baseline, new RegExp(SENTINEL), 'the baseline carries no hidden file')
      assert.match(baseline, /^\+\+\+ b\/notes\.md$/m, 'untracked files that are not secrets are in it')
      const again = await realm(['resume', name, '--include-ignored', ...SEARCH], { cwd: project, home, env })
      assert.equal(again.code, 0, explain(again))
      assert.match(again.stderr, /realm: hid 6 secret files/)
    })
  }

  test('--show, REALM_SHOW and $REALM_HOME/hide make the list the user own', async () => {
    await writeFiles(project, { 'notes.txt': `${SENTINEL}-notes\n` })
    await fs.mkdir(home, { recursive: true })
    await fs.writeFile(path.join(home, 'hide'), '# my own\nnotes.txt\n!keys/id_ed25519\n')
    try {
      const result = await realm(
        [
          'new',
          'shown',
          '--show',
          '/.env', // the one at the root: `.env` would match at any depth
          'grep -q untracked-root .env',
          'grep -q untracked-sub keys/id_ed25519',
          'grep -q tracked-root server.pem',
          'test ! -e notes.txt',
          'test ! -e config/.env',
        ],
        { cwd: project, home, env: { REALM_SHOW: '*.pem' } },
      )
      assert.equal(result.code, 0, explain(result))
      assert.match(result.stderr, /realm: hid 4 secret files from the agent \(\.env\.local, config\/\.env, notes\.txt, …\)/)
    } finally {
      await fs.rm(path.join(home, 'hide'))
      await fs.rm(path.join(project, 'notes.txt'))
    }
  })

  test('a file the agent creates at a hidden path is in the patch; apply never overwrites the hidden one', async () => {
    const before = await hostFiles()
    const result = await realm(['new', 'creates', 'echo agent-env > .env', 'echo agent-config > config/.env'], {
      cwd: project,
      home,
    })
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stderr, /^ {2}A \.env {2}\+1$/m, explain(result))
    assert.match(result.stderr, /^ {2}M config\/\.env {2}\+1 -1$/m, explain(result))
    const apply = await realm(['apply', 'creates'], { cwd: project, home })
    assert.notEqual(apply.code, 0, 'the user has a .env of their own: apply stops')
    assert.match(apply.stderr, /\.env/)
    assert.deepEqual(await hostFiles(), before, 'the hidden files are as they were')
  })

  test('apply and push leave the hidden files as they are (copy: the checkout lacked them)', async () => {
    const bare = path.join(tmp, 'origin.git')
    await addOrigin(project, bare)
    const before = await hostFiles()
    const result = await realm(['new', 'edits', 'echo more >> app.js', 'rm -rf config keys'], {
      cwd: project,
      home,
      env: { REALM_WORKSPACE: 'copy' },
    })
    assert.equal(result.code, 0, explain(result))
    const patch = await fs.readFile(sessionFile(home, 'edits', 'changes.patch'), 'utf8')
    assert.deepEqual(
      [...patch.matchAll(/^diff --git a\/(\S+)/gm)].map((m) => m[1]),
      ['app.js'],
      'the only change is the agent’s: no hidden file is deleted',
    )
    const apply = await realm(['apply', 'edits'], { cwd: project, home })
    assert.equal(apply.code, 0, explain(apply))
    assert.deepEqual(await hostFiles(), before)
    assert.equal(await fs.readFile(path.join(project, 'app.js'), 'utf8'), 'app\nmore\n')
    const push = await realm(['push', 'edits'], { cwd: project, home })
    assert.equal(push.code, 0, explain(push))
    const pushed = await pushedTree(bare, 'edits')
    assert.equal(pushed['config/.env'], fileEntry(TRACKED['config/.env']), 'the committed secret stays in the pushed commit')
    assert.equal(pushed['server.pem'], fileEntry(TRACKED['server.pem']))
    assert.equal(pushed['.env'], undefined, 'no untracked secret is pushed')
    await git(project, 'checkout', '-q', '--', 'app.js')
  })
})
