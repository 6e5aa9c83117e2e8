// A host "outside" for the network tests: a network namespace with one address in 198.18.0.0/15 (a
// benchmarking range, not private) behind a veth pair, a web server on its port 8080, and two names for it in
// /etc/hosts (the proxy resolves names on the host, as it would with real DNS). Nothing leaves the machine.
// Each instance takes a /30 of its own, so that test files running at the same time do not collide. Needs root.
import { randomBytes, randomInt } from 'node:crypto'
import fs from 'node:fs/promises'

import { execa } from 'execa'

export interface OutsideHost {
  /** its address: http://ADDRESS:8080/ answers `outside` */
  address: string
  /** a name that resolves to it, for --allow */
  allowedName: string
  /** another name that resolves to it, left out of --allow */
  blockedName: string
  stop(): Promise<void>
}

export async function startOutsideHost(): Promise<OutsideHost> {
  const id = randomBytes(3).toString('hex')
  const ns = `realm-e2e-out-${id}`
  const veth = `rlmo${id}`
  // 198.18.S.B/30: the host end is .B+1, the outside end .B+2.
  const subnet = `198.${18 + randomInt(2)}.${randomInt(256)}`
  const base = randomInt(64) * 4
  const address = `${subnet}.${base + 2}`
  const allowedName = `outside-${id}.realm-e2e.test`
  const blockedName = `blocked-${id}.realm-e2e.test`
  const mark = `# realm e2e ${id}`
  const ip = (...args: string[]) => execa('ip', args)
  let server: ReturnType<typeof execa> | undefined

  const stop = async () => {
    const hosts = await fs.readFile('/etc/hosts', 'utf8')
    await fs.writeFile(
      '/etc/hosts',
      hosts
        .split('\n')
        .filter((line) => !line.endsWith(mark))
        .join('\n'),
    )
    server?.kill()
    await execa('ip', ['link', 'del', veth], { reject: false })
    await execa('ip', ['netns', 'del', ns], { reject: false })
  }
  try {
    await ip('netns', 'add', ns)
    await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`)
    await ip('link', 'set', `${veth}p`, 'netns', ns)
    await ip('addr', 'add', `${subnet}.${base + 1}/30`, 'dev', veth)
    await ip('link', 'set', veth, 'up')
    await ip('-n', ns, 'addr', 'add', `${address}/30`, 'dev', `${veth}p`)
    await ip('-n', ns, 'link', 'set', `${veth}p`, 'up')
    await ip('-n', ns, 'link', 'set', 'lo', 'up')
    await ip('-n', ns, 'route', 'add', 'default', 'via', `${subnet}.${base + 1}`)
    const listen = "require('http').createServer((q,s)=>s.end('outside\\n')).listen(8080,'0.0.0.0')"
    server = execa('ip', ['netns', 'exec', ns, process.execPath, '-e', listen], { reject: false })
    await fs.appendFile('/etc/hosts', `${address} ${allowedName} ${blockedName} ${mark}\n`)
    for (let i = 0; i < 50; i++) {
      const up = await execa('curl', ['-s', '-m', '1', `http://${address}:8080/`], { reject: false })
      if (up.stdout.includes('outside')) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { address, allowedName, blockedName, stop }
}
