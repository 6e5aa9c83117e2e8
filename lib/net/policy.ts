// The egress policy of a run: which mode, and which destinations realm's proxy lets the agent reach. Pure apart
// from reading the user's own allow file; the proxy (proxy.ts) applies it, the sidecar (sidecar.ts) makes it the
// only way out.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { realmHome } from '../common/paths.js'

export const NETWORK_MODES = ['allowlist', 'model', 'open', 'host'] as const
export type NetworkMode = (typeof NETWORK_MODES)[number]
export const DEFAULT_NETWORK_MODE: NetworkMode = 'allowlist'

/** Whether the mode closes the network and leaves only realm's proxy and broker. */
export function enforces(mode: NetworkMode): boolean {
  return mode === 'allowlist' || mode === 'model'
}

export function parseNetworkMode(value: string | undefined, source: string): NetworkMode {
  if (value === undefined || value === '') return DEFAULT_NETWORK_MODE
  if ((NETWORK_MODES as readonly string[]).includes(value)) return value as NetworkMode
  throw new UserError(`${source} must be one of ${NETWORK_MODES.join(', ')}, not '${value}'`)
}

/**
 * A destination the proxy lets through. `host` is a lowercase name, or an IP address (which also lets the
 * proxy connect to that exact address when it is loopback, private or the host's own); a leading `*.` matches
 * every subdomain. Without a port, 443 and 80.
 */
export interface AllowEntry {
  host: string
  port?: number
}

/** What coding work needs: the package registries of the main ecosystems and the main git forges. */
export const PRESET: readonly string[] = [
  // JavaScript
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'repo.yarnpkg.com',
  // Python
  'pypi.org',
  'files.pythonhosted.org',
  // Rust
  'crates.io',
  'index.crates.io',
  'static.crates.io',
  'static.rust-lang.org',
  // Go
  'proxy.golang.org',
  'sum.golang.org',
  // Ruby, PHP, .NET, JVM
  'rubygems.org',
  'index.rubygems.org',
  'repo.packagist.org',
  'api.nuget.org',
  'repo.maven.apache.org',
  'repo1.maven.org',
  'plugins.gradle.org',
  'services.gradle.org',
  // git forges (clones, releases, raw files)
  'github.com',
  'api.github.com',
  'codeload.github.com',
  'objects.githubusercontent.com',
  'raw.githubusercontent.com',
  'gitlab.com',
  'bitbucket.org',
]

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/

/** Parses `HOST[:PORT]` (an IPv6 address in brackets: `[::1]:8080`); the message names where it came from. */
export function parseAllowEntry(text: string, source: string): AllowEntry {
  const word = text.trim().toLowerCase()
  const bad = (why: string) => new UserError(`${source}: '${text.trim()}' ${why} — write HOST or HOST:PORT, e.g. example.com:8443`)
  let host = word
  let portText: string | undefined
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(word)
  if (bracketed) {
    host = bracketed[1]
    portText = bracketed[2]
  } else if (!net.isIPv6(word) && word.includes(':')) {
    const at = word.lastIndexOf(':')
    host = word.slice(0, at)
    portText = word.slice(at + 1)
  }
  if (!net.isIP(host) && !HOST_NAME.test(host)) throw bad('is not a host name or address')
  if (portText === undefined) return { host: host.replace(/\.$/, '') }
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw bad('has no valid port')
  return { host: host.replace(/\.$/, ''), port }
}

/** The entries of a text in the allow file's format: one per line or separated by commas or spaces, # comments. */
function parseList(text: string, source: string): AllowEntry[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter(Boolean)
    .map((word) => parseAllowEntry(word, source))
}

/** The user's own allow file: under realm's config directory, never in a project (which may be hostile). */
export function allowFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(realmHome(env), 'allow')
}

export interface AllowSources {
  /** --allow values, in order */
  flags: string[]
  env?: NodeJS.ProcessEnv
}

/** Everything the proxy lets through in `mode`: nothing in `model` mode, else the preset plus the user's additions. */
export function allowList(mode: NetworkMode, sources: AllowSources): AllowEntry[] {
  const env = sources.env ?? process.env
  const user = [
    ...sources.flags.flatMap((flag) => parseList(flag, '--allow')),
    ...parseList(env.REALM_ALLOW ?? '', 'REALM_ALLOW'),
    ...parseList(readAllowFile(allowFilePath(env)), allowFilePath(env)),
  ]
  if (mode === 'model') return []
  return [...PRESET.map((host) => ({ host })), ...user]
}

function readAllowFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return '' // no file: nothing added
  }
}

/** Whether `host:port` is allowed; `host` as the client named it (lowercased here). */
export function isAllowed(list: readonly AllowEntry[], host: string, port: number): boolean {
  const name = host.toLowerCase().replace(/\.$/, '')
  return list.some((entry) => {
    if (entry.port === undefined ? port !== 443 && port !== 80 : entry.port !== port) return false
    if (entry.host.startsWith('*.')) return name.endsWith(entry.host.slice(1))
    return entry.host === name
  })
}
