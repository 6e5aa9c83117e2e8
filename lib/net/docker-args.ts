// Extra docker flags (--docker-args, REALM_DOCKER_ARGS) that would undo the network policy or let a credential
// into the container are refused, each naming what to use instead. Nothing is silently dropped.
import { UserError } from '../common/errors.js'
import { CREDENTIAL_NAMES } from './broker.js'
import { enforces, type NetworkMode } from './policy.js'

/** Capabilities that would let the agent change or go around the sidecar's rules. */
const NETWORK_CAPS = new Set(['ALL', 'NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'])

/**
 * Flags Docker refuses for a container that joins another's network namespace, as the agent's container joins
 * the sidecar's under an enforcing policy: they set what only the namespace's holder sets (ports, names, DNS).
 */
const NAMESPACE_FLAGS = [
  '-p',
  '--publish',
  '-P',
  '--publish-all',
  '-h',
  '--hostname',
  '--dns',
  '--dns-option',
  '--dns-search',
  '--add-host',
  '--mac-address',
  '--expose',
  '--link',
  '--network-alias',
  '--ip',
  '--ip6',
  '--link-local-ip',
]

/** The namespace flag `word` is, if it is one (`-p 80`, `-p80`, `--publish=80`). */
function namespaceFlag(word: string): string | undefined {
  return NAMESPACE_FLAGS.find((flag) =>
    flag.startsWith('--') ? word === flag || word.startsWith(`${flag}=`) : word === flag || (flag !== '-P' && word.startsWith(flag)),
  )
}

/** `--name=value` or `--name value` at `i`: the value, and how many words it took. */
function flagValue(args: string[], i: number, name: string): string | undefined {
  const word = args[i]
  if (word === name) return args[i + 1] ?? ''
  if (word.startsWith(`${name}=`)) return word.slice(name.length + 1)
  return undefined
}

export function checkDockerArgs(args: string[], mode: NetworkMode, source: string): void {
  const refuse = (what: string, instead: string) => new UserError(`${source}: ${what} conflicts with realm's network policy — ${instead}`)
  for (let i = 0; i < args.length; i++) {
    const word = args[i]
    const network = flagValue(args, i, '--network') ?? flagValue(args, i, '--net')
    if (network !== undefined) {
      throw refuse(
        `'${word.startsWith('--net=') || word === '--net' ? '--net' : '--network'}'`,
        `use realm's own --network host (the host's network) or --network open (an unfiltered network)`,
      )
    }
    if (!enforces(mode)) continue
    if (word === '--privileged') throw refuse("'--privileged'", 'leave it out, or use --network open')
    const joined = namespaceFlag(word)
    if (joined) throw refuse(`'${joined}'`, "the agent's container shares the sidecar's network; leave it out, or use --network open")
    const cap = flagValue(args, i, '--cap-add')
    if (cap?.split(',').some((c) => NETWORK_CAPS.has(c.trim().toUpperCase().replace(/^CAP_/, '')))) {
      throw refuse(`'--cap-add ${cap}'`, 'leave it out, or use --network open')
    }
  }
  for (let i = 0; i < args.length; i++) {
    const env = flagValue(args, i, '-e') ?? flagValue(args, i, '--env')
    const name = env?.split('=')[0]
    if (name && (CREDENTIAL_NAMES as string[]).includes(name)) {
      throw new UserError(
        `${source}: '-e ${name}' would put the credential into the container — leave it out; realm's broker adds it on the host`,
      )
    }
  }
}
