// Reading files the container could have written (the run's output directory). The agent is treated as hostile:
// it may put a symbolic link to a host secret, a FIFO that never ends, a device or an 8 GB sparse file where realm
// expects a small patch. So a file is opened without following a link and without blocking, checked on the
// opened descriptor to be a regular file within a size limit, and read within a time limit. Nothing else in realm
// opens such a path.
import { constants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from './errors.js'

/** A file in the output directory that breaks the rules above; the message names it. */
export class UntrustedFileRefused extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`${file} ${why}`)
    this.name = 'UntrustedFileRefused'
  }
}

export interface Limits {
  /** the most bytes the file may hold */
  maxBytes: number
  /** the longest the read may take */
  timeoutMs?: number
}

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

function kind(stat: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isSymbolicLink(): boolean }): string {
  if (stat.isDirectory()) return 'a directory'
  if (stat.isFIFO()) return 'a FIFO'
  if (stat.isSocket()) return 'a socket'
  return 'a device or other special file'
}

/** Opens `file` for reading only if it is a regular file (not a link) of at most `maxBytes`; undefined when absent. */
async function openRegular(file: string, maxBytes: number): Promise<{ handle: fs.FileHandle; size: number } | undefined> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(file, FLAGS)
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP' || code === 'EMLINK') throw new UntrustedFileRefused(file, 'is a symbolic link')
    if (code === 'ENXIO') throw new UntrustedFileRefused(file, 'is a socket or device')
    throw error
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new UntrustedFileRefused(file, `is ${kind(stat)}, not a regular file`)
    if (stat.size > maxBytes) throw new UntrustedFileRefused(file, `is ${stat.size} bytes, more than the ${maxBytes} allowed`)
    return { handle, size: stat.size }
  } catch (error) {
    await handle.close()
    throw error
  }
}

async function withDeadline<T>(file: string, timeoutMs: number | undefined, work: Promise<T>): Promise<T> {
  if (!timeoutMs) return work
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UntrustedFileRefused(file, `could not be read within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Streams the file's bytes to `sink`, in chunks, refusing it if it grows past the limit while being read (the
 * container may still be running).
 */
async function readChunks(file: string, limits: Limits, sink: (chunk: Buffer) => Promise<void>): Promise<boolean> {
  const opened = await openRegular(file, limits.maxBytes)
  if (!opened) return false
  const { handle } = opened
  try {
    await withDeadline(
      file,
      limits.timeoutMs,
      (async () => {
        const buffer = Buffer.allocUnsafe(1 << 20)
        let total = 0
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
          if (bytesRead === 0) return
          total += bytesRead
          if (total > limits.maxBytes) throw new UntrustedFileRefused(file, `grew past the ${limits.maxBytes} bytes allowed`)
          await sink(Buffer.from(buffer.subarray(0, bytesRead)))
        }
      })(),
    )
  } finally {
    await handle.close()
  }
  return true
}

/** The bytes of `dir/name`, or undefined when there is no such file. */
export async function readUntrusted(dir: string, name: string, limits: Limits): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  const found = await readChunks(path.join(dir, name), limits, async (chunk) => {
    chunks.push(chunk)
  })
  return found ? Buffer.concat(chunks) : undefined
}

/** The text of a small file (an exit code, an error line), or undefined when there is no such file. */
export async function readUntrustedText(dir: string, name: string, limits: Limits): Promise<string | undefined> {
  return (await readUntrusted(dir, name, limits))?.toString('utf8')
}

/**
 * Copies `dir/name` into `dest`, a path realm chose in a directory the container cannot reach, so that git and
 * everything after it works on realm's own copy. False when there is no such file. `dest` must not exist.
 */
export async function copyUntrusted(dir: string, name: string, dest: string, limits: Limits): Promise<boolean> {
  const out = await fs.open(dest, 'wx', 0o600)
  let found = false
  try {
    found = await readChunks(path.join(dir, name), limits, async (chunk) => {
      await out.write(chunk)
    })
  } finally {
    await out.close()
    if (!found) await fs.rm(dest, { force: true })
  }
  return found
}

/** Whether `dir/name` exists as anything at all, without following a link. */
export async function entryExists(dir: string, name: string): Promise<boolean> {
  return fs.lstat(path.join(dir, name)).then(
    () => true,
    () => false,
  )
}
