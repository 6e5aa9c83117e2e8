// The tar streams realm exchanges with a remote engine (`docker cp`): the workspace and realm's own files go in
// as one, the run's outputs come back as one. Written and read here, with no dependency: what comes back is
// untrusted (the agent could write where the outputs are), so the reader keeps to hard bounds (header sizes,
// entry counts, total bytes) and hands each entry to its caller, which decides what to keep; nothing here
// touches the disk.

const BLOCK = 512

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'fifo' | 'device' | 'other'

export interface TarEntryHeader {
  path: string
  type: TarEntryType
  size: number
  mode: number
  linkname: string
}

// ---------------------------------------------------------------------------------------------------- writing

export interface TarWriteEntry {
  path: string
  type: 'file' | 'directory' | 'symlink'
  mode: number
  /** files: the content */
  content?: Buffer
  /** symlinks: the target */
  linkname?: string
  uid?: number
  gid?: number
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`
}

/** A PAX record: "<length> <key>=<value>\n", where the length counts itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = Buffer.from(` ${key}=${value}\n`)
  let length = body.length + 1
  while (String(length).length + body.length !== length) length = String(length).length + body.length
  return Buffer.concat([Buffer.from(String(length)), body])
}

function headerBlock(name: string, type: string, size: number, mode: number, linkname: string, uid: number, gid: number): Buffer {
  const block = Buffer.alloc(BLOCK)
  block.write(name, 0, 100, 'utf8')
  block.write(octal(mode & 0o7777, 8), 100, 'ascii')
  block.write(octal(uid, 8), 108, 'ascii')
  block.write(octal(gid, 8), 116, 'ascii')
  block.write(octal(size, 12), 124, 'ascii')
  block.write(octal(0, 12), 136, 'ascii')
  block.fill(' ', 148, 156)
  block.write(type, 156, 'ascii')
  block.write(linkname, 157, 100, 'utf8')
  block.write('ustar\0', 257, 'ascii')
  block.write('00', 263, 'ascii')
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii')
  return block
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK)
}

/** One entry as tar blocks: a PAX header first when a name does not fit ustar's fields (long or not ASCII). */
export function tarEntry(entry: TarWriteEntry): Buffer[] {
  const name = entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path
  const linkname = entry.linkname ?? ''
  const content = entry.type === 'file' ? (entry.content ?? Buffer.alloc(0)) : Buffer.alloc(0)
  const type = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2'
  const uid = entry.uid ?? 0
  const gid = entry.gid ?? 0
  const blocks: Buffer[] = []
  const fits = (text: string) => Buffer.byteLength(text) < 100 && /^[\x20-\x7e]*$/.test(text)
  if (!fits(name) || !fits(linkname)) {
    const records = Buffer.concat([
      ...(fits(name) ? [] : [paxRecord('path', name)]),
      ...(fits(linkname) ? [] : [paxRecord('linkpath', linkname)]),
    ])
    blocks.push(headerBlock('././@PaxHeader', 'x', records.length, 0o644, '', 0, 0), records, padding(records.length))
  }
  blocks.push(headerBlock(fits(name) ? name : 'pax', type, content.length, entry.mode, fits(linkname) ? linkname : '', uid, gid))
  if (content.length) blocks.push(content, padding(content.length))
  return blocks
}

/** The two empty blocks that end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK)
}

/** A file (or, with a name ending in '/', a directory) of a small archive built in memory, owned by root. */
export interface TarEntry {
  /** a relative path; directories end with '/' */
  name: string
  mode: number
  data?: Buffer
}

/** A whole archive of a few small files, for copying them into a container before its start (PUT /archive). */
export function tarArchive(entries: TarEntry[]): Buffer {
  // Plain ustar names only: these archives hold realm's own few files (tarEntry takes longer ones, with PAX).
  for (const entry of entries) if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar: name too long: ${entry.name}`)
  const blocks = entries.flatMap((entry) =>
    tarEntry({ path: entry.name, type: entry.name.endsWith('/') ? 'directory' : 'file', mode: entry.mode, content: entry.data }),
  )
  return Buffer.concat([...blocks, tarEnd()])
}

// ---------------------------------------------------------------------------------------------------- reading

/** A tar stream that breaks the reader's bounds or is not tar at all. */
export class TarRefused extends Error {
  constructor(readonly why: string) {
    super(why)
    this.name = 'TarRefused'
  }
}

export interface TarReadLimits {
  /** the most bytes the whole stream may carry */
  maxTotalBytes: number
  /** the most entries it may hold */
  maxEntries: number
  /** the largest PAX or GNU long-name header */
  maxHeaderBytes: number
}

/** What the caller does with an entry's content: receives it piece by piece; undefined skips it. */
export interface TarSink {
  write(chunk: Buffer): void
  end(): void
}

function field(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start)
  return block.toString('utf8', start, end === -1 || end > start + length ? start + length : end)
}

function numberField(block: Buffer, start: number, length: number): number {
  if (block[start] & 0x80) {
    // base-256, for sizes beyond what 11 octal digits hold
    let value = 0
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]
    return value
  }
  const text = field(block, start, length).trim()
  if (text === '') return 0
  if (!/^[0-7]+$/.test(text)) throw new TarRefused(`a header field holds '${text.slice(0, 20)}', not a number`)
  return Number.parseInt(text, 8)
}

function entryType(flag: string): TarEntryType {
  if (flag === '0' || flag === '\0' || flag === '' || flag === '7') return 'file'
  if (flag === '5') return 'directory'
  if (flag === '2') return 'symlink'
  if (flag === '1') return 'hardlink'
  if (flag === '6') return 'fifo'
  if (flag === '3' || flag === '4') return 'device'
  return 'other'
}

function checksumOk(block: Buffer): boolean {
  const stored = numberField(block, 148, 8)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]
  return sum === stored
}

/** The PAX records of an extended header, as key → value. */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>()
  let at = 0
  while (at < data.length) {
    const space = data.indexOf(0x20, at)
    if (space === -1) break
    const length = Number(data.toString('ascii', at, space))
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length) throw new TarRefused('a PAX header is malformed')
    const record = data.toString('utf8', space + 1, at + length - 1)
    const equals = record.indexOf('=')
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1))
    at += length
  }
  return records
}

/**
 * A push parser: feed it the stream's chunks (write), then call end(). `onEntry` is called with each entry's
 * header and returns a sink for its content, or undefined to skip it. Throws TarRefused on the first broken bound.
 */
export class TarReader {
  private pending: Buffer = Buffer.alloc(0)
  private total = 0
  private entries = 0
  /** the entry whose content is being read, and how much of it (and of its padding) is left */
  private current?: { header: TarEntryHeader; sink?: TarSink; left: number; pad: number; meta?: Buffer[]; metaKind?: string }
  private nextPath?: string
  private nextLink?: string
  /** a PAX size record: the next entry's size, beyond what its header's field holds (8 GiB and more) */
  private nextSize?: number
  private globalPax = new Map<string, string>()
  private ended = false

  constructor(
    private readonly limits: TarReadLimits,
    private readonly onEntry: (header: TarEntryHeader) => TarSink | undefined,
  ) {}

  write(chunk: Buffer): void {
    if (this.ended) return
    this.total += chunk.length
    if (this.total > this.limits.maxTotalBytes) throw new TarRefused(`the stream holds more than ${this.limits.maxTotalBytes} bytes`)
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    this.drain()
  }

  /** Checks that the stream ended where an archive may end. */
  end(): void {
    if (this.ended) return
    if (this.current) throw new TarRefused('the stream ends inside an entry')
    if (this.pending.some((byte) => byte !== 0)) throw new TarRefused('the stream ends inside a header')
  }

  private drain(): void {
    for (;;) {
      if (this.current) {
        if (!this.content()) return
        continue
      }
      if (this.pending.length < BLOCK) return
      const block = this.pending.subarray(0, BLOCK)
      this.pending = this.pending.subarray(BLOCK)
      if (block.every((byte) => byte === 0)) {
        // The end of the archive (two such blocks; what follows is padding to a record size).
        this.ended = true
        return
      }
      this.header(block)
    }
  }

  private header(block: Buffer): void {
    if (!checksumOk(block)) throw new TarRefused('a header has a wrong checksum (not a tar stream?)')
    const flag = String.fromCharCode(block[156])
    const meta = flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K'
    const size = (!meta && this.nextSize) || numberField(block, 124, 12)
    const pad = (BLOCK - (size % BLOCK)) % BLOCK
    if (meta) {
      if (size > this.limits.maxHeaderBytes) throw new TarRefused(`an extended header of ${size} bytes is larger than allowed`)
      this.current = { header: { path: '', type: 'other', size, mode: 0, linkname: '' }, left: size, pad, meta: [], metaKind: flag }
      return
    }
    if (++this.entries > this.limits.maxEntries) throw new TarRefused(`the stream holds more than ${this.limits.maxEntries} entries`)
    const prefix = block.toString('ascii', 257, 262) === 'ustar' ? field(block, 345, 155) : ''
    const name = field(block, 0, 100)
    const type = entryType(flag)
    const header: TarEntryHeader = {
      path: this.nextPath ?? this.globalPax.get('path') ?? (prefix ? `${prefix}/${name}` : name),
      type,
      // Only a file's size is content; a hard link or a device declares none worth reading.
      size,
      mode: numberField(block, 100, 8),
      linkname: this.nextLink ?? field(block, 157, 100),
    }
    this.nextPath = undefined
    this.nextLink = undefined
    this.nextSize = undefined
    const sink = this.onEntry(header)
    this.current = { header, sink, left: size, pad }
  }

  /** Consumes what it can of the current entry's content; true when it is finished. */
  private content(): boolean {
    const current = this.current
    if (!current) return true
    if (current.left > 0) {
      const take = Math.min(current.left, this.pending.length)
      if (take === 0) return false
      const piece = this.pending.subarray(0, take)
      this.pending = this.pending.subarray(take)
      current.left -= take
      if (current.meta) current.meta.push(Buffer.from(piece))
      else current.sink?.write(piece)
      if (current.left > 0) return false
    }
    if (this.pending.length < current.pad) return false
    this.pending = this.pending.subarray(current.pad)
    this.current = undefined
    if (current.meta) this.extended(current.metaKind ?? '', Buffer.concat(current.meta))
    else current.sink?.end()
    return true
  }

  private extended(kind: string, data: Buffer): void {
    if (kind === 'L') this.nextPath = field(data, 0, data.length)
    else if (kind === 'K') this.nextLink = field(data, 0, data.length)
    else {
      const records = parsePax(data)
      if (kind === 'g') {
        for (const [key, value] of records) this.globalPax.set(key, value)
        return
      }
      const pathValue = records.get('path')
      const linkValue = records.get('linkpath')
      if (pathValue !== undefined) this.nextPath = pathValue
      if (linkValue !== undefined) this.nextLink = linkValue
      const size = records.get('size')
      if (size !== undefined) {
        if (!/^\d{1,16}$/.test(size)) throw new TarRefused(`a PAX size record holds '${size.slice(0, 20)}'`)
        this.nextSize = Number(size)
      }
    }
  }
}
