// What the big-patch tables are made of: realm and git timed in turn on the same material, a row per command,
// and realm diff's peak memory.
import fs from 'node:fs'

import { GIT_ENV, median, REALM_BIN, type Timed, timed } from './runner.js'

export interface BigRow {
  label: string
  git: string
  realm: number
  plain: number
}

/** Median wall times of `realm` and `plain`, run in turn `reps` times after one untimed round; `reset` runs before each. */
export async function pair(
  reps: number,
  realm: () => Promise<Timed>,
  plain: () => Promise<Timed>,
  reset: () => Promise<void> | void = () => undefined,
): Promise<{ realm: number; plain: number }> {
  const times = { realm: [] as number[], plain: [] as number[] }
  for (let i = 0; i <= reps; i++) {
    await reset()
    const r = await realm()
    await reset()
    const p = await plain()
    if (i > 0) {
      times.realm.push(r.seconds)
      times.plain.push(p.seconds)
    }
  }
  return { realm: median(times.realm), plain: median(times.plain) }
}

export function ok(what: string, r: Timed, check = true): Timed {
  if (r.code !== 0 || !check) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`)
  return r
}

/** The timed commands of a section: realm in a project with `env`, git with the bench's identity, a check of each. */
export function commands(env: NodeJS.ProcessEnv) {
  const gitEnv = { ...process.env, ...GIT_ENV }
  const realmIn =
    (cwd: string, ...args: string[]) =>
    () =>
      timed(REALM_BIN, args, { cwd, env, discard: true })
  const gitIn =
    (cwd: string, ...args: string[]) =>
    () =>
      timed('git', args, { cwd, env: gitEnv, discard: true })
  const checked =
    (
      what: string,
      run: () => Promise<Timed & { stdoutBytes: number }>,
      check: (r: Timed & { stdoutBytes: number }) => boolean = () => true,
    ) =>
    async () => {
      const r = await run()
      return ok(what, r, check(r))
    }
  return { realmIn, gitIn, checked }
}

/** The most memory `realm diff <name>` held at once (undefined without /usr/bin/time). */
export async function maxRss(env: NodeJS.ProcessEnv, name: string, cwd: string): Promise<number | undefined> {
  if (!fs.existsSync('/usr/bin/time')) return undefined
  const r = ok('realm diff', await timed('/usr/bin/time', ['-f', 'maxrss %M', REALM_BIN, 'diff', name], { cwd, env, discard: true }))
  return Number(/maxrss (\d+)/.exec(r.stderr)?.[1]) * 1024
}
