// Interrupted runs are saved, or at least always shown: the terminal closing mid-run (a real pseudo-terminal
// whose master side goes away) saves the run and leaves a note for the next command; after `kill -9` of realm,
// list, list --json, diff, diff --stat and diff --last show the unsaved work, marked, without writing anything;
// remove refuses to lose it without --yes; the next resume saves it.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'

import { execa } from 'execa'

import { docker, dockerSkip, sessionContainer, waitInContainer } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { explain, REALM_BIN, realm, realmEnv, shellQuote, startRealm } from '../helpers/realm.js'
import { sessionFile } from '../helpers/session.js'

const skip = await dockerSkip()

async function read(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch(() => undefined)
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const answer = await check()
    if (answer !== undefined) return answer
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * Every file of the session directory with its inode, size and modification time: what "nothing was written"
 * compares (a save replaces files by rename, so a new inode; a reader's hard link changes only the link count).
 */
async function sessionState(dir: string): Promise<string> {
  const lines: string[] = []
  for (const entry of await fs.readdir(dir, { recursive: true })) {
    const stat = await fs.lstat(path.join(dir, entry))
    lines.push(`${entry} ${stat.ino} ${stat.size} ${stat.mtimeMs}`)
  }
  return lines.sort().join('\n')
}

describe('interrupted runs', { skip }, () => {
  let project: string
  let home: string
  let tmp: string
  useProject({ 'a.txt': 'a\n' }, (f) => ({ project, home, tmp } = f))

  test('the terminal closing mid-run: the run is saved, realm ends by SIGHUP, and the next command says what happened', async () => {
    const name = 'i13-hangup'
    const env = realmEnv(home)
    await fs.mkdir(String(env.HOME), { recursive: true })
    const status = path.join(tmp, 'hangup-status')
    // `script` gives realm a pseudo-terminal and owns its master side; killing it closes the master, so the
    // terminal is gone. As with a closed window, the kernel then sends SIGHUP to the session's leader (the shell
    // script started), and as that shell dies of it, to the foreground process group: realm, and the subshell
    // that ignores the hangup to record how realm ended.
    const realmCommand = [REALM_BIN, 'new', name, 'echo work > work.txt', 'touch /tmp/marker', 'sleep 300'].map(shellQuote).join(' ')
    const shell = `( trap '' HUP; ${realmCommand}; echo $? > ${shellQuote(status)} ); true`
    const terminal = execa('script', ['-qec', shell, '/dev/null'], {
      cwd: project,
      env: { ...env, SHELL: '/bin/sh' },
      extendEnv: true,
      reject: false,
      stdin: 'pipe',
    })
    const container = await sessionContainer(name, 90_000).catch(async (error: Error) => {
      terminal.kill('SIGKILL')
      throw new Error(`${error.message}; on the terminal:\n${(await terminal).stdout}`)
    })
    await waitInContainer(container, '/tmp/marker')
    terminal.kill('SIGKILL')
    await terminal

    const code = await until('realm to end', async () => (await read(status))?.trim() || undefined)
    assert.equal(code, '129', `realm ends by the hangup (128 + SIGHUP), not a crash (139 was SIGSEGV); got ${code}`)
    assert.match((await read(sessionFile(home, name, 'changes.patch'))) ?? '', /\+work/, 'the run was saved')
    const notice = await read(sessionFile(home, name, 'notice'))
    assert.match(notice ?? '', /terminal of session 'i13-hangup' closed while its agent ran/)
    assert.match(notice ?? '', /This run: 1 file changed/)
    assert.equal((await docker('ps', '-aq', '--filter', `name=^realm-${name}-`)).trim(), '', 'no container left')

    const list = await realm(['list', '--json'], { cwd: project, home })
    const listed = (JSON.parse(list.stdout) as Array<{ name: string; patchBytes: number; unsaved?: unknown }>).find((s) => s.name === name)
    assert.ok(listed && listed.patchBytes > 0 && !listed.unsaved, explain(list))

    const diff = await realm(['diff', '--stat', name], { cwd: project, home })
    assert.equal(diff.code, 0, explain(diff))
    assert.match(diff.stdout, /A work\.txt/)
    assert.match(diff.stderr, /terminal of session 'i13-hangup' closed/, 'diff shows the note')
    assert.ok(await read(sessionFile(home, name, 'notice')), 'diff only reads: the note stays')

    const resume = await realm(['resume', name, 'true'], { cwd: project, home })
    assert.equal(resume.code, 0, explain(resume))
    assert.match(resume.stderr, /terminal of session 'i13-hangup' closed/, 'the next command that opens the session shows the note')
    assert.equal(await read(sessionFile(home, name, 'notice')), undefined, '…once')
    const again = await realm(['diff', '--stat', name], { cwd: project, home })
    assert.doesNotMatch(again.stderr, /terminal of session/)
  })

  test('kill -9 of realm: list, list --json, diff, diff --stat and diff --last show the unsaved work, marked, and write nothing', async () => {
    const name = 'i13-nine'
    const first = await realm(['new', name, 'echo earlier > earlier.txt'], { cwd: project, home })
    assert.equal(first.code, 0, explain(first))
    const child = startRealm(
      ['resume', name, 'echo one > one.txt; echo two > two.txt; echo three > three.txt', 'touch /tmp/marker', 'sleep 300'],
      {
        cwd: project,
        home,
      },
    )
    const container = await sessionContainer(name)
    await waitInContainer(container, '/tmp/marker')
    await new Promise((resolve) => setTimeout(resolve, 4_500)) // a snapshot is taken every 3 s
    child.kill('SIGKILL')
    await docker('stop', '-t', '1', container).catch(() => undefined) // the entrypoint makes its final capture
    await child.catch(() => undefined) // its output pipes close once docker's client, its child, has gone too

    const dir = path.join(home, 'sessions', name)
    const before = await sessionState(dir)

    const list = await realm(['list'], { cwd: project, home })
    assert.equal(list.code, 0, explain(list))
    assert.match(list.stdout, /i13-nine .* yes \(.*of it from an interrupted run not yet saved\)/, explain(list))
    assert.match(list.stderr, /'i13-nine' has an interrupted run not yet saved/)

    const json = await realm(['list', '--json'], { cwd: project, home })
    const listed = (JSON.parse(json.stdout) as Array<{ name: string; patchBytes: number; unsaved?: { patchBytes: number } }>).find(
      (s) => s.name === name,
    )
    assert.ok(listed?.unsaved && listed.unsaved.patchBytes > 0 && listed.patchBytes > listed.unsaved.patchBytes, json.stdout)

    const diff = await realm(['diff', name, '--color', 'never'], { cwd: project, home })
    assert.equal(diff.code, 0, explain(diff))
    assert.match(diff.stderr, /interrupted run, not yet saved: 3 files \(its final capture\)/, explain(diff))
    for (const file of ['earlier.txt', 'one.txt', 'two.txt', 'three.txt']) assert.match(diff.stdout, new RegExp(`\\+\\+\\+ b/${file}`))

    const stat = await realm(['diff', '--stat', name], { cwd: project, home })
    assert.match(stat.stdout, /Session: 4 files changed/, explain(stat))
    const last = await realm(['diff', '--last', '--stat', name], { cwd: project, home })
    assert.match(last.stdout, /Latest run: 3 files changed/, explain(last))

    assert.equal(await sessionState(dir), before, 'list and diff wrote nothing in the session')

    const remove = await realm(['remove', name], { cwd: project, home })
    assert.notEqual(remove.code, 0, explain(remove))
    assert.match(remove.stderr, /interrupted run whose work was never saved \(3 files: one\.txt, three\.txt, two\.txt\)/)
    assert.ok(await fs.stat(dir), 'the session is still there')

    const resume = await realm(['resume', name, 'true'], { cwd: project, home })
    assert.equal(resume.code, 0, explain(resume))
    assert.match(resume.stderr, /recovered the interrupted run of 'i13-nine' \(its final capture\)/)
    assert.match((await read(sessionFile(home, name, 'base.patch'))) ?? '', /\+three/)
    const after = await realm(['list'], { cwd: project, home })
    assert.doesNotMatch(after.stdout, /interrupted/, 'saved now: no mark')
  })
})
