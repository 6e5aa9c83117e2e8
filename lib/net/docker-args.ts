// Extra docker flags (--docker-args, REALM_DOCKER_ARGS) that would undo the network policy, weaken the container's
// least privilege under it, or let a credential into the container are refused, each naming what to use instead.
// Nothing is silently dropped.
import { UserError } from '../common/errors.js'
import { capName } from '../container/limits.js'
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

/** `--security-opt` values that turn off one of the kernel's confinements (a seccomp or AppArmor profile may open anything). */
const WEAKER_SECURITY = /^(no-new-privileges[=:](false|0)|seccomp[=:]|apparmor[=:]|label[=:]disable|systempaths[=:]unconfined)/i

/**
 * Flags that undo one of the container's least-privilege defaults (container/limits.ts) or give the agent the
 * host's devices or namespaces: under an enforcing policy each would also let the agent reach around it.
 */
function weakening(args: string[], i: number): { flag: string; instead: string } | undefined {
  const word = args[i]
  const realmFlag = (flag: string) => `use realm's ${flag} instead, or --network open`
  const cap = flagValue(args, i, '--cap-add')
  if (cap !== undefined) return { flag: `--cap-add ${cap}`, instead: realmFlag('--caps') }
  const security = flagValue(args, i, '--security-opt')
  if (security !== undefined && WEAKER_SECURITY.test(security)) {
    return {
      flag: `--security-opt ${security}`,
      instead: security.startsWith('no-new') ? realmFlag('--new-privileges') : 'leave it out, or use --network open',
    }
  }
  const pids = flagValue(args, i, '--pids-limit')
  if (pids !== undefined && !(Number(pids) > 0)) return { flag: `--pids-limit ${pids}`, instead: realmFlag('--pids-limit none') }
  for (const name of ['--device', '--device-cgroup-rule', '--gpus']) {
    if (flagValue(args, i, name) !== undefined) return { flag: name, instead: 'leave it out, or use --network open' }
  }
  for (const name of ['--userns', '--pid', '--ipc', '--uts', '--cgroupns']) {
    const value = flagValue(args, i, name)
    if (value !== undefined && /^(host|container:)/.test(value)) {
      return { flag: `${name} ${value}`, instead: 'leave it out, or use --network open' }
    }
  }
  return word === '--privileged' ? { flag: word, instead: 'leave it out, or use --network open' } : undefined
}

/** `--name=value` or `--name value` at `i`: the value, and how many words it took. */
function flagValue(args: string[], i: number, name: string): string | undefined {
  const word = args[i]
  if (word === name) return args[i + 1] ?? ''
  if (word.startsWith(`${name}=`)) return word.slice(name.length + 1)
  return undefined
}

/** realm's own --caps: any set the user chooses, but none that could change the sidecar's rules under an enforcing policy. */
export function checkCaps(caps: string[], mode: NetworkMode, source: string): void {
  if (!enforces(mode)) return
  const cap = caps.map(capName).find((c) => NETWORK_CAPS.has(c))
  if (cap) throw new UserError(`${source}: ${cap} would let the agent change realm's network policy — leave it out, or use --network open`)
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
    const joined = namespaceFlag(word)
    if (joined) throw refuse(`'${joined}'`, "the agent's container shares the sidecar's network; leave it out, or use --network open")
    const weaker = weakening(args, i)
    if (weaker) throw refuse(`'${weaker.flag}'`, weaker.instead)
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
