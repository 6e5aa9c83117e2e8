// The run's output directory, read as untrusted input: the container can write there, so a hostile agent may
// put a link to a host secret, a FIFO or an 8 GB sparse file in place of any output. Every file the host reads
// there goes through common/untrusted.ts into realm's private copies (or memory), and git and everything after
// it only ever read those copies. One broken rule refuses the whole run.
import fs from 'node:fs/promises'
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { copyUntrusted, entryExists, type Limits, readUntrusted, readUntrustedText, UntrustedFileRefused } from '../common/untrusted.js'
import { nulPaths } from '../git/exec.js'
import { OUT, type RunMode } from './protocol.js'

const MiB = 1024 * 1024

/**
 * A patch holds files up to 2 GiB (core.bigFileThreshold in the container), base85-encoded; anything larger is
 * not a patch realm made. The time limits are for a slow disk, and stop a file that never ends.
 */
export const OUTPUT_LIMITS = {
  patch: { maxBytes: 4 * 1024 * MiB, timeoutMs: 10 * 60_000 },
  lowerIndex: { maxBytes: 1024 * MiB, timeoutMs: 2 * 60_000 },
  agentPaths: { maxBytes: 256 * MiB, timeoutMs: 60_000 },
  claudeState: { maxBytes: 16 * MiB, timeoutMs: 10_000 },
  line: { maxBytes: 64 * 1024, timeoutMs: 5_000 },
} as const satisfies Record<string, Limits>

/** A run refused because an output broke the rules; one line, naming the file by its output-directory name. */
export class RunOutputRefused extends UserError {
  constructor(
    readonly file: string,
    why: string,
    options?: { cause?: unknown },
  ) {
    super(
      `refused this run's output: ${file} ${why} (the container put something other than realm's own file there) — nothing of the run was kept; the session's earlier patches are intact (see TROUBLESHOOTING.md)`,
      1,
      options,
    )
  }
}

/** Runs `read`, turning a refusal into RunOutputRefused for `name`. */
async function guarded<T>(name: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    if (error instanceof UntrustedFileRefused) throw new RunOutputRefused(name, error.why, { cause: error })
    throw error
  }
}

/** The bytes of a small output, or undefined when absent. */
export function readOutput(runDir: string, name: string, limits: Limits): Promise<Buffer | undefined> {
  return guarded(name, () => readUntrusted(runDir, name, limits))
}

/** realm's private copy of an output in `privateDir`, or undefined when absent or empty (no changes). */
export async function copyOutput(runDir: string, name: string, privateDir: string, limits: Limits): Promise<string | undefined> {
  const dest = path.join(privateDir, name)
  const found = await guarded(name, () => copyUntrusted(runDir, name, dest, limits))
  if (!found) return undefined
  const { size } = await fs.stat(dest)
  return size > 0 ? dest : undefined
}

/** The first line of the `error` output: why the workspace could not be prepared. */
export async function readRunError(runDir: string): Promise<string | undefined> {
  const text = await guarded(OUT.error, () => readUntrustedText(runDir, OUT.error, OUTPUT_LIMITS.line))
  return text?.split('\n')[0]
}

export interface RunOutputs {
  /** the workspace was prepared and the agent started */
  ready: boolean
  /** the run's final patch was written (else `changes` is the last snapshot) */
  finished: boolean
  /** a final patch or a snapshot was written, even an empty one */
  captured: boolean
  exitCode?: number
  /** realm's private copies; undefined when absent or empty */
  baseline?: string
  changes?: string
  lowerIndex?: string
  /** overlay runs: the paths the container wrote */
  agentPaths: string[]
  /** the container's final ~/.claude.json and login, and its list of changed configuration items */
  claude: { json?: Buffer; login?: Buffer; changes?: string; settings?: Buffer }
}

function parseExitCode(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const trimmed = text.trim()
  if (!/^\d{1,3}$/.test(trimmed)) throw new RunOutputRefused(OUT.exitCode, 'is not an exit code')
  return Number(trimmed)
}

/**
 * Reads every output of the run in `runDir` that the host uses, into `privateDir` (a directory the container
 * cannot reach). Throws RunOutputRefused when one breaks the rules.
 */
export async function readRunOutputs(runDir: string, privateDir: string, mode: RunMode): Promise<RunOutputs> {
  // Markers only exist or not; lstat never follows a link or opens a FIFO.
  const ready = await entryExists(runDir, OUT.ready)
  if (!ready) return { ready, finished: false, captured: false, agentPaths: [], claude: {} }
  const line = OUTPUT_LIMITS.line
  const exitCode = parseExitCode(await guarded(OUT.exitCode, () => readUntrustedText(runDir, OUT.exitCode, line)))
  let changes = await copyOutput(runDir, OUT.changesPatch, privateDir, OUTPUT_LIMITS.patch)
  const finished = changes !== undefined || (await entryExists(runDir, OUT.changesPatch))
  if (!finished) changes = await copyOutput(runDir, OUT.snapshotPatch, privateDir, OUTPUT_LIMITS.patch)
  const captured = finished || changes !== undefined || (await entryExists(runDir, OUT.snapshotPatch))
  const baseline = mode === 'new' ? await copyOutput(runDir, OUT.baselinePatch, privateDir, OUTPUT_LIMITS.patch) : undefined
  const lowerIndex = await copyOutput(runDir, OUT.lowerIndex, privateDir, OUTPUT_LIMITS.lowerIndex)
  const written = await readOutput(runDir, OUT.agentPaths, OUTPUT_LIMITS.agentPaths)
  const claude = {
    json: await readOutput(runDir, OUT.claudeJson, OUTPUT_LIMITS.claudeState),
    login: await readOutput(runDir, OUT.claudeLogin, OUTPUT_LIMITS.claudeState),
    changes: (await readOutput(runDir, OUT.claudeChanges, line))?.toString('utf8'),
    settings: await readOutput(runDir, OUT.claudeSettings, OUTPUT_LIMITS.claudeState),
  }
  return {
    ready,
    finished,
    captured,
    exitCode,
    baseline,
    changes,
    lowerIndex,
    agentPaths: nulPaths(written?.toString('utf8') ?? ''),
    claude,
  }
}
