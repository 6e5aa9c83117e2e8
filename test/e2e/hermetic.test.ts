// Hostile git configuration everywhere — the repository, the user's HOME, the image — must not change what
// realm's patches say, nor run anything on the host.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { dockerSkip } from '../helpers/docker.js'
import { makeRepo, repoState, writeFiles } from '../helpers/repo.js'
import { replaySession } from '../helpers/session.js'
import { explain, realm, TEST_IMAGE, tempDir } from '../helpers/realm.js'

const skip = await dockerSkip()
const HOSTILE_IMAGE = 'realm-test-hostile:latest'

const HOSTILE_CONFIG = `[diff]
\texternal = /bin/echo EXTERNAL-DIFF
\tnoprefix = true
\tmnemonicPrefix = true
\trenames = false
[color]
\tui = always
\tdiff = always
[core]
\tautocrlf = true
\tquotePath = true
[commit]
\tgpgSign = true
[apply]
\twhitespace = error
[diff "hostile"]
\ttextconv = sed s/^/TEXTCONV/
[filter "hostile"]
\tclean = sed s/a/CLEAN/
\tsmudge = sed s/a/SMUDGE/
\trequired = true
`

for (const workspace of ['overlay', 'copy'] as const) {
  describe(`hermetic patches (${workspace})`, { skip }, () => {
    let tmp: { path: string; cleanup: () => Promise<void> }
    let project: string
    let home: string
    let env: Record<string, string>
    let stateBefore: Record<string, unknown>
    before(async () => {
      tmp = await tempDir()
      // The image carries the hostile settings system-wide.
      const context = path.join(tmp.path, 'image')
      await writeFiles(context, { Dockerfile: `FROM ${TEST_IMAGE}\nCOPY gitconfig /etc/gitconfig\n`, gitconfig: HOSTILE_CONFIG })
      await execa('docker', ['build', '-q', '-t', HOSTILE_IMAGE, context])
      // The repository has them in .git/config and in .gitattributes, plus hooks that would leave traces.
      project = await makeRepo(path.join(tmp.path, 'project'), {
        '.gitattributes': '*.txt diff=hostile\n*.dat filter=hostile\n',
        'a.txt': 'line\n',
        'f.dat': 'plain\n',
      })
      await fs.appendFile(path.join(project, '.git', 'config'), HOSTILE_CONFIG)
      await writeFiles(project, { 'dirty.dat': 'a dirty aaa\r\n' })
      stateBefore = await repoState(project)
      const marker = path.join(tmp.path, 'hook-ran')
      for (const hook of ['post-checkout', 'pre-commit', 'reference-transaction', 'post-index-change']) {
        await fs.writeFile(path.join(project, '.git', 'hooks', hook), `#!/bin/sh\necho ${hook} >> ${marker}\n`, { mode: 0o755 })
      }
      // And so does the user's global configuration.
      const globalConfig = path.join(tmp.path, 'gitconfig')
      await fs.writeFile(globalConfig, `${HOSTILE_CONFIG}[user]\n\tname = Host User\n\temail = host@example.com\n`)
      home = path.join(tmp.path, 'home')
      env = { REALM_WORKSPACE: workspace, REALM_IMAGE: HOSTILE_IMAGE, GIT_CONFIG_GLOBAL: globalConfig }
    })
    after(async () => tmp.cleanup())

    test('the patches hold the exact bytes; no hook runs on the host', async () => {
      const script = [
        "printf 'crlf\\r\\nline\\n' > crlf.txt",
        "printf 'aaa\\n' > f.dat",
        "printf 'line\\nmore  \\n' > a.txt", // trailing whitespace, which apply.whitespace=error would refuse
        'git -c commit.gpgSign=false commit -q --no-verify -am "agent commit" || true',
      ]
      const result = await realm(['new', 'hostile', ...script], { cwd: project, home, env })
      assert.equal(result.code, 0, explain(result))
      await assert.rejects(fs.access(path.join(tmp.path, 'hook-ran')), 'no hook of the repository ran on the host')
      // (repoState's own git status would run the hooks, so it comes after the check above)
      assert.deepEqual(await repoState(project), stateBefore)

      const dir = path.join(home, 'sessions', 'hostile')
      const patches = ['baseline.patch', 'changes.patch'].map((f) => path.join(dir, f))
      for (const p of patches) {
        const text = await fs.readFile(p, 'utf8')
        assert.ok(!text.includes('\x1b['), 'no color codes')
        assert.doesNotMatch(text, /TEXTCONV|EXTERNAL-DIFF|CLEAN|SMUDGE/, 'no diff driver, textconv or filter output')
        assert.match(text, /^diff --git a\//m, 'a/ b/ prefixes')
      }
      // Replay with a plain git, no attributes or filters: the bytes are the agent's, exactly.
      const replay = await replaySession(home, 'hostile', project, path.join(tmp.path, 'replay'))
      assert.equal(await fs.readFile(path.join(replay, 'crlf.txt'), 'utf8'), 'crlf\r\nline\n')
      assert.equal(await fs.readFile(path.join(replay, 'f.dat'), 'utf8'), 'aaa\n')
      assert.equal(await fs.readFile(path.join(replay, 'a.txt'), 'utf8'), 'line\nmore  \n')
      assert.equal(await fs.readFile(path.join(replay, 'dirty.dat'), 'utf8'), 'a dirty aaa\r\n')
    })
  })
}
