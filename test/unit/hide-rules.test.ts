import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { DEFAULT_HIDE, globSource, hideMatcher, hideRules } from '../../lib/run/hide-rules.ts'

const name = (rel: string) => rel.slice(rel.lastIndexOf('/') + 1)

/** Whether the file at `rel` is hidden under `rules`, checking that the scan of a find(1) list finds it. */
function hides(rules: readonly string[], rel: string): boolean {
  const matcher = hideMatcher(rules)
  const hidden = matcher.file(rel, name(rel))
  if (hidden) {
    const list = `./a.txt\0./${rel}\0./b/c.ts\0`
    const found = [...list.matchAll(matcher.candidates)].map((m) =>
      list.slice(list.lastIndexOf('\0', m.index) + 1, list.indexOf('\0', m.index + 1)),
    )
    assert.ok(found.includes(`./${rel}`), `the scan must find ${rel}`)
  }
  return hidden
}

describe('the default list', () => {
  const hidden = [
    '.env',
    'app/.env',
    '.env.local',
    '.env.production',
    'services/api/.env.development.local',
    'id_rsa',
    'home/.ssh/id_ed25519',
    'deploy_rsa',
    'keys/id_ecdsa_sk',
    'server.pem',
    'tls/server.key',
    'Cert.PEM', // any case
    'ID_RSA',
    'store.p12',
    'win/cert.pfx',
    'android/release.keystore',
    'java/trust.jks',
    'putty.ppk',
    'vault.kdbx',
    'office.ovpn',
    '.git-credentials',
    '.netrc',
    '_netrc',
    '.pgpass',
    'public/.htpasswd',
    '.s3cfg',
    '.pypirc',
    '.dockercfg',
    '.docker/config.json',
    'ci/.docker/config.json',
    '.aws/credentials',
    'infra/.aws/credentials',
    'credentials.json',
    'infra/prod.tfvars',
    'infra/prod.tfvars.json',
    'terraform.tfstate',
    'terraform.tfstate.backup',
    'config/secrets.yml',
    '.streamlit/secrets.toml',
  ]
  for (const rel of hidden) test(`hides ${rel}`, () => assert.ok(hides(DEFAULT_HIDE, rel)))

  const shown = [
    '.env.example',
    'app/.env.sample',
    '.env.template',
    '.env.dist',
    'env.ts',
    '.envrc', // direnv: flagged in review, not hidden
    '.npmrc', // an install needs its registry settings
    'src/secrets.py', // a source file, not a secrets file
    'id_rsa.pub', // a public key
    'keys/server.crt', // a certificate is public
    'docs/pem-format.md',
    'config.json',
    '.aws/config',
    'docker/config.json', // not ~/.docker
    'key.ts',
    'monkey',
    'package.json',
    'README.md',
  ]
  for (const rel of shown) test(`shows ${rel}`, () => assert.ok(!hides(DEFAULT_HIDE, rel)))
})

test('the scan of a find(1) list leaves only the names a rule may hide', () => {
  const list = './src/a.ts\0./.env\0./src\0./docs/env.md\0./k/id_rsa.pub\0./k/id_rsa\0./x.pem.txt\0'
  const found = [...list.matchAll(hideMatcher(DEFAULT_HIDE).candidates)].map((m) =>
    list.slice(m.index + 1, list.indexOf('\0', m.index + 1)),
  )
  assert.deepEqual(found, ['.env', 'id_rsa'])
})

describe('gitignore-like patterns', () => {
  test('a pattern without a slash matches a basename at any depth', () => {
    assert.ok(hides(['*.secret'], 'a/b/c.secret'))
    assert.ok(hides(['*.secret'], 'c.secret'))
    assert.ok(!hides(['*.secret'], 'a.secret/c'), '* stops at a slash')
  })
  test('a pattern with a slash is anchored at the project root; a leading slash only anchors', () => {
    assert.ok(hides(['config/prod.yml'], 'config/prod.yml'))
    assert.ok(!hides(['config/prod.yml'], 'app/config/prod.yml'))
    assert.ok(hides(['/.env'], '.env'))
    assert.ok(!hides(['/.env'], 'app/.env'))
  })
  test('** crosses directories, *, ? and [] do not', () => {
    assert.ok(hides(['**/deploy/*.yml'], 'deploy/a.yml'))
    assert.ok(hides(['**/deploy/*.yml'], 'x/y/deploy/a.yml'))
    assert.ok(hides(['vault/**'], 'vault/a/b/c'))
    assert.ok(!hides(['vault/**'], 'vault'))
    assert.ok(hides(['a/**/z'], 'a/z'))
    assert.ok(hides(['a/**/z'], 'a/b/c/z'))
    assert.ok(hides(['key?.txt'], 'key1.txt'))
    assert.ok(!hides(['key?.txt'], 'key/.txt'))
    assert.ok(hides(['cert[0-9].bin'], 'cert7.bin'))
    assert.ok(!hides(['cert[!0-9].bin'], 'cert7.bin'))
  })
  test('dots and other characters are literal', () => {
    assert.ok(!hides(['a.b'], 'axb'))
    assert.ok(hides(['a+b(1).txt'], 'a+b(1).txt'))
    assert.equal(globSource('*.pem'), '[^/]*\\.pem')
  })
  test('the last pattern that matches decides', () => {
    assert.ok(!hides(['.env', '!.env'], '.env'))
    assert.ok(hides(['.env', '!.env', '.env'], '.env'))
    assert.ok(hides([...DEFAULT_HIDE, '.env.example'], '.env.example'), '--hide overrides a default show')
    assert.ok(!hides([...DEFAULT_HIDE, '!app/.env'], 'app/.env'))
    assert.ok(hides([...DEFAULT_HIDE, '!app/.env'], '.env'))
  })
  test('a trailing slash matches directories only, which are hidden whole', () => {
    const matcher = hideMatcher(['private/'])
    assert.ok(matcher.directory('a/private', 'private'))
    assert.ok(!matcher.file('a/private', 'private'))
    assert.ok(!hideMatcher(['.env']).directory('.env', '.env'), 'a virtualenv named .env is no secret file')
  })
})

describe('whose list it is', () => {
  test('defaults, then the user file, then REALM_HIDE and REALM_SHOW, then --hide and --show', () => {
    const rules = hideRules({
      file: '# comment\n\nnotes.txt\n  !id_rsa  \n',
      envHide: 'a.txt, b.txt',
      envShow: 'c.txt',
      hide: ['d.txt'],
      show: ['e.txt,f.txt'],
    })
    assert.deepEqual(rules.slice(DEFAULT_HIDE.length), ['notes.txt', '!id_rsa', 'a.txt', 'b.txt', '!c.txt', 'd.txt', '!e.txt', '!f.txt'])
    assert.ok(!hides(rules, 'id_rsa'))
    assert.ok(hides(rules, 'x/notes.txt'))
  })
  test('--show wins over REALM_HIDE, --hide over REALM_SHOW', () => {
    assert.ok(!hides(hideRules({ envHide: 'x.txt', show: ['x.txt'] }), 'x.txt'))
    assert.ok(hides(hideRules({ envShow: '*.pem', hide: ['server.pem'] }), 'server.pem'))
  })
  test("--show '*' shows everything", () => {
    const rules = hideRules({ show: ['*'] })
    for (const rel of ['.env', 'a/id_rsa', 'k.pem', '.aws/credentials']) assert.ok(!hides(rules, rel), rel)
  })
})
