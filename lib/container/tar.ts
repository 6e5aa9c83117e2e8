// A tar archive of a few small files (ustar), for copying files into a container before its start where the
// engine cannot see realm's paths (a remote engine): the engine API's PUT /archive and `docker cp -` take one.
// Pure.

export interface TarEntry {
  /** a relative path; directories end with '/' */
  name: string
  mode: number
  data?: Buffer
}

const BLOCK = 512

function field(header: Buffer, offset: number, size: number, value: string): void {
  header.write(value, offset, size, 'utf8')
}

function octal(header: Buffer, offset: number, size: number, value: number): void {
  field(header, offset, size, `${value.toString(8).padStart(size - 1, '0')}\0`)
}

function headerOf(entry: TarEntry): Buffer {
  if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar: name too long: ${entry.name}`)
  const header = Buffer.alloc(BLOCK)
  const directory = entry.name.endsWith('/')
  field(header, 0, 100, entry.name)
  octal(header, 100, 8, entry.mode)
  octal(header, 108, 8, 0) // uid: root
  octal(header, 116, 8, 0) // gid: root
  octal(header, 124, 12, directory ? 0 : (entry.data?.length ?? 0))
  octal(header, 136, 12, 0) // mtime
  field(header, 148, 8, '        ') // the checksum counts its own field as spaces
  field(header, 156, 1, directory ? '5' : '0')
  field(header, 257, 6, 'ustar\0')
  field(header, 263, 2, '00')
  let sum = 0
  for (const byte of header) sum += byte
  field(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `)
  return header
}

export function tarArchive(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = []
  for (const entry of entries) {
    parts.push(headerOf(entry))
    if (entry.name.endsWith('/') || !entry.data) continue
    parts.push(entry.data, Buffer.alloc((BLOCK - (entry.data.length % BLOCK)) % BLOCK))
  }
  parts.push(Buffer.alloc(2 * BLOCK))
  return Buffer.concat(parts)
}
