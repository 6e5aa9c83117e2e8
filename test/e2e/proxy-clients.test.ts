// The everyday clients an agent runs, the real ones of a Debian image (git, npm, pip, curl), through realm's
// proxy under the default policy: clone, fetch and push over https, an npm install, a pip install, a curl.
// No internet: the "internet" is the test's own HTTPS server (test/clients/origin.ts) on 127.0.0.2, an address
// of the host that the proxy reaches only because the test allows it exactly (--allow 127.0.0.2:PORT), with a
// certificate of a CA that the image trusts in its system store (test/clients/Dockerfile). A client that goes
// around the proxy is still stopped, and reported.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { NPM_PACKAGE, type Origin, PY_PACKAGE, startOrigin } from '../clients/origin.js'
import { dockerSkip, imageInputs } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { explain, NET_PATHS, netPathEnv, realm, tempDir } from '../helpers/realm.js'

const dockerProblem = await dockerSkip()
const skip =
  dockerProblem || (process.getuid?.() !== 0 ? 'SKIPPED: the clients image is built on a debootstrapped base, which needs root' : false)
if (skip && process.env.CI && !dockerProblem) throw new Error(String(skip))

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const BASE_IMAGE = process.env.REALM_CLAUDE_BASE_IMAGE ?? 'realm-debian-base:bookworm'
const IMAGE = 'realm-clients-e2e:latest'
const ADDRESS = '127.0.0.2'

/** Builds the clients' image once per change of its inputs (labelled with their hash). */
async function ensureClientsImage(): Promise<void> {
  await execa('bash', [path.join(ROOT, 'test', 'claude', 'debian-base.sh'), BASE_IMAGE], { stdout: 'ignore', stderr: 'inherit' })
  const hash = createHash('sha256').update(BASE_IMAGE)
  for (const file of ['test/clients/Dockerfile', 'test/image/claude-standin.sh']) hash.update(await fs.readFile(path.join(ROOT, file)))
  const want = hash.digest('hex').slice(0, 12)
  if ((await imageInputs(IMAGE)) === want) return
  const started = Date.now()
  const build = await execa(
    'docker',
    [
      'build',
      '-f',
      path.join(ROOT, 'test', 'clients', 'Dockerfile'),
      '-t',
      IMAGE,
      '--build-arg',
      `BASE_IMAGE=${BASE_IMAGE}`,
      '--label',
      `realm.test.inputs=${want}`,
      path.join(ROOT, 'test'),
    ],
    { reject: false, all: true },
  )
  if (build.exitCode !== 0) throw new Error(`docker build of ${IMAGE} failed:\n${build.all}`)
  console.log(`# built ${IMAGE} in ${Math.round((Date.now() - started) / 1000)} s`)
}

/** A CONNECT proxy of the test's own, standing for a company's: it records each target and tunnels to it. */
async function startUpstreamProxy(): Promise<{ port: number; targets: string[]; auth: string[]; close(): Promise<void> }> {
  const targets: string[] = []
  const auth: string[] = []
  const server = http.createServer((_req, res) => res.writeHead(405).end())
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    targets.push(req.url ?? '')
    auth.push(String(req.headers['proxy-authorization'] ?? ''))
    const [host, port] = [(req.url ?? '').replace(/:\d+$/, ''), Number((req.url ?? '').split(':').pop())]
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    targets,
    auth,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('the real clients of an image, through realm’s proxy', { skip, timeout: 30 * 60_000 }, () => {
  let fx: { project: string; home: string }
  useProject(undefined, (f) => (fx = f))
  let tmp: { path: string; cleanup: () => Promise<void> }
  let origin: Origin

  before(
    async () => {
      await ensureClientsImage()
      tmp = await tempDir('realm-clients-')
      // The CA the image trusts: its certificate and key come out of the image, and sign the origin's.
      const ca = { cert: path.join(tmp.path, 'ca.crt'), key: path.join(tmp.path, 'ca.key') }
      for (const [file, inImage] of [
        [ca.cert, '/etc/realm-e2e/ca.crt'],
        [ca.key, '/etc/realm-e2e/ca.key'],
      ]) {
        await fs.writeFile(file, (await execa('docker', ['run', '--rm', '--entrypoint', 'cat', IMAGE, inImage])).stdout)
      }
      origin = await startOrigin(tmp.path, ADDRESS, ca)
    },
    { timeout: 30 * 60_000 },
  )
  after(async () => {
    await origin?.close()
    await tmp?.cleanup()
  })

  /** The agent's script: each client in turn; `set -e` (the stand-in's sh -e) stops at the first failure. */
  function everydayScript(url: string, branch: string): string {
    return [
      'cd /tmp',
      // git: clone (tracing its HTTP, to see the proxy's challenge and its answer), then push and fetch.
      `GIT_TRACE_CURL=/tmp/git-trace GIT_TRACE_CURL_NO_DATA=1 git clone -q ${url}/git/origin.git clone`,
      `printf 'git-407=%s\\n' "$(grep -c '<= Recv header: HTTP/1.1 407' /tmp/git-trace)"`,
      `printf 'git-challenge=%s\\n' "$(grep -ci '<= Recv header: Proxy-Authenticate: Basic' /tmp/git-trace)"`,
      'cd clone && echo pushed >pushed.txt && git add pushed.txt',
      'git -c user.name=agent -c user.email=agent@example.com -c commit.gpgSign=false commit -qm "from the agent"',
      `git push -q origin HEAD:refs/heads/${branch}`,
      'git fetch -q origin && printf "git-fetch=%s\\n" "$(git rev-parse --short origin/main)"',
      'printf "git-pushed=%s\\n" "$(git rev-parse HEAD)"',
      // npm: an install from a registry (the test's, as --registry names it).
      'mkdir /tmp/npm-project && cd /tmp/npm-project',
      `npm install --no-audit --no-fund --no-update-notifier --registry ${url}/npm/ ${NPM_PACKAGE} >/tmp/npm.log 2>&1 || { cat /tmp/npm.log; exit 1; }`,
      `node -e "console.log('npm=' + require('${NPM_PACKAGE}'))"`,
      // pip: an install from a PEP 503 index.
      `pip install -q --no-cache-dir --disable-pip-version-check --target /tmp/py --index-url ${url}/simple/ ${PY_PACKAGE}`,
      `PYTHONPATH=/tmp/py python3 -c "import realm_e2e_pkg; print('pip=' + realm_e2e_pkg.GREETING)"`,
      // curl
      `printf 'curl=%s\\n' "$(curl -sS ${url}/hello)"`,
    ].join('\n')
  }

  // On both of realm's paths: the bridge, and the relay every other engine takes (forced here).
  for (const netPath of NET_PATHS) {
    test(`${netPath}: git clone, fetch and push, npm install, pip install and curl work through the proxy under allowlist`, async () => {
      const result = await realm(
        ['new', `clients-${netPath}`, '--allow', `${ADDRESS}:${origin.port}`, '--', everydayScript(origin.url, `from-agent-${netPath}`)],
        {
          cwd: fx.project,
          home: fx.home,
          env: { REALM_IMAGE: IMAGE, ...netPathEnv(netPath) },
          timeout: 300_000,
        },
      )
      assert.equal(result.code, 0, explain(result))
      const out = result.stdout
      for (const line of out.split('\n').filter((l) => /^(git|npm|pip|curl)[a-z0-9-]*=/.test(l))) console.log(`# ${line}`)
      // git's libcurl waited for the proxy's challenge (a 407 naming Basic), then sent the token.
      assert.match(out, /^git-407=[1-9]\d*$/m, explain(result))
      assert.match(out, /^git-challenge=[1-9]\d*$/m, explain(result))
      const pushed = /^git-pushed=([0-9a-f]{40})$/m.exec(out)?.[1]
      assert.ok(pushed, explain(result))
      const { stdout: onOrigin } = await execa('git', ['--git-dir', origin.repo, 'rev-parse', `refs/heads/from-agent-${netPath}`])
      assert.equal(onOrigin, pushed, 'the push reached the origin')
      assert.match(out, /^git-fetch=[0-9a-f]+$/m)
      assert.match(out, /^npm=from the test registry$/m)
      assert.match(out, /^pip=from the test index$/m)
      assert.match(out, /^curl=hello from the origin$/m)
      for (const request of [
        'GET /git/origin.git/info/refs?service=git-upload-pack',
        'POST /git/origin.git/git-receive-pack',
        `GET /npm/${NPM_PACKAGE}`,
        `GET /npm/${NPM_PACKAGE}/-/${NPM_PACKAGE}-1.0.0.tgz`,
        `GET /simple/${PY_PACKAGE}/`,
        'GET /hello',
      ])
        assert.ok(origin.seen.includes(request), `${request} reached the origin: ${origin.seen.join(', ')}`)
      // Nothing was stopped: no client went around the proxy, and none looked a name up itself.
      assert.doesNotMatch(result.stderr, /realm: blocked/, explain(result))
    })

    test(`${netPath}: a client told to go around the proxy is still stopped, and the line says so`, async () => {
      const script = [
        // curl and git without the proxy; a raw TCP connect; a DNS lookup of the agent's own.
        `curl -sS -m 5 --noproxy '*' https://198.51.100.7/ && exit 1; echo curl-direct=refused`,
        'env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy GIT_TERMINAL_PROMPT=0 git ls-remote https://198.51.100.8/x.git && exit 1; echo git-direct=refused',
        `bash -c 'exec 3<>/dev/tcp/198.51.100.9/5432' 2>/dev/null && exit 1; echo tcp-direct=refused`,
        `getent hosts registry.npmjs.org && exit 1; echo dns=refused`,
        // The same through the proxy works: the origin is allowed.
        `printf 'curl=%s\\n' "$(curl -sS ${origin.url}/hello)"`,
      ].join('\n')
      const result = await realm(['new', `clients-around-${netPath}`, '--allow', `${ADDRESS}:${origin.port}`, '--', script], {
        cwd: fx.project,
        home: fx.home,
        env: { REALM_IMAGE: IMAGE, REALM_TRACE: '1', ...netPathEnv(netPath) },
        timeout: 120_000,
      })
      assert.equal(result.code, 0, explain(result))
      for (const probe of ['curl-direct', 'git-direct', 'tcp-direct', 'dns'])
        assert.match(result.stdout, new RegExp(`^${probe}=refused$`, 'm'))
      assert.match(result.stdout, /^curl=hello from the origin$/m)
      const line = result.stderr.split('\n').find((l) => l.startsWith('realm: blocked '))
      assert.ok(line, explain(result))
      console.log(`# ${line}`)
      for (const part of [
        '198.51.100.7:443 (around the proxy)',
        '198.51.100.8:443 (around the proxy)',
        '198.51.100.9:5432 (around the proxy)',
      ])
        assert.ok(line.includes(part), `${part} in: ${line}`)
      assert.match(line, /registry\.npmjs\.org( ×\d+)? \(DNS\)/)
      // Nothing here that an --allow would open: the advice is to use the proxy, never to open DNS.
      assert.match(
        line,
        / — (DNS is closed by design \(realm's proxy resolves names\)|only realm's proxy leads out): the tool must use HTTPS_PROXY/,
      )
      assert.doesNotMatch(line, /--allow|:53\b/)
    })
  }

  test("realm's proxy goes out through the host's own proxy (HTTPS_PROXY), which sees only what the policy let through", async () => {
    const upstream = await startUpstreamProxy()
    try {
      const script = [
        `printf 'curl=%s\\n' "$(curl -sS ${origin.url}/hello)"`,
        'cd /tmp',
        `git clone -q ${origin.url}/git/origin.git c && echo git=ok`,
      ].join('\n')
      const result = await realm(['new', 'clients-upstream', '--allow', `${ADDRESS}:${origin.port}`, '--', script], {
        cwd: fx.project,
        home: fx.home,
        env: { REALM_IMAGE: IMAGE, HTTPS_PROXY: `http://corp:secret@127.0.0.1:${upstream.port}`, NO_PROXY: '' },
        timeout: 120_000,
      })
      assert.equal(result.code, 0, explain(result))
      assert.match(result.stdout, /^curl=hello from the origin$/m)
      assert.match(result.stdout, /^git=ok$/m)
      assert.ok(upstream.targets.length >= 2, `the upstream proxy tunnelled: ${upstream.targets.join(', ')}`)
      assert.ok(
        upstream.targets.every((t) => t === `${ADDRESS}:${origin.port}`),
        upstream.targets.join(', '),
      )
      assert.ok(
        upstream.auth.every((a) => a === `Basic ${Buffer.from('corp:secret').toString('base64')}`),
        'its credentials, from HTTPS_PROXY',
      )
    } finally {
      await upstream.close()
    }
  })
})
