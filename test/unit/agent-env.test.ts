import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'

import {
  CLAUDE_STATE_DIR,
  claudeConfigPaths,
  claudeMounts,
  defaultImageBuildArgs,
  hasCredential,
  identityEnv,
  mergeClaudeJson,
  passedEnv,
} from '../../lib/container/agent-env.ts'

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

const stateCopy = () => path.join(tmp, 'realm', 'claude', '.claude.json')

test('credentials and endpoints are passed by name only, and only when set', () => {
  const names = passedEnv({ ANTHROPIC_API_KEY: 'sk-secret', ANTHROPIC_BASE_URL: 'http://x', ANTHROPIC_MODEL: '', TERM: 'xterm' }, false)
  assert.deepEqual(names, ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL'])
  assert.ok(!names.some((n) => n.includes('=')), 'never NAME=value')
  assert.deepEqual(passedEnv({ CLAUDE_CODE_OAUTH_TOKEN: 't', TERM: 'xterm-kitty' }, true), ['CLAUDE_CODE_OAUTH_TOKEN', 'TERM'])
})

test('commits carry the host identity, with a placeholder when git has none', () => {
  assert.deepEqual(identityEnv({ name: 'Ada', email: 'ada@example.com' }), {
    GIT_AUTHOR_NAME: 'Ada',
    GIT_AUTHOR_EMAIL: 'ada@example.com',
    GIT_COMMITTER_NAME: 'Ada',
    GIT_COMMITTER_EMAIL: 'ada@example.com',
  })
  assert.equal(identityEnv({}).GIT_AUTHOR_EMAIL, 'agent@realm.invalid')
})

test("a missing ~/.claude is created and mounted, and .claude.json comes from realm's own directory", () => {
  const mounts = claudeMounts(home, env)
  assert.ok(fs.statSync(path.join(home, '.claude')).isDirectory())
  assert.deepEqual(mounts, [
    { source: path.join(home, '.claude'), target: '/realm/home/.claude', readonly: false },
    { source: path.join(tmp, 'realm', 'claude'), target: CLAUDE_STATE_DIR, readonly: false },
  ])
  assert.ok(!mounts.some((m) => m.source.endsWith('.claude.json')), 'never a file bind mount: rename onto it fails')
  assert.equal(fs.readFileSync(stateCopy(), 'utf8'), '{}\n')
  assert.ok(!fs.existsSync(path.join(home, '.claude.json')), 'the host file is never created or written')
})

test("the host's .claude.json seeds realm's copy, and is only read", () => {
  const hostFile = path.join(home, '.claude.json')
  fs.writeFileSync(hostFile, '{"hasCompletedOnboarding":true}')
  const before = fs.statSync(hostFile)
  claudeMounts(home, env)
  assert.deepEqual(JSON.parse(fs.readFileSync(stateCopy(), 'utf8')), { hasCompletedOnboarding: true })
  assert.equal(fs.statSync(hostFile).mtimeMs, before.mtimeMs)

  // A run writes realm's copy; an unchanged host file does not overwrite it.
  fs.writeFileSync(stateCopy(), '{"hasCompletedOnboarding":true,"numStartups":2}')
  claudeMounts(home, env)
  assert.equal(JSON.parse(fs.readFileSync(stateCopy(), 'utf8')).numStartups, 2)

  // The user logs in again on the host: the host's file becomes the base, realm's additions stay.
  fs.writeFileSync(hostFile, '{"hasCompletedOnboarding":true,"oauthAccount":{"emailAddress":"a@b"}}')
  fs.utimesSync(hostFile, new Date(), new Date(Date.now() + 5000))
  claudeMounts(home, env)
  assert.deepEqual(JSON.parse(fs.readFileSync(stateCopy(), 'utf8')), {
    hasCompletedOnboarding: true,
    oauthAccount: { emailAddress: 'a@b' },
    numStartups: 2,
  })
})

test("merging keeps the host's values and realm's container projects; garbage keeps the host's file", () => {
  const host = JSON.stringify({ theme: 'dark', projects: { '/home/u/p': { a: 1 }, '/workspace': { old: true } } })
  const realm = JSON.stringify({
    theme: 'light',
    userID: 'u1',
    projects: { '/workspace': { hasTrustDialogAccepted: true }, '/workspace/sub': {}, '/home/u/p': { a: 2 } },
  })
  assert.deepEqual(JSON.parse(mergeClaudeJson(host, realm)), {
    theme: 'dark',
    userID: 'u1',
    projects: { '/home/u/p': { a: 1 }, '/workspace': { hasTrustDialogAccepted: true }, '/workspace/sub': {} },
  })
  const keys = JSON.parse(
    mergeClaudeJson(
      JSON.stringify({ customApiKeyResponses: { approved: ['host'], rejected: [] } }),
      JSON.stringify({ customApiKeyResponses: { approved: ['container', 'host'], rejected: ['bad'] } }),
    ),
  )
  assert.deepEqual(keys.customApiKeyResponses, { approved: ['host', 'container'], rejected: ['bad'] })
  assert.equal(mergeClaudeJson('{"a":1}', 'not json'), '{"a":1}')
  assert.equal(mergeClaudeJson('[1]', '{}'), '[1]')
})

test('CLAUDE_CONFIG_DIR on the host moves both the directory and .claude.json', () => {
  const dir = path.join(tmp, 'cfg')
  assert.deepEqual(claudeConfigPaths(home, { CLAUDE_CONFIG_DIR: dir }), { dir, json: path.join(dir, '.claude.json') })
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, '.claude.json'), '{"userID":"x"}')
  const mounts = claudeMounts(home, { ...env, CLAUDE_CONFIG_DIR: dir })
  assert.equal(mounts[0].source, dir)
  assert.equal(JSON.parse(fs.readFileSync(stateCopy(), 'utf8')).userID, 'x')
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
