// The real Claude Code CLI, in the real default image (docker/Dockerfile), driven through `realm new` against
// a local stand-in for the Anthropic API. No container registry is needed: the image is built on a Debian
// base made by debootstrap (test/claude/debian-base.sh); Claude Code itself comes from the npm registry.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { type FakeAnthropic, lastPrompt, type MessagesBody, type RecordedRequest, startFakeAnthropic } from '../claude/fake-anthropic.js'
import { driveTui, type TuiRun } from '../claude/tui.js'
import { dockerSkip, imageInputs } from '../helpers/docker.js'
import { makeRepo, repoState } from '../helpers/repo.js'
import { explain, REALM_BIN, realm, TEST_NET_IMAGE, tempDir } from '../helpers/realm.js'
import { PLACEHOLDERS } from '../../lib/net/broker.js'

const skip = await dockerSkip()

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const BASE_IMAGE = process.env.REALM_CLAUDE_BASE_IMAGE ?? 'realm-debian-base:bookworm'
const IMAGE = 'realm-claude-e2e:latest'
const FILE = 'hello.txt'
const CONTENT = 'written by the real claude\n'
const MODEL = 'realm-e2e-model'

const HELPER_KEY = 'sk-ant-from-api-key-helper'

// The agent's script, one reply per step: write a file into the workspace; commit it and report the commit's
// author; change its own user settings (a default model, a login by API key helper, and a hook that would run a
// command at every stop: what a prompt injection would plant); then finish.
const SCRIPT = [
  [{ type: 'tool_use' as const, name: 'Write', input: { file_path: `/workspace/${FILE}`, content: CONTENT } }],
  [
    {
      type: 'tool_use' as const,
      name: 'Bash',
      input: {
        command: [
          `git add ${FILE} && git commit -q -m 'Add ${FILE}' && git log -1 --format='author: %an <%ae>'`,
          `printf '{"model": "${MODEL}", "apiKeyHelper": "echo ${HELPER_KEY}", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}}\\n' > "$HOME/.claude/settings.json"`,
        ].join(' && '),
        description: 'Commit the file and set up the user settings',
      },
    },
  ],
  [{ type: 'text' as const, text: `Done: wrote ${FILE}.` }],
]

/**
 * realm's environment for a run against the Messages API stand-in, under the default network policy: the
 * container reaches the stand-in (on the host's loopback) only through realm's broker, which holds the key.
 * Nothing else is needed, so nothing else is tried.
 */
function standInEnv(url: string): NodeJS.ProcessEnv {
  return {
    REALM_IMAGE: IMAGE,
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: 'sk-ant-dummy-realm-test',
    REALM_DOCKER_ARGS: '-e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1',
    REALM_NET_IMAGE: TEST_NET_IMAGE,
  }
}

/** Everything the agent's tool calls printed, as Claude Code sent it back in its requests. */
function toolOutputs(requests: Array<{ body: MessagesBody }>): string {
  const texts: string[] = []
  for (const request of requests) {
    for (const message of request.body.messages ?? []) {
      if (!Array.isArray(message.content)) continue
      for (const part of message.content as Array<{ type?: string; content?: unknown } | null>) {
        if (part?.type !== 'tool_result') continue
        texts.push(typeof part.content === 'string' ? part.content : JSON.stringify(part.content))
      }
    }
  }
  return texts.join('\n')
}

/** Host CA certificates to trust inside the image (a TLS-inspecting network needs its own). */
async function extraCaCerts(): Promise<string> {
  const dir = '/usr/local/share/ca-certificates'
  const files = (await fs.readdir(dir).catch(() => [])).filter((f) => f.endsWith('.crt')).sort()
  return (await Promise.all(files.map((f) => fs.readFile(path.join(dir, f), 'utf8')))).join('\n')
}

/** Builds the image once per change of docker/Dockerfile (or of the CA certificates), labelled with their hash. */
async function ensureClaudeImage(): Promise<void> {
  const started = Date.now()
  await execa('bash', [path.join(ROOT, 'test', 'claude', 'debian-base.sh'), BASE_IMAGE], { stdout: 'ignore', stderr: 'inherit' })
  const certs = await extraCaCerts()
  const dockerfile = await fs.readFile(path.join(ROOT, 'docker', 'Dockerfile'))
  const want = createHash('sha256').update(dockerfile).update(certs).update(BASE_IMAGE).digest('hex').slice(0, 12)
  if ((await imageInputs(IMAGE)) === want) return
  const build = await execa(
    'docker',
    [
      'build',
      '-t',
      IMAGE,
      '--build-arg',
      `BASE_IMAGE=${BASE_IMAGE}`,
      '--build-arg',
      `EXTRA_CA_CERTS=${certs}`,
      '--label',
      `realm.test.inputs=${want}`,
      path.join(ROOT, 'docker'),
    ],
    { reject: false, all: true },
  )
  if (build.exitCode !== 0) throw new Error(`docker build of ${IMAGE} failed:\n${build.all}`)
  console.log(`# built ${IMAGE} in ${Math.round((Date.now() - started) / 1000)} s`)
}

/** The userID Claude Code keeps in ~/.claude.json, as it reports it in each request's metadata. */
function userIdOf(body: MessagesBody): string | undefined {
  const raw = body.metadata?.user_id
  if (typeof raw !== 'string') return undefined
  try {
    const parsed = JSON.parse(raw)
    if (parsed && typeof parsed.device_id === 'string') return parsed.device_id
  } catch {
    /* the older form: user_<id>_account_..._session_... */
  }
  return /^user_([0-9a-f]+)/.exec(raw)?.[1] ?? raw
}

describe('the real Claude Code in the default image', { skip, timeout: 30 * 60_000 }, () => {
  let tmp: { path: string; cleanup: () => Promise<void> }
  let fake: FakeAnthropic
  let project: string
  let home: string
  let env: Record<string, string | undefined>

  before(
    async () => {
      await ensureClaudeImage()
      tmp = await tempDir('realm-claude-')
      fake = await startFakeAnthropic(SCRIPT)
      project = await makeRepo(path.join(tmp.path, 'project'), { 'README.md': '# project\n' })
      home = path.join(tmp.path, 'home')
      env = standInEnv(fake.url)
    },
    { timeout: 30 * 60_000 },
  )
  after(async () => {
    await fake?.close()
    await tmp?.cleanup()
  })

  test('`realm new` with claude -p brings back exactly the file the agent wrote', { timeout: 5 * 60_000 }, async () => {
    const before = await repoState(project)
    const started = Date.now()
    const result = await realm(['new', 'first', '--', '-p', `Create ${FILE}`, '--output-format', 'json'], {
      cwd: project,
      home,
      env,
      timeout: 4 * 60_000,
    })
    console.log(`# first run: ${Date.now() - started} ms`)
    assert.equal(result.code, 0, `${explain(result)}\n--- requests\n${fake.requests.map((r) => `${r.method} ${r.path}`).join('\n')}`)
    const output = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '')
    assert.equal(output.result, 'Done: wrote hello.txt.', result.stdout)

    // The agent's requests went to the stand-in through the broker, streamed, and its tool results came back. The
    // container held only the placeholder: the broker put the real key in on the host.
    const agent = fake.agentRequests()
    assert.ok(agent.length >= 3, `three agent turns, got ${agent.length}`)
    assert.equal(agent[0].headers['x-api-key'], 'sk-ant-dummy-realm-test')
    assert.ok(!JSON.stringify(agent.map((r) => r.body)).includes('sk-ant-dummy-realm-test'), 'the key never reached the agent')
    assert.ok(
      fake.requests.every((r) => r.headers['x-api-key'] !== PLACEHOLDERS.ANTHROPIC_API_KEY),
      'no placeholder got through',
    )
    assert.equal(agent[0].body.stream, true)
    assert.ok(agent[0].body.tools?.some((t) => t.name === 'Write'))
    // The commit the agent made carries the user's git identity from the host.
    assert.match(toolOutputs(agent), /author: Test User <test@example\.com>/)

    const patch = await fs.readFile(path.join(home, 'sessions', 'first', 'changes.patch'), 'utf8')
    const files = [...patch.matchAll(/^diff --git a\/(.+) b\/(.+)$/gm)].map((m) => m[2])
    assert.deepEqual(files, [FILE], patch)
    assert.ok(patch.includes(`+${CONTENT.trimEnd()}`), patch)
    assert.deepEqual(await repoState(project), before, 'the project is only ever read')

    // The settings the agent wrote stayed in its container: reported, never written to the host; the state
    // realm keeps (Claude Code's identity, onboarding answers) is in realm's own directory.
    const userHome = path.join(home, 'user-home')
    // One line, naming what matters (the model is Claude Code's own business; its migrations rewrite it too).
    const reported = result.stderr.split('\n').filter((line) => line.includes("in its copy of Claude Code's configuration"))
    assert.equal(reported.length, 1, result.stderr)
    assert.match(reported[0], /realm: the agent changed ~\/\.claude\/settings\.json \(apiKeyHelper, hooks\) in its copy/)
    await assert.rejects(fs.stat(path.join(userHome, '.claude', 'settings.json')), "the host's ~/.claude is never written")
    await assert.rejects(fs.stat(path.join(userHome, '.claude.json')), "the host's ~/.claude.json is never written")
    const state = JSON.parse(await fs.readFile(path.join(home, 'claude', '.claude.json'), 'utf8'))
    assert.ok(typeof state.userID === 'string', `realm keeps Claude Code's identity: ${JSON.stringify(state)}`)
    assert.equal(state.apiKeyHelper, undefined)
  })

  test("a second session gets realm's kept state but none of the settings the first run's agent wrote", {
    timeout: 5 * 60_000,
  }, async () => {
    const firstRun = fake.agentRequests()
    const before = fake.requests.length
    const started = Date.now()
    const result = await realm(['new', 'second', '--', '-p', `Create ${FILE} again`], { cwd: project, home, env, timeout: 4 * 60_000 })
    console.log(`# second run: ${Date.now() - started} ms`)
    assert.equal(result.code, 0, explain(result))
    const secondRun = fake.agentRequests().filter((r) => fake.requests.indexOf(r) >= before)
    assert.ok(secondRun.length > 0)
    // Settings: the model and the API key helper the first run's agent configured did not persist.
    assert.notEqual(secondRun[0].body.model, MODEL)
    assert.equal(secondRun[0].headers['x-api-key'], 'sk-ant-dummy-realm-test')
    assert.notEqual(secondRun[0].headers.authorization, HELPER_KEY)
    // A conversation of its own: nothing of the first session's.
    assert.doesNotMatch(JSON.stringify(secondRun[0].body.messages), /Create hello\.txt"/)
    // State: the identity Claude Code created in ~/.claude.json on its first start is the one it reuses.
    const firstId = userIdOf(firstRun[0].body)
    assert.ok(firstId, `a user id in ${JSON.stringify(firstRun[0].body.metadata)}`)
    assert.equal(userIdOf(secondRun[0].body), firstId)
  })

  /** The agent requests made after `from` requests had been recorded. */
  const requestsSince = (from: number) => fake.agentRequests().filter((r) => fake.requests.indexOf(r) >= from)
  const carriesPrompt = (request: RecordedRequest, prompt: string) => JSON.stringify(request.body.messages).includes(prompt)

  test("a resume continues the session's own conversation; --fresh starts a new one", { timeout: 8 * 60_000 }, async () => {
    // `-- --continue` picks this session's last conversation, not the one the other session had since.
    let from = fake.requests.length
    let result = await realm(['resume', 'first', '--', '--continue', '-p', 'And now?'], { cwd: project, home, env, timeout: 4 * 60_000 })
    assert.equal(result.code, 0, explain(result))
    let requests = requestsSince(from)
    assert.ok(carriesPrompt(requests[0], `Create ${FILE}`), `the first run's messages: ${JSON.stringify(requests[0].body.messages)}`)
    assert.ok(!carriesPrompt(requests[0], `Create ${FILE} again`), "never the other session's")

    // By default a resume continues: the first request carries the earlier runs' messages.
    from = fake.requests.length
    result = await realm(['resume', 'first', '-p', 'more tests'], { cwd: project, home, env, timeout: 4 * 60_000 })
    assert.equal(result.code, 0, explain(result))
    requests = requestsSince(from)
    assert.ok(
      carriesPrompt(requests[0], `Create ${FILE}`) && carriesPrompt(requests[0], 'more tests'),
      JSON.stringify(requests[0].body.messages),
    )

    from = fake.requests.length
    result = await realm(['resume', 'first', '--fresh', '-p', 'start over'], { cwd: project, home, env, timeout: 4 * 60_000 })
    assert.equal(result.code, 0, explain(result))
    requests = requestsSince(from)
    assert.ok(!carriesPrompt(requests[0], `Create ${FILE}`), JSON.stringify(requests[0].body.messages))

    // remove deletes the session's history with it.
    assert.equal((await realm(['remove', 'first', '--yes'], { cwd: project, home, env })).code, 0)
    await assert.rejects(fs.stat(path.join(home, 'sessions', 'first')))
  })
})

/**
 * What a person sees on a first and a later run: the real Claude Code TUI on a terminal, under the default network
 * policy. The test waits for the prompt box and types the prompt as its first keystrokes; a question realm left
 * unanswered would take them (or never let the prompt box show), so the work would not come back.
 */
describe('the real Claude Code TUI asks nothing about the sandbox', { skip, timeout: 30 * 60_000 }, () => {
  // The questions Claude Code asks about the sandbox itself, by the words on their screens.
  const DIALOGS = [
    'Accessing workspace',
    'Is this a project you created or one you trust',
    'Do you want to use this API key',
    'Bypass Permissions mode',
    'Try the new fullscreen renderer',
    'Welcome to Claude Code',
    'Choose the text style',
  ]
  const READY = 'bypass permissions on'
  const CONFIG_LINE = "in its copy of Claude Code's configuration"
  // The agent here only writes a file: a blocked line would be Claude Code's own start-up traffic (its official
  // marketplace's auto-install cloned from github.com on every run before realm recorded it as skipped).
  const BLOCKED_LINE = 'realm: blocked'
  let tmp: { path: string; cleanup: () => Promise<void> }
  let fake: FakeAnthropic
  let project: string
  let env: Record<string, string | undefined>
  /** Kept for the closing notes: what the terminal showed, run by run. */
  const transcripts: string[] = []

  before(
    async () => {
      await ensureClaudeImage()
      tmp = await tempDir('realm-claude-tui-')
      // Each prompt names the file to write: "Create first.txt" writes first.txt, then says so.
      fake = await startFakeAnthropic((body) => {
        const file = /Create (\w+\.txt)/.exec(lastPrompt(body))?.[1]
        if (!file) return [{ type: 'text', text: 'Nothing to do.' }]
        const last = body.messages?.at(-1)?.content
        const answersTool = Array.isArray(last) && last.some((part) => (part as { type?: string } | null)?.type === 'tool_result')
        if (!answersTool)
          return [{ type: 'tool_use', name: 'Write', input: { file_path: `/workspace/${file}`, content: `${file} by the TUI\n` } }]
        return [{ type: 'text', text: `Done: wrote ${file}.` }]
      })
      project = await makeRepo(path.join(tmp.path, 'project'), { 'README.md': '# project\n' })
      env = standInEnv(fake.url)
    },
    { timeout: 30 * 60_000 },
  )
  after(async () => {
    if (transcripts.length) console.log(transcripts.join('\n'))
    await fake?.close()
    await tmp?.cleanup()
  })

  /** realm with its environment for `home`, on a terminal, going through `steps`. */
  async function onTui(home: string, args: string[], steps: Parameters<typeof driveTui>[1]['steps']): Promise<TuiRun> {
    const realmEnvironment = {
      REALM_HOME: home,
      HOME: path.join(home, 'user-home'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      ...env,
    }
    await fs.mkdir(realmEnvironment.HOME, { recursive: true })
    return driveTui([REALM_BIN, ...args], { cwd: project, env: realmEnvironment, steps, forbidden: DIALOGS })
  }

  /** Type the prompt at the prompt box, wait for the work, leave Claude Code, keep the work at realm's question. */
  const session = (prompt: string, done: string) => [
    { waitFor: READY, keys: [...prompt.split(''), '\r'], gapMs: 20 },
    { waitFor: done, keys: ['/exit', '\r'], gapMs: 800 },
    { waitFor: 'What now', keys: '\r' },
  ]

  const explainRun = (run: TuiRun) =>
    `exit ${run.exitCode}${run.waiting ? `, still waiting for "${run.waiting}"` : ''}\n--- dialogs\n${run.dialogs
      .map((d) => `${d.text}:\n${d.screen}`)
      .join('\n')}\n--- screen\n${run.final}`

  /** The agent turns that began with `prompt`: proof that the first keys typed became the agent's prompt. */
  const turnsFor = (prompt: string) => fake.agentRequests().filter((r) => lastPrompt(r.body).includes(prompt))

  async function patchFiles(home: string, name: string, file: 'changes.patch' | 'base.patch'): Promise<string[]> {
    const patch = await fs.readFile(path.join(home, 'sessions', name, file), 'utf8')
    return [...patch.matchAll(/^diff --git a\/(.+) b\/(.+)$/gm)].map((m) => m[2])
  }

  test('a first run and a later run: the prompt is the first thing typed, the work comes back, nothing is asked or reported', {
    timeout: 12 * 60_000,
  }, async () => {
    const home = path.join(tmp.path, 'home')
    const first = await onTui(home, ['new', 'tui'], session('Create first.txt', 'Done: wrote first.txt.'))
    transcripts.push(
      `# TUI, first run (realm new tui), when the prompt box showed:\n${first.screens[0] ?? ''}\n# …at the end:\n${first.final}`,
    )
    assert.equal(first.exitCode, 0, explainRun(first))
    assert.deepEqual(first.dialogs, [], explainRun(first))
    assert.equal(first.waiting, undefined, explainRun(first))
    assert.ok(turnsFor('Create first.txt').length >= 2, 'the typed prompt was the agent prompt, and the tool result came back')
    assert.deepEqual(await patchFiles(home, 'tui', 'changes.patch'), ['first.txt'])
    assert.ok(!first.final.includes(CONFIG_LINE), `a clean run reports nothing:\n${first.final}`)
    assert.ok(!first.final.includes(BLOCKED_LINE), `nothing of Claude Code's own is reported as blocked:\n${first.final}`)

    const later = await onTui(home, ['resume', 'tui'], session('Create second.txt', 'Done: wrote second.txt.'))
    transcripts.push(
      `# TUI, later run (realm resume tui), when the prompt box showed:\n${later.screens[0] ?? ''}\n# …at the end:\n${later.final}`,
    )
    assert.equal(later.exitCode, 0, explainRun(later))
    assert.deepEqual(later.dialogs, [], explainRun(later))
    assert.equal(later.waiting, undefined, explainRun(later))
    const resumed = turnsFor('Create second.txt')
    assert.ok(resumed.length >= 2)
    assert.ok(JSON.stringify(resumed[0].body.messages).includes('Create first.txt'), 'the later run continued the conversation')
    assert.deepEqual(await patchFiles(home, 'tui', 'changes.patch'), ['second.txt'])
    assert.deepEqual(await patchFiles(home, 'tui', 'base.patch'), ['first.txt'])
    assert.ok(!later.final.includes(CONFIG_LINE), `a clean run reports nothing:\n${later.final}`)
    assert.ok(!later.final.includes(BLOCKED_LINE), `nothing of Claude Code's own is reported as blocked:\n${later.final}`)
  })

  test("the user's own choice on the host wins: realm does not answer what they answered, nor write their files", {
    timeout: 8 * 60_000,
  }, async () => {
    const home = path.join(tmp.path, 'home-chosen')
    const userConfig = path.join(home, 'user-home', '.claude')
    await fs.mkdir(userConfig, { recursive: true })
    // This user wants the bypass warning every time, and a light theme.
    const settings = '{"skipDangerousModePermissionPrompt": false, "theme": "light"}\n'
    await fs.writeFile(path.join(userConfig, 'settings.json'), settings)
    const run = await driveTuiWithWarning(home)
    transcripts.push(`# TUI, a user who keeps the bypass warning:\n${run.screens[0] ?? run.final}`)
    assert.equal(run.exitCode, 0, explainRun(run))
    assert.match(run.screens[0] ?? '', /Bypass Permissions mode/, 'their choice shows the warning realm would otherwise answer')
    assert.deepEqual(await patchFiles(home, 'chosen', 'changes.patch'), ['third.txt'])
    assert.equal(await fs.readFile(path.join(userConfig, 'settings.json'), 'utf8'), settings, 'their file is as it was')
    await assert.rejects(fs.stat(path.join(home, 'user-home', '.claude.json')), 'and no .claude.json appeared on the host')
  })

  /** A run that meets the bypass warning, accepts it (down, then Enter) and then works as usual. */
  async function driveTuiWithWarning(home: string): Promise<TuiRun> {
    const realmEnvironment = {
      REALM_HOME: home,
      HOME: path.join(home, 'user-home'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      ...env,
    }
    return driveTui([REALM_BIN, 'new', 'chosen'], {
      cwd: project,
      env: realmEnvironment,
      forbidden: DIALOGS.filter((text) => text !== 'Bypass Permissions mode'),
      steps: [{ waitFor: 'Yes, I accept', keys: ['\x1b[B', '\r'] }, ...session('Create third.txt', 'Done: wrote third.txt.')],
    })
  }
})
