import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'

import { hasCredential, passedEnv } from '../../lib/container/agent-env.ts'
import { defaultImageBuildArgs } from '../../lib/container/image.ts'
import { identityEnv } from '../../lib/git/settings.ts'
import { AGENT_IDENTITY } from '../../lib/container/agent-env.ts'

let tmp: string
let home: string
let env: NodeJS.ProcessEnv
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'realm-agent-env-')))
  home = path.join(tmp, 'home')
  fs.mkdirSync(home)
  env = { REALM_HOME: path.join(tmp, 'realm') }
})
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }))

test('credentials and the upstream never pass into the container (the broker holds them); the model does, by name', () => {
  const names = passedEnv({ ANTHROPIC_API_KEY: 'sk-secret', ANTHROPIC_BASE_URL: 'http://x', ANTHROPIC_MODEL: 'm', TERM: 'xterm' }, false)
  assert.deepEqual(names, ['ANTHROPIC_MODEL'])
  assert.deepEqual(passedEnv({ CLAUDE_CODE_OAUTH_TOKEN: 't', ANTHROPIC_AUTH_TOKEN: 'u', TERM: 'xterm-kitty' }, true), ['TERM'])
})

test('commits carry the host identity, with a placeholder when git has none', () => {
  assert.deepEqual(identityEnv({ name: 'Ada', email: 'ada@example.com' }), {
    GIT_AUTHOR_NAME: 'Ada',
    GIT_AUTHOR_EMAIL: 'ada@example.com',
    GIT_COMMITTER_NAME: 'Ada',
    GIT_COMMITTER_EMAIL: 'ada@example.com',
  })
  assert.equal(identityEnv({}, AGENT_IDENTITY).GIT_AUTHOR_EMAIL, 'agent@realm.invalid')
})

test('a credential is found in the environment, a Linux login, an API key helper or a stored key', () => {
  assert.equal(hasCredential({ ...env }, home), false)
  assert.equal(hasCredential({ ...env, CLAUDE_CODE_OAUTH_TOKEN: 't' }, home), true)
  fs.mkdirSync(path.join(home, '.claude'))
  fs.writeFileSync(path.join(home, '.claude', 'settings.json'), '{"apiKeyHelper":"pass show anthropic"}')
  assert.equal(hasCredential({ ...env }, home), true)
  fs.rmSync(path.join(home, '.claude', 'settings.json'))
  fs.writeFileSync(path.join(home, '.claude', '.credentials.json'), '{}')
  assert.equal(hasCredential({ ...env }, home), true)
  fs.rmSync(path.join(home, '.claude', '.credentials.json'))
  // A login made inside a run, which realm keeps in its own directory.
  fs.mkdirSync(path.join(tmp, 'realm', 'claude'), { recursive: true })
  fs.writeFileSync(path.join(tmp, 'realm', 'claude', '.credentials.json'), '{}')
  assert.equal(hasCredential({ ...env }, home), true)
})

test("the default image is built with REALM_BASE_IMAGE and the machine's own certificate authorities", () => {
  const caDir = path.join(tmp, 'ca')
  assert.deepEqual(defaultImageBuildArgs({}, caDir), [])
  fs.mkdirSync(caDir)
  fs.writeFileSync(path.join(caDir, 'b.crt'), 'B\n')
  fs.writeFileSync(path.join(caDir, 'a.crt'), 'A\n')
  fs.writeFileSync(path.join(caDir, 'notes.txt'), 'x')
  assert.deepEqual(defaultImageBuildArgs({ REALM_BASE_IMAGE: 'debian:bookworm-slim' }, caDir), [
    '--build-arg',
    'BASE_IMAGE=debian:bookworm-slim',
    '--build-arg',
    'EXTRA_CA_CERTS=A\n\nB\n',
  ])
})
