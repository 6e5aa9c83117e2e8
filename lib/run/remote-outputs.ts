// A streamed run's outputs come back from the engine as a tar stream (`docker cp container:/realm/out -`), and
// become the run's output directory on the host, which outputs.ts then reads as for any run. The stream is as
// untrusted as the directory (the agent could write there): only the outputs realm reads are kept, each only as
// a regular file within its size limit (outputs.ts's), with the whole stream bounded in bytes, entries and
// time. A link, FIFO or device where an output belongs refuses the run, as it would on a local engine; anything
// else the container left there is read past and dropped.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { firstLine } from '../common/errors.js'
import { PRIVATE_FILE_MODE, privateDirSync } from '../common/private.js'
import type { Limits } from '../common/untrusted.js'
import { copyOut } from '../container/remote.js'
import { TarReader, TarRefused, type TarSink } from '../container/tar.js'
import { OUTPUT_LIMITS, RunOutputRefused } from './outputs.js'
import { MOUNT, OUT } from './protocol.js'

const line = OUTPUT_LIMITS.line

/** The outputs the host reads (outputs.ts, run.ts), each with its limit; nothing else is kept. */
export const FETCHED_OUTPUTS: Readonly<Record<string, Limits>> = {
  [OUT.ready]: line,
  [OUT.exitCode]: line,
  [OUT.changesPatch]: OUTPUT_LIMITS.patch,
  [OUT.snapshotPatch]: OUTPUT_LIMITS.patch,
  [OUT.baselinePatch]: OUTPUT_LIMITS.patch,
  [OUT.done]: line,
  [OUT.error]: line,
  [OUT.cacheMiss]: line,
  [OUT.claudeJson]: OUTPUT_LIMITS.claudeState,
  [OUT.claudeLogin]: OUTPUT_LIMITS.claudeState,
  [OUT.claudeChanges]: line,
  [OUT.claudeSettings]: OUTPUT_LIMITS.claudeState,
}

/** Bounds on the whole stream: every output at its largest, plus room for what else the container left. */
export const STREAM_LIMITS = {
  maxTotalBytes: 3 * OUTPUT_LIMITS.patch.maxBytes,
  maxEntries: 10_000,
  maxHeaderBytes: 64 * 1024,
  timeoutMs: OUTPUT_LIMITS.patch.timeoutMs,
}

/** The output's name, for an entry of the stream (`out/NAME`); undefined for anything deeper or elsewhere. */
export function outputName(entryPath: string): string | undefined {
  const top = path.posix.basename(MOUNT.out)
  const parts = entryPath.replace(/\/+$/, '').split('/')
  if (parts.length !== 2 || parts[0] !== top) return undefined
  return Object.hasOwn(FETCHED_OUTPUTS, parts[1]) ? parts[1] : undefined
}

const KIND: Record<string, string> = {
  directory: 'a directory',
  symlink: 'a symbolic link',
  hardlink: 'a hard link',
  fifo: 'a FIFO',
  device: 'a device',
  other: 'a special file',
}

/**
 * A reader that writes the wanted outputs into `dir` (private, realm's own); it throws RunOutputRefused.
 * Exported for the unit tests; `fetchOutputs` feeds it docker's stream.
 */
export function outputsReader(dir: string): TarReader {
  // Thrown from the reader, so the stream stops at once (an 8 GB file is not read to be refused).
  return new TarReader(STREAM_LIMITS, (header) => {
    const name = outputName(header.path)
    if (!name) return undefined
    if (header.type !== 'file') throw new RunOutputRefused(name, `is ${KIND[header.type]}, not a regular file`)
    const { maxBytes } = FETCHED_OUTPUTS[name]
    if (header.size > maxBytes) throw new RunOutputRefused(name, `is ${header.size} bytes, more than the ${maxBytes} allowed`)
    const fd = fs.openSync(path.join(dir, name), 'wx', PRIVATE_FILE_MODE)
    const sink: TarSink = {
      write: (chunk) => {
        fs.writeSync(fd, chunk)
      },
      end: () => fs.closeSync(fd),
    }
    return sink
  })
}

export type Fetched = 'fetched' | 'no-outputs' | 'unreachable'

/**
 * Reads the container's output directory into `runDir` (replaced as a whole, by a rename, so a reader never
 * sees half of it). 'no-outputs': the container never got as far as having one. Throws RunOutputRefused.
 */
export async function fetchOutputs(container: string, runDir: string): Promise<{ status: Fetched; detail?: string }> {
  const temp = `${runDir}.fetch-${randomBytes(4).toString('hex')}`
  privateDirSync(temp)
  const copy = copyOut(container, MOUNT.out)
  const reader = outputsReader(temp)
  const timer = setTimeout(copy.kill, STREAM_LIMITS.timeoutMs)
  try {
    let failure: unknown
    copy.stream.on('data', (chunk: Buffer) => {
      if (failure) return
      try {
        reader.write(chunk)
      } catch (error) {
        failure = error
        copy.kill()
      }
    })
    const { code, stderr } = await copy.done
    if (failure instanceof TarRefused) throw new RunOutputRefused(MOUNT.out, `came back broken: ${failure.why}`)
    if (failure) throw failure
    if (code !== 0) {
      if (/could not find the file|no such file or directory/i.test(stderr)) return { status: 'no-outputs' }
      if (code === null && !stderr) throw new RunOutputRefused(MOUNT.out, `could not be read within ${STREAM_LIMITS.timeoutMs} ms`)
      return { status: 'unreachable', detail: firstLine(stderr) || `docker cp exited ${code}` }
    }
    try {
      reader.end()
    } catch (error) {
      if (error instanceof TarRefused) throw new RunOutputRefused(MOUNT.out, `came back broken: ${error.why}`)
      throw error
    }
    fs.rmSync(runDir, { recursive: true, force: true })
    fs.renameSync(temp, runDir)
    return { status: 'fetched' }
  } finally {
    clearTimeout(timer)
    fs.rmSync(temp, { recursive: true, force: true })
  }
}
