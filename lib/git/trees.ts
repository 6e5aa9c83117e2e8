// Trees built in a private index over the project's objects: verifying that patches apply, folding several
// patches into one, and making commits — never through the user's index or working tree.
import { createHash } from 'node:crypto'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { deflateSync } from 'node:zlib'

import { firstLine, UserError } from '../common/errors.js'
import { type AddedFile, addedFile } from '../patch/added.js'
import { splitSectionBytes } from '../patch/parse.js'
import { git, PATCH_OPTIONS } from './exec.js'

/** A patch that git cannot apply where it belongs: a session file truncated or edited by hand, usually. */
export class PatchDoesNotApply extends UserError {
  constructor(
    readonly patch: string,
    readonly detail: string,
    /** git's whole message: one line for each file that does not apply */
    readonly output = detail,
  ) {
    super(`session file ${patch} does not apply (${detail}) — it was truncated or edited by hand; restore it or remove the session`)
  }
}

export interface TreeBuilder {
  /** Applies a patch to the private index; throws PatchDoesNotApply. */
  apply(patch: string): Promise<void>
  /**
   * The same for a patch that realm stored (and so knows applies): the files it adds are written as one pack
   * (see addFiles), git applies the rest. A big patch is mostly added files, and one object file for each costs
   * far more than git's own work.
   */
  applyStored(patch: string): Promise<void>
  /**
   * applyStored for a stored patch that must be verified again on a tree it was not made on (a run re-applied
   * after an earlier one was undone): git checks the whole patch first, without writing anything.
   */
  applyChecked(patch: string): Promise<void>
  writeTree(): Promise<string>
  /** Environment for further git commands on the same private index and objects. */
  env: Record<string, string>
}

/**
 * A private index over the project's objects, starting at `commit`. With `objects: 'scratch'` every object
 * it writes stays in the scratch directory and the repository is only read; with 'repository' new objects go
 * into the repository (push needs them there, so that origin/<name> points at something).
 */
export async function treeBuilder(root: string, scratch: string, commit: string, objects: 'scratch' | 'repository'): Promise<TreeBuilder> {
  const env: Record<string, string> = { GIT_INDEX_FILE: path.join(scratch, 'index') }
  if (objects === 'scratch') {
    const objectDir = path.join(scratch, 'objects')
    await fsp.mkdir(objectDir, { recursive: true })
    env.GIT_OBJECT_DIRECTORY = objectDir
    env.GIT_ALTERNATE_OBJECT_DIRECTORIES = path.join(root, '.git', 'objects')
  }
  await git(root, ['read-tree', commit], { env })
  let parts = 0
  const apply = async (patch: string, shown = patch, check = false) => {
    // --check: only whether the patch applies (to the index: --cached); nothing is written.
    const result = await git(root, ['apply', '--cached', '--binary', ...(check ? ['--check'] : []), patch], { env, reject: false })
    if (result.exitCode !== 0) {
      const output = String(result.stderr)
      throw new PatchDoesNotApply(shown, firstLine(output) || `git apply exited ${result.exitCode}`, output)
    }
  }
  const applyStored = async (patch: string) => {
    const sections = splitSectionBytes(await fsp.readFile(patch))
    const added: AddedFile[] = []
    const rest: Buffer[] = []
    for (const section of sections) {
      const file = addedFile(section)
      // The content read back must be the object git named: anything else is git's to apply.
      if (file && blobId(file.content) === file.oid) added.push(file)
      else rest.push(section)
    }
    if (added.length < PACK_FROM) return apply(patch)
    // The rest first: if it does not apply, nothing has been written.
    if (rest.length) {
      const file = path.join(scratch, `rest-${++parts}.patch`)
      await fsp.writeFile(file, Buffer.concat(rest))
      await apply(file, patch)
    }
    await writeBlobPack(root, env, added)
    await addFiles(root, env, added)
  }
  return {
    env,
    apply: (patch) => apply(patch),
    applyStored,
    async applyChecked(patch) {
      await apply(patch, patch, true)
      await applyStored(patch)
    },
    async writeTree() {
      return String((await git(root, ['write-tree'], { env })).stdout)
    },
  }
}

// Fewer added files than this are not worth the two more processes of applyStored.
const PACK_FROM = 64

/** The object id git gives `content` as a blob. */
function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
}

/** A pack entry's header: the object's type (3, a blob) and size, seven bits a byte after the first four. */
function entryHeader(size: number): Buffer {
  const bytes = [0x30 | (size % 16)]
  for (let rest = Math.floor(size / 16); rest > 0; rest = Math.floor(rest / 128)) {
    bytes[bytes.length - 1] |= 0x80
    bytes.push(rest % 128)
  }
  return Buffer.from(bytes)
}

/**
 * The files' contents as one pack in the object store (the private index's, see treeBuilder): `git index-pack`
 * reads it, checks every object and writes the pack and its index. Compressed as fast as git compresses loose
 * objects; a push sends the compressed data as it is.
 */
async function writeBlobPack(root: string, env: Record<string, string>, files: AddedFile[]): Promise<void> {
  await git(root, ['index-pack', '--stdin'], { env, stdin: packEntries(files), stdout: 'ignore' })
}

/** A pack of the files' contents, a piece at a time (execa writes each as the pipe takes it). */
function* packEntries(files: AddedFile[]): Generator<Buffer> {
  const checksum = createHash('sha1')
  const piece = (chunk: Buffer) => {
    checksum.update(chunk)
    return chunk
  }
  const head = Buffer.alloc(12)
  head.write('PACK')
  head.writeUInt32BE(2, 4) // version
  head.writeUInt32BE(files.length, 8)
  yield piece(head)
  for (const file of files) {
    yield piece(entryHeader(file.content.length))
    yield piece(deflateSync(file.content, { level: 1 }))
  }
  yield checksum.digest()
}

/** Adds the files to the private index, pointing at their objects (written by writeBlobPack). */
async function addFiles(root: string, env: Record<string, string>, files: AddedFile[]): Promise<void> {
  const records = files.flatMap((f) => [Buffer.from(`${f.mode} ${f.oid}\t`), f.path, Buffer.from([0])])
  await git(root, ['update-index', '-z', '--index-info'], { env, input: Buffer.concat(records) })
}

/** Trees of a session: its baseline (base commit + baseline.patch) and its current state (+ every run). */
export interface SessionTrees {
  baseline: string
  final: string
}

/**
 * Applies the baseline patch and then `runs` on `commit` in a private index and returns both trees;
 * `objects` says where new objects go (see treeBuilder). `stored`: the patches are ones realm stored (see
 * TreeBuilder.applyStored), not a run's output that was never checked.
 */
export async function sessionTrees(
  root: string,
  scratch: string,
  commit: string,
  baseline: string | undefined,
  runs: string[],
  objects: 'scratch' | 'repository' = 'scratch',
  stored = false,
): Promise<SessionTrees & { builder: TreeBuilder }> {
  const builder = await treeBuilder(root, scratch, commit, objects)
  const apply = (patch: string) => (stored ? builder.applyStored(patch) : builder.apply(patch))
  if (baseline) await apply(baseline)
  const baselineTree = await builder.writeTree()
  for (const patch of runs) await apply(patch)
  return { baseline: baselineTree, final: await builder.writeTree(), builder }
}

/**
 * The patch between two trees, in the same hermetic form the container writes, into `file`: straight from git's
 * stdout to the file, as a patch can be far bigger than anything worth holding in memory.
 */
export async function diffTreesToFile(root: string, env: Record<string, string>, from: string, to: string, file: string): Promise<void> {
  await git(root, ['diff-tree', '-r', ...PATCH_OPTIONS, from, to], { env, stdout: { file } })
}

/** A commit of `tree` on `parent`, written with the private index's environment and `identity`. */
export async function commitTree(
  root: string,
  env: Record<string, string>,
  tree: string,
  parent: string,
  message: string,
): Promise<string> {
  const result = await git(root, ['commit-tree', '--no-gpg-sign', '-p', parent, '-m', message, tree], { env })
  return String(result.stdout).trim()
}
