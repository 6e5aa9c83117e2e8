// The container's privileges and limits: least privilege by default, each default the user's to change with a
// flag or a variable. Pure: reading the choice and planning its docker flags start nothing.
import { UserError } from '../common/errors.js'

/**
 * The capabilities a run keeps of Docker's default set; every other one is dropped. They matter only when the
 * agent is root in its container (realm run as root): a non-root agent gets none of them, whatever the set.
 * Each is there for work that fails without it (test/e2e/container-limits.test.ts):
 * - SETUID, SETGID: apt-get drops to its _apt user to download (without them: "setgroups ... not permitted");
 * - CHOWN: apt-get gives its download directories to _apt, and tar as root restores files' owners;
 * - DAC_OVERRIDE: root writes files it does not own, as the project's files are when realm runs as root on a
 *   checkout of another user (and apt-get moves _apt's downloads);
 * - FOWNER: root changes the mode of files it does not own (`chmod +x` on such a project file, apt-get's
 *   directories).
 */
export const DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'] as const

/** Enough for an agent, a language server, a parallel build and a test runner's workers; a fork bomb stops here. */
export const DEFAULT_PIDS_LIMIT = 4096

/**
 * The size cap of each of realm's tmpfs mounts (HOME, realm's git directory, a copy workspace), as tmpfs takes
 * it. A quarter of the host's memory each, half of what tmpfs would allow each by itself: all three full still
 * leave the host a quarter. A memory limit (--docker-args '--memory ...') bounds them together with the rest.
 */
export const DEFAULT_TMPFS_SIZE = '25%'

/** Linux's capabilities (capabilities(7)), as Docker names them, and ALL. */
const KNOWN_CAPS = new Set(
  [
    'AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND BPF CHECKPOINT_RESTORE CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID',
    'IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN NET_BIND_SERVICE NET_BROADCAST NET_RAW',
    'PERFMON SETFCAP SETGID SETPCAP SETUID SYSLOG SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE',
    'SYS_RAWIO SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG WAKE_ALARM ALL',
  ]
    .join(' ')
    .split(' '),
)

export interface ContainerLimits {
  /** the capabilities kept; every other one is dropped */
  caps: string[]
  /** the most processes and threads the container may have; undefined: no limit */
  pidsLimit: number | undefined
  /** the size cap of each of realm's tmpfs mounts; undefined: none */
  tmpfsSize: string | undefined
  /** whether setuid programs may raise privileges (no-new-privileges off) */
  newPrivileges: boolean
}

export interface LimitChoice {
  /** --caps */
  caps?: string
  /** --pids-limit */
  pidsLimit?: string | number
  /** --tmpfs-size */
  tmpfsSize?: string
  /** --new-privileges */
  newPrivileges?: boolean
}

/** 'CAP_net_raw' → 'NET_RAW'. */
export function capName(text: string): string {
  return text.trim().toUpperCase().replace(/^CAP_/, '')
}

/** A --caps / REALM_CAPS value: capability names, comma-separated, or 'none'. */
export function parseCaps(text: string, source: string): string[] {
  if (text.trim().toLowerCase() === 'none') return []
  const caps = text.split(',').map(capName).filter(Boolean)
  const unknown = caps.find((cap) => !KNOWN_CAPS.has(cap))
  if (unknown !== undefined || caps.length === 0) {
    throw new UserError(`${source}: '${unknown ?? text}' is not a capability — give names such as ${DEFAULT_CAPS.join(',')}, or 'none'`)
  }
  return [...new Set(caps)]
}

/** A --pids-limit / REALM_PIDS_LIMIT value: a positive number, or 'none'. */
export function parsePidsLimit(text: string, source: string): number | undefined {
  const value = text.trim().toLowerCase()
  if (value === 'none') return undefined
  if (!/^[1-9]\d{0,8}$/.test(value))
    throw new UserError(`${source}: '${text}' is not a number of processes — give one such as 4096, or 'none'`)
  return Number(value)
}

/** A --tmpfs-size / REALM_TMPFS_SIZE value: bytes with an optional k, m or g, a percentage of memory, or 'none'. */
export function parseTmpfsSize(text: string, source: string): string | undefined {
  const value = text.trim().toLowerCase()
  if (value === 'none') return undefined
  if (!/^([1-9]\d*[kmg]?|([1-9]\d?|100)%)$/.test(value)) {
    throw new UserError(`${source}: '${text}' is not a size — give one such as 2g, 512m or 25% (of memory), or 'none'`)
  }
  return value
}

/** The run's limits: each from its flag, else its variable, else the default. */
export function readLimits(choice: LimitChoice, env: NodeJS.ProcessEnv = process.env): ContainerLimits {
  const pick = (flag: string | number | undefined, flagName: string, variable: string) =>
    flag !== undefined ? { text: String(flag), source: flagName } : env[variable] ? { text: env[variable], source: variable } : undefined
  const caps = pick(choice.caps, '--caps', 'REALM_CAPS')
  const pids = pick(choice.pidsLimit, '--pids-limit', 'REALM_PIDS_LIMIT')
  const tmpfs = pick(choice.tmpfsSize, '--tmpfs-size', 'REALM_TMPFS_SIZE')
  return {
    caps: caps ? parseCaps(caps.text, caps.source) : [...DEFAULT_CAPS],
    pidsLimit: pids ? parsePidsLimit(pids.text, pids.source) : DEFAULT_PIDS_LIMIT,
    tmpfsSize: tmpfs ? parseTmpfsSize(tmpfs.text, tmpfs.source) : DEFAULT_TMPFS_SIZE,
    newPrivileges: Boolean(choice.newPrivileges) || env.REALM_NEW_PRIVILEGES === '1',
  }
}

/** The docker run flags that put `limits` in force. */
export function limitArgs(limits: ContainerLimits): string[] {
  const args: string[] = []
  // No setuid program or file capability in the image raises what the agent may do.
  if (!limits.newPrivileges) args.push('--security-opt', 'no-new-privileges')
  args.push('--cap-drop', 'ALL')
  for (const cap of limits.caps) args.push('--cap-add', cap)
  if (limits.pidsLimit !== undefined) args.push('--pids-limit', String(limits.pidsLimit))
  return args
}

/** The options of one of realm's tmpfs mounts, with its size cap. */
export function tmpfsOptions(options: string, limits: Pick<ContainerLimits, 'tmpfsSize'>): string {
  return limits.tmpfsSize === undefined ? options : `${options},size=${limits.tmpfsSize}`
}
