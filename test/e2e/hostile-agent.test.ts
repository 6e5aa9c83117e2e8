// A hostile agent (the stand-in, scripted) against the sandbox: links to a host secret, FIFOs and 8 GB sparse
// files in place of every output realm reads; an agent that kills realm's snapshot loop; planted Claude Code
// configuration. After each case: the user's home is byte for byte as before, the secret appears nowhere under
// $REALM_HOME nor in a later run, realm finished in bounded time with one line and no stack, and the session's
// earlier patches are intact.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { before, describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { explain, realm, type RealmResult } from '../helpers/realm.js'

const skip = await dockerSkip()

const SECRET = `SECRET-${randomBytes(8).toString('hex')}`
const PLANTED = 'PLANTED-BY-AGENT'
/** Far beyond how long a run of the stand-in takes: a hang would be cut off here and fail the case. */
const BOUND_MS = 60_000

/** Every entry under `dir`: type, mode, and content hash or link target — what "byte for byte" compares. */
async function treeState(dir: string): Promise<Record<string, string>> {
  const state: Record<string, string> = {}
  for (const name of (await fs.readdir(dir, { recursive: true })).sort()) {
    const full = path.join(dir, name)
    const stat = await fs.lstat(full)
    if (stat.isSymbolicLink()) state[name] = `link ${await fs.readlink(full)}`
    else if (stat.isFile())
      state[name] = `file ${stat.mode} ${createHash('sha256')
        .update(await fs.readFile(full))
        .digest('hex')}`
    else state[name] = `${stat.isDirectory() ? 'dir' : 'other'} ${stat.mode}`
  }
  return state
}

/** Regular files under `dir` (never following a link) whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = []
  for (const name of await fs.readdir(dir, { recursive: true }).catch(() => [] as string[])) {
    const full = path.join(dir, name)
    const stat = await fs.lstat(full).catch(() => undefined)
    if (!stat?.isFile() || stat.size > 64 * 1024 * 1024) continue
    if ((await fs.readFile(full).catch(() => Buffer.alloc(0))).includes(needle)) found.push(name)
  }
  return found
}

describe('a hostile agent', { skip }, () => {
  let tmp: string
  let project: string
  let home: string
  let userHome: string
  let secretFile: string
  let env: Record<string, string>
  useProject({ 'a.txt': 'a\n' }, (f) => ({ tmp, project, home } = f))
  const sessionDir = (name: string) => path.join(home, 'sessions', name)

  before(async () => {
    // The user's home lies outside $REALM_HOME, with a secret only the user can read and a Claude configuration.
    userHome = path.join(tmp, 'user')
    secretFile = path.join(userHome, '.ssh', 'id_secret')
    await fs.mkdir(path.dirname(secretFile), { recursive: true })
    await fs.writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 })
    await fs.mkdir(path.join(userHome, '.claude', 'commands'), { recursive: true })
    await fs.writeFile(path.join(userHome, '.claude', 'settings.json'), '{"model":"host-model"}\n')
    await fs.writeFile(path.join(userHome, '.claude', 'CLAUDE.md'), 'host rules\n')
    await fs.writeFile(path.join(userHome, '.claude', 'commands', 'mine.md'), 'my command\n')
    await fs.writeFile(path.join(userHome, '.claude.json'), '{"mcpServers":{"hostmcp":{"command":"host-mcp"}}}\n')
    env = { HOME: userHome, REALM_NETWORK: process.env.REALM_NETWORK ?? 'open' }
  })

  async function run(args: string[]): Promise<RealmResult & { ms: number }> {
    const started = Date.now()
    const result = await realm(args, { cwd: project, home, env, timeout: BOUND_MS })
    return { ...result, ms: Date.now() - started }
  }

  /** The session files a refused or hostile run must leave exactly as they were. */
  async function patchFiles(name: string): Promise<Record<string, string | undefined>> {
    const files: Record<string, string | undefined> = {}
    for (const file of ['baseline.patch', 'base.patch', 'changes.patch', 'checksums.json'])
      files[file] = await fs.readFile(path.join(sessionDir(name), file), 'utf8').catch(() => undefined)
    return files
  }

  /** Runs `args` as a hostile case and checks what must hold after every case; returns realm's result. */
  async function hostile(args: string[], session: string | undefined, expect: { refused?: string }): Promise<RealmResult> {
    const homeBefore = await treeState(userHome)
    const patchesBefore = session ? await patchFiles(session) : undefined
    const result = await run(args)
    assert.ok(result.ms < BOUND_MS, `realm finished within ${BOUND_MS} ms (took ${result.ms})`)
    assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace\n${explain(result)}`)
    if (expect.refused) {
      assert.notEqual(result.code, 0, explain(result))
      const lines = result.stderr.trim().split('\n')
      assert.equal(lines.length, 1, `one line\n${explain(result)}`)
      assert.match(lines[0], new RegExp(`^realm: refused this run's output: ${expect.refused.replace('.', '\\.')} `), explain(result))
    }
    assert.deepEqual(await treeState(userHome), homeBefore, "the user's home is byte for byte as before")
    assert.deepEqual(await filesContaining(home, SECRET), [], 'no secret under $REALM_HOME')
    if (session && patchesBefore) assert.deepEqual(await patchFiles(session), patchesBefore, "the session's earlier patches are intact")
    return result
  }

  const out = '/realm/out'
  const plant = {
    link: (file: string) => `ln -sfn ${secretFile} ${out}/${file}`,
    fifo: (file: string) => `rm -f ${out}/${file} && mkfifo ${out}/${file}`,
    sparse: (file: string) => `rm -f ${out}/${file} && truncate -s 8G ${out}/${file}`,
  }
  /** Keeps realm's later write of `file` from replacing the plant: a directory where its temp file goes. */
  const block = (file: string) => `mkdir -p ${out}/${file}.tmp`

  test('a session with earlier work to protect', async () => {
    const first = await run(['new', 'victim', 'echo earlier > earlier.txt'])
    assert.equal(first.code, 0, explain(first))
    assert.match((await patchFiles('victim'))['changes.patch'] ?? '', /\+earlier/)
  })

  // Outputs the entrypoint writes at the end (blocked) or at the start (replaced during the run).
  const CASES: Array<{ file: string; script: (kind: keyof typeof plant) => string[] }> = [
    { file: 'exit_code', script: (kind) => [plant[kind]('exit_code'), block('exit_code')] },
    { file: 'changes.patch', script: (kind) => [plant[kind]('changes.patch'), block('changes.patch')] },
    { file: 'snapshot.patch', script: (kind) => [plant[kind]('snapshot.patch'), block('snapshot.patch'), block('changes.patch')] },
    { file: 'lower.index', script: (kind) => [plant[kind]('lower.index')] },
    { file: 'agent-paths', script: (kind) => ['echo x > x.txt', plant[kind]('agent-paths'), block('agent-paths')] },
    { file: 'claude.json', script: (kind) => [plant[kind]('claude.json'), block('claude.json')] },
    { file: 'claude-login.json', script: (kind) => [plant[kind]('claude-login.json'), block('claude-login.json')] },
    { file: 'claude-changes', script: (kind) => [plant[kind]('claude-changes'), block('claude-changes')] },
    { file: 'claude-settings.json', script: (kind) => [plant[kind]('claude-settings.json')] },
  ]
  for (const { file, script } of CASES)
    for (const kind of ['link', 'fifo', 'sparse'] as const)
      test(`${file} replaced by a ${kind === 'link' ? 'link to a host secret' : kind === 'fifo' ? 'FIFO' : '8 GB sparse file'}: the run is refused`, async () => {
        await hostile(['resume', 'victim', '--workspace', 'overlay', ...script(kind)], 'victim', { refused: file })
      })

  for (const kind of ['link', 'fifo', 'sparse'] as const)
    test(`baseline.patch of a new session replaced by a ${kind}: the run is refused and no session is left`, async () => {
      const name = `fresh-${kind}`
      await hostile(['new', name, plant[kind]('baseline.patch')], undefined, { refused: 'baseline.patch' })
      assert.equal((await patchFiles(name))['baseline.patch'], undefined)
    })

  test('error replaced by a FIFO after the workspace was ready: realm never reads it and saves the run', async () => {
    const result = await hostile(['resume', 'victim', 'echo more > more.txt', plant.fifo('error')], undefined, {})
    assert.equal(result.code, 0, explain(result))
    assert.match((await patchFiles('victim'))['changes.patch'] ?? '', /\+more/)
  })

  test("an agent that kills realm's snapshot loop and leaves a link in its place is refused", async () => {
    const script = [
      // The snapshot loop is the entrypoint's subshell: a child of PID 1 running the entrypoint, not the agent.
      `for pid in $(ps -eo pid=,ppid=,args= | awk '$2 == 1 && $4 ~ /entrypoint[.]sh$/ { print $1 }'); do kill "$pid"; done`,
      'sleep 4',
      plant.link('snapshot.patch'),
      block('changes.patch'),
    ]
    await hostile(['resume', 'victim', ...script], 'victim', { refused: 'snapshot.patch' })
  })

  test('a snapshot that does not apply is kept in failed/ as the bytes read, and no later run can see failed/', async () => {
    const garbage = 'diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-not in the file\n+x\n'
    const script = [`printf '${garbage.replaceAll('\n', '\\n')}' > ${out}/snapshot.patch`, block('snapshot.patch'), block('changes.patch')]
    const result = await hostile(['resume', 'victim', ...script], 'victim', {})
    assert.match(result.stderr, /does not apply to the session/, explain(result))
    const failed = await fs.readdir(path.join(sessionDir('victim'), 'failed'))
    assert.equal(failed.length, 1)
    assert.equal(await fs.readFile(path.join(sessionDir('victim'), 'failed', failed[0]), 'utf8'), garbage)
    const probe = await run(['resume', 'victim', 'ls -A /realm/session'])
    assert.equal(probe.code, 0, explain(probe))
    const seen = probe.stdout.trim().split('\n')
    assert.ok(seen.length > 0 && seen.every((name) => /^(baseline|base|changes)\.patch$/.test(name)), `only the patches: ${seen}`)
  })

  test('planted hooks, MCP servers, commands and CLAUDE.md never reach the host nor another session', async () => {
    const script = [
      `printf '{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"echo ${PLANTED}"}]}]}}' > "$HOME/.claude/settings.json"`,
      `echo ${PLANTED} > "$HOME/.claude/commands/evil.md"`,
      `echo ${PLANTED} >> "$HOME/.claude/CLAUDE.md"`,
      `printf '{"mcpServers":{"evil":{"command":"${PLANTED}"}},"hasCompletedOnboarding":true,"projects":{"/workspace":{"hasTrustDialogAccepted":true,"mcpServers":{"e":{"command":"${PLANTED}"}}}}}' > "$HOME/.claude.json"`,
      'mkdir -p "$HOME/.claude/projects/-workspace" && echo conversation-a > "$HOME/.claude/projects/-workspace/a.jsonl"',
    ]
    const result = await hostile(['new', 'planter', ...script], undefined, {})
    assert.equal(result.code, 0, explain(result))
    for (const item of [
      'changed ~/.claude/settings.json',
      'changed ~/.claude/CLAUDE.md',
      'changed ~/.claude/commands',
      'changed MCP servers',
    ])
      assert.ok(result.stderr.includes(`realm: the agent ${item}`), `reported: ${item}\n${explain(result)}`)
    assert.deepEqual(await filesContaining(path.join(home, 'claude'), PLANTED), [], "nothing planted in realm's kept state")

    // Another session starts from the host's configuration, with the answers realm keeps and no conversation.
    const look = [
      'cat "$HOME/.claude/settings.json" "$HOME/.claude/CLAUDE.md" "$HOME/.claude.json"',
      'ls "$HOME/.claude/commands" "$HOME/.claude/projects"',
      `! grep -rs ${PLANTED} "$HOME" /realm`,
    ]
    const other = await run(['new', 'bystander', ...look])
    assert.equal(other.code, 0, explain(other))
    assert.match(other.stdout, /host-model/)
    assert.match(other.stdout, /host rules/)
    assert.match(other.stdout, /hostmcp/)
    assert.match(other.stdout, /"hasTrustDialogAccepted": true/, 'the trust answer is kept')
    assert.match(other.stdout, /mine\.md/)
    assert.doesNotMatch(other.stdout, new RegExp(`${PLANTED}|evil|a\\.jsonl`))

    // The session's own conversation is there when it resumes, and goes with the session.
    const again = await run(['resume', 'planter', 'cat "$HOME/.claude/projects/-workspace/a.jsonl"'])
    assert.equal(again.code, 0, explain(again))
    assert.match(again.stdout, /conversation-a/)
    const removed = await run(['remove', 'planter', '--yes'])
    assert.equal(removed.code, 0, explain(removed))
    assert.deepEqual(await filesContaining(home, 'conversation-a'), [])
  })

  test('a later run sees no secret anywhere it can read', async () => {
    const probe = await run(['resume', 'victim', `! grep -rs ${SECRET} /realm "$HOME" /workspace`])
    assert.equal(probe.code, 0, explain(probe))
    assert.doesNotMatch(probe.stdout + probe.stderr, new RegExp(SECRET))
  })
})
