// How every section reports: fixed-width cells, a target's verdict, and the targets it missed, which the summary
// at the end lists. A section never prints; main prints the sections in a fixed order once all have run, so the
// tables are not torn apart by the progress lines on stderr.

/** A section's lines, and the targets it missed. */
export class Report {
  readonly lines: string[] = []
  readonly missed: string[] = []

  add(...lines: string[]): void {
    this.lines.push(...lines)
  }

  /**
   * `≤ 2  PASS`: the target, then FAIL if any of `misses` is a sentence (each a way to miss it, `false` where it
   * was not missed that way), else PASS; the sentences are kept for the summary.
   */
  judge(target: string, misses: Array<string | false>): string {
    const missed = misses.filter((miss) => miss !== false)
    this.missed.push(...missed)
    return `${target}  ${missed.length ? 'FAIL' : 'PASS'}`
  }
}

/** A duration cell: `   0.52s`. */
export function secs(seconds: number, digits = 2, width = 7): string {
  return `${seconds.toFixed(digits).padStart(width)}s`
}

/** A ratio cell: `    1.67`. */
export function ratio(value: number): string {
  return value.toFixed(2).padStart(8)
}

/**
 * Each of `shown`'s lines after a blank line, then the targets `judged` missed, in its order (the summary has
 * always listed the network modes' misses after the CLI's, though their table comes first).
 */
export function print(shown: Report[], judged: Report[]): void {
  for (const section of shown) {
    console.log('')
    for (const line of section.lines) console.log(line)
  }
  console.log('')
  const missed = judged.flatMap((section) => section.missed)
  if (missed.length) console.log(`MISSED ${missed.length} target(s):\n${missed.map((m) => `  - ${m}`).join('\n')}`)
  else console.log('all targets met')
}
