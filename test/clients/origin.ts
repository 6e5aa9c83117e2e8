// The test's own "internet" for the everyday clients: one HTTPS server, its certificate signed by the test CA
// that the clients' image trusts (test/clients/Dockerfile), serving
//   /git/<repo>.git/...   a git repository over smart HTTP (git http-backend): clone, fetch and push
//   /npm/...              a static npm registry: a packument and its tarball
//   /simple/..., /files/  a PEP 503 simple index and a wheel, for pip
//   /hello                a line of text, for curl
// Every request is recorded, so the test sees what reached it.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import path from 'node:path'

import { execa } from 'execa'

export const NPM_PACKAGE = 'realm-e2e-pkg'
export const PY_PACKAGE = 'realm-e2e-pkg'
const WHEEL = 'realm_e2e_pkg-1.0.0-py3-none-any.whl'

export interface Origin {
  /** https://ADDRESS:PORT */
  url: string
  port: number
  /** the bare repository behind /git/origin.git */
  repo: string
  /** `METHOD path` of every request, in order */
  seen: string[]
  close(): Promise<void>
}

const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd })

/** A server certificate for `address`, signed by the CA whose certificate and key are given (PEM files). */
async function serverCertificate(dir: string, address: string, caCert: string, caKey: string): Promise<{ key: Buffer; cert: Buffer }> {
  const key = path.join(dir, 'server.key')
  const csr = path.join(dir, 'server.csr')
  const cert = path.join(dir, 'server.crt')
  await execa('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', `/CN=${address}`, '-out', csr])
  const ext = path.join(dir, 'server.ext')
  await fs.writeFile(ext, `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\n`)
  await execa('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caCert,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    cert,
  ])
  return { key: await fs.readFile(key), cert: await fs.readFile(cert) }
}

/** The bare repository the clients clone, fetch and push: one commit on main. */
async function makeRepository(dir: string): Promise<string> {
  const work = path.join(dir, 'work')
  await fs.mkdir(work, { recursive: true })
  await git(work, 'init', '-q', '-b', 'main')
  await fs.writeFile(path.join(work, 'README.md'), '# served over TLS\n')
  await git(work, 'add', 'README.md')
  await git(work, '-c', 'user.name=origin', '-c', 'user.email=origin@example.com', '-c', 'commit.gpgSign=false', 'commit', '-qm', 'first')
  const bare = path.join(dir, 'git', 'origin.git')
  await git(dir, 'clone', '-q', '--bare', work, bare)
  return bare
}

/** A package tarball (package/package.json, package/index.js) and its packument, as a registry serves them. */
async function makeNpmPackage(dir: string, base: string): Promise<{ packument: string; tarball: Buffer }> {
  const root = path.join(dir, 'npm', 'package')
  await fs.mkdir(root, { recursive: true })
  await fs.writeFile(path.join(root, 'package.json'), JSON.stringify({ name: NPM_PACKAGE, version: '1.0.0', main: 'index.js' }))
  await fs.writeFile(path.join(root, 'index.js'), "module.exports = 'from the test registry'\n")
  const file = path.join(dir, 'npm', 'pkg.tgz')
  await execa('tar', ['-czf', file, '-C', path.join(dir, 'npm'), 'package'])
  const tarball = await fs.readFile(file)
  const packument = {
    name: NPM_PACKAGE,
    'dist-tags': { latest: '1.0.0' },
    versions: {
      '1.0.0': {
        name: NPM_PACKAGE,
        version: '1.0.0',
        main: 'index.js',
        dist: {
          tarball: `${base}/npm/${NPM_PACKAGE}/-/${NPM_PACKAGE}-1.0.0.tgz`,
          shasum: createHash('sha1').update(tarball).digest('hex'),
          integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
        },
      },
    },
  }
  return { packument: JSON.stringify(packument), tarball }
}

// A pure-Python wheel: a module and the dist-info pip reads (RECORD with each file's hash).
const WHEEL_SCRIPT = `
import base64, hashlib, sys, zipfile
files = {
  'realm_e2e_pkg/__init__.py': b'GREETING = "from the test index"\\n',
  'realm_e2e_pkg-1.0.0.dist-info/METADATA': b'Metadata-Version: 2.1\\nName: realm-e2e-pkg\\nVersion: 1.0.0\\n',
  'realm_e2e_pkg-1.0.0.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: realm-e2e\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
def digest(data):
  return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
record = ''.join('%s,%s,%d\\n' % (name, digest(data), len(data)) for name, data in files.items())
record += 'realm_e2e_pkg-1.0.0.dist-info/RECORD,,\\n'
with zipfile.ZipFile(sys.argv[1], 'w') as wheel:
  for name, data in files.items():
    wheel.writestr(name, data)
  wheel.writestr('realm_e2e_pkg-1.0.0.dist-info/RECORD', record)
`

async function makeWheel(dir: string): Promise<{ wheel: Buffer; index: string }> {
  const file = path.join(dir, WHEEL)
  await execa('python3', ['-c', WHEEL_SCRIPT, file])
  const wheel = await fs.readFile(file)
  const sha = createHash('sha256').update(wheel).digest('hex')
  const index = `<!DOCTYPE html>\n<html><body><a href="/files/${WHEEL}#sha256=${sha}">${WHEEL}</a></body></html>\n`
  return { wheel, index }
}

/** Runs `git http-backend` for one request (CGI): its headers become the response's. */
function gitBackend(root: string, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, url: URL): void {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // A user name enables receive-pack (push), which http-backend refuses to anonymous clients.
    REMOTE_USER: 'e2e',
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    PATH_INFO: decodeURIComponent(url.pathname.slice('/git'.length)),
    QUERY_STRING: url.search.slice(1),
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
    GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  }
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length']
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'inherit'] })
  req.pipe(child.stdin)
  let head = Buffer.alloc(0)
  let started = false
  child.stdout.on('data', (chunk: Buffer) => {
    if (started) return void res.write(chunk)
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) return
    started = true
    let status = 200
    const headers: Record<string, string> = {}
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const at = line.indexOf(':')
      const name = line.slice(0, at).trim().toLowerCase()
      const value = line.slice(at + 1).trim()
      if (name === 'status') status = Number.parseInt(value, 10)
      else headers[name] = value
    }
    res.writeHead(status, headers)
    res.write(head.subarray(end + 4))
  })
  child.on('close', () => {
    if (!started) res.writeHead(500)
    res.end()
  })
}

/**
 * Starts the origin on `address` (an address of the host the proxy may reach once allowed exactly), with a
 * certificate signed by `ca` (its certificate and key, PEM files).
 */
export async function startOrigin(dir: string, address: string, ca: { cert: string; key: string }): Promise<Origin> {
  const tls = await serverCertificate(dir, address, ca.cert, ca.key)
  const repo = await makeRepository(dir)
  const seen: string[] = []
  let npm: { packument: string; tarball: Buffer } | undefined
  let python: { wheel: Buffer; index: string } | undefined
  const server = https.createServer(tls, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://origin')
    seen.push(`${req.method} ${url.pathname}${url.search}`)
    if (url.pathname.startsWith('/git/')) return gitBackend(path.dirname(repo), req, res, url)
    if (url.pathname === `/npm/${NPM_PACKAGE}` && npm)
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(npm.packument)
    if (url.pathname === `/npm/${NPM_PACKAGE}/-/${NPM_PACKAGE}-1.0.0.tgz` && npm)
      return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(npm.tarball)
    if ((url.pathname === `/simple/${PY_PACKAGE}/` || url.pathname === `/simple/${PY_PACKAGE}`) && python)
      return void res.writeHead(200, { 'content-type': 'text/html' }).end(python.index)
    if (url.pathname === `/files/${WHEEL}` && python)
      return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(python.wheel)
    if (url.pathname === '/hello') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from the origin\n')
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not here\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, address, resolve)
  })
  const port = (server.address() as AddressInfo).port
  const url = `https://${address}:${port}`
  npm = await makeNpmPackage(dir, url)
  python = await makeWheel(dir)
  return {
    url,
    port,
    repo,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
