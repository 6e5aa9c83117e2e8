/** A failure the user can act on: printed as one line on stderr, no stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'UserError'
  }
}

/** The first line of a program's message that says something (git and docker put blank lines first at times). */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim())
      ?.trim() ?? ''
  )
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

/** Whether a failure (of realm itself or of a git it ran) was a full disk or an exhausted quota. */
export function isDiskFull(error: unknown): boolean {
  const code = errorCode(error)
  if (code === 'ENOSPC' || code === 'EDQUOT') return true
  const stderr = (error as { stderr?: unknown } | undefined)?.stderr
  return typeof stderr === 'string' && /no space left|out of diskspace|disk quota exceeded/i.test(stderr)
}
